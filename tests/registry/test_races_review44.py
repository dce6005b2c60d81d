"""Races of review 44: copy_registry meeting a purge that gives way, or a release; two deletes.

Interleavings are exact: a :class:`~modelship.testing.HookStore` hook pauses one side at a
chosen store call (``threading.Event``), and the other runs in between. Each runs on a
``MemoryStore`` and on a local folder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import modelship as ms
from modelship._model_version import VersionState
from modelship.registry import FsspecStore
from modelship.registry._layout import blob_key, state_key
from modelship.registry._protocols import Store
from modelship.testing import HookStore, MemoryStore

W = 10.0
Make = Callable[[], Store]


@pytest.fixture(params=["memory", "folder"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Make:
    if request.param == "memory":
        return MemoryStore
    count = [0]

    def folder() -> Store:
        count[0] += 1
        return FsspecStore.from_url(str(tmp_path / f"r{count[0]}"))

    return folder


def _two(inner: Store) -> ms.Registry:
    plain = ms.Registry(inner)
    for b in (b"one", b"two"):
        plain.register(model_name="m", model=b, serializer="bytes", capture_environment=False)
    return plain


def _run(out: dict[str, str], label: str, call: Callable[[], object]) -> None:
    try:
        call()
        out[label] = "returned"
    except ms.ModelshipError as exc:
        out[label] = type(exc).__name__


def _copy_while_purge_gives_way(make: Make, *, at: Callable[[str, str], bool]) -> ms.Registry:
    """Version 1 archived; a restore is paused before it deletes the archive marker and a
    purge is paused after creating its marker; the copy runs, and at the store call ``at``
    lets the restore, then the purge (which gives way), finish. Returns the destination."""
    inner = make()
    _two(inner).delete("m", "1")
    purged, archived = state_key("m", "purged", "1"), state_key("m", "archived", "1")
    out: dict[str, str] = {}
    p_paused, p_go, r_paused, r_go = (threading.Event() for _ in range(4))
    marked: list[int] = []

    def purger(op: str, key: str) -> None:
        if op == "create" and key == purged:
            marked.append(1)
        elif marked == [1] and op == "read" and key.endswith("hint-aliases.json"):
            marked.append(2)
            p_paused.set()
            p_go.wait(W)

    def restorer(op: str, key: str) -> None:
        if op == "delete" and key == archived and not r_paused.is_set():
            r_paused.set()
            r_go.wait(W)

    restoring = ms.Registry(HookStore(inner, before=restorer))
    tr = threading.Thread(target=_run, args=(out, "restore", lambda: restoring.restore("m", "1")))
    tr.start()
    assert r_paused.wait(W)
    purging = ms.Registry(HookStore(inner, before=purger))
    tp = threading.Thread(target=_run, args=(out, "purge", lambda: purging.purge("m", "1")))
    tp.start()
    assert p_paused.wait(W)
    fired: list[int] = []

    def copier(op: str, key: str) -> None:
        if at(op, key) and not fired:
            fired.append(1)
            r_go.set()
            tr.join(W)
            p_go.set()
            tp.join(W)

    dst = ms.Registry(make())
    try:
        ms.copy_registry(ms.Registry(HookStore(inner, before=copier)), dst)
    finally:
        r_go.set()
        p_go.set()
        tr.join(W)
        tp.join(W)
    assert fired
    assert out == {"restore": "Conflict", "purge": "Conflict"}  # the purge gave way
    assert ms.Registry(inner).get("m", "1").version == "1"  # live in the source
    return dst


def test_copy_purge_marker_listed_then_taken_back_copies_the_bytes(make: Make) -> None:
    """The copy listed the purge marker; the purge gave way before the documents were read:
    the version is copied live with its bytes (it was copied live with none)."""
    dst = _copy_while_purge_gives_way(
        make, at=lambda op, key: op == "list" and key == "models/m/tags"
    )
    assert dst.verify("m", "1").version == "1"
    assert dst.load("m", "1") == b"one"


def test_copy_purge_marker_read_then_taken_back_is_not_purged_for_good(make: Make) -> None:
    """The copy read a purge marker younger than PURGE_SETTLE of a purge that then gave way:
    the destination holds the version with its bytes, archived (as the source had it), not
    purged for good; restored there, copying again works."""
    dst = _copy_while_purge_gives_way(
        make, at=lambda op, key: op == "read" and key.startswith("models/m/versions/")
    )
    assert dst._state("m", "1") is VersionState.ARCHIVED
    assert dst.verify("m", "1").version == "1"
    dst.restore("m", "1")
    assert dst.load("m", "1") == b"one"


def test_copy_young_purge_with_bytes_kept_waits_for_settle(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A purge marker younger than PURGE_SETTLE whose bytes are still there is left for a
    later copy (the version copied archived, with its bytes); once settled, it is copied."""
    src = ms.Registry(make())
    for _ in range(2):  # one artifact, shared: purging 1 deletes no byte
        src.register(model_name="m", model=b"same", serializer="bytes", capture_environment=False)
    src.delete("m", "1")
    src.purge("m", "1")
    dst = ms.Registry(make())
    ms.copy_registry(src, dst)
    assert dst._state("m", "1") is VersionState.ARCHIVED
    monkeypatch.setattr("modelship.registry._copy.PURGE_SETTLE", -60.0)
    ms.copy_registry(src, dst)
    assert dst._state("m", "1") is VersionState.PURGED


