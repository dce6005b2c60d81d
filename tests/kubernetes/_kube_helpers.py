"""Shared constants and helpers of the Kubernetes tests (conftest holds the fixtures)."""

from __future__ import annotations

import importlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from modelship.deploy.kubernetes import Retry
from modelship.testing.fake_kube import FakeKube, Timings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FAST = Timings(tick=0.003, pod_ready=0.01, deadline_scale=0.02)  # deadlines: 12 s
NS = "models"


def fast_retry() -> Retry:
    """Retries with millisecond backoff: the fake answers at once."""
    return Retry(attempts=4, base=0.001, cap=0.005)


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
