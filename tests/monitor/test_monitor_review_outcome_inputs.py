"""OutcomeSource refuses what it cannot record, naming it (review fixes)."""

from __future__ import annotations

from typing import Any

import pytest

from modelship.errors import ConfigError, InvalidParameter
from modelship.monitor import OutcomeSource


def source() -> OutcomeSource:
    src = OutcomeSource(now=10.0)
    src.add_predictions(
        [{"request_id": "a", "row": 1, "timestamp": 1.0, "version": "1", "output": 1}]
    )
    return src


@pytest.mark.parametrize("row", ["x", 1.7, -1, 1e30, True, None])
def test_a_row_that_is_not_a_whole_number_from_0_is_refused_naming_it(row: Any) -> None:
    src = source()

    with pytest.raises(ConfigError, match=r"rows\[0\]=.* is not allowed; a row is the position"):
        src.record_outcomes(["a"], [1], rows=[row])

    assert src.unmatched == 0  # nothing recorded


def test_a_whole_float_row_is_that_row() -> None:
    assert source().record_outcomes(["a"], [1], rows=[1.0]).matched == 1


@pytest.mark.parametrize("at", ["x", float("nan"), float("inf")])
def test_an_at_that_is_not_a_time_is_an_invalid_parameter(at: Any) -> None:
    with pytest.raises(InvalidParameter, match="at must be None or a finite float"):
        source().record_outcomes(["a"], [1], at=at)


@pytest.mark.parametrize("ids", [None, "abc", ["a", None]])
def test_request_ids_that_are_not_a_sequence_of_ids_are_refused(ids: Any) -> None:
    src = source()

    with pytest.raises(ConfigError, match="request id"):
        src.record_outcomes(ids, [1] * (2 if isinstance(ids, list) else 1))

    assert src.unmatched == 0


def test_a_table_whose_row_column_is_not_rows_is_refused_naming_the_row() -> None:
    with pytest.raises(ConfigError, match=r"rows\[0\]='q' is not allowed"):
        source().record_table({"request_id": ["a"], "y_true": [1], "row": ["q"]})


def test_fetch_with_a_start_that_is_not_a_time_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="start=None is not allowed"):
        source().fetch("accuracy", slot="1", start=None, end=10.0)  # type: ignore[arg-type]


def test_an_infinite_prediction_is_refused() -> None:
    row = {"request_id": "e", "row": 0, "timestamp": 1.0, "version": "1", "output": float("inf")}

    with pytest.raises(ConfigError, match="output inf is infinite"):
        source().add_predictions([row])
