"""Environment parity's public API as users write it; ``mypy --strict`` checks this file."""

from __future__ import annotations

import attrs

from modelship.checks import CheckResult
from modelship.parity import (
    EnvironmentSnapshot,
    Finding,
    ParityReport,
    ParityRules,
    ResourceRequest,
    compare,
    record_behaviour,
)


def parity() -> list[str]:
    train = EnvironmentSnapshot.capture(env_allowlist=["OMP_*"])
    prod = attrs.evolve(train, machine="arm64")
    report: ParityReport = compare(
        train,
        prod,
        resources=ResourceRequest(memory="2Gi", cpus="500m"),
        rules=ParityRules(os="blocking", package_patch="off"),
        behaviour=record_behaviour(lambda rows: rows, [[1.0, 2.0]]),
        preprocessing=lambda rows: rows,
    )
    blocking: tuple[Finding, ...] = report.blocking
    result: CheckResult = report.to_check_result()
    return [finding.message for finding in blocking] + [result.reason]
