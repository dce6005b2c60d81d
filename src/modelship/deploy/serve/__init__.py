"""The model server: one verified registry version over HTTP, as ``modelship serve`` runs it.

``POST /predict`` (``{"instances": [[...]]}``), the Open Inference Protocol v2 (KServe,
Seldon MLServer and Triton clients), ``GET /health`` and ``/ready`` probes, Prometheus
``GET /metrics``, and an optional prediction log. The app and the runner need the
``serve`` extra (``pip install 'modelship[serve]'``: uvicorn, starlette,
prometheus_client, orjson); reading a prediction log does not.

Examples
--------
>>> from modelship.deploy.serve import read_prediction_log
>>> read_prediction_log("memory://serve-package-doc")
[]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelship.deploy.serve._config import ServeConfig
from modelship.deploy.serve._log import PredictionLog, PredictionLogError, read_prediction_log

if TYPE_CHECKING:
    from modelship.deploy.serve._app import ModelServer, ServerState, create_app
    from modelship.deploy.serve._cli import main
    from modelship.deploy.serve._run import run

__all__ = [
    "ModelServer",
    "PredictionLog",
    "PredictionLogError",
    "ServeConfig",
    "ServerState",
    "create_app",
    "main",
    "read_prediction_log",
    "run",
]

# These need the serve extra; they load on first use so the log reader works without it.
_LAZY = {
    "ModelServer": "modelship.deploy.serve._app",
    "ServerState": "modelship.deploy.serve._app",
    "create_app": "modelship.deploy.serve._app",
    "run": "modelship.deploy.serve._run",
    "main": "modelship.deploy.serve._cli",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
