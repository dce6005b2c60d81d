"""Stored rollout records are read like input: any damage is a HistoryError, never a crash.

A record is a document in the registry's store. Whoever can write the store (a bug, a
hand edit, a copy from elsewhere) can change it, so reading one trusts nothing in it: each
field must have its type, every time must carry its time zone (records are sorted by
time, and a naive time cannot be compared with an aware one), and a record must be the
one its key names. These tests damage real records in every way a JSON value can be
damaged and check that ``RolloutRecord.from_dict``, ``RegistryHistory.records`` and the
``modelship deploy`` commands that read them either work or raise ``HistoryError``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from _damage import damage_in_place
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    EventKind,
    HistoryError,
    InMemoryHistory,
    RegistryHistory,
    RolloutEvent,
    RolloutRecord,
    RolloutStatus,
)
from modelship.deploy._cli import main
from modelship.testing._deployer_double import InMemoryDeployer


def _records() -> list[dict[str, Any]]:
    """Real records: a blue-green rolled back in its undo window, and a canary."""
    dep = InMemoryDeployer()
    history = InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history, undo_window=60.0).deploy("fraud", "1")
    dep.clock.advance(1)
    BlueGreen(dep, clock=dep.clock, history=history, undo_window=60.0).deploy(
        "fraud", "2"
    ).rollback()
    dep.clock.advance(1)
    canary = Canary(dep, steps=[CanaryStep(20)], clock=dep.clock, history=history)
    canary.deploy("fraud", "3")
    return [r.to_dict() for r in history.records("fraud")]


RECORDS = _records()


@st.composite
def damaged(draw: st.DrawFn) -> dict[str, Any]:
    """A real record with one to three places replaced by any JSON value, or removed."""
    doc = copy.deepcopy(draw(st.sampled_from(RECORDS)))
    for _ in range(draw(st.integers(1, 3))):
        doc, _ = damage_in_place(draw, doc)
    return doc


def _assert_well_formed(record: RolloutRecord) -> None:
    """What the readers of a record (the history, the CLI, a rollback) rely on."""
    for name in ("id", "model", "version", "strategy", "slot"):
        value = getattr(record, name)
        assert isinstance(value, str), (name, value)
        assert value, name
    for name in ("previous_version", "previous_slot"):
        value = getattr(record, name)
        assert value is None or (isinstance(value, str) and value), (name, value)
    assert isinstance(record.status, RolloutStatus)
    times = [record.started_at, record.undo_until, *(e.at for e in record.events)]
    for at in times:
        assert at is None or (isinstance(at, datetime) and at.utcoffset() is not None), at
    assert isinstance(record.events, tuple)
    for item in record.events:
        assert isinstance(item, RolloutEvent)
        assert isinstance(item.kind, EventKind)
        assert isinstance(item.message, str)
        assert isinstance(item.data, dict)
    # It writes back as JSON and reads back as itself.
    again = RolloutRecord.from_dict(json.loads(record.to_json()))
    assert again == record


@settings(max_examples=400, deadline=None)
@given(doc=damaged())
def test_a_damaged_record_reads_well_formed_or_raises_history_error(doc: dict[str, Any]) -> None:
    try:
        record = RolloutRecord.from_dict(doc, where="deployments/fraud/x.json")
    except HistoryError as exc:
        said = str(exc)
    else:
        _assert_well_formed(record)
        return
    assert "deployments/fraud/x.json" in said


def _store_url(n: int) -> str:
    return f"memory://record-fuzz-{n}"


_registries = iter(range(10**9))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=damaged())
def test_a_history_holding_a_damaged_record_lists_or_raises_and_the_cli_exits_2(
    doc: dict[str, Any],
) -> None:
    url = _store_url(next(_registries))
    reg = ms.open_registry(url)
    reg.register(model_name="fraud", model=b"w", serializer="bytes")
    # The damaged record goes under its own id when it still names a file, so that one
    # whose damage left it readable is listed; else under a name the history refuses.
    doc_id = doc.get("id")
    name = doc_id if isinstance(doc_id, str) and re.fullmatch(r"[\w.-]+", doc_id) else "z"
    good = next(r for r in RECORDS if r["id"] != name)
    for key, record in ((good["id"], good), (name, doc)):
        reg.store.replace(f"deployments/fraud/{key}.json", json.dumps(record).encode())
    try:
        listed = RegistryHistory(reg).records("fraud")
    except HistoryError:
        listed = None
    event("listed" if listed is not None else "refused")
    if listed is not None:
        for record in listed:
            _assert_well_formed(record)
            assert record.model == "fraud"
        assert listed == sorted(listed, key=lambda r: (r.started_at, r.id))
    for command in (["history", url, "fraud", "--events"], ["status", url, "fraud"]):
        code, out, err = _run(command)
        if listed is None:
            assert code == 2, (command, out, err)
            assert "HistoryError" in err
        else:
            assert code == 0, (command, out, err)
            json.loads(out)
    code, _, err = _run(["rollback", url, "fraud"])
    assert code in (0, 1, 2), err


def _run(command: list[str]) -> tuple[int, str, str]:
    """``modelship deploy COMMAND`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(command)
    return code, out.getvalue(), err.getvalue()


def _one(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(RECORDS[1])
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"started_at": "2026-01-01T00:00:00"}, "started_at"),
        ({"undo_until": "2026-01-01T00:00:00"}, "undo_until"),
        ({"previous_version": 7}, "previous_version"),
        ({"version": ["2"]}, "version"),
        ({"id": {"a": 1}}, "id"),
        ({"slot": ""}, "slot"),
        ({"events": {"at": 1}}, "events"),
    ],
)
def test_a_field_of_the_wrong_type_is_named(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(HistoryError, match=says):
        RolloutRecord.from_dict(_one(**changes), where="deployments/fraud/x.json")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"at": "2026-01-01T00:00:00"}, "at"),
        ({"message": ["x"]}, "message"),
        ({"data": [["a", 1]]}, "data"),
        ({"kind": "exploded"}, "kind"),
    ],
)
def test_an_event_with_a_field_of_the_wrong_type_is_named(
    changes: dict[str, Any], says: str
) -> None:
    doc = _one()
    doc["events"][0].update(changes)
    with pytest.raises(HistoryError, match=rf"event 0.*{says}"):
        RolloutRecord.from_dict(doc, where="deployments/fraud/x.json")


def test_a_naive_record_among_others_is_a_history_error_not_a_type_error() -> None:
    reg = ms.open_registry("memory://record-naive")
    reg.register(model_name="fraud", model=b"w", serializer="bytes")
    history = RegistryHistory(reg)
    for doc in RECORDS:
        history.save(RolloutRecord.from_dict(doc))
    naive = _one(id="20990101T000000000000Z-0", started_at="2026-01-01T00:00:00")
    reg.store.replace(f"deployments/fraud/{naive['id']}.json", json.dumps(naive).encode())
    with pytest.raises(HistoryError, match=r"started_at .2026-01-01T00:00:00.: .* got the naive"):
        history.records("fraud")


def test_a_record_stored_under_another_model_or_name_is_refused() -> None:
    reg = ms.open_registry("memory://record-moved")
    for name in ("fraud", "churn"):
        reg.register(model_name=name, model=b"w", serializer="bytes")
    doc = RECORDS[0]
    # A record of fraud copied into churn's history: its rollback would move churn's alias
    # to fraud's version.
    reg.store.replace(f"deployments/churn/{doc['id']}.json", json.dumps(doc).encode())
    with pytest.raises(HistoryError, match=r"model 'fraud'.*churn"):
        RegistryHistory(reg).records("churn")
    reg.store.delete(f"deployments/churn/{doc['id']}.json")
    reg.store.replace("deployments/fraud/renamed.json", json.dumps(doc).encode())
    with pytest.raises(HistoryError, match=f"id {doc['id']!r}.*renamed"):
        RegistryHistory(reg).records("fraud")


def test_a_naive_time_is_refused_when_a_record_or_event_is_made() -> None:
    with pytest.raises(ms.ConfigError, match="time zone"):
        RolloutEvent(datetime(2026, 1, 1), EventKind.TRAFFIC, "x")
    record = RolloutRecord.from_dict(RECORDS[0])
    with pytest.raises(ms.ConfigError, match="time zone"):
        attrs.evolve(record, started_at=datetime(2026, 1, 1))  # runs the converters
    with pytest.raises(ms.ConfigError, match="ISO 8601"):
        RolloutEvent("noon", EventKind.TRAFFIC, "x")
    aware = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert RolloutEvent(aware, EventKind.TRAFFIC, "x").at == aware
