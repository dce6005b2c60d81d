"""Time as strategies see it: injectable, so tests run fast and deterministically.

Strategies never call :func:`time.sleep` or :func:`time.monotonic` directly; they ask a
:class:`Clock`. Deadlines are measured on the monotonic clock; history records carry
wall-clock times in UTC.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Where strategies read the time and wait.

    Examples
    --------
    >>> isinstance(SystemClock(), Clock)
    True
    """

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines are measured on it)."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""

    def wall(self) -> datetime:
        """The current time in UTC (for history records)."""


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.sleep` and UTC now.

    Examples
    --------
    >>> clock = SystemClock()
    >>> clock.monotonic() <= clock.monotonic()
    True
    >>> clock.wall().tzinfo
    datetime.timezone.utc
    """

    def monotonic(self) -> float:
        """Seconds from :func:`time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """:func:`time.sleep`, ignoring negative durations."""
        time.sleep(max(0.0, seconds))

    def wall(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(timezone.utc)
