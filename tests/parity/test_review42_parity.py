"""Review 42 of parity: an allow-list entry that is a secret is never printed, absurd
counts and sizes in a snapshot are refused (and any error in ``parity check`` still
writes the reports), a refused requirement line never shows a password's tail, and a
version PEP 440 does not read is pinned with ``===``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from modelship.cli import main as modelship_main
from modelship.errors import ConfigError
from modelship.parity import (
    EnvironmentSnapshot,
    ParityReport,
    Requirements,
    SnapshotError,
    requirements_txt,
)
from modelship.parity import _cli as parity_cli
from modelship.parity._pins import marker_environment, read_pins
from modelship.parity._snapshot import _meminfo

BASE = EnvironmentSnapshot(
    python_version="3.11.7",
    python_implementation="CPython",
    os="Linux",
    machine="x86_64",
    packages={"numpy": "2.1.0"},
    cpu_count=2,
)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB_TOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
DB_PASSWORD = "Tr0ub4dor&3x@mple"
# Fragments of the password in the index URLs below: none may reach a message.
LEAKS = ("S3cr3t", "Tok3n", "3nXYZ", "XYZ@")


# --- 1. an allow-list entry that is a secret ---------------------------------------------


@pytest.mark.parametrize(
    ("variable", "secret"),
    [
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),  # "/" and "+": not pattern characters
        ("DB_PASSWORD", DB_PASSWORD),  # "&" and "@", and short enough to print whole
        ("GITHUB_TOKEN", GITHUB_TOKEN),  # pattern characters only
    ],
)
def test_allow_env_given_a_secrets_value_leaves_it_out_silently(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    secret: str,
) -> None:
    monkeypatch.setenv(variable, secret)
    out = tmp_path / "env.json"
    code = modelship_main(["parity", "capture", "-o", str(out), "--allow-env", secret])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert secret not in printed.out + printed.err
    assert secret not in out.read_text(encoding="utf-8")


def test_capture_drops_an_entry_equal_to_a_secret_value_before_checking_its_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    snap = EnvironmentSnapshot.capture(env_allowlist=[AWS_SECRET, "OMP_NUM_THREADS"])
    assert snap.env_allowlist == ("OMP_NUM_THREADS",)


def test_capture_drops_an_entry_that_is_a_credential_as_a_value() -> None:
    snap = EnvironmentSnapshot.capture(
        env_allowlist=["postgres://app:s3cret@db/prod", "OMP_NUM_THREADS"]
    )
    assert snap.env_allowlist == ("OMP_NUM_THREADS",)


def test_a_refused_allow_list_entry_is_named_by_its_position_never_quoted() -> None:
    # Not the value of any variable here: refused, but it may still be a password typed in.
    with pytest.raises(SnapshotError, match="env_allowlist entries must be") as caught:
        EnvironmentSnapshot.capture(env_allowlist=["OMP_NUM_THREADS", DB_PASSWORD])
    assert "entry 2 " in str(caught.value)
    assert "Tr0ub" not in str(caught.value)
    assert "mple" not in str(caught.value)


def test_parity_capture_names_a_refused_allow_env_entry_by_its_position_among_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "env.json"
    args = ["parity", "capture", "-o", str(out), "--allow-env", "OMP.NUM"]
    assert modelship_main(args) == 2
    err = capsys.readouterr().err
    assert "entry 1 " in err
    assert "OMP.NUM" not in err


def test_a_single_string_allow_list_that_is_a_secret_is_not_quoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REVIEW42_GH", GITHUB_TOKEN)
    with pytest.raises(SnapshotError, match="env_allowlist must be a list") as caught:
        EnvironmentSnapshot.capture(env_allowlist=GITHUB_TOKEN)
    assert GITHUB_TOKEN[:8] not in str(caught.value)
    assert GITHUB_TOKEN[-8:] not in str(caught.value)


def test_a_stored_allow_list_entry_that_is_not_a_pattern_is_not_quoted() -> None:
    document = {**BASE.to_dict(), "env_allowlist": ["OMP_*", DB_PASSWORD]}
    with pytest.raises(SnapshotError, match="'env_allowlist' entry 2 of 2") as caught:
        EnvironmentSnapshot.from_dict(document)
    assert "Tr0ub" not in str(caught.value)


# --- 2. absurd counts and sizes; any error in parity check still writes the reports ----


@pytest.mark.parametrize(
    ("change", "field", "bound"),
    [
        ({"cpu_count": 10**400}, "'cpu_count'", "<= 1048576"),
        ({"cpu_count": 2**20 + 1}, "'cpu_count'", "<= 1048576"),
        ({"memory_total": 2**64 + 1}, "'memory_total'", "<= 18446744073709551616"),
        ({"memory_available": 10**400}, "'memory_available'", "<= 18446744073709551616"),
        ({"memory_limit": 10**400}, "'memory_limit'", "<= 18446744073709551616"),
        (
            {"gpus": [{"name": "A10G", "memory_total": 10**400, "driver_version": None}]},
            "'memory_total'",
            "<= 18446744073709551616",
        ),
        (
            {
                "blas": [
                    {
                        "name": "openblas",
                        "version": None,
                        "threading_layer": None,
                        "num_threads": 10**400,
                        "architecture": None,
                    }
                ]
            },
            "'num_threads'",
            "<= 1048576",
        ),
    ],
)
def test_a_stored_snapshot_with_an_absurd_count_or_size_is_refused_naming_field_and_bound(
    change: dict[str, Any], field: str, bound: str
) -> None:
    text = json.dumps({**BASE.to_dict(), **change})
    with pytest.raises(SnapshotError) as caught:
        EnvironmentSnapshot.from_json(text)
    assert field in str(caught.value)
    assert bound in str(caught.value)


def test_the_constructor_refuses_a_cpu_count_no_float_holds() -> None:
    with pytest.raises(SnapshotError, match="'cpu_count' must be an integer >= 1 and <="):
        EnvironmentSnapshot(
            python_version="3.11.7",
            python_implementation="CPython",
            os="Linux",
            machine="x86_64",
            cpu_count=10**400,
        )


def test_the_largest_count_and_size_allowed_read_back() -> None:
    document = {**BASE.to_dict(), "cpu_count": 2**20, "memory_total": 2**64}
    snap = EnvironmentSnapshot.from_json(json.dumps(document))
    assert (snap.cpus, snap.memory) == (float(2**20), 2**64)


def test_cpus_of_an_unchecked_huge_cpu_count_does_not_overflow() -> None:
    # Unpickling sets the fields without checking them.
    state = {**BASE.__getstate__(), "cpu_count": 10**400}
    snap = EnvironmentSnapshot.__new__(EnvironmentSnapshot)
    snap.__setstate__(state)
    assert snap.cpus == math.inf


def test_capture_leaves_out_a_probed_size_no_machine_has(tmp_path: Path) -> None:
    # The snapshot refuses such a size: capture must not fail on it, as on a missing probe.
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 99999999999999999999 kB\nMemAvailable: 1024 kB\n")
    assert _meminfo(meminfo) == {"MemAvailable": 1024 * 1024}


def _passing_reports(tmp_path: Path) -> tuple[list[str], dict[str, Path]]:
    """A passing ``parity check`` run's arguments and reports, written once."""
    snap = tmp_path / "snap.json"
    snap.write_text(BASE.to_json(), encoding="utf-8")
    reports = {name: tmp_path / f"out.{name}" for name in ("report", "junit", "json")}
    args = ["parity", "check", "--snapshot", str(snap), "--against", str(snap)]
    for name, path in reports.items():
        args += [f"--{name}", str(path)]
    assert modelship_main(args) == 0
    assert json.loads(reports["report"].read_text(encoding="utf-8"))["passed"] is True
    return args, reports


