"""Review 41 of the drift checks: a word in a CSV batch's numeric column, float scores
holding a ``None``, kind options that ``check schema`` ignored or that contradict each
other, and subnormal data whose spread rounded to 0."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.checks import ColumnKind, DataDrift, DriftProfile, PredictionDrift, Schema
from modelship.checks._cli import read_table
from modelship.checks._tabular import as_table
from modelship.checks.stats import population_std, sorted_finite
from modelship.cli import main
from modelship.errors import CheckInputError


def run(tmp_path: Path, *argv: str) -> tuple[int, list[dict[str, Any]]]:
    """``modelship check ARGV``: its exit code and the results of its JSON report."""
    out = tmp_path / "out.json"
    code = main(["check", *argv, "--json", str(out)])
    results: list[dict[str, Any]] = json.loads(out.read_text(encoding="utf-8"))["results"]
    return code, results


# --- a word in a CSV batch's column the reference holds as numbers ------------------------


def income_files(tmp_path: Path) -> tuple[str, str]:
    """A reference of incomes and plans, and a batch of incomes shifted by 3 std whose
    first income is a word."""
    rng = np.random.default_rng(0)
    plans = ["ab"[i % 2] for i in range(400)]
    reference = tmp_path / "ref.csv"
    incomes = rng.normal(5e4, 1e4, 400)
    rows = "".join(f"{v:.2f},{p}\n" for v, p in zip(incomes, plans, strict=True))
    reference.write_text("income,plan\n" + rows)
    current = tmp_path / "cur.csv"
    incomes = rng.normal(8e4, 1e4, 399)
    rows = "".join(f"{v:.2f},{p}\n" for v, p in zip(incomes, plans[1:], strict=True))
    current.write_text("income,plan\nn/a?,a\n" + rows)
    return str(reference), str(current)


def _income_drift(tmp_path: Path, source: str) -> tuple[int, list[dict[str, Any]]]:
    """``check drift`` of the income files, against the reference file (``--reference``)
    or its profile (``--profile``): the exit code and the results."""
    reference, current = income_files(tmp_path)
    if source == "--profile":
        profile = str(tmp_path / "profile.json")
        assert main(["check", "profile", "--reference", reference, "--output", profile]) == 0
        reference = profile
    return run(tmp_path, "drift", source, reference, "--current", current)


@pytest.mark.parametrize("source", ["--reference", "--profile"])
def test_a_word_in_a_batch_column_the_reference_holds_as_numbers_is_an_error_not_text(
    tmp_path: Path, source: str
) -> None:
    # Read as text on both sides, the drifted incomes looked like identifiers: not
    # tested, a warning, and with 'plan' passing, exit 0. Against the reference's
    # profile: CheckInputError, exit 2.
    code, results = _income_drift(tmp_path, source)
    assert (code, results[0]["status"]) == (2, "error"), results[0]["reason"]
    assert "CheckInputError" in results[0]["reason"]
    assert "'income'" in results[0]["reason"]
    assert "n/a?" in results[0]["reason"]


def test_a_batch_of_digits_still_meets_a_reference_column_held_as_text(tmp_path: Path) -> None:
    rows = ["007", "010", "007", "010"] * 50
    (tmp_path / "ref.csv").write_text("zip\n" + "\n".join([*rows, "unknown"]) + "\n")
    (tmp_path / "cur.csv").write_text("zip\n" + "\n".join(rows) + "\n")
    reference, current = str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv")
    code, results = run(tmp_path, "drift", "--reference", reference, "--current", current)
    assert (code, results[0]["columns"]["zip"]["status"]) == (0, "pass")


# --- float scores holding a None ----------------------------------------------------------


def scores(shift: float) -> list[float | None]:
    rng = np.random.default_rng(1)
    values: list[float | None] = [float(v) * shift for v in rng.random(1000)]
    values[0] = None
    return values


@pytest.mark.parametrize("form", ["list", "object array", "dict"])
def test_float_scores_with_a_missing_one_are_compared_as_numbers(form: str) -> None:
    # With one None, the scores were classes: each distinct, an "identifier", not tested.
    reference: Any = scores(1.0)
    current: Any = scores(0.5)
    if form == "object array":
        reference, current = np.array(reference, dtype=object), np.array(current, dtype=object)
    name = "score" if form == "dict" else "prediction"
    if form == "dict":
        reference, current = {name: reference}, {name: current}
    column = PredictionDrift(reference=reference, current=current).run().columns[name]
    assert (column.kind, column.status.value) == ("numeric", "fail"), column.reason


def test_rounded_float_scores_with_a_missing_one_are_not_tested_as_categories() -> None:
    # Same scores on both sides: as numbers KS passes; as 1,000 categories chi-square failed.
    rng = np.random.default_rng(1)
    reference: list[float | None] = [None, *(round(float(v), 3) for v in rng.beta(2, 5, 5000))]
    current: list[float | None] = [None, *(round(float(v), 3) for v in rng.beta(2, 5, 5000))]
    column = PredictionDrift(reference=reference, current=current).run().columns["prediction"]
    assert (column.kind, column.status.value) == ("numeric", "pass"), column.reason


@pytest.mark.parametrize(
    "classes",
    [[1, 2, None, 1] * 50, [True, False, None, True] * 50, ["a", "b", None, "a"] * 50],
    ids=["integers", "booleans", "strings"],
)
def test_classes_with_a_missing_one_stay_classes(classes: list[Any]) -> None:
    column = PredictionDrift(reference=classes, current=classes).run().columns["prediction"]
    assert column.kind == "categorical"


def test_a_prediction_profile_of_float_scores_with_a_missing_one_is_numeric() -> None:
    profile = ms.monitor.prediction_profile(scores(1.0))
    assert profile.schema.kinds["prediction"].value == "numeric"


# --- kind options check schema ignored, or that contradict each other ---------------------


def small_files(tmp_path: Path) -> tuple[str, str]:
    data = "income,plan\n" + "".join(f"{100 + i},{'ab'[i % 2]}\n" for i in range(40))
    (tmp_path / "ref.csv").write_text(data)
    (tmp_path / "cur.csv").write_text(data)
    return str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv")


@pytest.mark.parametrize(
    "option",
    [["--numeric", "plan"], ["--categorical", "income"], ["--categorical-max-unique", "3"]],
    ids=["numeric", "categorical", "max-unique"],
)
@pytest.mark.parametrize("source", ["--profile", "--schema-file"])
def test_check_schema_refuses_kind_options_with_a_profile_or_a_schema_file(
    tmp_path: Path, source: str, option: list[str]
) -> None:
    reference, current = small_files(tmp_path)
    made = str(tmp_path / "made.json")
    if source == "--profile":
        assert main(["check", "profile", "--reference", reference, "--output", made]) == 0
    else:
        Path(made).write_text(Schema.infer(read_table(reference)).to_json())
    code, results = run(tmp_path, "schema", source, made, "--current", current, *option)
    assert (code, results[0]["status"]) == (2, "error")
    assert "ConfigError" in results[0]["reason"]
    assert "cannot change" in results[0]["reason"]


@pytest.mark.parametrize("command", ["drift", "schema"])
def test_a_column_declared_both_numeric_and_categorical_is_refused(
    tmp_path: Path, command: str
) -> None:
    reference, current = small_files(tmp_path)
    argv = ["--reference", reference, "--current", current, "--numeric", "plan"]
    code, results = run(tmp_path, command, *argv, "--categorical", "plan")
    assert (code, results[0]["status"]) == (2, "error")
    assert "--numeric and --categorical both name 'plan'" in results[0]["reason"]


def test_check_profile_refuses_a_column_declared_both_numeric_and_categorical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference, _ = small_files(tmp_path)
    output = tmp_path / "profile.json"
    argv = ["--reference", reference, "--output", str(output), "--numeric", "plan"]
    assert main(["check", "profile", *argv, "--categorical", "plan"]) == 2
    assert "both name 'plan'" in capsys.readouterr().err
    assert not output.exists()


# --- subnormal data whose spread rounds to 0 ----------------------------------------------


def test_the_std_of_distinct_subnormal_values_is_not_zero() -> None:
    assert population_std(sorted_finite([0.0, 5e-324] * 5)) == 5e-324
    assert population_std(sorted_finite([1e-320, 1e-320])) == 0.0


def test_subnormal_data_is_compared_from_the_data_as_from_its_profile() -> None:
    # From data: std 0, an infinite normalised Wasserstein distance, an error. From the
    # profile: std 0 made any distance infinite or 0 (here 0: a pass).
    reference = {"x": np.array([0.0, 5e-324] * 5)}
    current = {"x": np.array([1e-320, 1.5e-320] * 5)}
    by_data = DataDrift(reference=reference, current=current).run().columns["x"]
    profile = DriftProfile.from_data(reference)
    by_profile = DataDrift(reference=profile, current=current).run().columns["x"]
    assert (by_data.status.value, by_profile.status.value) == ("fail", "fail"), (
        by_data.reason,
        by_profile.reason,
    )


def test_a_profile_of_subnormal_values_keeps_the_std_it_computed() -> None:
    profile = DriftProfile.from_data({"x": np.array([1e-323, 1e-323, 1.5e-323])}, summary_size=3)
    again = DriftProfile.from_json(profile.to_json())
    assert again.numeric["x"].std == profile.numeric["x"].std > 0


def test_an_older_profile_with_std_zero_for_distinct_subnormal_values_reads_as_its_data() -> None:
    # Profiles written before the fix stored 0.0 for such a spread: any distance then
    # read as infinitely far, an error where the data give a verdict.
    reference = {"x": np.array([0.0, 5e-324] * 5)}
    document = json.loads(DriftProfile.from_data(reference).to_json())
    document["numeric"]["x"]["std"] = 0.0
    older = DriftProfile.from_json(json.dumps(document))
    current = {"x": np.array([1e-320, 1.5e-320] * 5)}
    result = DataDrift(reference=older, current=current).run().columns["x"]
    assert result.status.value == "fail", result.reason
    assert math.isfinite(result.effect_size or math.nan)


# --- second look: digits compared as categories, the reference's inference, digit text ---


def zip_files(tmp_path: Path) -> tuple[str, str]:
    """Zip codes of digits only in the reference; the same codes and one word in the batch."""
    codes = ["007", "010", "012", "020"]
    (tmp_path / "ref.csv").write_text("zip\n" + "".join(f"{codes[i % 4]}\n" for i in range(300)))
    rows = "".join(f"{codes[i % 4]}\n" for i in range(299))
    (tmp_path / "cur.csv").write_text("zip\n" + rows + "none given\n")
    return str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv")


@pytest.mark.parametrize(
    "option",
    [["--categorical", "zip"], ["--categorical-max-unique", "10"]],
    ids=["declared", "max-unique"],
)
def test_digits_compared_as_categories_meet_a_batch_with_a_word_as_written(
    tmp_path: Path, option: list[str]
) -> None:
    # The batch's column stayed text ("007") while the reference's labels were numbers
    # (7): no label met, 100% drift.
    reference, current = zip_files(tmp_path)
    code, results = run(tmp_path, "drift", "--reference", reference, "--current", current, *option)
    column = results[0]["columns"]["zip"]
    assert (code, column["status"]) == (0, "pass"), column["reason"]
    assert column["details"]["unseen_categories"] == {"none given": 1}


def test_a_csv_reference_is_not_profiled_to_type_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inferring the reference's schema counted every category of every text column:
    # seconds on a million rows, before the drift check counted them again.
    def infer(*args: Any, **kwargs: Any) -> Schema:
        raise AssertionError("Schema.infer called")

    monkeypatch.setattr(Schema, "infer", infer)
    reference, current = zip_files(tmp_path)
    code, results = run(
        tmp_path, "drift", "--reference", reference, "--current", current, "--categorical", "zip"
    )
    assert (code, results[0]["status"]) == (0, "pass"), results[0]["reason"]


@pytest.mark.parametrize("cell", ["1_000_000", "\uff19\uff19\uff19", "\u0661\u0662"])
@pytest.mark.parametrize("source", ["--reference", "--profile"])
def test_a_batch_cell_the_csv_reader_reads_as_text_is_no_number_against_numbers(
    tmp_path: Path, source: str, cell: str
) -> None:
    # float() takes digit groups and other scripts' digits: the cell that made the
    # batch's column text was then silently read as a number, exit 0.
    rng = np.random.default_rng(3)
    reference = tmp_path / "ref.csv"
    reference.write_text("x\n" + "".join(f"{v:.4f}\n" for v in rng.normal(size=200)))
    current = tmp_path / "cur.csv"
    rows = "".join(f"{v:.4f}\n" for v in rng.normal(size=199))
    current.write_text("x\n" + rows + cell + "\n", encoding="utf-8")
    ref = str(reference)
    if source == "--profile":
        ref = str(tmp_path / "profile.json")
        assert main(["check", "profile", "--reference", str(reference), "--output", ref]) == 0
    code, results = run(tmp_path, "drift", source, ref, "--current", str(current))
    assert (code, results[0]["status"]) == (2, "error"), results[0]["reason"]
    assert "CheckInputError" in results[0]["reason"]
    assert repr(cell) in results[0]["reason"]


@pytest.mark.parametrize("source", ["--reference", "--profile"])
def test_a_word_against_the_reference_numbers_says_the_reference_decided(
    tmp_path: Path, source: str
) -> None:
    # "declared numeric ... declare it categorical": nothing was declared, and that advice
    # compares a continuous column as categories.
    code, results = _income_drift(tmp_path, source)
    reason = results[0]["reason"]
    assert code == 2
    assert "the reference holds column 'income' as numbers" in reason
    assert "--exclude income" in reason
    assert "declare" not in reason


def test_a_word_in_a_column_declared_numeric_still_says_it_was_declared(tmp_path: Path) -> None:
    reference, current = income_files(tmp_path)
    argv = ["--reference", reference, "--current", current, "--numeric", "income"]
    code, results = run(tmp_path, "drift", *argv)
    assert code == 2
    assert "column 'income' is declared numeric but holds 'n/a?'" in results[0]["reason"]


def test_an_excluded_column_with_a_word_is_not_refused(tmp_path: Path) -> None:
    reference, current = income_files(tmp_path)
    argv = ["--reference", reference, "--current", current, "--exclude", "income"]
    code, results = run(tmp_path, "drift", *argv)
    assert (code, list(results[0]["columns"])) == (0, ["plan"]), results[0]["reason"]


@pytest.mark.parametrize("cell", ["1_000", "\uff11\uff12", b"1_000"], ids=["group", "fw", "bytes"])
def test_text_declared_numeric_is_a_number_only_as_a_csv_reader_reads_it(cell: Any) -> None:
    reference = {"x": np.arange(50.0)}
    current = {"x": np.array([*(str(v) for v in range(49)), cell], dtype=object)}
    check = DataDrift(reference=reference, current=current, kinds={"x": "numeric"})
    with pytest.raises(CheckInputError, match="is not a plain number"):
        check.run()


def test_plain_number_text_declared_numeric_is_read_as_numbers() -> None:
    # What the CSV reader reads as numbers (spaces, exponents, nan, infinities) still is.
    cells = [" 1.5 ", "1e3", "nan", "-inf", "Infinity", "+2", ".5"]
    column = as_table(
        {"x": np.array(cells, dtype=object)}, kinds={"x": ColumnKind.NUMERIC}
    ).columns["x"]
    expected = [1.5, 1e3, math.nan, -math.inf, math.inf, 2.0, 0.5]
    np.testing.assert_array_equal(column.values, np.array(expected))
