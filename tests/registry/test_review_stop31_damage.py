"""A damaged or hostile store gets right answers or IntegrityError, never a wrong one.

Hints are never trusted: one past every key (``2**70``), negative or of another type is no
hint, and any hint costs a bounded number of probes. A slot that names a version another
slot committed does not hide that version from pages. Only the names the layout makes
(12 ASCII digits) are numbered documents. Log entries are never deleted, so one listed and
not readable is damage, and so is an alias log entry holding a field of the wrong type.
Removing an alias that another writer removed first raises, and writes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship.registry import _layout as layout
from modelship.registry._aliases import ANY, move_alias
from modelship.registry._hints import highest_present, read_hint, top_slot
from modelship.registry._layout import (
    alias_hint_key,
    alias_key,
    head_key,
    is_numbered,
    slot_key,
)
from modelship.registry._signing import Signer
from modelship.testing import HookStore, MemoryStore

FAR_AHEAD = 2**70
MAX_NUMBER = 10**12 - 1  # what the layout's 12 digits hold
# The doubling walk is at most 41 probes (MAX_NUMBER < 2**40), and so is the halving.
MAX_PROBES = 2 * 41 + 2


def _registry(store: ms.registry.Store, versions: int = 1) -> ms.Registry:
    reg = ms.Registry(store)
    for i in range(versions):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes", lineage={})
    return reg


class _Probes(HookStore):
    """Counts ``exists`` calls, and stops a walk that takes far more than O(log) calls."""

    def __init__(self, inner: ms.registry.Store) -> None:
        super().__init__(inner, before=self._count)
        self.probes = 0
        self.calls = 0

    def _count(self, operation: str, key: str) -> None:
        self.probes += operation == "exists"
        self.calls += 1
        if self.calls > 10 * MAX_PROBES:
            raise AssertionError(f"{self.calls} store calls: a walk goes one slot at a time")


# --- 1. a hint far ahead ----------------------------------------------------------------


def test_no_numbered_key_is_past_what_12_digits_hold() -> None:
    assert layout.MAX_NUMBER == MAX_NUMBER
    assert len(slot_key("m", MAX_NUMBER).rsplit("/", 1)[-1]) == len("000000000001.json")


def test_a_slot_hint_past_every_key_does_not_number_the_next_version() -> None:
    store = MemoryStore()
    reg = _registry(store, versions=3)
    store.replace(head_key("m"), b'{"n": %d}' % FAR_AHEAD)
    mv = reg.register(model_name="m", model=b"next", serializer="bytes", lineage={})
    assert (mv.version, mv.sequence) == ("4", 4)
    assert store.list("models/m/slots") == [f"{s:012d}.json" for s in range(1, 5)]


def test_latest_with_a_slot_hint_past_every_key_takes_few_probes() -> None:
    store = _Probes(MemoryStore())
    reg = _registry(store)
    store.replace(head_key("m"), b'{"n": %d}' % FAR_AHEAD)
    store.probes = store.calls = 0
    assert reg.get("m").version == "1"
    assert store.probes <= MAX_PROBES


def test_a_slot_hint_past_every_key_is_set_back_to_the_top() -> None:
    store = MemoryStore()
    _registry(store, versions=2)
    store.replace(head_key("m"), b'{"n": %d}' % FAR_AHEAD)
    assert top_slot(store, "m") == 2
    assert read_hint(store, head_key("m")) == 2


def test_a_slot_hint_ahead_within_range_is_set_back_to_the_top() -> None:
    store = MemoryStore()
    _registry(store, versions=2)
    store.replace(head_key("m"), b'{"n": %d}' % (MAX_NUMBER // 3))
    assert top_slot(store, "m") == 2
    assert read_hint(store, head_key("m")) == 2


def test_an_alias_hint_past_every_key_is_ignored() -> None:
    store = MemoryStore()
    reg = _registry(store)
    reg.set_alias("m", "prod", "1")
    store.replace(alias_hint_key("m"), b'{"n": %d}' % FAR_AHEAD)
    assert reg.aliases("m") == {"prod": "1"}
    assert reg.get("m", "@prod").version == "1"
    reg.set_alias("m", "staging", "1")
    assert store.list("models/m/aliases") == [f"{r:012d}.json" for r in (1, 2)]


@pytest.mark.parametrize(
    "hint",
    [
        b'{"n": %d}' % FAR_AHEAD,
        b'{"n": %d}' % (MAX_NUMBER + 1),
        b'{"n": -1}',
        b'{"n": 0}',
        b'{"n": true}',
        b'{"n": "3"}',
        b'{"n": 2.0}',
        b"[3]",
        b"3",
    ],
)
def test_a_hint_that_names_no_key_reads_as_no_hint(hint: bytes) -> None:
    store = MemoryStore()
    store.create("h.json", hint)
    assert read_hint(store, "h.json") == 0


def test_a_hint_in_range_is_read() -> None:
    store = MemoryStore()
    store.create("h.json", b'{"n": %d}' % MAX_NUMBER)
    assert read_hint(store, "h.json") == MAX_NUMBER


_HINTS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.integers(min_value=0, max_value=MAX_NUMBER),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.floats(allow_nan=True),
)


@given(
    top=st.one_of(st.integers(0, 100), st.integers(0, MAX_NUMBER)),
    hint=st.one_of(_HINTS, st.integers(0, 200)),
)
def test_highest_present_finds_the_top_from_any_hint_in_few_probes(top: int, hint: Any) -> None:
    probed: list[int] = []

    def exists(n: int) -> bool:
        probed.append(n)
        return n <= top

    assert highest_present(exists, hint) == top
    assert len(probed) <= MAX_PROBES
    assert all(1 <= n <= MAX_NUMBER for n in probed)


# --- 2. two slots naming one version ------------------------------------------------------


class _Crash(Exception):
    pass


def _explicit_4_and_a_dead_automatic_4() -> tuple[MemoryStore, ms.Registry]:
    """Versions 1 and 2; then E (explicit "4") claims slot 3, and before E commits, X
    (automatic, so "4" too) claims slot 4 and dies before its manifest."""
    inner = MemoryStore()
    base = _registry(inner, versions=2)

    def crash_at_manifest(operation: str, key: str) -> None:
        if operation == "create" and key.startswith("models/m/versions/"):
            raise _Crash

    x = ms.Registry(HookStore(inner, before=crash_at_manifest))
    done: list[bool] = []

    def x_claims_slot_4_first(operation: str, key: str) -> None:
        if operation == "create" and key == "models/m/versions/4.json" and not done:
            done.append(True)
            # A hook's exception is the store's failure: a StoreError, the crash chained.
            with pytest.raises(ms.StoreError, match="_Crash"):
                x.register(model_name="m", model=b"x", serializer="bytes", lineage={})

    e = ms.Registry(HookStore(inner, before=x_claims_slot_4_first))
    mv = e.register(model_name="m", model=b"e", version="4", serializer="bytes", lineage={})
    assert (mv.version, mv.sequence) == ("4", 3)
    assert json.loads(inner.read(slot_key("m", 4)))["version"] == "4"
    return inner, base


@pytest.mark.parametrize(
    ("order", "expected"), [("oldest", ["1", "2", "4"]), ("newest", ["4", "2", "1"])]
)
def test_a_page_shows_a_version_another_dead_slot_also_names(
    order: ms.registry.Order, expected: list[str]
) -> None:
    _, reg = _explicit_4_and_a_dead_automatic_4()
    assert [mv.version for mv in reg.versions("m", limit=10, order=order)] == expected


def test_pages_one_at_a_time_show_a_version_another_dead_slot_also_names() -> None:
    _, reg = _explicit_4_and_a_dead_automatic_4()
    seen, cursor = [], None
    for _ in range(10):
        page = reg.versions("m", limit=1, cursor=cursor)
        seen += [mv.version for mv in page]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == ["1", "2", "4"]


# --- 3. only ASCII digits number a document -------------------------------------------------

STRAY_NUMBERED = ["².json", "١٣.json", "00000000000².json", "3.json", "000000000000.json"]


@pytest.mark.parametrize("stray", STRAY_NUMBERED)
def test_a_stray_name_of_other_digits_is_not_numbered(stray: str) -> None:
    assert not is_numbered(stray)
    assert layout.number_in(f"models/m/slots/{stray}") is None


@given(st.text(alphabet=st.characters(categories=["Nd", "No"]) | st.sampled_from(".json")))
def test_number_in_takes_only_the_names_the_layout_makes(name: str) -> None:
    n = layout.number_in(name)
    assert n is None or (1 <= n <= MAX_NUMBER and name == f"{n:012d}.json")


@given(st.integers(1, MAX_NUMBER))
def test_number_in_reads_back_every_slot_key(n: int) -> None:
    assert layout.number_in(slot_key("m", n)) == n


@pytest.mark.parametrize("stray", STRAY_NUMBERED)
def test_tags_skip_a_stray_name_of_other_digits_in_the_tag_log(stray: str) -> None:
    store = MemoryStore()
    reg = _registry(store)
    reg.set_tag("m", "1", "stage", "dev")
    store.create(f"models/m/tags/1/{stray}", b"{}")
    assert reg.tags("m", "1") == {"stage": "dev"}
    reg.set_tag("m", "1", "k", "v")
    assert [c.key for c in reg.tag_history("m", "1")] == ["stage", "k"]


@pytest.mark.parametrize("stray", STRAY_NUMBERED)
def test_gc_skips_a_stray_name_of_other_digits_among_slots(stray: str) -> None:
    store = MemoryStore()
    reg = _registry(store)
    store.create(f"models/m/slots/{stray}", b'{"dead": true}')
    assert reg.gc(grace_seconds=0).removed == 0


def test_gc_on_a_local_folder_skips_a_stray_slot_named_in_other_digits(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="m", model=b"a", serializer="bytes", lineage={})
    (tmp_path / "reg/models/m/slots/².json").write_bytes(b'{"dead": true}')
    assert reg.gc(grace_seconds=0).removed == 0


# --- 4. a log entry listed and not readable ------------------------------------------------


@pytest.fixture
def tag_entry_is_a_folder(tmp_path: Path) -> ms.Registry:
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="m", model=b"a", serializer="bytes", lineage={})
    reg.set_tag("m", "1", "stage", "prod")
    entry = tmp_path / "reg/models/m/tags/1/000000000001.json"
    os.remove(entry)
    entry.mkdir()
    return reg


_READS_OF_TAGS: dict[str, Callable[[ms.Registry], object]] = {
    "tags": lambda reg: reg.tags("m", "1"),
    "set_tag": lambda reg: reg.set_tag("m", "1", "k", "v"),
    "versions where": lambda reg: reg.versions("m", where={"tags.stage": "prod"}),
    "paged where": lambda reg: reg.versions("m", limit=5, where={"tags.stage": "prod"}),
    "tag_history": lambda reg: reg.tag_history("m", "1"),
}


@pytest.mark.parametrize("read", _READS_OF_TAGS.values(), ids=_READS_OF_TAGS.keys())
def test_a_tag_log_entry_that_is_a_folder_is_damage(
    tag_entry_is_a_folder: ms.Registry, read: Callable[[ms.Registry], object]
) -> None:
    with pytest.raises(ms.IntegrityError, match=r"000000000001\.json is listed but cannot be read"):
        read(tag_entry_is_a_folder)


def test_an_alias_log_entry_that_is_a_folder_is_damage_to_history(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="m", model=b"a", serializer="bytes", lineage={})
    reg.set_alias("m", "prod", "1")
    reg.set_alias("m", "staging", "1")
    entry = tmp_path / "reg/models/m/aliases/000000000001.json"
    os.remove(entry)
    entry.mkdir()
    with pytest.raises(ms.IntegrityError, match="damaged"):
        reg.history("m")


# --- 5. alias log entries hold fields of the right type -------------------------------------


def _set(*path: str, to: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        for part in path[:-1]:
            doc = doc[part]
        doc[path[-1]] = to

    return edit


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        for part in path[:-1]:
            doc = doc[part]
        del doc[path[-1]]

    return edit


ALIAS_DAMAGE: dict[str, Callable[[dict[str, Any]], None]] = {
    "by an object": _set("move", "by", to={"evil": [1, 2]}),
    "by a number": _set("move", "by", to=7),
    "revision as text": _set("revision", to="1"),
    "revision a bool": _set("revision", to=True),
    "revision another number": _set("revision", to=2),
    "at a number": _set("move", "at", to=1767322800),
    "at not a time": _set("move", "at", to="yesterday"),
    "at without a zone": _set("move", "at", to="2026-01-02T03:04:05"),
    "alias with an @": _set("move", "alias", to="@prod"),
    "alias in state with an @": _set("aliases", to={"@prod": "1"}),
    "version as a number": _set("aliases", to={"prod": 1}),
    "to as a number": _set("move", "to", to=1),
    "no from": _drop("move", "from"),
    "state without the move": _set("aliases", to={}),
    "aliases a list": _set("aliases", to=[["prod", "1"]]),
}


@pytest.mark.parametrize("damage", ALIAS_DAMAGE.values(), ids=ALIAS_DAMAGE.keys())
@pytest.mark.parametrize("read", ["history", "aliases"])
def test_an_alias_log_entry_with_a_field_of_the_wrong_type_is_damage(
    damage: Callable[[dict[str, Any]], None], read: str
) -> None:
    store = MemoryStore()
    reg = _registry(store)
    reg.set_alias("m", "prod", "1")
    key = alias_key("m", 1)
    doc = json.loads(store.read(key))
    damage(doc)
    store.replace(key, json.dumps(doc).encode())
    with pytest.raises(ms.IntegrityError, match=r"aliases/000000000001\.json"):
        getattr(reg, read)("m")


def test_an_alias_log_entry_as_written_is_read_back() -> None:
    reg = _registry(MemoryStore())
    reg.set_alias("m", "prod", "1")
    reg.remove_alias("m", "prod")
    moves = [(m.revision, m.alias, m.from_version, m.to_version) for m in reg.history("m")]
    assert moves == [(1, "prod", None, "1"), (2, "prod", "1", None)]
    assert all(m.at.tzinfo is not None and m.by for m in reg.history("m"))


@pytest.mark.parametrize("by", ["a" * 257, "ana\u00a0lopez@host", "ana\n[ok]", ""])
def test_a_log_entry_by_any_text_is_read_back(by: str) -> None:
    # Releases before 0.1.0 wrote the default user (LOGNAME@host) unchecked: their log
    # entries stay readable, as manifests' created_by always was.
    store = MemoryStore()
    reg = _registry(store)
    reg.set_tag("m", "1", "k", "v")
    key = "models/m/tags/1/000000000001.json"
    doc = json.loads(store.read(key))
    doc["change"]["by"] = by
    store.replace(key, json.dumps(doc).encode())
    assert reg.tag_history("m", "1")[-1].by == by


def test_a_tag_log_entry_by_a_number_is_damage() -> None:
    store = MemoryStore()
    reg = _registry(store)
    reg.set_tag("m", "1", "k", "v")
    key = "models/m/tags/1/000000000001.json"
    doc = json.loads(store.read(key))
    doc["change"]["by"] = 7
    store.replace(key, json.dumps(doc).encode())
    with pytest.raises(ms.IntegrityError, match="'by' is not text"):
        reg.tag_history("m", "1")


# --- 6. removing an alias another writer removed first --------------------------------------


def test_two_removals_of_one_alias_racing_write_one_removal() -> None:
    inner = MemoryStore()
    reg = _registry(inner)
    reg.set_alias("m", "staging", "1")
    other = ms.Registry(inner)
    hint_reads: list[str] = []

    def other_removes_first(operation: str, key: str) -> None:
        # The second read of the hint is move_alias's, after remove_alias saw the alias.
        if operation == "read" and key == alias_hint_key("m"):
            hint_reads.append(key)
            if len(hint_reads) == 2:
                other.remove_alias("m", "staging")

    racing = ms.Registry(HookStore(inner, before=other_removes_first))
    with pytest.raises(ms.VersionNotFound, match="no alias 'staging'"):
        racing.remove_alias("m", "staging")
    moves = [(m.from_version, m.to_version) for m in reg.history("m")]
    assert moves == [(None, "1"), ("1", None)]


def test_a_removal_that_loses_the_create_to_a_removal_raises_and_writes_nothing() -> None:
    inner = MemoryStore()
    reg = _registry(inner)
    reg.set_alias("m", "staging", "1")
    other = ms.Registry(inner)
    done: list[bool] = []

    def other_removes_first(key: str) -> None:
        if key.startswith("models/m/aliases/") and not done:
            done.append(True)
            other.remove_alias("m", "staging")

    store = HookStore(inner, before_create=other_removes_first)
    with pytest.raises(ms.VersionNotFound, match="no alias 'staging'"):
        move_alias(store, "m", "staging", None, expected=ANY, user="u", signer=Signer(None))
    assert len(reg.history("m")) == 2


def test_removing_an_alias_that_is_not_set_writes_nothing() -> None:
    store = MemoryStore()
    reg = _registry(store)
    reg.set_alias("m", "prod", "1")
    with pytest.raises(ms.VersionNotFound):
        move_alias(store, "m", "staging", None, expected=ANY, user="u", signer=Signer(None))
    assert store.list("models/m/aliases") == ["000000000001.json"]


def test_the_default_user_is_one_readers_accept_whatever_the_environment_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # The user name comes from LOGNAME/USER; a control character or a long value was
    # written into log entries that readers then refused as damage.
    monkeypatch.setenv("LOGNAME", "ana\x1b[31m" + "x" * 300)
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="m", model=b"w", serializer="bytes")
    reg.set_alias("m", "prod", "1")
    reg.set_tag("m", "1", "stage", "ok")
    assert reg.history("m")[-1].by.startswith("ana?[31m")
    assert reg.tags("m", "1") == {"stage": "ok"}


def test_copying_again_after_a_restore_in_the_source_is_refused_until_restored_there() -> None:
    # Archive marks are copied, never taken back: the copy kept version 2 hidden while the
    # source served it, and an alias copied later named a version archived there.
    a = ms.open_registry(f"memory://stop31-copy-a-{os.getpid()}")
    b = ms.open_registry(f"memory://stop31-copy-b-{os.getpid()}")
    for model in (b"1", b"2"):
        a.register(model_name="m", model=model, serializer="bytes", capture_environment=False)
    a.delete("m", "2")
    ms.copy_registry(a, b)
    a.restore("m", "2")
    with pytest.raises(ms.Conflict, match=r"archived in .* but not in .*restored there"):
        ms.copy_registry(a, b)
    b.restore("m", "2")
    ms.copy_registry(a, b)
    assert b.get("m").version == a.get("m").version == "2"
