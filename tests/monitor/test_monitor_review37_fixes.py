"""Review 37 fixes (rollback/monitor): decimal thresholds, the CLI rollback that would
serve a condemned version, --registry without --model, canary answers held to their
question, typed errors for bad counts and inputs, Decision checks, tracker restore
checks, and the wording of failures counted since the last pass."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen
from modelship.errors import ConfigError, ModelshipError
from modelship.monitor import Condition
from modelship.testing import InMemoryDeployer

P95 = "p95(inference_latency_seconds) > 0.2"
# Nothing listens there: every evaluation is an error, and the fifth rolls back
# (error_limit 4), with no Prometheus to script.
UNREACHABLE = "http://127.0.0.1:9"


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# --- 1: '%' and 'ms' thresholds are the double nearest the decimal written -----------------


def test_percent_threshold_is_the_double_nearest_the_decimal_written() -> None:
    assert Condition.parse("x > 0.7%").threshold == 0.007
    assert Condition.parse("x > -0.7%").threshold == -0.007
    assert Condition.parse("x >= 1.1%").threshold == 0.011


def test_every_one_decimal_percent_threshold_is_exact() -> None:
    wrong = [
        k
        for k in range(1, 1000)
        if Condition.parse(f"x > {k / 10}%").threshold != float(f"{k / 10}e-2")
    ]
    assert wrong == []


def test_every_one_decimal_millisecond_threshold_is_exact() -> None:
    wrong = [
        k
        for k in range(1, 10000)
        if Condition.parse(f"x > {k / 10}ms").threshold != float(f"{k / 10}e-3")
    ]
    assert wrong == []


def test_seven_errors_in_a_thousand_do_not_fail_greater_than_point_seven_percent() -> None:
    from modelship.monitor import InMemorySource, RollbackPolicy

    src = InMemorySource(now=100.0)
    src.add("error_rate", slot="green", values=[1.0] * 7 + [0.0] * 993, timestamps=[50.0] * 1000)
    decision = RollbackPolicy(conditions=["error_rate > 0.7%"]).evaluate(
        src, slot="green", window=100.0
    )
    assert decision.verdict == "pass"


# --- 2 and 3: the CLI rollback ----------------------------------------------------------------


def _watch(reg_path: Path, *more: str) -> int:
    return main(
        [
            "monitor", "watch", UNREACHABLE, "-c", P95, "--interval", "0.01",
            "--duration", "60", "--timeout", "1", *more,
        ]
    )  # fmt: skip


def test_watch_does_not_move_the_alias_to_a_version_already_rolled_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    for _ in range(2):
        reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    second = BlueGreen(dep, clock=dep.clock, undo_window=10.0).deploy("fraud", "2")
    dep.clock.sleep(100.0)  # the undo window is over
    second.rollback()  # 2 is bad: rolled back by redeploying 1, whose previous version is 2
    assert reg.aliases("fraud")["production"] == "1"

    code = _watch(tmp_path, "--registry", str(tmp_path / "reg"), "--model", "fraud")

    captured = capsys.readouterr()
    printed = _lines(captured.out)
    assert reg.aliases("fraud")["production"] == "1"  # before: moved to the condemned 2
    assert code == 2
    assert printed[-2]["action"] == "rollback"
    assert printed[-1]["event"] == "error"
    assert printed[-1]["alias"] is None
    assert "2, was itself rolled back" in printed[-1]["message"]
    assert "modelship registry alias" in printed[-1]["message"]
    assert not any(p.get("event") == "rollback" for p in printed)


@pytest.mark.parametrize(
    ("given", "missing"), [("--registry", "--model"), ("--model", "--registry")]
)
def test_registry_without_model_or_the_reverse_is_refused_before_watching(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, missing: str
) -> None:
    log = tmp_path / "d.jsonl"
    value = str(tmp_path / "reg") if given == "--registry" else "fraud"

    code = _watch(tmp_path, given, value, "--slot", "green", "--log", str(log))

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""  # refused before any evaluation
    assert "ConfigError" in captured.err
    assert "--registry and --model go together" in captured.err
    assert f"{given} was given without {missing}" in captured.err
    assert not log.exists()


# --- 4: canary answers are held to their question ------------------------------------------


class _Answers:
    """A source whose fetch returns what ``answer(metric, slot, start, end)`` gives."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def now(self) -> float:
        return 600.0

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Any:
        return self.answer(metric, slot, start, end)


