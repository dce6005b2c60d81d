"""`modelship check bias` and `check degradation`: data files in, reports out, exit 0 / 1 / 2."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.cli import main


def cli(*argv: str | Path) -> int:
    """``modelship ...`` through the real entry point, so the command table is used too."""
    return main([str(a) for a in argv])


def write_csv(path: Path, columns: dict[str, Any]) -> Path:
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.fixture
def holdout(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, 2, n)
    sex = rng.choice(["F", "M"], n)
    fair = np.where(rng.random(n) < 0.85, y, 1 - y)
    unfair = fair.copy()
    unfair[(sex == "F") & (y == 1) & (rng.random(n) < 0.5)] = 0
    good = np.round(y + rng.normal(0, 0.6, n), 4)
    weak = np.round(y + rng.normal(0, 1.0, n), 4)
    return write_csv(
        tmp_path / "holdout.csv",
        {"y": y, "sex": sex, "fair": fair, "unfair": unfair, "good": good, "weak": weak},
    )


def test_fair_predictions_exit_0(holdout: Path, capsys: Any) -> None:
    argv = ["check", "bias", "--data", holdout, "--label", "y", "--prediction", "fair"]
    assert cli(*argv, "--sensitive", "sex") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "passed (1 check: 1 pass)"


def test_unfair_predictions_exit_1_and_reports_are_written(holdout: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = cli(
        "check",
        "bias",
        "--data",
        holdout,
        "--label",
        "y",
        "--prediction",
        "unfair",
        "--sensitive",
        "sex",
        "--json",
        out / "r.json",
        "--junit",
        out / "r.xml",
        "--markdown",
        out / "r.md",
    )
    assert code == 1
    doc = json.loads((out / "r.json").read_text())
    assert doc["results"][0]["disparities"]["equalized_odds_difference"]["passed"] is False
    assert ET.parse(out / "r.xml").getroot().get("failures") != "0"
    assert "equalized\\_odds\\_difference" in (out / "r.md").read_text()  # Markdown escapes _


def test_limits_replace_the_default_thresholds(holdout: Path) -> None:
    argv = ["check", "bias", "--data", holdout, "--label", "y", "--prediction", "unfair"]
    limits = [
        "equalized_odds_difference=none",
        "equal_opportunity_difference=none",
        "demographic_parity_difference=0.3",
    ]
    assert cli(*argv, "--sensitive", "sex", "--limit", *limits) == 0


def test_a_missing_column_exits_2_and_says_which(holdout: Path, capsys: Any) -> None:
    argv = ["check", "bias", "--data", holdout, "--label", "y", "--prediction", "fair"]
    assert cli(*argv, "--sensitive", "age") == 2
    assert "no column 'age'" in capsys.readouterr().out


def test_a_worse_candidate_exits_1_and_a_better_one_0(holdout: Path) -> None:
    argv = ["check", "degradation", "--data", holdout, "--label", "y", "--metrics", "roc_auc"]
    assert cli(*argv, "--candidate", "weak", "--baseline", "good") == 1
    assert cli(*argv, "--candidate", "good", "--baseline", "weak") == 0


def test_degradation_per_segment_names_segments_in_the_json(holdout: Path, tmp_path: Path) -> None:
    report = tmp_path / "d.json"
    code = cli(
        "check",
        "degradation",
        "--data",
        holdout,
        "--label",
        "y",
        "--candidate",
        "good",
        "--baseline",
        "weak",
        "--segment",
        "sex",
        "--metrics",
        "roc_auc",
        "accuracy",
        "--json",
        report,
    )
    assert code == 0
    result = json.loads(report.read_text())["results"][0]
    assert set(result["slices"]) == {"sex=F", "sex=M"}
    assert result["metrics"]["accuracy"]["method"] == "mcnemar_exact"


def test_an_unknown_metric_exits_2(holdout: Path) -> None:
    argv = ["check", "degradation", "--data", holdout, "--label", "y", "--metrics", "auc"]
    assert cli(*argv, "--candidate", "good", "--baseline", "weak") == 2


def test_an_unreadable_data_file_exits_2_and_names_it(tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "nope.csv"
    argv = ["check", "bias", "--data", missing, "--label", "y", "--prediction", "fair"]
    assert cli(*argv, "--sensitive", "sex") == 2
    assert f"ERROR bias: ConfigError: cannot read {missing}: No such" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["bias", "degradation"])
def test_an_unwritable_report_path_exits_2_with_a_clean_message(
    holdout: Path, tmp_path: Path, capsys: Any, command: str
) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    target = blocker / "checks.xml"
    columns = (
        ["--prediction", "fair", "--sensitive", "sex"]
        if command == "bias"
        else ["--candidate", "good", "--baseline", "weak", "--metrics", "roc_auc"]
    )
    argv = ["check", command, "--data", holdout, "--label", "y", *columns]
    assert cli(*argv, "--junit", target) == 2
    assert capsys.readouterr().err == (
        f"modelship: ConfigError: cannot write {target}: {blocker} is a file, not a folder; "
        "choose a writable path\n"
    )


def test_prediction_and_score_together_are_refused(holdout: Path, capsys: Any) -> None:
    argv = ["check", "bias", "--data", holdout, "--label", "y", "--sensitive", "sex"]
    with pytest.raises(SystemExit) as exited:
        cli(*argv, "--prediction", "fair", "--score", "good")
    assert exited.value.code == 2
    assert "--score: not allowed with argument --prediction" in capsys.readouterr().err
