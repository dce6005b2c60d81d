"""Rollouts against what a review reproduced: a first canary and every recreate promoted
without their gate, a rollout "succeeded" with the alias unmoved, the stored record lied
(the last save lost, an undo window still open after it closed), numbers that passed the
checks crashed later, and the docs misstated how a run of gate failures is counted."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import test_review_stop31_rollouts as stop31
import test_strategies
from test_review_stop31_rollouts import KINDS, weights
from test_strategies import make, serving

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    Decision,
    EventKind,
    GatePolicy,
    GateTally,
    InMemoryHistory,
    Recreate,
    RolloutAborted,
    RolloutStatus,
    Verdict,
)
from modelship.deploy._record import RolloutRecord
from modelship.deploy._spec import parse_duration
from modelship.errors import ConfigError
from modelship.registry import Registry
from modelship.testing._deployer_double import InMemoryDeployer

DOCS = Path(__file__).resolve().parents[2] / "docs"

# The fixtures of those modules: a deployer on a manual clock, a registry with 3 versions.
dep = test_strategies.dep
reg = stop31.reg


def stored(history: InMemoryHistory, rollout: Any) -> RolloutRecord:
    (record,) = [r for r in history.records(rollout.model) if r.id == rollout.id]
    return record


# --- 1. every strategy runs its gate before it promotes ---------------------------------------


class Judged:
    """A gate answering ``answers`` in turn, noting the weights it judged under."""

    def __init__(self, dep: InMemoryDeployer, *answers: Verdict) -> None:
        self.dep, self.answers = dep, list(answers)
        self.seen: list[dict[str, tuple[str, int]]] = []

    def __call__(self, rollout: Any) -> Verdict:
        self.seen.append(weights(self.dep))
        return self.answers.pop(0)


def test_a_first_canary_deploy_runs_its_gate_before_the_switch(dep: InMemoryDeployer) -> None:
    # Nothing served, so the canary had no step to run and promoted without a gate call.
    gate = Judged(dep, Verdict.FAIL)
    with pytest.raises(RolloutAborted, match="analysis at pre-promotion: the gate failed"):
        make("canary", dep, gate=gate).deploy("fraud", "1")
    assert gate.seen == [{"blue": ("1", 0)}]  # judged before any traffic moved
    assert [c for c in dep.calls if c.op == "set_traffic"] == []
    assert dep.state().slots == ()  # the slot that failed is removed, as a blue-green's


def test_a_first_canary_deploy_promotes_on_a_pass_only(dep: InMemoryDeployer) -> None:
    gate = Judged(dep, Verdict.NO_DATA, Verdict.PASS)
    rollout = make("canary", dep, gate=gate).deploy("fraud", "1")
    assert rollout.succeeded
    assert serving(dep) == "1"
    steps = [e.data["step"] for e in rollout.history if e.kind is EventKind.GATE]
    assert steps == ["pre-promotion", "pre-promotion"]


def test_recreate_runs_its_gate_behind_traffic_and_a_failure_recreates_the_previous_one(
    dep: InMemoryDeployer,
) -> None:
    make("recreate", dep).deploy("fraud", "1")
    gate = Judged(dep, Verdict.FAIL)
    with pytest.raises(RolloutAborted, match="analysis at pre-promotion: the gate failed") as info:
        make("recreate", dep, gate=gate).deploy("fraud", "2")
    # Judged once the new version was ready and served (the downtime ends at readiness).
    assert gate.seen == [{"blue": ("2", 100)}]
    assert weights(dep) == {"blue": ("1", 100)}
    assert info.value.rollout.status is RolloutStatus.ABORTED
    assert dep.violations(allow_stop=True) == []


def test_recreate_promotes_on_a_pass_and_moves_the_alias_after_it(reg: Registry) -> None:
    dep = InMemoryDeployer(registry=reg)
    Recreate(dep, clock=dep.clock).deploy("fraud", "1")
    gate = Judged(dep, Verdict.NO_DATA, Verdict.PASS)
    rollout = Recreate(dep, clock=dep.clock, gate=gate).deploy("fraud", "2")
    assert rollout.succeeded
    kinds = [e.kind for e in rollout.history]
    last_gate = len(kinds) - 1 - kinds[::-1].index(EventKind.GATE)
    assert kinds.index(EventKind.ALIAS) > last_gate
    assert reg.aliases("fraud")["production"] == "2"


# --- 2. a rollout succeeds only once the alias moved ------------------------------------------


def refuse_alias(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Make every ``Registry.set_alias`` fail as a store that is down."""
    calls: list[tuple[Any, ...]] = []

    def down(self: Registry, *args: Any, **kwargs: Any) -> None:
        calls.append(args)
        raise OSError("store unavailable")

    monkeypatch.setattr(Registry, "set_alias", down)
    return calls