def test_copy_purge_done_with_its_bytes_gone_is_copied_purged(make: Make) -> None:
    """A young purge marker whose version's bytes are gone is a purge that went on."""
    src = _two(make())
    src.delete("m", "1")
    src.purge("m", "1")
    dst = ms.Registry(make())
    ms.copy_registry(src, dst)
    assert dst._state("m", "1") is VersionState.PURGED
    assert [v.version for v in dst.versions("m")] == ["2"]


def test_copy_refuses_a_young_purge_marker_alone(make: Make) -> None:
    """A purge marker read alone (a restore met the purge), not yet settled: undecided."""
    inner = make()
    src = _two(inner)
    src.delete("m", "1")
    inner.create(state_key("m", "purged", "1"), b'{"by": "x"}')
    inner.delete(state_key("m", "archived", "1"))
    dst = ms.Registry(make())
    with pytest.raises(ms.Conflict, match="not decided yet"):
        ms.copy_registry(src, dst)
    assert dst.store.list("models") == []


@pytest.mark.parametrize("purge", [False, True])
def test_copy_during_a_release_never_aliases_an_archived_version(make: Make, purge: bool) -> None:
    """The copy listed the alias log; then the source moved prod 1 -> 2 and archived (and
    purged) 1 before the copy listed the markers: the destination's prod names 2."""
    inner = make()
    plain = _two(inner)
    plain.set_alias("m", "prod", "1")
    fired: list[int] = []

    def hook(op: str, key: str) -> None:
        if op == "list" and key == "models/m/archived" and not fired:
            fired.append(1)
            plain.set_alias("m", "prod", "2", expected="1")
            plain.delete("m", "1", reason="superseded")
            if purge:
                plain.purge("m", "1")

    dst = ms.Registry(make())
    ms.copy_registry(ms.Registry(HookStore(inner, before=hook)), dst)
    assert fired
    assert dst.aliases("m") == {"prod": "2"}
    assert dst.get("m", "@prod").version == "2"


def test_second_delete_does_not_trust_a_marker_taken_back(make: Make) -> None:
    """Delete B finds delete A's marker, which A takes back because prod moved onto the
    version: B raises Conflict (it returned, the version live and aliased)."""
    inner = make()
    plain = _two(inner)
    plain.set_alias("m", "prod", "2")
    archived = state_key("m", "archived", "1")
    b_ready, a_marked, b_done = threading.Event(), threading.Event(), threading.Event()
    out: dict[str, str] = {}
    state = {"a_created": False, "c_done": False}

    def b_hook(op: str, key: str) -> None:
        if op == "create" and key == archived:
            b_ready.set()
            a_marked.wait(W)

    def a_hook(op: str, key: str) -> None:
        if op == "create" and key == archived and not state["c_done"]:
            state["c_done"] = True
            plain.set_alias("m", "prod", "1")  # another user moves prod onto 1
            state["a_created"] = True
        elif state["a_created"] and op == "read" and key.endswith("hint-aliases.json"):
            state["a_created"] = False
            a_marked.set()
            b_done.wait(W)

    def run_b() -> None:
        try:
            _run(out, "B", lambda: ms.Registry(HookStore(inner, before=b_hook)).delete("m", "1"))
        finally:
            b_done.set()

    tb = threading.Thread(target=run_b)
    tb.start()
    try:
        assert b_ready.wait(W)
        _run(out, "A", lambda: ms.Registry(HookStore(inner, before=a_hook)).delete("m", "1"))
    finally:
        a_marked.set()
        tb.join(W)
    assert out == {"A": "Conflict", "B": "Conflict"}
    assert plain.aliases("m") == {"prod": "1"}
    assert plain._state("m", "1") is VersionState.LIVE


def test_plain_second_delete_of_an_archived_version_returns(make: Make) -> None:
    reg = _two(make())
    reg.delete("m", "1")
    reg.delete("m", "1")
    assert reg._state("m", "1") is VersionState.ARCHIVED


