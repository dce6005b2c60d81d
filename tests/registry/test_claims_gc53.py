"""Name claims made right before the first slot, gc of claims no model holds, gc outside a
registry, and an alias left on an archived version.

A registration claims its name once its blobs are stored, so one that fails (or is
killed) while it serialises or uploads claims nothing; a claim left by one that stopped
between its claim and its slot refuses other spellings with a message that says so, and
gc removes it once it is older than the grace period. Interleavings are made exact with
:class:`~modelship.testing.HookStore` (the hook of one writer runs the other, or gc).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

import modelship as ms
from modelship.errors import (
    ArchivedVersion,
    Conflict,
    InvalidName,
    RegistryNotFound,
    RepairWarning,
    SerializationError,
    StoreError,
)
from modelship.registry import FsspecStore
from modelship.registry._gc import GcReport
from modelship.testing import HookStore

CLAIM = "names/fraud.json"


def _store(tmp_path: Path, name: str = "reg") -> FsspecStore:
    return FsspecStore.from_url(str(tmp_path / name))


def _register(store: object, name: str, model: bytes = b"v") -> str:
    reg = ms.Registry(store)  # type: ignore[arg-type]
    # No environment capture: its document differs between any two registrations (memory
    # available), and the interleavings below need every blob shared with another model.
    return reg.register(
        model_name=name, model=model, serializer="bytes", capture_environment=False
    ).version


def _age(store: FsspecStore, key: str, seconds: float) -> None:
    """Make ``key`` look ``seconds`` old to the store (its modification time)."""
    path = os.path.join(store.url, key)
    then = time.time() - seconds
    os.utime(path, (then, then))


# --- the claim is made after the blobs are stored -------------------------------------


def test_a_registration_whose_serializer_fails_claims_no_name(tmp_path: Path) -> None:
    inner = _store(tmp_path)
    reg = ms.Registry(inner)
    with pytest.raises(SerializationError):
        reg.register(model_name="Fraud", model=object(), serializer="numpy")
    assert not inner.exists(CLAIM)
    assert _register(inner, "fraud") == "1"  # was refused for a model that did not exist
    assert reg.models() == ["fraud"]


def test_a_registration_whose_blob_write_fails_claims_no_name(tmp_path: Path) -> None:
    """A full disk, or a store that fails while the artifact is published."""
    inner = _store(tmp_path)

    def full_disk(op: str, key: str) -> None:
        if op == "publish":
            raise StoreError("no space left on device")

    with pytest.raises(StoreError, match="no space left"):
        _register(HookStore(inner, before=full_disk), "Fraud")
    assert not inner.exists(CLAIM)
    assert _register(inner, "fraud") == "1"


def test_the_name_is_claimed_after_the_blob_and_before_the_slot(tmp_path: Path) -> None:
    inner = _store(tmp_path)
    created: list[str] = []
    _register(HookStore(inner, before_create=created.append), "Fraud")
    blobs = [i for i, k in enumerate(created) if k.startswith("blobs/")]
    claim = created.index(CLAIM)
    assert blobs  # every blob (artifact, attachments) first
    assert max(blobs) < claim
    assert created[claim + 1] == "models/Fraud/slots/000000000001.json"  # then the slot


# --- a claim of no model: the message says so -----------------------------------------


def test_a_claim_left_before_the_slot_refuses_other_spellings_truthfully(
    tmp_path: Path,
) -> None:
    """A registration of 'Fraud' killed between its claim and its slot."""
    inner = _store(tmp_path)
    _register(inner, "other")
    inner.create(CLAIM, b'{"name":"Fraud"}')
    with pytest.raises(InvalidName) as caught:
        _register(inner, "fraud")
    message = str(caught.value)
    assert "from the model 'Fraud'" not in message  # there is no such model
    assert "'Fraud', which is no model" in message
    assert "in progress, or stopped before its first version was committed" in message
    assert "modelship registry gc URL" in message
    assert "Register 'Fraud' instead" in message
    # And registering 'Fraud', as the message offers, works.
    assert _register(inner, "Fraud") == "1"


def test_a_claim_of_a_folder_of_dead_slots_says_no_version_committed(tmp_path: Path) -> None:
    """A first registration of 'Fraud' refused by a running gc: its slot is dead, its claim
    stays (its folder is listed), and it is no model."""
    inner = _store(tmp_path)
    _register(inner, "other")
    inner.create(".gc/run.json", b'{"at": "2026-01-01T00:00:00+00:00"}')
    with pytest.raises(Conflict, match="garbage collection is running"):
        _register(inner, "Fraud")
    inner.delete(".gc/run.json")
    with pytest.raises(InvalidName, match="'Fraud', which has no version") as caught:
        _register(inner, "fraud")
    assert "Register 'Fraud' instead" in str(caught.value)


# --- gc removes a claim of no model -------------------------------------------------------


def test_gc_removes_an_old_claim_of_no_model_and_keeps_a_young_one(tmp_path: Path) -> None:
    inner = _store(tmp_path)
    _register(inner, "other")
    inner.create(CLAIM, b'{"name":"Fraud"}')
    reg = ms.Registry(inner)
    assert reg.gc().name_claims == ()  # younger than the grace period: in flight
    assert inner.exists(CLAIM)
    _age(inner, CLAIM, 7200)
    dry = reg.gc(dry_run=True)
    assert dry.name_claims == (CLAIM,)
    assert dry.removed == 1
    assert dry.dry_run
    assert inner.exists(CLAIM)  # a dry run removes nothing
    report = reg.gc()
    assert report.name_claims == (CLAIM,)
    assert report.removed == 1
    assert not inner.exists(CLAIM)
    assert inner.exists("names/other.json")  # the claim of a model stays
    assert _register(inner, "fraud") == "1"


def test_gc_never_removes_the_claim_of_a_listed_spelling(tmp_path: Path) -> None:
    """Of a model, or of a folder of dead slots (a registration of it may still commit
    there), however old."""
    inner = _store(tmp_path)
    _register(inner, "Fraud")
    inner.create("models/Dead/slots/000000000001.json", b'{"dead": true}')
    inner.create("names/dead.json", b'{"name":"Dead"}')
    for key in (CLAIM, "names/dead.json"):
        _age(inner, key, 7200)
    assert ms.Registry(inner).gc(grace_seconds=0).name_claims == ()
    assert inner.exists(CLAIM)
    assert inner.exists("names/dead.json")


def test_gc_leaves_a_damaged_claim_alone_with_a_warning(tmp_path: Path) -> None:
    inner = _store(tmp_path)
    _register(inner, "other")
    inner.create(CLAIM, b'{"name":"Other"}')  # names a spelling of another key
    inner.create("names/.DS_Store", b"\0")
    with pytest.warns(RepairWarning, match="names/fraud.json is not a name claim"):
        report = ms.Registry(inner).gc(grace_seconds=0)
    assert report.name_claims == ()
    assert inner.exists(CLAIM)
    assert inner.exists("names/.DS_Store")


def test_gc_removes_no_claim_while_a_copy_is_in_flight(tmp_path: Path) -> None:
    """A copy claims its names before it copies their blobs and slots."""
    inner = _store(tmp_path)
    _register(inner, "other")
    inner.create(CLAIM, b'{"name":"Fraud"}')
    _age(inner, CLAIM, 7200)
    mark = f".staging/copy-{uuid.uuid4().hex}.json"
    inner.create(mark, json.dumps({"at": "2000-01-01T00:00:00+00:00"}).encode())
    assert ms.Registry(inner).gc().name_claims == ()  # the mark is young in the store
    assert inner.exists(CLAIM)
    inner.delete(mark)
    assert ms.Registry(inner).gc().name_claims == (CLAIM,)


def test_a_claim_gc_removes_under_a_registration_in_flight_never_admits_two_spellings(
    tmp_path: Path,
) -> None:
    """'Fraud' found its claim (or made it) and is about to create its slot; a gc removes
    the claim (grace 0: it is old enough), and 'fraud' registers whole meanwhile. 'Fraud'
    reads its claim again after its slot and gives up: one spelling, not two."""
    inner = _store(tmp_path)
    _register(inner, "other", b"same")  # 'Fraud' reuses this blob: gc keeps it
    slot = "models/Fraud/slots/000000000001.json"
    seen: dict[str, object] = {}

    def gc_and_fraud(key: str) -> None:
        if key == slot and "gc" not in seen:
            seen["gc"] = ms.Registry(inner).gc(grace_seconds=0)
            seen["fraud"] = _register(inner, "fraud")

    removed = r"name claim names/fraud\.json of model 'Fraud' was removed"
    with pytest.raises(Conflict, match=removed):
        _register(HookStore(inner, before_create=gc_and_fraud), "Fraud", b"same")
    report = seen["gc"]
    assert isinstance(report, GcReport)
    assert report.name_claims == (CLAIM,)
    assert seen["fraud"] == "1"
    reg = ms.Registry(inner)
    assert reg.models() == ["fraud", "other"]
    assert inner.read(CLAIM) == b'{"name":"fraud"}'


def test_gc_report_built_positionally_keeps_its_meaning() -> None:
    report = GcReport(("s",), ("d",), ("b",), ("u",), True)
    assert report.name_claims == ()
    assert report.removed == 4
    assert report.dry_run
    assert GcReport(name_claims=("names/x.json",)).removed == 1


# --- gc outside a registry -------------------------------------------------------------------


def test_gc_refuses_files_without_the_registry_marker_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """A folder that is not a registry, or one restored file by file (blobs first, the
    marker last): every blob would look unused."""
    root = tmp_path / "restoring"
    blob = root / "blobs" / "sha256" / "ab" / ("ab" + "0" * 62)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"precious")
    (root / ".staging").mkdir()
    (root / ".staging" / "x.part").write_bytes(b"half")
    for path in (blob, root / ".staging" / "x.part"):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    reg = ms.open_registry(str(root))
    for dry_run in (True, False):
        with pytest.raises(RegistryNotFound, match=r"holds no registry\.json") as caught:
            reg.gc(grace_seconds=0, dry_run=dry_run)
        assert "blobs/sha256/" in str(caught.value)
        assert "removed nothing" in str(caught.value)
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == before
    # A new, empty registry is no such location: gc runs there.
    (tmp_path / "new").mkdir()
    assert ms.open_registry(str(tmp_path / "new")).gc(grace_seconds=0) == GcReport()
    # Once the marker has arrived (the restore ended), gc collects.
    (root / "registry.json").write_text('{"format":1}')
    assert ms.open_registry(str(root)).gc(grace_seconds=0).staging == (".staging/x.part",)


def test_a_single_writer_registry_gets_the_marker_so_gc_collects_it(tmp_path: Path) -> None:
    url = str(tmp_path / "single")
    reg = ms.open_registry(url, exclusive_creates=False, single_writer=True)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    assert (tmp_path / "single" / "registry.json").exists()
    assert reg.gc(grace_seconds=0).removed == 0
    assert reg.load("m", "1") == b"x"


# --- an alias on an archived version -------------------------------------------------------


class _Killed(BaseException):
    """The process killed (kill -9, a runner's timeout) at the hook."""


def test_an_alias_left_on_an_archived_version_names_the_alias_and_how_to_move_it(
    tmp_path: Path,
) -> None:
    """set_alias moves 'prod' to 2 while a delete of 2 runs, and is killed before it can
    undo its move: '@prod' points at an archived version."""
    inner = _store(tmp_path)
    reg = ms.Registry(inner)
    for i in range(2):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes")
    reg.set_alias("m", "prod", "1")
    moves: list[str] = []

    def delete_then_die(op: str, key: str) -> None:
        if op == "create" and key.startswith("models/m/aliases/"):
            moves.append(key)
            if len(moves) == 1:
                ms.Registry(inner).delete("m", "2")  # the other job's delete
            else:
                raise _Killed  # before the move is undone

    with pytest.raises(_Killed):
        ms.Registry(HookStore(inner, before=delete_then_die)).set_alias("m", "prod", "2")
    assert reg.aliases("m") == {"prod": "2"}
    with pytest.raises(ArchivedVersion) as caught:
        reg.get("m", "@prod")
    message = str(caught.value)
    assert "m version '2' was archived" in message
    assert "include_archived=True" in message
    assert "the alias '@prod' of m points at" in message
    assert "Registry.set_alias('m', 'prod', VERSION)" in message
    assert "`modelship registry alias URL m prod VERSION`" in message
    # A version asked for by number keeps its own message.
    with pytest.raises(ArchivedVersion) as by_number:
        reg.get("m", "2")
    assert "@prod" not in str(by_number.value)
    assert reg.get("m", "@prod", include_archived=True).version == "2"


def test_a_copy_claims_no_name_while_it_copies_blobs_and_one_spelling_commits(
    tmp_path: Path,
) -> None:
    """A copy of 'Fraud' whose blob upload meets a gc and a registration of 'fraud': the
    copy held no claim then (claimed after its blobs, inside its copy mark), so 'fraud'
    takes the name and the copy is refused; never two spellings."""
    src = ms.open_registry(str(tmp_path / "src"))
    src.register(model_name="Fraud", model=b"big model", serializer="bytes")
    inner = FsspecStore.from_url(str(tmp_path / "dst"))
    _register(inner, "other", b"o")
    seen: dict[str, object] = {}

    def during_blob_upload(op: str, key: str) -> None:
        if op == "publish" and key.startswith("blobs/") and not seen:
            seen["claim"] = inner.exists("names/fraud.json")
            seen["gc"] = ms.Registry(inner).gc().name_claims
            seen["fraud"] = _register(inner, "fraud", b"f")

    with pytest.raises(InvalidName, match="cannot copy model 'Fraud'"):
        ms.copy_registry(src, ms.Registry(HookStore(inner, before=during_blob_upload)))
    assert seen == {"claim": False, "gc": (), "fraud": "1"}
    assert ms.Registry(inner).models() == ["fraud", "other"]


def test_gc_warns_about_an_oversized_file_among_the_claims_and_goes_on(tmp_path: Path) -> None:
    inner = FsspecStore.from_url(str(tmp_path / "reg"))
    _register(inner, "m")
    big = tmp_path / "reg" / "names" / "odd.json"
    big.write_bytes(b" " * (64 * 2**20 + 1))
    with pytest.warns(RepairWarning, match="names/odd.json is not a name claim"):
        report = ms.Registry(inner).gc(grace_seconds=0)
    assert report.name_claims == ()
    assert big.exists()


def test_a_copy_whose_claim_a_gc_removed_says_copy_again_and_resumes(tmp_path: Path) -> None:
    src = ms.open_registry(str(tmp_path / "src"))
    for i in range(2):
        src.register(model_name="fraud", model=bytes([i]), serializer="bytes")
    inner = FsspecStore.from_url(str(tmp_path / "dst"))
    _register(inner, "other", b"o")
    removed: list[str] = []
    slots: list[str] = []

    def after_last_slot(op: str, key: str) -> None:
        # As a gc that took the claim for a stopped registration's, after the copy's slots.
        if op == "create" and key.startswith("models/fraud/slots/"):
            slots.append(key)
        elif op == "read" and key == "names/fraud.json" and slots and not removed:
            removed.append(key)
            inner.delete(key)

    with pytest.raises(Conflict, match="Copy again soon: the copy resumes") as caught:
        ms.copy_registry(src, ms.Registry(HookStore(inner, before=after_last_slot)))
    assert "Register again" not in str(caught.value)
    assert ms.Registry(inner).models() == ["other"]  # fraud's slots only: no version
    report = ms.copy_registry(src, ms.Registry(inner))
    assert report.versions == 2
    assert [mv.version for mv in ms.Registry(inner).versions("fraud")] == ["1", "2"]
