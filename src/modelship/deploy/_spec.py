"""``DeploymentSpec``: the deployment file users already write, read strictly.

A spec is read from YAML, JSON or TOML (``from_file``) or from a dict (``from_dict``)::

    deployment:
      strategy: blue-green            # or canary (with canary.steps), or recreate
      replicas: 2
      containers:
        - name: model-service
          image: ai-model:${VERSION}  # ${VAR} and ${VAR:-default} are substituted
          port: 8080
          resources: {limits: {memory: "4Gi", cpu: "2"}, requests: {cpu: 500m}}
      healthcheck: {path: /health, initialDelaySeconds: 30, periodSeconds: 10}
      monitoring: {enabled: true, metrics: [model_accuracy, inference_latency]}

Everything wrong is a :class:`~modelship.ConfigError` whose message starts with the path
of the field (``deployment.containers[0].resources.limits.memory: ...``) and says what
is allowed: an unknown key (with the nearest known one), a wrong type, an unfilled
``${VAR}``, a malformed quantity, a request above its limit, memory in fractions of a
byte (``500m`` of memory is half a byte), canary weights that do not increase or exceed
100, a step without a pause, an unknown strategy or metric. Values filled in by default
where a user could reasonably have meant something else (the health probe's port, the
container's port, the strategy) are listed in :attr:`DeploymentSpec.notes`.

Each record declares what its fields allow in ``_parameter_constraints``, checked by the
shared parameter layer (:mod:`modelship._params`) before any converter runs, so a spec
built in Python is checked exactly as one read from a file, with the same message shape
(``replicas=0 is not allowed; replicas must be an int >= 1``); checks that span fields
(a request at most its limit, rising canary weights) live in the records' post-init. The
reader only puts the error in the document's words: the path and the YAML key. The records
hold no I/O and no defaults that depend on the environment; ``${VAR}`` substitution is done
on the document before it is read.
"""

from __future__ import annotations

import copy
import difflib
import enum
import importlib
import json
import math
import numbers
import os
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import attrs

from modelship._params import (
    Constraints,
    Interval,
    MappingOf,
    Options,
    Text,
    check,
    check_parameters,
)
from modelship._rollback._constraints import KNOWN_METRICS, METRIC_OF_SERIES
from modelship._rollback._policy import RollbackPolicy
from modelship._rollback._yaml import MAX_VALUES, read_bounded, strict_load
from modelship._shown import SHOWN, brief
from modelship.deploy._quantity import Quantity, parse_quantity
from modelship.deploy._security import check_container_context, check_pod_context
from modelship.errors import ConfigError, InvalidParameter, MissingDependency

__all__ = [
    "CanaryStep",
    "DEFAULT_PORT",
    "KNOWN_METRICS",
    "MAX_VALUES",
    "Container",
    "DeploymentSpec",
    "HealthCheck",
    "Monitoring",
    "Resources",
    "SpecFile",
    "Strategy",
    "parse_duration",
    "substitute",
]

_T = TypeVar("_T")

DEFAULT_PORT = 8080
"""The port ``modelship serve`` listens on when a container does not name one."""

MAX_DEPTH = 32
"""Nesting a document may have (a spec needs 5)."""

# A whole-value reference longer than this is not read as a number (int() refuses more than
# 4,300 digits; no field takes a number this long): it stays text, and its field says so.
_MAX_INT_TEXT = 100

MAX_FILE_BYTES = 2**20
"""A deployment file larger than 1 MiB is refused before it is parsed."""

MAX_SUBSTITUTED_BYTES = 8 * 2**20
"""The text a document's keys and values may hold in all once YAML aliases are expanded
and ``${NAME}`` is substituted, in characters: eight times the largest file, though aliases
let a small file ask for far more."""

# A resource name is a Kubernetes qualified name (IsQualifiedName in apimachinery's
# validation): an optional DNS-1123 subdomain prefix of at most 253 characters and '/',
# then a name of at most 63.
_QUALIFIED_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_MAX_QUALIFIED_NAME = 63
_MAX_SUBDOMAIN = 253
# Kubernetes checks an extended resource's name also as its quota's, "requests.<name>"
# (IsExtendedResourceName), so the prefix has 9 characters fewer to use.
_QUOTA_PREFIX = "requests."
# ASCII digits only: "\d" also reads Arabic-Indic and mathematical digits (as 600 s).
_DURATION = re.compile(r"(?:([0-9]+(?:\.[0-9]+)?)(ms|s|m|h))+")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_VARIABLE = re.compile(r"\$\$|\$\{(?P<body>[^}]*)\}|\$\{")
_VARIABLE_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.S)
# The scalars of YAML 1.2's core schema a whole-value reference may stand for (ASCII digits:
# "\d" would read other scripts' digits): an integer, a decimal number, true or false.
_YAML_INT = re.compile(r"[-+]?[0-9]+")
_YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_YAML_BOOL = {"true": True, "True": True, "TRUE": True}
_YAML_BOOL.update({"false": False, "False": False, "FALSE": False})


class Strategy(enum.Enum):
    """How a new version replaces the serving one.

    ``BLUE_GREEN`` starts the new version beside the old and switches all traffic at once;
    ``CANARY`` shifts traffic in steps with an analysis between them; ``RECREATE`` stops
    the old version before starting the new (downtime, for models too large for two).

    Examples
    --------
    >>> from modelship.deploy import Strategy
    >>> Strategy("canary") is Strategy.CANARY, [s.value for s in Strategy]
    (True, ['blue-green', 'canary', 'recreate'])
    """

    BLUE_GREEN = "blue-green"
    CANARY = "canary"
    RECREATE = "recreate"


# --- what each field allows, declared once (see modelship._params) ---------------------------

# Kubernetes' counts and probe seconds are int32: a larger value is refused by the API
# server when it decodes the request, after every check here passed.
_INT32 = 2**31 - 1
_SECONDS = Interval(float, 0, _INT32)
_POSITIVE_SECONDS = Interval(float, 0, _INT32, closed="neither")
_COUNT = Interval(int, 1, _INT32)


def _seconds(value: Any) -> Any:
    """A number of seconds as a float (``30`` is ``30.0``), as the file reader gives it:
    equal specs then write the same document, and digest the same (anything else is
    left for its check, which has already run)."""
    value = _plain(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) + 0.0  # + 0.0: -0.0 is 0.0, which canonical JSON writes apart
    return value


def _plain(value: Any) -> Any:
    """A NumPy number as the Python number it is (JSON and YAML writers refuse NumPy's);
    anything else unchanged (its check has already run)."""
    if value is None or isinstance(value, bool) or type(value) in (int, float):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


_PORT = (None, Interval(int, 1, 65535))
_DNS_NAME = Text(
    r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
    "a DNS label (lower-case letters, digits and '-', at most 63, starting and ending "
    "with a letter or digit)",
    refuses=("Model_Service", "-model", "m" * 64),
)

# The image reference grammar of github.com/distribution/reference (regexp.go), which
# container runtimes parse: [domain[:port]/]path[:tag][@digest]. The domain may have
# upper case or be an IPv6 address in brackets; path components are lower case.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_IMAGE_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
# The digest algorithms a runtime knows, each with its exact length of lower-case hex
# (github.com/opencontainers/go-digest refuses others).
_IMAGE_DIGEST = r"(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})"
MAX_IMAGE_NAME = 255
"""Characters an image's name (before ``:tag`` and ``@digest``) may have."""


