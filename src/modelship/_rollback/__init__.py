"""The rollback policy's core: conditions, limits, metric sources and the policy itself.

It lives below both :mod:`modelship.deploy` and :mod:`modelship.monitor`: the deployment
spec reads a ``monitoring:`` section with the policy's own reader, and the monitor, which
drives deployments, builds on the same classes. Users import these names from
:mod:`modelship.monitor`; nothing here imports the deployers or the monitor.
"""
