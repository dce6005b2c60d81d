"""The alias log: every alias move is the exclusive create of the next log entry.

Entry ``rev`` holds the move and the state of all aliases after it, so the newest entry is
the current state and the log is the history, append-only by construction. Creating entry
``rev + 1`` only if absent is a compare-and-swap on the whole alias state: of two writers
that read revision ``rev``, one creates ``rev + 1`` and the other retries on what it finds.

Entries are never deleted (nor are tag log entries, :mod:`._tags`, which check who and
when with the same rules): an entry read back that holds a field of the wrong type, or one
:func:`history` lists and then cannot read, was damaged, and readers raise
:class:`~modelship.IntegrityError` rather than answer with it or without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

import attrs

from modelship._names import check_alias, check_stored, check_version
from modelship._shown import brief
from modelship.errors import Conflict, IntegrityError, InvalidName, VersionNotFound
from modelship.registry._hints import bump_hint, top_alias
from modelship.registry._integrity import parse_json
from modelship.registry._layout import (
    alias_hint_key,
    alias_key,
    folder,
    is_numbered,
    number_in,
)
from modelship.registry._lineage import now
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer

__all__ = [
    "ANY",
    "MAX_BY",
    "AliasMove",
    "alias_state",
    "check_all_read",
    "check_expected",
    "history",
    "move_alias",
    "stored_at",
    "stored_by",
    "unreadable_entry",
]

ANY: Any = object()
"""``expected`` when the caller expects nothing in particular."""
MAX_BY = 256
"""The longest ``by`` a log entry holds: ``Registry(user=...)`` takes 1 to 256 printable
characters, and ``user@host`` is far shorter."""
_MAX_RETRIES = 10_000  # far more moves than writers race in practice; a bound all the same


@attrs.frozen
class AliasMove:
    """One entry of an alias history: ``alias`` went from ``from_version`` to ``to_version``.

    ``to_version`` is None when the alias was removed, ``from_version`` None when it was new.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://aliasmove-doc")
    >>> _ = reg.register(model_name="m", model=b"a", serializer="bytes")
    >>> reg.set_alias("m", "production", "1")
    >>> move = reg.history("m")[-1]
    >>> (move.alias, move.from_version, move.to_version)
    ('production', None, '1')
    """

    revision: int
    alias: str
    from_version: str | None
    to_version: str | None
    by: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this record."""
        return {
            "revision": self.revision,
            "alias": self.alias,
            "from": self.from_version,
            "to": self.to_version,
            "by": self.by,
            "at": self.at.isoformat(),
        }


def _damaged(where: str, why: str) -> IntegrityError:
    return IntegrityError(f"{where} is damaged ({why}); restore it from a copy")


def stored_by(value: object, where: str) -> str:
    """``value`` as the ``by`` (who made the change) of the log entry ``where``, checked.

    Raises :class:`~modelship.IntegrityError` unless it is text. Writers record 1 to
    :data:`MAX_BY` printable characters, but releases before 0.1.0 wrote the default user
    (``LOGNAME@host``) unchecked, so a reader takes any text, as manifests' ``created_by``
    is taken; what shows it escapes what is not printable.

    Examples
    --------
    >>> stored_by("ana@ci", "alias log entry k")
    'ana@ci'
    >>> stored_by({"evil": [1, 2]}, "alias log entry k")
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: alias log entry k is damaged ('by' is not text: ...
    """
    if not isinstance(value, str):
        raise _damaged(where, f"'by' is not text: {brief(value)}")
    return value


def stored_at(value: object, where: str) -> datetime:
    """``value`` as the ``at`` (when the change was made) of the log entry ``where``.

    Raises :class:`~modelship.IntegrityError` unless it is an ISO 8601 time with its time
    zone, as every writer records.

    Examples
    --------
    >>> stored_at("2026-01-02T03:04:05+00:00", "alias log entry k").year
    2026
    >>> stored_at(1767322800, "alias log entry k")
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: alias log entry k is damaged ('at' is not an ISO 8601 ...
    """
    at = None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # not a time: refused just below
            at = datetime.fromisoformat(value)
    if at is None or at.tzinfo is None:
        raise _damaged(where, f"'at' is not an ISO 8601 time with its zone: {brief(value)}")
    return at