@pytest.mark.parametrize("kind", KINDS)
def test_a_rollout_whose_alias_the_store_refuses_is_aborted(
    reg: Registry,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    # It said "succeeded" with 2 serving and the alias still naming 1.
    dep, history = InMemoryDeployer(registry=reg), InMemoryHistory()
    KINDS[kind](dep, history=history).deploy("fraud", "1")
    calls = refuse_alias(monkeypatch)
    with pytest.raises(RolloutAborted, match="could not be moved to 2 in 3 attempts") as info:
        KINDS[kind](dep, history=history).deploy("fraud", "2")
    assert len(calls) == 3
    assert weights(dep) == {"blue": ("1", 100)}
    assert reg.aliases("fraud")["production"] == "1"
    assert info.value.rollout.history[-1].kind is EventKind.ABORTED
    assert stored(history, info.value.rollout).status is RolloutStatus.ABORTED
    assert dep.violations(allow_stop=kind == "recreate") == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_rollout_whose_alias_someone_else_moved_is_aborted_and_theirs_stands(
    reg: Registry,
    kind: str,
) -> None:
    dep = InMemoryDeployer(registry=reg)
    KINDS[kind](dep).deploy("fraud", "1")

    def meddling(rollout: Any) -> Verdict:  # someone moves the alias during the analysis
        reg.set_alias("fraud", "production", "3")
        return Verdict.PASS

    with pytest.raises(RolloutAborted, match="someone else moved it during the rollout"):
        KINDS[kind](dep, gate=meddling).deploy("fraud", "2")
    assert weights(dep) == {"blue": ("1", 100)}
    assert reg.aliases("fraud")["production"] == "3"


def test_a_rollback_whose_alias_the_store_refuses_says_so_in_its_record(
    reg: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dep, history = InMemoryDeployer(registry=reg), InMemoryHistory()
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2")
    refuse_alias(monkeypatch)
    assert rollout.rollback() is rollout  # the traffic goes back all the same
    assert weights(dep) == {"blue": ("1", 100)}
    last_error = [e for e in stored(history, rollout).events if e.kind is EventKind.ERROR][-1]
    assert "rolled back to 1, but alias 'production' could not be moved" in last_error.message


# --- 3. the stored record tells the truth ------------------------------------------------------


class FlakyHistory(InMemoryHistory):
    """A history whose store refuses the record of a settled rollout ``failures`` times."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures, self.refused = failures, 0

    def save(self, record: RolloutRecord) -> None:
        if record.status is not RolloutStatus.IN_PROGRESS and self.refused < self.failures:
            self.refused += 1
            raise OSError("503 Slow Down")
        super().save(record)


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_save_of_the_last_event_is_retried(kind: str) -> None:
    # The record stayed "in progress" for good: no later event came to retry it.
    dep = InMemoryDeployer()
    KINDS[kind](dep).deploy("fraud", "1")
    history = FlakyHistory(failures=2)
    rollout = KINDS[kind](dep, history=history).deploy("fraud", "2")
    assert history.refused == 2
    assert stored(history, rollout) == rollout.record()
    assert stored(history, rollout).status is RolloutStatus.SUCCEEDED
    assert rollout.saved


def test_a_failed_save_of_an_abort_is_retried(dep: InMemoryDeployer) -> None:
    make("blue-green", dep).deploy("fraud", "1")
    history = FlakyHistory(failures=1)
    with pytest.raises(RolloutAborted) as info:
        make("blue-green", dep, history=history, gate=lambda r: Verdict.FAIL).deploy("fraud", "2")
    assert stored(history, info.value.rollout).status is RolloutStatus.ABORTED


def test_a_record_the_store_keeps_refusing_is_flagged_and_finish_saves_it(
    dep: InMemoryDeployer,
) -> None:
    make("blue-green", dep).deploy("fraud", "1")
    history = FlakyHistory(failures=3)
    start = dep.clock.monotonic()
    rollout = make("blue-green", dep, history=history).deploy("fraud", "2")
    assert rollout.succeeded  # the rollout stands; its record lags behind, and says so
    assert history.refused == 3
    assert dep.clock.monotonic() - start == 1 + 2  # backoff on the rollout's clock
    assert not rollout.saved
    assert stored(history, rollout).status is RolloutStatus.IN_PROGRESS
    rollout.finish()  # the store answers again
    assert rollout.saved
    assert stored(history, rollout) == rollout.record()
    assert stored(history, rollout).status is RolloutStatus.SUCCEEDED


def test_finish_saves_a_lagging_record_of_a_first_deploy(dep: InMemoryDeployer) -> None:
    history = FlakyHistory(failures=3)
    rollout = make("blue-green", dep, history=history).deploy("fraud", "1")
    assert not rollout.saved
    rollout.finish()  # no undo window to close: the record is saved all the same
    assert stored(history, rollout).status is RolloutStatus.SUCCEEDED
    assert rollout.save() is True


def test_finish_closes_the_undo_window_in_the_stored_record(dep: InMemoryDeployer) -> None:
    # undo_until still said promotion + 600 s once the previous slot was gone.
    history = InMemoryHistory()
    make("blue-green", dep, history=history).deploy("fraud", "1")
    rollout = make("blue-green", dep, history=history).deploy("fraud", "2")
    promoted = dep.clock.wall()
    assert rollout.undo_until == promoted + timedelta(seconds=600)
    dep.clock.advance(100)
    rollout.finish()
    assert weights(dep) == {"green": ("2", 100)}
    assert rollout.undo_until == promoted + timedelta(seconds=100)
    assert stored(history, rollout).undo_until == rollout.undo_until


def test_a_rollback_closes_the_undo_window_in_the_stored_record(dep: InMemoryDeployer) -> None:
    history = InMemoryHistory()
    make("blue-green", dep, history=history).deploy("fraud", "1")
    rollout = make("blue-green", dep, history=history).deploy("fraud", "2")
    dep.clock.advance(100)
    rollout.rollback()
    assert rollout.status is RolloutStatus.ROLLED_BACK
    assert rollout.undo_until == dep.clock.wall()
    assert stored(history, rollout).undo_until == dep.clock.wall()


# --- 4. numbers that pass the checks do not crash later ----------------------------------------


@pytest.mark.parametrize("pause", [int("9" * 400), -int("9" * 400), "9" * 400 + "s"])
def test_a_huge_canary_pause_is_a_config_error(pause: object) -> None:
    with pytest.raises(ConfigError, match=r"not a duration: too large|finite and >= 0"):
        parse_duration(pause)
    document = {
        "deployment": {
            "strategy": "canary",
            "containers": [{"name": "m", "image": "m:1"}],
            "canary": {"steps": [{"weight": 10, "pause": pause}]},
        }
    }
    with pytest.raises(ConfigError, match=r"deployment\.canary\.steps\[0\]\.pause: "):
        ms.deploy.DeploymentSpec.from_dict(document)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("option", ["undo_window", "progress_deadline"])
def test_a_window_no_date_can_hold_is_refused_when_the_strategy_is_built(
    kind: str, option: str
) -> None:
    # undo_window=1e12 was accepted, then the rollout crashed after its switch.
    dep = InMemoryDeployer()
    with pytest.raises(ConfigError, match=rf"{option}=1000000000000.0 is not allowed"):
        KINDS[kind](dep, **{option: 1e12})
    assert dep.calls == []


def test_the_longest_undo_window_allowed_works(dep: InMemoryDeployer) -> None:
    make("blue-green", dep, undo_window=2**31 - 1).deploy("fraud", "1")
    rollout = make("blue-green", dep, undo_window=2**31 - 1).deploy("fraud", "2")
    assert rollout.undo_window_open
    assert rollout.undo_until == dep.clock.wall() + timedelta(seconds=2**31 - 1)


@pytest.mark.parametrize("kind", ["blue-green", "canary"])
def test_an_interval_longer_than_the_deadline_aborts_at_the_deadline(
    dep: InMemoryDeployer, kind: str
) -> None:
    make(kind, dep).deploy("fraud", "1")
    asked: list[float] = []

    def no_data(rollout: Any) -> Verdict:
        asked.append(dep.clock.monotonic())
        return Verdict.NO_DATA

    policy = GatePolicy(deadline=600, interval=3600)
    with pytest.raises(RolloutAborted, match="no pass within the analysis deadline of 600 s"):
        make(kind, dep, gate=no_data, policy=policy).deploy("fraud", "2")
    # asked at the start of the (first) analysis, then once more at its deadline
    assert asked[1] - asked[0] == 600
    assert serving(dep) == "1"


def test_a_deadline_over_a_tiny_interval_does_not_overflow(dep: InMemoryDeployer) -> None:
    policy = GatePolicy(deadline=1e300, interval=1e-300)  # deadline / interval: infinity
    rollout = make("blue-green", dep, gate=lambda r: Verdict.PASS, policy=policy).deploy(
        "fraud", "1"
    )
    assert rollout.succeeded


# --- 5. a run of failures, as the docs say it is counted ---------------------------------------


@pytest.mark.parametrize(
    ("between", "aborts"),
    [
        (Verdict.ERROR, True),  # the gate could not judge: the run goes on
        (Verdict.NO_DATA, False),
        (Verdict.INCONCLUSIVE, False),
        (Verdict.PASS, False),
    ],
)
def test_only_an_error_between_two_failures_keeps_them_in_a_row(
    between: Verdict, aborts: bool
) -> None:
    tally = GateTally(GatePolicy(consecutive_failure_limit=2), started=0.0)
    decisions = [
        tally.record(v, now=float(i))[0]
        for i, v in enumerate([Verdict.FAIL, between, Verdict.FAIL])
    ]
    assert decisions[-1] is (Decision.ABORT if aborts else Decision.HOLD)


def test_the_docs_say_an_error_neither_counts_nor_breaks_a_run_of_failures() -> None:
    # deploy.md said "with no other answer between", while fail, error, fail aborted.
    doc = (DOCS / "deploy.md").read_text()
    section = doc.split("## Analysis gates", 1)[1].split("\n## ", 1)[0]
    (fail_row,) = [line for line in section.splitlines() if line.startswith("| `fail` |")]
    assert "no other answer between" not in fail_row
    assert re.search(r"an `error` between two failures neither counts nor breaks the run", fail_row)
    policy_doc = " ".join((GatePolicy.__doc__ or "").split())
    assert "an ``error`` does not" in policy_doc


def test_a_first_canary_with_steps_given_still_gates(dep: InMemoryDeployer) -> None:
    canary = Canary(
        dep, steps=[CanaryStep(10, pause=30)], clock=dep.clock, gate=lambda r: Verdict.FAIL
    )
    with pytest.raises(RolloutAborted, match="pre-promotion"):
        canary.deploy("fraud", "1")
