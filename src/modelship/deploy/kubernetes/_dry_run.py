"""``modelship deploy apply --dry-run``: the manifests a deployment would apply, as YAML.

What is printed is redacted (CI logs keep it): the value of every environment variable
whose name or value looks like a credential (:func:`modelship.parity.is_secret`: ``*_TOKEN``,
``*_KEY``, ``*PASSWORD*``, a URL with a password ...) is ``<redacted>``, and so is the
user information of any ``scheme://user:password@host`` URL (the registry URL in the
pods' args; see :func:`modelship._shown.hide_credentials`). A container's ``command`` and
``args`` are read by the same rule: the value after a flag that names a credential
(``--db-password hunter2``, ``Bearer TOKEN``), the value of ``--api-key=...`` and any
argument that is itself a credential (``Authorization: Bearer ...``) are ``<redacted>``;
so is every mysql glued password (``-pHunter2``) on a command line with a user flag giving
a user anywhere on it (``-u root -h db -pHunter2``). kubectl's
``kubectl.kubernetes.io/last-applied-configuration`` annotation (a JSON copy of a live
object, env values included; seen in a server-side dry-run) is left out, replaced by a
short note; another annotation holding JSON is masked as the objects are.

Masking is done value by value on the objects before they are written as YAML, so the
text printed parses, and reads back as what is applied but for the masked values.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from modelship._shown import hide_credentials
from modelship.deploy.kubernetes._deployer import KubernetesDeployer, serving_objects
from modelship.deploy.kubernetes._redact import MASK, redact
from modelship.deploy.kubernetes._render import render, to_yaml
from modelship.errors import ConfigError
from modelship.parity import is_secret
from modelship.parity._secrets import glued_password, user_given

if TYPE_CHECKING:
    from modelship.deploy._spec import DeploymentSpec

__all__ = ["dry_run"]


def dry_run(  # noqa: PLR0913 - public helper mirroring deploy()'s model, version, spec and slot plus deployer options
    model: str,
    version: str,
    spec: DeploymentSpec | None = None,
    *,
    slot: str = "blue",
    deployer: KubernetesDeployer | None = None,
    server_side: bool = False,
    **options: Any,
) -> str:
    """YAML of what deploying ``version`` into ``slot`` applies; nothing is changed.

    Without ``deployer``: :func:`render` with ``options`` (no cluster needed). With one:
    its own layout (``options`` are then refused: the deployer's own settings apply); and
    with ``server_side``, the objects as the API server would store them after admission
    and defaulting (``dryRun=All``), refused where :meth:`KubernetesDeployer.apply` would
    refuse them. Each way shows the same objects: the slot's, then the app Service (or
    HTTPRoute) as it is once traffic moved to ``slot``.

    Credentials are masked in what is returned (see the module doc), so the text is for
    reading: what is applied carries the real values.

    Raises
    ------
    ConfigError
        ``server_side`` without a deployer, ``options`` with one, or a ``deployer`` that
        is not a :class:`KubernetesDeployer` (only its layout can be shown); with
        ``server_side``, anything :meth:`KubernetesDeployer.apply` refuses (another app's
        object of a name to write, a third slot).
    SlotInUse
        ``server_side`` into a slot with traffic, as apply would refuse it.

    Examples
    --------
    >>> text = dry_run("fraud", "2", image="ai-model:2", registry_url="s3://m", app="fraud")
    >>> text.count("---"), "kind: Deployment" in text
    (2, True)
    >>> "hunter2" in dry_run("fraud", "2", image="ai-model:2", app="fraud",
    ...                      registry_url="https://ci:hunter2@models.example/reg")
    False
    """
    if deployer is None:
        if server_side:
            raise ConfigError("server_side=True needs deployer=KubernetesDeployer(...)")
        return _printable(render(model, version, spec, slot, **options))
    if not isinstance(deployer, KubernetesDeployer):
        raise ConfigError(
            f"deployer must be a KubernetesDeployer (dry_run() shows the manifests it would "
            f"apply), got {type(deployer).__name__}; leave "
            "out deployer= to render with options instead"
        )
    if options:
        raise ConfigError(
            f"dry_run() got deployer= and also {sorted(options)}, which would be ignored: the "
            "deployer's own settings apply; pass them to KubernetesDeployer(...) instead, or "
            "leave out deployer= to render with them"
        )
    if server_side:
        return _printable(deployer.server_dry_run(model, version, spec, slot))
    slot_objects = deployer.render(model, version, spec, slot)
    return _printable(serving_objects(slot_objects, deployer.options, slot))


# kubectl's copy of the whole object as last applied (JSON): it holds every env value,
# so it is left out of the printout rather than masked field by field.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LEFT_OUT = "<left out: kubectl's JSON copy of the object, which can hold credentials>"


def _printable(objects: list[dict[str, Any]]) -> str:
    """The objects as YAML with credentials masked: env values that look like secrets,
    the credentials in containers' command and args, kubectl's last-applied copy left
    out, annotations holding JSON masked alike, then anything :func:`redact` catches
    (URL passwords, tokens) in each string value.

    Masking is done on the objects, one value at a time, before they are dumped: a
    pattern run over the dumped text could reach across lines into the next key.
    """
    shown = copy.deepcopy(objects)
    _mask_tree(shown)
    return to_yaml(_redacted(shown))


def _mask_tree(node: Any) -> None:
    """Mask, in place, every pod's containers and every annotation anywhere in ``node``."""
    if isinstance(node, list):
        for item in node:
            _mask_tree(item)
        return
    if not isinstance(node, dict):
        return
    for key in ("initContainers", "containers"):
        for container in node.get(key) or []:
            if isinstance(container, dict):
                _mask_container(container)
    annotations = node.get("annotations")
    if isinstance(annotations, dict):
        for name, value in annotations.items():
            if isinstance(value, str):
                annotations[name] = _shown_annotation(name, value)
                # Another tool's annotation named as a credential (a Vault injector's
                # token, a CI tool's password) is masked whole, as an env value would be:
                # its value alone, redacted below, does not look like one.
                if annotations[name] == value and is_secret(str(name), value):
                    annotations[name] = MASK
    for value in node.values():
        _mask_tree(value)