def unreadable_entry(key: str, log: str) -> IntegrityError:
    """The error for the entry ``key`` of ``log`` (``"alias log"``, ``"tag log"``): listed,
    and then not read.

    Log entries are never deleted, so this is not a race: a folder or something else
    unreadable is where the document belongs.

    Examples
    --------
    >>> print(unreadable_entry("models/m/aliases/000000000002.json", "alias log"))
    alias log entry models/m/aliases/000000000002.json is listed but cannot be read ...
    """
    return IntegrityError(
        f"{log} entry {key} is listed but cannot be read (a folder or something else is "
        "where the document belongs, and log entries are never deleted): the store was "
        "damaged; restore the entry from a copy"
    )


def check_all_read(keys: Collection[str], read: Mapping[str, bytes], log: str) -> None:
    """Raise :func:`unreadable_entry` for the first of the listed ``keys`` of ``log`` that
    ``read_many`` did not ``read``.

    Examples
    --------
    >>> check_all_read(["a/1", "a/2"], {"a/1": b"{}"}, "alias log")
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: alias log entry a/2 is listed but cannot be read ...
    """
    missing = sorted(set(keys) - read.keys())
    if missing:
        raise unreadable_entry(missing[0], log)


def _name(check: Callable[[object], str], value: object, where: str) -> str:
    """A name read from a log entry: one accepted as input, and exactly as written (the
    checks also take ``"@prod"`` for ``"prod"`` and the number 3 for ``"3"``)."""
    checked = check_stored(check, value, where)
    if checked != value:
        raise _damaged(where, f"it holds {brief(value)}, not a name as written")
    return checked


def _entry(data: bytes, key: str, signer: Signer) -> tuple[dict[str, str], AliasMove]:
    """The aliases and move held by the alias log entry ``data`` read at ``key``: its
    signature, every field's type and every name checked."""
    where = f"alias log entry {key}"
    doc = parse_json(data, where)
    if not isinstance(doc, dict):
        raise _damaged(where, "not a JSON object")
    signer.check_doc(doc, key, where)
    aliases, move, revision = doc.get("aliases"), doc.get("move"), doc.get("revision")
    if not isinstance(aliases, dict) or not isinstance(move, dict):
        raise _damaged(where, "no 'aliases' object of names to versions, or no 'move' object")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision != number_in(key):
        raise _damaged(where, f"revision {brief(revision)} is not the number its key names")
    if "from" not in move or "to" not in move:
        raise _damaged(where, "its move has no 'from' or no 'to'")
    state = {
        _name(check_alias, a, where): _name(check_version, v, where) for a, v in aliases.items()
    }
    alias = _name(check_alias, move.get("alias"), where)
    ends = {
        end: None if move[end] is None else _name(check_version, move[end], where)
        for end in ("from", "to")
    }
    if state.get(alias) != ends["to"]:
        raise _damaged(where, f"its aliases do not hold the move of {alias!r}")
    return state, AliasMove(
        revision=revision,
        alias=alias,
        from_version=ends["from"],
        to_version=ends["to"],
        by=stored_by(move.get("by"), where),
        at=stored_at(move.get("at"), where),
    )


def alias_state(store: Store, name: str, signer: Signer) -> tuple[int, dict[str, str]]:
    """The newest revision of ``name``'s alias log and the aliases it holds, checked."""
    rev = top_alias(store, name)
    if rev == 0:
        return 0, {}
    key = alias_key(name, rev)
    return rev, _entry(store.read(key), key, signer)[0]


