"""Paged listings: ``versions(name, limit=...)`` reads only the slots its page needs.

Registration order is the order of sequence slots, numbered ``1..top`` without holes, and
the top is found in O(log n) probes from a hint (:mod:`._hints`). A page walks the slots
from the top down (``order="newest"``) or from 1 up, so it never lists the ``versions/``
folder. Reading each slot and then its manifest would cost two reads per version, so
slots are grouped in chunks of :data:`CHUNK` and a chunk whose slots are all *settled* is
cached as one document, ``models/<name>/listing/<k>.json`` (:func:`~._layout.listing_key`):
for each slot, its committed manifest, or null for a dead slot.

A slot is settled when it is dead (a dead slot is never revived, and gc only deletes
slots that are not dead), or when the manifest it names is committed with its
registration and sequence (manifests never change). A chunk is only written once every
slot in it is settled, by an exclusive create of the whole document, so it never goes
stale and a crash leaves either no chunk (readers read the slots and write it) or a whole
one. A chunk that is damaged, of another format, not signed with the registry's key, or
whose entries do not match their slots (a null entry needs a dead slot, a manifest the
claim of its slot) is ignored with a warning, read from the slots instead, and replaced; a
slot that cannot be read contradicts nothing, and the chunk is trusted for it (with a
warning naming the slot). A registry handle checks a chunk against its slots the first
time it reads it (its slots are read in one batch, with those of the page's other chunks)
and remembers the digest of the bytes it checked, so its later pages read no slots for it
(:data:`_CHECKED`).

A slot still *in flight* (claimed, manifest not yet committed) keeps its chunk unwritten.
It is not dead: its version may still commit, or its writer died and gc will declare it
dead. ``latest`` and newest-first pages skip it (a version that commits below a
newest-first cursor is one registered after the walk began). An oldest-first page carries
it in its cursor instead, and the next page reads it again first: a version that commits
between pages is listed then (ahead of the slots after the cursor), a slot that died is
dropped, and a slot still in flight is carried on. A cursor carries at most
:data:`_MAX_CARRIED` slots, so a page reads at most that many slots and manifests more;
past it the slot carried longest is given up (skipped, as before), which takes that many
registrations in flight at once, or crashed ones gc has not yet declared dead. The last
page gives up the slots still in flight: the walk ends as ``latest`` would answer then.

Archived and purged versions are hidden by listing the ``archived/`` and ``purged/``
folders of the model (names only; one request per 1,000 markers on S3), and with a
signing key the markers of the versions on the page are read and checked.

A cursor names the last slot a page looked at, the model, the order, a digest of the
filter and the slots it carries; registering more versions does not move it, and a cursor
that was edited, or made for another model, order or filter, raises :class:`InvalidCursor`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import hashlib
import hmac
import json
import numbers
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeAlias, overload

import attrs

from modelship._model_version import ModelVersion, VersionState
from modelship._names import check_stored, check_version
from modelship._shown import brief
from modelship.errors import (
    ConfigError,
    IntegrityError,
    InvalidCursor,
    ModelshipError,
    RepairWarning,
)
from modelship.registry._hints import top_slot
from modelship.registry._integrity import parse_json
from modelship.registry._layout import (
    folder,
    is_document,
    listing_key,
    manifest_key,
    number_of,
    slot_key,
)
from modelship.registry._protocols import Store
from modelship.registry._signing import Signer
from modelship.registry._slots import check_slot
from modelship.registry._tags import current_tags, tagged_versions
from modelship.registry._where import Condition, Where, fingerprint, match_all, parse_where

__all__ = [
    "CHUNK",
    "Order",
    "Reader",
    "VersionPage",
    "filter_listing",
    "list_page",
]

Order: TypeAlias = Literal["oldest", "newest"]
"""The order of ``Registry.versions(name, order=...)`` (a type alias): ``"oldest"``,
registration order (the default), or ``"newest"``, its reverse.

