"""Watch a canary minute by minute, roll it back when it gets slow, then replay the log.

Everything runs in memory: a simulated model server records each request's latency for
the ``stable`` and the ``canary`` slot. From minute 5 the canary gets slower. A rollback
policy written as the deployment YAML's ``monitoring:`` section is evaluated once a
minute; its decision log is written as JSON Lines, read back, and replayed offline: the
same decisions, bit for bit. A canary analysis (Mann-Whitney and the Hodges-Lehmann
shift) of the last 5 minutes explains the rollback.

    python examples/monitor_replay.py [--log decisions.jsonl]

The log is kept at ``--log``; by default it goes to a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import modelship as ms

MONITORING = """
monitoring:
  enabled: true
  metrics: [inference_latency, error_rate]
  conditions:
    - p95(inference_latency_seconds) > 250ms
    - p95(inference_latency_seconds) > baseline * 1.5 min_samples=100
    - error_rate > 2%
  failure_limit: null            # a flaky minute is tolerated...
  consecutive_failure_limit: 1   # ...two bad minutes in a row are not
  deadline: 600
"""


def simulate_minute(src: ms.monitor.InMemorySource, minute: int, rng: np.random.Generator) -> None:
    """One minute of traffic: 90 % to stable, 10 % to the canary."""
    end = 60.0 * minute
    for slot, requests in (("stable", 1800), ("canary", 200)):
        stamps = np.sort(rng.uniform(end - 60, end, requests))
        slow = slot == "canary" and minute >= 5
        latency = rng.gamma(4.0, 0.05 if slow else 0.025, requests)
        errors = rng.binomial(1, 0.004, requests).astype(float)
        src.add("inference_latency_seconds", slot=slot, values=latency, timestamps=stamps)
        src.add("error_rate", slot=slot, values=errors, timestamps=stamps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log", type=Path, default=None, help="where to keep the log (default: a temporary file)"
    )
    args = parser.parse_args()
    if args.log is not None:
        run(args.log)
        return
    with tempfile.TemporaryDirectory(prefix="modelship-replay-") as folder:
        run(Path(folder) / "decisions.jsonl")
        print("(the log was in a temporary folder, removed now; --log PATH keeps it)")


def run(log_path: Path) -> None:
    """Watch the simulated canary, write the log to ``log_path``, replay it, explain it."""
    policy = ms.monitor.RollbackPolicy.from_yaml(MONITORING)
    log = ms.monitor.DecisionLog(policy, started_at=0.0)
    src = ms.monitor.InMemorySource(now=0.0)
    rng = np.random.default_rng(7)

    print(f"{'minute':>6}  {'verdict':<12} {'action':<9} reason")
    for minute in range(1, 11):
        simulate_minute(src, minute, rng)
        src.set_now(60.0 * minute)
        step = log.evaluate(src, slot="canary", baseline="stable", window=60.0)
        decision = log.entries[-1][0]
        worst = next(r for r in decision.reasons if r.startswith(decision.verdict))
        print(f"{minute:>6}  {decision.verdict:<12} {step.action:<9} {worst}")
        if step.action == "rollback":
            print(f"rolled back at minute {minute}: {step.reason}")
            break

    log_path.write_text(log.to_jsonl(), encoding="utf-8")
    replayed = ms.monitor.replay(ms.monitor.DecisionLog.from_jsonl(log_path.read_text()))
    print(
        f"\nreplayed {len(replayed.decisions)} decisions from {log_path} "
        f"({log_path.stat().st_size:,} bytes): identical={replayed.identical}"
    )
    assert replayed.identical

    report = ms.monitor.canary_analysis(
        src,
        [
            ms.monitor.CanaryMetric("inference_latency_seconds", tolerance=0.01, weight=2),
            ms.monitor.CanaryMetric("error_rate", tolerance=0.01),
        ],
        canary="canary",
        baseline="stable",
        window=300.0,
    )
    print(f"\ncanary analysis of the last 5 minutes: {report.verdict} (score {report.score:.0f})")
    for reason in report.reasons:
        print(f"  {reason}")


if __name__ == "__main__":
    main()