_LATENCY = "inference_latency_seconds"


def _analysis(source: Any) -> Any:
    from modelship.monitor import CanaryMetric, canary_analysis

    return canary_analysis(
        source, [CanaryMetric(_LATENCY, tolerance=0.01)], canary="green", baseline="blue",
        window=600.0,
    )  # fmt: skip


def test_canary_answer_about_the_baseline_slot_is_an_error_not_a_pass() -> None:
    from modelship.monitor import Samples

    blue = np.random.default_rng(0).gamma(4, 0.02, 500)
    stamps = np.linspace(1, 600, 500)

    def always_blue(metric: str, slot: str, start: float, end: float) -> Samples:
        return Samples(metric, "blue", blue, stamps, start=start, end=end)

    report = _analysis(_Answers(always_blue))

    assert report.verdict == "error"  # before: pass, score 100
    assert report.metrics[0].verdict == "error"
    assert "the source answered" in report.metrics[0].reason
    assert "'blue'" in report.metrics[0].reason


def test_canary_values_outside_the_window_are_not_judged() -> None:
    from modelship.monitor import Samples

    values = np.random.default_rng(0).gamma(4, 0.02, 500)

    def stale(metric: str, slot: str, start: float, end: float) -> Samples:
        shifted = values + (0.5 if slot == "green" else 0.0)
        return Samples(
            metric, slot, shifted, np.linspace(-5000, -4000, 500), start=-5000.0, end=-4000.0
        )

    report = _analysis(_Answers(stale))

    assert report.verdict == "no_data"  # before: fail on values from another window
    assert "outside" in report.metrics[0].reason


def test_canary_none_answer_is_a_config_error_not_an_assertion_error() -> None:
    with pytest.raises(ConfigError, match="the source answered None"):
        _analysis(_Answers(lambda *_: None))


def test_canary_gate_with_a_mixed_up_source_does_not_promote() -> None:
    from modelship.deploy import Canary
    from modelship.monitor import CanaryMetric, Samples, canary_gate

    dep = InMemoryDeployer()
    Canary(dep, clock=dep.clock).deploy("fraud", "1")
    blue = np.random.default_rng(1).gamma(4, 0.02, 300)

    class AlwaysBlue:
        def now(self) -> float:
            return dep.clock.monotonic()

        def fetch(
            self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
        ) -> Samples:
            return Samples(metric, "blue", blue, np.full(300, end), start=start, end=end)

    gate = canary_gate(AlwaysBlue(), [CanaryMetric(_LATENCY, tolerance=0.01)], window=3600.0)
    results: list[Any] = []

    def recording(r: Any) -> Any:
        results.append(gate(r))
        return results[-1]

    with pytest.raises(ModelshipError):
        Canary(dep, gate=recording, clock=dep.clock).deploy("fraud", "2")
    assert results
    assert all(r.verdict.value != "pass" for r in results)


# --- 6: add_points counts are whole, finite numbers ----------------------------------------


@pytest.mark.parametrize("count", [float("inf"), 29.9, float("nan"), -1.0])
def test_add_points_refuses_a_count_that_is_not_a_whole_finite_number(count: float) -> None:
    from modelship.monitor import InMemorySource

    src = InMemorySource(now=60.0)
    with pytest.raises(ConfigError, match="a count is a whole number of observations"):
        src.add_points(
            _LATENCY, slot="green", stat="p95", values=[0.1], timestamps=[30.0], counts=[count]
        )


