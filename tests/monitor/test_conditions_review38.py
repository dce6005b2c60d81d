"""Rollback conditions: a factor whose percent is beyond a double is a ConfigError."""

from __future__ import annotations

import pytest

from modelship.errors import ConfigError
from modelship.monitor import Condition, RollbackPolicy


@pytest.mark.parametrize("factor", ["1e308", "1.7e308", "2e306"])
def test_a_factor_whose_percent_is_beyond_a_double_is_refused_where_written(factor: str) -> None:
    text = f"p99(latency) > baseline * {factor}"
    with pytest.raises(ConfigError, match=r"at position 26: '.*' is too large a factor"):
        Condition.parse(text)
    with pytest.raises(ConfigError, match="too large a factor"):
        RollbackPolicy(conditions=[text])


def test_a_large_factor_within_a_double_is_kept() -> None:
    assert Condition.parse("p99(latency) > baseline * 1e300").baseline_delta == pytest.approx(1e302)
