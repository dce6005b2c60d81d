"""A third look at the watch's model scope and last evaluation (stop 54):

- the model matcher goes into each selector of a ``modelship_`` series only, not into an
  application series' selector that sits beside one, names ``modelship_`` in a label value,
  or shares a template with a comment naming one (each lost its series: no_data, rollback);
- the last evaluation, an interval after a failed one, is made whatever the window (with a
  window over twice the interval it was skipped, and a regression at the end went free).
"""

from __future__ import annotations

import modelship as ms
from modelship.monitor import CallableSource, PrometheusSource, run_policy


def _render(template: str) -> str:
    source = PrometheusSource(
        "http://127.0.0.1:9", queries={("orders", "mean"): template}
    ).for_model("fraud")
    return source.render("orders", "mean", slot="green", window=60.0)


def test_only_the_selectors_of_server_series_get_the_model() -> None:
    mixed = _render(
        "sum(rate(shop_orders_total{$selector}[$window])) / "
        "sum(rate(modelship_requests_total{$selector}[$window]))"
    )
    assert mixed == (
        'sum(rate(shop_orders_total{slot="green"}[60s])) / '
        'sum(rate(modelship_requests_total{slot="green",model="fraud"}[60s]))'
    )
    valued = _render("sum(rate(shop_orders_total{$selector,job='modelship_shop'}[$window]))")
    assert 'model="fraud"' not in valued
    commented = _render(
        "sum(rate(shop_orders_total{$selector}[$window])) # unlike modelship_requests_total"
    )
    assert 'model="fraud"' not in commented
    braced = _render("sum(rate(modelship_requests_total{${selector}}[$window]))")
    assert braced == 'sum(rate(modelship_requests_total{slot="green",model="fraud"}[60s]))'


def _regression_at_the_end(window: float, duration: float) -> ms.monitor.DecisionLog:
    clock = [1000.0]

    def fetch(metric: str, slot: str, start: float, end: float) -> tuple[list[float], list[float]]:
        # 100 ms until t=1380, then 900 ms: a regression in the last minutes of the watch
        stamps = [float(t) for t in range(int(start) + 1, int(end) + 1)]
        return [0.9 if t >= 1380 else 0.1 for t in stamps], stamps

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    policy = ms.monitor.RollbackPolicy(
        conditions=["latency > 0.5"], failure_limit=None, consecutive_failure_limit=2
    )
    return run_policy(
        CallableSource(fetch, now=lambda: clock[0]),
        policy,
        slot="green",
        window=window,
        interval=60.0,
        duration=duration,
        sleep=sleep,
    )


def test_the_usual_last_evaluation_is_made_after_a_failure_whatever_the_window() -> None:
    for window in (60.0, 150.0):
        log = _regression_at_the_end(window, 600.0)
        assert log.rolled_back is not None, window
    # With a window of 150 s the third failure in a row is the last evaluation's, at the end.
    rolled_back = _regression_at_the_end(150.0, 600.0).rolled_back
    assert rolled_back is not None
    assert rolled_back.at == 1600.0