class _ImageReference(Text):
    """A container image reference the runtime can parse; its name at most 255 long."""

    def __init__(self) -> None:
        super().__init__(
            rf"(?P<name>{_IMAGE_NAME})(?::{_IMAGE_TAG})?(?:@{_IMAGE_DIGEST})?",
            "a container image reference: [registry[:port]/]lower-case/path[:tag]"
            "[@sha256:<64 hex digits>], as in ghcr.io/org/model:3 or python:3.11-slim",
            refuses=("ai model:3", "AI-Model:3", "ai-model:", "ai-model:3:4", "x@sha256:abc"),
        )

    def is_satisfied_by(self, value: object) -> bool:
        # A longer one is refused before the pattern runs: the longest valid reference
        # (name, tag and a sha512 digest) is well under 1000 characters.
        if not isinstance(value, str) or len(value) > 1000 or not super().is_satisfied_by(value):
            return False
        match = self.pattern.fullmatch(value) if self.pattern is not None else None
        return match is not None and len(match["name"]) <= MAX_IMAGE_NAME


_IMAGE = _ImageReference()
_PROBE_PATH = Text(r"/\S*", "a path starting with '/', without spaces", refuses=("health",))


@attrs.frozen
class CanaryStep:
    """One canary step: send ``weight`` percent to the new version, wait ``pause`` seconds.

    Examples
    --------
    >>> CanaryStep(10, pause=60)
    CanaryStep(weight=10, pause=60)
    >>> CanaryStep(100)
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: weight=100 is not allowed; weight must be an int in [1, 99]
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "weight": Interval(int, 1, 99),  # promotion to 100 follows the last step
        "pause": _SECONDS,
    }
    __attrs_pre_init__ = check_parameters

    weight: int = attrs.field(converter=_plain)
    pause: float = attrs.field(default=0.0, converter=_plain)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _nearest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- the records ------------------------------------------------------------------------------


_NATIVE_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})


def _overcommits(name: str) -> bool:
    """Whether a request may be below its limit (native resources but hugepages)."""
    return name in _NATIVE_RESOURCES


def _check_resource(kind: str, name: str, amount: Quantity) -> None:
    """The API server's rules for a container's resource name and amount: cpu, memory,
    ephemeral-storage, ``hugepages-<size>``, or an extended resource named by a domain
    outside kubernetes.io (``nvidia.com/gpu``), counted in whole units."""
    if name in _NATIVE_RESOURCES:
        return
    if name.startswith("hugepages-"):
        try:
            size = parse_quantity(name.removeprefix("hugepages-"))
        except ConfigError:
            size = None
        if size is None or size.nanos <= 0 or size.nanos % 10**9:
            raise ConfigError(
                f"{kind}.{name}: not a huge page size; the size is a positive quantity of whole "
                "bytes (hugepages-2Mi, hugepages-1Gi)"
            )
        # Kubernetes' IsHugePageResourceValueDivisible: a whole number of pages, 0 too
        # (it rounds the amount up to whole bytes first; compared exactly here). A
        # negative amount is refused as such by the caller.
        if amount.nanos > 0 and amount.nanos % size.nanos:
            raise ConfigError(
                f"{kind}.{name}: {amount.text} is not a whole number of {size.text} pages; "
                f"give a multiple of {size.text} (Kubernetes refuses it otherwise)"
            )
        return
    domain = name.partition("/")[0] if "/" in name else ""
    if not domain or domain == "kubernetes.io" or domain.endswith(".kubernetes.io"):
        raise ConfigError(
            f"{kind}.{name}: not a container resource: cpu, memory, ephemeral-storage, "
            "hugepages-<size>, or a device named by its vendor's domain (nvidia.com/gpu)"
        )
    if name.startswith(_QUOTA_PREFIX):
        raise ConfigError(
            f"{kind}.{name}: an extended resource's name may not start with "
            f"{_QUOTA_PREFIX!r} (Kubernetes keeps it for quotas); name the device by its "
            "vendor's domain (nvidia.com/gpu)"
        )
    if len(_QUOTA_PREFIX + domain) > _MAX_SUBDOMAIN:
        raise ConfigError(
            f"{kind}.{name[:40]}...: the domain {domain[:40]!r}... has {len(domain)} "
            f"characters; an extended resource's has at most "
            f"{_MAX_SUBDOMAIN - len(_QUOTA_PREFIX)} (Kubernetes checks "
            f"'{_QUOTA_PREFIX}<name>' too)"
        )
    if amount.nanos % 10**9:
        raise ConfigError(
            f"{kind}.{name}: {amount.text} is not a whole number; {name} is counted in whole "
            "devices"
        )


def _not_qualified(name: object) -> str | None:
    """Why ``name`` is not a Kubernetes qualified name (None: it is one)."""
    if not isinstance(name, str):
        return f"a resource name is a string, got {type(name).__name__}"
    prefix, slash, rest = name.rpartition("/")
    if slash and (
        not prefix or len(prefix) > _MAX_SUBDOMAIN or not _DNS_SUBDOMAIN.fullmatch(prefix)
    ):
        return (
            f"the part before '/' must be a domain (lower-case letters, digits, '-' and '.', "
            f"at most {_MAX_SUBDOMAIN} characters)"
        )
    if len(rest) > _MAX_QUALIFIED_NAME or not _QUALIFIED_NAME.fullmatch(rest):
        return (
            f"the name{' after the domain' if slash else ''} must be at most "
            f"{_MAX_QUALIFIED_NAME} letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit"
        )
    return None


def _quantities(value: Any) -> Mapping[str, Quantity]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"must be a mapping of resource name to quantity, got {brief(value)}")
    out = {}
    for name, amount in value.items():
        why = _not_qualified(name)
        if why is not None:
            raise ConfigError(
                f"{reprlib.repr(name)} is not a resource name: {why} (cpu, memory, "
                "ephemeral-storage, nvidia.com/gpu, ...)"
            )
        try:
            out[name] = amount if isinstance(amount, Quantity) else parse_quantity(amount)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return out


@attrs.frozen
class Resources:
    """A container's resource ``limits`` and ``requests``: name to :class:`Quantity`.

    Checked as Kubernetes checks them, and a little more: no negative amount; a request
    is at most its limit; memory is whole bytes (``500m`` of memory is half a byte,
    a common slip for ``500M`` or ``500Mi``).

    Examples
    --------
    >>> from modelship.deploy import Resources
    >>> Resources(limits={"memory": "4Gi", "cpu": 2}).limits["memory"] == "4096Mi"
    True
    >>> Resources(limits={"cpu": "1"}, requests={"cpu": "1500m"})
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: requests.cpu: 1500m is more than limits.cpu (1)...
    """

    limits: Mapping[str, Quantity] = attrs.field(
        metadata={"key": "limits"}, factory=dict, converter=_quantities
    )
    requests: Mapping[str, Quantity] = attrs.field(
        metadata={"key": "requests"}, factory=dict, converter=_quantities
    )

    def __attrs_post_init__(self) -> None:
        for kind, amounts in (("limits", self.limits), ("requests", self.requests)):
            for name, amount in amounts.items():
                _check_resource(kind, name, amount)
                if amount.nanos < 0:
                    raise ConfigError(f"{kind}.{name}: must not be negative, got {amount.text}")
                if name == "memory" and amount.nanos % 10**9:
                    raise ConfigError(
                        f"{kind}.{name}: {amount.text} is not a whole number of bytes; memory "
                        "is counted in bytes (m means thousandths: 500m is half a byte). "
                        "Did you mean M (10**6) or Mi (2**20)?"
                    )
        for name, request in self.requests.items():
            limit = self.limits.get(name)
            if _overcommits(name):
                if limit is not None and request > limit:
                    raise ConfigError(
                        f"requests.{name}: {request.text} is more than limits.{name} "
                        f"({limit.text}); Kubernetes requires a request at most its limit"
                    )
            elif limit is None or request != limit:
                raise ConfigError(
                    f"requests.{name}: {request.text} needs limits.{name} equal to it "
                    f"(got {limit.text if limit is not None else 'none'}); Kubernetes does "
                    f"not overcommit {name} (or give the limit alone: the request follows)"
                )
        given = {*self.limits, *self.requests}
        if any(n.startswith("hugepages-") for n in given) and not given & {"cpu", "memory"}:
            raise ConfigError(
                "hugepages need a cpu or memory request or limit beside them (Kubernetes "
                "requires one)"
            )


def _env(value: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"env must be a mapping of name to value, got {brief(value)}")
    for name, text in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", name):
            raise ConfigError(f"env: {brief(name)} is not an environment variable name")
        if not isinstance(text, str):
            raise ConfigError(
                f"{_join('env', name)}: values are strings, got {brief(text)} (quote it)"
            )
    return dict(value)


_MAX_CONTEXT_DEPTH = 8  # a security context nests 3 levels (seLinuxOptions.level)


def _context_value(value: Any, where: str, depth: int) -> Any:
    """``value`` as plain JSON data (dicts, lists, text, whole numbers, true/false, null),
    or a ConfigError naming ``where``."""
    if isinstance(value, Mapping):
        if depth >= _MAX_CONTEXT_DEPTH:
            raise ConfigError(f"{where}: nested too deeply for a security context")
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(
                    f"{where}: {brief(key)} is not a field name; a security context's keys "
                    "are Kubernetes field names such as runAsNonRoot"
                )
            out[key] = _context_value(item, _join(where, key), depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_context_value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    raise ConfigError(
        f"{where}: {brief(value)} is not a security context value; give text, a whole "
        "number, true/false, a list or a mapping, as Kubernetes' SecurityContext has"
    )


def _security_context_of(what: str, value: Any) -> dict[str, Any]:
    """A mapping of Kubernetes security context fields, as plain dicts (None: none)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{what} must be a mapping of Kubernetes {what} fields (such as "
            f"{{runAsNonRoot: true, runAsUser: 10001}}), got {brief(value)}"
        )
    converted: dict[str, Any] = _context_value(value, what, 0)
    return converted


