"""Reading ``name==version`` pins from a pip requirements file, without ``packaging``.

Invariant: a line is either read exactly as pip would install it, or refused with its line
number; nothing is guessed. Lines are read in pip's order (its ``preprocess``): a leading
UTF-8 byte order mark is dropped, lines ending in a backslash are joined (unless the line
is a comment), then comments (``#`` at the start or after whitespace) are removed, so a
comment ending in a backslash swallows the next line as it does in pip. A line is split
where pip splits it, at the first space-separated word starting with ``-``: before it
the requirement and its ``; marker``, after it ``--hash`` options (as ``pip-compile
--generate-hashes`` writes them, also on continued lines); words after the options that
are not options (a marker written after ``--hash``) are ignored, as pip ignores them.
Read: extras (``name[extra]==1.0``), ``==`` and ``===`` pins, and PEP 508 environment
markers (``; python_version < "3.12"``), evaluated against the production environment
as ``packaging`` evaluates them (PEP 440 comparison, ``==3.*`` wildcards included, for
the version-valued variables): a pin whose marker is false does not apply there and is
left out. Refused: any other specifier (``>=``, ``==1.*``), URLs, options other than
``--hash`` (``-r``, ``-e``...), ``${VARIABLE}`` references, and a marker this reader
cannot evaluate (an unknown variable, an ordering of values that are not versions,
``===`` of a variable that is not version-valued, which packaging refuses, a
comparison that is not a PEP 440 specifier where one is needed, such as ``~= "3"``,
parentheses nested more than :data:`MAX_MARKER_NESTING` deep). ``extra`` is compared
as PEP 685 normalises names, with ``in`` too.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
from collections.abc import Mapping

from modelship.errors import ConfigError
from modelship.parity._installed import normalize_name, shown
from modelship.parity._json import is_unicode_text
from modelship.parity._pep440 import Version, parse_version, same_version, specifier_contains
from modelship.parity._snapshot import EnvironmentSnapshot

__all__ = [
    "MAX_MARKER_NESTING",
    "MAX_MARKER_TEXT",
    "NAME_PATTERN",
    "evaluate_marker",
    "marker_environment",
    "marker_problem",
    "marker_without_extra",
    "read_pins",
    "split_marker",
]

NAME_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
"""A PEP 508 distribution or extra name, as the text of a regular expression: letters and
digits, with ``.``, ``-`` or ``_`` only between them.