# --- 7: outcome sources raise typed errors for numbers beyond a float and a directory ------

_BIG = 10**400


def _row(**fields: Any) -> dict[str, Any]:
    return {"request_id": "a", "row": 0, "timestamp": 50.0, "version": "1", "output": 1, **fields}


def test_outcome_source_refuses_a_timestamp_beyond_a_float_naming_the_prediction() -> None:
    from modelship.monitor import OutcomeSource

    with pytest.raises(ConfigError, match=r"prediction 1 \('b'\): timestamp .* beyond the range"):
        OutcomeSource(now=100.0).add_predictions([_row(), _row(request_id="b", timestamp=_BIG)])


def test_outcome_source_refuses_an_output_beyond_a_float_naming_the_prediction() -> None:
    from modelship.monitor import OutcomeSource

    with pytest.raises(ConfigError, match=r"prediction 0 \('k'\): output .* is infinite"):
        OutcomeSource(now=100.0).add_predictions([_row(request_id="k", output=_BIG)])


def test_load_prediction_log_refuses_an_output_beyond_a_float(tmp_path: Path) -> None:
    from modelship.monitor import OutcomeSource

    log = tmp_path / "p.jsonl"
    log.write_text(
        '{"request_id": "r1", "row": 0, "timestamp": 50.0, "model": "fraud", "version": "1", '
        f'"latency_seconds": 0.001, "inputs": [1.0], "output": {_BIG}, "method": "predict"}}\n'
    )
    with pytest.raises(ConfigError, match=r"prediction 0 \('r1'\): output"):
        OutcomeSource(now=100.0).load_prediction_log(str(log))


def test_record_outcomes_refuses_an_outcome_beyond_a_float_naming_it() -> None:
    from modelship.monitor import OutcomeSource

    with pytest.raises(ConfigError, match=r"y_true\[1\]=1000.* is beyond the range of a float"):
        OutcomeSource(now=1.0).record_outcomes(["r1", "r2"], [1, _BIG])


def test_outcome_source_on_a_directory_is_a_config_error(tmp_path: Path) -> None:
    from modelship.monitor import OutcomeSource

    with pytest.raises(ConfigError, match="cannot be read as an outcomes file"):
        OutcomeSource(path=tmp_path)


def test_add_predictions_of_none_is_a_config_error() -> None:
    from modelship.monitor import OutcomeSource

    with pytest.raises(ConfigError, match="rows must be an iterable"):
        OutcomeSource(now=1.0).add_predictions(None)  # type: ignore[arg-type]


# --- 8: a Decision is checked when made; a tracker's rolled_back step is checked ----------


def _decision(**changed: Any) -> Any:
    from modelship.monitor import Decision

    fields: dict[str, Any] = {
        "verdict": "pass", "reasons": (), "conditions": (), "slot": "c", "baseline": None,
        "window": 60.0, "at": 10.0,
    }  # fmt: skip
    return Decision(**{**fields, **changed})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("verdict", "bogus"),
        ("at", float("nan")),
        ("window", -1.0),
        ("slot", 5),
        ("reasons", "abc"),
        ("baseline", ""),
        ("inputs", (None,)),
    ],
)
def test_decision_refuses_what_its_from_dict_refuses(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"decision\.{field}"):
        _decision(**{field: value})


def test_decision_log_still_writes_and_reads_a_valid_decision() -> None:
    from modelship.monitor import DecisionLog, RollbackPolicy

    log = DecisionLog(RollbackPolicy(conditions=["error_rate > 1%"]), started_at=0.0)
    log.record(_decision())
    assert len(DecisionLog.from_jsonl(log.to_jsonl())) == 1