def _security_context(value: Any) -> dict[str, Any]:
    """A container's ``securityContext``, checked as the API server would check it."""
    context = _security_context_of("securityContext", value)
    check_container_context(context, "securityContext")
    return context


def _pod_security_context(value: Any) -> dict[str, Any]:
    """The pod's ``securityContext`` (``podSecurityContext`` in the spec), checked as the
    API server would check it."""
    context = _security_context_of("podSecurityContext", value)
    check_pod_context(context, "podSecurityContext")
    return context


def _env_order(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The key :class:`Container` compares ``env`` by: its pairs in order, since ``$(A)``
    expands only from a variable listed before it (so a reordering is a change)."""
    return tuple(env.items())


def _args(value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(f"args must be a list of strings, got {brief(value)}")
    return tuple(value)


def _sequence(what: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(
            f"{what} must be a list, got {type(value).__name__} {reprlib.repr(value)}"
        )
    return tuple(value)


def _containers(value: Any) -> tuple[Any, ...]:
    return _sequence("containers", value)


def _notes(value: Any) -> tuple[str, ...]:
    notes = _sequence("notes", value)
    for i, note in enumerate(notes):
        if not isinstance(note, str):
            raise ConfigError(
                f"notes[{i}] must be a string, got {type(note).__name__}; notes are the "
                "sentences saying which values were filled in by default"
            )
    return notes


@attrs.frozen
class Container:
    """One container of the deployment: name, image, port, resources, environment.

    ``env`` keeps its order, and two containers are equal only if their ``env`` lists the
    same variables in the same order: ``$(A)`` in a value expands only from a variable
    listed before it, so a reordering changes what the container gets.

    Examples
    --------
    >>> from modelship.deploy import Container
    >>> Container(name="model-service", image="ai-model:3", port=8080).port
    8080
    >>> first = Container(name="m", image="m:1", env={"A": "/data", "B": "$(A)/x"})
    >>> first == Container(name="m", image="m:1", env={"B": "$(A)/x", "A": "/data"})
    False
    >>> Container(name="Model_Service", image="ai-model:3")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: name='Model_Service' is not allowed; name must be a DNS ...
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "name": _DNS_NAME,
        "image": _IMAGE,
        "port": _PORT,
        "resources": Resources,
    }
    __attrs_pre_init__ = check_parameters

    name: str = attrs.field(metadata={"key": "name"})
    image: str = attrs.field(metadata={"key": "image"})
    port: int | None = attrs.field(metadata={"key": "port"}, default=None, converter=_plain)
    resources: Resources = attrs.field(metadata={"key": "resources"}, factory=Resources)
    env: Mapping[str, str] = attrs.field(
        metadata={"key": "env"}, factory=dict, converter=_env, eq=_env_order
    )
    args: tuple[str, ...] = attrs.field(metadata={"key": "args"}, default=(), converter=_args)
    security_context: Mapping[str, Any] = attrs.field(
        metadata={"key": "securityContext"},
        factory=dict,
        converter=_security_context,
    )

    @args.validator
    def _check_args(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        for i, arg in enumerate(value):
            if not isinstance(arg, str):
                raise ConfigError(f"args[{i}] must be a string, got {brief(arg)} (quote it)")


@attrs.frozen
class HealthCheck:
    """The HTTP probe: ``path`` on ``port`` (``None``: the first container's port).

    Examples
    --------
    >>> from modelship.deploy import HealthCheck
    >>> HealthCheck(path="/health", initial_delay_seconds=30).period_seconds
    10.0
    >>> HealthCheck(path="health")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: path='health' is not allowed; path must be a path ...
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "path": _PROBE_PATH,
        "port": _PORT,
        "initial_delay_seconds": _SECONDS,
        "period_seconds": _POSITIVE_SECONDS,
        "timeout_seconds": _POSITIVE_SECONDS,
        "failure_threshold": _COUNT,
    }
    __attrs_pre_init__ = check_parameters

    path: str = attrs.field(metadata={"key": "path"}, default="/health")
    port: int | None = attrs.field(metadata={"key": "port"}, default=None, converter=_plain)
    initial_delay_seconds: float = attrs.field(
        metadata={"key": "initialDelaySeconds"}, default=0.0, converter=_seconds
    )
    period_seconds: float = attrs.field(
        metadata={"key": "periodSeconds"}, default=10.0, converter=_seconds
    )
    timeout_seconds: float = attrs.field(
        metadata={"key": "timeoutSeconds"}, default=1.0, converter=_seconds
    )
    failure_threshold: int = attrs.field(
        metadata={"key": "failureThreshold"}, default=3, converter=_plain
    )


def _metrics(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"metrics must be a list of metric names, got {brief(value)}")
    for i, name in enumerate(value):
        if name not in KNOWN_METRICS:
            hint = _nearest(name, KNOWN_METRICS) if isinstance(name, str) else ""
            exported = METRIC_OF_SERIES.get(name) if isinstance(name, str) else None
            if exported is not None:
                hint = (
                    f" (write {exported!r}: monitoring.metrics names what the server exports "
                    f"({exported}); a condition names the Prometheus series ({name}))"
                )
            raise ConfigError(
                f"metrics[{i}]: unknown metric {brief(name)}{hint}; known: "
                f"{', '.join(KNOWN_METRICS)}"
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"metrics lists a metric twice: {list(value)}")
    return tuple(value)


@attrs.frozen
class Monitoring:
    """Whether the deployment is watched, which metrics the monitor computes, and the
    rollback policy when the section gives its conditions.

    A ``monitoring:`` section with ``conditions`` (and the limits ``failure_limit``,
    ``consecutive_failure_limit``, ``error_limit``, ``on_no_data``, ``on_inconclusive``,
    ``deadline``) is read by :meth:`modelship.monitor.RollbackPolicy.from_dict` itself, so
    the spec and the policy accept exactly the same section; ``policy`` holds the result.
    A section with conditions is watched unless it says ``enabled: false``, as the policy
    reads it.

    Examples
    --------
    >>> from modelship.deploy import Monitoring
    >>> Monitoring(enabled=True, metrics=["model_accuracy"]).metrics
    ('model_accuracy',)
    >>> Monitoring(metrics=["model_acuracy"])
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: metrics[0]: unknown metric 'model_acuracy' (did you mean ...
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "enabled": Options((True, False)),
        "policy": (None, RollbackPolicy),
    }
    __attrs_pre_init__ = check_parameters

    enabled: bool = attrs.field(metadata={"key": "enabled"}, default=False)
    metrics: tuple[str, ...] = attrs.field(
        metadata={"key": "metrics"}, default=(), converter=_metrics
    )
    policy: RollbackPolicy | None = attrs.field(metadata={"key": "policy"}, default=None)

    def __attrs_post_init__(self) -> None:
        policy = self.policy
        if policy is not None and (policy.enabled, policy.metrics) != (
            self.enabled,
            self.metrics,
        ):
            raise ConfigError(
                "policy: its enabled and metrics must be the section's own; build it with "
                "RollbackPolicy.from_dict(section), or read the file with "
                "DeploymentSpec.from_file"
            )

    def to_dict(self) -> dict[str, Any]:
        """The ``monitoring:`` section: the policy's own when it has one.

        Examples
        --------
        >>> from modelship.deploy import Monitoring
        >>> Monitoring(enabled=True, metrics=["error_rate"]).to_dict()
        {'enabled': True, 'metrics': ['error_rate']}
        """
        if self.policy is not None:
            return self.policy.to_dict()
        return {"enabled": self.enabled, "metrics": list(self.metrics)}


# The keys of a monitoring section that belong to the rollback policy (its conditions and
# limits): a section holding any of them is read by RollbackPolicy.from_dict.
_POLICY_KEYS = frozenset(f.name for f in attrs.fields(RollbackPolicy)) - {"enabled", "metrics"}
_POLICY_SCALARS = frozenset(
    {"enabled", "failure_limit", "consecutive_failure_limit", "error_limit", "deadline"}
)


def _strategy(value: Any) -> Strategy:
    if isinstance(value, Strategy):
        return value
    names = [s.value for s in Strategy]
    if value not in names:
        hint = _nearest(value, names) if isinstance(value, str) else ""
        raise ConfigError(f"strategy: unknown strategy {brief(value)}{hint}; one of {names}")
    return Strategy(value)


def _steps(value: Any) -> tuple[CanaryStep, ...]:
    steps = _sequence("steps", value)
    for i, step in enumerate(steps):
        if not isinstance(step, CanaryStep):
            raise ConfigError(f"steps[{i}] must be a CanaryStep, got {brief(step)}")
    for i in range(1, len(steps)):
        if steps[i].weight <= steps[i - 1].weight:
            raise ConfigError(
                f"steps[{i}].weight: {steps[i].weight} does not increase on the step before "
                f"({steps[i - 1].weight}); canary weights must rise step by step"
            )
    return steps


@attrs.frozen
class DeploymentSpec:
    """How to deploy a model: strategy, containers, health probe, monitoring, replicas.

    Read one with :meth:`from_file` or :meth:`from_dict`; every problem is a
    :class:`~modelship.ConfigError` naming the field. ``steps`` are the canary steps
    (only with ``Strategy.CANARY``); ``notes`` say which values were filled in by
    default. A health probe without a port gets the first container's port.

    Examples
    --------
    >>> from modelship.deploy import DeploymentSpec
    >>> spec = DeploymentSpec.from_dict({"deployment": {
    ...     "strategy": "blue-green",
    ...     "containers": [{"name": "model-service", "image": "ai-model:${VERSION}",
    ...                     "resources": {"limits": {"memory": "4Gi", "cpu": "2"}}}],
    ...     "healthcheck": {"path": "/health", "initialDelaySeconds": 30},
    ... }}, variables={"VERSION": "3"})
    >>> spec.containers[0].image, spec.healthcheck.port
    ('ai-model:3', 8080)
    >>> print("\\n".join(spec.notes))
    deployment.containers[0].port: not given; using 8080, where modelship serve listens
    deployment.healthcheck.port: not given; using the first container's port, 8080
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "replicas": _COUNT,
        "healthcheck": HealthCheck,
        "monitoring": Monitoring,
    }
    __attrs_pre_init__ = check_parameters

    containers: tuple[Container, ...] = attrs.field(
        metadata={"key": "containers"}, converter=_containers
    )
    strategy: Strategy = attrs.field(
        metadata={"key": "strategy"}, default=Strategy.BLUE_GREEN, converter=_strategy
    )
    replicas: int = attrs.field(metadata={"key": "replicas"}, default=1, converter=_plain)
    healthcheck: HealthCheck = attrs.field(metadata={"key": "healthcheck"}, factory=HealthCheck)
    monitoring: Monitoring = attrs.field(metadata={"key": "monitoring"}, factory=Monitoring)
    steps: tuple[CanaryStep, ...] = attrs.field(
        metadata={"key": "canary.steps"}, default=(), converter=_steps
    )
    pod_security_context: Mapping[str, Any] = attrs.field(
        metadata={"key": "podSecurityContext"},
        factory=dict,
        converter=_pod_security_context,
    )
    notes: tuple[str, ...] = attrs.field(default=(), converter=_notes, eq=False)

    def __attrs_post_init__(self) -> None:
        if not self.containers:
            raise ConfigError("containers: a deployment needs at least one container")
        for i, container in enumerate(self.containers):
            if not isinstance(container, Container):
                raise ConfigError(f"containers[{i}] must be a Container, got {brief(container)}")
        names = [c.name for c in self.containers]
        for i, container in enumerate(self.containers):
            if names.index(container.name) != i:
                raise ConfigError(f"containers[{i}].name: {brief(container.name)} is used twice")
        # The pod's containers share one network namespace: a second container on a port
        # taken would fail to listen (and the API server accepts the pod).
        taken: dict[int, int] = {}
        for i, container in enumerate(self.containers):
            port = container.port
            if i == 0 and port is None:
                port = DEFAULT_PORT  # where modelship serve listens then
            if port is None:
                continue
            if port in taken:
                j = taken[port]
                raise ConfigError(
                    f"containers[{i}].port: containers {brief(self.containers[j].name)} "
                    f"(containers[{j}]) and {brief(container.name)} (containers[{i}]) both "
                    f"declare port {port}; the containers of a pod share its network, so "
                    "give each container its own port"
                )
            taken[port] = i
        if self.strategy is Strategy.CANARY and not self.steps:
            raise ConfigError(
                "canary.steps: a canary needs steps, e.g. [{weight: 10, pause: 5m}, "
                "{weight: 50, pause: 5m}]"
            )
        if self.strategy is not Strategy.CANARY and self.steps:
            raise ConfigError(
                f"canary.steps: given, but the strategy is {self.strategy.value}; "
                "set strategy: canary or remove them"
            )
        port = self.containers[0].port
        if self.healthcheck.port is None and port is not None:
            object.__setattr__(self, "healthcheck", attrs.evolve(self.healthcheck, port=port))

    @property
    def port(self) -> int:
        """The first container's port (the one the model server listens on)."""
        port = self.containers[0].port
        return port if port is not None else DEFAULT_PORT

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        variables: Mapping[str, str] | None = None,
        environ: bool = True,
    ) -> DeploymentSpec:
        """Read a spec from a parsed document (``{"deployment": {...}}``).

        ``${NAME}`` in any string is replaced by ``variables[NAME]``, else (with
        ``environ``) by the environment variable; ``${NAME:-text}`` falls back to
        ``text`` when ``NAME`` is unset or empty; ``$$`` is a literal ``$``. A name found
        nowhere is a :class:`~modelship.ConfigError` naming it and the field.

        Examples
        --------
        >>> from modelship.deploy import DeploymentSpec
        >>> DeploymentSpec.from_dict({"deployment": {"strategy": "canary",
        ...     "containers": [{"name": "m", "image": "m:1", "port": 9000}],
        ...     "canary": {"steps": [{"weight": 10, "pause": "1m"}, {"weight": 5, "pause": 0}]}}})
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: deployment.canary.steps[1].weight: 5 does not increase ...
        """
        _check_reading(variables, environ)
        lookup = _lookup(variables, environ)
        substitution = _Substitution(lookup, "")
        document = substitution.visit(data, ())
        return _Reader(substitution.whole).spec(document)

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        variables: Mapping[str, str] | None = None,
        environ: bool = True,
    ) -> DeploymentSpec:
        """Read a spec from a ``.yaml``/``.yml`` (needs PyYAML), ``.json`` or ``.toml`` file.

        Examples
        --------
        >>> import json, tempfile, pathlib
        >>> from modelship.deploy import DeploymentSpec
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "d.json").write_text(json.dumps({"deployment": {
        ...     "containers": [{"name": "m", "image": "m:${TAG}", "port": 9000}]}}))
        >>> DeploymentSpec.from_file(folder / "d.json", variables={"TAG": "7"}).containers[0].image
        'm:7'
        """
        _check_reading(variables, environ)
        return SpecFile.read(path).spec(variables=variables, environ=environ)

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-serialisable document that :meth:`from_dict` reads back
        equal (a container's port is written even when None, as ``null``: left out, the
        reader would give the first container 8080).

        Examples
        --------
        >>> from modelship.deploy import Container, DeploymentSpec
        >>> spec = DeploymentSpec(containers=[Container(name="m", image="m:1", port=9000)])
        >>> DeploymentSpec.from_dict(spec.to_dict()) == spec
        True
        """
        hc = self.healthcheck
        deployment: dict[str, Any] = {
            "strategy": self.strategy.value,
            "replicas": self.replicas,
            "containers": [
                {
                    "name": c.name,
                    "image": c.image,
                    # Written even when None (null): from_dict gives a first container
                    # without the key DEFAULT_PORT, which would not read back equal.
                    "port": c.port,
                    "resources": {
                        "limits": {k: q.text for k, q in c.resources.limits.items()},
                        "requests": {k: q.text for k, q in c.resources.requests.items()},
                    },
                    "env": dict(c.env),
                    "args": list(c.args),
                    # Only when given: a spec without one writes (and digests) as before.
                    **(
                        {"securityContext": copy.deepcopy(dict(c.security_context))}
                        if c.security_context
                        else {}
                    ),
                }
                for c in self.containers
            ],
            "healthcheck": {
                "path": hc.path,
                **({"port": hc.port} if hc.port is not None else {}),
                "initialDelaySeconds": hc.initial_delay_seconds,
                "periodSeconds": hc.period_seconds,
                "timeoutSeconds": hc.timeout_seconds,
                "failureThreshold": hc.failure_threshold,
            },
            "monitoring": self.monitoring.to_dict(),
        }
        if self.pod_security_context:
            deployment["podSecurityContext"] = copy.deepcopy(dict(self.pod_security_context))
        if self.steps:
            deployment["canary"] = {
                "steps": [{"weight": s.weight, "pause": s.pause} for s in self.steps]
            }
        # from_dict substitutes ${NAME} again: every $ is written as $$ to read back as $.
        return {"deployment": _escape_dollars(deployment)}


# --- ${VAR} substitution ----------------------------------------------------------------------


def _escape_dollars(data: Any) -> Any:
    """``data`` with each ``$`` in its text written ``$$``, which substitution reads as ``$``."""
    if isinstance(data, dict):
        return {k: _escape_dollars(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_escape_dollars(v) for v in data]
    return data.replace("$", "$$") if isinstance(data, str) else data


# Any non-empty name: a copy of os.environ may hold names ${...} cannot spell; they are unused.
_VARIABLE_NAME = Text(description="variable names")


def _check_reading(variables: Any, environ: Any) -> None:
    """Refuse ``variables`` and ``environ`` of :meth:`DeploymentSpec.from_dict` up front."""
    check("variables", variables, None, MappingOf(str, keys=_VARIABLE_NAME))
    check("environ", environ, bool)


def _lookup(variables: Mapping[str, str] | None, environ: bool) -> Callable[[str], str | None]:
    given = dict(variables or {})

    def find(name: str) -> str | None:
        if name in given:
            return given[name]
        return os.environ.get(name) if environ else None

    return find


def substitute(data: Any, lookup: Callable[[str], str | None], path: str = "") -> Any:
    """``data`` with every ``${NAME}`` in its strings replaced through ``lookup``.

    Keys are left alone; only values are substituted. ``${NAME:-text}`` uses ``text``
    when ``lookup`` has nothing or an empty value (as POSIX shells do); ``$$`` is a
    literal ``$``. An unfilled or malformed reference is a :class:`~modelship.ConfigError`
    naming the path (each key in it cut to 100 characters). At most ``MAX_VALUES`` values
    are visited, and their text and keys hold at most ``MAX_SUBSTITUTED_BYTES`` characters
    in all: YAML aliases can make a small file a huge tree.

    Examples
    --------
    >>> from modelship.deploy._spec import substitute
    >>> substitute({"image": "m:${TAG}", "x": ["$${KEPT}", "${N:-1}"]}, {"TAG": "3"}.get)
    {'image': 'm:3', 'x': ['${KEPT}', '1']}
    >>> substitute({"a": "${E:-dflt}", "b": "x${E}y"}, {"E": ""}.get)
    {'a': 'dflt', 'b': 'xy'}
    >>> substitute({"image": "m:${TAG}"}, {}.get)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: image: ${TAG} is not set: pass it in variables=... or set ...
    """
    return _Substitution(lookup, path).visit(data, ())


class _At(int):
    """A list position among the keys of a path, shown ``[i]``."""


class _Substitution:
    """One walk of a document, substituting its text within the bounds of the whole.

    The path to a value is kept as the tuple of keys above it and written out only for an
    error: a path string built for every value visited held every key above it, so an
    alias naming a 100,000-character key made each of a 200 KB file's values copy
    megabytes (35 s), and a depth error quoted 3,000,000 characters.
    """

    def __init__(self, lookup: Callable[[str], str | None], prefix: str) -> None:
        self.lookup = lookup
        self.prefix = prefix
        self.values = MAX_VALUES
        self.chars = MAX_SUBSTITUTED_BYTES
        #: The path of each value that was one reference and nothing else
        #: (``replicas: ${N}``), and that reference: the reader may read its text as YAML
        #: reads a number or true/false written in the file.
        self.whole: dict[str, str] = {}

    def visit(self, data: Any, keys: tuple[Any, ...]) -> Any:
        self.values -= 1
        if self.values < 0:
            raise ConfigError(
                f"the document holds more than {MAX_VALUES} values (YAML aliases can multiply "
                "a small file); a deployment spec is far smaller"
            )
        if len(keys) > MAX_DEPTH:
            raise ConfigError(f"{self.path(keys)}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(data, Mapping):
            out = {}
            for k, v in data.items():
                below = (*keys, k)
                if isinstance(k, str | bytes):
                    # A key is text the reader goes through too: one named by aliases
                    # repeats as its values do.
                    self.charge(len(k), below)
                out[k] = self.visit(v, below)
            return out
        if isinstance(data, list):
            return [self.visit(v, (*keys, _At(i))) for i, v in enumerate(data)]
        if not isinstance(data, str):
            return data
        if "$" not in data:
            result = data
        else:
            result = _VARIABLE.sub(lambda m: self.replace(m, data, keys), data)
            whole = _VARIABLE.fullmatch(data)
            if whole is not None and whole.group("body") is not None:
                self.whole[self.path(keys)] = data
        # A YAML alias shares one string, but each substitution makes a copy (3,000 aliases
        # of a 300 KB text held 860 MiB), and whoever reads the document reads the text once
        # for each place it appears (2,000 aliases of a 700,000-character condition took 13 s
        # to read): the text, substituted or not, is bounded as a whole.
        self.charge(len(result), keys)
        return result

    def charge(self, size: int, keys: tuple[Any, ...]) -> None:
        self.chars -= size
        if self.chars < 0:
            raise ConfigError(
                f"{self.path(keys)}: the document's text, once its YAML aliases are expanded "
                f"and substituting ${{...}} is done, is more than {MAX_SUBSTITUTED_BYTES} "
                "characters in all, keys and values (an alias repeats its text each place it "
                "appears); a deployment spec is far smaller"
            )

    def replace(self, match: re.Match[str], data: str, keys: tuple[Any, ...]) -> str:
        if match.group(0) == "$$":
            return "$"
        body = match.group("body")
        inner = _VARIABLE_BODY.fullmatch(body) if body is not None else None
        if inner is None:
            raise ConfigError(
                f"{self.path(keys)}: {match.group(0)!r} in {brief(data)} is not a variable "
                "reference; write ${NAME} or ${NAME:-default} (NAME: letters, digits, _), or $$ "
                "for a literal $"
            )
        default = inner["default"]
        if default is not None and "${" in default:
            raise ConfigError(
                f"{self.path(keys)}: the default in {brief(match.group(0))} holds a reference; a "
                "default is plain text (nested references such as ${A:-${B}} are not read): "
                "give B's value as A in variables=..."
            )
        value = self.lookup(inner["name"])
        # As POSIX shells and docker compose read ``${NAME:-text}``: the default stands in
        # for a variable unset *or empty* (CI sets an input nobody filled to ""); a plain
        # ``${NAME}`` set to "" is "".
        if default is not None and not value:
            value = default
        if value is None:
            name = inner["name"]
            raise ConfigError(
                f"{self.path(keys)}: ${{{name}}} is not set: pass it in variables=... or set "
                f"the environment variable {name}"
            )
        return value

    def path(self, keys: tuple[Any, ...]) -> str:
        """The path of ``keys`` as an error message writes it: ``a.b[0].c``."""
        text = self.prefix
        for key in keys:
            text = f"{text}[{int(key)}]" if isinstance(key, _At) else _join(text, key)
        return text


def _join(path: str, key: Any) -> str:
    """``path.key``, the key cut to :data:`~modelship._shown.SHOWN` characters (a key
    may be a megabyte of text)."""
    if isinstance(key, str):
        shown = key if len(key) <= SHOWN else key[: SHOWN - 3] + "..."
    else:
        shown = brief(key)
    return f"{path}.{shown}" if path else shown


# --- durations --------------------------------------------------------------------------------


def parse_duration(value: Any, *, written: str | None = None) -> float:
    """Seconds from a number or a text like ``30s``, ``5m``, ``1h30m``, ``250ms``.

    ``written`` is the text ``value`` was read from (a ``${VAR}``'s YAML reading), shown
    by an error instead of the value read.

    Examples
    --------
    >>> from modelship.deploy._spec import parse_duration
    >>> parse_duration("1h30m"), parse_duration(45), parse_duration("250ms")
    (5400.0, 45.0, 0.25)
    >>> parse_duration("5 minutes")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: '5 minutes' is not a duration: ...
    >>> parse_duration(-5, written="'-5'")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: '-5' is not a duration: seconds must be finite and >= 0
    """
    if _is_number(value):
        # A 400-digit number is not echoed whole.
        shown = reprlib.repr(value) if written is None else written
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float: a ConfigError, not a crash
            raise ConfigError(f"{shown} is not a duration: too large a number") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ConfigError(f"{shown} is not a duration: seconds must be finite and >= 0")
        return seconds
    if isinstance(value, str) and _DURATION.fullmatch(value):
        total = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(value))
        if not math.isfinite(total):  # "999...9s": float() reads it as infinity
            raise ConfigError(f"{reprlib.repr(value)} is not a duration: too large a number")
        return total
    raise ConfigError(
        f"{brief(value) if written is None else written} is not a duration: give seconds as "
        "a number, or a text like 30s, 5m, 1h30m, 250ms"
    )


# --- the reader: document -> records, with paths --------------------------------------------


class _Reader:
    """Builds the records from a document, prefixing every error with its field's path.

    ``whole`` holds the paths of the values that were one ``${...}`` reference and nothing
    else (``replicas: ${REPLICAS}``). Substitution makes text, so such a value is read as
    the same text written in the file would be, in YAML 1.2's reading: where a field
    refuses the text, that reading (a decimal integer, a decimal number, true or false)
    is given instead.
    """

    def __init__(self, whole: Mapping[str, str] | None = None) -> None:
        self.notes: list[str] = []
        self.whole = dict(whole or {})

    def scalar(self, value: Any, path: str) -> Any:
        """``value`` as YAML 1.2 reads its text, in decimal (``"3"`` is 3, ``"010"`` 10,
        ``"true"`` True) when it was a whole ``${...}`` reference at ``path`` and reads as
        a number or true/false; else ``value`` as it is.

        Examples
        --------
        >>> r = _Reader({"deployment.replicas": "${N}"})
        >>> r.scalar("3", "deployment.replicas"), r.scalar("3", "deployment.other")
        (3, '3')
        >>> r.scalar("1e3", "deployment.replicas"), r.scalar("true", "deployment.replicas")
        (1000.0, True)
        """
        if not isinstance(value, str) or path not in self.whole:
            return value
        if _YAML_INT.fullmatch(value) and len(value) <= _MAX_INT_TEXT:
            return int(value)
        if _YAML_FLOAT.fullmatch(value) and len(value) <= _MAX_INT_TEXT:
            return float(value)
        return _YAML_BOOL.get(value, value)

    def spec(self, document: Any) -> DeploymentSpec:
        top = self._mapping(document, "", {"deployment"})
        if "deployment" not in top:
            raise ConfigError("the document needs a top-level 'deployment' key")
        path = "deployment"
        d = self._mapping(
            top["deployment"],
            path,
            {
                "strategy",
                "replicas",
                "containers",
                "healthcheck",
                "monitoring",
                "canary",
                "podSecurityContext",
            },
        )
        if "containers" not in d:
            raise ConfigError(f"{path}.containers: missing; a deployment needs a container")
        raw_containers = d["containers"]
        if not isinstance(raw_containers, list) or not raw_containers:
            raise ConfigError(
                f"{path}.containers: must be a non-empty list of containers, got "
                f"{brief(raw_containers)}"
            )
        containers = [
            self.container(c, f"{path}.containers[{i}]", first=i == 0)
            for i, c in enumerate(raw_containers)
        ]
        if "strategy" not in d:
            self.notes.append(f"{path}.strategy: not given; using blue-green")
        kwargs: dict[str, Any] = {
            "containers": containers,
            "strategy": d.get("strategy", Strategy.BLUE_GREEN.value),
            "replicas": d.get("replicas", 1),
        }
        if "healthcheck" in d:
            kwargs["healthcheck"] = self.healthcheck(d["healthcheck"], f"{path}.healthcheck")
        else:
            kwargs["healthcheck"] = HealthCheck()
        if kwargs["healthcheck"].port is None:
            self.notes.append(
                f"{path}.healthcheck.port: not given; using the first container's port, "
                f"{containers[0].port if containers[0].port is not None else DEFAULT_PORT}"
            )
        if "monitoring" in d:
            kwargs["monitoring"] = self.monitoring(d["monitoring"], f"{path}.monitoring")
        if "canary" in d:
            kwargs["steps"] = self.steps(d["canary"], f"{path}.canary")
        if "podSecurityContext" in d:
            where = f"{path}.podSecurityContext"
            kwargs["pod_security_context"] = self._context(d["podSecurityContext"], where)
        return self.make(DeploymentSpec, path, notes=self.notes, **kwargs)

    def _context(self, raw: Any, path: str) -> Any:
        """A security context as written, a whole ``${...}`` reference in it given its
        YAML reading (``runAsUser: ${UID}`` is a number); checked by its record."""
        if isinstance(raw, Mapping):
            return {k: self._context(v, _join(path, k)) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self._context(v, f"{path}[{i}]") for i, v in enumerate(raw)]
        return self.scalar(raw, path)

    def monitoring(self, raw: Any, path: str) -> Monitoring:
        """The section as a record; with conditions or limits, read by the policy's reader."""
        section = self._mapping(raw, path, {"enabled", "metrics", *_POLICY_KEYS})
        if not _POLICY_KEYS & set(section):
            return self.record(Monitoring, section, path, {"enabled", "metrics"})
        # The policy's own reader takes numbers and true/false only in these keys, so a
        # whole ${...} reference in one is read as YAML reads its text (see scalar()).
        texts = {key: section[key] for key in _POLICY_SCALARS & set(section)}
        for key, text in texts.items():
            section[key] = self.scalar(text, f"{path}.{key}")
        try:
            policy = RollbackPolicy.from_dict({"enabled": True, **section})
        except ConfigError as exc:
            # A key from a whole ${...} reference that the message names: say which
            # reference, and the text a YAML reading was made of.
            read = "".join(
                self._came_from(f"{path}.{key}", key)
                + ("" if section[key] is text else f", the text {brief(text)}")
                for key, text in sorted(texts.items())
                if f"{path}.{key}" in self.whole and re.search(rf"\b{key}\b", str(exc))
            )
            raise ConfigError(f"{path}: {exc}{read}") from None
        return self.make(
            Monitoring, path, enabled=policy.enabled, metrics=policy.metrics, policy=policy
        )

    def container(self, raw: Any, path: str, *, first: bool) -> Container:
        keys = {"name", "image", "port", "ports", "resources", "env", "args", "securityContext"}
        c = self._mapping(raw, path, keys)
        for required in ("name", "image"):
            if required not in c:
                raise ConfigError(f"{path}.{required}: missing")
        kwargs: dict[str, Any] = {k: c[k] for k in ("name", "image", "port", "args") if k in c}
        written: dict[str, str] = {}  # a field the document wrote elsewhere: its path
        if "ports" in c:
            if "port" in c:
                raise ConfigError(f"{path}: give port or ports, not both")
            kwargs["port"] = self._container_port(c["ports"], f"{path}.ports")
            written = {"port": f"{path}.ports[0].containerPort"}
        if "port" not in kwargs and first:
            # Only the first container runs modelship serve; a sidecar without a port
            # has none (it is rendered without ports).
            kwargs["port"] = DEFAULT_PORT
            self.notes.append(
                f"{path}.port: not given; using {DEFAULT_PORT}, where modelship serve listens"
            )
        if "resources" in c:
            kwargs["resources"] = self.resources(c["resources"], f"{path}.resources")
        if "env" in c:
            kwargs["env"] = self._env(c["env"], f"{path}.env")
        if "securityContext" in c:
            where = f"{path}.securityContext"
            kwargs["security_context"] = self._context(c["securityContext"], where)
        return self.make(Container, path, written, **kwargs)

    def _container_port(self, raw: Any, path: str) -> Any:
        if not isinstance(raw, list) or not raw:
            raise ConfigError(
                f"{path}: must be a list like [{{containerPort: 8080}}], got {brief(raw)}"
            )
        if len(raw) > 1:
            raise ConfigError(
                f"{path}: {len(raw)} ports given; the model server listens on one (give one "
                "entry, or port: N)"
            )
        first = self._mapping(raw[0], f"{path}[0]", {"containerPort", "name", "protocol"})
        if "containerPort" not in first:
            raise ConfigError(f"{path}[0].containerPort: missing")
        if first.get("protocol", "TCP") != "TCP":
            raise ConfigError(
                f"{path}[0].protocol: {brief(first['protocol'])}; the model server speaks HTTP "
                "over TCP (leave protocol out, or write TCP)"
            )
        if "name" in first and first["name"] != "http":
            self.notes.append(f"{path}[0].name: {brief(first['name'])} is rendered as 'http'")
        # A port is a number: a whole ${...} reference is given its YAML reading by make().
        return first["containerPort"]

    def _env(self, raw: Any, path: str) -> Any:
        if isinstance(raw, list):  # the Kubernetes form: [{name: X, value: "1"}]
            env = {}
            for i, item in enumerate(raw):
                pair = self._mapping(item, f"{path}[{i}]", {"name", "value"})
                if "name" not in pair or "value" not in pair:
                    raise ConfigError(f"{path}[{i}]: needs name and value")
                name = pair["name"]
                if not isinstance(name, str):
                    raise ConfigError(
                        f"{path}[{i}].name: must be an environment variable name, got "
                        f"{type(name).__name__}"
                    )
                if name in env:
                    raise ConfigError(
                        f"{path}[{i}].name: {reprlib.repr(name)} is given twice; give each "
                        "variable once"
                    )
                env[name] = pair["value"]
            return env
        return raw

    def resources(self, raw: Any, path: str) -> Resources:
        r = self._mapping(raw, path, {"limits", "requests"})
        amounts = {}
        for kind in ("limits", "requests"):
            given = r.get(kind, {})
            if not isinstance(given, Mapping):
                raise ConfigError(
                    f"{path}.{kind}: must be a mapping like {{cpu: '2', memory: 4Gi}}"
                )
            parsed = {}
            for name, amount in given.items():
                try:
                    parsed[name] = parse_quantity(amount)
                except ConfigError as exc:
                    raise ConfigError(f"{path}.{kind}.{name}: {exc}") from None
            amounts[kind] = parsed
        return self.make(Resources, path, **amounts)

    def healthcheck(self, raw: Any, path: str) -> HealthCheck:
        keys = {
            "path",
            "port",
            "initialDelaySeconds",
            "periodSeconds",
            "timeoutSeconds",
            "failureThreshold",
        }
        h = self._mapping(raw, path, keys)
        for key in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds"):
            if key in h:
                h[key] = self._duration(h[key], f"{path}.{key}")
        return self.record(HealthCheck, h, path, keys)

    def steps(self, raw: Any, path: str) -> list[CanaryStep]:
        canary = self._mapping(raw, path, {"steps"})
        given = canary.get("steps")
        if not isinstance(given, list) or not given:
            raise ConfigError(f"{path}.steps: must be a non-empty list of {{weight, pause}}")
        steps: list[CanaryStep] = []
        previous: int | None = None
        for i, item in enumerate(given):
            where = f"{path}.steps[{i}]"
            step = self._mapping(item, where, {"weight", "pause"})
            weight = self.scalar(step.get("weight"), f"{where}.weight")
            if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 100:
                raise ConfigError(
                    f"{where}.weight: must be an integer from 1 to 100, got "
                    f"{brief(step.get('weight'))}{self._came_from(f'{where}.weight')}"
                )
            if previous is not None and weight <= previous:
                raise ConfigError(
                    f"{where}.weight: {weight} does not increase on the step before "
                    f"({previous}); canary weights must rise step by step"
                )
            previous = weight
            if weight == 100:
                if i != len(given) - 1:
                    raise ConfigError(f"{where}.weight: 100 must be the last step")
                # Its pause is read (and checked) like any other; the promotion does not
                # wait, so only a pause of 0 can be honoured.
                if "pause" in step:
                    wait = self._duration(step["pause"], f"{where}.pause")
                    if wait:
                        raise ConfigError(
                            f"{where}.pause: {brief(step['pause'])}, but weight 100 is the "
                            "promotion, which does not wait; give the pause to the step "
                            "before it, or remove this one"
                        )
                self.notes.append(
                    f"{where}: weight 100 is the promotion that follows the last step; "
                    "it is not a step of its own"
                )
                continue
            if "pause" not in step:
                raise ConfigError(
                    f"{where}.pause: missing; how long to hold {weight}% before the analysis "
                    "(e.g. 5m, 60, or 0)"
                )
            pause = self._duration(step["pause"], f"{where}.pause")
            steps.append(self.make(CanaryStep, where, weight=weight, pause=pause))
        return steps

    # --- helpers ------------------------------------------------------------------------

    def record(self, kind: type[_T], raw: Any, path: str, keys: set[str]) -> _T:
        given = self._mapping(raw, path, keys)
        fields = attrs.fields(kind)  # type: ignore[arg-type]
        by_key = {field.metadata.get("key", field.name): field.name for field in fields}
        return self.make(kind, path, **{by_key[k]: v for k, v in given.items()})

    def make(
        self,
        kind: type[_T],
        where: str,
        paths: Mapping[str, str] | None = None,
        /,
        **kwargs: Any,
    ) -> _T:
        """``kind(**kwargs)``, its errors naming the field by its path (``paths`` maps a
        field to where the document wrote it, when elsewhere). A field that refuses the
        text of a whole ``${...}`` reference is given its YAML reading (:meth:`scalar`)
        instead: one try more per such field, so at most ``len(kwargs)``."""
        fields = {field.name: field for field in attrs.fields(kind)}  # type: ignore[arg-type]
        written: dict[str, Any] = {}  # the text of each field given its YAML reading
        while True:  # bounded: each pass either returns, raises, or reads one more field
            try:
                return kind(**kwargs)
            except InvalidParameter as exc:
                field = fields.get(exc.parameter)
                if field is None:
                    raise ConfigError(f"{where}.{exc}" if where else str(exc)) from None
                path = (paths or {}).get(field.name) or _join(
                    where, field.metadata.get("key", field.name)
                )
                if field.name in written:  # its reading refused too: show the text
                    raise self._refused(exc, path, written[field.name]) from None
                given = kwargs.get(field.name)
                read = self.scalar(given, path)
                if read is given:
                    raise self._refused(exc, path, given) from None
                written[field.name] = given
                kwargs[field.name] = read
            except ConfigError as exc:
                raise ConfigError(f"{where}.{exc}" if where else str(exc)) from None

    def _refused(self, exc: InvalidParameter, path: str, given: Any) -> InvalidParameter:
        """``exc`` naming the field by ``path`` and showing ``given``: for a whole
        ``${...}`` reference, the text it held (not the YAML reading that was refused too:
        ``'true'``, not ``True``), and the reference it came from.

        Examples
        --------
        >>> r = _Reader({"replicas": "${N}"})
        >>> refused = InvalidParameter("replicas", True, "an int >= 1")
        >>> print(r._refused(refused, "replicas", "true"))
        replicas='true' is not allowed; replicas must be an int >= 1; the value came from ${N}
        """
        named = InvalidParameter(exc.parameter, given, exc.allowed).named(path)
        came_from = self._came_from(path)
        if came_from:  # a duration read before the record shows its seconds
            named.args = (f"{named}{came_from}",)
        return named

    def _duration(self, value: Any, path: str) -> float:
        read = self.scalar(value, path)
        try:
            # A YAML reading refused shows the text it was read from, with its own reason.
            return parse_duration(read, written=None if read is value else brief(value))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}{self._came_from(path)}") from None

    def _came_from(self, path: str, what: str = "the value") -> str:
        """``"; the value came from ${NAME}"`` (``what`` naming the value) when the value
        at ``path`` was a whole ``${...}`` reference (the text a refusal shows is then the
        variable's), else "".

        Examples
        --------
        >>> _Reader({"a.b": "${W}"})._came_from("a.b"), _Reader()._came_from("a.b")
        ('; the value came from ${W}', '')
        >>> _Reader({"a.b": "${W}"})._came_from("a.b", "b")
        '; b came from ${W}'
        """
        reference = self.whole.get(path)
        if reference is None:
            return ""
        shown = (
            reference if len(reference) <= SHOWN and reference.isprintable() else brief(reference)
        )
        return f"; {what} came from {shown}"

    @staticmethod
    def _mapping(raw: Any, path: str, keys: set[str]) -> dict[str, Any]:
        where = path or "the document"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: must be a mapping, got {type(raw).__name__} {brief(raw)}")
        for key in raw:
            if key not in keys:
                hint = _nearest(key, keys) if isinstance(key, str) else ""
                raise ConfigError(
                    f"{_join(path, key)}: unknown key{hint}; known keys: {', '.join(sorted(keys))}"
                )
        return dict(raw)


