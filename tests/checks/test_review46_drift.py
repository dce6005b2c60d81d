"""Review 46 of the drift checks: a column of date-times on one side and text on the other
(a CSV reader keeps dates as text, Parquet does not) is refused by name, never a raw
``KeyError``; a date-time written as text in a column declared numeric says that the CSV
reader does not parse dates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.checks import DataDrift, DriftProfile, PredictionDrift, run_suite
from modelship.cli import main
from modelship.errors import CheckInputError, EmptyData

N = 200


def _stamps() -> np.ndarray[Any, np.dtype[Any]]:
    days = np.random.default_rng(0).integers(0, 365, N)
    return np.datetime64("2024-01-01", "s") + days.astype("timedelta64[D]")


def _as_csv_text(stamps: np.ndarray[Any, np.dtype[Any]]) -> np.ndarray[Any, np.dtype[Any]]:
    """The column as a CSV reader gives it: pandas' way of writing a UTC time stamp."""
    return np.array([f"{s.astype('datetime64[s]')}+00:00".replace("T", " ") for s in stamps])


def _x(seed: int) -> np.ndarray[Any, np.dtype[Any]]:
    return np.random.default_rng(seed).normal(size=N)


def test_text_reference_and_datetime_current_raise_check_input_error_naming_the_column() -> None:
    reference = {"x": _x(1), "signup": _as_csv_text(_stamps())}
    current = {"x": _x(2), "signup": _stamps()}
    with pytest.raises(CheckInputError, match="column 'signup' holds date-times") as caught:
        DataDrift(reference=reference, current=current).run()
    message = str(caught.value)
    assert "str values (categorical) in the reference" in message
    assert "exclude=['signup']" in message
    assert "--exclude signup" in message
    assert "kinds={'signup': 'numeric'}" in message


def test_text_profile_and_datetime_current_raise_check_input_error_naming_the_column() -> None:
    profile = DriftProfile.from_data({"x": _x(1), "signup": _as_csv_text(_stamps())})
    with pytest.raises(CheckInputError, match="in the reference profile") as caught:
        DataDrift(reference=profile, current={"x": _x(2), "signup": _stamps()}).run()
    assert "make the profile again" in str(caught.value)
    assert "'signup'" in str(caught.value)


def test_tz_aware_pandas_current_against_text_reference_is_refused_by_name() -> None:
    pd = pytest.importorskip("pandas")
    stamps = pd.Series(pd.to_datetime(_stamps()).tz_localize("UTC"))
    reference = {"x": _x(1), "signup": stamps.astype(str).to_numpy(dtype=object)}
    current = pd.DataFrame({"x": _x(2), "signup": stamps})
    with pytest.raises(CheckInputError, match="column 'signup' holds date-times"):
        DataDrift(reference=reference, current=current).run()


def test_only_column_datetime_against_text_is_refused_by_name_not_as_empty_data() -> None:
    with pytest.raises(CheckInputError, match="column 'signup' holds date-times") as caught:
        DataDrift(
            reference={"signup": _as_csv_text(_stamps())}, current={"signup": _stamps()}
        ).run()
    assert not isinstance(caught.value, EmptyData)


def test_suite_reports_the_clash_as_a_named_error_not_a_key_error() -> None:
    check = DataDrift(
        reference={"x": _x(1), "signup": _as_csv_text(_stamps())},
        current={"x": _x(2), "signup": _stamps()},
    )
    summary = run_suite([check]).summary()
    assert "KeyError" not in summary
    assert "CheckInputError: column 'signup' holds date-times" in summary


def test_excluding_the_clashing_column_compares_the_others() -> None:
    result = DataDrift(
        reference={"x": _x(1), "signup": _as_csv_text(_stamps())},
        current={"x": _x(1), "signup": _stamps()},
        exclude=["signup"],
    ).run()
    assert result.status.value == "pass"
    assert list(result.columns) == ["x"]


def test_prediction_drift_text_reference_and_datetime_current_is_refused_by_name() -> None:
    with pytest.raises(CheckInputError, match="column 'when' holds date-times"):
        PredictionDrift(
            reference={"when": _as_csv_text(_stamps())}, current={"when": _stamps()}
        ).run()


def test_datetime_reference_and_text_current_leave_the_column_out_as_documented() -> None:
    result = DataDrift(
        reference={"x": _x(1), "signup": _stamps()},
        current={"x": _x(1), "signup": _as_csv_text(_stamps())},
    ).run()
    assert result.columns["signup"].status.value == "skip"


def test_datetime_declared_numeric_against_text_says_the_csv_reader_does_not_parse_dates() -> None:
    check = DataDrift(
        reference={"x": _x(1), "signup": _stamps()},
        current={"x": _x(2), "signup": _as_csv_text(_stamps())},
        kinds={"signup": "numeric"},
    )
    with pytest.raises(CheckInputError, match="CSV reader does not parse dates") as caught:
        check.run()
    message = str(caught.value)
    assert "declare it categorical" not in message
    assert "Parquet with Parquet" in message
    assert "--exclude signup" in message


