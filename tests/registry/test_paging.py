"""``versions(name, limit=, cursor=, order=)``: pages that read only the slots they need.

A page walks sequence slots from the top (or from 1), reading settled chunks of 16 slots
from ``models/<name>/listing/`` where they are cached. Whatever the cache holds, a page
is exactly a slice of the full listing; a cursor survives new registrations and refuses
to be edited or reused for another listing.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from _workers import open_storage as _open

import modelship as ms
from modelship import InvalidCursor, RepairWarning
from modelship.cli import main
from modelship.registry import Store, VersionPage
from modelship.registry._listing import CHUNK, _check
from modelship.testing import HookStore, MemoryStore

KEY = b"k" * 32
LISTING = "models/m/listing"


class CountingStore(HookStore):
    """Records every key read and every folder listed."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner, before=self._record)
        self.reads: list[str] = []
        self.listed: list[str] = []

    def _record(self, operation: str, key: str) -> None:
        if operation == "read":
            self.reads.append(key)
        elif operation == "list":
            self.listed.append(key)


def _register(reg: ms.Registry, n: int, name: str = "m") -> None:
    # Paging reads manifests and slots only: no git lineage nor environment snapshot is
    # captured (they took 10 of the 11 ms of each of the fixtures' 42 registrations).
    for i in range(n):
        reg.register(
            model_name=name,
            model=f"{i}".encode(),
            serializer="bytes",
            metrics={"i": i},
            lineage={},
            capture_environment=False,
        )


def _numbers(versions: Iterable[ms.ModelVersion]) -> list[str]:
    return [mv.version for mv in versions]


def _all_pages(reg: ms.Registry, limit: int, **options: Any) -> list[str]:
    found: list[str] = []
    cursor = None
    for _ in range(1000):  # a bound: every page but the last moves on by `limit` versions
        page = reg.versions("m", limit=limit, cursor=cursor, **options)
        found += _numbers(page)
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("paging did not end")


@pytest.fixture
def reg() -> ms.Registry:
    registry = ms.Registry(MemoryStore())
    _register(registry, 20)
    registry.register(model_name="m", model=b"x", serializer="bytes", version="2.0")
    registry.register(model_name="m", model=b"x", serializer="bytes", version="22")
    _register(registry, 20)  # takes "21", then "22" is taken: a dead slot, then "23"...
    return registry


@pytest.mark.parametrize("limit", [1, 7, 16, 100])
@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_pages_in_turn_give_the_full_listing_in_order(
    reg: ms.Registry, limit: int, order: Any
) -> None:
    full = _numbers(reg.versions("m"))
    assert _all_pages(reg, limit, order=order) == (full if order == "oldest" else full[::-1])


def test_the_full_listing_can_be_newest_first() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 3)
    assert _numbers(registry.versions("m", order="newest")) == ["3", "2", "1"]


def test_a_page_is_a_version_page_sequence_and_the_full_listing_a_list(reg: ms.Registry) -> None:
    page = reg.versions("m", limit=3, order="newest")
    assert isinstance(page, VersionPage)
    assert len(page) == 3
    assert page[0].version == _numbers(page)[0]
    assert isinstance(reg.versions("m", include_archived=True), list)


def test_a_newest_page_never_lists_the_versions_folder_and_reads_a_bounded_few_keys() -> None:
    store = CountingStore(MemoryStore())
    registry = ms.Registry(store)
    _register(registry, 10 * CHUNK + 5)
    registry.versions("m", limit=50, order="newest")  # writes the chunks it read slot by slot
    store.reads.clear()
    store.listed.clear()
    page = registry.versions("m", limit=50, order="newest")
    assert _numbers(page) == [str(n) for n in range(10 * CHUNK + 5, 10 * CHUNK - 45, -1)]
    assert "models/m/versions" not in store.listed
    # The top chunk's 5 slots and manifests, 3 whole chunks, hints and the policy.
    assert len(store.reads) <= 2 * 5 + 4 + 6


