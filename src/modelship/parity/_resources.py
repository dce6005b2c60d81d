"""``ResourceRequest``: what a deployment asks of the machine it runs on.

Quantities are read the way Kubernetes reads them, and the way
:class:`~modelship.deploy.DeploymentSpec` does (``"512Mi"``, ``"2G"``, ``"500m"`` CPU),
as well as plain numbers (bytes, CPUs), so a deployment spec's values pass through as is
and mean the same here. Memory is whole bytes: ``"500m"`` of memory is half a byte, which
the spec refuses, and so does :func:`parse_memory`.
"""

from __future__ import annotations

import math
import numbers
import re
import reprlib
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import attrs

from modelship._json import number_text
from modelship._params import Text, validate_params
from modelship.errors import ConfigError

__all__ = ["ResourceRequest", "parse_cpus", "parse_memory"]

# The grammar of Kubernetes' ParseQuantity, as modelship.deploy's Quantity reads it (parity
# cannot import modelship.deploy: the deployers reach the registry, which imports parity).
# Suffixes are case-sensitive: "m" is milli, "M" mega; "1E" is 10**18, "1E3" an exponent.
# One extension, for people's spelling of sizes: a "B" after the suffix ("512MiB", "2GB").
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?(?P<bytes>B?)"
)
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_MAX_LENGTH = 100  # as DeploymentSpec: no quantity is longer, and messages stay short
_MAX_EXPONENT = 1000  # as DeploymentSpec: Kubernetes truncates larger exponents to 32 bits
_NANO = 10**9  # Kubernetes keeps a quantity to a nano (10**-9), rounding finer values up
MAX_BYTES = 2**63 - 1
"""The most memory a quantity may name: Kubernetes counts bytes in a signed 64-bit integer
(``Quantity.Value()`` overflows above it). ``ParseQuantity`` caps only a binary-suffixed
quantity (``8Ei``) at this; a larger decimal one (``10E``) is not capped, and is refused."""

_UNITS_HELP = (
    "suffixes are case-sensitive, as in Kubernetes: Ki Mi Gi Ti Pi Ei (binary) or "
    "k M G T P E (decimal), optionally followed by B (512MiB, 2GB)"
)


def _shown(value: object) -> str:
    """``value`` for a message, at most a few dozen characters whatever was given."""
    return reprlib.repr(value)


def _exact(text: str) -> tuple[Fraction, str] | None:
    """The exact value of a Kubernetes quantity and its suffix, or None if malformed."""
    if len(text) > _MAX_LENGTH:
        return None
    match = _QUANTITY.fullmatch(text)
    if match is None or not (match["int"] or match["frac"]):
        return None
    suffix, frac = match["suffix"] or "", match["frac"] or ""
    value = Fraction(int(match["int"] + frac or "0"), 10 ** len(frac))
    if suffix in _BINARY_SI:
        value = min(value * 2 ** _BINARY_SI[suffix], Fraction(MAX_BYTES))  # as Kubernetes
    elif suffix in _DECIMAL_SI:
        value *= Fraction(10) ** _DECIMAL_SI[suffix]
    else:
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            return None
        value *= Fraction(10) ** exponent
    return (-value if match["sign"] == "-" else value), suffix


