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
from modelship.testing._deployer_double import Fault, FaultEffect, InMemoryDeployer

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


def skipped(rollout: Any) -> list[dict[str, Any]]:
    """The data of the rollout's gate events that record a skipped analysis."""
    return [
        e.data
        for e in rollout.history
        if e.kind is EventKind.GATE and e.data.get("decision") == "skipped"
    ]


def test_a_first_canary_deploy_is_promoted_without_calling_its_gate(
    dep: InMemoryDeployer,
) -> None:
    # Replaces test_a_first_canary_deploy_runs_its_gate_before_the_switch: 1e2404e ran the
    # gate before the switch, which no gate comparing with a stable version (or judging the
    # canary's traffic) can pass. As Argo Rollouts' initial deployment: no steps, no gate.
    history = InMemoryHistory()
    gate = Judged(dep, Verdict.FAIL)
    rollout = make("canary", dep, gate=gate, history=history).deploy("fraud", "1")
    assert rollout.succeeded
    assert gate.seen == []  # never called
    assert weights(dep) == {"blue": ("1", 100)}
    # straight to 100 %: no canary step's weight was ever set
    assert [c.args[0] for c in dep.calls if c.op == "set_traffic"] == [{"blue": 100}]
    kinds = [e.kind for e in rollout.history]
    assert EventKind.PAUSE not in kinds
    # the record says the gate was skipped, and why, before the traffic moved
    (event,) = skipped(rollout)
    assert event["step"] == "initial deploy"
    assert event["verdict"] is None
    assert "nothing to compare with, no traffic to judge" in event["reason"]
    (message,) = [e.message for e in rollout.history if e.data.get("decision") == "skipped"]
    assert "the canary steps and the gate are skipped" in message
    assert kinds.index(EventKind.GATE) < kinds.index(EventKind.TRAFFIC)
    # and so does the stored record
    assert [
        e.data.get("decision") for e in stored(history, rollout).events if e.kind is EventKind.GATE
    ] == ["skipped"]


def test_a_first_canary_deploy_without_a_gate_says_it_skipped_its_steps(
    dep: InMemoryDeployer,
) -> None:
    rollout = make("canary", dep).deploy("fraud", "1")
    (message,) = [e.message for e in rollout.history if e.data.get("decision") == "skipped"]
    assert "the canary steps are skipped" in message
    assert "gate" not in message.split(":", 1)[0]


def test_a_first_canary_deploy_still_needs_a_healthy_slot_behind_traffic(
    dep: InMemoryDeployer,
) -> None:
    # Replaces test_a_first_canary_deploy_promotes_on_a_pass_only: with no gate to ask, the
    # health checks (before and behind traffic) are what a first deploy must pass.
    dep.inject(Fault("set_traffic", FaultEffect.UNHEALTHY, version="1", times=None))
    gate = Judged(dep)
    with pytest.raises(RolloutAborted, match="blue is unhealthy") as info:
        make("canary", dep, gate=gate).deploy("fraud", "1")
    assert gate.seen == []
    assert info.value.rollout.status is RolloutStatus.ABORTED
    assert EventKind.SUCCEEDED not in [e.kind for e in info.value.rollout.history]


def test_a_first_canary_with_steps_given_skips_them_and_its_gate(dep: InMemoryDeployer) -> None:
    # Replaces test_a_first_canary_with_steps_given_still_gates.
    canary = Canary(
        dep, steps=[CanaryStep(10, pause=30)], clock=dep.clock, gate=lambda r: Verdict.FAIL
    )
    started = dep.clock.monotonic()
    rollout = canary.deploy("fraud", "1")
    assert rollout.succeeded
    assert dep.clock.monotonic() == started  # no pause either
    assert [e.data["decision"] for e in rollout.history if e.kind is EventKind.GATE] == ["skipped"]


