"""The Kubernetes security context fields a deploy spec may set, checked before any write.

A container's ``securityContext`` and the pod's (``podSecurityContext`` in the spec) are
passed to the cluster as written, so a value the API server would refuse (``runAsUser:
"1000"``, quoted; ``seccompProfile: {type: runtimedefault}``; ``allowPrivilegeEscalation:
false`` beside ``privileged: true``) is refused here instead, when the spec is read, with
the field and what to write: not half-way through a rollout, after the first slot's
objects were written. The fields and their types are Kubernetes 1.36's
(``io.k8s.api.core.v1.SecurityContext`` and ``PodSecurityContext``), the newest schema the
rendered objects are validated against. A field this table does not know passes as
written (a newer Kubernetes may have it; the API server judges it) unless its name is a
near miss of one it knows (``runAsNonroot``), which is refused with the name meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Final

from modelship._shown import SHOWN, brief
from modelship.errors import ConfigError

__all__ = ["check_container_context", "check_pod_context"]

_BOOL: Final = "true or false"
_TEXT: Final = "text"
_ID: Final = "a whole number from 0 to 2147483647"
_MAX_ID = 2**31 - 1  # validation.IsValidUserID / IsValidGroupID

# A field's kind: one of the three above, a mapping of its own fields, or a one-element
# list holding its items' kind.
_Kind = Any

_PROFILE: Final[dict[str, _Kind]] = {"type": _TEXT, "localhostProfile": _TEXT}
_COMMON: Final[dict[str, _Kind]] = {
    "appArmorProfile": _PROFILE,
    "runAsGroup": _ID,
    "runAsNonRoot": _BOOL,
    "runAsUser": _ID,
    "seLinuxOptions": {"level": _TEXT, "role": _TEXT, "type": _TEXT, "user": _TEXT},
    "seccompProfile": _PROFILE,
    "windowsOptions": {
        "gmsaCredentialSpec": _TEXT,
        "gmsaCredentialSpecName": _TEXT,
        "hostProcess": _BOOL,
        "runAsUserName": _TEXT,
    },
}
CONTAINER_FIELDS: Final[dict[str, _Kind]] = {
    **_COMMON,
    "allowPrivilegeEscalation": _BOOL,
    "capabilities": {"add": [_TEXT], "drop": [_TEXT]},
    "privileged": _BOOL,
    "procMount": _TEXT,
    "readOnlyRootFilesystem": _BOOL,
}
"""A container ``securityContext``'s fields and their kinds (Kubernetes 1.36)."""

POD_FIELDS: Final[dict[str, _Kind]] = {
    **_COMMON,
    "fsGroup": _ID,
    "fsGroupChangePolicy": _TEXT,
    "seLinuxChangePolicy": _TEXT,
    "supplementalGroups": [_ID],
    "supplementalGroupsPolicy": _TEXT,
    "sysctls": [{"name": _TEXT, "value": _TEXT}],
}
"""A pod ``securityContext``'s fields and their kinds (Kubernetes 1.36)."""

# The fields whose text the API server takes from a fixed set (validation.go's
# supported values), by the field's name at any depth it has that meaning.
_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "seccompProfile.type": ("RuntimeDefault", "Unconfined", "Localhost"),
    "appArmorProfile.type": ("RuntimeDefault", "Unconfined", "Localhost"),
    "procMount": ("Default", "Unmasked"),
    "fsGroupChangePolicy": ("OnRootMismatch", "Always"),
    "supplementalGroupsPolicy": ("Merge", "Strict"),
    "seLinuxChangePolicy": ("MountOption", "Recursive"),
}


def check_container_context(context: Mapping[str, Any], where: str) -> None:
    """Refuse a container ``securityContext`` the API server would refuse (its fields'
    types, ids, supported values, a Localhost profile's name, and
    ``allowPrivilegeEscalation: false`` beside ``privileged: true`` or ``CAP_SYS_ADMIN``).

    Examples
    --------
    >>> check_container_context({"runAsUser": 10001, "readOnlyRootFilesystem": True}, "c")
    >>> check_container_context({"runAsUser": "10001"}, "securityContext")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: securityContext.runAsUser: '10001' is text; Kubernetes ...
    """
    _refuse_misplaced(context, POD_FIELDS, CONTAINER_FIELDS, where, _POD_PLACE)
    _check_fields(context, CONTAINER_FIELDS, where, "")
    if context.get("allowPrivilegeEscalation") is False:
        added = (context.get("capabilities") or {}).get("add") or []
        # The API server compares the text: "SYS_ADMIN" beside it passes (and is no
        # barrier either, but refusing it would only push users to drop the setting).
        admin = [a for a in added if a == "CAP_SYS_ADMIN"]
        if context.get("privileged") is True or admin:
            other = "privileged: true" if context.get("privileged") is True else admin[0]
            raise ConfigError(
                f"{where}: allowPrivilegeEscalation: false beside {other}: a privileged "
                "container, or one with CAP_SYS_ADMIN, can always gain privileges, and the "
                "Kubernetes API server refuses the pair; remove one of the "
                "two (the adapter leaves allowPrivilegeEscalation out beside them)"
            )