def _number(value: object) -> Fraction | None:
    """A real number (not a flag) as an exact fraction; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Rational):  # ints and fractions, exactly
        return Fraction(int(value.numerator), int(value.denominator))
    try:
        number = float(value)
    except OverflowError:
        return None
    return Fraction(number) if math.isfinite(number) else None


def parse_memory(value: int | float | str) -> int:
    """Return a memory quantity in bytes, read as Kubernetes and ``DeploymentSpec`` read it.

    Accepts a whole number of bytes (an int, or a float with no fraction), or a Kubernetes
    quantity: a number with a case-sensitive suffix, ``Ki Mi Gi Ti Pi Ei`` binary, ``k M
    G T P E`` decimal or an exponent (``1e9``), optionally followed by ``B`` (``"512MiB"``,
    ``"2GB"``). Memory is whole bytes: a quantity with a fraction of a byte is refused,
    not rounded, so ``"500m"`` (milli: half a byte, a slip for ``500M`` or ``500Mi``),
    ``"0.1Ki"`` and ``1.5`` are errors, as they are in a deployment spec.

    Raises
    ------
    ConfigError
        For a quantity that is unreadable, negative, not a whole number of bytes, or more
        than :data:`MAX_BYTES` (Kubernetes caps a binary quantity such as ``"8Ei"`` at it).

    Examples
    --------
    >>> from modelship.parity import parse_memory
    >>> parse_memory("512Mi"), parse_memory("2G"), parse_memory("1.5GiB"), parse_memory(1024)
    (536870912, 2000000000, 1610612736, 1024)
    >>> parse_memory("lots")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: memory 'lots' is not a quantity: give bytes or a number ...
    >>> parse_memory("500m")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: memory '500m' is not a whole number of bytes...
    """
    return _bytes(value, "memory")


def _bytes(value: int | float | str, field: str) -> int:
    """:func:`parse_memory`, its errors naming ``field`` (``"model_size"``)."""
    suffix = ""
    if isinstance(value, str):
        parsed = _exact(value)
        if parsed is None:
            raise ConfigError(
                f"{field} {_shown(value)} is not a quantity: give bytes or a number with a "
                f"suffix such as 512Mi or 2G ({_UNITS_HELP})"
            )
        size, suffix = parsed
    else:
        number = _number(value)
        if number is None:
            raise ConfigError(
                f"{field} must be a finite number of bytes or a quantity like '512Mi', got "
                f"{_shown(value)} ({type(value).__name__})"
            )
        size = number
    if size < 0:
        raise ConfigError(f"{field} must not be negative, got {_shown(value)}")
    if size.denominator != 1:
        hint = ""
        if suffix == "m":
            digits = value[: value.index("m")] if isinstance(value, str) else ""
            hint = (
                f" (m means thousandths, as in Kubernetes). Did you mean {digits}M (10**6) "
                f"or {digits}Mi (2**20)?"
            )
        raise ConfigError(
            f"{field} {_shown(value)} is not a whole number of bytes; memory is counted in "
            f"bytes, as a deployment spec counts it{hint or '.'}"
        )
    if size > MAX_BYTES:
        raise ConfigError(
            f"{field} {_shown(value)} is {number_text(int(size))} bytes, more than the "
            f"{MAX_BYTES} Kubernetes can count"
        )
    return int(size)


def parse_cpus(value: int | float | str) -> float:
    """Return a CPU quantity in CPUs, read as Kubernetes and ``DeploymentSpec`` read it.

    Accepts a number of CPUs, or a Kubernetes quantity: a number with a case-sensitive
    suffix, ``n u m k M G T P E`` decimal (``"500m"`` is half a CPU), ``Ki Mi Gi Ti Pi Ei``
    binary, or an exponent (``"1e3"``, ``"1E3"``; ``"1E"`` alone is 10**18). A ``B`` after
    the suffix is for memory and is refused here. As in Kubernetes, a value is counted in
    nano-CPUs and a positive amount below one is rounded up to it: ``"1e-400"`` and
    ``"0.1n"`` are ``1e-09``. A float means the decimal it prints as (``0.1`` is ``100m``),
    as a number in a deployment file does.

    Raises
    ------
    ConfigError
        For a quantity that is unreadable, not positive, or too large for a float.

    Examples
    --------
    >>> from modelship.parity import parse_cpus
    >>> parse_cpus("500m"), parse_cpus("2"), parse_cpus(1.5), parse_cpus("250000u")
    (0.5, 2.0, 1.5, 0.25)
    >>> parse_cpus("1k"), parse_cpus("1Ki"), parse_cpus("1e-400")
    (1000.0, 1024.0, 1e-09)
    >>> parse_cpus("2GB")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: cpus '2GB' is not a positive, finite number of CPUs: ...
    """
    exact = _exact_cpus(value)
    if exact is not None and exact > 0:
        exact = Fraction(math.ceil(exact * _NANO), _NANO)  # below a nano: 1n, as Kubernetes
    cpus = None if exact is None else _float(exact)
    if cpus is None or cpus <= 0:
        raise ConfigError(
            f"cpus {_shown(value)} is not a positive, finite number of CPUs: give e.g. 2, 0.5, "
            "'500m' or '1k' (suffixes n u m k M G T P E, Ki Mi Gi Ti Pi Ei, or an exponent "
            "such as 1e3; no B)"
        )
    return cpus


def _exact_cpus(value: object) -> Fraction | None:
    """The exact CPUs ``value`` names, or None when it is not a CPU quantity."""
    if isinstance(value, str):
        parsed = _exact(value)
        return None if parsed is None or value.endswith("B") else parsed[0]
    number = _number(value)
    if number is None or isinstance(value, numbers.Rational) or not isinstance(value, numbers.Real):
        return number
    return Fraction(repr(float(value)))  # 0.1 is the decimal 0.1, as YAML's 0.1 is


def _float(value: Fraction) -> float | None:
    """``value`` as a finite float, or None when it is too large for one."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _memory(value: Any) -> int | None:
    return None if value is None else parse_memory(value)


