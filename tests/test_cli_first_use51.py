"""First-use messages of the command line (review 51).

* ``check bias`` and ``check degradation`` read a CSV label column of booleans as
  pandas writes one (``True``/``False``; ``TRUE``, ``true`` as pandas reads them too) as
  1 and 0, as the Python API takes a bool column; other text is refused naming a few of
  its values and the flag, not only a dtype;
* errors whose message points a Python user at the library (``columns=[...]``,
  ``versions('fraud')``) say the command line's way too: the options that choose
  columns in every check command, ``modelship registry versions URL NAME`` in every
  command that looks a version up (registry, deploy, parity).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelship as ms
from modelship.cli import main
from modelship.errors import ColumnMismatch, VersionNotFound

# --- 1. boolean labels in a CSV file ---------------------------------------------------


def _fairness_csv(path: Path, labels: object) -> str:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    scores = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1)
    frame = pd.DataFrame(
        {
            "y": y.astype(bool),
            "y_hat": scores > 0.5,
            "score": scores,
            "base": rng.random(n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    if labels is not None:
        frame["y"] = np.where(y == 1, *labels)  # type: ignore[misc]
    frame.to_csv(path, index=False)
    return str(path)


def _bias(data: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    argv = ["check", "bias", "--data", data, "--label", "y", "--prediction", "y_hat"]
    code = main([*argv, "--sensitive", "sex"])
    return code, capsys.readouterr().out


def _degradation(data: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    argv = ["check", "degradation", "--data", data, "--label", "y", "--candidate", "score"]
    code = main([*argv, "--baseline", "base", "--metrics", "roc_auc"])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("labels", [None, ("TRUE", "FALSE"), ("true", "false")])
def test_bias_and_degradation_read_a_csv_label_column_of_booleans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: object
) -> None:
    data = _fairness_csv(tmp_path / "holdout.csv", labels)  # None: df.to_csv's True/False
    if labels is None:  # as pandas writes a bool column
        assert {line.split(",")[0] for line in Path(data).read_text().splitlines()[1:]} == {
            "True",
            "False",
        }
    code, out = _bias(data, capsys)
    assert code in (0, 1), out  # a verdict: the labels were read
    assert out.startswith(("PASS", "FAIL", "WARN")), out
    code, out = _degradation(data, capsys)
    assert code in (0, 1), out
    assert "CheckInputError" not in out, out


def test_a_boolean_label_column_reads_as_the_python_api_reads_its_bools(
    tmp_path: Path,
) -> None:
    from modelship.checks._cli_common import read_table
    from modelship.checks._cli_fairness import _columns, _labels

    path = tmp_path / "a.csv"
    path.write_text("y,p\nTrue,false\nFalse,TRUE\n,true\n")
    table = read_table(path)
    cols = _columns(table, ["y", "p"], str(path))
    assert _labels(table, cols, "p", "--prediction").tolist() == [0, 1, 1]
    with_missing = _labels(table, cols, "y", "--label")  # missing stays missing (NaN)
    assert with_missing[:2].tolist() == [1.0, 0.0]
    assert np.isnan(with_missing[2])


def test_other_text_labels_are_refused_naming_the_flag_and_some_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _fairness_csv(tmp_path / "holdout.csv", ("yes", "no"))
    for run in (_bias, _degradation):
        code, out = run(data, capsys)
        assert code == 2
        first = out.splitlines()[0]
        assert "--label column 'y' holds text (values such as 'no', 'yes')" in first, first
        assert "dtype" not in first, first
        assert "astype" not in first, first
    # A column mixing booleans and another word names the word, not the booleans.
    path = tmp_path / "mixed.csv"
    path.write_text("y,y_hat,sex\nTrue,True,F\nFalse,maybe,M\n")
    code, out = _bias(str(path), capsys)
    assert code == 2
    assert "--prediction column 'y_hat' holds text (values such as 'maybe')" in out, out


# --- 2. the command line's way, not the Python API's ------------------------------------


def _drift_files(tmp_path: Path) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    reference, current = tmp_path / "ref.csv", tmp_path / "cur.csv"
    pd.DataFrame({"age": rng.normal(size=300), "plan": rng.choice(["a", "b"], 300)}).to_csv(
        reference, index=False
    )
    pd.DataFrame(
        {"age": rng.normal(size=300), "plan": rng.choice(["a", "b"], 300), "extra": 1}
    ).to_csv(current, index=False)
    return str(reference), str(current)


def test_check_drift_says_which_option_compares_the_shared_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference, current = _drift_files(tmp_path)
    for first, second in ((reference, current), (current, reference)):
        code = main(["check", "drift", "--reference", first, "--current", second])
        out = capsys.readouterr().out
        assert code == 2
        assert "ColumnMismatch" in out
        assert "(on the command line: --exclude extra leaves out the columns only one side" in out
        assert "--columns COL ..." in out
    # The advice works: the same files pass with it.
    argv = ["check", "drift", "--reference", reference, "--current", current]
    assert main([*argv, "--exclude", "extra"]) == 0
    profile = str(tmp_path / "profile.json")
    assert main(["check", "profile", "--reference", reference, "--output", profile]) == 0
    capsys.readouterr()
    assert main(["check", "drift", "--profile", profile, "--current", current]) == 2
    assert "--exclude extra leaves out" in capsys.readouterr().out


def test_a_column_option_naming_no_column_is_said_with_the_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference, current = _drift_files(tmp_path)
    argv = ["check", "drift", "--reference", reference, "--current", current]
    code = main([*argv, "--columns", "nope"])
    assert code == 2
    assert "(on the command line: --columns COL ..." in capsys.readouterr().out
    argv = ["check", "profile", "--reference", reference, "--output", str(tmp_path / "p.json")]
    code = main([*argv, "--columns", "nope"])
    assert code == 2
    assert "(on the command line: --columns COL ..." in capsys.readouterr().err


def test_the_library_keeps_its_python_messages(tmp_path: Path) -> None:
    from modelship.checks import DataDrift

    with pytest.raises(ColumnMismatch) as caught:
        DataDrift(reference={"a": [1.0, 2.0]}, current={"a": [1.0, 2.0], "b": [1, 2]}).run()
    assert "pass columns=[...]" in str(caught.value)
    assert "on the command line" not in str(caught.value)
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    with pytest.raises(VersionNotFound) as missing:
        reg.get("fraud", "9")
    assert "see versions('fraud')" in str(missing.value)
    assert "on the command line" not in str(missing.value)


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = str(tmp_path / "models")
    reg = ms.open_registry(url)
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    reg.set_alias("fraud", "production", "1")
    return url


LISTING = "(on the command line: `modelship registry versions {} fraud` lists its versions"


@pytest.mark.parametrize(
    "argv",
    [
        ["registry", "show", "{url}", "fraud", "9"],
        ["registry", "show", "{url}", "fraud", "@prod"],
        ["registry", "verify", "{url}", "fraud", "9"],
        ["registry", "download", "{url}", "fraud", "9", "--output", "{out}"],
        ["registry", "alias", "{url}", "fraud", "staging", "9"],
        ["registry", "unalias", "{url}", "fraud", "nope"],
        ["deploy", "apply", "{url}", "fraud", "9", "--dry-run"],
        ["deploy", "apply", "{url}", "fraud", "@nope", "--dry-run"],
    ],
)
def test_a_missing_version_or_alias_names_the_command_that_lists_them(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main([part.format(url=registry, out=tmp_path / "x.bin") for part in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert "modelship: VersionNotFound: fraud has no" in err, err
    assert LISTING.format(registry) in err, err


def test_parity_check_names_the_command_that_lists_the_versions(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parity", "check", registry, "fraud", "9"]) == 2
    out = capsys.readouterr().out
    assert "ERROR environment_parity: VersionNotFound: fraud has no version '9'" in out
    assert LISTING.format(registry) in out, out


def test_a_missing_model_keeps_its_own_message(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "show", registry, "nobody", "9"]) == 2
    err = capsys.readouterr().err
    assert "ModelNotFound" in err
    assert "on the command line" not in err
