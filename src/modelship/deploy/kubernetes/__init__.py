"""The Kubernetes adapter: :class:`KubernetesDeployer`, and :func:`render` for reviews.

Needs the ``kubernetes`` extra (``pip install 'modelship[kubernetes]'``) to talk to a
cluster; :func:`render` and :func:`to_yaml` need only PyYAML for the latter.

Examples
--------
>>> from modelship.deploy.kubernetes import render
>>> [o["kind"] for o in render("fraud", "1", image="ai-model:1", registry_url="s3://m")]
['Deployment', 'Service', 'Service']
"""

from __future__ import annotations

from modelship.deploy.kubernetes._client import Gone, KubernetesError, Retry
from modelship.deploy.kubernetes._deployer import KubernetesDeployer, SlotBeingDeleted
from modelship.deploy.kubernetes._dry_run import dry_run
from modelship.deploy.kubernetes._ready import Progress, ready_endpoints, rollout_progress
from modelship.deploy.kubernetes._redact import redact
from modelship.deploy.kubernetes._render import KubeOptions, render, to_yaml

__all__ = [
    "Gone",
    "KubeOptions",
    "KubernetesDeployer",
    "KubernetesError",
    "Progress",
    "Retry",
    "SlotBeingDeleted",
    "dry_run",
    "ready_endpoints",
    "redact",
    "render",
    "rollout_progress",
    "to_yaml",
]
