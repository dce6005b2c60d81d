"""CI outputs of the command line: appending summaries, stdout, closed pipes, URLs, archives."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship import _json
from modelship.checks import CheckResult
from modelship.cli import main


def write_csv(path: Path, n: int, shift: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(40 + 10 * shift, 10, n), 3)
    path.write_text("age\n" + "".join(f"{v}\n" for v in values), encoding="utf-8")
    return path


@pytest.fixture
def csvs(tmp_path: Path) -> dict[str, Path]:
    return {
        "reference": write_csv(tmp_path / "reference.csv", 1500, 0.0, 0),
        "same": write_csv(tmp_path / "same.csv", 1500, 0.0, 1),
        "shifted": write_csv(tmp_path / "shifted.csv", 1500, 1.0, 2),
    }


def drift(reference: Path | str, current: Path | str, *extra: str) -> int:
    return main(
        ["check", "drift", "--reference", str(reference), "--current", str(current), *extra]
    )


# --- item 10.4: --markdown appends; "-" is standard output -------------------------------


def test_markdown_appends_so_two_checks_in_one_step_keep_both_reports(
    csvs: dict[str, Path], tmp_path: Path
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    drift(csvs["reference"], csvs["same"], "--markdown", str(summary))
    drift(csvs["reference"], csvs["shifted"], "--markdown", str(summary))
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    assert text.count("### modelship checks") == 2
    assert "✅ passed" in text
    assert "❌ failed" in text


def test_markdown_mode_overwrite_replaces_the_file(csvs: dict[str, Path], tmp_path: Path) -> None:
    summary = tmp_path / "report.md"
    summary.write_text("old\n", encoding="utf-8")
    drift(
        csvs["reference"], csvs["same"], "--markdown", str(summary), "--markdown-mode", "overwrite"
    )
    assert summary.read_text(encoding="utf-8").startswith("### modelship checks: ✅ passed")


def test_json_dash_writes_the_results_to_stdout_and_the_summary_to_stderr(
    csvs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert drift(csvs["reference"], csvs["shifted"], "--json", "-") == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "fail"
    assert err.splitlines()[-1].startswith("FAILED")
    assert not (tmp_path / "-").exists()


def test_markdown_dash_writes_markdown_to_stdout(
    csvs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    drift(csvs["reference"], csvs["same"], "--markdown", "-")
    assert capsys.readouterr().out.startswith("### modelship checks: ✅ passed")
    assert not (tmp_path / "-").exists()


# --- item 10.5: a closed pipe; archived versions marked ----------------------------------


class _ClosedPipe(io.StringIO):
    """A stdout whose reader has gone: every write raises BrokenPipeError."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for i in range(3):
        reg.register(model_name="fraud", model=bytes([i]), serializer="bytes")
    reg.delete("fraud", "2", reason="bad")
    return url


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(
    registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["registry", "versions", registry, "fraud", "--json"]) == 0


def test_a_check_keeps_its_verdict_when_the_reader_closes_the_pipe(
    csvs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert drift(csvs["reference"], csvs["shifted"], "--json", "-") == 1


def test_versions_piped_to_head_prints_no_traceback(registry: str) -> None:
    reg = ms.open_registry(registry)
    for i in range(40):  # more JSON than a pipe buffers, so the writer meets the closed pipe
        reg.register(model_name="fraud", model=bytes([i, 1]), serializer="bytes")
    command = (
        f'"{sys.executable}" -m modelship registry versions "{registry}" fraud --json | head -1'
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout == "[\n"
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


def test_versions_all_marks_archived_versions(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "versions", registry, "fraud", "--all"]) == 0
    lines = {line.split("\t")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["2"].endswith("archived")
    assert "archived" not in lines["1"]
    assert main(["registry", "versions", registry, "fraud", "--all", "--json"]) == 0
    flags = {doc["version"]: doc["archived"] for doc in json.loads(capsys.readouterr().out)}
    assert flags == {"1": False, "2": True, "3": False}


# --- item 9.17: numbers JSON cannot hold as floats ---------------------------------------


def test_a_metric_of_ten_to_the_four_hundred_prints_in_text_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "big")
    ms.open_registry(url).register(
        model_name="m", model=b"x", serializer="bytes", metrics={"big": 10**400}
    )
    assert main(["registry", "versions", url, "m"]) == 0
    assert "big=1e+400" in capsys.readouterr().out
    assert main(["registry", "versions", url, "m", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["metrics"]["big"] == 10**400


def test_pretty_json_is_strict_even_for_infinite_floats() -> None:
    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    text = _json.pretty({"a": float("inf"), "b": [float("nan")]})
    assert json.loads(text, parse_constant=refuse) == {"a": None, "b": [None]}


def test_a_check_statistic_beyond_float_range_renders_as_null() -> None:
    result = CheckResult(name="x", status="pass", statistic=10**400)
    assert json.loads(result_json(result))["statistic"] is None


def result_json(result: CheckResult) -> str:
    from modelship.checks import SuiteResult

    return json.dumps(json.loads(SuiteResult([result]).to_json())["results"][0])


# --- item 10.6: check commands read fsspec URLs with the registry's storage options ------


def test_check_drift_reads_s3_urls_with_storage_options(
    s3_bucket: dict[str, Any], csvs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    client, bucket = s3_bucket["client"], s3_bucket["bucket"]
    client.put_object(Bucket=bucket, Key="data/reference.csv", Body=csvs["reference"].read_bytes())
    client.put_object(Bucket=bucket, Key="data/shifted.csv", Body=csvs["shifted"].read_bytes())
    options = s3_bucket["options"]
    code = drift(
        f"s3://{bucket}/data/reference.csv",
        f"s3://{bucket}/data/shifted.csv",
        "-o",
        f"key={options['key']}",
        "-o",
        f"secret={options['secret']}",
        "-o",
        "client_kwargs=" + json.dumps(options["client_kwargs"]),
    )
    assert code == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAILED")


def test_check_profile_and_drift_read_a_profile_from_s3(
    s3_bucket: dict[str, Any],
    csvs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, bucket = s3_bucket["client"], s3_bucket["bucket"]
    monkeypatch.setenv("MODELSHIP_S3_ENDPOINT_URL", s3_bucket["endpoint"])
    profile = tmp_path / "profile.json"
    assert (
        main(["check", "profile", "--reference", str(csvs["reference"]), "--output", str(profile)])
        == 0
    )
    client.put_object(Bucket=bucket, Key="profile.json", Body=profile.read_bytes())
    client.put_object(Bucket=bucket, Key="same.csv", Body=csvs["same"].read_bytes())
    code = main(
        [
            "check",
            "drift",
            "--profile",
            f"s3://{bucket}/profile.json",
            "--current",
            f"s3://{bucket}/same.csv",
        ]
    )
    assert code == 0, capsys.readouterr().err


def test_exclude_leaves_a_column_out_of_the_profile_and_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"{40 + i % 7},id{i}\n" for i in range(300))
    (tmp_path / "reference.csv").write_text("age,customer\n" + rows, encoding="utf-8")
    profile = tmp_path / "profile.json"
    argv = ["--reference", str(tmp_path / "reference.csv"), "--exclude", "customer"]
    assert main(["check", "profile", *argv, "--output", str(profile)]) == 0
    assert json.loads(profile.read_text(encoding="utf-8"))["left_out"] == {"customer": "excluded"}
    capsys.readouterr()
    current = ["--current", str(tmp_path / "reference.csv"), "--json", "-"]
    assert main(["check", "drift", "--profile", str(profile), *current]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document["results"][0]["columns"]) == ["age"]