Examples
--------
>>> import tempfile
>>> import modelship as ms
>>> from modelship.registry import Order
>>> reg = ms.open_registry(tempfile.mkdtemp())
>>> for _ in range(3):
...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
>>> newest_first: Order = "newest"
>>> [mv.version for mv in reg.versions("m", order=newest_first)]
['3', '2', '1']
"""
CHUNK = 16
"""Slots per listing chunk. Small, because the top chunk (not settled yet, or not full) is
read slot by slot: a page of the newest 100 reads at most 15 slots and 15 manifests one by
one, then seven chunk documents."""
_CHUNK_FORMAT = 1
_HEAD_AFTER = 4
"""A reader rewrites the top chunk's head once it read this many settled slots past it."""
_MAX_CARRIED = 16
"""Slots in flight an oldest-first cursor carries to the next page. Registrations stay in
flight for the few requests between claiming a slot and creating the manifest, so 16 at
once in one model means crashed writers; each costs the next page one slot read and one
manifest read (batched)."""
# A public constant key: the cursor's check catches a cursor that was edited, truncated or
# mistyped, not a forged one (anyone can compute it), so what it covers is still parsed
# as untrusted input.
_CURSOR_CHECK = b"modelship-cursor"


class _InFlight(enum.Enum):
    """A slot claimed by a registration that has not committed its manifest (or that
    died, and gc has not declared the slot dead yet): unlike a dead slot, it may still
    gain a version."""

    SLOT = "in flight"


_IN_FLIGHT = _InFlight.SLOT
_Slot: TypeAlias = ModelVersion | Literal[_InFlight.SLOT] | None
"""What a page finds at a slot: the version committed there, None for a dead slot (or one
gc removed), or :data:`_IN_FLIGHT`."""


@attrs.frozen
class VersionPage(Sequence[ModelVersion]):
    """One page of versions and the cursor of the next (None: this was the last page).

    A sequence of :class:`~modelship.ModelVersion`; ``archived`` names the versions on the
    page that are archived (only listed with ``include_archived=True``).

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://version-page-doc")
    >>> for _ in range(3):
    ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> page = reg.versions("m", limit=2, order="newest")
    >>> [mv.version for mv in page], page.next_cursor is None
    (['3', '2'], False)
    >>> [mv.version for mv in reg.versions("m", limit=2, order="newest", cursor=page.next_cursor)]
    ['1']
    """

    versions: tuple[ModelVersion, ...]
    next_cursor: str | None
    archived: frozenset[str] = frozenset()

    @overload
    def __getitem__(self, index: int) -> ModelVersion: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[ModelVersion, ...]: ...

    def __getitem__(self, index: int | slice) -> ModelVersion | tuple[ModelVersion, ...]:
        return self.versions[index]

    def __len__(self) -> int:
        return len(self.versions)

    def __iter__(self) -> Iterator[ModelVersion]:
        return iter(self.versions)


@attrs.frozen
class Reader:
    """What a listing needs from its registry: the store and how it checks what it reads.

    ``parse(key, manifest)`` checks a manifest as read at ``key``; ``marker(key, data)`` an
    archive or purge marker; ``may_write()`` says whether a chunk may be written (and
    never raises); ``not_found(name)`` is the error for a model with no versions.
    """

    store: Store
    signer: Signer
    parse: Callable[[str, Mapping[str, Any]], ModelVersion]
    marker: Callable[[str, bytes], None]
    may_write: Callable[[], bool]
    not_found: Callable[[str], Exception]


# --- cursors --------------------------------------------------------------------------------


def _check(payload: bytes) -> str:
    return hashlib.blake2b(payload, digest_size=6, key=_CURSOR_CHECK).hexdigest()


def _encode(name: str, order: Order, seq: int, query: str, carried: Sequence[int]) -> str:
    made: list[Any] = [name, order, seq, query]
    if carried:
        made.append(list(carried))
    payload = json.dumps(made, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_check(payload)}"


# Cursors made here are a model name (at most 128 ASCII characters), an order, a number,
# a 12-digit filter digest and at most 16 carried slot numbers: at most about 250
# characters, plus about 220 for 16 carried 12-digit numbers; one of 1 KiB was not made
# here, and a bound this small also bounds how deeply a forged payload can nest.
_MAX_CURSOR = 1 << 10


