"""Mutable tags on immutable versions: a log per version, each change an exclusive create.

A version's manifest (and its digest and signature) never changes; the tags given at
registration stay in it as :attr:`ModelVersion.tags`. Tags set or removed later live
apart, in a log per version::

    models/<name>/tags/<version>/<rev:012d>.json   {revision, tags, change, signature?}

Entry ``rev`` holds one change (key, from, to, who, when) and the whole tag state after
it, so the newest entry is the current state (no entry: the registration's tags) and the
log is the history. Writing is the alias log's compare-and-swap (:mod:`._aliases`): a
writer reads the newest revision ``rev`` and creates entry ``rev + 1`` only if absent. Of
two writers that read ``rev``, one creates ``rev + 1``; the other gets
``FileExistsError``, re-reads, and applies its change on top of the winner's state, so no
update is lost. If the winner changed the same key to another value, the loser raises
:class:`~modelship.Conflict` instead of overwriting what it never saw (to the same
value: there is nothing left to do, and it returns). Every entry read
back is checked: its signature (with a key), its revision against its key, who and when
(the alias log's rules, :func:`~._aliases.stored_by`), and every tag key and value but
those carried over unchanged from the registration (accepted when written, perhaps by a
version that did not check them). Entries are never deleted, so one listed and then not
readable (a folder where the document belongs) is damage, not a race.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from modelship._model_version import is_text
from modelship._names import check_version
from modelship._shown import brief
from modelship.errors import Conflict, IntegrityError, InvalidName, InvalidTag
from modelship.registry._aliases import check_all_read, stored_at, stored_by, unreadable_entry
from modelship.registry._integrity import parse_json
from modelship.registry._layout import folder, is_numbered, number_in
from modelship.registry._lineage import now
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer

__all__ = [
    "ANY_VALUE",
    "TagChange",
    "change_tag",
    "check_tag_key",
    "check_tag_value",
    "current_tags",
    "tag_history",
    "tag_log_key",
    "tag_log_keys",
    "tagged_versions",
]

ANY_VALUE: Any = object()
"""``expected`` when the caller expects nothing in particular of the tag's value."""
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 4096
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*")
_MAX_RETRIES = 10_000  # far more changes than writers race on one version; a bound all the same


def check_tag_key(key: object) -> str:
    """``key`` if it is a valid tag key (letters, digits, ``_ . : / -``), else raise.

    Examples
    --------
    >>> check_tag_key("approved_by")
    'approved_by'
    """
    if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY or not _KEY.fullmatch(key):
        raise InvalidTag(
            f"tag key {key!r} is not allowed: use 1 to {MAX_TAG_KEY} letters, digits, '_', "
            "'.', ':', '/' or '-', starting with a letter, digit or '_'"
        )
    return key


def check_tag_value(key: str, value: object) -> str:
    """``value`` if it is a valid value for tag ``key`` (a string, at most 4096 characters).

    Examples
    --------
    >>> check_tag_value("ticket", 42)
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidTag: tag 'ticket' must have a string value ...
    """
    if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
        shown = value if not isinstance(value, str) else f"{value[:20]}..."
        raise InvalidTag(
            f"tag {key!r} must have a string value of at most {MAX_TAG_VALUE} characters, "
            f"got {type(value).__name__} {shown!r}; convert it with str()"
        )
    if not is_text(value):
        raise InvalidTag(f"tag {key!r} must be UTF-8 text; {value[:40]!r} holds a lone surrogate")
    return value


