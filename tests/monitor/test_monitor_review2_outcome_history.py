"""Outcomes recorded again: only a changed value is kept as history; ids like None refused."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.errors import ConfigError
from modelship.monitor import OutcomeSource


def source() -> OutcomeSource:
    src = OutcomeSource(slots={"canary": "3"}, now=1000.0)
    src.add_predictions(
        [
            {"request_id": f"q{i}", "row": 0, "timestamp": 10.0, "version": "3", "output": 1}
            for i in range(4)
        ]
    )
    return src


def test_recording_the_same_values_again_keeps_no_history() -> None:
    src = source()
    ids = [f"q{i}" for i in range(4)]
    for hour in range(5):
        src.record_outcomes(ids, [1, 1, 0, 1], at=100.0 + hour)

    assert src._earlier == {}


def test_the_same_value_again_keeps_its_first_recorded_time() -> None:
    src = source()
    src.record_outcomes(["q0"], [1], at=100.0)
    src.record_outcomes(["q0"], [1], at=200.0)

    seen = src.evaluate("accuracy", version="3", start=0.0, end=20.0, as_of=150.0)

    assert seen.n == 1


def test_a_changed_value_is_still_kept_for_as_of_before_it() -> None:
    src = source()
    src.record_outcomes(["q0"], [0], at=100.0)
    src.record_outcomes(["q0"], [1], at=200.0)

    before = src.evaluate("accuracy", version="3", start=0.0, end=20.0, as_of=150.0)
    after = src.evaluate("accuracy", version="3", start=0.0, end=20.0, as_of=250.0)

    assert (before.value, after.value) == (0.0, 1.0)


class _NAType:
    """Like pandas.NA: not equal to itself, and no bool."""

    def __eq__(self, other: object) -> bool:
        raise TypeError("boolean value of NA is ambiguous")

    def __ne__(self, other: object) -> bool:
        raise TypeError("boolean value of NA is ambiguous")

    def __str__(self) -> str:
        return "<NA>"

    __hash__ = object.__hash__


NAType = type("NAType", (_NAType,), {})


def test_a_missing_request_id_like_pandas_na_is_refused() -> None:
    src = OutcomeSource(now=0.0)

    with pytest.raises(ConfigError, match=r"request id 1 is missing"):
        src.record_outcomes(["q0", NAType()], [1, 0])


def test_a_pandas_na_request_id_is_refused() -> None:
    pd = pytest.importorskip("pandas")
    src = OutcomeSource(now=0.0)

    with pytest.raises(ConfigError, match=r"request id 1 is missing"):
        src.record_outcomes(np.array(["q0", pd.NA], dtype=object), [1, 0])


@pytest.mark.parametrize("metric", ["accuracy", "recall", "precision", "f1"])
def test_the_count_statistic_reads_the_joined_pairs_not_the_support(metric: str) -> None:
    src = OutcomeSource(slots={"green": "3"}, now=100.0)
    n = 1000
    src.add_predictions(
        [
            {
                "request_id": f"q{i}",
                "row": 0,
                "timestamp": 10.0,
                "version": "3",
                "output": 1 if i < 5 else 0,
            }
            for i in range(n)
        ]
    )
    src.record_outcomes([f"q{i}" for i in range(n)], [int(i < 2 or i >= 990) for i in range(n)])

    count = src.fetch(metric, slot="green", start=0.0, end=100.0, stat="count")

    assert count.values.tolist() == [1000.0]