def test_whole_chunks_are_written_for_settled_slots_and_a_head_for_the_top_chunk(
    reg: ms.Registry,
) -> None:
    reg.versions("m", limit=100)
    top = len(reg.store.list("models/m/slots"))
    assert top % CHUNK >= 4
    chunks = [f"{k:012d}.json" for k in range(top // CHUNK)]
    assert reg.store.list(LISTING) == sorted([*chunks, f"{top // CHUNK:012d}-head.json"])


def test_a_head_is_read_instead_of_the_slots_it_holds_and_gives_way_to_the_whole_chunk() -> None:
    store = CountingStore(MemoryStore())
    registry = ms.Registry(store)
    _register(registry, CHUNK - 2)
    registry.versions("m", limit=5, order="newest")  # writes the head of chunk 0
    store.reads.clear()
    assert _numbers(registry.versions("m", limit=5, order="newest")) == [
        "14",
        "13",
        "12",
        "11",
        "10",
    ]
    assert not [key for key in store.reads if "/slots/" in key or "/versions/" in key]
    _register(registry, 3)
    assert len(registry.versions("m", limit=100)) == CHUNK + 1
    assert registry.store.list(LISTING) == ["000000000000.json"]


def test_a_damaged_head_is_ignored_with_a_warning_and_rewritten() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 6)
    registry.versions("m", limit=100)
    key = f"{LISTING}/000000000000-head.json"
    registry.store.replace(key, b"not json")
    with pytest.warns(RepairWarning, match="damaged listing chunk"):
        assert len(registry.versions("m", limit=100)) == 6
    assert json.loads(registry.store.read(key))["first"] == 1


def test_a_registration_in_flight_is_skipped_and_keeps_its_chunk_unwritten() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, CHUNK - 1)
    # A writer claimed slot 16 and has not committed its manifest (or died).
    slot = {"version": "16", "registration": "r", "at": "2026-01-01T00:00:00+00:00"}
    registry.store.create("models/m/slots/000000000016.json", json.dumps(slot).encode())
    _register(registry, 3)
    assert _numbers(registry.versions("m", limit=4, order="newest")) == ["19", "18", "17", "15"]
    assert registry.store.list(LISTING) == []
    # gc declares it dead after its grace period: the chunk is settled now.
    registry.gc(grace_seconds=0)
    assert _all_pages(registry, 5) == _numbers(registry.versions("m"))
    assert registry.store.list(LISTING) == ["000000000000.json"]


def test_a_cursor_does_not_move_when_versions_are_registered_between_pages() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 20)
    first = registry.versions("m", limit=5, order="newest")
    _register(registry, 3)
    second = registry.versions("m", limit=5, order="newest", cursor=first.next_cursor)
    assert _numbers(first) == ["20", "19", "18", "17", "16"]
    assert _numbers(second) == ["15", "14", "13", "12", "11"]


def test_an_oldest_first_listing_reaches_versions_registered_while_paging() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 6)
    first = registry.versions("m", limit=4)
    _register(registry, 3)
    rest = registry.versions("m", limit=10, cursor=first.next_cursor)
    assert _numbers(first) + _numbers(rest) == [str(n) for n in range(1, 10)]
    assert rest.next_cursor is None


def _in_flight(registry: ms.Registry, seq: int) -> None:
    """A writer claimed slot ``seq`` and has not committed its manifest (or died)."""
    slot = {"version": str(seq), "registration": "r", "at": "2026-01-01T00:00:00+00:00"}
    registry.store.create(f"models/m/slots/{seq:012d}.json", json.dumps(slot).encode())


def test_an_oldest_first_walk_lists_a_version_that_commits_between_pages() -> None:
    inner = MemoryStore()
    other = ms.Registry(inner)
    _register(other, 1)
    pages: list[VersionPage] = []

    def page_while_in_flight(key: str) -> None:
        # Version "2" claimed slot 2; its manifest is created once this returns.
        if key == "models/m/versions/2.json" and not pages:
            _register(other, 4)  # slots 3..6, committed
            pages.append(other.versions("m", limit=2))

    writer = ms.Registry(HookStore(inner, before_create=page_while_in_flight))
    _register(writer, 1)
    assert _numbers(pages[0]) == ["1", "3"]
    rest = _all_pages_from(other, 2, pages[0].next_cursor)
    assert _numbers(pages[0]) + rest == ["1", "3", "2", "4", "5", "6"]


def _all_pages_from(reg: ms.Registry, limit: int, cursor: str | None) -> list[str]:
    found: list[str] = []
    for _ in range(1000):  # a bound: pages move on, carried slots are at most 16
        page = reg.versions("m", limit=limit, cursor=cursor)
        found += _numbers(page)
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("paging did not end")