def _mask_container(container: dict[str, Any]) -> None:
    """Mask ``container``'s secret-looking env values and command-line credentials."""
    for env in container.get("env") or []:
        if not isinstance(env, dict):
            continue
        value = env.get("value")
        if isinstance(value, str) and is_secret(str(env.get("name", "")), value):
            env["value"] = MASK
    _mask_command_line(container)


def _shown_annotation(name: str, value: str) -> str:
    """An annotation as shown: kubectl's last-applied copy left out; one holding a JSON
    object or list masked as the objects are (``{"api_key": ...}`` too), and written
    back only if anything was masked, so that an unchanged one is shown as it is."""
    if name == LAST_APPLIED:
        return LEFT_OUT
    if not value.lstrip().startswith(("{", "[")):
        return value
    try:
        parsed = json.loads(value)
        masked = copy.deepcopy(parsed)
        _mask_tree(masked)
        masked = _masked_settings(masked)
    except (ValueError, RecursionError):
        # Not JSON, or nested beyond Python's recursion (an annotation may hold 256 KiB of
        # brackets): its text is redacted like any other string.
        return value
    return value if masked == parsed else json.dumps(masked)


def _masked_settings(node: Any) -> Any:
    """``node`` (parsed JSON) with every string whose key names a credential masked."""
    if isinstance(node, list):
        return [_masked_settings(item) for item in node]
    if isinstance(node, dict):
        return {
            key: MASK
            if isinstance(value, str) and isinstance(key, str) and is_secret(key, value)
            else _masked_settings(value)
            for key, value in node.items()
        }
    return node


def _redacted(node: Any) -> Any:
    """``node`` with :func:`redact` applied to each string value, one at a time."""
    if isinstance(node, list):
        return [_redacted(item) for item in node]
    if isinstance(node, dict):
        return {key: _redacted(value) for key, value in node.items()}
    return redact(node) if isinstance(node, str) else node


# A value standing in for a flag's own one: is_secret() then says whether the flag (or
# the key before "=") names a credential, whatever the value given.
_VALUE = "x" * 8
# Marks where a URL's user information was, so it can be cut out (not masked) and the
# rest of an argument judged alone: a private-use character, in no argument.
_CUT = "\ue000"