def _tracker_state(tracker: dict[str, Any] | None = None, **rolled_back: Any) -> dict[str, Any]:
    from modelship.monitor import Step

    step = {
        "action": "rollback", "verdict": "fail", "counted_as": "fail", "reason": "r",
        "at": 10.0, "evaluations": 1, "failures": 1, "consecutive_failures": 1,
        "consecutive_errors": 0, "last_pass": 0.0, **rolled_back,
    }  # fmt: skip
    return {
        "evaluations": 1, "failures": 1, "consecutive_failures": 1, "consecutive_errors": 0,
        "last_pass": 0.0, **(tracker or {}), "rolled_back": Step(**step).to_dict(),
    }  # fmt: skip


def test_tracker_state_with_a_rolled_back_step_that_did_not_roll_back_is_refused() -> None:
    from modelship.monitor import PolicyTracker, RollbackPolicy

    state = _tracker_state(action="continue", verdict="pass", counted_as="pass", failures=0,
                           consecutive_failures=0)  # fmt: skip
    with pytest.raises(ConfigError, match="action 'continue'"):
        PolicyTracker.from_dict(RollbackPolicy(conditions=["error_rate > 1%"]), state)


_MORE = {
    # field: (the tracker's counters, the rolled_back step's), each consistent on its own
    "evaluations": ({}, {"evaluations": 99}),
    "failures": ({"evaluations": 9}, {"evaluations": 2, "failures": 2}),
    "consecutive_failures": (
        {"evaluations": 9, "failures": 5},
        {"evaluations": 2, "failures": 2, "consecutive_failures": 2},
    ),
    "consecutive_errors": ({"evaluations": 9}, {"evaluations": 2, "consecutive_errors": 1}),
    "last_pass": ({}, {"last_pass": 99.0}),
}


@pytest.mark.parametrize("field", list(_MORE))
def test_tracker_state_with_a_rolled_back_step_beyond_its_counters_is_refused(field: str) -> None:
    from modelship.monitor import PolicyTracker, RollbackPolicy

    tracker, step = _MORE[field]
    state = _tracker_state(tracker, **step)
    with pytest.raises(ConfigError, match=rf"rolled_back step has {field}="):
        PolicyTracker.from_dict(RollbackPolicy(conditions=["error_rate > 1%"]), state)


def test_tracker_state_saved_after_a_rollback_reads_back() -> None:
    from modelship.monitor import PolicyTracker, RollbackPolicy

    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    tracker = PolicyTracker(policy, started_at=0.0)
    assert tracker.update(_decision(verdict="fail", at=5.0)).action == "rollback"
    tracker.update(_decision(at=6.0))
    again = PolicyTracker.from_dict(policy, tracker.to_dict())
    assert again.to_dict() == tracker.to_dict()


# --- 11: the NaN baseline is named; untyped errors of sources and outcomes ---------------


def test_nan_baseline_statistic_names_the_baseline_not_the_watched_slot() -> None:
    from modelship.monitor import InMemorySource, RollbackPolicy

    src = InMemorySource(now=60.0)
    src.add("score", slot="green", values=[1.0] * 40, timestamps=range(10, 50))
    src.add("score", slot="blue", values=[np.inf, -np.inf] * 20, timestamps=range(10, 50))
    policy = RollbackPolicy(conditions=["mean(score) > baseline + 0.5"])

    decision = policy.evaluate(src, slot="green", baseline="blue", window=60.0)

    assert decision.verdict == "no_data"
    assert decision.conditions[0].reason == "the baseline blue mean is NaN"  # was: green


def _in_memory() -> Any:
    from modelship.monitor import InMemorySource

    src = InMemorySource(now=100.0)
    src.add("m", slot="c", values=[1.0], timestamps=[50.0])
    return src


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("start", lambda s: s.fetch("m", slot="c", start="abc", end=100.0)),
        ("start", lambda s: s.fetch("m", slot="c", start=None, end=100.0)),
        ("metric", lambda s: s.fetch(["m"], slot="c", start=0.0, end=100.0)),
        ("slot", lambda s: s.fetch("m", slot=["c"], start=0.0, end=100.0)),
        ("metric", lambda s: s.add(["m"], slot="c", values=[1.0], timestamps=[1.0])),
        ("slot", lambda s: s.add_points("m", slot={}, stat="p95", values=[1.0])),
    ],
)
def test_in_memory_source_refuses_bad_arguments_with_a_config_error(name: str, call: Any) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}="):
        call(_in_memory())