Examples
--------
>>> import re
>>> from modelship.parity._pins import NAME_PATTERN
>>> bool(re.fullmatch(NAME_PATTERN, "scikit-learn")), bool(re.fullmatch(NAME_PATTERN, "-x"))
(True, False)
"""

_ENV_VARIABLE = re.compile(r"\$\{[A-Z0-9_]+\}")  # what pip replaces (its ENV_VAR_RE)
_PIN = re.compile(
    rf"(?P<name>{NAME_PATTERN})\s*"
    rf"(?:\[\s*{NAME_PATTERN}(?:\s*,\s*{NAME_PATTERN})*\s*\])?\s*"
    r"(?P<op>===|==)\s*(?P<version>\S+)"
)
# The start of a URL requirement (PEP 508's url_req): name, [extras], then "@".
_URL_REQUIREMENT = re.compile(rf"\s*{NAME_PATTERN}\s*(?:\[[^\]]*\])?\s*@")
_SPACE_SEMICOLON = re.compile(r"\s;")


def split_marker(requirement: str) -> tuple[str, str | None]:
    """A PEP 508 ``requirement`` split at the ``;`` that starts its marker: the text before
    it, and the marker (``None`` when it has none; ``""`` after a bare ``;``).

    As PEP 508's grammar reads it: a version cannot hold a ``;``, so the first one starts
    the marker (a marker's quoted values may hold more: ``os_name != "a;b"``); a URL may
    hold one (``name @ https://h/p;v=1``), so after ``@`` only a ``;`` set off by
    whitespace after the URL starts the marker.

    Examples
    --------
    >>> from modelship.parity._pins import split_marker
    >>> split_marker('tomli>=1.1; python_version < "3.11"')
    ('tomli>=1.1', ' python_version < "3.11"')
    >>> split_marker('acme @ https://h.example/p;v=1/a.whl ; os_name == "nt"')
    ('acme @ https://h.example/p;v=1/a.whl', ' os_name == "nt"')
    >>> split_marker("acme @ https://h.example/p;v=1/a.whl")
    ('acme @ https://h.example/p;v=1/a.whl', None)
    """
    url = _URL_REQUIREMENT.match(requirement)
    if url is not None:
        semicolon = _SPACE_SEMICOLON.search(requirement, url.end())
        if semicolon is None:
            return requirement, None
        return requirement[: semicolon.start()], requirement[semicolon.end() :]
    head, semicolon_found, tail = requirement.partition(";")
    return (head, tail) if semicolon_found else (requirement, None)


# What packaging reads after === (any text but whitespace, ";", "," and ")").
_ARBITRARY_VERSION = re.compile(r"[^\s;,)]+")
_TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|(?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)"
    r"|(?P<logic>and\b|or\b)|(?P<string>'[^']*'|\"[^\"]*\")|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_VERSION_VARIABLES = frozenset(
    {"python_version", "python_full_version", "implementation_version", "platform_release"}
)
_SPACE_TO_END = re.compile(r"\s*\Z")
_ARBITRARY = re.compile(r"\s*[^\s;)]+\s*")  # what may follow === (PEP 440): not empty


def _full_version(major: int, minor: int, micro: int, releaselevel: str, serial: int) -> str:
    """A version as PEP 508's ``implementation_version`` writes it (``3.13.0c1``)."""
    version = f"{major}.{minor}.{micro}"
    return version if releaselevel == "final" else f"{version}{releaselevel[0]}{serial}"


# What platform.python_version() writes: "3.11.7", "3.13.0rc1", "3.12.0a7+" (a build
# after that tag, whose implementation version is the tag's).
_CPYTHON_VERSION = re.compile(
    r"(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<micro>[0-9]+)"
    r"(?:(?P<level>a|b|rc)(?P<serial>[0-9]+))?\+?"
)
_LEVELS = {"a": "alpha", "b": "beta", "rc": "candidate", None: "final"}


def _implementation_version(snapshot: EnvironmentSnapshot) -> dict[str, str]:
    """``implementation_version`` of ``snapshot``'s interpreter, where it can be known:
    CPython's is its Python version; another implementation's is its own, which a
    snapshot does not record (a marker naming it is then refused)."""
    match = _CPYTHON_VERSION.fullmatch(snapshot.python_version)
    if snapshot.python_implementation != "CPython" or match is None:
        return {}
    version = _full_version(
        int(match["major"]),
        int(match["minor"]),
        int(match["micro"]),
        _LEVELS[match["level"]],
        int(match["serial"] or 0),
    )
    return {"implementation_version": version}


def marker_environment(snapshot: EnvironmentSnapshot | None = None) -> dict[str, str]:
    """The PEP 508 marker variables of ``snapshot``'s environment, or of this interpreter.

    ``implementation_version`` is known for this interpreter, and for a snapshot of
    CPython (its Python version); for a snapshot of another implementation it is left out,
    and a marker naming it cannot be evaluated.

    Examples
    --------
    >>> from modelship.parity import EnvironmentSnapshot
    >>> from modelship.parity._pins import marker_environment
    >>> snap = EnvironmentSnapshot(python_version="3.13.0rc1", python_implementation="CPython",
    ...                            os="Linux", machine="x86_64")
    >>> marker_environment(snap)["implementation_version"]
    '3.13.0c1'
    """
    if snapshot is None:
        info = sys.implementation.version
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
            "implementation_version": _full_version(
                info.major, info.minor, info.micro, info.releaselevel, info.serial
            ),
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
        **_implementation_version(snapshot),
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
        if not same_version(earlier[0], version):  # 2.4.6 and 2.4.6.0 are one version
            raise ConfigError(
                f"{where}, line {number}: {name} is pinned to {shown(version)} here and to "
                f"{shown(earlier[0])} on line {earlier[1]}; keep one pin"
            )
    return {name: version for name, (version, _) in pins.items()}


def _comment_start(line: str) -> int | None:
    """Where the comment of ``line`` starts (a ``#`` at the start or after whitespace,
    pip's ``(^|\\s+)#``), or None; in linear time, where that regex takes quadratic."""
    at = line.find("#")
    while at != -1:
        if at == 0 or line[at - 1].isspace():
            return at
        at = line.find("#", at + 1)
    return None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """The lines pip reads from ``text``, numbered by where each starts: as pip's
    ``preprocess`` does, lines ending in a backslash are joined first (unless the line is
    only a comment), then comments are removed; blank lines are left out."""
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark, as pip's decoding drops it
        text = text[1:]
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        comment_only = line.lstrip().startswith("#")
        if line.endswith("\\") and not comment_only:
            if not pending:
                start = number
            pending.append(line.strip("\\"))
            continue
        # a comment line gets a space first, so that its comment is removed once joined
        whole = " " + line if comment_only else line
        if pending:
            joined.append((start, "".join([*pending, whole])))
            pending = []
        else:
            joined.append((number, whole))
    if pending:
        joined.append((start, "".join(pending)))
    lines = []
    for number, line in joined:
        cut = _comment_start(line)
        kept = (line if cut is None else line[:cut]).strip()
        if kept:
            lines.append((number, kept))
    return lines


def _split_options(line: str) -> tuple[str, list[str]]:
    """The requirement and the options of a line, split where pip splits them: at the
    first space-separated token starting with ``-`` (so a marker before the options is
    part of the requirement, and text after them is not)."""
    tokens = line.split(" ")
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            options = " ".join(tokens[index:])
            try:
                return " ".join(tokens[:index]), shlex.split(options)
            except ValueError:
                raise ConfigError(
                    f"cannot split the options {shown(options)} (an unclosed quote?)"
                ) from None
    return line, []


def _check_options(line: str, options: list[str]) -> None:
    """Refuse any option but ``--hash``; pip ignores words that are not options."""
    at = 0
    while at < len(options):
        option = options[at]
        if option.startswith("--hash="):
            at += 1
        elif option == "--hash" and at + 1 < len(options):
            at += 2
        elif option.startswith("-"):
            raise ConfigError(
                f"{shown(line)} has the option {shown(option)}; only --hash "
                "options are read with a name==version pin"
            )
        else:
            at += 1  # pip's option parser leaves it, and pip ignores it (even a marker)


def _pin(line: str, environment: Mapping[str, str]) -> tuple[str, str] | None:
    if line.startswith("-"):
        raise ConfigError(
            f"{shown(line)} is an option, not a name==version pin: list the pins "
            "themselves (pip freeze or pip-compile output)"
        )
    if _ENV_VARIABLE.search(line):
        raise ConfigError(
            f"{shown(line)} names an environment variable (${{NAME}}), which pip "
            "replaces when it installs; write the pin with its value"
        )
    requirement_text, options = _split_options(line)
    _check_options(line, options)
    requirement, marker = split_marker(requirement_text)
    match = _PIN.fullmatch(requirement.strip())
    if match is None:
        raise ConfigError(
            f"{shown(line)} is not a name==version pin (an exact version, with "
            "optional [extras], ; marker and --hash options)"
        )
    _check_version(line, match["op"], match["version"])
    # A ';' with nothing after it is no marker, as pip reads it (parse_req_from_line).
    if marker is not None and marker.strip() and not evaluate_marker(marker, environment):
        return None  # the pin is for another environment
    return match["name"], match["version"]


def _check_version(line: str, op: str, version: str) -> None:
    """Refuse a pin's version pip refuses: after ``==`` a PEP 440 version (a ``.*``
    prefix, which pip reads, is not one version, and is refused too); after ``===`` any
    text packaging reads as one."""
    if op == "===":
        if not _ARBITRARY_VERSION.fullmatch(version):
            raise ConfigError(
                f"{shown(line)} pins {shown(version)} with ===, which pip does "
                "not read as one version (it ends at ',' or ')')"
            )
        return
    if not _is_specifier("==", version):
        hint = " (a comment needs a space before its #)" if "#" in version else ""
        raise ConfigError(
            f"{shown(line)} pins {shown(version)}, which is not a PEP 440 "
            f"version as pip requires after =={hint}"
        )
    if version.endswith(".*"):
        raise ConfigError(
            f"{shown(line)} is not a name==version pin: it pins the prefix "
            f"{shown(version)}, not one version; give the exact version installed"
        )


MAX_MARKER_NESTING = 100
"""Deepest nesting of parentheses a marker may have; no real one has more than a few, and
the evaluator recurses once per level."""


def evaluate_marker(text: str, environment: Mapping[str, str]) -> bool:
    """Whether the PEP 508 marker ``text`` holds in ``environment`` (marker variable to
    value; a variable it lacks makes a marker naming it unreadable).

    Raises
    ------
    ConfigError
        When the marker cannot be read or evaluated (a variable ``environment`` lacks,
        an ordering of values that are not versions, nesting past
        :data:`MAX_MARKER_NESTING`).

    Examples
    --------
    >>> from modelship.parity._pins import evaluate_marker
    >>> evaluate_marker('extra == "Socks_Proxy"', {"extra": "socks-proxy"})
    True
    >>> evaluate_marker('python_version < "3.11"', {"python_version": "3.12"})
    False
    """
    return _Marker(text, environment).evaluate()


MAX_MARKER_TEXT = 1000
"""Longest marker a pin of :class:`~modelship.parity.Requirements` may carry; a dependency
whose combined marker would be longer is not pinned."""

# Every marker variable, each with a value that any well-formed comparison reads: a
# marker this evaluator cannot read in it is refused wherever it is evaluated.
_ANY_ENVIRONMENT = dict.fromkeys(
    (
        "os_name",
        "sys_platform",
        "platform_machine",
        "platform_python_implementation",
        "platform_release",
        "platform_system",
        "python_version",
        "python_full_version",
        "implementation_name",
        "implementation_version",
    ),
    "0",
) | {"extra": ""}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def marker_problem(text: str) -> str | None:
    """What keeps ``text`` from being a pin's marker, or None.

    A pin's marker is written after its pin in a requirements file
    (:func:`~modelship.parity.requirements_txt`), where pip and :func:`read_pins` must read
    it alike: so no line break or other control character, no ``#`` (a comment), no
    ``\\`` (a continued line), no ``${NAME}`` (pip replaces it), no word starting with
    ``-`` (an option), no lone surrogate (the file is UTF-8), at most
    :data:`MAX_MARKER_TEXT` characters, and a marker this module's evaluator reads.

    Examples
    --------
    >>> from modelship.parity._pins import marker_problem
    >>> marker_problem('sys_platform == "linux"') is None
    True
    >>> print(marker_problem('os_name == "nt" # x'))
    the marker 'os_name == "nt" # x' holds a control character, #, \\ or ${...}
    """
    if not isinstance(text, str) or not text.strip():
        return f"the marker {shown(text)} is not a non-empty string"
    if len(text) > MAX_MARKER_TEXT:
        return f"the marker {shown(text)} is longer than {MAX_MARKER_TEXT} characters"
    problem = _unwritable(text)
    if problem is not None:
        return problem
    try:
        evaluate_marker(text, _ANY_ENVIRONMENT)
    except ConfigError as exc:
        return str(exc)
    return None


def _unwritable(text: str) -> str | None:
    """What keeps the marker ``text`` from being written after a pin, for pip and
    :func:`read_pins` to read alike (see :func:`marker_problem`), or None."""
    if not is_unicode_text(text):  # requirements_txt's file and the JSON are UTF-8
        return (
            f"the marker {shown(text)} holds a lone surrogate (not Unicode text: it cannot "
            "be written as UTF-8); write it from UTF-8 text"
        )
    if _CONTROL.search(text) or "#" in text or "\\" in text or _ENV_VARIABLE.search(text):
        return f"the marker {shown(text)} holds a control character, #, \\ or ${{...}}"
    if any(word.startswith("-") for word in text.split()):
        return (
            f"the marker {shown(text)} has a word starting with '-', which pip reads as an option"
        )
    return None


def marker_without_extra(text: str, extra: str) -> str | None:
    """The marker ``text`` of a requirement reached through ``extra`` (``""`` for none),
    with its ``extra`` conditions taken out: the rest of its top-level ``and`` conditions,
    as written (``""`` when none is left). None when an ``extra`` condition is false, is
    not a top-level condition naming only ``extra`` (it is inside ``or`` or parentheses
    with other variables), or the marker cannot be read.

    A pin's marker is evaluated where ``extra`` is ``""`` (pip reads a requirements
    file's markers so), so the extra a dependent asked for cannot stay in it.

    Examples
    --------
    >>> from modelship.parity._pins import marker_without_extra
    >>> marker_without_extra('extra == "gpu" and sys_platform == "linux"', "gpu")
    'sys_platform == "linux"'
    >>> marker_without_extra('extra == "gpu" or sys_platform == "linux"', "gpu") is None
    True
    """
    try:
        spans = _Marker(text, {}).spans
    except ConfigError:
        return None
    conditions: list[tuple[int, int]] = []
    depth, start, top_or = 0, 0, False
    for kind, token, begin, end in spans:
        if kind == "paren":
            depth += 1 if token == "(" else -1
        elif kind == "logic" and depth == 0:
            top_or = top_or or token == "or"
            if token == "and":
                conditions.append((start, begin))
                start = end
    conditions.append((start, len(text)))
    if top_or:  # "and" binds tighter: the whole marker is one condition
        conditions = [(0, len(text))]
    kept = []
    for begin, end in conditions:
        names = {t for kind, t, b, _ in spans if kind == "name" and begin <= b < end}
        condition = text[begin:end].strip()
        if "extra" not in names:
            kept.append(condition)
            continue
        if names != {"extra"}:
            return None
        try:
            if not evaluate_marker(condition, {"extra": extra}):
                return None
        except ConfigError:
            return None
    return " and ".join(kept)


class _Marker:
    """A PEP 508 marker, evaluated by recursive descent over its tokens."""

    def __init__(self, text: str, environment: Mapping[str, str]) -> None:
        self.text = text.strip()
        self.environment = environment
        self.tokens: list[tuple[str, str]] = []
        self.spans: list[tuple[str, str, int, int]] = []  # each token, and where it is
        position = 0
        while not _SPACE_TO_END.match(text, position):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise self._unreadable()
            kind = next(k for k, v in match.groupdict().items() if v is not None)
            self.tokens.append((kind, " ".join(match[kind].split())))
            self.spans.append((kind, self.tokens[-1][1], match.start(kind), match.end()))
            position = match.end()
        self.at = 0
        self.depth = 0

    def _unreadable(self, why: str = "") -> ConfigError:
        return ConfigError(
            f"cannot evaluate the marker {shown(self.text)}{why}; write the pin "
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
            self.depth += 1
            if self.depth > MAX_MARKER_NESTING:
                raise self._unreadable(
                    f": it nests parentheses more than {MAX_MARKER_NESTING} levels deep"
                )
            self.at += 1
            result = self._or()
            if self._next("paren")[1] != ")":
                raise self._unreadable()
            self.depth -= 1
            return result
        left, variable_l = self._value()
        op = self._next("op")[1]
        right, variable_r = self._value()
        if (variable_l is None) == (variable_r is None):
            raise self._unreadable(
                f": {shown(left)} {op} {shown(right)} must compare one marker variable with a "
                "quoted value"
            )
        return self._compare(left, op, right, variable_l or variable_r or "")

    def _value(self) -> tuple[str, str | None]:
        kind, token = self._next()
        if kind == "string":
            return token[1:-1], None
        if kind == "name" and token in self.environment:
            value = self.environment[token]
            if token == "python_full_version" and value.endswith("+"):
                value += "local"  # an untagged build's "3.13.0+", read as packaging reads it
            return value, token
        raise self._unreadable(f": {shown(token)} is not a marker variable this reader knows")

    def _compare(self, left: str, op: str, right: str, variable: str) -> bool:
        """``left op right`` as PEP 508 evaluates it (as ``packaging`` does): for a
        version-valued variable, by PEP 440 when ``op right`` is a version specifier, else
        as Python compares the strings; an ordering of strings, whose answer depends on
        the ``packaging`` release, and a comparison none answers (``===`` of a variable
        that is not version-valued: ``sys_platform === "linux"``), are refused."""
        if variable == "extra":  # names as PEP 685 compares them, in "in" too
            left, right = normalize_name(left), normalize_name(right)
        if op == "in":
            return left in right
        if op == "not in":
            return left not in right
        if variable in _VERSION_VARIABLES:
            if op == "===" and _ARBITRARY.fullmatch(right):  # arbitrary equality (PEP 440)
                return left.lower() == right.strip().lower()
            candidate = parse_version(left)
            if candidate is not None:
                result = specifier_contains(op, right, candidate)
                if result is not None:
                    return result
            elif _is_specifier(op, right):
                raise self._unreadable(
                    f": {shown(left)} is not a PEP 440 version to compare with {op} {shown(right)}"
                )
        if op in ("==", "!="):
            return (left == right) == (op == "==")
        if op == "===" and variable not in _VERSION_VARIABLES:  # packaging refuses it too
            raise self._unreadable(
                f": === (PEP 440 arbitrary equality) compares versions, and {variable} is "
                "not version-valued; compare it with == instead"
            )
        raise self._unreadable(
            f": {shown(left)} {op} {shown(right)} compares values that are not versions"
        )


def _is_specifier(op: str, version: str) -> bool:
    """Whether ``op version`` is a PEP 440 version specifier."""
    return specifier_contains(op, version, Version(0, (0,), None, None, None, None)) is not None