def test_numeric_datetime_profile_against_csv_text_says_the_csv_reader_does_not_parse_dates() -> (
    None
):
    profile = DriftProfile.from_data({"signup": _stamps()}, kinds={"signup": "numeric"})
    with pytest.raises(CheckInputError, match="CSV reader does not parse dates"):
        DataDrift(reference=profile, current={"signup": _as_csv_text(_stamps())}).run()


@pytest.mark.parametrize("text", ["2024-01-05", "2024-01-05T10:30Z", "2024-01-05 10:30:00.5-05:00"])
def test_iso_dates_in_a_numeric_column_get_the_date_advice(text: str) -> None:
    with pytest.raises(CheckInputError, match="date-time written as text"):
        DataDrift(
            reference={"v": np.arange(10.0)}, current={"v": np.array([text] * 10, dtype=object)}
        ).run()


def test_other_text_in_a_numeric_column_keeps_the_categorical_advice() -> None:
    with pytest.raises(CheckInputError, match="declare it categorical or clean it") as caught:
        DataDrift(
            reference={"v": np.arange(10.0)},
            current={"v": np.array(["2024-01"] * 10, dtype=object)},
        ).run()
    assert "date-time" not in str(caught.value)


def test_cli_csv_reference_and_parquet_current_fail_with_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    stamps = pd.Series(pd.to_datetime(_stamps()).tz_localize("UTC"))
    pd.DataFrame({"x": _x(1), "signup": stamps}).to_csv(tmp_path / "ref.csv", index=False)
    pd.DataFrame({"x": _x(2), "signup": stamps}).to_parquet(tmp_path / "cur.parquet")
    code = main(
        [
            "check",
            "drift",
            "--reference",
            str(tmp_path / "ref.csv"),
            "--current",
            str(tmp_path / "cur.parquet"),
        ]
    )
    out = capsys.readouterr()
    shown = out.out + out.err
    assert code == 2
    assert "KeyError" not in shown
    assert "column 'signup' holds date-times" in shown


# Second look at review 46: the CLI hints are shell-quoted, and the advice fits the check.


def _hint(message: str, option: str) -> list[str]:
    """The words a shell makes of the hint ``option ...)`` pasted from the message."""
    import shlex

    start = message.index(option)
    return shlex.split(message[start : message.index(")", start)])


def test_clash_advice_quotes_a_column_name_with_a_space_for_the_shell() -> None:
    reference = {"x": _x(1), "signup date": _as_csv_text(_stamps())}
    current = {"x": _x(2), "signup date": _stamps()}
    with pytest.raises(CheckInputError, match="holds date-times") as caught:
        DataDrift(reference=reference, current=current).run()
    message = str(caught.value)
    assert _hint(message, "--exclude") == ["--exclude", "signup date"]
    assert _hint(message, "--numeric") == ["--numeric", "signup date"]


def test_profile_clash_advice_quotes_a_column_name_with_a_space_for_the_shell() -> None:
    profile = DriftProfile.from_data({"x": _x(1), "signup date": _as_csv_text(_stamps())})
    with pytest.raises(CheckInputError, match="make the profile again") as caught:
        DataDrift(reference=profile, current={"x": _x(2), "signup date": _stamps()}).run()
    assert _hint(str(caught.value), "--numeric") == ["--numeric", "signup date"]


def test_date_text_advice_quotes_a_column_name_with_a_space_for_the_shell() -> None:
    check = DataDrift(
        reference={"x": _x(1), "signup date": _stamps()},
        current={"x": _x(2), "signup date": _as_csv_text(_stamps())},
        kinds={"signup date": "numeric"},
    )
    with pytest.raises(CheckInputError, match="date-time written as text") as caught:
        check.run()
    assert _hint(str(caught.value), "--exclude") == ["--exclude", "signup date"]


def test_prediction_drift_numeric_text_dates_get_advice_prediction_drift_can_follow() -> None:
    text = np.array([str(s) for s in _stamps().astype("datetime64[D]")], dtype=object)
    with pytest.raises(CheckInputError, match="date-time written as text") as caught:
        PredictionDrift(reference=text, current=text, kind="numeric").run()
    message = str(caught.value)
    # PredictionDrift has no exclude=, and in-memory arrays were read by no CSV reader.
    assert "exclude" not in message
    assert "Parquet" not in message
    assert "the CSV reader" not in message
    assert "leave kind unset" in message


def test_prediction_drift_unnamed_clash_does_not_advise_leaving_out_the_only_column() -> None:
    with pytest.raises(CheckInputError, match="column 'prediction' holds date-times") as caught:
        PredictionDrift(reference=_as_csv_text(_stamps()), current=_stamps()).run()
    message = str(caught.value)
    assert "columns=" not in message
    assert "exclude" not in message
    assert "date-times on both sides, with kind='numeric', or as text on both sides" in message
