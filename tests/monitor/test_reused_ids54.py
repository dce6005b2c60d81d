"""OutcomeSource, fix 54: a client that reuses its v2 ``id`` / ``X-Request-ID`` logs several
different predictions under one request id. They are not duplicates of the first (a log
read again repeats rows exactly): they are counted as reused ids, and the id joins no
outcome, since an outcome for it cannot say which prediction it is of."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship.errors import ModelshipWarning
from modelship.monitor import NoData, OutcomeSource, Samples, WindowMetric


def _row(rid: str, stamp: float, output: Any, version: str = "2") -> dict[str, Any]:
    return {"request_id": rid, "row": 0, "timestamp": stamp, "version": version, "output": output}


def test_three_predictions_under_one_id_are_reused_not_duplicates_and_warned_once() -> None:
    src = OutcomeSource(now=100.0)
    rows = [_row("1", 10.0 + i, float(i % 2)) for i in range(3)]
    with pytest.warns(ModelshipWarning, match=r"'1'.*X-Request-ID must be unique") as said:
        assert src.add_predictions(rows) == 3
    assert len(said) == 1
    assert (src.duplicate_predictions, src.reused_request_ids) == (0, 2)

    with warnings.catch_warnings():  # once per source: a reload and more reuse say nothing
        warnings.simplefilter("error")
        assert src.add_predictions(rows) == 0
        assert src.add_predictions([_row("1", 50.0, 1.0)]) == 1
    assert (src.duplicate_predictions, src.reused_request_ids) == (3, 3)


def test_an_outcome_for_a_reused_id_is_not_joined_and_is_counted() -> None:
    src = OutcomeSource(now=100.0)
    with pytest.warns(ModelshipWarning):
        src.add_predictions([_row("1", 10.0, 1.0), _row("1", 11.0, 0.0), _row("ok", 12.0, 1.0)])

    summary = src.record_outcomes(["1", "ok"], [1.0, 1.0], at=20.0)

    assert (summary.matched, summary.unmatched, summary.unattributed) == (1, 0, 1)
    assert (src.unmatched, src.unattributed) == (0, 1)
    w = src.evaluate("accuracy", version="2", start=0.0, end=100.0)
    assert (w.n, w.value, w.reused) == (1, 1.0, 2)
    answer = src.fetch("accuracy", slot="2", start=0.0, end=100.0)
    assert isinstance(answer, Samples)
    assert answer.warnings
    assert "2 predictions" in answer.warnings[0]
    assert "reused" in answer.warnings[0]
    assert WindowMetric.from_dict(w.to_dict()) == w


def test_a_reuse_found_after_the_outcome_unjoins_it() -> None:
    src = OutcomeSource(now=100.0)
    src.record_outcomes(["a"], [1.0], at=5.0)
    src.add_predictions([_row("a", 10.0, 1.0)])
    assert src.evaluate("accuracy", version="2", start=0.0, end=100.0).n == 1

    with pytest.warns(ModelshipWarning, match="'a'"):
        src.add_predictions([_row("a", 30.0, 0.0)])

    w = src.evaluate("accuracy", version="2", start=0.0, end=100.0)
    assert (w.n, w.reused) == (0, 2)
    assert "reused request id" in w.reason
    assert (src.unmatched, src.unattributed) == (0, 1)
    answer = src.fetch("accuracy", slot="2", start=0.0, end=100.0)
    assert isinstance(answer, NoData)
    assert answer.warnings


def test_two_versions_and_two_methods_of_one_request_are_still_no_reuse(tmp_path: Path) -> None:
    src = OutcomeSource(now=100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        src.add_predictions([_row("r", 10.0, 1.0, "2"), _row("r", 10.5, 0.0, "3")])
        folder = tmp_path / "log"
        folder.mkdir()
        line = {**_row("p", 11.0, 1), "model": "m", "latency_seconds": 0.001, "inputs": [0.0]}
        line["method"] = "predict"
        line["outputs"] = {"predict": 1, "predict_proba": [0.2, 0.8]}
        (folder / "batch-0001.jsonl").write_text(json.dumps(line) + "\n")
        assert src.load_prediction_log(str(folder)) == 2
        assert src.load_prediction_log(str(folder)) == 0
    src.record_outcomes(["r", "p"], [1.0, 1.0], at=20.0)
    assert src.reused_request_ids == 0
    assert src.evaluate("accuracy", version="2", start=0.0, end=100.0).n == 2
    assert src.evaluate("accuracy", version="3", start=0.0, end=100.0).n == 1
    assert src.evaluate("brier", version="2", start=0.0, end=100.0).n == 1


def test_a_null_output_logged_twice_is_a_duplicate() -> None:
    src = OutcomeSource(now=100.0)
    rows = [_row("n", 10.0, None)]
    src.add_predictions(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert src.add_predictions(rows + rows) == 0
    assert (src.duplicate_predictions, src.reused_request_ids) == (2, 0)


_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["2", "3"]),
        st.sampled_from([1.0, 2.0]),
        st.sampled_from([0.0, 1.0, None]),
    ),
    max_size=25,
)


@given(rows=_rows, cut=st.integers(1, 25), labels=st.dictionaries(st.sampled_from("abcd"),
       st.sampled_from([0.0, 1.0])), labels_first=st.booleans())  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_batches_and_rows_one_by_one_agree_with_the_rule(
    rows: list[tuple[str, str, float, float | None]],
    cut: int,
    labels: dict[str, float],
    labels_first: bool,
) -> None:
    logged = [_row(k, s, o, v) for k, v, s, o in rows]
    # The rule: alike in everything is a duplicate; a new one of a known (id, version)
    # reuses the id, and a reused id joins nothing.
    seen: set[tuple[str, str, float, float | None]] = set()
    pairs: set[tuple[str, str]] = set()
    duplicates = reused = 0
    reused_keys: set[str] = set()
    kept: list[tuple[str, str, float | None]] = []
    for k, v, s, o in rows:
        if (k, v, s, o) in seen:
            duplicates += 1
            continue
        seen.add((k, v, s, o))
        if (k, v) in pairs:
            reused += 1
            reused_keys.add(k)
        pairs.add((k, v))
        kept.append((k, v, o))
    ids = list(labels)
    sources = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelshipWarning)
        for how in ("batch", "cut", "one by one"):
            src = OutcomeSource(now=100.0)
            if labels_first and ids:
                src.record_outcomes(ids, [labels[k] for k in ids], at=50.0)
            if how == "batch":
                added = src.add_predictions(logged)
            elif how == "cut":
                added = src.add_predictions(logged[:cut]) + src.add_predictions(logged[cut:])
            else:
                added = sum(src.add_predictions([row]) for row in logged)
            if not labels_first and ids:
                src.record_outcomes(ids, [labels[k] for k in ids], at=50.0)
            assert added == len(kept)
            assert (src.duplicate_predictions, src.reused_request_ids) == (duplicates, reused)
            assert src.unattributed == len(set(ids) & reused_keys)
            assert src.unmatched == len(set(ids) - {k for k, _, _ in kept})
            sources.append(src)
    for version in ("2", "3"):
        joined = [
            (labels[k], o)
            for k, v, o in kept
            if v == version and k in labels and k not in reused_keys and o is not None
        ]
        windows = [s.evaluate("mae", version=version, start=0.0, end=100.0) for s in sources]
        for w in windows:
            assert w.n == len(joined)
            assert w.reused == sum(1 for k, v, _ in kept if v == version and k in reused_keys)
            if joined:
                assert w.value == pytest.approx(sum(abs(y - o) for y, o in joined) / len(joined))