# --- files ------------------------------------------------------------------------------------


@attrs.frozen
class SpecFile:
    """A deployment file read once, as the spec of any ``variables``: what
    :meth:`DeploymentSpec.from_file` reads, for a caller that makes the spec of several
    versions from one file (``deploy apply`` fills in ``${VERSION}`` for each version it
    deploys), all from the file as it was read, whatever happens to it since.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.json"
    >>> _ = path.write_text(json.dumps({"deployment": {
    ...     "containers": [{"name": "m", "image": "m:${VERSION}"}]}}))
    >>> file = SpecFile.read(path)
    >>> path.unlink()
    >>> [file.spec(variables={"VERSION": v}).containers[0].image for v in ("1", "2")]
    ['m:1', 'm:2']
    """

    path: str
    document: Any = attrs.field(repr=False)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> SpecFile:
        """Read the file at ``path`` (a :class:`~modelship.ConfigError` if it is not a
        deployment file: its name, its size, its syntax); nothing is substituted yet."""
        check("path", path, str, os.PathLike)
        return cls(os.fspath(path), _load(Path(path)))

    def spec(
        self, *, variables: Mapping[str, str] | None = None, environ: bool = True
    ) -> DeploymentSpec:
        """The spec the file says with ``variables``, as :meth:`DeploymentSpec.from_dict`
        reads it; a :class:`~modelship.ConfigError` starts with the file's path."""
        try:
            return DeploymentSpec.from_dict(self.document, variables=variables, environ=environ)
        except ConfigError as exc:
            raise ConfigError(f"{self.path}: {exc}") from None