def _shown(cursor: object) -> str:
    """A cursor as an error message shows it: at most 60 characters of it."""
    text = repr(cursor)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _decode(cursor: object, name: str, order: Order, query: str) -> tuple[int, tuple[int, ...]]:
    """The slot a cursor names and the slots it carries (in flight when the page was read),
    if it was made by a listing of ``name`` in ``order``."""
    shown = _shown(cursor)
    bad = InvalidCursor(
        f"cursor {shown} is not one versions() returned (it is malformed or was edited); "
        "pass the next_cursor of the previous page unchanged, or start again without one"
    )
    if not isinstance(cursor, str) or len(cursor) > _MAX_CURSOR or cursor.count(".") != 1:
        raise bad
    body, check = cursor.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    # The check catches edits and truncation; its key is public, so a forged payload
    # passes it and is parsed as untrusted input all the same.
    # compare_digest takes ASCII text only: a mangled check ("é") is a bad cursor too.
    if not check.isascii() or not hmac.compare_digest(_check(payload), check):
        raise bad
    try:
        made = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested too deep
        raise bad from None
    if not isinstance(made, list) or len(made) not in (4, 5):
        raise bad
    made_name, made_order, seq, made_query = made[:4]
    carried = made[4] if len(made) == 5 else None
    if (made_name, made_order, made_query) != (name, order, query):
        raise InvalidCursor(
            f"cursor {shown} was made for another listing (model {made_name!r}, order "
            f"{made_order!r}, or another filter or include_archived); page with the same "
            "arguments as the first page, or start again without a cursor"
        )
    if not _int(seq) or seq < 0:
        raise bad
    if carried is None:
        return seq, ()
    # Carried slots: only oldest-first, 1 to _MAX_CARRIED of them, increasing, up to seq.
    if (
        not isinstance(carried, list)
        or order != "oldest"
        or not 1 <= len(carried) <= _MAX_CARRIED
        or not all(_int(s) for s in carried)
        or not all(a < b for a, b in zip([0, *carried], [*carried, seq + 1], strict=True))
    ):
        raise bad
    return seq, tuple(carried)


# --- chunks ---------------------------------------------------------------------------------


def _from_slots(
    reader: Reader,
    name: str,
    seqs: Sequence[int],
    prefetched: Mapping[str, bytes | None] | None = None,
) -> tuple[dict[int, _Slot], dict[int, Any], int]:
    """Read ``seqs`` slot by slot: what each holds (see :data:`_Slot`), the chunk entries
    (manifest documents, None for dead slots) and how many slots from the first are
    settled. Slots in ``prefetched`` (read ahead by this page) are not read again."""
    slots = _read_slots(reader, name, seqs, prefetched or {})
    found: dict[int, _Slot] = {}
    entries: dict[int, Any] = {}
    # Several slots may name one version: an explicit version="4" and an automatic
    # number that came out as "4" too, or a registration that claimed a slot, lost the
    # manifest's create and died. Only the claim the manifest names (its sequence and
    # registration) committed it; every other one stays in flight until gc kills it.
    claims: dict[str, list[tuple[int, str]]] = {}
    for s in seqs:
        key = slot_key(name, s)
        if key not in slots:
            continue  # gc removed a slot of a registration that died at the top
        slot = check_slot(slots[key], key, reader.signer)
        if slot.get("dead"):
            found[s], entries[s] = None, None
        else:
            found[s] = _IN_FLIGHT  # until its manifest is read, committed by this claim
            claims.setdefault(manifest_key(name, slot["version"]), []).append(
                (s, slot["registration"])
            )
    for key, data in reader.store.read_many(claims).items():
        document = parse_json(data, f"manifest {key}")
        if not isinstance(document, dict):
            raise IntegrityError(f"manifest at {key} is not a JSON object: it was damaged")
        mv = reader.parse(key, document)
        if (mv.sequence, mv.registration) in claims[key]:
            found[mv.sequence], entries[mv.sequence] = mv, document
    settled = next((i for i, s in enumerate(seqs) if s not in entries), len(seqs))
    return {s: found.get(s) for s in seqs}, entries, settled


