"""What monitoring parameters allow, declared once for every public function that takes them.

A leaf beside :mod:`modelship._params`: windows and intervals in seconds, levels in
(0, 1), canary scores, slot names and the statistics a condition may read.

Examples
--------
>>> from modelship.monitor._constraints import SECONDS, STAT
>>> SECONDS.is_satisfied_by(60.0), SECONDS.is_satisfied_by(0), STAT.is_satisfied_by("p95")
(True, False, True)
"""

from __future__ import annotations

from modelship._params import Constraint, Interval, Spec, Text
from modelship.monitor._conditions import STATS, quantile_of

__all__ = ["CANARY_ANALYSIS", "LEVEL", "SCORE", "SECONDS", "SLOT", "STAT", "TIME"]

#: A duration: a positive, finite number of seconds.
SECONDS = Interval(float, 0, None, closed="neither")
#: A point in time (seconds since the epoch, or a test clock's reading).
TIME = Interval(float, None, None)
#: A significance or confidence level.
LEVEL = Interval(float, 0, 1, closed="neither")
#: A canary score, out of 100.
SCORE = Interval(float, 0, 100)
#: A slot name (``canary``, ``stable``, ``blue``).
SLOT = Text()
#: The options of a canary analysis, which canary_gate passes on.
CANARY_ANALYSIS: dict[str, Spec] = {
    "window": SECONDS,
    "step": (None, SECONDS),
    "alpha": LEVEL,
    "pass_score": SCORE,
    "marginal_score": SCORE,
}


class _Stat(Constraint):
    """A statistic a condition can read: ``mean``, ``count``, ``p95``, ``p99.9`` ..."""

    def is_satisfied_by(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        q = quantile_of(value)
        return value in STATS or (q is not None and 0.0 < q < 1.0)

    def __str__(self) -> str:
        return f"one of {', '.join(STATS)} or a percentile p<number> with 0 < number < 100"

    def invalid_values(self) -> tuple[object, ...]:
        return ("average", "p100", "", 95)


#: A statistic a condition can read.
STAT = _Stat()
