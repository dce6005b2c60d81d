"""A flag held as booleans on one side and as 0/1 numbers on the other, second look: CSV
files of True/False are booleans, a number other than 0 and 1 is that column's drift (not
an error for the whole table), and Schema reads the flag as DataDrift does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import modelship as ms
from modelship.checks import DataDrift, DriftProfile, PredictionDrift, Schema
from modelship.checks._cli_common import read_table
from modelship.checks._cli_fairness import _columns, _labels
from modelship.cli import main as cli_main
from modelship.monitor import Samples

FLAG = np.random.default_rng(51).random(600) > 0.4
SRC = Path(ms.__file__).resolve().parents[1]  # the modelship this test imported


def _drift_cli(*args: str, cwd: Path) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "modelship", "check", "drift", *args, "--json", "out.json"],
        cwd=cwd,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, json.loads((cwd / "out.json").read_text())


def test_csv_reader_reads_true_false_cells_as_booleans(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("f,g,h,t\nTrue,TRUE,true,True\nFalse,,false,maybe\nTrue,FALSE,True,1\n")
    table = read_table(path)
    assert table["f"].dtype == np.bool_
    assert table["f"].tolist() == [True, False, True]
    assert table["g"].tolist() == [True, None, False]  # a blank cell is missing
    assert table["h"].tolist() == [True, False, True]
    assert table["t"].dtype.kind == "O"  # not only booleans: text, as pandas reads it
    assert Schema.infer(table)["g"].dtype == "bool"
    # check bias and degradation read the same cells as labels: 1 and 0, a blank missing.
    labels = tmp_path / "labels.csv"
    labels.write_text("y,p\nTrue,false\nFalse,TRUE\n,1\n")
    table = read_table(labels)
    cols = _columns(table, ["y", "p"], "labels.csv")
    assert _labels(table, cols, "p", "-p").tolist() == [0, 1, 1]
    assert np.isnan(_labels(table, cols, "y", "--label")).tolist() == [False, False, True]


def test_check_drift_on_csv_true_false_reference_and_0_1_batch(tmp_path: Path) -> None:
    x = np.linspace(0, 1, len(FLAG))
    pd.DataFrame({"f": FLAG, "x": x}).to_csv(tmp_path / "ref.csv", index=False)
    pd.DataFrame({"f": FLAG.astype(int), "x": x}).to_csv(tmp_path / "cur.csv", index=False)
    code, report = _drift_cli("--reference", "ref.csv", "--current", "cur.csv", cwd=tmp_path)
    assert code == 0, report
    code, report = _drift_cli(
        "--reference", "ref.csv", "--current", "cur.csv", "--numeric", "f", cwd=tmp_path
    )
    assert code == 0, report
    # Where the reference holds the column as text (another word beside True/False),
    # the batch's True/False cells meet it as text.
    text = np.where(FLAG, "True", "False").astype(object)
    text[0] = "unknown"
    pd.DataFrame({"f": text, "x": x}).to_csv(tmp_path / "text.csv", index=False)
    pd.DataFrame({"f": FLAG, "x": x}).to_csv(tmp_path / "bools.csv", index=False)
    code, report = _drift_cli("--reference", "text.csv", "--current", "bools.csv", cwd=tmp_path)
    assert code == 0, report
    column = report["results"][0]["columns"]["f"]  # type: ignore[index]
    assert (column["kind"], column["status"]) == ("categorical", "pass")


def test_one_bad_flag_is_that_columns_drift_the_others_judged() -> None:
    rng = np.random.default_rng(5)
    ref = {"flag": FLAG, "amount": rng.normal(0, 1, len(FLAG))}
    cur = {"flag": np.r_[FLAG[:-1].astype(int), 2], "amount": rng.normal(1.5, 1, len(FLAG))}
    for reference in (ref, DriftProfile.from_data(ref)):
        result = DataDrift(reference=reference, current=cur).run()
        assert result.status.value == "fail", result.reason
        flag, amount = result.columns["flag"], result.columns["amount"]
        assert flag.status.value == "fail"
        assert flag.drifted is True
        assert "other than 0 and 1 in the current data (2)" in flag.reason
        assert "kinds={'flag': 'numeric'}" in flag.reason
        assert "exclude=['flag']" in flag.reason
        assert amount.drifted is True
    # One column in ten drifting that way is one drifted column, as any other is.
    many = {f"c{i}": FLAG for i in range(9)}
    result = DataDrift(
        reference={**many, "flag": FLAG}, current={**many, "flag": cur["flag"]}
    ).run()
    assert result.status.value == "warn", result.reason
    assert result.details["drifted_columns"] == ["flag"]
    prediction = PredictionDrift(reference=FLAG, current=cur["flag"]).run()
    assert prediction.status.value == "fail"
    assert "kind='numeric'" in prediction.columns["prediction"].reason


def test_monitor_window_with_one_bad_flag_counts_it_drifted() -> None:
    rng = np.random.default_rng(0)
    flag, amount = rng.random(2000) > 0.5, rng.normal(size=2000)
    profile = DriftProfile.from_data(pd.DataFrame({"flag": flag, "amount": amount}))
    source = ms.monitor.DriftSource(now=100.0)
    source.set_profiles("1", features=profile, predictions=ms.monitor.prediction_profile(amount))
    rows = []
    for i in range(500):
        value = float(rng.normal(1.5, 1.0))
        rows.append(
            {
                "request_id": str(i),
                "row": 0,
                "timestamp": 50.0,
                "version": "1",
                "inputs": [int(rng.random() > 0.5) if i else 2, value],
                "output": value,
            }
        )
    source.add_predictions(rows)
    out = source.fetch("feature_drift", slot="1", start=0.0, end=100.0, stat="mean")
    assert isinstance(out, Samples), out
    assert out.values.tolist() == [1.0]


def test_schema_reads_the_flag_as_drift_does() -> None:
    cases = [
        (FLAG, FLAG.astype(int), "dtype changed: bool -> int64"),
        (FLAG, FLAG.astype(float), "dtype changed: bool -> float64"),
        (
            FLAG,
            np.r_[FLAG[:-1].astype(int), 3],
            "dtype changed: bool -> int64; new categories: '3'",
        ),
        (FLAG.astype(int), FLAG, "dtype changed: int64 -> bool"),  # was a blocking kind_changed
    ]
    for reference, current, reason in cases:
        result = Schema.infer({"f": reference}).check({"f": current}).run()
        assert (result.status.value, result.columns["f"].reason) == ("warn", reason)
    # Booleans where numbers other than a flag's were recorded (a count, probabilities)
    # are still a change of nature.
    for recorded in (np.r_[FLAG[:-1].astype(int), 3], FLAG.astype(float) * 0.5):
        result = Schema.infer({"f": recorded}).check({"f": FLAG}).run()
        assert result.status.value == "fail"
        assert result.columns["f"].reason == "kind changed: numeric -> categorical (booleans)"


def test_check_drift_between_two_csv_files_with_blank_cells_reads_one_flag(
    tmp_path: Path,
) -> None:
    # A True/False column with a blank cell is an object array of True/False/None: the
    # command's text rules must not read it as text (it drifted 100% against 1/0).
    booleans = tmp_path / "rb.csv"
    numbers = tmp_path / "cb.csv"
    rows = [("True", "1"), ("False", "0"), ("", ""), ("True", "1")] * 30
    # A second column keeps the blank cell's row (a blank line is skipped).
    booleans.write_text("f,x\n" + "".join(f"{b},{i}\n" for i, (b, _) in enumerate(rows)))
    numbers.write_text("f,x\n" + "".join(f"{n},{i}\n" for i, (_, n) in enumerate(rows)))
    for reference, current in ((booleans, numbers), (numbers, booleans)):
        code = cli_main(
            ["check", "drift", "--reference", str(reference), "--current", str(current)]
        )
        assert code == 0, (reference.name, current.name)


def test_text_spelling_booleans_against_a_boolean_reference_is_the_same_flag() -> None:
    # A CSV reference read as booleans against the same cells in a Parquet string column
    # (Spark and SQL write 'true'/'false') drifted 100% (third look, stop 51).
    flag = np.random.default_rng(3).random(600) > 0.3
    for spelled in (np.where(flag, "true", "false"), np.where(flag, "TRUE", "FALSE")):
        result = DataDrift(reference={"f": flag}, current={"f": spelled.astype(object)}).run()
        assert result.status.value == "pass", result.columns["f"].reason
    other = np.where(flag, "yes", "no").astype(object)
    reason = DataDrift(reference={"f": flag}, current={"f": other}).run().columns["f"].reason
    assert "unseen categories" in reason