def _from_doc(
    reader: Reader, name: str, k: int, data: bytes, *, full: bool
) -> tuple[dict[int, ModelVersion | None], dict[int, Any]]:
    """The versions and entries of chunk ``k``'s document (or head) ``data``, checked."""
    key = listing_key(name, k, head=not full)
    doc = parse_json(data, f"listing chunk {key}")
    if not isinstance(doc, dict):
        raise IntegrityError(f"listing chunk {key} is not a JSON object")
    reader.signer.check_doc(doc, key, f"listing chunk {key}")
    entries = doc.get("entries")
    if doc.get("format") != _CHUNK_FORMAT or doc.get("first") != k * CHUNK + 1:
        raise IntegrityError(f"listing chunk {key} has another format or first slot")
    sizes = range(CHUNK, CHUNK + 1) if full else range(1, CHUNK)
    if not isinstance(entries, list) or len(entries) not in sizes:
        raise IntegrityError(f"listing chunk {key} holds a wrong number of entries")
    versions: dict[int, ModelVersion | None] = {}
    raw: dict[int, Any] = {}
    for s, entry in enumerate(entries, start=k * CHUNK + 1):
        raw[s] = entry
        if entry is None:
            versions[s] = None
            continue
        if not isinstance(entry, dict):
            raise IntegrityError(f"listing chunk {key}: entry {s} is not a manifest")
        version = check_stored(check_version, entry.get("version"), key)
        mv = reader.parse(manifest_key(name, version), entry)
        if mv.sequence != s:
            raise IntegrityError(f"listing chunk {key}: entry {s} has sequence {mv.sequence}")
        versions[s] = mv
    return versions, raw


def _read_slots(
    reader: Reader, name: str, seqs: Iterable[int], prefetched: Mapping[str, bytes | None]
) -> dict[str, bytes]:
    """The stored slots ``seqs`` by key (missing ones left out), read in one batch but for
    those in ``prefetched``."""
    keys = [slot_key(name, s) for s in seqs]
    got = reader.store.read_many(key for key in keys if key not in prefetched)
    for key in keys:
        if (data := prefetched.get(key)) is not None:
            got[key] = data
    return got


def _against_slots(
    reader: Reader,
    name: str,
    key: str,
    cached: Mapping[int, ModelVersion | None],
    slots: Mapping[str, bytes],
) -> None:
    """Check the entries of the chunk (or head) at ``key`` against their slots: a null
    entry needs a dead slot, a manifest the slot's claim (its version and registration).

    A chunk is a cache of the slots, trusted for what it says of them only once they
    agree: an entry edited to null would hide a committed version from every page, and
    one naming another registration would list a version the slot never committed.
    ``slots`` holds the stored slots by key; raises :class:`IntegrityError` naming the
    first entry that disagrees.

    A slot that cannot be read (damaged, or not signed with the registry's key) cannot
    contradict its entry: the chunk is trusted for it, with a :class:`RepairWarning`
    naming the slot, as the chunk alone was before slots were checked. Condemning the
    chunk would leave nothing to list that slot from (reading it fails the same way), and
    one bad sector would make every page of the model fail.
    """
    for s, mv in cached.items():
        where = slot_key(name, s)
        if where not in slots:
            raise IntegrityError(f"listing chunk {key}: entry {s} has no slot")
        try:
            slot = check_slot(slots[where], where, reader.signer)
        except IntegrityError as exc:
            held = "a dead slot" if mv is None else f"version {mv.version!r}"
            warnings.warn(
                f"{exc}; listing chunk {key} is trusted for slot {s} instead ({held}): "
                f"restore {where} from a copy of the registry",
                RepairWarning,
                stacklevel=6,
            )
            continue
        if mv is None and not slot.get("dead"):
            raise IntegrityError(
                f"listing chunk {key}: entry {s} is null, but its slot is not dead "
                f"(it names version {slot['version']!r})"
            )
        if mv is not None and (
            slot.get("dead")
            or (slot["version"], slot["registration"]) != (mv.version, mv.registration)
        ):
            raise IntegrityError(
                f"listing chunk {key}: entry {s} (version {mv.version!r}) is not the "
                "registration its slot names"
            )


def _ignoring(key: str, exc: BaseException) -> bool:
    """Warn that the listing chunk (or head) at ``key`` is ignored because of ``exc``; True."""
    warnings.warn(
        f"ignoring the damaged listing chunk {key} ({exc}); its slots are read one by "
        "one instead, and it is rewritten",
        RepairWarning,
        stacklevel=6,
    )
    return True


