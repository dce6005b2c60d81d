"""Stop 37: bad questions to composed sources and huge timestamps are ConfigErrors."""

from __future__ import annotations

from typing import Any

import pytest

from modelship.errors import ConfigError
from modelship.monitor import CallableSource, DriftSource, InMemorySource, RoutedSource


def _callable() -> CallableSource:
    return CallableSource(lambda m, s, a, b: ([1.0], [a + 1]), now=10.0)


@pytest.mark.parametrize(
    "question",
    [
        {"metric": "m", "slot": "c", "start": "x", "end": 10.0},
        {"metric": ["m"], "slot": "c", "start": 0.0, "end": 10.0},
        {"metric": "m", "slot": ["c"], "start": 0.0, "end": 10.0},
    ],
)
def test_a_bad_question_to_a_callable_or_routed_source_is_a_config_error(
    question: dict[str, Any],
) -> None:
    metric = question.pop("metric")
    for source in (_callable(), RoutedSource({"m": InMemorySource(now=10.0)})):
        with pytest.raises(ConfigError):
            source.fetch(metric, **question)


def test_a_prediction_timestamp_beyond_a_float_is_a_config_error() -> None:
    drift = DriftSource(now=10.0)
    with pytest.raises(ConfigError, match="prediction 0"):
        drift.add_predictions(
            [{"request_id": "a", "timestamp": 10**400, "version": "1", "output": 1.0}]
        )
