"""Registry defects a review found (review 37), each closed and pinned by a test.

Interleavings are made exact with :class:`~modelship.testing.HookStore`: the hook of one
writer runs the other at the chosen step, so no test sleeps or hopes for a race.
"""

from __future__ import annotations

import traceback
import warnings
from typing import Any

import pytest

import modelship as ms
from modelship import RepairWarning
from modelship.registry import Registry
from modelship.registry._layout import alias_key, state_key
from modelship.testing import HookStore, MemoryStore

KEY = b"k" * 32


def _two_versions_prod_on_1() -> tuple[MemoryStore, ms.Registry]:
    store = MemoryStore()
    plain = Registry(store)
    for content in (b"one", b"two"):
        plain.register(model_name="m", model=content, serializer="bytes")
    plain.set_alias("m", "prod", "1")
    return store, plain


def _every_alias_serves_a_live_version(reg: ms.Registry) -> None:
    for alias, version in reg.aliases("m").items():
        assert reg.get("m", version).version == version, alias
        assert reg.load("m", f"@{alias}") in (b"one", b"two", b"three"), alias


# --- 1. set_alias's undo never lands on a version archived or purged meanwhile ----------


@pytest.mark.parametrize("purge", [True, False], ids=["purged", "archived"])
def test_set_alias_undo_never_points_the_alias_at_a_version_gone_meanwhile(purge: bool) -> None:
    # A moves prod 1 -> 2; B archives 2 just before A's move is written (prod still on 1,
    # so B may); C archives (and purges) 1 after the move (prod on 2, so C may); A then
    # finds 2 archived and takes its move back: not to 1, which is gone.
    store, plain = _two_versions_prod_on_1()
    done: set[str] = set()

    def hook(operation: str, key: str) -> None:
        if operation == "create" and key == alias_key("m", 2) and "b" not in done:
            done.add("b")
            plain.delete("m", "2")
        moved = operation == "read" and key == state_key("m", "purged", "2")
        if moved and "c" not in done and plain.aliases("m") == {"prod": "2"}:
            # A's move is written, and A now reads 2's markers
            done.add("c")
            plain.delete("m", "1")
            if purge:
                plain.purge("m", "1")

    mover = Registry(HookStore(store, before=hook))
    with pytest.raises(ms.ArchivedVersion) as caught:
        mover.set_alias("m", "prod", "2")
    assert done == {"b", "c"}
    _every_alias_serves_a_live_version(plain)
    assert plain.aliases("m") == {}
    assert "'1', where the alias pointed before, was" in str(caught.value)
    assert "the alias was removed" in str(caught.value)


@pytest.mark.parametrize("purge", [True, False], ids=["purged", "archived"])
def test_set_alias_undo_removes_the_alias_when_its_old_target_goes_during_the_undo(
    purge: bool,
) -> None:
    # As above, but C archives (and purges) 1 while A takes its move back: after A found
    # 1 live, before A's entry pointing back at 1 is written (prod still on 2, so C may).
    store, plain = _two_versions_prod_on_1()
    done: set[str] = set()

    def hook(operation: str, key: str) -> None:
        if operation == "create" and key == alias_key("m", 2) and "b" not in done:
            done.add("b")
            plain.delete("m", "2")
        if operation == "create" and key == alias_key("m", 3) and "c" not in done:
            done.add("c")
            plain.delete("m", "1")
            if purge:
                plain.purge("m", "1")

    mover = Registry(HookStore(store, before=hook))
    with pytest.raises(ms.ArchivedVersion) as caught:
        mover.set_alias("m", "prod", "2")
    assert done == {"b", "c"}
    _every_alias_serves_a_live_version(plain)
    assert plain.aliases("m") == {}
    assert "'1', where the alias pointed before, was" in str(caught.value)
    assert "the alias was removed" in str(caught.value)
    moves = [(m.from_version, m.to_version) for m in plain.history("m")]
    assert moves[-3:] == [("1", "2"), ("2", "1"), ("1", None)]