def check_expected(expected: object) -> Any:
    """``expected`` of an alias move, checked: :data:`ANY` and None as they are, a version
    as ``set_alias`` takes one (the number 3 is ``"3"``), else :class:`~modelship.InvalidName`.

    Examples
    --------
    >>> check_expected(3), check_expected("2.1.0"), check_expected(None)
    ('3', '2.1.0', None)
    >>> check_expected("@1")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidName: expected must be the version the alias points to now ...
    """
    if expected is ANY or expected is None:
        return expected
    try:
        return check_version(expected)
    except InvalidName as exc:
        raise InvalidName(
            "expected must be the version the alias points to now (such as '3' or 3), or "
            f"None for an alias that is not set: {exc}"
        ) from None


def move_alias(  # noqa: PLR0913 - compare-and-set of an alias: target, expected value and keyword-only audit fields
    store: Store,
    name: str,
    alias: str,
    to: str | None,
    *,
    expected: Any,
    user: str,
    signer: Signer,
) -> str | None:
    """Point ``alias`` at ``to`` (None: remove it), if it still points at ``expected``.

    Returns where the alias pointed before the move (None: it was unset).

    Idempotent: a move to the version the alias names already is a success that writes
    nothing (no log entry, so the history holds only changes), whatever ``expected`` says:
    a promotion step retried after it succeeded (``expected`` now stale) succeeds again.
    Raises :class:`~modelship.Conflict` if the alias is not where ``expected`` says (and
    not at ``to``), or if another writer moves this alias meanwhile to another version;
    moves of other aliases are retried over.
    Raises :class:`~modelship.VersionNotFound` (as ``remove_alias`` does for an alias that
    is not set) for a removal of an alias that is not set, and writes nothing.
    ``expected`` is checked first (:func:`check_expected`): the number 1 expects ``"1"``.
    """
    expected = check_expected(expected)
    seen: Any = ANY
    for _ in range(_MAX_RETRIES):
        rev, current = alias_state(store, name, signer)
        frm = current.get(alias)
        if to is not None and frm == to:
            # Already there: nothing to write, whoever put it there (this call's earlier
            # try, or another writer). Read on revision ``rev``, the newest a moment ago.
            return frm
        if expected is not ANY and frm != expected:
            raise Conflict(
                f"alias {alias!r} of {name} points to {frm!r}, not the expected "
                f"{expected!r}; re-read it and decide again"
            )
        if to is None and alias not in current:
            # Checked on revision ``rev``, and the entry below is written only if ``rev``
            # is still the newest (an exclusive create of ``rev + 1``): the check and the
            # write are one compare-and-swap, so of two removals racing, exactly one
            # writes, and the other re-reads and ends here.
            raise VersionNotFound(
                f"{name} has no alias {alias!r} (it was never set, or another writer removed "
                f"it first); see aliases({name!r})"
            )
        if seen is not ANY and frm != seen:
            raise Conflict(
                f"alias {alias!r} of {name} was moved from {seen!r} to {frm!r} by another "
                "writer while this move was being made; re-read it and retry if still wanted"
            )
        seen = frm
        state = dict(current)
        if to is None:
            state.pop(alias, None)
        else:
            state[alias] = to
        entry = {
            "revision": rev + 1,
            "aliases": state,
            "move": {"alias": alias, "from": frm, "to": to, "by": user, "at": now().isoformat()},
        }
        try:
            key = alias_key(name, rev + 1)
            store.create(key, signer.seal_bytes(entry, key))
        except FileExistsError:
            continue  # someone moved some alias; retry unless it was this one
        bump_hint(store, alias_hint_key(name), rev + 1)
        return frm
    raise Conflict(f"alias {alias!r} of {name} kept moving under {_MAX_RETRIES} tries; retry")


def history(store: Store, name: str, signer: Signer) -> list[AliasMove]:
    """Every alias move of ``name``, oldest first, each entry checked."""
    entries = folder(name, "aliases")
    keys = [f"{entries}/{n}" for n in store.list(entries) if is_numbered(n)]
    read = store.read_many(keys)
    check_all_read(keys, read, "alias log")
    return [_entry(data, key, signer)[1] for key, data in sorted(read.items())]