@attrs.frozen
class TagChange:
    """One entry of a version's tag history: ``key`` went from ``from_value`` to ``to_value``.

    ``to_value`` is None when the tag was removed, ``from_value`` None when it was new.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://tagchange-doc")
    >>> _ = reg.register(model_name="m", model=b"a", serializer="bytes")
    >>> reg.set_tag("m", "1", "approved_by", "ana")
    >>> change = reg.tag_history("m", "1")[-1]
    >>> (change.key, change.from_value, change.to_value, change.revision)
    ('approved_by', None, 'ana', 1)
    """

    revision: int
    key: str
    from_value: str | None
    to_value: str | None
    by: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this record.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> at = datetime(2026, 1, 2, tzinfo=timezone.utc)
        >>> TagChange(1, "stage", None, "prod", "ana", at).to_dict()["to"]
        'prod'
        """
        return {
            "revision": self.revision,
            "key": self.key,
            "from": self.from_value,
            "to": self.to_value,
            "by": self.by,
            "at": self.at.isoformat(),
        }


def tag_log_key(name: str, version: str, rev: int) -> str:
    """The key of entry ``rev`` of the tag log of ``name`` ``version``.

    Examples
    --------
    >>> tag_log_key("m", "2.1.0", 3)
    'models/m/tags/2.1.0/000000000003.json'
    """
    return f"{_log(name, version)}/{rev:012d}.json"


def _log(name: str, version: str) -> str:
    return f"{folder(name, 'tags')}/{version}"


def _damaged(key: str, why: str) -> IntegrityError:
    return IntegrityError(f"tag log entry {key} is damaged ({why}); restore it from a copy")


def _optional(value: object, key: str, where: str) -> str | None:
    if value is None:
        return None
    try:
        return check_tag_value(key, value)
    except InvalidTag as exc:
        raise _damaged(where, str(exc)) from None


def _entry(
    data: bytes, key: str, signer: Signer, base: Mapping[str, str]
) -> tuple[dict[str, str], TagChange]:
    """The tag state and change held by the entry ``data`` read at ``key``, checked.

    A tag of the registration (``base``) carried over unchanged is taken as it is: a
    version registered before tags were checked may hold a key that today's rules refuse
    (``'a b'``), and it was accepted when written; every other tag is checked. For the
    same reason a change of a registration's key is taken as it is: such a key can only
    be removed (a value set under it is not the registration's, and is checked).
    """
    doc = parse_json(data, f"tag log entry {key}")
    if not isinstance(doc, dict):
        raise _damaged(key, "not a JSON object")
    signer.check_doc(doc, key, f"tag log entry {key}")
    tags, change, revision = doc.get("tags"), doc.get("change"), doc.get("revision")
    if not isinstance(tags, dict) or not isinstance(change, dict):
        raise _damaged(key, "no 'tags' object or no 'change'")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision != number_in(key):
        raise _damaged(key, f"revision {brief(revision)} is not the one its key names")
    try:
        state = {
            k: v if k in base and base[k] == v else check_tag_value(check_tag_key(k), v)
            for k, v in tags.items()
        }
        changed = change.get("key")
        if not (isinstance(changed, str) and changed in base):
            changed = check_tag_key(changed)  # a registration's key may be removed as it is
    except InvalidTag as exc:
        raise _damaged(key, str(exc)) from None
    where = f"tag log entry {key}"
    move = TagChange(
        revision=revision,
        key=changed,
        from_value=_optional(change.get("from"), changed, key),
        to_value=_optional(change.get("to"), changed, key),
        by=stored_by(change.get("by"), where),
        at=stored_at(change.get("at"), where),
    )
    if state.get(changed) != move.to_value:
        raise _damaged(key, f"its state does not hold the change of {changed!r}")
    return state, move


def _top(store: Store, name: str, version: str) -> int:
    """The newest revision of the tag log of ``name`` ``version`` (0 if it has none).

    Entries are only ever created, one revision after the other, so the highest listed
    number is the newest; a listing that lags only makes the next create fail and retry.
    """
    return max(filter(None, map(number_in, store.list(_log(name, version)))), default=0)


def _state(
    store: Store, name: str, version: str, signer: Signer, base: Mapping[str, str]
) -> tuple[int, dict[str, str]]:
    rev = _top(store, name, version)
    if rev == 0:
        return 0, dict(base)
    key = tag_log_key(name, version, rev)
    try:
        data = store.read(key)
    except FileNotFoundError:
        raise unreadable_entry(key, "tag log") from None  # listed just now, never deleted
    return rev, _entry(data, key, signer, base)[0]


def current_tags(
    store: Store, name: str, version: str, signer: Signer, base: Mapping[str, str]
) -> dict[str, str]:
    """The tags of ``name`` ``version`` now: the newest log entry's, or ``base`` (the
    registration's tags) if the log is empty."""
    return _state(store, name, version, signer, base)[1]


def change_tag(  # noqa: PLR0913 - compare-and-set of one tag: target, value, expected and audit fields
    store: Store,
    name: str,
    version: str,
    key: str,
    value: str | None,
    *,
    base: Mapping[str, str],
    expected: Any,
    user: str,
    signer: Signer,
) -> str | None:
    """Set tag ``key`` of ``name`` ``version`` to ``value`` (None: remove it).

    ``base`` is the registration's tags (the state before the first entry). Returns the
    value before the change. Idempotent: a change to the value the tag holds already (a
    removal of a tag that is not set) is a success that writes nothing, whatever
    ``expected`` says, so a step retried after it succeeded succeeds again. Raises
    :class:`~modelship.Conflict` if the tag holds neither ``value`` nor ``expected``
    (unless it is :data:`ANY_VALUE`), or if another writer changes this tag meanwhile to
    another value; changes of other tags are retried over (see the module docstring).
    """
    seen: Any = ANY_VALUE
    for _ in range(_MAX_RETRIES):
        rev, state = _state(store, name, version, signer, base)
        before = state.get(key)
        if before == value:
            # Already so: nothing changes and nothing is written (the history holds only
            # changes), whatever ``expected`` says: a retried step succeeds again.
            return before
        if expected is not ANY_VALUE and before != expected:
            raise Conflict(
                f"tag {key!r} of {name} {version} is {before!r}, not the expected "
                f"{expected!r}; re-read it and decide again"
            )
        if seen is not ANY_VALUE and before != seen:
            raise Conflict(
                f"tag {key!r} of {name} {version} was changed from {seen!r} to {before!r} by "
                "another writer meanwhile; re-read it and retry if still wanted"
            )
        seen = before
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
        entry_key = tag_log_key(name, version, rev + 1)
        change = {"key": key, "from": before, "to": value, "by": user, "at": now().isoformat()}
        entry = {"revision": rev + 1, "tags": state, "change": change}
        try:
            store.create(entry_key, signer.seal_bytes(entry, entry_key))
        except FileExistsError:
            continue  # another writer changed some tag first: apply ours on top of theirs
        return before
    raise Conflict(f"tags of {name} {version} kept changing under {_MAX_RETRIES} tries; retry")


def tag_history(
    store: Store, name: str, version: str, signer: Signer, base: Mapping[str, str]
) -> list[TagChange]:
    """Every tag change of ``name`` ``version``, oldest first, each entry checked.

    ``base`` is the registration's tags, as for :func:`current_tags`."""
    folder = _log(name, version)
    keys = [f"{folder}/{n}" for n in store.list(folder) if is_numbered(n)]
    read = store.read_many(keys)
    check_all_read(keys, read, "tag log")
    return [_entry(data, key, signer, base)[1] for key, data in sorted(read.items())]


def tag_log_keys(store: Store, name: str) -> list[str]:
    """The keys of every tag log entry of ``name``, in order (for copying a model).

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> store.create(tag_log_key("m", "3", 1), b"{}")
    >>> tag_log_keys(store, "m")
    ['models/m/tags/3/000000000001.json']
    """
    return [
        f"{_log(name, version)}/{n}"
        for version in sorted(tagged_versions(store, name))
        for n in store.list(_log(name, version))
        if is_numbered(n)
    ]


def tagged_versions(store: Store, name: str) -> set[str]:
    """The versions of ``name`` whose tags changed after registration (one listing).

    Examples
    --------
    >>> from modelship.testing import MemoryStore
    >>> store = MemoryStore()
    >>> store.create(tag_log_key("m", "3", 1), b"{}")
    >>> tagged_versions(store, "m")
    {'3'}
    """
    return {v for v in store.list(folder(name, "tags")) if _is_version(v)}


def _is_version(name: str) -> bool:
    try:
        check_version(name)
    except InvalidName:
        return False  # a stray file or folder, not a version's log
    return True
