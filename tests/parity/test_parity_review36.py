"""Review 36 of environment parity: what each side recorded, stale reports, markers,
exact integers, time zones, pins pip refuses, and arguments named in errors.

- ``compare`` compares an environment variable only where both snapshots' allow-lists
  cover it; a snapshot records its allow-list (``env_allowlist``), and one written before
  it did says of a variable it lacks "unset or not recorded".
- ``parity check --report`` is written on an error too: never a stale report.
- ``implementation_version`` is a marker variable like the others.
- Integer outputs of a behaviour record are compared exactly.
- ``UTC``, ``Etc/UTC`` and a zoneinfo path to it are one time zone.
- A pin pip refuses (``numpy==abc``, ``numpy==1.0;``) is refused.
- ``ResourceRequest(model_size=...)`` and ``resolve_requirements`` name what is wrong.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

from modelship.cli import main
from modelship.errors import ConfigError
from modelship.parity import (
    EnvironmentSnapshot,
    ParityReport,
    ResourceRequest,
    SnapshotError,
    compare,
    compare_behaviour,
    record_behaviour,
    resolve_requirements,
    scan_artifact,
    validate_environment_parity,
)
from modelship.parity._pins import marker_environment, read_pins

# --- 4: compare only the variables both sides recorded --------------------------------


def test_compare_capturing_production_ignores_variables_training_did_not_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.setenv("MODELSHIP_R36_FLAG", "1")
    train = EnvironmentSnapshot.capture(env_allowlist=["MODELSHIP_R36_FLAG"])
    assert train.env == {"MODELSHIP_R36_FLAG": "1"}
    report = compare(train)  # this very environment
    assert [f for f in report.findings if f.check == "env"] == []
    assert validate_environment_parity(train, strict=True) is (not report.findings)


def test_a_variable_both_allow_lists_cover_is_compared_set_or_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MODELSHIP_R36_FLAG", raising=False)
    train = EnvironmentSnapshot.capture(env_allowlist=["MODELSHIP_R36_*"])
    monkeypatch.setenv("MODELSHIP_R36_FLAG", "1")
    prod = EnvironmentSnapshot.capture(env_allowlist=["MODELSHIP_R36_FLAG"])
    [finding] = [f for f in compare(train, prod).findings if f.check == "env"]
    assert finding.subject == "MODELSHIP_R36_FLAG"
    assert finding.message == "$MODELSHIP_R36_FLAG is unset in training, '1' in production"


def test_a_variable_one_allow_list_does_not_cover_is_not_compared(
    snapshot: EnvironmentSnapshot,
) -> None:
    train = attrs.evolve(snapshot, env={"A": "1"}, env_allowlist=["A"])
    prod = attrs.evolve(snapshot, env={"A": "1", "B": "2"}, env_allowlist=["A", "B"])
    assert compare(train, prod).findings == ()
    assert [f.subject for f in compare(prod, train).findings] == []
    changed = attrs.evolve(prod, env={"A": "3", "B": "2"})
    assert [f.subject for f in compare(train, changed).findings] == ["A"]


def test_a_snapshot_records_its_allow_list_and_reads_it_back() -> None:
    snap = EnvironmentSnapshot.capture(env_allowlist=["OMP_*", "MODELSHIP_R36_FLAG"])
    assert snap.env_allowlist == ("OMP_*", "MODELSHIP_R36_FLAG")
    assert snap.to_dict()["env_allowlist"] == ["OMP_*", "MODELSHIP_R36_FLAG"]
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap
    assert EnvironmentSnapshot.capture().env_allowlist is not None


def test_an_older_snapshot_without_its_allow_list_still_reads(
    snapshot: EnvironmentSnapshot,
) -> None:
    document = snapshot.to_dict()
    assert "env_allowlist" not in document  # not known: not written
    old = EnvironmentSnapshot.from_dict(document)
    assert old.env_allowlist is None
    assert EnvironmentSnapshot.from_dict({**document, "env_allowlist": None}) == old


def test_against_an_older_snapshot_a_variable_it_lacks_is_unset_or_not_recorded(
    snapshot: EnvironmentSnapshot,
) -> None:
    old = EnvironmentSnapshot.from_dict(snapshot.to_dict())  # env: OMP_NUM_THREADS only
    prod = attrs.evolve(
        snapshot, env={"OMP_NUM_THREADS": "4", "LANG": "C"}, env_allowlist=["OMP_*", "LANG"]
    )
    [finding] = compare(old, prod).findings
    assert finding.message == "$LANG is unset or not recorded in training, 'C' in production"
    [back] = compare(prod, old).findings
    assert back.message == "$LANG is 'C' in training, unset or not recorded in production"


@pytest.mark.parametrize(
    "value",
    [
        "OMP_*",
        {"OMP_*": 1},
        [1],
        [""],
        ["A" * 201],
        ["postgres://app:s3cret@db/prod"],
        ["OMP NUM"],
        ["OMP_*"] * 1001,
    ],
)
def test_a_stored_allow_list_is_checked_like_the_other_fields(
    snapshot: EnvironmentSnapshot, value: Any
) -> None:
    document = {**snapshot.to_dict(), "env_allowlist": value}
    with pytest.raises(SnapshotError, match="env_allowlist"):
        EnvironmentSnapshot.from_dict(document)


@pytest.mark.parametrize("value", ["OMP_*", [""], ["a.b"], ["x=1"]])
def test_the_constructor_checks_the_allow_list_too(
    snapshot: EnvironmentSnapshot, value: Any
) -> None:
    with pytest.raises(SnapshotError, match="env_allowlist"):
        attrs.evolve(snapshot, env_allowlist=value)


def test_capture_refuses_a_pattern_that_no_variable_name_can_match() -> None:
    # Not a credential: one ("postgres://app:s3cret@db") is left out silently (review 42).
    with pytest.raises(SnapshotError, match="env_allowlist entries must be"):
        EnvironmentSnapshot.capture(env_allowlist=["s3://bucket/models"])


# --- 5: --report is written on an error too --------------------------------------------


def test_a_failed_check_replaces_the_report_of_an_earlier_run(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    snap, report = tmp_path / "train.json", tmp_path / "report.json"
    snap.write_text(snapshot.to_json(), encoding="utf-8")
    same = ["parity", "check", "--snapshot", str(snap), "--against", str(snap)]
    assert main([*same, "--report", str(report)]) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["passed"] is True
    assert main([*same, "--memory", "abc", "--report", str(report)]) == 2
    written = ParityReport.from_json(report.read_text(encoding="utf-8"))
    assert not written.passed
    [finding] = written.findings
    assert finding.check == "comparison"
    assert "could not be made: ConfigError: memory 'abc' is not a quantity" in finding.message
    capsys.readouterr()


def test_a_missing_snapshot_still_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    missing = str(tmp_path / "missing.json")
    assert main(["parity", "check", "--snapshot", missing, "--report", str(report)]) == 2
    assert json.loads(report.read_text(encoding="utf-8"))["passed"] is False
    capsys.readouterr()


# --- 6: implementation_version ----------------------------------------------------------


def _full_version() -> str:
    info = sys.implementation.version
    version = f"{info.major}.{info.minor}.{info.micro}"
    return (
        version if info.releaselevel == "final" else f"{version}{info.releaselevel[0]}{info.serial}"
    )


def test_implementation_version_is_evaluated_for_this_interpreter() -> None:
    environment = marker_environment()
    assert environment["implementation_version"] == _full_version()
    text = f'numpy==2.1.0; implementation_version == "{_full_version()}"\n'
    assert read_pins(text, "req.txt", environment) == {"numpy": "2.1.0"}
    assert read_pins('numpy==2.1.0; implementation_version < "3"\n', "r", environment) == {}


def test_implementation_version_of_a_cpython_snapshot_is_its_python_version(
    snapshot: EnvironmentSnapshot,
) -> None:
    for python, expected in (
        ("3.11.7", "3.11.7"),
        ("3.13.0rc1", "3.13.0c1"),
        ("3.12.0a7+", "3.12.0a7"),
    ):
        snap = attrs.evolve(snapshot, python_version=python)
        assert marker_environment(snap)["implementation_version"] == expected
    environment = marker_environment(snapshot)
    text = 'numpy==2.1.0; implementation_version >= "3.11"\n'
    assert read_pins(text, "req.txt", environment) == {"numpy": "2.1.0"}


def test_implementation_version_of_another_implementation_is_unknown_and_refused(
    snapshot: EnvironmentSnapshot,
) -> None:
    pypy = attrs.evolve(snapshot, python_implementation="PyPy")
    assert "implementation_version" not in marker_environment(pypy)
    with pytest.raises(ConfigError, match=r"req\.txt, line 1: cannot evaluate the marker"):
        read_pins(
            'numpy==2.1.0; implementation_version >= "3.8"\n', "req.txt", marker_environment(pypy)
        )


# --- 7: integers compared exactly -------------------------------------------------------


def test_integer_outputs_differing_by_one_beyond_two_to_the_53_are_found() -> None:
    x = np.arange(3, dtype=np.int64).reshape(3, 1)
    record = record_behaviour(lambda a: a + 2**53, x)
    [finding] = compare_behaviour(record, lambda a: a + 2**53 + 1, rtol=0.0, atol=0.0)
    assert finding.message.startswith("output column '0': 3 of 3 rows differ")
    assert finding.message.endswith("largest difference 1 at row 0")


def test_integer_outputs_differing_at_two_to_the_62_are_found_with_the_exact_difference() -> None:
    x = np.arange(3, dtype=np.int64).reshape(3, 1)
    record = record_behaviour(lambda a: a + 2**62, x)
    [finding] = compare_behaviour(record, lambda a: a + 2**62 + 300, rtol=0.0, atol=0.0)
    assert "3 of 3 rows differ" in finding.message
    assert finding.message.endswith("largest difference 300 at row 0")
    assert compare_behaviour(record, lambda a: a + 2**62 + 300, rtol=0.0, atol=300.0) == ()


def test_integer_outputs_within_a_relative_tolerance_pass_exactly() -> None:
    x = np.array([[2**62], [0]], dtype=np.int64)
    record = record_behaviour(lambda a: a, x)
    # 2**62 * 2**-40 is 2**22: a difference of 2**22 is within, 2**22 + 1 is not.
    within = compare_behaviour(record, lambda a: a + 2**22 * (a > 0), rtol=2.0**-40, atol=0.0)
    assert within == ()
    [beyond] = compare_behaviour(
        record, lambda a: a + (2**22 + 1) * (a > 0), rtol=2.0**-40, atol=0.0
    )
    assert beyond.message.endswith(f"largest difference {2**22 + 1} at row 0")


# --- 8: UTC's aliases -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("train", "prod"),
    [
        ("Etc/UTC", "UTC"),
        ("UTC", "/usr/share/zoneinfo/Etc/UTC"),
        ("Zulu", "Etc/Universal"),
        ("UCT", ":/usr/share/zoneinfo/UTC"),
    ],
)
def test_utc_aliases_are_one_time_zone(
    snapshot: EnvironmentSnapshot, train: str, prod: str
) -> None:
    report = compare(attrs.evolve(snapshot, timezone=train), attrs.evolve(snapshot, timezone=prod))
    assert report.findings == ()


@pytest.mark.parametrize(("train", "prod"), [("UTC", "Etc/GMT"), ("UTC", "Europe/London")])
def test_a_zone_that_is_not_utc_still_differs(
    snapshot: EnvironmentSnapshot, train: str, prod: str
) -> None:
    [finding] = compare(
        attrs.evolve(snapshot, timezone=train), attrs.evolve(snapshot, timezone=prod)
    ).findings
    assert finding.check == "timezone"


def test_a_zoneinfo_path_in_tz_is_recorded_as_its_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", ":/usr/share/zoneinfo/Etc/UTC")
    assert EnvironmentSnapshot.capture(env_allowlist=[]).timezone == "Etc/UTC"
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/Europe/Paris")
    assert EnvironmentSnapshot.capture(env_allowlist=[]).timezone == "Europe/Paris"


# --- 9: pins pip refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "numpy==2.1.0#pinned",
        "numpy==abc",
        "numpy==1.0)",
        "numpy==1.0]",
        "numpy==1.0@x",
        "numpy==1.0+",
        "numpy==1.*",
        "numpy===1.0)",
    ],
)
def test_a_pin_pip_refuses_is_refused_naming_file_and_line(line: str) -> None:
    with pytest.raises(ConfigError, match=r"^req\.txt, line 2: "):
        read_pins(f"scipy==1.14.0\n{line}\n", "req.txt", marker_environment())


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("numpy==v1.0", "v1.0"),
        ("numpy==1!2.0.post1", "1!2.0.post1"),
        ("numpy == 1.0rc1", "1.0rc1"),
        ("numpy==1.0+cpu.1", "1.0+cpu.1"),
        ("numpy===1.0#x", "1.0#x"),
        ("numpy===1.0]", "1.0]"),
        ("numpy==1.0 # pinned", "1.0"),
        # A blank marker is none, as pip reads it (second look: these were refused).
        ("numpy==1.0;", "1.0"),
        ("numpy==1.0 ;", "1.0"),
        ("numpy==1.0; ", "1.0"),
        ("numpy==1.0 ; --hash=sha256:ab", "1.0"),
    ],
)
def test_a_pin_pip_reads_is_read_as_pip_reads_it(line: str, version: str) -> None:
    assert read_pins(f"{line}\n", "req.txt", marker_environment()) == {"numpy": version}


def test_the_cli_refuses_a_pin_with_a_comment_glued_to_its_version(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    snap, req = tmp_path / "train.json", tmp_path / "req.txt"
    snap.write_text(snapshot.to_json(), encoding="utf-8")
    req.write_text("numpy==2.1.0#pinned\n", encoding="utf-8")
    args = ["parity", "check", "--snapshot", str(snap), "--against", str(snap)]
    assert main([*args, "--requirements", str(req)]) == 2
    assert "line 1: 'numpy==2.1.0#pinned' pins '2.1.0#pinned'" in capsys.readouterr().out


# --- 10: errors name what is wrong ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-5, "model_size must not be negative, got -5"),
        ("abc", "model_size 'abc' is not a quantity"),
        ("500m", "model_size '500m' is not a whole number of bytes"),
        (float("nan"), "model_size must be a finite number of bytes"),
        ("10E", "model_size '10E' is 1e+19 bytes, more than"),
    ],
)
def test_a_bad_model_size_is_named(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ResourceRequest(model_size=value)
    assert str(caught.value).startswith(message)


def test_a_bad_memory_is_still_named_memory() -> None:
    with pytest.raises(ConfigError, match=r"^memory must not be negative"):
        ResourceRequest(memory=-5)


def test_the_cli_names_a_bad_model_size(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = tmp_path / "train.json"
    snap.write_text(snapshot.to_json(), encoding="utf-8")
    args = ["parity", "check", "--snapshot", str(snap), "--against", str(snap)]
    assert main([*args, "--model-size", "-5"]) == 2
    assert "model_size must not be negative" in capsys.readouterr().out


@pytest.fixture(scope="module")
def scan() -> Any:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(np.arange(3), buffer)
    return scan_artifact(buffer.getvalue())


@pytest.mark.parametrize(
    "distributions",
    [
        {"numpy": "numpy"},
        {"numpy": 5},
        {"numpy": [5]},
        {5: ["numpy"]},
        "numpy",
        ["numpy"],
    ],
)
def test_resolve_requirements_refuses_distributions_that_are_not_names(
    scan: Any, distributions: Any
) -> None:
    with pytest.raises(ConfigError, match=r"^distributions must"):
        resolve_requirements(scan, distributions=distributions)


def test_resolve_requirements_reads_lists_and_tuples_of_names(scan: Any) -> None:
    resolved = resolve_requirements(scan, distributions={"numpy": ("numpy",), "joblib": []})
    assert sorted(resolved) == ["numpy"]
    assert resolved.unresolved == ("joblib",)


@pytest.mark.parametrize("bad", ["not a scan", None, b"\x80\x04N."])
def test_resolve_requirements_refuses_what_is_not_a_scan(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"^scan must be an ArtifactScan"):
        resolve_requirements(bad)


def test_a_pattern_naming_a_credential_is_not_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHIP_R36_FLAG", "1")
    snap = EnvironmentSnapshot.capture(env_allowlist=["AWS_SECRET_ACCESS_KEY", "MODELSHIP_R36_*"])
    assert snap.env_allowlist == ("MODELSHIP_R36_*",)
    assert "AWS_SECRET_ACCESS_KEY" not in snap.to_json()
    document = {**snap.to_dict(), "env_allowlist": ["DB_PASSWORD", "OMP_*"]}
    assert EnvironmentSnapshot.from_dict(document).env_allowlist == ("OMP_*",)


def test_a_variable_a_snapshot_has_is_compared_whatever_its_allow_list(
    snapshot: EnvironmentSnapshot,
) -> None:
    train = attrs.evolve(snapshot, env={"A": "1"}, env_allowlist=[])
    prod = attrs.evolve(snapshot, env={"A": "2"}, env_allowlist=["A"])
    assert [f.subject for f in compare(train, prod).findings] == ["A"]
