"""Races a review found, each closed and pinned by tests of its interleavings.

1. A gc that runs whole between a registration finding its bytes stored and claiming its
   slot removes the blob and leaves no mark: the registration must not commit.
2. ``restore`` and ``purge`` of one version: of the two racing, at least one sees the
   other, and no version is left live without its bytes. A restore never puts the
   archive marker back, a purge that finds another's marker does nothing and says so,
   and a purge keeps the bytes any other version refers to, purged or not.
3. gc and a registration claiming the slot above the highest dead slot gc listed: gc
   leaves a tombstone, never a hole below the new version.
4. A registration refused for a blob that is gone is not told that purges are guarded
   against: they are not (``purge``'s docstring says so).

Interleavings are exact: the :class:`~modelship.testing.HookStore` hook of one side runs
the other at the chosen call, or, where both must be stopped half-way, holds a worker
thread at a :class:`_Pause` until the test lets it go on. Nothing sleeps.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

import pytest

import modelship as ms
from modelship.registry import GcReport
from modelship.registry._layout import GC_RUNS, blob_key, head_key, slot_key, state_key
from modelship.testing import HookStore, MemoryStore

_WAIT = 10.0  # seconds a step may take before the test calls the interleaving stuck


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _register(
    reg: ms.Registry, model: bytes, attachments: Mapping[str, bytes] | None = None
) -> ms.ModelVersion:
    return reg.register(
        model_name="m",
        model=model,
        serializer="bytes",
        attachments=attachments,
        capture_environment=False,
    )


# --- 1. gc between a registration's blob and its slot ----------------------------------------


class _AgingStore(MemoryStore):
    """A MemoryStore on which the keys in ``aged`` were written two hours ago.

    Like S3 (and unlike a local disk, which touches a blob it finds stored), it leaves a
    reused blob's time alone, so an old orphan stays old when a registration reuses it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.aged: set[str] = set()

    def modified(self, key: str) -> float:
        return super().modified(key) - (7200 if key in self.aged else 0)


def _orphan(store: _AgingStore, data: bytes) -> str:
    """Store ``data`` as an old blob no manifest refers to (a dead registration's); its key."""
    key = blob_key(_digest(data))
    writer = store.blob_writer()
    writer.write(data)
    writer.publish(key)
    store.aged.add(key)
    return key


def _gc_before_slot(
    inner: _AgingStore, slot: str, grace_seconds: float = 3600.0
) -> tuple[ms.Registry, list[GcReport]]:
    """A registry whose registration runs a whole gc just before it claims ``slot``."""
    collector = ms.Registry(inner)
    reports: list[GcReport] = []

    def gc_first(operation: str, key: str) -> None:
        if operation == "create" and key == slot and not reports:
            reports.append(collector.gc(grace_seconds=grace_seconds))

    return ms.Registry(HookStore(inner, before=gc_first)), reports


def test_a_reused_blob_gc_removed_before_the_slot_was_claimed_is_not_committed() -> None:
    inner = _AgingStore()
    reg = ms.Registry(inner)
    _register(reg, b"one")
    orphan = b"bytes a dead registration left"
    key = _orphan(inner, orphan)
    writer, reports = _gc_before_slot(inner, slot_key("m", 2))
    with pytest.raises(ms.Conflict, match=r"removed the blob .* Register again"):
        _register(writer, orphan)
    assert reports[0].blobs == (key,), "gc did not run in the gap, or removed another blob"
    assert [mv.version for mv in reg.versions("m", include_archived=True)] == ["1"]
    with pytest.raises(ms.VersionNotFound):
        reg.get("m", "2")
    assert b'"dead"' in inner.read(slot_key("m", 2))
    again = _register(reg, orphan)
    assert reg.verify("m", again.version).version == again.version == "3"
    assert reg.load("m", again.version) == orphan


def test_a_reused_attachment_blob_gc_removed_before_the_slot_is_not_committed() -> None:
    inner = _AgingStore()
    reg = ms.Registry(inner)
    _register(reg, b"one")
    key = _orphan(inner, b"notes a dead registration left")
    writer, reports = _gc_before_slot(inner, slot_key("m", 2))
    with pytest.raises(ms.Conflict, match="removed the blob"):
        _register(writer, b"fresh model", attachments={"notes": b"notes a dead registration left"})
    assert reports[0].blobs == (key,), "only the old attachment blob is gc's to remove"
    assert [mv.version for mv in reg.versions("m")] == ["1"]
    again = _register(reg, b"fresh model", attachments={"notes": b"notes a dead registration left"})
    assert reg.attachment("m", again.version, "notes") == b"notes a dead registration left"


