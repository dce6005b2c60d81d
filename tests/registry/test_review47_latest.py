"""Review 47: ``get(name, "latest")`` past many versions that are not live, and the
``expected`` of alias moves checked as a version."""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Iterable

import pytest

import modelship as ms
from modelship.errors import IntegrityError, InvalidName
from modelship.registry import Store
from modelship.registry._layout import folder, slot_key, state_key
from modelship.testing import HookStore, MemoryStore


class _Counted(HookStore):
    """Counts round trips (a ``read_many`` is one, however many keys) and records the
    keys read; ``hook`` runs before each call, as ``before`` of a HookStore."""

    def __init__(self, inner: Store) -> None:
        self.trips = 0
        self.keys: builtins.list[str] = []
        self.hook = lambda op, key: None
        super().__init__(inner, before=self._seen)

    def _seen(self, op: str, key: str) -> None:
        if op == "read":
            self.keys.append(key)
        self.hook(op, key)

    def reset(self) -> None:
        self.trips = 0
        self.keys.clear()

    def read(self, key: str) -> bytes:
        self.trips += 1
        return super().read(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        self.trips += 1
        return super().read_many(keys)

    def list(self, prefix: str) -> builtins.list[str]:
        self.trips += 1
        return super().list(prefix)

    def exists(self, key: str) -> bool:
        self.trips += 1
        return super().exists(key)


def _registry(n: int, signing_key: bytes | None = None) -> tuple[ms.Registry, _Counted]:
    """A registry of ``n`` versions of ``m`` and a counting view of its store."""
    reg = ms.Registry(MemoryStore(), signing_key=signing_key)
    for i in range(n):
        reg.register(
            model_name="m", model=bytes([i % 256]), serializer="bytes", capture_environment=False
        )
    counted = _Counted(reg.store)
    return ms.Registry(counted, signing_key=signing_key), counted


def _markers_read(counted: _Counted) -> set[str]:
    return {k for k in counted.keys if "/archived/" in k or "/purged/" in k}


def _latest(view: ms.Registry, counted: _Counted) -> str:
    counted.reset()
    return view.get("m", "latest").version


# --- defect 1: latest past versions that are not live ---------------------------------------


def test_latest_past_many_archived_versions_reads_no_marker_of_theirs_and_few_round_trips() -> None:
    reg, counted = _registry(90)
    for v in range(90, 10, -1):
        reg.delete("m", str(v))
    view = ms.Registry(counted)
    assert _latest(view, counted) == "10"
    # Markers read: those of the first version not live (90), and the live one returned.
    markers = _markers_read(counted)
    assert {k.rsplit("/", 1)[1] for k in markers} == {"90.json", "10.json"}, sorted(markers)
    # 80 archived versions: under 20 round trips, not ~4 per archived version (320).
    assert counted.trips < 20, counted.trips
    # Each slot is read at most once, and no manifest but those of 90 and 10.
    assert len(counted.keys) == len(set(counted.keys))
    manifests = {k for k in counted.keys if "/versions/" in k}
    assert {k.rsplit("/", 1)[1] for k in manifests} == {"90.json", "10.json"}


def test_latest_round_trips_do_not_grow_with_the_archived_versions() -> None:
    reg, counted = _registry(75)
    view = ms.Registry(counted)
    trips = []
    for top, lowest in ((75, 66), (65, 6)):
        for v in range(top, lowest - 1, -1):
            reg.delete("m", str(v))
        assert _latest(view, counted) == str(lowest - 1)
        trips.append(counted.trips)
    # 10, then 70 archived: doubling batches cost about three more round trips, not 240.
    assert trips[1] - trips[0] <= 4, trips


def test_latest_skips_an_archived_top_and_a_purged_one_below_it() -> None:
    reg, counted = _registry(6)
    reg.delete("m", "6")
    reg.delete("m", "5")
    reg.purge("m", "5")
    reg.delete("m", "4")
    view = ms.Registry(counted)
    assert _latest(view, counted) == "3"
    assert {k.rsplit("/", 1)[1] for k in _markers_read(counted)} == {"6.json", "3.json"}


def test_latest_skips_a_purged_top() -> None:
    reg, counted = _registry(4)
    for v in ("4", "3"):
        reg.delete("m", v)
        reg.purge("m", v)
    assert _latest(ms.Registry(counted), counted) == "2"


def test_latest_is_a_restored_version_again() -> None:
    reg, counted = _registry(5)
    for v in ("5", "4", "3"):
        reg.delete("m", v)
    view = ms.Registry(counted)
    assert _latest(view, counted) == "2"
    reg.restore("m", "4")
    assert _latest(view, counted) == "4"
    reg.restore("m", "5")
    assert _latest(view, counted) == "5"


def test_latest_in_a_mix_of_live_archived_and_purged_versions() -> None:
    reg, counted = _registry(12)
    for v in ("12", "11", "10", "8", "7", "3"):
        reg.delete("m", v)
    reg.purge("m", "11")
    reg.purge("m", "7")
    view = ms.Registry(counted)
    assert _latest(view, counted) == "9"
    reg.delete("m", "9")
    assert _latest(view, counted) == "6"
    assert {k.rsplit("/", 1)[1] for k in _markers_read(counted)} == {"12.json", "6.json"}
    reg.restore("m", "8")
    assert _latest(view, counted) == "8"


def test_latest_when_every_version_is_archived_is_model_has_no_live_version() -> None:
    reg, counted = _registry(30)
    for v in range(30, 0, -1):
        reg.delete("m", str(v))
    with pytest.raises(ms.VersionNotFound, match="live versions"):
        _latest(ms.Registry(counted), counted)
    assert {k.rsplit("/", 1)[1] for k in _markers_read(counted)} == {"30.json"}
    assert counted.trips < 20, counted.trips


# --- races: the walk is not atomic, and reads again what the listing contradicts -------------

_LIST_ARCHIVED = ("list", folder("m", "archived"))


def _once_before(counted: _Counted, op_key: tuple[str, str], action: Callable[[], object]) -> None:
    """Run ``action()`` once, just before the call ``op_key`` (operation, key)."""
    done: list[bool] = []

    def hook(op: str, key: str) -> None:
        if (op, key) == op_key and not done:
            done.append(True)
            action()

    counted.hook = hook


def test_latest_top_restored_between_its_markers_and_the_listing_is_returned() -> None:
    reg, counted = _registry(4)
    reg.delete("m", "4")
    reg.delete("m", "3")
    _once_before(counted, _LIST_ARCHIVED, lambda: reg.restore("m", "4"))
    assert _latest(ms.Registry(counted), counted) == "4"


def test_latest_version_archived_after_the_listing_is_skipped_on_its_markers() -> None:
    reg, counted = _registry(4)
    reg.delete("m", "4")
    _once_before(counted, _LIST_ARCHIVED, lambda: reg.delete("m", "3"))
    assert _latest(ms.Registry(counted), counted) == "2"


def test_latest_version_restored_after_the_listing_below_the_top_is_skipped() -> None:
    # As the walk one slot at a time skipped a version restored just after it read its
    # markers: the answer was live when read, and 3 was archived when the folder was listed.
    reg, counted = _registry(4)
    reg.delete("m", "4")
    reg.delete("m", "3")
    _once_before(counted, ("read", slot_key("m", 3)), lambda: reg.restore("m", "3"))
    assert _latest(ms.Registry(counted), counted) == "2"
    assert _latest(ms.Registry(counted), counted) == "3"


# --- signing: the markers that hide versions are still checked -------------------------------


def test_latest_with_a_signing_key_refuses_an_unsigned_marker_hiding_a_version() -> None:
    key = secrets.token_bytes(32)
    reg, counted = _registry(5, signing_key=key)
    for v in ("5", "4"):
        reg.delete("m", v)
    view = ms.Registry(counted, signing_key=key)
    assert _latest(view, counted) == "3"
    # A marker not signed with the key (written by someone without it) hides version 3.
    reg.store.create(state_key("m", "archived", "3"), b'{"by": "mallory"}')
    with pytest.raises(IntegrityError, match="archived/3"):
        _latest(view, counted)


# --- defect 2: expected of an alias move is a version ----------------------------------------


def test_set_alias_expected_as_a_number_is_that_version() -> None:
    reg, _ = _registry(3)
    reg.set_alias("m", "production", 1)
    reg.set_alias("m", "production", 2, expected=1)
    assert reg.aliases("m") == {"production": "2"}
    with pytest.raises(ms.Conflict, match="not the expected '1'"):
        reg.set_alias("m", "production", 3, expected=1)
    reg.remove_alias("m", "production", expected=2)
    assert reg.aliases("m") == {}


@pytest.mark.parametrize("expected", ["@1", b"1", ["1"], True, 0, "latest", 1.0])
def test_alias_move_with_an_expected_that_is_no_version_raises_invalid_name(
    expected: object,
) -> None:
    reg, _ = _registry(2)
    reg.set_alias("m", "production", "1")
    moves = len(reg.history("m"))
    with pytest.raises(InvalidName, match=r"^expected must be the version"):
        reg.set_alias("m", "production", "2", expected=expected)  # type: ignore[arg-type]
    with pytest.raises(InvalidName, match=r"^expected must be the version"):
        reg.remove_alias("m", "production", expected=expected)  # type: ignore[arg-type]
    assert reg.aliases("m") == {"production": "1"}
    assert len(reg.history("m")) == moves
