"""PEP 440 versions and version specifiers, without ``packaging`` (not a dependency).

Invariant: a version is read only when it matches PEP 440's grammar (``1.0rc1``,
``1!2.0.post1.dev0+cpu``; any case, the alternative spellings ``alpha``, ``c``, ``pre``,
``-1``, ``rev``...), and then compares as ``packaging.version.Version`` compares it.
Anything else is ``None``, for the caller to refuse or report as unknown; nothing is
guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Version", "parse_version", "same_version", "specifier_contains"]

# PEP 440, appendix B, with the release split into its own group. ASCII: PEP 440's letters
# and digits are ASCII ones (re.IGNORECASE alone would also match the Kelvin sign as "k").
_VERSION_BODY = r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
    (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
"""
_LOCAL = r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?"
_FLAGS = re.VERBOSE | re.IGNORECASE | re.ASCII
# The whitespace around a version is any Unicode whitespace, as packaging strips it
# ("1.0\xa0" is 1.0).
_SPACE = r"(?u:\s*)"
_VERSION = re.compile(rf"{_SPACE}{_VERSION_BODY}{_LOCAL}{_SPACE}", _FLAGS)
# A specifier's version, per operator (PEP 440, "Version specifiers"): a prefix ending in
# ".*" only for == and !=, a local label only for == and !=, and ~= needs two release
# numbers.
_WILDCARD = re.compile(rf"{_SPACE}v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*\.\*{_SPACE}", _FLAGS)
_PUBLIC = re.compile(rf"{_SPACE}{_VERSION_BODY}{_SPACE}", _FLAGS)
_PRE_LABELS = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_MAX_DIGITS = 100  # no real version number is longer; int() refuses 4300 digits anyway


class Version(NamedTuple):
    """A parsed PEP 440 version: each part as PEP 440 normalises it."""

    epoch: int
    release: tuple[int, ...]
    pre: tuple[int, int] | None  # (0 a, 1 b, 2 rc; number)
    post: int | None
    dev: int | None
    local: tuple[int | str, ...] | None

    @property
    def is_prerelease(self) -> bool:
        return self.pre is not None or self.dev is not None

    @property
    def public(self) -> Version:
        """This version without its local label."""
        return self._replace(local=None)

    @property
    def base(self) -> Version:
        """Epoch and release only (``1.0rc1.post2`` is ``1.0``)."""
        return Version(self.epoch, self.release, None, None, None, None)

    def key(self) -> tuple[object, ...]:
        """What orders versions (``packaging.version.Version``'s comparison key)."""
        release = list(self.release)
        while release and release[-1] == 0:
            release.pop()
        if self.pre is None and self.post is None and self.dev is not None:
            pre: tuple[int, int] = (-1, 0)  # 1.0.dev0 sorts before 1.0a0
        else:
            pre = (3, 0) if self.pre is None else self.pre
        post = -1 if self.post is None else self.post
        dev = (1, 0) if self.dev is None else (0, self.dev)
        if self.local is None:
            local: tuple[object, ...] = (0,)
        else:  # a number sorts after a word, numbers by value, words alphabetically
            local = (
                1,
                tuple(
                    (1, part, "") if isinstance(part, int) else (0, 0, part) for part in self.local
                ),
            )
        return (self.epoch, tuple(release), pre, post, dev, local)


def _number(text: str | None) -> int:
    return int(text) if text else 0


def parse_version(text: str) -> Version | None:
    """``text`` as a PEP 440 version, or None when it is not one (or has an absurdly long
    number).

    Examples
    --------
    >>> from modelship.parity._pep440 import parse_version
    >>> parse_version("1.0RC1") == parse_version("1.0rc1"), parse_version("abc")
    (True, None)
    """
    match = _VERSION.fullmatch(text)
    if match is None or any(len(part) > _MAX_DIGITS for part in re.findall(r"[0-9]+", text)):
        return None
    pre = None
    if match["pre"]:
        pre = (_PRE_LABELS[match["pre_l"].lower()], _number(match["pre_n"]))
    post = None
    if match["post"]:
        post = _number(match["post_n1"] or match["post_n2"])
    dev = _number(match["dev_n"]) if match["dev"] else None
    local = None
    if match["local"]:
        local = tuple(
            int(part) if part.isdigit() else part.lower()
            for part in re.split(r"[-_.]", match["local"])
        )
    return Version(
        epoch=_number(match["epoch"]),
        release=tuple(int(part) for part in match["release"].split(".")),
        pre=pre,
        post=post,
        dev=dev,
        local=local,
    )


