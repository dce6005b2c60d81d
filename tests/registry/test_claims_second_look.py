"""Name claims, second look: a writer that finds the claim of its own spelling checks the
listing as the claim's creator does, and a claim that went once at the last of the tries
does not fail a registration with Conflict.

Interleavings are made exact with :class:`~modelship.testing.HookStore`: the hook of one
writer runs the other (or does the other's store call), so no test sleeps or hopes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

import modelship as ms
from modelship.errors import InvalidName, StoreError
from modelship.registry import FsspecStore
from modelship.testing import HookStore

CLAIM = "names/fraud.json"


def _unclaimed_fraud(tmp_path: Path) -> FsspecStore:
    """A registry holding the model 'fraud' with no names/ claim, as registries written
    before claims hold their models."""
    inner = FsspecStore.from_url(str(tmp_path / "reg"))
    ms.Registry(inner).register(model_name="fraud", model=b"v1", serializer="bytes")
    inner.delete(CLAIM)
    assert not inner.exists(CLAIM)
    return inner


def _register(store: object, name: str) -> str:
    reg = ms.Registry(store)  # type: ignore[arg-type]
    return reg.register(model_name=name, model=b"v", serializer="bytes").version


def _outcome(store: object, name: str) -> object:
    """The version registered, or the exception raised (kept apart from the outer writer's)."""
    try:
        return _register(store, name)
    except Exception as exc:  # the test compares it
        return exc


def _refused_beside(outcome: object, name: str, listed: str) -> None:
    assert isinstance(outcome, InvalidName), outcome
    assert f"model name {name!r} differs only in case from the model {listed!r}" in str(outcome)


@pytest.mark.parametrize("b_runs_before", ["list", "delete"], ids=["A-lists", "A-deletes"])
def test_a_second_writer_of_the_same_spelling_is_refused_as_the_claims_creator_is(
    tmp_path: Path, b_runs_before: str
) -> None:
    """'fraud' is listed without a claim. A ('Fraud') creates the claim; before A lists the
    models (or, having found 'fraud', before A deletes its claim), B registers 'Fraud'. B
    found the claim naming its own spelling and went on: 'Fraud' was registered beside
    'fraud'. B is now refused as A is, and leaves the claim to A to delete."""
    inner = _unclaimed_fraud(tmp_path)
    seen: dict[str, object] = {}

    def a_hook(op: str, key: str) -> None:
        at = key == CLAIM if b_runs_before == "delete" else key == "models"
        if op == b_runs_before and at and "b" not in seen:
            assert inner.read(CLAIM) == b'{"name":"Fraud"}'  # A's claim, A still deciding
            seen["b"] = _outcome(inner, "Fraud")
            seen["claim after b"] = inner.exists(CLAIM)

    a = _outcome(HookStore(inner, before=a_hook), "Fraud")
    _refused_beside(a, "Fraud", "fraud")
    _refused_beside(seen["b"], "Fraud", "fraud")
    assert seen["claim after b"] is True  # B did not delete A's claim
    assert inner.list("models") == ["fraud"]
    assert not inner.exists(CLAIM)  # A deleted it
    # 'fraud' still registers, and claims its name at last.
    assert _register(inner, "fraud") == "2"
    assert inner.read(CLAIM) == b'{"name":"fraud"}'


def test_a_claim_of_the_same_spelling_left_beside_a_listed_model_does_not_admit_it(
    tmp_path: Path,
) -> None:
    """A writer of 'Fraud' stopped after finding 'fraud' listed, before deleting its claim.
    A later writer of 'Fraud' found that claim naming its own spelling and registered
    'Fraud' beside 'fraud'; it is refused. Alone, such a claim admits its spelling: a
    writer that stopped before its listing, or two writers of one spelling at once."""
    inner = _unclaimed_fraud(tmp_path)
    inner.create(CLAIM, b'{"name":"Fraud"}')
    with pytest.raises(InvalidName, match="'Fraud' differs only in case from the model 'fraud'"):
        _register(inner, "Fraud")
    assert inner.list("models") == ["fraud"]
    assert inner.read(CLAIM) == b'{"name":"Fraud"}'  # not this writer's to delete
    assert _register(inner, "fraud") == "2"  # the listed model waits it out, as before

    # No other spelling: the claim left by a stopped writer of 'Fraud' admits 'Fraud'.
    fresh = FsspecStore.from_url(str(tmp_path / "fresh"))
    fresh.create(CLAIM, b'{"name":"Fraud"}')
    assert _register(fresh, "Fraud") == "1"

    # Two writers of 'Fraud' at once, B inside A's listing: both register.
    both = FsspecStore.from_url(str(tmp_path / "both"))
    seen: dict[str, object] = {}

    def a_hook(op: str, key: str) -> None:
        if op == "list" and key == "models" and "b" not in seen:
            seen["b"] = _outcome(both, "Fraud")

    assert _register(HookStore(both, before=a_hook), "Fraud") == "2"
    assert seen["b"] == "1"
    assert both.list("models") == ["Fraud"]


def test_a_claim_deleted_once_at_the_last_try_does_not_raise_conflict(tmp_path: Path) -> None:
    """'fraud' is listed without a claim; a writer of 'Fraud' holds the claim while it is
    refused. B ('fraud') waits it out, and A's delete lands between B's last create and
    read. B raised Conflict ('kept being created and deleted') for a claim deleted once;
    it registers, and 'fraud' still owns its name."""
    inner = _unclaimed_fraud(tmp_path)
    inner.create(CLAIM, b'{"name":"Fraud"}')  # A's claim, A listing the models
    reads: list[str] = []

    def hook(op: str, key: str) -> None:
        if op == "read" and key == CLAIM:
            reads.append(key)
            if len(reads) == 10:
                inner.delete(CLAIM)  # A's delete, once, at B's tenth try

    assert _register(HookStore(inner, before=hook), "fraud") == "2"
    assert len(reads) == 10
    assert inner.list("models") == ["fraud"]
    with pytest.raises(InvalidName, match="'Fraud' differs only in case from the model 'fraud'"):
        _register(inner, "Fraud")
    assert not inner.exists(CLAIM)  # the refused writer deleted the claim it created
    assert _register(inner, "fraud") == "3"
    assert inner.read(CLAIM) == b'{"name":"fraud"}'


def _copy_model(source: FsspecStore, target: FsspecStore, prefix: str) -> None:
    """Copy every key under ``prefix`` (a model's folder) from ``source`` to ``target``."""
    for child in source.list(prefix):
        key = f"{prefix}/{child}"
        if source.list(key):
            _copy_model(source, target, key)
        else:
            target.create(key, source.read(key))


def _fraud_and(tmp_path: Path, *, committed: bool) -> FsspecStore:
    """'fraud' registered, no claim; and a 'Fraud' made beside it before claims existed
    (in a scratch registry, its folder copied over): committed, or crashed before its
    manifest (only its sequence slot left)."""
    inner = _unclaimed_fraud(tmp_path)
    scratch = FsspecStore.from_url(str(tmp_path / "scratch"))

    def crash(op: str, key: str) -> None:
        if op == "create" and "/versions/" in key and not committed:
            raise OSError("crashed before the manifest")

    # The registry gives a store's OSError to its callers as a StoreError.
    with contextlib.suppress(StoreError):
        _register(HookStore(scratch, before=crash), "Fraud")
    _copy_model(scratch, inner, "models/Fraud")
    return inner


def test_a_listed_model_whose_claim_stands_is_not_refused_for_a_legacy_twin(
    tmp_path: Path,
) -> None:
    """A registry written before claims may hold two spellings ('Fraud' and 'fraud'). The
    one whose claim stands goes on registering, as it did, reading its first slot and
    manifest (not the listing of every model) to know it is a model."""
    inner = _fraud_and(tmp_path, committed=True)
    inner.create(CLAIM, b'{"name":"Fraud"}')
    listed: list[str] = []
    store = HookStore(inner, before=lambda op, key: listed.append(key) if op == "list" else None)
    assert _register(store, "Fraud") == "2"
    assert "models" not in listed
    assert inner.read(CLAIM) == b'{"name":"Fraud"}'


def test_a_crashed_registration_of_a_spelling_does_not_make_it_a_model_for_a_racer(
    tmp_path: Path,
) -> None:
    """'Fraud' left only a sequence slot (a crash before its manifest) beside a committed
    'fraud'. A ('Fraud') creates the claim; before A lists the models, B ('Fraud') runs:
    the folder is not empty, yet 'Fraud' is no model, so B lists as A does and is refused
    as A is (a shortcut on the folder let B register a second spelling)."""
    inner = _fraud_and(tmp_path, committed=False)
    assert inner.list("models/Fraud") == ["slots"]
    seen: dict[str, object] = {}

    def a_hook(op: str, key: str) -> None:
        if op == "list" and key == "models" and "b" not in seen:
            seen["b"] = _outcome(inner, "Fraud")

    a = _outcome(HookStore(inner, before=a_hook), "Fraud")
    _refused_beside(a, "Fraud", "fraud")
    _refused_beside(seen["b"], "Fraud", "fraud")
    assert ms.Registry(inner).models() == ["fraud"]
