"""as_of reproduces what was known, corrections included (review fixes)."""

from __future__ import annotations

from pathlib import Path

from modelship.monitor import OutcomeSource


def predictions(src: OutcomeSource) -> OutcomeSource:
    src.add_predictions(
        [{"request_id": f"q{i}", "row": 0, "timestamp": 10.0 + i, "version": "1", "output": 1}
         for i in range(50)]
    )  # fmt: skip
    return src


def fifty_right(src: OutcomeSource) -> OutcomeSource:
    predictions(src).record_outcomes([f"q{i}" for i in range(50)], [1] * 50, at=100.0)
    return src


def test_as_of_before_a_correction_sees_the_value_known_then() -> None:
    src = fifty_right(OutcomeSource(now=300.0))
    before = src.evaluate("accuracy", version="1", start=0.0, end=100.0, as_of=150.0)

    src.record_outcomes(["q0"], [0], at=200.0)

    again = src.evaluate("accuracy", version="1", start=0.0, end=100.0, as_of=150.0)
    after = src.evaluate("accuracy", version="1", start=0.0, end=100.0, as_of=250.0)
    assert (again.value, again.n) == (before.value, before.n) == (1.0, 50)
    assert (after.value, after.n) == (0.98, 50)


def test_as_of_between_two_corrections_sees_the_middle_value() -> None:
    src = fifty_right(OutcomeSource(now=300.0))
    src.record_outcomes(["q0"], [0], at=200.0)
    src.record_outcomes(["q0"], [1], at=260.0)

    values = [
        src.evaluate("accuracy", version="1", start=0.0, end=100.0, as_of=t).value
        for t in (150.0, 230.0, 290.0)
    ]

    assert values == [1.0, 0.98, 1.0]


def test_as_of_before_the_first_outcome_still_sees_nothing() -> None:
    src = fifty_right(OutcomeSource(now=300.0))
    src.record_outcomes(["q0"], [0], at=200.0)

    assert src.evaluate("accuracy", version="1", start=0.0, end=100.0, as_of=50.0).n == 0


def test_the_history_of_corrections_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    fifty_right(OutcomeSource(path, now=300.0)).record_outcomes(["q0"], [0], at=200.0)

    reopened = predictions(OutcomeSource(path, now=300.0))

    now = reopened.evaluate("accuracy", version="1", start=0.0, end=100.0)
    then = reopened.evaluate("accuracy", version="1", start=0.0, end=100.0, as_of=150.0)
    assert (now.value, now.n) == (0.98, 50)
    assert (then.value, then.n) == (1.0, 50)