def test_a_fresh_blob_gc_with_no_grace_removed_before_the_slot_is_not_committed() -> None:
    inner = _AgingStore()
    reg = ms.Registry(inner)
    _register(reg, b"one")
    writer, reports = _gc_before_slot(inner, slot_key("m", 2), grace_seconds=0)
    with pytest.raises(ms.Conflict, match="removed the blob"):
        _register(writer, b"just stored")
    assert reports[0].blobs == (blob_key(_digest(b"just stored")),)
    assert [mv.version for mv in reg.versions("m")] == ["1"]
    assert reg.load("m", _register(reg, b"just stored").version) == b"just stored"


def test_a_gc_run_whole_after_the_slot_is_claimed_removes_nothing_and_it_commits() -> None:
    inner = _AgingStore()
    reg = ms.Registry(inner)
    _register(reg, b"one")
    orphan = b"bytes a dead registration left"
    _orphan(inner, orphan)
    collector = ms.Registry(inner)
    reports: list[GcReport] = []

    def gc_before_the_mark_check(operation: str, key: str) -> None:
        # The slot is claimed; the registration is about to look for gc marks.
        slot_claimed = inner.exists(slot_key("m", 2))
        if operation == "list" and key == ".gc" and slot_claimed and not reports:
            reports.append(collector.gc())

    mv = _register(ms.Registry(HookStore(inner, before=gc_before_the_mark_check)), orphan)
    assert reports[0].blobs == (), "gc removed a blob while a registration was in flight"
    assert reg.verify("m", mv.version).version == "2"
    assert reg.load("m", "2") == orphan


# --- 2. restore and purge ---------------------------------------------------------------------


class _Pause:
    """A point where a worker thread waits until the test lets it go on."""

    def __init__(self) -> None:
        self._reached = threading.Event()
        self._go = threading.Event()

    def __call__(self) -> None:
        self._reached.set()
        if not self._go.wait(_WAIT):
            raise TimeoutError("the test never let this worker go on")

    def reached(self) -> None:
        assert self._reached.wait(_WAIT), "the worker never got to this point"

    def release(self) -> None:
        self._go.set()