def _model_size(value: Any) -> int | None:
    return None if value is None else _bytes(value, "model_size")


def _cpus(value: Any) -> float | None:
    return None if value is None else parse_cpus(value)


@attrs.frozen(kw_only=True)
class ResourceRequest:
    """The resources a deployment requests, checked against what the target offers.

    Parameters
    ----------
    memory : int or str, optional
        The memory limit the model will run under (bytes, or ``"2Gi"``).
    cpus : float or str, optional
        The CPU limit (``2``, ``"500m"``).
    model_size : int or str, optional
        The serialized model's size (``mv.artifact.size``); loading needs at least this
        much memory.

    Examples
    --------
    >>> from modelship.parity import ResourceRequest
    >>> request = ResourceRequest(memory="2Gi", cpus="1500m", model_size=300 * 2**20)
    >>> request.memory, request.cpus
    (2147483648, 1.5)

    From a deployment spec (:meth:`from_spec`):

    >>> from modelship.deploy import DeploymentSpec
    >>> spec = DeploymentSpec.from_dict({"deployment": {"containers": [
    ...     {"name": "model", "image": "churn:3",
    ...      "resources": {"limits": {"memory": "4Gi", "cpu": "2"}}}]}})
    >>> ResourceRequest.from_spec(spec, model_size=300 * 2**20).memory
    4294967296
    """

    memory: int | None = attrs.field(default=None, converter=_memory)
    cpus: float | None = attrs.field(default=None, converter=_cpus)
    model_size: int | None = attrs.field(default=None, converter=_model_size)

    @classmethod
    @validate_params(container=(None, Text()))
    def from_spec(
        cls,
        spec: DeploymentSpecLike,
        *,
        container: str | None = None,
        model_size: int | str | None = None,
    ) -> ResourceRequest:
        """What a :class:`~modelship.deploy.DeploymentSpec`'s container asks for.

        Each resource is the container's limit (what it will run under), or its request
        where it sets no limit; a resource it does not set is ``None`` (not checked).

        Parameters
        ----------
        spec : DeploymentSpec
            The deployment.
        container : str, optional
            The container's name; by default the first one, the model server.
        model_size : int or str, optional
            The serialized model's size (``mv.artifact.size``).

        Raises
        ------
        ConfigError
            When ``spec`` is not a deployment spec (an object that only looks like one:
            no containers, quantities without an integer ``nanos``...), or has no
            container ``container``.

        Examples
        --------
        >>> from modelship.deploy import DeploymentSpec
        >>> from modelship.parity import ResourceRequest
        >>> spec = DeploymentSpec.from_dict({"deployment": {"containers": [
        ...     {"name": "model", "image": "churn:3",
        ...      "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "500m"}}}]}})
        >>> request = ResourceRequest.from_spec(spec)
        >>> request.memory, request.cpus, request.model_size
        (536870912, 0.5, None)
        >>> ResourceRequest.from_spec(spec, container="sidecar")
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: the deployment has no container 'sidecar'; it has ['model']
        """
        if not isinstance(spec, DeploymentSpecLike):
            raise ConfigError(
                f"from_spec needs a modelship.deploy.DeploymentSpec, got {type(spec).__name__}"
            )
        try:
            containers = _containers(spec.containers)
            names = [c.name for c in containers]
            if container is None:
                chosen = containers[0]
            elif container in names:
                chosen = containers[names.index(container)]
            else:
                raise ConfigError(f"the deployment has no container {container!r}; it has {names}")
            limits, requests = chosen.resources.limits, chosen.resources.requests
        except AttributeError as exc:  # a look-alike missing part of a spec
            raise ConfigError(
                f"from_spec needs a modelship.deploy.DeploymentSpec; the "
                f"{type(spec).__name__} given has no {exc.name or 'such'} attribute where a "
                "spec has one. Read the spec with DeploymentSpec.from_file(path)"
            ) from None
        for kind, amounts in (("limits", limits), ("requests", requests)):
            if not isinstance(amounts, Mapping):
                raise ConfigError(
                    f"the container's resources.{kind} is a {type(amounts).__name__}, not a "
                    "mapping of resource name to quantity; read the spec with "
                    "DeploymentSpec.from_file(path)"
                )
        memory = _nanos("memory", limits, requests)
        cpus = _nanos("cpu", limits, requests)
        return cls(
            memory=None if memory is None else _whole_bytes(memory),
            cpus=None if cpus is None else _finite_cpus(cpus),
            model_size=model_size,
        )


