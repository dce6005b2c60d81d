"""compare(), validate_environment_parity, ParityCheck and the report records refuse what
they cannot use, and do what their arguments say."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import attrs
import pytest

from modelship.checks import Severity, Status, run_suite
from modelship.errors import ConfigError
from modelship.parity import (
    EnvironmentSnapshot,
    Finding,
    ParityCheck,
    ParityReport,
    ParityRules,
    ResourceRequest,
    compare,
    validate_environment_parity,
)


def test_an_advisory_parity_check_reports_its_findings_without_failing_the_suite(
    snapshot: EnvironmentSnapshot,
) -> None:
    check = ParityCheck(
        train=snapshot, prod=attrs.evolve(snapshot, machine="arm64"), severity="advisory"
    )
    result = check.run()
    assert (result.status, result.severity) == (Status.FAIL, Severity.ADVISORY)
    assert run_suite([check]).passed


def test_a_parity_check_is_blocking_by_default(snapshot: EnvironmentSnapshot) -> None:
    check = ParityCheck(train=snapshot, prod=attrs.evolve(snapshot, machine="arm64"))
    assert check.severity is Severity.BLOCKING
    assert not run_suite([check]).passed


@pytest.mark.parametrize("strict", ["no", None, 1, "False"])
def test_validate_environment_parity_refuses_a_strict_that_is_not_a_bool(
    snapshot: EnvironmentSnapshot, strict: Any
) -> None:
    with pytest.raises(ConfigError, match="strict must be True or False"):
        validate_environment_parity(snapshot, snapshot, strict=strict)


def test_validate_environment_parity_refuses_an_option_compare_does_not_have(
    snapshot: EnvironmentSnapshot,
) -> None:
    with pytest.raises(ConfigError, match=r"has no option 'foo'.*requirements"):
        validate_environment_parity(snapshot, snapshot, foo=1)


def test_a_memory_factor_beyond_any_float_is_compared_exactly(
    snapshot: EnvironmentSnapshot,
) -> None:
    rules = ParityRules(model_memory_factor=1e300)
    report = compare(snapshot, snapshot, resources=ResourceRequest(model_size="1Gi"), rules=rules)
    [finding] = report.findings
    assert finding.train == math.ceil(2**30 * Fraction(1e300))
    assert finding.prod == 32 * 2**30
    assert finding.message.endswith("to load; the memory limit is 32.00 GiB")


def test_a_model_needing_a_fraction_of_a_byte_more_than_the_limit_is_found(
    snapshot: EnvironmentSnapshot,
) -> None:
    # 3 bytes times 1.5 is 4.5 bytes: 5 whole bytes, more than a limit of 4.
    prod = attrs.evolve(snapshot, memory_total=4)
    resources = ResourceRequest(model_size=3)
    [finding] = compare(
        snapshot, prod, resources=resources, rules=ParityRules(model_memory_factor=1.5)
    ).findings
    assert (finding.train, finding.prod) == (5, 4)


# --- records that cannot be written and read back are refused when built ---------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"check": 1}, "check must be a string"),
        ({"message": None}, "message must be a string"),
        ({"subject": 5}, "subject must be a string or None"),
        ({"severity": "fatal"}, "severity must be one of blocking, advisory"),
    ],
)
def test_a_finding_that_would_not_read_back_is_refused(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        Finding(**{"check": "os", "severity": "advisory", "message": "m", **fields})


@pytest.mark.parametrize("findings", ["abc", [1], None, {"check": "os"}])
def test_a_report_of_what_is_not_a_list_of_findings_is_refused(findings: Any) -> None:
    with pytest.raises(ConfigError, match="parity report"):
        ParityReport(findings)
