"""The alias log: every alias move is the exclusive create of the next log entry.

Entry ``rev`` holds the move and the state of all aliases after it, so the newest entry is
the current state and the log is the history, append-only by construction. Creating entry
``rev + 1`` only if absent is a compare-and-swap on the whole alias state: of two writers
that read revision ``rev``, one creates ``rev + 1`` and the other retries on what it finds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from modelship._names import check_alias, check_stored, check_version
from modelship.errors import Conflict, IntegrityError
from modelship.registry._hints import bump_hint, top_alias
from modelship.registry._integrity import parse_json
from modelship.registry._layout import (
    alias_hint_key,
    alias_key,
    folder,
    is_numbered,
    number_of,
)
from modelship.registry._lineage import now
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer

__all__ = ["ANY", "AliasMove", "alias_state", "history", "move_alias"]

ANY: Any = object()
"""``expected`` when the caller expects nothing in particular."""
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


def _entry(data: bytes, key: str, signer: Signer) -> dict[str, Any]:
    """The alias log entry ``data`` read at ``key``: signature and every name checked."""
    doc = parse_json(data, f"alias log entry {key}")
    if not isinstance(doc, dict):
        raise IntegrityError(f"alias log entry {key} is not a JSON object")
    signer.check_doc(doc, key, f"alias log entry {key}")
    aliases, move = doc.get("aliases"), doc.get("move")
    if (
        not isinstance(aliases, dict)
        or not isinstance(move, dict)
        or str(doc.get("revision")) != number_of(key).lstrip("0")
    ):
        raise IntegrityError(
            f"alias log entry {key} is damaged (no 'aliases' object of names to versions, "
            "no 'move', or a wrong revision); restore it from a copy"
        )
    for alias, version in aliases.items():
        check_stored(check_alias, alias, key)
        check_stored(check_version, version, key)
    check_stored(check_alias, move.get("alias"), key)
    for end in ("from", "to"):
        if move.get(end) is not None:
            check_stored(check_version, move[end], key)
    return doc


def alias_state(store: Store, name: str, signer: Signer) -> tuple[int, dict[str, str]]:
    """The newest revision of ``name``'s alias log and the aliases it holds, checked."""
    rev = top_alias(store, name)
    if rev == 0:
        return 0, {}
    key = alias_key(name, rev)
    return rev, dict(_entry(store.read(key), key, signer)["aliases"])


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

    Raises :class:`~modelship.Conflict` if the alias is not where ``expected`` says, or if
    another writer moves this alias meanwhile; moves of other aliases are retried over.
    """
    seen: Any = ANY
    for _ in range(_MAX_RETRIES):
        rev, current = alias_state(store, name, signer)
        frm = current.get(alias)
        if expected is not ANY and frm != expected:
            raise Conflict(
                f"alias {alias!r} of {name} points to {frm!r}, not the expected "
                f"{expected!r}; re-read it and decide again"
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
    moves = []
    for key, data in sorted(store.read_many(keys).items()):
        doc = _entry(data, key, signer)
        try:
            move = doc["move"]
            moves.append(
                AliasMove(
                    revision=doc["revision"],
                    alias=move["alias"],
                    from_version=move["from"],
                    to_version=move["to"],
                    by=move["by"],
                    at=datetime.fromisoformat(move["at"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(
                f"alias log entry {key} is damaged ({type(exc).__name__}: {exc}); restore it "
                "from a copy"
            ) from exc
    return moves
