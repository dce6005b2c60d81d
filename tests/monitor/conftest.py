"""Fixtures of the monitoring tests; they live in :mod:`monitor_support`."""

from monitor_support import (  # noqa: F401
    metrics_target,
    own_prometheus,
    prometheus,
    scripted,
    scripted_tls,
)