def test_set_alias_undo_leaves_a_move_another_writer_made_meanwhile() -> None:
    # C moves prod to 3 after A's undo found 1 archived, before A removes the alias: A's
    # removal is conditioned on the log position and the value, so C's move stays.
    store, plain = _two_versions_prod_on_1()
    plain.register(model_name="m", model=b"three", serializer="bytes")
    done: set[str] = set()

    def hook(operation: str, key: str) -> None:
        if operation == "create" and key == alias_key("m", 2) and "b" not in done:
            done.add("b")
            plain.delete("m", "2")
        if operation == "create" and key == alias_key("m", 3) and "c" not in done:
            done.add("c")
            plain.delete("m", "1")
        if operation == "create" and key == alias_key("m", 4) and "d" not in done:
            done.add("d")
            plain.set_alias("m", "prod", "3")

    mover = Registry(HookStore(store, before=hook))
    with pytest.raises(ms.ModelshipError):
        mover.set_alias("m", "prod", "2")
    assert done == {"b", "c", "d"}
    assert plain.aliases("m") == {"prod": "3"}
    _every_alias_serves_a_live_version(plain)


def test_set_alias_undo_still_points_back_at_a_live_old_target() -> None:
    store, plain = _two_versions_prod_on_1()

    def hook(operation: str, key: str) -> None:
        if operation == "create" and key == alias_key("m", 2):
            plain.delete("m", "2")

    mover = Registry(HookStore(store, before=hook))
    with pytest.raises(ms.ArchivedVersion, match=r"points to '1' again"):
        mover.set_alias("m", "prod", "2")
    assert plain.aliases("m") == {"prod": "1"}


# --- 2. a URL's credentials never reach a fingerprint error -------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://u:SECRET@127.0.0.1:1/x.csv",  # port 1: refused at once, nothing listens
        "https://u:SECRET@[::1/x",  # not a URL the storage library can parse
        "memory://u:SECRET@host/absent.csv",  # nothing there
    ],
)
def test_fingerprint_errors_never_show_the_password_of_a_url(url: str) -> None:
    with pytest.raises(ms.ModelshipError) as caught:
        ms.fingerprint(url)
    shown = "".join(traceback.format_exception(caught.value))
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in shown, "a chained exception repeats the password"
    assert "***" in str(caught.value)


def test_register_with_a_data_url_never_shows_its_password() -> None:
    reg = ms.open_registry("memory://review37-data-url")
    with pytest.raises(ms.StoreError) as caught:
        reg.register(
            model_name="m",
            model=b"x",
            serializer="bytes",
            capture_environment=False,
            data={"train": "https://u:SECRET@127.0.0.1:1/x.csv"},
        )
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in "".join(traceback.format_exception(caught.value))


# --- 3. a delete's reason is bounded -----------------------------------------------------


def test_delete_refuses_a_reason_over_4096_characters_and_writes_nothing() -> None:
    store = MemoryStore()
    reg = Registry(store)
    for _ in range(2):
        reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    with pytest.raises(ms.ConfigError, match="at most 4096 characters") as caught:
        reg.delete("m", "1", reason="r" * 4097)
    assert len(str(caught.value)) < 500, "the message echoes the reason"
    assert store.list("models/m/archived") == []
    assert reg.get("m", "1").version == "1"
    reg.delete("m", "1", reason="r" * 4096)
    assert reg.get("m", "1", include_archived=True).version == "1"
    assert [mv.version for mv in reg.versions("m")] == ["2"]
    reg.purge("m", "1")


# --- 4. stray files among the markers ----------------------------------------------------