def _assert_failed_reports(reports: dict[str, Path], says: str) -> None:
    report = ParityReport.from_json(reports["report"].read_text(encoding="utf-8"))
    assert not report.passed
    assert report.findings[0].check == "comparison"
    assert says in report.findings[0].message
    assert 'errors="1"' in reports["junit"].read_text(encoding="utf-8")
    assert json.loads(reports["json"].read_text(encoding="utf-8"))["passed"] is False


def test_parity_check_of_a_snapshot_with_a_huge_cpu_count_writes_failing_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, reports = _passing_reports(tmp_path)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({**BASE.to_dict(), "cpu_count": 10**400}), encoding="utf-8")
    args[args.index("--snapshot") + 1] = args[args.index("--against") + 1] = str(huge)
    assert modelship_main([*args, "--cpus", "1"]) == 2
    _assert_failed_reports(reports, "'cpu_count' must be an integer >= 1 and <= 1048576")
    assert "unexpected error" not in capsys.readouterr().err


def test_an_unexpected_error_in_the_comparison_still_replaces_every_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args, reports = _passing_reports(tmp_path)

    def broken(*_: object, **__: object) -> None:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(parity_cli, "compare", broken)
    assert parity_cli.main(args[1:]) == 2
    _assert_failed_reports(reports, "OverflowError: int too large to convert to float")
    assert "OverflowError" in capsys.readouterr().out


