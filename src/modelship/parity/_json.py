"""Reading JSON documents from storage: every field checked, every error a SnapshotError.

Snapshots, requirements, fingerprints and behaviour records are read back from
registries and files written elsewhere; nothing in them is trusted before it is checked.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelship import _json
from modelship.parity._errors import SnapshotError

__all__ = ["JsonDocument", "NewerSnapshotError", "is_unicode_text"]

_REQUIRED: Any = object()


def is_unicode_text(text: str) -> bool:
    """Whether ``text`` is Unicode text (no lone surrogate, such as JSON's ``"\\ud800"``),
    which every document must be to be written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class NewerSnapshotError(SnapshotError, _json.NewerVersionError):
    """A parity document refused for being written by a newer modelship: a
    :class:`SnapshotError`, as every refused parity document is, and a
    :class:`~modelship._json.NewerVersionError`, so a reader that wraps it (the stored
    documents of a model version) says to upgrade rather than that it was forged.

    Examples
    --------
    >>> try:
    ...     JsonDocument({"schema_version": 3}, "requirements").schema_version(2)
    ... except SnapshotError as exc:
    ...     print(isinstance(exc, _json.NewerVersionError))
    True
    """


def _unique_keys(what: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An ``object_pairs_hook`` refusing an object that gives one key twice: ``json`` keeps
    the last silently, so a hand-merged ``{"numpy": "1.26.4", "numpy": "2.4.6"}`` would be
    read as either pin by another reader."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise SnapshotError(
                        f"{what}: the key {reprlib.repr(key)} is given twice in one object; "
                        "readers keep either value, so it is ambiguous: keep one and write "
                        "the document again"
                    )
                seen.add(key)
        return out

    return unique


@attrs.frozen
class JsonDocument:
    """Typed access to a JSON object read from storage; every bad field is a SnapshotError."""

    doc: Mapping[str, Any]
    what: str

    @classmethod
    def parse(cls, text: str | bytes, what: str) -> JsonDocument:
        """Parse JSON text holding an object, or raise :class:`SnapshotError` naming ``what``
        (a key given twice in one object is refused too)."""
        if not isinstance(text, (str, bytes, bytearray)):
            raise SnapshotError(
                f"the {what} must be JSON text (str or bytes), got {type(text).__name__}"
            )
        document = _json.loads(
            text, what, error=SnapshotError, object_pairs_hook=_unique_keys(what)
        )
        return cls(document, what)

    @classmethod
    def of(cls, document: object, what: str) -> JsonDocument:
        """Wrap a parsed document, or raise :class:`SnapshotError` if it is not a mapping."""
        if not isinstance(document, Mapping):
            raise SnapshotError(
                f"the {what} must be a JSON object (a mapping), got {type(document).__name__}"
            )
        return cls(document, what)

    def _bad(self, key: str, expected: str) -> SnapshotError:
        got = type(self.doc[key]).__name__
        return SnapshotError(f"{self.what}: {key!r} must be {expected}, got {got}")

    def _out_of_range(self, key: str, expected: str) -> SnapshotError:
        shown = reprlib.repr(self.doc[key])
        return SnapshotError(f"{self.what}: {key!r} must be {expected}, got {shown}")

    def _get(self, key: str, default: Any) -> Any:
        if key in self.doc:
            return self.doc[key]
        if default is _REQUIRED:
            raise SnapshotError(f"{self.what}: {key!r} is missing")
        return default

    def _unicode(self, key: str, *texts: object) -> None:
        """Refuse a lone surrogate: it cannot be written as UTF-8 again."""
        for text in texts:
            if isinstance(text, str) and not is_unicode_text(text):
                raise SnapshotError(
                    f"{self.what}: {key!r} has {reprlib.repr(text)}, which holds a lone surrogate "
                    "(not Unicode text: it cannot be written as UTF-8)"
                )

    def only(self, *keys: str) -> None:
        """Refuse a document with keys other than ``keys`` (a typo, or another layout)."""
        unknown = sorted(str(key) for key in self.doc if key not in keys)
        if unknown:
            raise SnapshotError(
                f"{self.what}: unknown field(s) {reprlib.repr(unknown)}; it has only "
                f"{', '.join(keys)}"
            )

    def schema_version(self, supported: int) -> None:
        version = self.doc.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise SnapshotError(f"{self.what}: no integer 'schema_version'")
        if version < 1:  # every layout modelship wrote starts at 1
            raise SnapshotError(
                f"{self.what}: schema_version {reprlib.repr(version)} is not a version "
                f"modelship writes (1 to {supported}); the document was not written by "
                "modelship"
            )
        if version > supported:
            raise NewerSnapshotError(
                f"{self.what}: schema_version {version} is newer than the {supported} this "
                "modelship reads; upgrade modelship"
            )

    def text(self, key: str, default: Any = None) -> str:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        self._unicode(key, value)
        return value

    def opt_text(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, _REQUIRED if required else None)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string or null")
        self._unicode(key, value)
        return value

    def integer(
        self, key: str, *, minimum: int | None = None, required: bool = False
    ) -> int | None:
        value = self._get(key, _REQUIRED if required else None)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self._bad(key, "an integer or null")
        if value is not None and minimum is not None and value < minimum:
            raise self._out_of_range(key, f"an integer >= {minimum} or null")
        return value

    def number(self, key: str, *, positive: bool = False, required: bool = False) -> float | None:
        value = self._get(key, _REQUIRED if required else None)
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self._bad(key, "a number or null")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number) or (positive and number <= 0):
            raise self._out_of_range(
                key, f"a finite{' positive' if positive else ''} number or null"
            )
        return number

    def text_map(self, key: str, *, required: bool = False) -> dict[str, str]:
        value = self._get(key, _REQUIRED if required else {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._bad(key, "an object of strings")
        for name, text in value.items():
            self._unicode(key, name)
            if not is_unicode_text(text):
                # The value is never quoted: a map's values may be secrets (an environment
                # variable's), and this error is raised before any credential filter runs.
                raise SnapshotError(
                    f"{self.what}: {key!r}[{reprlib.repr(name)}] holds a lone surrogate (not "
                    "Unicode text: it cannot be written as UTF-8; the value is not shown, it "
                    "may be a secret); drop that entry or write the document from UTF-8 text"
                )
        return value

    def text_list(self, key: str) -> list[str]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        self._unicode(key, *value)
        return value

    def records(self, key: str, *, required: bool = False) -> list[JsonDocument]:
        value = self._get(key, _REQUIRED if required else [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self._bad(key, "a list of objects")
        return [JsonDocument(item, f"{self.what} {key}") for item in value]