def check_pod_context(context: Mapping[str, Any], where: str) -> None:
    """Refuse a pod ``securityContext`` the API server would refuse (its fields' types,
    ids, supported values and a Localhost profile's name).

    Examples
    --------
    >>> check_pod_context({"fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}}, "p")
    >>> check_pod_context({"seccompProfile": {"type": "runtimedefault"}}, "podSecurityContext")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: podSecurityContext.seccompProfile.type: 'runtimedefault' ...
    """
    _refuse_misplaced(context, CONTAINER_FIELDS, POD_FIELDS, where, _CONTAINER_PLACE)
    _check_fields(context, POD_FIELDS, where, "")


_POD_PLACE = "the pod's security context (deployment.podSecurityContext)"
_CONTAINER_PLACE = "a container's security context (deployment.containers[].securityContext)"


def _refuse_misplaced(
    context: Mapping[str, Any],
    theirs: Mapping[str, _Kind],
    ours: Mapping[str, _Kind],
    where: str,
    place: str,
) -> None:
    """Refuse a field of the other security context: the API server would drop it with a
    warning (its default field validation), so what it asks for would silently not hold."""
    for key in context:
        if key in theirs and key not in ours:
            raise ConfigError(
                f"{where}.{key}: a field of {place}, not of this one; move it there "
                "(Kubernetes would drop it here with a warning, and it would not apply)"
            )


def _check_fields(
    context: Mapping[str, Any], fields: Mapping[str, _Kind], where: str, at: str
) -> None:
    for key, value in context.items():
        # A key is shown cut to SHOWN characters (a key may be a megabyte of text).
        name = key if len(key) <= SHOWN else key[: SHOWN - 3] + "..."
        path = f"{at}.{name}" if at else name
        shown = f"{where}.{path}"
        kind = fields.get(key)
        if kind is None:
            near = _near(key, fields)
            if near is not None:
                raise ConfigError(
                    f"{shown}: Kubernetes has no field {key!r} here; did you mean {near!r}? "
                    f"(the fields are {', '.join(sorted(fields))})"
                )
            continue  # a newer Kubernetes's field: the API server judges it
        if value is None:
            continue  # null: unset, as the API server reads it
        _check_value(value, kind, where, path)
    if at.endswith(("seccompProfile", "appArmorProfile")):
        _check_profile(context, f"{where}.{at}")


def _check_value(value: Any, kind: _Kind, where: str, path: str) -> None:
    shown = f"{where}.{path}"
    if isinstance(kind, dict):
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"{shown}: {brief(value)} is not a mapping; Kubernetes wants the fields "
                f"{', '.join(sorted(kind))} here"
            )
        _check_fields(value, kind, where, path)
        return
    if isinstance(kind, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{shown}: {brief(value)} is not a list; write [ ... ]")
        for i, item in enumerate(value):
            _check_value(item, kind[0], where, f"{path}[{i}]")
        return
    if kind == _BOOL and not isinstance(value, bool):
        quoted = " (unquoted)" if isinstance(value, str) else ""
        raise ConfigError(
            f"{shown}: {brief(value)} is not true or false; write true or false{quoted}"
        )
    if kind == _TEXT and not isinstance(value, str):
        raise ConfigError(f"{shown}: {brief(value)} is not text; quote it")
    if kind == _ID:
        if isinstance(value, str):
            raise ConfigError(
                f"{shown}: {brief(value)} is text; Kubernetes wants {_ID} (write it without quotes)"
            )
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
            raise ConfigError(f"{shown}: {brief(value)} is not {_ID}, as Kubernetes requires")
    choices = _CHOICES.get(path)
    if choices is not None and value not in choices:
        same_case = [c for c in choices if c.lower() == str(value).lower()]
        hint = f"; did you mean {same_case[0]!r}?" if same_case else ""
        raise ConfigError(
            f"{shown}: {brief(value)} is not one of {', '.join(choices)}{hint} (Kubernetes "
            "takes these values only, spelled so)"
        )


def _check_profile(profile: Mapping[str, Any], shown: str) -> None:
    """A profile names its type; a Localhost profile names its file, and no other type may
    name one, even as ``""`` (validateSeccompProfileField, validateAppArmorProfileField):
    a seccomp profile's file a relative path without ``..`` (validateLocalDescendingPath),
    an AppArmor profile's name not blank."""
    kind = profile.get("type")
    if kind is None:
        raise ConfigError(
            f"{shown}: type is required (RuntimeDefault, Unconfined or Localhost); give it, "
            "or leave the profile out"
        )
    given = profile.get("localhostProfile")  # None: unset; "" is set, as Kubernetes reads it
    if kind != "Localhost":
        if given is not None:
            raise ConfigError(
                f"{shown}: localhostProfile is given for type {brief(kind)}; it can only "
                "be set with type Localhost (remove it)"
            )
        return
    seccomp = shown.endswith("seccompProfile")
    if given is None or (not seccomp and not given.strip()):
        raise ConfigError(
            f"{shown}: type Localhost needs localhostProfile (the profile's "
            f"{'file' if seccomp else 'name'} on the node); give it, or use type RuntimeDefault"
        )
    if seccomp and (given.startswith("/") or ".." in given.split("/")):
        raise ConfigError(
            f"{shown}.localhostProfile: {brief(given)} must be a relative path under the "
            "kubelet's seccomp folder, without '..' (Kubernetes refuses it otherwise)"
        )


def _near(key: str, fields: Mapping[str, _Kind]) -> str | None:
    """The field ``key`` was likely meant to be: the same letters in another case, or a
    near miss (a letter or two off); None for a name too far from every field."""
    for name in fields:
        if name.lower() == key.lower():
            return name
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.85)
    return close[0] if close else None