# --- 3. a refused requirement line never shows a password's tail --------------------------


@pytest.mark.parametrize(
    "line",
    [
        "--extra-index-url https://alice:S3cr3tTok3nXYZ@h/s",
        "numpy==2.1.0 --index-url=https://u:S3cr3tTok3nXYZ@h",
        "numpy==2.1.0 --hash=sha256:ab -i https://u:S3cr3tTok3nXYZ@h",
        "numpy==2.1.0 --hash 'https://u:S3cr3tTok3nXYZ@h",
        "numpy==2.1.0; python_version < 'https://u:S3cr3tTok3nXYZ@h'",
        "numpy==2.1.0 ; platform_release == \"x\" and os_name == 'a' and https://u:S3cr3tTok3nXYZ@h",
        "numpy==https://u:S3cr3tTok3nXYZ@h",
        "numpy===2.1.0,https://u:S3cr3tTok3nXYZ@h",
    ],
)
def test_a_refused_requirement_line_hides_the_password_before_shortening(line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_pins(line + "\n", "req.txt", marker_environment())
    assert not [leak for leak in LEAKS if leak in str(caught.value)], str(caught.value)


def test_parity_check_never_shows_an_index_urls_password_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap, req, report = tmp_path / "s.json", tmp_path / "req.txt", tmp_path / "r.json"
    snap.write_text(BASE.to_json(), encoding="utf-8")
    req.write_text("--extra-index-url https://alice:S3cr3tTok3nXYZ@h/s\nnumpy==2.1.0\n")
    args = ["parity", "check", "--snapshot", str(snap), "--against", str(snap)]
    assert modelship_main([*args, "--requirements", str(req), "--report", str(report)]) == 2
    printed = capsys.readouterr()
    shown = printed.out + printed.err + report.read_text(encoding="utf-8")
    assert not [leak for leak in LEAKS if leak in shown]


def test_a_refused_requirements_version_hides_the_password_before_shortening() -> None:
    version = "x" * 200 + " https://alice:S3cr3tTok3nXYZ@h"  # too long: refused and shown
    with pytest.raises(ConfigError) as caught:
        Requirements(packages={"numpy": version})
    assert not [leak for leak in LEAKS if leak in str(caught.value)], str(caught.value)


# --- 4. a version PEP 440 does not read is pinned with === ----------------------------------


def test_requirements_txt_pins_a_version_pep440_does_not_read_with_arbitrary_equality() -> None:
    text = requirements_txt(Requirements(packages={"distro-info": "1.1build1", "numpy": "2.1.0"}))
    assert "distro-info===1.1build1\n" in text
    assert "numpy==2.1.0\n" in text
    pins = read_pins(text, "requirements.txt", marker_environment())
    assert pins == {"distro-info": "1.1build1", "numpy": "2.1.0"}


def test_pip_reads_every_line_requirements_txt_writes() -> None:
    requirement = pytest.importorskip("packaging.requirements")
    text = requirements_txt({"distro-info": "1.1build1", "numpy": "2.1.0"})
    for line in text.splitlines():
        if not line.startswith("#"):
            requirement.Requirement(line)  # raises InvalidRequirement where pip refuses


def test_requirements_txt_with_a_non_pep440_version_passes_parity_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packages = {"distro-info": "1.1build1", "numpy": "2.1.0"}
    snap, req = tmp_path / "s.json", tmp_path / "req.txt"
    snap.write_text(
        EnvironmentSnapshot.from_dict({**BASE.to_dict(), "packages": packages}).to_json(),
        encoding="utf-8",
    )
    req.write_text(requirements_txt(packages), encoding="utf-8")
    args = ["parity", "check", "--snapshot", str(snap), "--against", str(snap)]
    assert modelship_main([*args, "--requirements", str(req)]) == 0, capsys.readouterr().err