class _Worker(threading.Thread):
    """Runs ``call`` on its own thread; :meth:`outcome` is what it raised (None: returned)."""

    def __init__(self, call: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._call = call
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._call()
        except BaseException as exc:  # handed to the test thread by outcome()
            self._error = exc

    def outcome(self) -> BaseException | None:
        self.join(_WAIT)
        assert not self.is_alive(), "the worker is stuck"
        return self._error


Hook = Callable[[str, str], None]
ARCHIVED, PURGED = state_key("m", "archived", "1"), state_key("m", "purged", "1")
KEPT = b"version one's bytes"


def _archived_version() -> MemoryStore:
    """A store holding ``m`` 1 (archived, bytes ``KEPT``) and 2 (live)."""
    inner = MemoryStore()
    reg = ms.Registry(inner)
    _register(reg, KEPT)
    _register(reg, b"version two's bytes")
    reg.delete("m", "1")
    return inner


def _hooked(inner: MemoryStore, hook: Hook) -> ms.Registry:
    return ms.Registry(HookStore(inner, before=hook))


def _before(operation: str, key: str, pause: Callable[[], None]) -> Hook:
    """A hook: ``pause()`` before each call ``operation`` on ``key``."""

    def hook(called: str, on: str) -> None:
        if (called, on) == (operation, key):
            pause()

    return hook


def _both(*hooks: Hook) -> Hook:
    def hook(operation: str, key: str) -> None:
        for each in hooks:
            each(operation, key)

    return hook


def _after(operation: str, key: str, pause: Callable[[], None]) -> Hook:
    """A hook: ``pause()`` at the first store call after the first call ``operation`` on ``key``."""
    done: list[bool] = []

    def hook(called: str, on: str) -> None:
        if done == [True]:
            done.append(True)
            pause()
        if (called, on) == (operation, key) and not done:
            done.append(True)

    return hook


def _after_marking(pause: Callable[[], None]) -> Hook:
    """A purger's hook: ``pause()`` at its first store call after it creates its marker."""
    return _after("create", PURGED, pause)


def _go_on() -> None:
    """No pause."""


def _around_unarchiving(
    inner: MemoryStore,
    *,
    before: Callable[[], None] = _go_on,
    after: Callable[[], None] = _go_on,
    marker: str = ARCHIVED,
) -> Hook:
    """A restorer's hook: ``before()`` its delete of the archive ``marker``, ``after()`` it.

    The delete is done here, between the two, so the call that follows finds nothing to
    delete: the restorer stops just after its delete, whatever it calls next.
    """

    def hook(operation: str, key: str) -> None:
        if operation == "delete" and key == marker:
            before()
            inner.delete(key)
            after()

    return hook


def _assert_live_with_its_bytes(inner: MemoryStore) -> None:
    reg = ms.Registry(inner)
    assert reg.get("m", "1").version == "1"
    assert reg.load("m", "1") == KEPT
    assert not inner.exists(PURGED)
    assert [mv.version for mv in reg.versions("m")] == ["1", "2"]


def _assert_purged(inner: MemoryStore) -> None:
    reg = ms.Registry(inner)
    with pytest.raises(ms.ArchivedVersion, match="was purged"):
        reg.get("m", "1", include_archived=True)
    assert not inner.exists(blob_key(_digest(KEPT)))
    assert inner.exists(PURGED)
    assert [mv.version for mv in reg.versions("m", include_archived=True)] == ["2"]
    assert [mv.version for mv in reg.versions("m", include_archived=True, limit=10)] == ["2"]
    assert reg.get("m").version == "2"


def test_a_restore_before_purge_marks_makes_the_purge_give_up_and_keep_the_bytes() -> None:
    inner = _archived_version()

    def restore_first(operation: str, key: str) -> None:
        if operation == "create" and key == PURGED:
            ms.Registry(inner).restore("m", "1")

    with pytest.raises(ms.Conflict, match="restored while it was being purged"):
        _hooked(inner, restore_first).purge("m", "1")
    _assert_live_with_its_bytes(inner)


def test_a_restore_after_the_purge_found_it_archived_raises_and_it_ends_purged() -> None:
    # Before today's fix the restore put the archive marker back and raised
    # ArchivedVersion; now its delete stands, and the purge marker alone says "purged".
    inner = _archived_version()
    checked, decided = _Pause(), _Pause()
    restorer = _Worker(
        lambda: _hooked(inner, _around_unarchiving(inner, before=checked)).restore("m", "1")
    )
    checked.reached()  # the restore saw no purge; it deletes the archive marker next
    purger = _Worker(lambda: _hooked(inner, _after("exists", ARCHIVED, decided)).purge("m", "1"))
    decided.reached()  # the purge found the version still archived: it deletes bytes next
    checked.release()
    refused = restorer.outcome()
    assert isinstance(refused, ms.Conflict)
    assert "a purge of m version 1 was under way while it was being restored" in str(refused)
    decided.release()
    assert purger.outcome() is None
    _assert_purged(inner)
    assert not inner.exists(ARCHIVED)


def test_a_purge_marking_inside_the_restores_window_gives_up_and_the_version_is_live() -> None:
    inner = _archived_version()
    checked, unarchived = _Pause(), _Pause()
    purger = _Worker(lambda: _hooked(inner, _before("create", PURGED, checked)).purge("m", "1"))
    checked.reached()  # the purge saw the version archived; it creates its marker next
    restorer = _Worker(
        lambda: _hooked(inner, _around_unarchiving(inner, after=unarchived)).restore("m", "1")
    )
    unarchived.reached()  # the archive marker is gone; the restore looks for a purge next
    checked.release()
    assert isinstance(purger.outcome(), ms.Conflict)
    unarchived.release()
    assert restorer.outcome() is None
    _assert_live_with_its_bytes(inner)


def test_a_purge_and_a_restore_that_see_each_other_both_raise_and_it_ends_live() -> None:
    inner = _archived_version()
    checked, unarchived, marked, giving_up = _Pause(), _Pause(), _Pause(), _Pause()
    restorer = _Worker(
        lambda: _hooked(
            inner, _around_unarchiving(inner, before=checked, after=unarchived)
        ).restore("m", "1")
    )
    checked.reached()  # the restore saw no purge; it deletes the archive marker next
    purger = _Worker(
        lambda: _hooked(
            inner, _both(_after_marking(marked), _before("delete", PURGED, giving_up))
        ).purge("m", "1")
    )
    marked.reached()
    checked.release()
    unarchived.reached()
    marked.release()
    giving_up.reached()  # the purge found the archive marker gone; it takes its own back next
    unarchived.release()
    assert isinstance(restorer.outcome(), ms.Conflict)  # it saw the purge marker
    giving_up.release()
    assert isinstance(purger.outcome(), ms.Conflict)
    # The restore's delete stands (no archive marker is put back): the purge gave way.
    _assert_live_with_its_bytes(inner)
    assert not inner.exists(ARCHIVED)


def test_a_purge_that_finds_another_purges_marker_raises_and_leaves_the_bytes_to_it() -> None:
    # Three at once: the other purge gives way to a restore, so the bytes must stay.
    inner = _archived_version()
    late_checked, checked, marked = _Pause(), _Pause(), _Pause()
    restore_checked, unarchived = _Pause(), _Pause()
    late = _Worker(lambda: _hooked(inner, _before("create", PURGED, late_checked)).purge("m", "1"))
    late_checked.reached()
    purger = _Worker(
        lambda: _hooked(
            inner, _both(_before("create", PURGED, checked), _after_marking(marked))
        ).purge("m", "1")
    )
    checked.reached()
    restorer = _Worker(
        lambda: _hooked(
            inner, _around_unarchiving(inner, before=restore_checked, after=unarchived)
        ).restore("m", "1")
    )
    restore_checked.reached()
    checked.release()
    marked.reached()
    late_checked.release()
    # The marker was there: another purge is under way, and this one does nothing. It
    # does not return as if it purged, for the other gives way to the restore below.
    told = late.outcome()
    assert isinstance(told, ms.Conflict)
    assert "another purge of m version 1 is under way; nothing was done by this one" in str(told)
    restore_checked.release()
    unarchived.reached()
    marked.release()
    assert isinstance(purger.outcome(), ms.Conflict)
    unarchived.release()
    assert restorer.outcome() is None
    _assert_live_with_its_bytes(inner)


@pytest.mark.parametrize("grace", [3600.0, 0.0])
def test_gc_keeps_the_bytes_of_a_version_whose_purge_gives_way_to_a_restore(
    grace: float,
) -> None:
    # gc took every purge marker for a done purge: one still deciding (it gives way to a
    # restore or an alias, and takes its marker back) lost the version's bytes to gc. With
    # grace_seconds=0 any marker was old enough: purge markers now settle for an hour.
    inner = _AgingStore()
    reg = ms.Registry(inner)
    mv = _register(reg, b"old model")
    inner.aged.add(blob_key(mv.artifact.digest))
    reg.delete("m", "1")
    archived = state_key("m", "archived", "1")
    collector = ms.Registry(inner)
    reports: list[GcReport] = []

    def restore_then_gc(operation: str, key: str) -> None:
        # purge created its marker and now asks whether the version is still archived: a
        # restore deleted the archive marker just before, and a gc runs whole meanwhile.
        if operation == "exists" and key == archived and not reports:
            inner.delete(archived)
            reports.append(collector.gc(grace_seconds=grace))

    purging = ms.Registry(HookStore(inner, before=restore_then_gc))
    with pytest.raises(ms.Conflict, match="restored while it was being purged"):
        purging.purge("m", "1")
    assert reports[0].blobs == ()
    assert reg.load("m", "1") == b"old model"


def test_a_restore_that_another_restore_overtook_does_not_put_the_archive_marker_back() -> None:
    # Restore R2 looked (the version archived) and is about to delete the archive marker;
    # restore R1 runs whole and returns: the version is live. A purge that had seen it
    # archived creates its marker; R2 then deletes nothing and finds the purge marker. It
    # used to put the archive marker back from a stale copy, and the purge, finding it,
    # deleted the bytes of a version R1 had returned as restored.
    inner = _archived_version()
    overtaken = _Pause()
    late = _Worker(lambda: _hooked(inner, _before("delete", ARCHIVED, overtaken)).restore("m", "1"))
    overtaken.reached()
    returned: list[None] = []

    def restore_then_resume_the_late_restore(operation: str, key: str) -> None:
        if (operation, key) == ("create", PURGED) and not returned:
            returned.append(ms.Registry(inner).restore("m", "1"))
        if (operation, key) == ("exists", ARCHIVED):
            overtaken.release()
            late.join(_WAIT)

    purger = _Worker(lambda: _hooked(inner, restore_then_resume_the_late_restore).purge("m", "1"))
    told = purger.outcome()
    assert returned == [None]  # the first restore returned: the version must stay live
    _assert_live_with_its_bytes(inner)
    assert not inner.exists(ARCHIVED)
    assert isinstance(told, ms.Conflict)
    assert "restored while it was being purged" in str(told)
    refused = late.outcome()
    assert isinstance(refused, ms.Conflict)
    assert "was under way while it was being restored" in str(refused)


def test_a_purge_that_finds_another_purges_marker_raises_though_that_one_purges() -> None:
    inner = _archived_version()
    other: list[None] = []

    def another_purge_first(operation: str, key: str) -> None:
        if (operation, key) == ("create", PURGED) and not other:
            other.append(ms.Registry(inner).purge("m", "1"))

    with pytest.raises(ms.Conflict, match="nothing was done by this one: check get"):
        _hooked(inner, another_purge_first).purge("m", "1")
    assert other == [None]
    _assert_purged(inner)


SHARED = b"bytes versions one and two share"
SHARED_BLOB = blob_key(_digest(SHARED))
ARCHIVED_2, PURGED_2 = state_key("m", "archived", "2"), state_key("m", "purged", "2")


def _two_archived_versions_sharing_their_bytes() -> _AgingStore:
    inner = _AgingStore()
    reg = ms.Registry(inner)
    for _ in range(2):
        _register(reg, SHARED)
    _register(reg, b"version three's bytes")
    reg.delete("m", "1")
    reg.delete("m", "2")
    return inner


def test_a_purge_keeps_bytes_shared_with_a_version_whose_own_purge_gives_way() -> None:
    # purge(2) created its marker and gives way to a restore of 2; a purge(1) run whole in
    # between took 2 for purged (its marker, not yet taken back) and deleted the bytes.
    inner = _two_archived_versions_sharing_their_bytes()
    checked, unarchived = _Pause(), _Pause()
    restorer = _Worker(
        lambda: _hooked(
            inner,
            _around_unarchiving(inner, before=checked, after=unarchived, marker=ARCHIVED_2),
        ).restore("m", "2")
    )
    checked.reached()
    purged_one: list[None] = []

    def restore_and_purge_one_before_the_check(operation: str, key: str) -> None:
        if (operation, key) == ("exists", ARCHIVED_2) and not purged_one:
            checked.release()
            unarchived.reached()  # the restore deleted the archive marker of 2
            purged_one.append(ms.Registry(inner).purge("m", "1"))

    with pytest.raises(ms.Conflict, match="restored while it was being purged"):
        _hooked(inner, restore_and_purge_one_before_the_check).purge("m", "2")
    unarchived.release()
    assert restorer.outcome() is None  # it found no purge marker: 2 is live
    reg = ms.Registry(inner)
    assert purged_one == [None]
    with pytest.raises(ms.ArchivedVersion, match="was purged"):
        reg.get("m", "1", include_archived=True)
    assert not inner.exists(PURGED_2)
    assert reg.load("m", "2") == SHARED
    assert reg.verify("m", "2").version == "2"


def test_bytes_only_purged_versions_share_stay_until_gc_collects_them() -> None:
    inner = _two_archived_versions_sharing_their_bytes()
    reg = ms.Registry(inner)
    reg.purge("m", "1")
    reg.purge("m", "2")
    # Neither purge could tell the other's marker from one that is taken back yet.
    assert inner.exists(SHARED_BLOB)
    inner.aged.add(SHARED_BLOB)
    assert reg.gc().blobs == ()  # the purge markers are younger than the grace period
    # ... and than the hour a purge mark settles, whatever the grace.
    assert reg.gc(grace_seconds=0).blobs == ()
    inner.aged.update({state_key("m", "purged", "1"), state_key("m", "purged", "2")})
    assert reg.gc().blobs == (SHARED_BLOB,)
    assert not inner.exists(SHARED_BLOB)
    assert reg.load("m", "3") == b"version three's bytes"


# --- 3. gc and the slot above the highest dead slot ------------------------------------------


def test_gc_leaves_the_top_dead_slot_a_tombstone_while_a_registration_takes_the_next() -> None:
    inner = _AgingStore()
    reg = ms.Registry(inner)
    _register(reg, b"one")
    old = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    died = {"version": "2", "registration": "d" * 32, "at": old}
    inner.create(slot_key("m", 2), json.dumps(died).encode())
    inner.aged.add(slot_key("m", 2))  # gc ages a slot by its time in the store
    claimed = _Pause()

    def pause_once_slot_3_is_claimed(operation: str, key: str) -> None:
        # The registration claimed slot 3 and is about to look for gc marks.
        if (operation, key) == ("list", GC_RUNS) and inner.exists(slot_key("m", 3)):
            claimed()

    registering: list[_Worker] = []

    def register_at_the_dead_slot(operation: str, key: str) -> None:
        # gc listed slot 2 as the highest, dead; before it writes there, a registration
        # finds slot 2 taken and claims slot 3.
        if operation in {"delete", "replace"} and key == slot_key("m", 2) and not registering:
            writer = _hooked(inner, pause_once_slot_3_is_claimed)
            registering.append(_Worker(lambda: _register(writer, b"three")))
            claimed.reached()

    report = _hooked(inner, register_at_the_dead_slot).gc()
    claimed.release()
    assert registering[0].outcome() is None  # gc had ended when it looked: it committed
    assert report.dead_slots == (slot_key("m", 2),)
    inner.replace(head_key("m"), b'{"n": 1}')  # a hint that lags, as hints may
    assert reg.get("m").version == "3"
    assert [mv.version for mv in reg.versions("m", limit=10, order="newest")] == ["3", "1"]
    assert [mv.version for mv in reg.versions("m")] == ["1", "3"]
    assert json.loads(inner.read(slot_key("m", 2)))["dead"] is True
    assert _register(reg, b"four").version == "4"


# --- 4. what a registration refused for a missing blob is told --------------------------------


def test_a_registration_refused_for_a_removed_blob_is_not_told_purges_are_guarded() -> None:
    inner = _AgingStore()
    _register(ms.Registry(inner), b"one")
    _orphan(inner, b"bytes a dead registration left")
    writer, _ = _gc_before_slot(inner, slot_key("m", 2))
    with pytest.raises(ms.Conflict) as refused:
        _register(writer, b"bytes a dead registration left")
    told = str(refused.value)
    assert told.startswith(f"a garbage collection on {inner.url} removed the blob")
    assert "purges are not coordinated with registrations, see Registry.purge" in told


def test_a_delete_that_gives_way_to_an_alias_says_so_when_a_purge_went_on_meanwhile() -> None:
    # delete() raised Conflict ("move the aliases first": nothing done), yet a purge had
    # acted on its archive marker before it was taken back: the version ended purged.
    # set_alias(m, prod, 1) pauses before its move; delete(m, 1) creates its marker and
    # pauses before reading the aliases; a purge runs whole; the move lands; delete sees
    # the alias and gives way; set_alias sees "purged" and undoes its move.
    inner = MemoryStore()
    plain = ms.Registry(inner)
    for model in (b"one", b"two"):
        _register(plain, model)
    plain.set_alias("m", "prod", "2")
    archived, purged = state_key("m", "archived", "1"), state_key("m", "purged", "1")
    at = {k: threading.Event() for k in ("move", "state", "aliases")}
    go = {k: threading.Event() for k in ("move", "state", "aliases")}
    moved: list[int] = []
    marked: list[int] = []
    out: dict[str, str] = {}

    def mover(operation: str, key: str) -> None:
        if operation == "create" and "/aliases/" in key and not moved:
            moved.append(1)
            at["move"].set()
            go["move"].wait(_WAIT)
        elif operation == "read" and key == purged and moved == [1]:
            moved.append(2)
            at["state"].set()
            go["state"].wait(_WAIT)

    def deleter(operation: str, key: str) -> None:
        if operation == "create" and key == archived:
            marked.append(1)
        elif marked == [1] and operation == "read" and key.endswith("hint-aliases.json"):
            marked.append(2)
            at["aliases"].set()
            go["aliases"].wait(_WAIT)

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            call()
            out[name] = "returned"
        except ms.ModelshipError as exc:
            out[name] = type(exc).__name__

    mover_reg = ms.Registry(HookStore(inner, before=mover))
    deleter_reg = ms.Registry(HookStore(inner, before=deleter))
    moving = threading.Thread(
        target=run, args=("set_alias", lambda: mover_reg.set_alias("m", "prod", "1"))
    )
    moving.start()
    assert at["move"].wait(_WAIT)
    deleting = threading.Thread(target=run, args=("delete", lambda: deleter_reg.delete("m", "1")))
    deleting.start()
    assert at["aliases"].wait(_WAIT)
    run("purge", lambda: plain.purge("m", "1"))
    go["move"].set()
    assert at["state"].wait(_WAIT)
    go["aliases"].set()
    deleting.join(_WAIT)
    go["state"].set()
    moving.join(_WAIT)
    assert out == {"purge": "returned", "delete": "ArchivedVersion", "set_alias": "ArchivedVersion"}
    assert inner.exists(purged)
    assert plain.aliases("m") == {"prod": "2"}