def test_copy_accepts_an_alias_left_on_an_archived_version(make: Make) -> None:
    """An alias left on an archived version (a set_alias whose undo failed) read twice
    alike is a state of the source: copied as it is, and the models after it too."""
    inner = make()
    src = _two(inner)
    src.register(model_name="zz", model=b"z", serializer="bytes", capture_environment=False)
    src.set_alias("m", "prod", "1")
    inner.create(state_key("m", "archived", "1"), b'{"by": "x"}')
    dst = ms.Registry(make())
    ms.copy_registry(src, dst)
    assert dst.aliases("m") == {"prod": "1"}
    assert dst._state("m", "1") is VersionState.ARCHIVED
    assert dst.models() == ["m", "zz"]


def test_copy_while_an_alias_moves_between_live_versions(make: Make) -> None:
    """The source moves an alias between two live versions during each reading of the
    history: the copy takes one reading, not giving up."""
    inner = make()
    plain = _two(inner)
    plain.set_alias("m", "canary", "1")
    moves: list[str] = []

    def hook(op: str, key: str) -> None:
        if op == "list" and key == "models/m/slots":
            to = "2" if plain.aliases("m")["canary"] == "1" else "1"
            plain.set_alias("m", "canary", to)
            moves.append(to)

    dst = ms.Registry(make())
    ms.copy_registry(ms.Registry(HookStore(inner, before=hook)), dst)
    assert moves
    assert dst.aliases("m")["canary"] in {"1", "2"}
    assert [v.version for v in dst.versions("m")] == ["1", "2"]


def test_copy_young_purge_marker_alone_with_its_bytes_gone_is_copied_purged(
    make: Make,
) -> None:
    """A purge marker alone (a restore met the purge) whose version's bytes are gone: that
    purge went on, so the version is copied purged, not refused."""
    inner = make()
    src = _two(inner)
    digest = src.get("m", "1").artifact.digest
    src.delete("m", "1")
    inner.create(state_key("m", "purged", "1"), b'{"by": "x"}')
    inner.delete(state_key("m", "archived", "1"))
    inner.delete(blob_key(digest))
    dst = ms.Registry(make())
    ms.copy_registry(src, dst)
    assert dst._state("m", "1") is VersionState.PURGED
    assert [v.version for v in dst.versions("m")] == ["2"]


def test_copy_ages_a_purge_marker_by_the_stores_time_not_the_time_written_in_it(
    make: Make,
) -> None:
    """A purge marker's age is its time in the store, as gc ages it: the time written in
    it comes from the purging machine's clock (2 h behind here) and would take a purge
    still deciding for settled (third look). The bytes are shared, so none is gone."""
    inner = make()
    src = ms.Registry(inner)
    for _ in range(2):  # one artifact, shared: purging 1 deletes no byte
        src.register(model_name="m", model=b"same", serializer="bytes", capture_environment=False)
    src.delete("m", "1")
    src.purge("m", "1")
    key = state_key("m", "purged", "1")
    then = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    inner.delete(key)
    inner.create(key, json.dumps({"by": "x", "at": then}).encode())
    dst = ms.Registry(make())
    ms.copy_registry(src, dst)
    assert dst._state("m", "1") is VersionState.ARCHIVED  # its purge copied once settled


def test_copy_purge_with_bytes_gone_when_dst_holds_them_is_copied_purged(make: Make) -> None:
    """A regular sync: the destination holds version 1's blob from an earlier copy; the
    source then purged 1 (its bytes gone). The next copy copies it purged, not archived."""
    src = _two(make())
    dst = ms.Registry(make())
    ms.copy_registry(src, dst)
    src.delete("m", "1")
    src.purge("m", "1")
    ms.copy_registry(src, dst)
    assert dst._state("m", "1") is VersionState.PURGED
    with pytest.raises(ms.ArchivedVersion):
        dst.restore("m", "1")


def test_a_purge_marker_counts_only_as_read_and_signed_where_the_copier_has_a_key() -> None:
    """A marker taken back and made again by another purge since it was read is not the
    one read; an unsigned marker is no purge to a copier with a key (third look)."""
    from modelship.registry._copy import _still
    from modelship.registry._signing import Signer
    from modelship.testing import MemoryStore

    store = MemoryStore()
    key = state_key("m", "purged", "1")
    store.create(key, b'{"by": "a", "nonce": "1"}')
    assert _still(store, key, b'{"by": "a", "nonce": "1"}', Signer(None))
    store.delete(key)
    assert not _still(store, key, b'{"by": "a", "nonce": "1"}', Signer(None))
    store.create(key, b'{"by": "b", "nonce": "2"}')
    assert not _still(store, key, b'{"by": "a", "nonce": "1"}', Signer(None))
    assert not _still(store, key, b'{"by": "b", "nonce": "2"}', Signer(b"k" * 32))
