"""Review 45: a window too short to measure, two monitoring sections, min_samples twice.

1. A window of 1e-8 s at an epoch time (``now - window == now``) passed every up-front
   check; the source refused the empty window at the first evaluation, after the log file
   and the start event existed.
2. A file with a top-level ``monitoring:`` and a ``deployment: {monitoring: ...}`` used
   only the latter without a word; ``deployment: 5`` was ignored.
3. ``min_samples`` in the ``when`` text and as a key: the key silently won.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import BlueGreen, EventKind
from modelship.errors import ConfigError
from modelship.monitor import Condition, InMemorySource, RollbackPolicy
from modelship.testing import InMemoryDeployer

# --- 1. a window too short to measure is refused before anything is done ----------------


def test_watch_refuses_a_window_too_short_to_measure_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    source = InMemorySource(now=1.8e9)
    path = tmp_path / "decisions.jsonl"

    with pytest.raises(ConfigError, match=r"window=1e-08 s is too short to measure"):
        ms.monitor.watch(
            rollout, source, RollbackPolicy(conditions=["error_rate > 1%"]), interval=60.0,
            duration=120.0, window=1e-8, since=0.0, clock=dep.clock, log_path=path,
        )  # fmt: skip

    assert not path.exists()
    assert [e for e in rollout.history if e.kind is EventKind.MONITOR] == []


def test_run_policy_refuses_a_window_too_short_to_measure_before_evaluating() -> None:
    source = InMemorySource(now=1.8e9)
    with pytest.raises(ConfigError, match=r"too short to measure"):
        ms.monitor.run_policy(
            source, RollbackPolicy(conditions=["error_rate > 1%"]), slot="green",
            window=1e-8, interval=60.0, duration=60.0, sleep=lambda seconds: None,
        )  # fmt: skip


def test_a_short_window_that_still_moves_the_clock_is_accepted() -> None:
    source = InMemorySource(now=1.8e9)
    log = ms.monitor.run_policy(
        source, RollbackPolicy(conditions=["error_rate > 1%"], deadline=None), slot="green",
        window=1e-3, interval=60.0, duration=60.0, sleep=lambda seconds: None,
    )  # fmt: skip
    assert next(step.action for _, step in log) == "hold"


# --- 2. one monitoring section per file -------------------------------------------------


def test_a_file_with_monitoring_and_deployment_monitoring_is_refused_saying_keep_one() -> None:
    text = (
        "monitoring:\n  conditions: ['error_rate > 1%']\n"
        "deployment:\n  monitoring:\n    conditions: ['error_rate > 50%']\n"
    )
    with pytest.raises(ConfigError, match=r"both a top-level monitoring: .* keep one"):
        RollbackPolicy.from_yaml(text)


@pytest.mark.parametrize("value", ["5", "[a, b]", "text", "null"])
def test_a_deployment_that_is_not_a_mapping_is_refused(value: str) -> None:
    text = f"deployment: {value}\nmonitoring:\n  conditions: ['error_rate > 1%']\n"
    with pytest.raises(ConfigError, match=r"deployment must be a mapping"):
        RollbackPolicy.from_yaml(text)


def test_a_deployment_spec_with_other_keys_still_reads_its_monitoring() -> None:
    text = (
        "deployment:\n  strategy: canary\n  model: fraud\n"
        "  monitoring:\n    conditions: ['error_rate > 2%']\n"
    )
    policy = RollbackPolicy.from_yaml(text)
    assert [str(c) for c in policy.conditions] == ["mean(error_rate) > 0.02"]


# --- 3. min_samples given once ----------------------------------------------------------


@pytest.mark.parametrize("key", [30, 500], ids=["differs", "equal"])
def test_min_samples_in_the_when_text_and_as_a_key_is_refused(key: int) -> None:
    data = {"when": "mean(accuracy) < baseline - 5% min_samples=500", "min_samples": key}
    with pytest.raises(ConfigError, match=r"min_samples is given twice.*give it once"):
        Condition.from_dict(data)


def test_min_samples_twice_in_a_policy_file_is_refused() -> None:
    text = (
        "monitoring:\n  conditions:\n"
        "    - when: 'mean(accuracy) < baseline - 5% min_samples=500'\n      min_samples: 30\n"
    )
    with pytest.raises(ConfigError, match=r"given twice"):
        RollbackPolicy.from_yaml(text)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"when": "error_rate > 1% min_samples=500"}, 500),
        ({"when": "error_rate > 1%", "min_samples": 30}, 30),
        ({"when": "min_samples > 3", "min_samples": 30}, 30),  # a metric of that name
    ],
    ids=["text", "key", "metric-named-min_samples"],
)
def test_min_samples_given_once_is_used(data: dict[str, object], expected: int) -> None:
    assert Condition.from_dict(data).min_samples == expected