def _write(reader: Reader, key: str, first: int, entries: list[Any], *, create: bool) -> None:
    """Store a chunk document at ``key`` (best effort: it is a cache). Its entries were
    read from their slots: this handle need not check them again (:data:`_CHECKED`)."""
    doc = {"format": _CHUNK_FORMAT, "first": first, "entries": entries}
    data = reader.signer.seal_bytes(doc, key)
    _note_checked(reader, key, data)
    # Every entry is settled, so writers racing write the same entries (a head: the same
    # or fewer); whichever lands is right.
    with contextlib.suppress(FileExistsError, ModelshipError, OSError):
        if create:
            reader.store.create(key, data)
        else:
            reader.store.replace(key, data)


def _read(reader: Reader, key: str, prefetched: dict[str, bytes | None]) -> bytes:
    """The document at ``key``, read ahead or now (then kept in ``prefetched``)."""
    if key not in prefetched:
        try:
            prefetched[key] = reader.store.read(key)
        except FileNotFoundError:
            prefetched[key] = None
    data = prefetched[key]
    if data is None:
        raise FileNotFoundError(key)
    return data


@attrs.define
class _Checked:
    """The listing documents one handle checked against their slots (see :data:`_CHECKED`)."""

    store: int  # the id of the store they were read from
    digests: dict[str, bytes] = attrs.Factory(dict)


_CHECKED: weakref.WeakKeyDictionary[Signer, _Checked] = weakref.WeakKeyDictionary()
"""By registry handle (its :class:`Signer`, one per handle): the sha256 of each listing
document (chunk or head) whose entries matched their slots, by key. A chunk's slots are
settled and never change, so bytes equal to bytes checked need no second look, and a
handle's warm pages read no slots; bytes that changed (damaged, or a head replaced) are
checked again. Gone with the handle."""
_MAX_CHECKED = 1 << 14
"""Documents remembered per handle (the chunks of 262,144 slots, about 1.5 MiB); past it
the handle forgets them all and checks each again when it next reads it."""


def _checked(reader: Reader, key: str, prefetched: dict[str, bytes | None]) -> bool:
    """Whether this handle checked the bytes at ``key`` against their slots before."""
    seen = _CHECKED.get(reader.signer)
    data = prefetched.get(key)
    if seen is None or seen.store != id(reader.store) or data is None:
        return False
    return seen.digests.get(key) == hashlib.sha256(data).digest()


def _note_checked(reader: Reader, key: str, data: bytes) -> None:
    seen = _CHECKED.get(reader.signer)
    if seen is None or seen.store != id(reader.store) or len(seen.digests) >= _MAX_CHECKED:
        seen = _CHECKED[reader.signer] = _Checked(id(reader.store))
    seen.digests[key] = hashlib.sha256(data).digest()


def _chunk(
    reader: Reader, name: str, k: int, top: int, prefetched: dict[str, bytes | None]
) -> Mapping[int, _Slot]:
    """What the slots of chunk ``k`` up to ``top`` hold (see :data:`_Slot`).

    A full chunk comes from its document; the top chunk from its head (the settled
    slots from its first, replaced as more settle) and then slot by slot. A document's
    entries are checked against their slots once per handle (:data:`_CHECKED`).
    ``prefetched`` holds documents and slots read ahead (None: looked for, not stored).
    """
    first, last = k * CHUNK + 1, min((k + 1) * CHUNK, top)
    full = last == (k + 1) * CHUNK
    key = listing_key(name, k, head=not full)
    cached: dict[int, ModelVersion | None] = {}
    raw: dict[int, Any] = {}
    damaged = False
    try:
        cached, raw = _from_doc(reader, name, k, _read(reader, key, prefetched), full=full)
    except FileNotFoundError:
        pass
    except (ModelshipError, ValueError, KeyError, TypeError) as exc:
        damaged = _ignoring(key, exc)
    if cached and not _checked(reader, key, prefetched):
        slots = _read_slots(reader, name, cached, prefetched)  # a store failure is raised
        try:
            _against_slots(reader, name, key, cached, slots)
        except IntegrityError as exc:
            cached, raw, damaged = {}, {}, _ignoring(key, exc)
        else:
            _note_checked(reader, key, _read(reader, key, prefetched))
    if full and cached:
        return cached
    start = first + min(len(raw), last - first + 1)  # a head holds settled slots only
    found, entries, settled = _from_slots(reader, name, range(start, last + 1), prefetched)
    versions: dict[int, _Slot] = {s: cached[s] for s in range(first, start)}
    versions |= found
    known = [raw[s] for s in range(first, start)] + [
        entries[s] for s in range(start, start + settled)
    ]
    if full and len(known) == CHUNK and reader.may_write():
        _write(reader, key, first, known, create=not damaged)
        with contextlib.suppress(ModelshipError, OSError):
            reader.store.delete(listing_key(name, k, head=True))
    elif not full and (settled >= _HEAD_AFTER or (damaged and known)) and reader.may_write():
        _write(reader, key, first, known, create=False)
    return versions


