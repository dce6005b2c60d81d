"""A fake Kubernetes API server for tests: real HTTP(S) on 127.0.0.1, no cluster needed.

Point the official ``kubernetes`` client (or :class:`modelship.deploy.KubernetesDeployer`)
at :attr:`FakeKube.url` and its real code path runs against objects with the API
server's shapes, a controller loop that drives Deployments through rollouts, and faults
you inject. See :mod:`modelship.testing.fake_kube._server` for what it models and what
it does not.

Examples
--------
>>> from modelship.testing.fake_kube import FakeKube, Fault
>>> with FakeKube() as kube:
...     kube.inject(Fault("GET", "/pods", status=503))
...     kube.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

from modelship.testing.fake_kube._controller import Timings
from modelship.testing.fake_kube._server import FakeKube, Fault, FaultKind, RecordedRequest
from modelship.testing.fake_kube._tls import TestPKI, make_pki

__all__ = ["FakeKube", "Fault", "FaultKind", "RecordedRequest", "TestPKI", "Timings", "make_pki"]