def test_full_listing_skips_stray_marker_files_as_the_paged_one_does() -> None:
    store = MemoryStore()
    reg = Registry(store, signing_key=KEY)
    for _ in range(3):
        reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    reg.delete("m", "1")
    reg.delete("m", "3")
    reg.purge("m", "3")
    store.create("models/m/archived/.DS_Store", b"\x00\x00\x00\x01Bud1")
    store.create("models/m/purged/notes.txt", b"purged v9 by hand, see ticket")
    for include_archived in (False, True):
        full = reg.versions("m", include_archived=include_archived)
        paged = reg.versions("m", include_archived=include_archived, limit=10)
        assert [mv.version for mv in full] == [mv.version for mv in paged]
    assert [mv.version for mv in reg.versions("m")] == ["2"]


# --- 5. manifest snapshots ---------------------------------------------------------------


class _CountingStore(HookStore):
    """Counts manifests read (one by one, not through a snapshot)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner, before=self._count)
        self.manifest_reads = 0

    def _count(self, operation: str, key: str) -> None:
        if operation == "read" and "/versions/" in key:
            self.manifest_reads += 1


@pytest.fixture
def snapshotted(monkeypatch: pytest.MonkeyPatch) -> tuple[MemoryStore, _CountingStore]:
    """Six versions of "m" and their snapshot (written after 5 manifests read one by one)."""
    monkeypatch.setattr(Registry, "_SNAPSHOT_AFTER", 5)
    inner = MemoryStore()
    reg = Registry(inner)
    for _ in range(6):
        reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    reg.versions("m")
    assert inner.list("models/m/index") == ["000000000006.json"]
    return inner, _CountingStore(inner)


def test_a_stray_json_file_in_the_index_folder_is_not_a_snapshot(
    snapshotted: tuple[MemoryStore, _CountingStore],
) -> None:
    inner, counting = snapshotted
    inner.create("models/m/index/notes.json", b"{}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)
        assert [mv.version for mv in Registry(counting).versions("m")] == [
            str(i) for i in range(1, 7)
        ]
    assert counting.manifest_reads == 0


@pytest.mark.parametrize("damaged", ["000000000006.json", "000000000009.json"])
def test_a_damaged_newest_snapshot_is_replaced_by_the_next_listing(
    snapshotted: tuple[MemoryStore, _CountingStore], damaged: str
) -> None:
    inner, counting = snapshotted
    key = f"models/m/index/{damaged}"
    if inner.exists(key):
        inner.replace(key, b'{"format": 1, "manifests": [')
    else:
        inner.create(key, b'{"format": 1, "manifests": [')
    reg = Registry(counting)
    expected = [str(i) for i in range(1, 7)]
    with pytest.warns(RepairWarning, match=damaged):
        assert [mv.version for mv in reg.versions("m")] == expected
    assert counting.manifest_reads == 6
    counting.manifest_reads = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)
        assert [mv.version for mv in Registry(counting).versions("m")] == expected
    assert counting.manifest_reads == 0
    assert inner.list("models/m/index") == ["000000000006.json"]


# --- 6. copy_registry with a model named twice -------------------------------------------


def test_copy_registry_copies_and_counts_a_model_named_twice_once() -> None:
    a = Registry(MemoryStore())
    b = Registry(MemoryStore())
    for _ in range(3):
        a.register(model_name="m", model=b"w", serializer="bytes", capture_environment=False)
    report = ms.copy_registry(a, b, models=["m", "m"])
    assert report.models == ("m",)
    assert report.versions == 3
    assert len(b.versions("m")) == 3


def test_a_short_password_is_masked_in_urls_only_not_all_over_the_message() -> None:
    # A one-letter password "e" was masked wherever the letter was ("Cannot conn***ct").
    from modelship._fingerprint import _shown_without_credentials

    url = "http://user:e@127.0.0.1:9/data/train.csv"
    text = "Cannot connect to host 127.0.0.1:9 ssl:default, via user:e@127.0.0.1:9"
    shown = _shown_without_credentials(text, url)
    assert shown.startswith("Cannot connect to host")
    assert "user:e@" not in shown
