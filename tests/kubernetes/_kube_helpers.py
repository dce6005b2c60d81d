"""Shared constants and helpers of the Kubernetes tests (conftest holds the fixtures)."""

from __future__ import annotations

import importlib
import json
import os
import pickle
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from modelship.deploy.kubernetes import Retry
from modelship.testing.fake_kube import FakeKube, Timings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FAST = Timings(tick=0.003, pod_ready=0.01, deadline_scale=0.02)  # deadlines: 12 s
NS = "models"


def fast_retry() -> Retry:
    """Retries with millisecond backoff: the fake answers at once."""
    return Retry(attempts=4, base=0.001, cap=0.005)


# What a fake's store, controller and watch cache share with the fake itself (its lock and
# hooks, its timings and label checks): not copied; everything else is cluster state.
_NOT_STATE = frozenset(
    {"lock", "changed", "on_write", "store", "_store", "timings"}
    | {"never_ready", "deadline_exceeded", "ready_after"}
)


class Snapshot(NamedTuple):
    """A fake's cluster state at one moment (see :func:`snapshot`)."""

    timings: Timings
    watch_history: int
    state: bytes


def _parts(kube: FakeKube) -> tuple[Any, ...]:
    # the store, the controller, and the watch cache (no public way to reach it yet)
    return kube.store, kube.controller, kube._previous


def snapshot(kube: FakeKube) -> Snapshot:
    """``kube``'s cluster state, for :func:`restored`: objects, field owners,
    resourceVersions, the watch history with its previous objects, and the controller's
    clocks (pod ages, rollout progress). Not faults, recorded requests or serving samples.
    """
    with kube.store.lock:
        state = [
            {name: value for name, value in vars(part).items() if name not in _NOT_STATE}
            for part in _parts(kube)
        ]
        data = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)  # one pickle: shared objects stay so
    return Snapshot(kube.timings, kube.store.log.maxlen or 1, data)


def restored(snap: Snapshot) -> FakeKube:
    """A new, unstarted fake holding ``snap``'s cluster state, as a restore of etcd would:
    a client sees the same cluster (``with restored(snap) as fake:``).

    Much cheaper than replaying the requests that built the state in each of many fresh
    fakes (about 3 ms against 35 ms for one deploy), when that set-up is not what a test is
    about.
    """
    fresh = FakeKube(timings=snap.timings, watch_history=snap.watch_history)
    for part, state in zip(_parts(fresh), pickle.loads(snap.state), strict=True):  # ours
        vars(part).update(state)
    return fresh


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` and return the path."""
    path.write_text(text)
    return path


def need(module: str) -> Any:
    """Import ``module``; skip locally when it is missing, but fail under CI=true."""
    if IN_CI:
        return importlib.import_module(module)  # missing: an error, never a skip
    return pytest.importorskip(module, reason=f"{module} is not installed")


def hpa(target: str) -> dict[str, object]:
    """A HorizontalPodAutoscaler (autoscaling/v2) scaling Deployment ``target``."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target, "namespace": NS},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 2,
            "maxReplicas": 10,
        },
    }


def call(
    kube: FakeKube, method: str, path: str, body: Any = None, ctype: str = "application/json"
) -> tuple[int, Any]:
    """One raw request to the fake API server: (status, decoded JSON body)."""
    request = urllib.request.Request(
        kube.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": ctype},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def ok(result: tuple[int, Any]) -> Any:
    """The body of a ``call`` that succeeded (a status below 300), else a failed assert."""
    code, body = result
    assert code < 300, (code, body)
    return body
