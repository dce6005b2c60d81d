"""Third look at review 36 of environment parity: what its second look broke or left open.

- D1: mysql's glued password with a dotted user (``-ujohn.doe``, ``--user=john.doe``,
  ``-u john.doe``) or holding ``=``, ``:`` or ``/`` (``-pq8Xz/abc+Def=``) is dropped again.
- D4: a single-dash long flag is neither a user (``-update-interval 5m``,
  ``-user_agent x``) nor a glued password (``-profile prod``, ``-port 8080``).
- D2: compact JSON with escaped quotes (``{\\"api_key\\":\\"...\\"}``) is dropped again.
- D3: a quoted JSON name before a quoted string is read by the whole ``key=value``
  vocabulary (``{"pwd":"x"}``, ``{"sig":"x"}``), but ``tokenizer``.
- D5: an allow-list entry equal to an ordinary variable's value is kept.
- D6-D8: ``parity check``'s reports: a refused run writes the reports it may; each
  report is written apart; two reports naming one file are refused.
- D10: a tolerance beyond float64 warns of nothing.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.cli import main
from modelship.deploy.kubernetes._dry_run import _mask_command_line
from modelship.parity import (
    EnvironmentSnapshot,
    compare,
    compare_behaviour,
    is_secret,
    record_behaviour,
)
from modelship.parity import _cli as parity_cli

MASK = "<redacted>"


def _masked(args: list[str]) -> list[Any]:
    container: dict[str, Any] = {"args": list(args)}
    _mask_command_line(container)
    return list(container["args"])


# --- D1: mysql's glued password ---------------------------------------------------------

MYSQL_PASSWORDS = [
    "--user=john.doe -pHunter2",
    "-ujohn.doe -pHunter2",
    "-u john.doe -pHunter2 -h db",
    "-u root -pq8Xz/abc+Def=",
    "-uroot -pAbC=dEf",
    "-uroot -pP@ss:word",
    "mysql -h db.internal -u app -pKq/3mZ+8vT1= prod",
    "-uroot -pHunter2 -h db",
    "-u root -pHunter2",
    "--user=root -p'Hunter2xyz'",
]


@pytest.mark.parametrize("value", MYSQL_PASSWORDS)
def test_mysqls_glued_password_is_dropped(value: str) -> None:
    assert is_secret("MYSQL_ARGS", value)


@pytest.mark.parametrize("args", [
    ["mysql", "--user=john.doe", "-pHunter2"],
    ["mysql", "-ujohn.doe", "-pHunter2"],
    ["mysql", "-u", "app", "-pKq/3mZ+8vT1=", "prod"],
])  # fmt: skip
def test_the_dry_run_masks_mysqls_glued_password(args: list[str]) -> None:
    shown = _masked(args)
    assert not any("Hunter2" in arg or "Kq/3mZ" in arg for arg in shown)


def test_the_dry_run_masks_a_shell_command_with_mysqls_password() -> None:
    shown = _masked(["sh", "-c", "mysql -u john.doe -pHunter2 -h db"])
    assert not any("Hunter2" in arg for arg in shown)


# Kept by the second look, and still kept.
KEPT_P_FLAGS = [
    "tar -u -pf a.tar",
    "cp -u -pr a b",
    "rsync -u -pv a b",
    "python -u train.py -project=churn",
    "python -u serve.py -port=8080 -profile=prod",
    "python -u -m pytest -pno:cacheprovider",
    "go test -v -u -parallel 4",
    "sh -c 'set -u; mkdir -pv /data'",
    "python -u app.py -pretrained",
    "python -u /srv/run -pretrained",
    "bash -u deploy.sh -pfast",
]


@pytest.mark.parametrize("value", KEPT_P_FLAGS)
def test_a_p_flag_that_is_no_password_is_still_kept(value: str) -> None:
    assert not is_secret("ARGS", value)


# --- D4: single-dash long flags ---------------------------------------------------------

LONG_FLAG_LINES = [
    ["/bin/exporter", "-update-interval", "5m", "-listen", ":9100", "-profile", "prod"],
    ["runuser", "-u", "app", "--", "/app/server", "-port", "8080"],
    ["sudo", "-u", "airflow", "airflow", "scheduler", "-pid", "/tmp/a.pid"],
    ["ffmpeg", "-use_wallclock_as_timestamps", "1", "-i", "x", "-preset", "fast", "o.mp4"],
    ["ffmpeg", "-user_agent", "Mozilla/5.0", "-i", "https://cam/stream.m3u8",
     "-pix_fmt", "yuv420p", "-preset", "fast", "out.mp4"],
    ["ffmpeg", "-i", "in.mp4", "-update", "1", "-pix_fmt", "rgb24", "frame.png"],
    ["consul", "agent", "-server", "-ui", "-bootstrap-expect", "1", "-protocol", "3"],
]  # fmt: skip


@pytest.mark.parametrize("args", LONG_FLAG_LINES)
def test_the_dry_run_leaves_a_long_flag_and_its_value(args: list[str]) -> None:
    assert _masked(args) == args


@pytest.mark.parametrize("args", LONG_FLAG_LINES)
def test_a_long_flag_and_its_value_is_kept(args: list[str]) -> None:
    assert not is_secret("ARGS", " ".join(args))


def test_a_lower_case_password_before_an_argument_is_read_as_a_flag_as_documented() -> None:
    assert not is_secret("ARGS", "-u root -phunter mydb")
    assert is_secret("ARGS", "-u root -phunter")  # nothing after it: a password


# --- D2, D3: JSON ----------------------------------------------------------------------

JSON_CREDENTIALS = [
    '{\\"api_key\\":\\"sk-live-abc\\"}',
    '{\\"password\\":\\"hunter2\\"}',
    '-Dconfig={\\"password\\":\\"hunter2\\"}',
    '{"db":{"pwd":"hunter2"}}',
    '{"auth":{"user":"svc","pass":"hunter2"}}',
    '{"pw":"x"}',
    '{"basic_auth":"admin:hunter2"}',
    '{"sig":"x"}',
    '{"password" : "hunter2"}',
    '{"password": "hunter2"}',
    '{"key":"sales"}',
    '{"signature":"serving_default"}',
    '{"pad_token":"[PAD]"}',
]


@pytest.mark.parametrize("value", JSON_CREDENTIALS)
def test_a_json_credential_is_dropped(value: str) -> None:
    assert is_secret("HPS", value)


def test_the_dry_run_masks_escaped_json() -> None:
    shown = _masked(["serve", '--config={\\"api_key\\":\\"sk-live-abc\\"}'])
    assert not any("sk-live-abc" in arg for arg in shown)


@pytest.mark.parametrize("value", [
    '{"tokenizer":"bert-base-uncased"}',
    '{\\"tokenizer\\":\\"bert\\"}',
    '{"max_new_tokens":128}',
    '{"token":3}',
    "auth-service:8080",
    "auth.main:app",
    '"auth" : 8080',
])  # fmt: skip
def test_json_that_names_no_credential_is_kept(value: str) -> None:
    assert not is_secret("HPS", value)


# --- is_secret stays linear ------------------------------------------------------------


@pytest.mark.parametrize("value", [
    '"password" : "x" ' * 8192,
    '{\\"a\\":' * 21845,
    "\\" * 131072,
    "-uroot -pfoo bar " * 7710,
    "-update 1 " * 13107,
    " ".join(f'"k{i}" : "v"' for i in range(12000)),
])  # fmt: skip
def test_is_secret_of_a_hostile_value_is_fast(value: str) -> None:
    start = time.process_time()
    is_secret("V", value)
    assert time.process_time() - start < 1.0


# --- D5: an allow-list entry equal to an ordinary variable's value ----------------------


def test_an_allow_list_entry_equal_to_an_ordinary_value_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("THIRD_LOOK_DEBUG", raising=False)
    monkeypatch.setenv("THIRD_LOOK_LEVEL", "THIRD_LOOK_DEBUG")
    train = EnvironmentSnapshot.capture(env_allowlist=["THIRD_LOOK_DEBUG", "THIRD_LOOK_X"])
    assert train.env_allowlist == ("THIRD_LOOK_DEBUG", "THIRD_LOOK_X")
    monkeypatch.setenv("THIRD_LOOK_DEBUG", "1")
    prod = EnvironmentSnapshot.capture(env_allowlist=["THIRD_LOOK_DEBUG", "THIRD_LOOK_X"])
    report = compare(train, prod)
    assert any("THIRD_LOOK_DEBUG" in finding.message for finding in report.findings)


def test_an_allow_list_entry_equal_to_a_credentials_value_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    monkeypatch.setenv("THIRD_LOOK_GITHUB_TOKEN", token)
    snap = EnvironmentSnapshot.capture(env_allowlist=[token, "OMP_NUM_THREADS"])
    assert snap.env_allowlist == ("OMP_NUM_THREADS",)
    assert token not in snap.to_json()


# --- D6-D8: parity check's reports -------------------------------------------------------


def _files(tmp_path: Path, snapshot: EnvironmentSnapshot) -> tuple[Path, Path, Path]:
    snap = tmp_path / "train.json"
    snap.write_text(snapshot.to_json(), encoding="utf-8")
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    assert main(["parity", "check", "--snapshot", str(snap), "--against", str(snap),
                 "--report", str(report), "--junit", str(junit)]) == 0  # fmt: skip
    assert json.loads(report.read_text(encoding="utf-8"))["passed"] is True
    return snap, report, junit


def test_a_refused_run_leaves_no_passing_report(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    snap, report, junit = _files(tmp_path, snapshot)
    before = snap.read_bytes()
    code = main(["parity", "check", "--snapshot", str(snap), "--against", str(snap),
                 "--report", str(report), "--junit", str(junit), "--json", str(snap)])  # fmt: skip
    assert code == 2
    assert snap.read_bytes() == before  # the input is neither written nor removed
    assert json.loads(report.read_text(encoding="utf-8"))["passed"] is False
    assert 'failures="0" errors="0"' not in junit.read_text(encoding="utf-8")
    err = capsys.readouterr().err
    assert "ConfigError" in err
    assert "--json" in err


def test_each_report_is_written_apart(
    tmp_path: Path,
    snapshot: EnvironmentSnapshot,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, report, junit = _files(tmp_path, snapshot)
    broken = tmp_path / "broken.json"
    broken.write_text('{"bad": \n', encoding="utf-8")
    afile = tmp_path / "afile"
    afile.write_text("", encoding="utf-8")
    code = main(["parity", "check", "--snapshot", str(broken), "--report", str(report),
                 "--json", str(afile / "suite.json"), "--junit", str(junit)])  # fmt: skip
    assert code == 2
    assert json.loads(report.read_text(encoding="utf-8"))["passed"] is False
    assert "SnapshotError" in junit.read_text(encoding="utf-8")  # this run's, not the pass
    capsys.readouterr()


def test_a_report_that_fails_is_removed_and_the_others_written(
    tmp_path: Path,
    snapshot: EnvironmentSnapshot,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    snap, _, junit = _files(tmp_path, snapshot)
    suite = tmp_path / "suite.json"
    suite.write_text('{"passed": true}\n', encoding="utf-8")
    real = parity_cli.write_report
    written: list[str] = []

    def write(target: str, text: str, *, append: bool = False) -> None:
        if target == str(suite):
            raise OSError(28, "No space left on device", target)
        written.append(target)
        real(target, text, append=append)

    monkeypatch.setattr(parity_cli, "write_report", write)
    markdown = tmp_path / "summary.md"
    code = main(["parity", "check", "--snapshot", str(snap), "--against", str(snap),
                 "--json", str(suite), "--junit", str(junit),
                 "--markdown", str(markdown)])  # fmt: skip
    assert code == 2
    assert not suite.exists()  # the earlier pass does not remain
    assert written == [str(junit), str(markdown)]
    capsys.readouterr()


@pytest.mark.parametrize(("first", "second"), [
    ("--report", "--json"), ("--report", "--markdown"), ("--json", "--junit"),
])  # fmt: skip
def test_two_reports_naming_one_file_are_refused(
    tmp_path: Path,
    snapshot: EnvironmentSnapshot,
    capsys: pytest.CaptureFixture[str],
    first: str,
    second: str,
) -> None:
    snap = tmp_path / "train.json"
    snap.write_text(snapshot.to_json(), encoding="utf-8")
    same = tmp_path / "same.json"
    same.write_text('{"passed": true}\n', encoding="utf-8")
    other = tmp_path / "other.xml"
    code = main(["parity", "check", "--snapshot", str(snap), "--against", str(snap),
                 first, str(same), second, str(tmp_path / "." / "same.json"),
                 "--junit" if second != "--junit" else "--markdown", str(other),
                 "--markdown-mode", "overwrite"])  # fmt: skip
    assert code == 2
    assert not same.exists()  # an earlier run's report does not remain
    assert other.exists()  # the report not refused says the run failed
    err = capsys.readouterr().err
    assert "ConfigError" in err
    assert first in err
    assert second in err


def test_a_summary_appended_to_is_not_removed_when_refused(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = tmp_path / "train.json"
    snap.write_text(snapshot.to_json(), encoding="utf-8")
    summary = tmp_path / "summary.md"
    summary.write_text("# another step's summary\n", encoding="utf-8")
    code = main(["parity", "check", "--snapshot", str(snap), "--against", str(snap),
                 "--report", str(summary), "--markdown", str(summary)])  # fmt: skip
    assert code == 2
    assert summary.read_text(encoding="utf-8") == "# another step's summary\n"
    assert "ConfigError" in capsys.readouterr().err


# --- D10: a tolerance beyond float64 --------------------------------------------------


@pytest.mark.parametrize(("rtol", "atol"), [(1e300, 0.0), (1e-6, 1.7e308), (1e308, 1e308)])
def test_a_huge_tolerance_warns_of_nothing(rtol: float, atol: float) -> None:
    record = record_behaviour(
        lambda t: {"c": np.array([2**62, 5, 7, 0], dtype=np.int64)},
        {"x": np.array([1.0, 2.0, 3.0, 4.0])},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        findings = compare_behaviour(
            record,
            lambda t: {"c": np.array([2**62, 6, 7, 0], dtype=np.int64)},
            rtol=rtol,
            atol=atol,
        )
    assert findings == ()


def test_a_huge_tolerance_still_sees_a_difference_where_the_value_is_zero() -> None:
    record = record_behaviour(
        lambda t: {"c": np.array([0, 5], dtype=np.int64)}, {"x": np.array([1.0, 2.0])}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        findings = compare_behaviour(
            record, lambda t: {"c": np.array([3, 5], dtype=np.int64)}, rtol=1e300, atol=0.0
        )
    assert len(findings) == 1