class _Quantity(Protocol):
    @property
    def nanos(self) -> int: ...


class _Resources(Protocol):
    @property
    def limits(self) -> Mapping[str, _Quantity]: ...

    @property
    def requests(self) -> Mapping[str, _Quantity]: ...


class _Container(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def resources(self) -> _Resources: ...


@runtime_checkable
class DeploymentSpecLike(Protocol):
    """What :meth:`ResourceRequest.from_spec` reads of a
    :class:`~modelship.deploy.DeploymentSpec` (the deployers import parity, so parity reads
    a spec by its public attributes rather than importing it).
    """

    @property
    def containers(self) -> Sequence[_Container]: ...


def _containers(value: object) -> Sequence[_Container]:
    """A spec's containers; a look-alike's that are not a non-empty list are refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            "from_spec needs a deployment with at least one container (deployment.containers "
            f"in the spec), got {type(value).__name__} {_shown(value)}"
        )
    return value


def _nanos(
    name: str, limits: Mapping[str, _Quantity], requests: Mapping[str, _Quantity]
) -> int | None:
    """The limit of resource ``name`` (else its request) in 10**-9 units; None if unset or 0."""
    quantity = limits.get(name, requests.get(name))
    if quantity is None:
        return None
    try:
        nanos = quantity.nanos
    except AttributeError:
        nanos = None
    if not isinstance(nanos, int) or isinstance(nanos, bool):
        raise ConfigError(
            f"the container's {name} is {_shown(quantity)}, not a Kubernetes quantity (an "
            "integer count of 10**-9 units); read the spec with DeploymentSpec.from_file(path)"
        )
    return nanos if nanos > 0 else None


def _whole_bytes(nanos: int) -> int:
    """A spec's memory in bytes; a spec holds whole bytes, a look-alike may not."""
    if nanos % _NANO:
        raise ConfigError(
            f"the container's memory is {Fraction(nanos, _NANO)} bytes, not a whole number "
            "of bytes; memory is counted in bytes"
        )
    return nanos // _NANO  # parse_memory refuses more than Kubernetes counts


def _finite_cpus(nanos: int) -> float:
    """A spec's CPUs as a float; a spec accepts ``cpu: 1e400``, which no float holds."""
    cpus = _float(Fraction(nanos, _NANO))
    if cpus is None:
        raise ConfigError(
            f"the container's cpu is {number_text(nanos // _NANO)} CPUs, too many to compare "
            "with a machine's; give the number of CPUs the model server needs"
        )
    return cpus
