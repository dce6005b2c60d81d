"""Reading ``name==version`` pins from a pip requirements file, without ``packaging``.

Invariant: a line is either read exactly as pip would install it, or refused with its line
number; nothing is guessed. Read: comments (``#`` at the start or after a space), lines
continued with a backslash, extras (``name[extra]==1.0``), ``==`` and ``===`` pins, per-line
``--hash`` options (``pip-compile --generate-hashes``), and PEP 508 environment markers
(``; python_version < "3.12"``), evaluated against the production environment: a pin whose
marker is false does not apply there and is left out. Refused: any other specifier
(``>=``, ``==1.*``), URLs, options (``-r``, ``-e``...), and a marker this reader cannot
evaluate (an unknown variable, an ordering of values that are not version numbers).
"""

from __future__ import annotations

import os
import platform
import re
import reprlib
import sys
from collections.abc import Mapping

from modelship.errors import ConfigError
from modelship.parity._installed import normalize_name
from modelship.parity._snapshot import EnvironmentSnapshot

__all__ = ["marker_environment", "read_pins"]

_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH = re.compile(r"\s--hash(?:=|\s+)\S+")
_PIN = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*"
    r"(?:\[\s*[A-Za-z0-9._-]+(?:\s*,\s*[A-Za-z0-9._-]+)*\s*\])?\s*"
    r"(?P<op>===|==)\s*(?P<version>[^\s;,*]+)"
)
_TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|(?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)"
    r"|(?P<logic>and\b|or\b)|(?P<string>'[^']*'|\"[^\"]*\")|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_VERSION_VARIABLES = frozenset(
    {"python_version", "python_full_version", "implementation_version", "platform_release"}
)
_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def marker_environment(snapshot: EnvironmentSnapshot | None = None) -> dict[str, str]:
    """The PEP 508 marker variables of ``snapshot``'s environment, or of this interpreter."""
    if snapshot is None:
        return {
            "os_name": os.name,
            "sys_platform": sys.platform,
            "platform_machine": platform.machine(),
            "platform_python_implementation": platform.python_implementation(),
            "platform_release": platform.release(),
            "platform_system": platform.system(),
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "python_full_version": platform.python_version(),
            "implementation_name": sys.implementation.name,
            "extra": "",
        }
    system = snapshot.os
    return {
        "os_name": "nt" if system == "Windows" else "posix",
        "sys_platform": {"Windows": "win32"}.get(system, system.lower()),
        "platform_machine": snapshot.machine,
        "platform_python_implementation": snapshot.python_implementation,
        "platform_release": snapshot.os_release,
        "platform_system": system,
        "python_version": snapshot.python_minor,
        "python_full_version": snapshot.python_version,
        "implementation_name": snapshot.python_implementation.lower(),
        "extra": "",
    }


def read_pins(text: str, where: str, environment: Mapping[str, str]) -> dict[str, str]:
    """The pins of a requirements file's ``text`` that apply in ``environment``.

    ``where`` names the file in errors (``"req.txt"``); each error adds the line number.

    Raises
    ------
    ConfigError
        When a line is not a pin this reader reads exactly (see the module docstring), or
        two lines pin one distribution to different versions.
    """
    pins: dict[str, tuple[str, int]] = {}
    for number, line in _logical_lines(text):
        try:
            pin = _pin(line, environment)
        except ConfigError as exc:
            raise ConfigError(f"{where}, line {number}: {exc}") from None
        if pin is None:
            continue
        name, version = pin
        earlier = pins.setdefault(normalize_name(name), (version, number))
        if earlier[0] != version:
            raise ConfigError(
                f"{where}, line {number}: {name} is pinned to {version!r} here and to "
                f"{earlier[0]!r} on line {earlier[1]}; keep one pin"
            )
    return {name: version for name, (version, _) in pins.items()}


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines without comments, joined where a line ends with a backslash, numbered by
    where each starts; blank ones left out."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw)
        start, before = pending if pending is not None else (number, "")
        if line.endswith("\\"):
            pending = (start, before + line[:-1] + " ")
            continue
        pending = None
        joined = (before + line).strip()
        if joined:
            lines.append((start, joined))
    if pending is not None and pending[1].strip():
        lines.append((pending[0], pending[1].strip()))
    return lines