def _mask_command_line(container: dict[str, Any]) -> None:
    """Mask the credentials in ``container``'s ``command`` and ``args``, in place.

    The two are read as one command line (Kubernetes runs ``args`` after ``command``), so
    a flag ending ``command`` masks the first of ``args``. The rule is
    :func:`modelship.parity.is_secret`'s, which errs on the side of masking
    (``--max-tokens 512`` is masked too).
    """
    command, args = container.get("command"), container.get("args")
    parts = [part if isinstance(part, list) else [] for part in (command, args)]
    line: list[Any] = [*parts[0], *parts[1]]
    if not line:
        return
    masked = [_shown_arg(arg) if isinstance(arg, str) else arg for arg in line]
    for index in range(1, len(line)):
        before, arg = line[index - 1], line[index]
        if not (isinstance(before, str) and isinstance(arg, str)):
            continue
        if _names_credential(before, arg):
            masked[index] = MASK
        elif _secret_together(before, arg):
            # Only the two together say which is a credential (curl's ``-u``
            # ``admin:hunter2``; mysql's ``-uroot`` ``-pHunter2``): both are masked.
            masked[index - 1] = masked[index] = MASK
        elif index >= 2 and _secret_after_pair(line[index - 2], before, arg):
            masked[index] = MASK  # mysql's ``-u`` ``root`` ``-pHunter2``
    # mysql's glued ``-pPASSWORD`` is one wherever it stands, with a user flag giving a
    # user anywhere on the line (``-u root -h db -pHunter2``, ``-pHunter2 -h db -uroot``).
    # A single-dash long flag before its value is not one (``-profile prod``, ``-port 8080``).
    if user_given(" ".join(arg for arg in line if isinstance(arg, str))):
        for index, arg in enumerate(line):
            following = line[index + 1] if index + 1 < len(line) else ""
            if isinstance(arg, str) and glued_password(
                arg, following if isinstance(following, str) else ""
            ):
                masked[index] = MASK
    if isinstance(command, list):
        container["command"] = masked[: len(command)]
    if isinstance(args, list):
        container["args"] = masked[len(parts[0]) :]


def _names_credential(before: str, arg: str) -> bool:
    """Whether ``before`` ends with a flag, header or scheme naming a credential that
    ``arg`` is the value of (``--db-password`` ``hunter2``; ``Authorization: Bearer``
    ``TOKEN``)."""
    words = before.split()
    last = words[-1] if words else ""
    return (
        bool(last)
        and not is_secret("", last)
        and is_secret("", f"{last} {_VALUE}")
        and is_secret("", f"{last} {arg}")
    )


def _secret_together(before: str, arg: str) -> bool:
    """Whether two neighbouring arguments hold a credential only as a pair: neither is
    one alone, the pair is (``-u admin:hunter2``, ``-uroot -pHunter2``)."""
    return is_secret("", f"{before} {arg}") and not is_secret("", before) and not is_secret("", arg)


def _secret_after_pair(first: Any, second: str, arg: str) -> bool:
    """Whether ``arg`` is a credential only after the two arguments before it (a user
    flag and its value, then a glued ``-p`` password): the three are one, no two are."""
    return (
        isinstance(first, str)
        and is_secret("", f"{first} {second} {arg}")
        and not is_secret("", f"{first} {second}")
        and not _secret_together(second, arg)
        and not is_secret("", arg)
    )


def _shown_arg(arg: str) -> str:
    """One argument as shown: a URL's user information masked; the value of a
    ``--key=value`` or ``key=value`` whose key names a credential masked; the whole
    argument masked when anything else in it is a credential."""
    rest = _without_user_info(arg)
    key, equals, value = arg.partition("=")
    # The value of --flag=value is judged alone too, as it would be given apart
    # (--header=X-API-Key: ..., --config={"api_key": ...}).
    value_secret = bool(equals) and is_secret("", _without_user_info(value))
    if not is_secret("", rest) and not value_secret:
        return hide_credentials(arg, MASK)
    if equals and not is_secret("", key) and (value_secret or is_secret("", f"{key}={_VALUE}")):
        return f"{key}={MASK}"
    return MASK


def _without_user_info(text: str) -> str:
    """``text`` with every URL's user information cut out, to judge the rest alone."""
    return hide_credentials(text, _CUT).replace(_CUT + "@", "")