def _load(path: Path) -> Any:
    if "\x00" in str(path):
        raise ConfigError("the path of the deployment file contains a NUL byte; no file has one")
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json", ".toml"):
        raise ConfigError(f"{path}: a deployment file ends in .yaml, .yml, .json or .toml")
    data = read_bounded(path, MAX_FILE_BYTES, "a deployment file")
    try:
        if suffix == ".json":
            try:
                return json.loads(data, object_pairs_hook=_unique_keys(path))
            except ConfigError:
                raise
            except (ValueError, RecursionError) as exc:
                raise ConfigError(f"{path}: not valid JSON: {exc}") from None
        if suffix == ".toml":
            return _load_toml(path, data)
        return _load_yaml(path, data)
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a deployment spec") from None


def _unique_keys(path: Path) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A ``json`` object hook refusing a key given twice (``json`` keeps the last silently)."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise ConfigError(f"{path}: the key {reprlib.repr(key)} is given twice")
            out[key] = value
        return out

    return build


def _load_toml(path: Path, data: bytes) -> Any:
    try:
        tomllib: Any = importlib.import_module("tomllib")
    except ImportError:  # Python 3.10
        try:
            tomllib = importlib.import_module("tomli")
        except ImportError as exc:
            raise MissingDependency(
                f"{path}: reading TOML on Python 3.10 needs tomli: pip install tomli"
            ) from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _load_yaml(path: Path, data: bytes) -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise MissingDependency(
            f"{path}: reading YAML needs PyYAML: pip install 'modelship[yaml]' "
            "(or use a .json or .toml file)"
        ) from exc

    return strict_load(yaml, data, str(path))
