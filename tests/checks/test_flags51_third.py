"""A flag held as true/false text, third look: text of "true"/"false" in the reference
(Parquet, Spark) against booleans in the current data is one flag, and a stray cell ("",
"NULL") among true/false text against booleans is that cell's drift, not every label's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelship as ms
from modelship.checks import DataDrift, DriftProfile, Schema
from modelship.checks._tabular import Column, ColumnKind, match_flags

FLAG = np.random.default_rng(351).random(600) > 0.35
TEXT = np.where(FLAG, "true", "false")
CUR = ("--current", "cur.csv", "--json", "out.json")
SRC = Path(ms.__file__).resolve().parents[1]  # the modelship this test imported


def test_text_reference_of_true_false_against_booleans_is_one_flag() -> None:
    for reference in (
        TEXT,
        pd.Series(TEXT).astype("category"),
        DriftProfile.from_data({"f": TEXT}),
    ):
        given = reference if isinstance(reference, DriftProfile) else {"f": reference}
        result = DataDrift(reference=given, current={"f": FLAG}).run()
        column = result.columns["f"]
        assert column.status.value == "pass", column.reason
        assert column.effect_size == pytest.approx(0.0)
    # Schema: the recorded categories are the reference's spellings, not new ones.
    checked = Schema.infer({"f": TEXT}).validate({"f": FLAG})
    assert "new_categories" not in checked.columns["f"].details


def test_csv_true_false_batch_against_parquet_true_false_text(tmp_path: Path) -> None:
    pd.DataFrame({"f": TEXT}).to_parquet(tmp_path / "ref.parquet")
    pd.DataFrame({"f": FLAG}).to_csv(tmp_path / "cur.csv", index=False)  # True/False cells
    done = subprocess.run(
        [sys.executable, "-m", "modelship", "check", "drift", "--reference", "ref.parquet", *CUR],
        cwd=tmp_path,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "out.json").read_text())["status"] == "pass"


@pytest.mark.parametrize("stray", ["", "NULL"])
def test_a_stray_cell_among_true_false_text_is_its_own_drift(stray: str) -> None:
    text = TEXT.astype(object)
    text[::60] = stray  # 10 cells of 600
    column = DataDrift(reference={"f": FLAG}, current={"f": text}).run().columns["f"]
    assert column.status.value == "fail"
    assert column.details["unseen_categories"] == {stray: 10}
    assert "text other than true and false" in column.reason
    assert repr(stray) in column.reason
    matched, others = match_flags(
        Column("f", ColumnKind.CATEGORICAL, "object", values=text), "bool"
    )
    assert others == [stray]
    assert set(matched.category_counts()[0]) == {stray, "False", "True"}
    # Text mostly of other words keeps every label: no flag is read into it.
    words = np.array(["red"] * 5 + ["true"] * 5, dtype=object)
    plain = Column("f", ColumnKind.CATEGORICAL, "object", values=words)
    assert match_flags(plain, "bool") == (plain, [])
