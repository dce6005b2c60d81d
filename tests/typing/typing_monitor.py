"""Monitoring's public API as users write it; ``mypy --strict`` checks this file."""

from __future__ import annotations

from collections.abc import Callable

from modelship.deploy import Canary, GateResult, Rollout
from modelship.monitor import (
    Decision,
    InMemorySource,
    MetricSource,
    PrometheusSource,
    RollbackPolicy,
    Verdict,
    policy_gate,
)
from modelship.testing import InMemoryDeployer


def policy() -> RollbackPolicy:
    return RollbackPolicy(
        conditions=["p95(inference_latency_seconds) > 0.2", "error_rate > 1%"],
        failure_limit=None,
        consecutive_failure_limit=2,
        on_no_data="fail",
    )


def prometheus_gate() -> Callable[[Rollout], GateResult]:
    source: MetricSource = PrometheusSource(
        "http://127.0.0.1:9090", labels={"app": "fraud"}, timeout=2.0
    )
    return policy_gate(source, policy(), window=300.0, baseline="blue")


def canary_with_policy() -> Verdict:
    deployer = InMemoryDeployer()
    source = InMemorySource(now=deployer.clock.monotonic)
    gate = policy_gate(source, policy(), window=60.0)
    Canary(deployer, gate=gate, clock=deployer.clock).deploy("fraud", "1")
    decision: Decision = policy().evaluate(source, slot="green", window=60.0)
    return decision.verdict
