"""One request id answered by two versions is two predictions (review fixes)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship.monitor import OutcomeSource


def answers(version: str, output: int, offset: float) -> list[dict[str, Any]]:
    return [
        {"request_id": f"c{i}", "row": 0, "timestamp": 100.0 + offset + i, "version": version,
         "output": output}
        for i in range(40)
    ]  # fmt: skip


def accuracy(src: OutcomeSource, version: str) -> tuple[float, int]:
    w = src.evaluate("accuracy", version=version, start=0.0, end=1000.0)
    return w.value, w.n


@pytest.mark.parametrize("labels_first", [False, True])
def test_each_version_is_judged_on_its_own_answer_to_a_shared_request_id(
    labels_first: bool,
) -> None:
    src = OutcomeSource(slots={"canary": "3", "stable": "2"}, now=1000.0)
    if labels_first:
        src.record_outcomes([f"c{i}" for i in range(40)], [0] * 40, at=900.0)

    added = [src.add_predictions(answers("2", 1, 0.0)), src.add_predictions(answers("3", 0, 1.0))]
    if not labels_first:
        src.record_outcomes([f"c{i}" for i in range(40)], [0] * 40, at=900.0)

    assert added == [40, 40]
    assert src.duplicate_predictions == 0
    assert accuracy(src, "2") == (0.0, 40)
    assert accuracy(src, "3") == (1.0, 40)
    assert src.unmatched == 0


def test_two_versions_in_one_batch_are_both_kept() -> None:
    src = OutcomeSource(now=1000.0)

    assert src.add_predictions(answers("2", 1, 0.0) + answers("3", 0, 1.0)) == 80
    src.record_outcomes([f"c{i}" for i in range(40)], [0] * 40, at=900.0)

    assert accuracy(src, "2") == (0.0, 40)
    assert accuracy(src, "3") == (1.0, 40)


def test_loading_both_versions_again_adds_nothing() -> None:
    src = OutcomeSource(now=1000.0)
    rows = answers("2", 1, 0.0) + answers("3", 0, 1.0)
    src.add_predictions(rows)

    assert src.add_predictions(rows) == 0
    assert src.add_predictions(list(reversed(rows))) == 0
    assert src.duplicate_predictions == 160


def test_a_correction_reaches_every_versions_prediction() -> None:
    src = OutcomeSource(now=1000.0)
    src.add_predictions(answers("2", 1, 0.0) + answers("3", 0, 1.0))
    src.record_outcomes([f"c{i}" for i in range(40)], [0] * 40, at=900.0)

    src.record_outcomes([f"c{i}" for i in range(40)], [1] * 40, at=950.0)

    assert accuracy(src, "2") == (1.0, 40)
    assert accuracy(src, "3") == (0.0, 40)


@given(
    answered=st.lists(
        st.tuples(st.integers(0, 9), st.sampled_from(["2", "3"]), st.integers(0, 1)),
        min_size=1,
        max_size=40,
    ),
    labels=st.dictionaries(st.integers(0, 12), st.integers(0, 1), max_size=13),
    split=st.integers(1, 40),
    labels_first=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_the_join_is_each_versions_first_answer_per_request_with_its_outcome(
    answered: list[tuple[int, str, int]],
    labels: dict[int, int],
    split: int,
    labels_first: bool,
) -> None:
    src = OutcomeSource(now=1000.0)
    rows = [
        {"request_id": f"q{k}", "row": 0, "timestamp": 10.0 + i, "version": v, "output": o}
        for i, (k, v, o) in enumerate(answered)
    ]
    ids, truth = [f"q{k}" for k in labels], list(labels.values())
    if labels_first and ids:
        src.record_outcomes(ids, truth, at=500.0)
    for at in range(0, len(rows), split):  # in batches, then once more (a reload)
        src.add_predictions(rows[at : at + split])
    src.add_predictions(rows)
    if not labels_first and ids:
        src.record_outcomes(ids, truth, at=500.0)

    # Every row has its own time stamp: a request id answered twice by one version is a
    # reused id, which joins no outcome (of either version).
    first: dict[tuple[int, str], int] = {}
    reused: set[int] = set()
    for k, v, o in answered:
        if (k, v) in first:
            reused.add(k)
        first.setdefault((k, v), o)
    for version in ("2", "3"):
        pairs = [
            (o, labels[k])
            for (k, v), o in first.items()
            if v == version and k in labels and k not in reused
        ]
        w = src.evaluate("accuracy", version=version, start=0.0, end=1000.0)
        assert w.n == len(pairs)
        if pairs:
            assert w.value == pytest.approx(sum(o == y for o, y in pairs) / len(pairs))
    assert src.unmatched == len([k for k in labels if k not in {k for k, _ in first}])
    assert src.duplicate_predictions == len(answered)  # the reload
    assert src.reused_request_ids == len(answered) - len(first)