# --- pages ----------------------------------------------------------------------------------


def _hidden(reader: Reader, name: str, include_archived: bool) -> tuple[dict[str, str], set[str]]:
    """Marker keys by version of the versions to hide; the archived versions among them."""
    hidden: dict[str, str] = {}
    archived: set[str] = set()
    states = [VersionState.PURGED, VersionState.ARCHIVED]
    for state in states:
        where = folder(name, state.value)
        for entry in reader.store.list(where):
            if not is_document(entry):
                continue
            version = number_of(entry)
            if state is VersionState.ARCHIVED:
                archived.add(version)
                if include_archived:
                    continue
            hidden.setdefault(version, f"{where}/{entry}")
    return hidden, archived


def _check_markers(reader: Reader, keys: Sequence[str]) -> None:
    """With a signing key, read and check the markers that hid versions from a page."""
    if reader.signer.key is None:
        return
    for key, data in reader.store.read_many(keys).items():
        reader.marker(key, data)


def _tags_of(
    reader: Reader, name: str, conditions: tuple[Condition, ...]
) -> Callable[[ModelVersion], Mapping[str, str]]:
    """How to get a version's current tags, reading logs only if a condition needs them."""
    if not any(c.field == "tags" for c in conditions):
        return lambda mv: mv.tags
    tagged = tagged_versions(reader.store, name)

    def tags(mv: ModelVersion) -> Mapping[str, str]:
        if mv.version not in tagged:
            return mv.tags
        return current_tags(reader.store, name, mv.version, reader.signer, mv.tags)

    return tags


def _query(name: str, conditions: tuple[Condition, ...], include_archived: bool) -> str:
    return fingerprint(conditions, name, include_archived)


def check_order(order: object) -> Order:
    """``order`` if it is ``"oldest"`` or ``"newest"``, else :class:`~modelship.ConfigError`.

    Examples
    --------
    >>> check_order("newest")
    'newest'
    """
    if order == "oldest":
        return "oldest"
    if order == "newest":
        return "newest"
    raise ConfigError(f"order must be 'oldest' (registration order) or 'newest', got {order!r}")


def _prefetch(
    reader: Reader, name: str, ks: list[int], top: int, *, sure: int
) -> dict[str, bytes | None]:
    """Read the documents of chunks ``ks`` at once (on S3 the reads go out together, not
    one round trip each), then, in a second batch, the slots of those among the first
    ``sure`` (the chunks the page will read) not stored or not yet checked against their
    slots; None for those not stored."""
    ks = [k for k in ks if 0 <= k * CHUNK < top]
    keys = [listing_key(name, k, head=(k + 1) * CHUNK > top) for k in ks]
    got = reader.store.read_many(keys)
    out = {key: got.get(key) for key in keys}
    slots = [
        slot_key(name, s)
        for k, key in zip(ks[:sure], keys, strict=False)
        if not _checked(reader, key, out)
        for s in range(k * CHUNK + 1, min((k + 1) * CHUNK, top) + 1)
    ]
    got = reader.store.read_many(slots)
    return out | {key: got.get(key) for key in slots}


def _page_size(limit: object) -> int:
    """``limit`` as an ``int``: a positive whole number, a NumPy integer (a page size read
    from a frame) too."""
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):
        raise ConfigError(
            f"limit must be a positive integer (versions per page), got {brief(limit)}"
        )
    if limit < 1:
        raise ConfigError(f"limit must be a positive integer (versions per page), got {limit}")
    return int(limit)