def test_carried_versions_beyond_the_limit_wait_for_the_next_page() -> None:
    inner = MemoryStore()
    other = ms.Registry(inner)
    _register(other, 1)
    pages: list[VersionPage] = []

    def hold(key: str) -> None:
        # "2" waits for "3" to claim its slot; "3" waits for the first page.
        if key == "models/m/versions/2.json" and not pages:
            _register(writer, 1)
        elif key == "models/m/versions/3.json" and not pages:
            _register(other, 2)  # "4" and "5"
            pages.append(other.versions("m", limit=2))

    writer = ms.Registry(HookStore(inner, before_create=hold))
    _register(writer, 1)
    assert _numbers(pages[0]) == ["1", "4"]
    second = other.versions("m", limit=1, cursor=pages[0].next_cursor)
    assert _numbers(second) == ["2"]
    third = other.versions("m", limit=1, cursor=second.next_cursor)
    assert _numbers(third) == ["3"]
    assert _all_pages_from(other, 1, third.next_cursor) == ["5"]


def test_an_oldest_first_walk_passes_slots_that_stay_in_flight_and_ends() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 2)
    for seq in range(3, 3 + 20):  # more than a cursor carries
        _in_flight(registry, seq)
    registry.register(model_name="m", model=b"x", serializer="bytes", version="last")
    assert _all_pages_from(registry, 1, None) == ["1", "2", "last"]
    assert _all_pages_from(registry, 2, None) == ["1", "2", "last"]


def test_a_cursor_carries_at_most_sixteen_slots_in_flight() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 1)
    for seq in range(2, 2 + 20):
        _in_flight(registry, seq)
    _register(registry, 2)  # "22" and "23"
    cursor = registry.versions("m", limit=2).next_cursor
    assert cursor is not None
    carried = json.loads(base64.urlsafe_b64decode(cursor.split(".")[0] + "==="))[4]
    assert carried == list(range(6, 22))
    assert len(cursor) <= 1024


@pytest.mark.parametrize(
    "made",
    [
        ["m", "newest", 9, "{query}", [3]],
        ["m", "oldest", 9, "{query}", []],
        ["m", "oldest", 9, "{query}", [4, 3]],
        ["m", "oldest", 9, "{query}", [3, 3]],
        ["m", "oldest", 9, "{query}", [0]],
        ["m", "oldest", 9, "{query}", [10]],
        ["m", "oldest", 9, "{query}", [True]],
        ["m", "oldest", 9, "{query}", "3"],
        ["m", "oldest", 40, "{query}", list(range(1, 18))],
    ],
    ids=[
        "newest",
        "empty",
        "decreasing",
        "repeated",
        "zero",
        "past-the-cursor",
        "bool",
        "not-a-list",
        "too-many",
    ],
)
def test_a_forged_cursor_carrying_impossible_slots_raises_invalid_cursor(
    reg: ms.Registry, made: list[Any]
) -> None:
    cursor = reg.versions("m", limit=5, order=made[1]).next_cursor
    assert cursor is not None
    made[3] = json.loads(base64.urlsafe_b64decode(cursor.split(".")[0] + "==="))[3]
    with pytest.raises(InvalidCursor, match="not one versions\\(\\) returned"):
        reg.versions("m", limit=5, order=made[1], cursor=_forged(json.dumps(made).encode()))


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: "garbage",
        lambda c: c + "0",
        lambda c: c.replace(".", ""),
        lambda c: c[:5] + ("A" if c[5] != "A" else "B") + c[6:],
        lambda c: c.split(".")[0] + ".000000000000",
        lambda c: 42,
    ],
    ids=["garbage", "longer-check", "no-dot", "edited-body", "wrong-check", "not-a-string"],
)
def test_an_edited_cursor_raises_invalid_cursor(reg: ms.Registry, edit: Any) -> None:
    cursor = reg.versions("m", limit=5).next_cursor
    with pytest.raises(InvalidCursor, match="not one versions\\(\\) returned"):
        reg.versions("m", limit=5, cursor=edit(cursor))


def _forged(payload: bytes) -> str:
    """A cursor anyone can make: the check's key is public (it catches edits, not forgers)."""
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _check(payload)


@pytest.mark.parametrize("depth", [20_000, 300], ids=["too-long", "within-bound"])
def test_a_forged_deeply_nested_cursor_raises_invalid_cursor(reg: ms.Registry, depth: int) -> None:
    with pytest.raises(InvalidCursor, match="not one versions\\(\\) returned"):
        reg.versions("m", limit=5, cursor=_forged(b"[" * depth + b"]" * depth))


