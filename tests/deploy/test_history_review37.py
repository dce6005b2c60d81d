"""Stop 37: rollout ids a record cannot be read back under, and NaN edited into a record."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

import modelship as ms
from modelship.deploy import HistoryError, RegistryHistory, RolloutRecord, RolloutStatus
from modelship.deploy._cli import main
from modelship.errors import ConfigError


def _record(rollout_id: str) -> RolloutRecord:
    return RolloutRecord(
        id=rollout_id,
        model="fraud",
        version="1",
        strategy="blue-green",
        status=RolloutStatus.SUCCEEDED,
        slot="blue",
        previous_version=None,
        previous_slot=None,
        started_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )


@pytest.mark.parametrize(
    "rollout_id", ["a/b", "../../x", "", " ", "..", "x\x00y", "x\ny", "x" * 129]
)
def test_a_rollout_id_that_is_not_one_file_name_is_refused(rollout_id: str) -> None:
    # "a/b" was saved and never listed again; "" was saved and made every read fail.
    with pytest.raises(ConfigError, match="rollout id"):
        _record(rollout_id)


@pytest.mark.parametrize("rollout_id", ["r1", "20260101T120000123456Z-1a2b3c4d", "v2.canary_1"])
def test_ids_of_one_file_name_are_kept(rollout_id: str, tmp_path: object) -> None:
    registry = ms.open_registry(str(tmp_path))
    registry.register(model_name="fraud", model=b"w", serializer="bytes")
    RegistryHistory(registry).save(_record(rollout_id))
    assert [r.id for r in RegistryHistory(registry).records("fraud")] == [rollout_id]


def test_a_stored_record_with_a_bad_id_is_a_history_error(tmp_path: object) -> None:
    doc = _record("r1").to_dict()
    doc["id"] = "a/b"
    with pytest.raises(HistoryError, match="rollout id"):
        RolloutRecord.from_dict(doc, where="r1.json")


def test_nan_edited_into_a_record_is_refused_and_history_prints_no_nan(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = ms.open_registry(str(tmp_path))
    registry.register(model_name="fraud", model=b"w", serializer="bytes")
    record = _record("r1")
    RegistryHistory(registry).save(record)
    key = "deployments/fraud/r1.json"
    doc = json.loads(registry.store.read(key))
    doc["events"] = [
        {"at": "2026-01-01T00:00:00+00:00", "kind": "traffic", "message": "x", "data": {"w": 1.5}}
    ]
    registry.store.replace(key, json.dumps(doc).replace("1.5", "NaN").encode())
    with pytest.raises(HistoryError, match="NaN"):
        RegistryHistory(registry).records("fraud")
    assert main(["history", str(tmp_path), "fraud", "--events"]) == 2
    assert "NaN" not in capsys.readouterr().out