def test_outcome_source_fetch_refuses_a_slot_that_is_not_a_string() -> None:
    from modelship.monitor import OutcomeSource

    with pytest.raises(ConfigError, match=r"^slot=\['1'\]"):
        OutcomeSource(now=100.0).fetch("accuracy", slot=["1"], start=0.0, end=100.0)  # type: ignore[arg-type]


def test_samples_warnings_must_be_a_list_of_strings() -> None:
    from modelship.monitor import Samples

    for warnings in (5, "abc"):
        with pytest.raises(ConfigError, match="warnings must be a list of strings"):
            Samples("m", "c", [1.0], [1.0], start=0.0, end=1.0, warnings=warnings)


@pytest.mark.parametrize("value", ["junk", [1], None])
def test_decode_float_of_a_non_number_is_a_config_error(value: Any) -> None:
    from modelship.monitor import decode_float

    with pytest.raises(ConfigError, match="is not a number"):
        decode_float(value)


@pytest.mark.parametrize("value", ["a", 10**400])
def test_encode_float_of_a_non_float_is_a_config_error(value: Any) -> None:
    from modelship.monitor import encode_float

    with pytest.raises(ConfigError, match="encode_float takes a number"):
        encode_float(value)


# --- 10: failures are counted since the last pass, and the reason says so ----------------


def test_failures_separated_by_no_data_count_since_the_last_pass_and_say_so() -> None:
    from modelship.monitor import RollbackPolicy

    policy = RollbackPolicy(
        conditions=["error_rate > 1%"], failure_limit=None, consecutive_failure_limit=2,
        deadline=None,
    )  # fmt: skip
    tracker = policy.tracker(started_at=0.0)
    verdicts = ["fail", "no_data", "fail", "inconclusive", "fail"]
    steps = [
        tracker.update(_decision(verdict=v, at=60.0 * (i + 1))) for i, v in enumerate(verdicts)
    ]

    # Only a pass resets the count (the documented, conservative rule) ...
    assert [s.action for s in steps] == ["hold", "hold", "hold", "hold", "rollback"]
    # ... and the reasons no longer call failures with no_data between them "in a row".
    assert steps[2].reason == "failure tolerated (2 in total, 2 since the last pass)"
    assert steps[-1].reason == "3 failures since the last pass > consecutive_failure_limit=2"


# --- 5: gates on a rollout in place (Recreate) ---------------------------------------------


def _recreate_gate_rollout(gate_of: Any, *, values: list[float] | None = None) -> Any:
    """Deploy 2 over 1 with Recreate (one slot) under the gate ``gate_of(source)``; the
    rollout, aborted or not, and its gate events."""
    from modelship.deploy import DeployerCapabilities, GatePolicy, Recreate, RolloutAborted
    from modelship.monitor import InMemorySource

    dep = InMemoryDeployer(capabilities=DeployerCapabilities(max_slots=1))
    first = Recreate(dep, clock=dep.clock).deploy("fraud", "1")
    src = InMemorySource(now=dep.clock.monotonic)
    if values is not None:
        src.add("error_rate", slot=first.slot, values=values,
                timestamps=[dep.clock.monotonic() + 1.0] * len(values))  # fmt: skip
    strategy = Recreate(dep, gate=gate_of(src), clock=dep.clock, policy=GatePolicy(deadline=120.0))
    try:
        rollout = strategy.deploy("fraud", "2")
    except RolloutAborted as exc:
        rollout = exc.rollout
    return rollout, [e.data for e in rollout.history if e.kind.value == "gate"]