def test_a_cursor_json_cannot_parse_for_its_nesting_raises_invalid_cursor(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursor = _forged(b"[" * 300 + b"]" * 300)  # under a lower recursion limit than the default

    def too_deep(*args: object, **kwargs: object) -> object:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    monkeypatch.setattr("modelship.registry._listing.json.loads", too_deep)
    with pytest.raises(InvalidCursor, match="not one versions\\(\\) returned"):
        reg.versions("m", limit=5, cursor=cursor)


def test_the_longest_cursor_a_listing_makes_is_accepted() -> None:
    reg = ms.Registry(MemoryStore())
    name = "m" * 128
    _register(reg, 3, name=name)
    where = {"metrics.i": (">=", 0)}
    page = reg.versions(name, limit=1, order="newest", where=where, include_archived=True)
    assert page.next_cursor is not None
    rest = reg.versions(
        name, limit=5, order="newest", where=where, include_archived=True, cursor=page.next_cursor
    )
    assert [mv.version for mv in rest] == ["2", "1"]


@pytest.mark.parametrize(
    "other",
    [
        {"name": "other"},
        {"order": "newest"},
        {"where": {"metrics.i": (">", 3)}},
        {"include_archived": True},
    ],
    ids=["model", "order", "filter", "archived"],
)
def test_a_cursor_made_for_another_listing_raises_invalid_cursor(
    reg: ms.Registry, other: dict[str, Any]
) -> None:
    _register(reg, 1, name="other")
    cursor = reg.versions("m", limit=5).next_cursor
    name = other.pop("name", "m")
    with pytest.raises(InvalidCursor, match="made for another listing"):
        reg.versions(name, limit=5, cursor=cursor, **other)


@pytest.mark.parametrize("limit", [0, -3, True, "5", 2.5])
def test_a_limit_that_is_not_a_positive_integer_raises_config_error(
    reg: ms.Registry, limit: Any
) -> None:
    with pytest.raises(ms.ConfigError, match="limit must be a positive integer"):
        reg.versions("m", limit=limit)


def test_an_unknown_order_raises_config_error(reg: ms.Registry) -> None:
    with pytest.raises(ms.ConfigError, match="order must be"):
        reg.versions("m", order="latest")  # type: ignore[call-overload]
    with pytest.raises(ms.ConfigError, match="order must be"):
        reg.versions("m", limit=3, order="latest")  # type: ignore[call-overload]


def test_a_cursor_without_a_limit_raises_config_error(reg: ms.Registry) -> None:
    cursor = reg.versions("m", limit=5).next_cursor
    with pytest.raises(ms.ConfigError, match="pass limit="):
        reg.versions("m", cursor=cursor)  # type: ignore[call-overload]


def test_a_model_that_does_not_exist_raises_model_not_found(reg: ms.Registry) -> None:
    with pytest.raises(ms.ModelNotFound):
        reg.versions("nope", limit=5)


def test_archived_versions_are_hidden_unless_asked_for_and_then_marked(reg: ms.Registry) -> None:
    reg.delete("m", "3")
    reg.delete("m", "4")
    reg.purge("m", "4")
    assert _numbers(reg.versions("m", limit=4)) == ["1", "2", "5", "6"]
    page = reg.versions("m", limit=4, include_archived=True)
    assert _numbers(page) == ["1", "2", "3", "5"]
    assert page.archived == {"3"}


def test_a_damaged_chunk_is_ignored_with_a_warning_and_rewritten(reg: ms.Registry) -> None:
    full = _numbers(reg.versions("m"))
    reg.versions("m", limit=100)
    key = f"{LISTING}/000000000000.json"
    reg.store.replace(key, b'{"format": 1, "first": 1, "entries": []}')
    with pytest.warns(RepairWarning, match="damaged listing chunk"):
        assert _numbers(reg.versions("m", limit=100)) == full
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _numbers(reg.versions("m", limit=100)) == full


def test_a_chunk_entry_that_names_another_slot_is_ignored_with_a_warning(
    reg: ms.Registry,
) -> None:
    full = _numbers(reg.versions("m"))
    reg.versions("m", limit=100)
    key = f"{LISTING}/000000000000.json"
    doc = json.loads(reg.store.read(key))
    doc["entries"][0], doc["entries"][1] = doc["entries"][1], doc["entries"][0]
    reg.store.replace(key, json.dumps(doc).encode())
    with pytest.warns(RepairWarning, match="damaged listing chunk"):
        assert _numbers(reg.versions("m", limit=100)) == full


def test_a_handle_that_may_not_write_lists_all_the_same_without_writing_chunks() -> None:
    inner = MemoryStore()
    _register(ms.Registry(inner), 2 * CHUNK + 1)
    store = HookStore(inner)
    store.exclusive_creates = False  # so this handle refuses to write (UnsafeStore)
    reader = ms.Registry(store)
    assert _numbers(reader.versions("m", limit=40)) == _numbers(reader.versions("m"))
    assert inner.list(LISTING) == []


def test_with_a_signing_key_an_unsigned_chunk_is_replaced_by_a_signed_one() -> None:
    store = MemoryStore()
    signed = ms.Registry(store, signing_key=KEY)
    _register(signed, CHUNK + 1)
    # A writer with delete rights (what signing does not stop) hides the policy, so a
    # keyless handle writes an unsigned chunk, and puts the policy back.
    policy = store.read("signing.json")
    store.delete("signing.json")
    ms.Registry(store, verify_signatures=False).versions("m", limit=40)  # writes unsigned
    store.create("signing.json", policy)
    with pytest.warns(RepairWarning, match="damaged listing chunk"):
        assert len(signed.versions("m", limit=40)) == CHUNK + 1
    assert "signature" in json.loads(store.read(f"{LISTING}/000000000000.json"))


def test_with_a_signing_key_a_forged_archive_marker_raises_signature_error() -> None:
    store = MemoryStore()
    signed = ms.Registry(store, signing_key=KEY)
    _register(signed, 3)
    store.create("models/m/archived/2.json", b"{}")
    with pytest.raises(ms.SignatureError):
        signed.versions("m", limit=3)


def test_pages_match_the_full_listing_on_every_store(storage: dict[str, Any]) -> None:
    reg = _open(storage)
    _register(reg, CHUNK + 3)
    full = _numbers(reg.versions("m"))
    assert _all_pages(reg, 6, order="newest") == full[::-1]
    assert _all_pages(reg, 6, order="newest") == full[::-1]  # from the chunks written


def test_cli_versions_pages_with_limit_and_cursor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    _register(ms.open_registry(url), 5)
    capsys.readouterr()
    assert main(["registry", "versions", url, "m", "--newest", "--limit", "2"]) == 0
    out, err = capsys.readouterr()
    assert [line.split("\t")[0] for line in out.splitlines()] == ["5", "4"]
    cursor = err.split("--cursor ", 1)[1].split()[0]
    args = ["registry", "versions", url, "m", "--newest", "--limit", "3", "--cursor", cursor]
    assert main([*args, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in document["versions"]] == ["3", "2", "1"]
    assert document["next_cursor"] is None


def test_cli_versions_with_a_cursor_and_no_limit_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    _register(ms.open_registry(url), 1)
    assert main(["registry", "versions", url, "m", "--cursor", "x"]) == 2
    assert "--limit" in capsys.readouterr().err


def test_a_version_registered_while_a_page_is_read_appears_on_the_next_newest_page() -> None:
    inner = MemoryStore()
    writer = ms.Registry(inner)
    _register(writer, 20)
    done: list[bool] = []

    def register_meanwhile(operation: str, key: str) -> None:
        if operation == "list" and key.endswith("/archived") and not done:
            done.append(True)
            _register(writer, 1)  # lands after the page found its top slot

    reader = ms.Registry(HookStore(inner, before=register_meanwhile))
    first = reader.versions("m", limit=5, order="newest")
    assert _numbers(first) == ["20", "19", "18", "17", "16"]
    assert _numbers(reader.versions("m", limit=1, order="newest")) == ["21"]
    rest = reader.versions("m", limit=100, order="newest", cursor=first.next_cursor)
    assert _numbers(rest) == [str(n) for n in range(15, 0, -1)]


def test_two_readers_writing_the_same_chunk_at_once_both_list_it_and_one_chunk_stays() -> None:
    inner = MemoryStore()
    _register(ms.Registry(inner), CHUNK + 1)
    other = ms.Registry(inner)
    done: list[bool] = []

    def other_reader_first(key: str) -> None:
        if key == f"{LISTING}/000000000000.json" and not done:
            done.append(True)
            assert len(other.versions("m", limit=40)) == CHUNK + 1  # creates the chunk

    reader = ms.Registry(HookStore(inner, before_create=other_reader_first))
    assert _numbers(reader.versions("m", limit=40)) == _numbers(reader.versions("m"))
    assert done
    assert inner.list(LISTING) == ["000000000000.json"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the chunk that stayed is whole and valid
        assert len(reader.versions("m", limit=40)) == CHUNK + 1


def test_a_slot_without_a_registration_raises_integrity_error() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 2)
    registry.store.replace("models/m/slots/000000000002.json", b'{"version": "2"}')
    with pytest.raises(ms.IntegrityError, match="no registration"):
        registry.versions("m", limit=5)


def test_a_limit_far_beyond_the_history_returns_every_version() -> None:
    registry = ms.Registry(MemoryStore())
    _register(registry, 3)
    page = registry.versions("m", limit=10**12, order="newest")
    assert _numbers(page) == ["3", "2", "1"]
    assert page.next_cursor is None
