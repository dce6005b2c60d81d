"""compare(): each rule finds its difference at its severity, and nothing else."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import attrs
import numpy as np
import pytest
from _estimators import FakeScaler

from modelship.checks import Schema, SuiteResult, run_suite
from modelship.errors import ConfigError
from modelship.parity import (
    BlasLibrary,
    EnvironmentSnapshot,
    Finding,
    Gpu,
    ParityCheck,
    ParityReport,
    ParityRules,
    ResourceRequest,
    compare,
    fingerprint_preprocessing,
    record_behaviour,
    validate_environment_parity,
)

GIB = 2**30


def found(report: ParityReport) -> list[tuple[str, str, str | None]]:
    return [(f.check, f.severity.value, f.subject) for f in report.findings]


def test_identical_environments_have_no_findings(snapshot: EnvironmentSnapshot) -> None:
    report = compare(snapshot, snapshot)
    assert report.findings == ()
    assert report.passed


def test_a_python_minor_difference_blocks(snapshot: EnvironmentSnapshot) -> None:
    report = compare(snapshot, attrs.evolve(snapshot, python_version="3.12.1"))
    assert found(report) == [("python_minor", "blocking", None)]
    assert not report.passed


def test_a_python_patch_difference_is_advisory(snapshot: EnvironmentSnapshot) -> None:
    report = compare(snapshot, attrs.evolve(snapshot, python_version="3.11.9"))
    assert found(report) == [("python_patch", "advisory", None)]
    assert report.passed


def test_another_python_implementation_blocks(snapshot: EnvironmentSnapshot) -> None:
    report = compare(snapshot, attrs.evolve(snapshot, python_implementation="PyPy"))
    assert found(report) == [("python_implementation", "blocking", None)]


@pytest.mark.parametrize(
    ("installed", "rule", "severity"),
    [
        ("2.5.0", "package_major", "blocking"),
        ("1.4.0", "package_minor", "blocking"),
        ("1.5.3", "package_patch", "advisory"),
    ],
)
def test_a_needed_package_version_difference_has_the_severity_of_its_part(
    snapshot: EnvironmentSnapshot, installed: str, rule: str, severity: str
) -> None:
    prod = attrs.evolve(snapshot, packages={**snapshot.packages, "scikit-learn": installed})
    report = compare(snapshot, prod)
    assert found(report) == [(rule, severity, "scikit-learn")]
    assert (report.findings[0].train, report.findings[0].prod) == ("1.5.2", installed)


def test_a_needed_package_that_is_not_installed_blocks(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, packages={"numpy": "2.1.0", "pip": "24.0"})
    assert found(compare(snapshot, prod)) == [("package_missing", "blocking", "scikit-learn")]


def test_with_requirements_only_the_needed_packages_are_compared(
    snapshot: EnvironmentSnapshot,
) -> None:
    prod = attrs.evolve(snapshot, packages={"numpy": "2.1.0", "scikit-learn": "1.5.2", "pip": "9"})
    assert compare(snapshot, prod, requirements={"numpy": "2.1.0"}).findings == ()
    assert found(compare(snapshot, prod)) == [("package_major", "blocking", "pip")]


def test_requirements_versions_are_the_recorded_ones(snapshot: EnvironmentSnapshot) -> None:
    report = compare(snapshot, snapshot, requirements={"numpy": "1.26.4"})
    assert found(report) == [("package_major", "blocking", "numpy")]


def test_another_architecture_blocks_and_vendor_spellings_are_the_same(
    snapshot: EnvironmentSnapshot,
) -> None:
    assert found(compare(snapshot, attrs.evolve(snapshot, machine="aarch64"))) == [
        ("architecture", "blocking", None)
    ]
    assert compare(snapshot, attrs.evolve(snapshot, machine="AMD64")).findings == ()


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"os": "Darwin"}, "os"),
        ({"locale": "de_DE.UTF-8"}, "locale"),
        ({"timezone": "Europe/Paris"}, "timezone"),
        ({"env": {"OMP_NUM_THREADS": "1"}}, "env"),
        ({"gpus": [Gpu(name="NVIDIA A10G", driver_version="535.1")]}, "gpu"),
    ],
)
def test_platform_differences_are_advisory(
    snapshot: EnvironmentSnapshot, changes: dict[str, object], rule: str
) -> None:
    report = compare(snapshot, attrs.evolve(snapshot, **changes))
    assert [(f.check, f.severity.value) for f in report.findings] == [(rule, "advisory")]
    assert report.passed


def test_another_blas_is_advisory_and_an_unknown_blas_is_not_compared(
    snapshot: EnvironmentSnapshot,
) -> None:
    train = attrs.evolve(snapshot, blas=[BlasLibrary(name="openblas", version="0.3.27")])
    prod = attrs.evolve(snapshot, blas=[BlasLibrary(name="mkl", version="2024.1")])
    assert found(compare(train, prod)) == [("blas", "advisory", None)]
    assert compare(train, snapshot).findings == ()


def test_an_unset_variable_differs_from_a_set_one(snapshot: EnvironmentSnapshot) -> None:
    report = compare(snapshot, attrs.evolve(snapshot, env={}))
    assert found(report) == [("env", "advisory", "OMP_NUM_THREADS")]
    assert "unset" in report.findings[0].message


def test_requested_memory_beyond_the_targets_limit_blocks(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, memory_limit=2 * GIB)
    report = compare(snapshot, prod, resources=ResourceRequest(memory="4Gi"))
    assert found(report) == [("resources", "blocking", "memory")]
    assert compare(snapshot, prod, resources=ResourceRequest(memory="1Gi")).findings == ()


def test_requested_cpus_beyond_the_cgroup_quota_block(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, cpu_limit=1.5)
    report = compare(snapshot, prod, resources=ResourceRequest(cpus="2000m"))
    assert found(report) == [("resources", "blocking", "cpus")]


def test_a_model_larger_than_the_memory_limit_blocks(snapshot: EnvironmentSnapshot) -> None:
    request = ResourceRequest(memory="1Gi", model_size="1.5Gi")
    assert found(compare(snapshot, snapshot, resources=request)) == [
        ("resources", "blocking", "model_size")
    ]
    rules = ParityRules(model_memory_factor=0.5)
    assert compare(snapshot, snapshot, resources=request, rules=rules).findings == ()


def test_a_request_the_target_cannot_confirm_is_reported(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, memory_total=None, memory_limit=None)
    report = compare(snapshot, prod, resources=ResourceRequest(memory="1Gi"))
    assert "cannot be checked" in report.findings[0].message


def test_data_that_breaks_the_training_schema_blocks(snapshot: EnvironmentSnapshot) -> None:
    schema = Schema.infer({"age": np.arange(100.0), "plan": np.array(["a", "b"] * 50)})
    good = {"age": np.arange(10.0), "plan": np.array(["a", "b"] * 5)}
    assert compare(snapshot, snapshot, schema=schema, data=good).findings == ()
    report = compare(snapshot, snapshot, schema=schema, data={"age": np.arange(10.0)})
    assert found(report) == [("schema", "blocking", None)]


def test_a_schema_without_data_is_refused(snapshot: EnvironmentSnapshot) -> None:
    with pytest.raises(ConfigError, match="data="):
        compare(snapshot, snapshot, schema=Schema.infer({"x": np.arange(3.0)}))


def test_a_refitted_preprocessing_is_caught_by_its_fingerprint(
    snapshot: EnvironmentSnapshot,
) -> None:
    x = np.random.default_rng(0).normal(size=(100, 2))
    trained = FakeScaler().fit(x)
    fp = fingerprint_preprocessing(trained)
    assert compare(snapshot, snapshot, fingerprint=fp, preprocessing=trained).findings == ()
    report = compare(snapshot, snapshot, fingerprint=fp, preprocessing=FakeScaler().fit(x + 1))
    [finding] = report.findings
    assert (finding.check, finding.severity.value) == ("preprocessing_fingerprint", "blocking")
    assert "fitted.mean_" in finding.message


def test_a_preprocessing_that_behaves_differently_is_caught(snapshot: EnvironmentSnapshot) -> None:
    x = np.random.default_rng(0).normal(size=(100, 2))
    record = record_behaviour(FakeScaler().fit(x), x[:20])
    report = compare(snapshot, snapshot, behaviour=record, preprocessing=FakeScaler().fit(x * 2))
    assert {f.check for f in report.findings} == {"preprocessing_behaviour"}
    assert [f.subject for f in report.findings] == ["0", "1"]


def test_preprocessing_records_without_the_production_object_are_refused(
    snapshot: EnvironmentSnapshot,
) -> None:
    with pytest.raises(ConfigError, match="preprocessing="):
        compare(snapshot, snapshot, fingerprint=fingerprint_preprocessing({"a": 1}))


def test_rules_change_severities_and_switch_checks_off(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, os="Darwin", python_version="3.12.0")
    rules = ParityRules(os="blocking", python_minor="off")
    assert found(compare(snapshot, prod, rules=rules)) == [("os", "blocking", None)]


def test_blocking_findings_come_first(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, os="Darwin", machine="arm64")
    assert [f.check for f in compare(snapshot, prod).findings] == ["architecture", "os"]


def test_without_a_production_snapshot_the_running_environment_is_captured() -> None:
    here = EnvironmentSnapshot.capture()
    assert compare(here).findings == ()


def test_validate_environment_parity_is_a_yes_or_no(snapshot: EnvironmentSnapshot) -> None:
    advisory = attrs.evolve(snapshot, os="Darwin")
    assert validate_environment_parity(snapshot, advisory)
    assert not validate_environment_parity(snapshot, advisory, strict=True)
    assert not validate_environment_parity(snapshot, attrs.evolve(snapshot, machine="arm64"))


def test_a_report_round_trips_through_json(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, os="Darwin", packages={"numpy": "1.0"})
    report = compare(snapshot, prod)
    assert ParityReport.from_json(report.to_json()) == report


def test_the_report_lands_in_suite_json_junit_and_markdown(snapshot: EnvironmentSnapshot) -> None:
    prod = attrs.evolve(snapshot, python_version="3.12.0", os="Darwin")
    suite = run_suite([ParityCheck(train=snapshot, prod=prod)])
    assert suite.exit_code() == 1
    result = json.loads(suite.to_json())["results"][0]
    assert result["status"] == "fail"
    assert set(result["columns"]) == {"python_minor", "os"}
    failures = ET.fromstring(suite.to_junit()).iter("failure")
    assert any("3.12.0" in (f.get("message") or "") for f in failures)
    assert "python\\_minor" in suite.to_markdown()  # Markdown escapes _


def test_advisory_findings_only_warn_in_a_suite(snapshot: EnvironmentSnapshot) -> None:
    suite = SuiteResult([compare(snapshot, attrs.evolve(snapshot, os="Darwin")).to_check_result()])
    assert (suite.passed, suite.exit_code(), suite.exit_code(strict=True)) == (True, 0, 1)


def test_a_parity_check_that_cannot_compare_is_an_error_in_the_suite(
    snapshot: EnvironmentSnapshot,
) -> None:
    check = ParityCheck(train=snapshot, prod=snapshot, schema=Schema.infer({"x": [1.0]}))
    suite = run_suite([check])
    assert suite["environment_parity"].status.value == "error"
    assert suite.exit_code() == 2


def test_findings_with_the_same_subject_get_distinct_columns() -> None:
    report = ParityReport(
        [Finding(check="env", severity="advisory", message=m, subject="X") for m in "ab"]
    )
    assert list(report.to_check_result().columns) == ["env[X]", "env[X]#2"]


@pytest.mark.parametrize(
    ("argument", "value"),
    [("prod", {"python_version": "3.11"}), ("requirements", ["numpy"]), ("resources", "2Gi")],
)
def test_arguments_of_the_wrong_kind_raise_config_error_naming_them(
    snapshot: EnvironmentSnapshot, argument: str, value: object
) -> None:
    with pytest.raises(ConfigError, match=f"^{argument} must be"):
        compare(snapshot, **{argument: value})  # type: ignore[arg-type]


def test_a_training_snapshot_that_is_not_one_raises_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^train must be an EnvironmentSnapshot"):
        compare("train-env.json")  # type: ignore[arg-type]
