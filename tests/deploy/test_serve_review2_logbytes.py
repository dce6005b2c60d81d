"""The prediction log's byte bound counts object answers by the text they hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelship.deploy.serve import PredictionLog


def _log(tmp_path: Path, bound: int) -> PredictionLog:
    return PredictionLog(str(tmp_path / "log"), max_pending_bytes=bound)


def test_an_answer_of_long_strings_counts_the_length_of_its_text(tmp_path: Path) -> None:
    log = _log(tmp_path, 10_000)
    big = np.array(["x" * 1_000_000] * 2, dtype=object)
    assert not log.add("a", np.zeros((2, 3)), big, latency_seconds=0.1, model="m", version="1")
    assert log.pending_bytes == 0
    assert log.dropped_rows == 2


def test_an_object_answer_counts_at_least_its_texts_length(tmp_path: Path) -> None:
    log = _log(tmp_path, 2**30)
    answer = np.array(["y" * 5000, {"label": "z" * 3000}, 7, None], dtype=object)
    log.add("a", np.zeros((4, 1)), answer, latency_seconds=0.1, model="m", version="1")
    assert 8000 <= log.pending_bytes - 32 < 8200


def test_long_strings_in_a_second_methods_answer_count_too(tmp_path: Path) -> None:
    log = _log(tmp_path, 10_000)
    labels = np.array(["x" * 1_000_000], dtype=object)
    added = log.add(
        "a",
        np.zeros((1, 3)),
        np.array([1]),
        latency_seconds=0.1,
        model="m",
        version="1",
        outputs_by_method={"predict": np.array([1]), "explain": labels},
    )
    assert not added


def test_a_list_answer_of_long_strings_counts_its_text(tmp_path: Path) -> None:
    log = _log(tmp_path, 10_000)
    assert not log.add(
        "a", np.zeros((1, 3)), ["x" * 20_000], latency_seconds=0.1, model="m", version="1"
    )


def test_numeric_arrays_still_count_their_bytes(tmp_path: Path) -> None:
    log = _log(tmp_path, 10_000)
    log.add("a", np.zeros((2, 3)), np.array([1, 2]), latency_seconds=0.1, model="m", version="1")
    assert log.pending_bytes == 48 + 16


def test_nested_and_circular_answers_are_counted_without_recursing(tmp_path: Path) -> None:
    log = _log(tmp_path, 2**30)
    circular: list[object] = []
    circular.append(circular)
    answer = np.empty(3, dtype=object)
    answer[:] = [circular, ["z" * 4000], np.zeros(500)]
    assert log.add("a", np.zeros((3, 1)), answer, latency_seconds=0.1, model="m", version="1")
    assert log.pending_bytes > 4000 + 4000
