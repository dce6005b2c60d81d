"""Stop 46: a Prometheus window or step under half a millisecond is refused, not sent as 1ms."""

from __future__ import annotations

import pytest

from modelship.errors import ConfigError
from modelship.monitor import PrometheusSource

NOWHERE = "http://127.0.0.1:9"  # nothing is sent: every refusal comes first


@pytest.mark.parametrize("window", [0.0004, 1e-9, 5e-324])
def test_a_window_under_half_a_millisecond_is_refused(window: float) -> None:
    # It was sent as [1ms]: a window 2.5 to 10**320 times the one asked for.
    with pytest.raises(ConfigError, match=r"shorter than the shortest duration .* 0\.001 s"):
        PrometheusSource(NOWHERE).render("error_rate", "mean", slot="green", window=window)


def test_a_range_query_step_under_half_a_millisecond_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"step of 0\.0001 s is shorter"):
        PrometheusSource(NOWHERE).query_range("up", start=0.0, end=1.0, step=0.0001)


@pytest.mark.parametrize(
    ("window", "written"), [(0.0005, "[1ms]"), (0.0016, "[2ms]"), (60.0, "[60s]")]
)
def test_a_window_of_half_a_millisecond_or_more_is_sent_to_the_millisecond(
    window: float, written: str
) -> None:
    promql = PrometheusSource(NOWHERE).render("error_rate", "mean", slot="green", window=window)
    assert written in promql