def list_page(  # noqa: PLR0913 - the listing's documented keyword-only options
    reader: Reader,
    name: str,
    *,
    limit: int,
    cursor: str | None,
    order: Order,
    where: Where | None,
    include_archived: bool,
) -> VersionPage:
    """One page of at most ``limit`` versions of ``name`` (see the module docstring)."""
    limit = _page_size(limit)
    order = check_order(order)
    conditions = parse_where(where)
    query = _query(name, conditions, include_archived)
    after, carried = (None, ()) if cursor is None else _decode(cursor, name, order, query)
    top = top_slot(reader.store, name)
    if top == 0:
        raise reader.not_found(name)
    step = -1 if order == "newest" else 1
    if after is None:
        seq = top if order == "newest" else 1
    else:
        seq = min(after - 1, top) if order == "newest" else after + 1
    hidden, archived = _hidden(reader, name, include_archived)
    tags = _tags_of(reader, name, conditions)
    page: list[ModelVersion] = []
    hid: list[str] = []

    def shown(slot: _Slot) -> ModelVersion | None:
        """The version at ``slot`` if the page shows it (noting the markers that hide it)."""
        if slot is None or slot is _IN_FLIGHT:
            return None
        if slot.version in hidden:
            hid.append(hidden[slot.version])
            return None
        return slot if not conditions or match_all(conditions, slot.metrics, tags(slot)) else None

    # Slots in flight when the last page passed them come first: they are older than
    # every slot after the cursor. At most _MAX_CARRIED slots (the cursor's bound).
    waiting: list[int] = []  # still in flight, or committed and the page is full
    if carried:
        now, _, _ = _from_slots(reader, name, carried)
        for s in carried:
            if now[s] is _IN_FLIGHT or (now[s] is not None and len(page) == limit):
                waiting.append(s)
            elif (mv := shown(now[s])) is not None:
                page.append(mv)
    chunk: Mapping[int, _Slot] = {}
    # The chunks the page needs if every version is shown, and one more; more are read one
    # at a time. The slots of the chunks it surely needs are read ahead too, if needed.
    first = (seq - 1) // CHUNK
    span = min((limit - len(page)) // CHUNK + 2, top // CHUNK + 1)  # never more than exist
    ahead = [first + step * i for i in range(span)] if 1 <= seq <= top and len(page) < limit else []
    end = min(max(seq + step * (limit - len(page) - 1), 1), top)
    prefetched = _prefetch(reader, name, ahead, top, sure=abs((end - 1) // CHUNK - first) + 1)
    last = seq - step
    while 1 <= seq <= top and len(page) < limit:  # one slot a turn, towards 1 or the top
        if seq not in chunk:
            chunk = _chunk(reader, name, (seq - 1) // CHUNK, top, prefetched)
        if chunk[seq] is _IN_FLIGHT and order == "oldest":
            waiting = [*waiting, seq][-_MAX_CARRIED:]  # past the bound, gives up the oldest
        elif (mv := shown(chunk[seq])) is not None:
            page.append(mv)
        last = seq
        seq += step
    _check_markers(reader, hid)
    # A walk ends once no slot is left: carried slots still in flight are given up then,
    # and only committed ones (left over by a full page) keep it going.
    more = 1 <= seq <= top or (len(page) == limit and bool(waiting))
    return VersionPage(
        versions=tuple(page),
        next_cursor=_encode(name, order, last, query, waiting) if more else None,
        archived=frozenset(mv.version for mv in page if mv.version in archived),
    )


def filter_listing(
    reader: Reader,
    name: str,
    listing: Callable[[], list[ModelVersion]],
    *,
    order: Order,
    where: Where | None,
) -> list[ModelVersion]:
    """The full ``listing()`` (registration order), filtered and in ``order``.

    The arguments are checked before ``listing`` runs.
    """
    order = check_order(order)
    conditions = parse_where(where)
    versions = listing()
    if conditions:
        tags = _tags_of(reader, name, conditions)
        versions = [mv for mv in versions if match_all(conditions, mv.metrics, tags(mv))]
    return versions[::-1] if order == "newest" else versions