@pytest.mark.parametrize("which", ["canary_gate", "policy_gate"])
def test_a_first_canary_with_the_library_gates_succeeds_and_the_second_is_gated(
    which: str,
) -> None:
    # 1e2404e: canary_gate had no baseline (inconclusive), policy_gate judged a slot with 0 %
    # traffic (no_data): every first deploy held 600 s, then aborted.
    dep = InMemoryDeployer()
    source = ms.monitor.InMemorySource(now=dep.clock.monotonic)
    if which == "canary_gate":
        metric = ms.monitor.CanaryMetric("inference_latency_seconds", tolerance=0.01)
        real = ms.monitor.canary_gate(source, [metric], window=3600.0)
    else:
        policy = ms.monitor.RollbackPolicy(conditions=["error_rate > 1%"])
        real = ms.monitor.policy_gate(source, policy, window=3600.0)
    calls: list[str] = []

    def gate(rollout: Any) -> Any:
        calls.append(rollout.version)
        return real(rollout)

    canary = Canary(
        dep,
        steps=[CanaryStep(50, pause=1)],
        gate=gate,
        clock=dep.clock,
        policy=GatePolicy(deadline=600, interval=30),
    )
    started = dep.clock.monotonic()
    first = canary.deploy("fraud", "1")
    assert first.succeeded
    assert dep.clock.monotonic() == started  # no hold: promoted at once
    assert calls == []
    assert len(skipped(first)) == 1
    # The second deploy has a stable version: its steps and its gate run (here with no
    # data for either slot, it holds to the deadline and aborts, version 1 serving on).
    with pytest.raises(RolloutAborted, match="analysis at step 1"):
        canary.deploy("fraud", "2")
    assert calls
    assert set(calls) == {"2"}
    assert serving(dep) == "1"


def test_a_second_canary_deploy_runs_its_gate_on_every_step(dep: InMemoryDeployer) -> None:
    make("canary", dep).deploy("fraud", "1")
    gate = Judged(dep, Verdict.PASS, Verdict.FAIL)
    with pytest.raises(RolloutAborted, match="analysis at step 2: the gate failed") as info:
        make("canary", dep, gate=gate).deploy("fraud", "2")
    assert len(gate.seen) == 2
    assert skipped(info.value.rollout) == []
    assert serving(dep) == "1"
    gate = Judged(dep, Verdict.PASS, Verdict.PASS)
    rollout = make("canary", dep, gate=gate).deploy("fraud", "2")
    assert rollout.succeeded
    assert skipped(rollout) == []
    assert [e.data["verdict"] for e in rollout.history if e.kind is EventKind.GATE] == [
        "pass",
        "pass",
    ]


@pytest.mark.parametrize("kind", ["blue-green", "recreate"])
def test_a_first_blue_green_or_recreate_deploy_still_runs_its_gate(
    dep: InMemoryDeployer, kind: str
) -> None:
    gate = Judged(dep, Verdict.FAIL)
    with pytest.raises(RolloutAborted, match="analysis at pre-promotion: the gate failed"):
        make(kind, dep, gate=gate).deploy("fraud", "1")
    assert len(gate.seen) == 1


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


@pytest.mark.parametrize("option", ["interval", "deadline"])
@pytest.mark.parametrize("value", [2**31, 1e10, 1e300])
def test_a_gate_interval_or_deadline_no_clock_can_wait_is_refused_when_made(
    option: str, value: float
) -> None:
    # GatePolicy(interval=1e10, deadline=1e10) was accepted, then time.sleep raised
    # OverflowError in the middle of a canary step, after traffic had moved.
    with pytest.raises(ms.errors.InvalidParameter, match=rf"{option}=.* is not allowed") as info:
        GatePolicy(**{option: value})
    assert isinstance(info.value, ConfigError)
    assert "2147483647" in str(info.value)


@pytest.mark.parametrize("option", ["interval", "deadline"])
def test_the_longest_gate_interval_and_deadline_allowed_are_accepted(option: str) -> None:
    assert getattr(GatePolicy(**{option: 2**31 - 1}), option) == 2**31 - 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_longest_progress_deadline_allowed_is_accepted(kind: str) -> None:
    # deploy.md refuses a progress_deadline "over 2147483647 s"; 2147483647 itself was refused.
    dep = InMemoryDeployer()
    assert KINDS[kind](dep, progress_deadline=2**31 - 1).progress_deadline == 2**31 - 1


def test_the_docs_bound_the_gate_policy_durations() -> None:
    doc = (DOCS / "deploy.md").read_text()
    section = doc.split("## Analysis gates", 1)[1].split("\n## ", 1)[0]
    (no_data_row,) = [line for line in section.splitlines() if line.startswith("| `no_data` |")]
    assert "at most 2147483647 s" in no_data_row
    assert "2147483647" in " ".join((GatePolicy.__doc__ or "").split())


def test_a_deadline_over_a_tiny_interval_does_not_overflow(dep: InMemoryDeployer) -> None:
    # deadline / interval: beyond any int (deadline was 1e300 before it was bounded)
    policy = GatePolicy(deadline=2**31 - 1, interval=1e-300)
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