def _pin(line: str, environment: Mapping[str, str]) -> tuple[str, str] | None:
    if line.startswith("-"):
        raise ConfigError(
            f"{reprlib.repr(line)} is an option, not a name==version pin: list the pins "
            "themselves (pip freeze or pip-compile output)"
        )
    requirement, _, marker = line.partition(";")
    requirement = _HASH.sub(" ", f" {requirement}").strip()
    match = _PIN.fullmatch(requirement)
    if match is None:
        raise ConfigError(
            f"{reprlib.repr(line)} is not a name==version pin (an exact version, with "
            "optional [extras], --hash options and ; marker)"
        )
    if marker.strip() and not _Marker(marker, environment).evaluate():
        return None  # the pin is for another environment
    return match["name"], match["version"]


class _Marker:
    """A PEP 508 marker, evaluated by recursive descent over its tokens."""

    def __init__(self, text: str, environment: Mapping[str, str]) -> None:
        self.text = text.strip()
        self.environment = environment
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise self._unreadable()
            kind = next(k for k, v in match.groupdict().items() if v is not None)
            self.tokens.append((kind, " ".join(match[kind].split())))
            position = match.end()
        self.at = 0

    def _unreadable(self, why: str = "") -> ConfigError:
        return ConfigError(
            f"cannot evaluate the marker {reprlib.repr(self.text)}{why}; write the pin "
            "without it, or a marker of the PEP 508 variables compared with quoted values"
        )

    def _next(self, kind: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens) or (kind and self.tokens[self.at][0] != kind):
            raise self._unreadable()
        self.at += 1
        return self.tokens[self.at - 1]

    def _peek(self, value: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at][1] == value

    def evaluate(self) -> bool:
        result = self._or()
        if self.at != len(self.tokens):
            raise self._unreadable()
        return result

    def _or(self) -> bool:
        result = self._and()
        while self._peek("or"):
            self.at += 1
            result = self._and() or result
        return result

    def _and(self) -> bool:
        result = self._atom()
        while self._peek("and"):
            self.at += 1
            result = self._atom() and result
        return result

    def _atom(self) -> bool:
        if self._peek("("):
            self.at += 1
            result = self._or()
            if self._next("paren")[1] != ")":
                raise self._unreadable()
            return result
        left, variable_l = self._value()
        op = self._next("op")[1]
        right, variable_r = self._value()
        return self._compare(left, op, right, variable_l or variable_r)

    def _value(self) -> tuple[str, str | None]:
        kind, token = self._next()
        if kind == "string":
            return token[1:-1], None
        if kind == "name" and token in self.environment:
            return self.environment[token], token
        raise self._unreadable(f": {token!r} is not a marker variable this reader knows")

    def _compare(self, left: str, op: str, right: str, variable: str | None) -> bool:
        if op == "in":
            return left in right
        if op == "not in":
            return left not in right
        if op == "===":
            return left == right
        if (
            variable in _VERSION_VARIABLES
            and _RELEASE.fullmatch(left)
            and _RELEASE.fullmatch(right)
        ):
            return _compare_releases(left, op, right)
        if op in ("==", "!="):
            return (left == right) == (op == "==")
        raise self._unreadable(f": {left!r} {op} {right!r} compares values that are not versions")


def _compare_releases(left: str, op: str, right: str) -> bool:
    a = [int(part) for part in left.split(".")]
    b = [int(part) for part in right.split(".")]
    if op == "~=":  # compatible release: >= right, and the same but for its last part
        return len(b) > 1 and a[: len(b) - 1] == b[:-1] and _compare_releases(left, ">=", right)
    width = max(len(a), len(b))
    a, b = a + [0] * (width - len(a)), b + [0] * (width - len(b))
    return {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]
