"""Gate answers turn into promote, hold or abort exactly as the policy says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import Decision, GatePolicy, GateResult, GateTally, Verdict
from modelship.errors import ConfigError

verdicts = st.sampled_from(list(Verdict))


def run(policy: GatePolicy, answers: list[Verdict]) -> list[Decision]:
    tally = GateTally(policy, started=0.0)
    return [tally.record(v, now=float(i))[0] for i, v in enumerate(answers)]


@given(st.lists(verdicts.filter(lambda v: v is not Verdict.PASS), max_size=50))
def test_nothing_but_a_pass_ever_promotes(answers: list[Verdict]) -> None:
    policy = GatePolicy(deadline=1000, failure_limit=1000, max_consecutive_errors=1000)
    assert Decision.PROMOTE not in run(policy, answers)


@given(st.lists(verdicts, min_size=1, max_size=50))
def test_a_pass_promotes_unless_an_earlier_answer_aborted(answers: list[Verdict]) -> None:
    decisions = run(GatePolicy(deadline=1000), answers)
    first_pass = answers.index(Verdict.PASS) if Verdict.PASS in answers else None
    if first_pass is not None and Decision.ABORT not in decisions[:first_pass]:
        assert decisions[first_pass] is Decision.PROMOTE


@pytest.mark.parametrize("verdict", [Verdict.NO_DATA, Verdict.INCONCLUSIVE])
def test_no_data_and_inconclusive_hold_until_the_deadline_then_abort(verdict: Verdict) -> None:
    tally = GateTally(GatePolicy(deadline=60), started=0.0)
    assert tally.record(verdict, now=59.0)[0] is Decision.HOLD
    decision, why = tally.record(verdict, now=60.0)
    assert decision is Decision.ABORT
    assert f"last answer: {verdict.value}" in why


def test_errors_abort_at_the_fourth_in_a_row_by_default() -> None:
    assert run(GatePolicy(), [Verdict.ERROR] * 4) == [Decision.HOLD] * 3 + [Decision.ABORT]


def test_an_answer_between_errors_resets_their_count() -> None:
    answers = [Verdict.ERROR] * 3 + [Verdict.NO_DATA] + [Verdict.ERROR] * 3
    assert Decision.ABORT not in run(GatePolicy(), answers)


def test_one_failure_aborts_when_no_failure_limit_is_set() -> None:
    assert run(GatePolicy(), [Verdict.FAIL]) == [Decision.ABORT]


def test_a_total_failure_limit_counts_failures_that_passes_separate() -> None:
    tally = GateTally(GatePolicy(failure_limit=2), started=0.0)
    assert tally.record(Verdict.FAIL, 1.0)[0] is Decision.HOLD
    assert tally.record(Verdict.PASS, 2.0)[0] is Decision.PROMOTE
    tally.restart(3.0)  # the next canary step's analysis
    assert tally.record(Verdict.FAIL, 4.0)[0] is Decision.ABORT


def test_a_consecutive_failure_limit_aborts_only_on_a_run_of_failures() -> None:
    policy = GatePolicy(consecutive_failure_limit=2)
    answers = [Verdict.FAIL, Verdict.NO_DATA, Verdict.FAIL, Verdict.FAIL]
    assert run(policy, answers) == [Decision.HOLD] * 3 + [Decision.ABORT]


def test_a_restart_gives_the_next_analysis_its_own_deadline() -> None:
    tally = GateTally(GatePolicy(deadline=60), started=0.0)
    tally.restart(100.0)
    assert tally.record(Verdict.NO_DATA, now=150.0)[0] is Decision.HOLD


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interval", 0),
        ("deadline", -1),
        ("max_consecutive_errors", 0),
        ("failure_limit", 0),
        ("consecutive_failure_limit", 1.5),
    ],
)
def test_a_policy_refuses_values_that_would_never_decide(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        GatePolicy(**{field: value})  # type: ignore[arg-type]


def test_a_gate_result_accepts_the_verdict_by_name() -> None:
    assert GateResult("no_data").verdict is Verdict.NO_DATA


def test_the_defaults_are_the_documented_ones() -> None:
    policy = GatePolicy()
    assert (policy.deadline, policy.max_consecutive_errors) == (600.0, 4)
    assert (policy.failure_limit, policy.consecutive_failure_limit) == (None, None)


def test_the_policy_table_in_the_docs_states_the_code_defaults() -> None:
    import inspect
    import re
    from pathlib import Path

    import attrs

    from modelship.deploy import BlueGreen

    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    section = doc.split("## Analysis gates", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ")][1:]  # no header
    stated = dict(re.findall(r"`(\w+)` = (\w+)", " ".join(r.split("|")[-2] for r in table)))
    code: dict[str, object] = {f.name: f.default for f in attrs.fields(GatePolicy)}
    code["progress_deadline"] = inspect.signature(BlueGreen).parameters["progress_deadline"].default
    assert set(stated) == set(code)
    for name, text in stated.items():
        assert (None if text == "None" else float(text)) == code[name], name