def test_policy_gate_relative_condition_on_recreate_is_inconclusive_not_a_gate_error() -> None:
    from modelship.monitor import RollbackPolicy, policy_gate

    policy = RollbackPolicy(conditions=["error_rate > baseline * 1.5"])
    _, gates = _recreate_gate_rollout(lambda src: policy_gate(src, policy, window=60.0))

    assert gates
    assert {g["verdict"] for g in gates} == {"inconclusive"}  # before: error, error, ...
    assert "the rollout's own slot" in gates[-1]["reason"]
    assert "baseline=" in gates[-1]["reason"]


def test_policy_gate_fixed_thresholds_on_recreate_judge_the_slot() -> None:
    from modelship.monitor import RollbackPolicy, policy_gate

    policy = RollbackPolicy(conditions=["error_rate > 1%"])
    rollout, gates = _recreate_gate_rollout(
        lambda src: policy_gate(src, policy, window=60.0), values=[0.0] * 100
    )

    assert gates[-1]["verdict"] == "pass"  # before: ConfigError at every analysis
    assert rollout.status.value == "succeeded"


def test_canary_gate_on_recreate_is_inconclusive_not_a_gate_error() -> None:
    from modelship.monitor import CanaryMetric, canary_gate

    _, gates = _recreate_gate_rollout(
        lambda src: canary_gate(src, [CanaryMetric("error_rate", tolerance=0.01)], window=60.0)
    )

    assert gates
    assert {g["verdict"] for g in gates} == {"inconclusive"}
    assert "the rollout's own slot" in gates[-1]["reason"]


# --- 9: watch() checks since before writing, and does not re-check the since it computed --


def _stepping_back_clock(first: float, then: float) -> Any:
    readings = iter([first])
    return lambda: next(readings, then)


@pytest.mark.parametrize("back", [1e-6, 0.5])
def test_watch_survives_a_source_clock_that_reads_earlier_the_second_time(
    tmp_path: Path, back: float
) -> None:
    from modelship.monitor import InMemorySource, RollbackPolicy, watch

    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    src = InMemorySource(now=_stepping_back_clock(1000.0, 1000.0 - back))
    policy = RollbackPolicy(conditions=["error_rate > 1%"], deadline=None)
    log_path = tmp_path / "d.jsonl"

    # Before: ConfigError "since=1000 is after the source's current time 1000", after the
    # log file and the start event were written.
    result = watch(rollout, src, policy, interval=60.0, duration=600.0, clock=dep.clock,
                   log_path=log_path)  # fmt: skip

    assert len(result.log) >= 1
    assert {step.action for _, step in result.log} == {"hold"}
    assert log_path.read_text().count("\n") == len(result.log) + 1


def test_watch_refuses_a_given_since_after_the_source_clock_before_writing(tmp_path: Path) -> None:
    from modelship.monitor import InMemorySource, RollbackPolicy, watch

    dep = InMemoryDeployer()
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    events = len(rollout.history)
    log_path = tmp_path / "d.jsonl"

    with pytest.raises(ConfigError, match="is after the source's current time"):
        watch(rollout, InMemorySource(now=1000.0), RollbackPolicy(conditions=["error_rate > 1%"]),
              interval=60.0, duration=600.0, clock=dep.clock, log_path=log_path,
              since=2000.0)  # fmt: skip

    assert not log_path.exists()
    assert len(rollout.history) == events


def test_run_policy_still_refuses_a_since_after_the_source_clock() -> None:
    from modelship.monitor import InMemorySource, RollbackPolicy, run_policy

    with pytest.raises(ConfigError, match="is after the source's current time"):
        run_policy(
            InMemorySource(now=1000.0), RollbackPolicy(conditions=["error_rate > 1%"]),
            slot="green", window=60.0, interval=60.0, duration=120.0, since=2000.0,
            sleep=lambda seconds: None,
        )  # fmt: skip