def same_version(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name one version: the same text, or PEP 440 versions that
    compare equal (``2.4.6`` and ``2.4.6.0``, ``1.0RC1`` and ``1.0rc1``); text that is not
    a PEP 440 version is the same only as itself.

    Examples
    --------
    >>> from modelship.parity._pep440 import same_version
    >>> same_version("2.4.6", "2.4.6.0"), same_version("2.4.6", "2.4.6+cpu")
    (True, False)
    """
    if a == b:
        return True
    first, second = parse_version(a), parse_version(b)
    return first is not None and second is not None and first.key() == second.key()


def _prefix_matches(candidate: Version, prefix: Version) -> bool:
    """``candidate == prefix.*``: the same epoch, and the release numbers ``prefix`` gives
    (the candidate's zero-padded), whatever follows them."""
    width = len(prefix.release)
    release = candidate.release + (0,) * max(0, width - len(candidate.release))
    return candidate.epoch == prefix.epoch and release[:width] == prefix.release


def _specifier_version(op: str, spec: str) -> tuple[Version, bool] | None:
    """The version of the specifier ``op spec`` and whether it ends in ``.*``, or None
    when it is not one (PEP 440's grammar for that operator)."""
    if op in ("==", "!=") and _WILDCARD.fullmatch(spec):
        prefix = parse_version(spec.strip()[:-2])
        return None if prefix is None else (prefix, True)
    grammar = _VERSION if op in ("==", "!=") else _PUBLIC
    version = parse_version(spec) if op in _OPERATORS and grammar.fullmatch(spec) else None
    if version is None or (op == "~=" and len(version.release) < 2):
        return None
    return version, False


def _equal(candidate: Version, version: Version, wildcard: bool) -> bool:
    if wildcard:
        return _prefix_matches(candidate.public, version)
    compared = candidate if version.local is not None else candidate.public
    return compared.key() == version.key()


def _less(candidate: Version, version: Version) -> bool:
    # PEP 440: "<V MUST NOT allow a pre-release of the specified version unless the
    # specified version is itself a pre-release": below V.dev0, the earliest of them.
    # (V is then a final or post release: 2.0rc1 < 2.0.post1, but not 2.0.post1.dev0.)
    bound = version if version.is_prerelease else version._replace(dev=0)
    return candidate.key() < bound.key()


def _greater(candidate: Version, version: Version) -> bool:
    # PEP 440: ">V MUST NOT allow a post-release of the given version unless V itself is a
    # post release", nor a local version of it. Of V exactly: 1.0.post1 > 1.0rc1, as the
    # post-releases of 1.0rc1 are 1.0rc1.postN. (A dev release has none: 1.0.dev0.post1 is
    # not a version.)
    same = candidate.base.key() == version.base.key() and candidate.pre == version.pre
    return candidate.public.key() > version.key() and not (
        version.post is None and version.dev is None and same
    )


def _compatible(candidate: Version, version: Version) -> bool:
    # >= V, and == V's release but its last number, .*
    prefix = version.base._replace(release=version.release[:-1])
    return candidate.public.key() >= version.key() and _prefix_matches(candidate.public, prefix)


_OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    "==": lambda candidate, version: _equal(candidate, version, False),
    "!=": lambda candidate, version: not _equal(candidate, version, False),
    "<=": lambda candidate, version: candidate.public.key() <= version.key(),
    ">=": lambda candidate, version: candidate.public.key() >= version.key(),
    "<": _less,
    ">": _greater,
    "~=": _compatible,
}


def specifier_contains(op: str, spec: str, candidate: Version) -> bool | None:
    """Whether ``candidate`` satisfies the specifier ``op spec`` (pre-releases allowed,
    as a marker evaluates them), or None when ``op spec`` is not a PEP 440 specifier.

    Examples
    --------
    >>> from modelship.parity._pep440 import parse_version, specifier_contains
    >>> v = parse_version("3.11")
    >>> specifier_contains("==", "3.*", v), specifier_contains("~=", "3", v)
    (True, None)
    """
    found = _specifier_version(op, spec)
    if found is None:
        return None
    version, wildcard = found
    if wildcard:
        return _equal(candidate, version, True) == (op == "==")
    return _OPERATORS[op](candidate, version)
