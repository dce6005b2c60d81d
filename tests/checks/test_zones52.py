"""Date-times with a time zone against naive ones: DataDrift refuses, Schema blocks."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pandas as pd
import pytest

from modelship.checks import DataDrift, DriftProfile, Schema
from modelship.checks._result import Severity, Status
from modelship.checks._schema import FINDINGS
from modelship.errors import CheckInputError

pa = pytest.importorskip("pyarrow")
pl = pytest.importorskip("polars")

NUMERIC = {"t": "numeric"}


def _events(n: int = 400) -> pd.Series:
    rng = np.random.default_rng(52)
    start = pd.Timestamp("2024-03-01", tz="UTC")
    seconds = pd.to_timedelta(rng.integers(0, 86400 * 14, n), unit="s")
    return pd.Series(start + seconds).dt.tz_convert("America/New_York")


def _aware() -> pd.DataFrame:
    return pd.DataFrame({"t": _events(), "x": np.arange(400.0)})


def _naive() -> pd.DataFrame:
    # The same events as New York wall-clock time: read as UTC, 4-5 hours off.
    return pd.DataFrame({"t": _events().dt.tz_localize(None), "x": np.arange(400.0)})


def test_drift_refuses_a_naive_batch_against_a_zoned_reference() -> None:
    check = DataDrift(reference=_aware(), current=_naive(), kinds=NUMERIC)
    with pytest.raises(CheckInputError) as caught:
        check.run()
    message = str(caught.value)
    assert "'t'" in message
    assert "America/New_York" in message
    assert "in the reference but without one in the current" in message
    assert "tz_localize('America/New_York')" in message


def test_drift_refuses_a_zoned_batch_against_a_naive_reference() -> None:
    check = DataDrift(reference=_naive(), current=_aware(), kinds=NUMERIC)
    with pytest.raises(CheckInputError, match=r"without a time zone in the reference") as caught:
        check.run()
    assert "tz_convert(None)" in str(caught.value)


def test_drift_compares_two_zones_as_the_same_instants() -> None:
    paris = _aware().assign(t=_events().dt.tz_convert("Europe/Paris"))
    result = DataDrift(reference=_aware(), current=paris, kinds=NUMERIC).run()
    assert result.status is Status.PASS


@pytest.mark.parametrize("library", ["arrow", "polars", "lazy"])
def test_drift_refuses_arrow_and_polars_zones_read_as_utc(library: str) -> None:
    aware, naive = _aware(), _naive()
    if library == "arrow":
        reference, current = pa.Table.from_pandas(aware), pa.Table.from_pandas(naive)
    else:
        reference, current = pl.from_pandas(aware), pl.from_pandas(naive)
        if library == "lazy":
            current = current.lazy()
    with pytest.raises(CheckInputError, match="America/New_York"):
        DataDrift(reference=reference, current=current, kinds=NUMERIC).run()


def test_drift_refuses_lists_of_aware_datetimes_against_naive_ones() -> None:
    zone = datetime.timezone(datetime.timedelta(hours=-5))
    moments = [datetime.datetime(2024, 3, 1, hour, tzinfo=zone) for hour in range(24)] * 10
    naive = [moment.replace(tzinfo=None) for moment in moments]
    with pytest.raises(CheckInputError, match="UTC-05:00"):
        DataDrift(reference={"t": moments}, current={"t": naive}, kinds=NUMERIC).run()


def test_drift_against_a_profile_refuses_by_its_recorded_zone() -> None:
    profile = DriftProfile.from_data(_aware(), kinds=NUMERIC)
    assert profile.schema["t"].zone == "America/New_York"
    again = DriftProfile.from_json(profile.to_json())
    assert again.schema["t"].zone == "America/New_York"
    with pytest.raises(CheckInputError, match=r"reference profile but without one"):
        DataDrift(reference=again, current=_naive()).run()
    assert DataDrift(reference=again, current=_aware()).run().status is Status.PASS


def test_a_profile_written_before_zones_were_recorded_refuses_nothing() -> None:
    document = DriftProfile.from_data(_aware(), kinds=NUMERIC).to_dict()
    for column in document["schema"]["columns"]:
        column.pop("zone", None)
    older = DriftProfile.from_dict(json.loads(json.dumps(document)))
    assert older.schema["t"].zone is None
    assert DataDrift(reference=older, current=_naive()).run().status is not Status.ERROR


def test_schema_records_each_columns_zone() -> None:
    frame = _aware().assign(n=_events().dt.tz_localize(None))
    schema = Schema.infer(frame, kinds={"t": "numeric", "n": "numeric"})
    assert schema["t"].zone == "America/New_York"
    assert schema["n"].zone == ""
    assert schema["x"].zone is None
    written = {column["name"]: column for column in schema.to_dict()["columns"]}
    assert "zone" not in written["x"]  # not date-times: not written
    assert written["n"]["zone"] == ""
    assert Schema.from_json(schema.to_json()) == schema
    polars_schema = Schema.infer(pl.from_pandas(_aware()), kinds=NUMERIC)
    assert polars_schema["t"].zone == "America/New_York"


def test_schema_blocks_a_naive_batch_against_a_zoned_schema() -> None:
    assert FINDINGS["zone_changed"] is Severity.BLOCKING
    schema = Schema.infer(_aware(), kinds=NUMERIC)
    result = schema.validate(_naive())
    assert result.status is Status.FAIL
    findings = result.columns["t"].details["findings"]
    assert [f["finding"] for f in findings if f["finding"] == "zone_changed"] == ["zone_changed"]
    assert "America/New_York" in result.columns["t"].reason
    # The reverse, and the arrow form of the same batch.
    assert Schema.infer(_naive(), kinds=NUMERIC).validate(_aware()).status is Status.FAIL
    assert schema.validate(pa.Table.from_pandas(_naive())).status is Status.FAIL
    relaxed = schema.validate(_naive(), severities={"zone_changed": "advisory"})
    assert relaxed.columns["t"].status is not Status.FAIL


def test_schema_takes_another_zone_and_an_older_document_as_before() -> None:
    schema = Schema.infer(_aware(), kinds=NUMERIC)
    paris = _aware().assign(t=_events().dt.tz_convert("Europe/Paris"))
    assert schema.validate(paris).status is Status.PASS
    document = schema.to_dict()
    for column in document["columns"]:
        column.pop("zone", None)
    older = Schema.from_dict(document)
    assert older["t"].zone is None
    findings = older.validate(_naive()).columns["t"].details["findings"]
    assert "zone_changed" not in [f["finding"] for f in findings]
