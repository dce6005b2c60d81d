"""The model server's ASGI app in this process, through starlette's ``TestClient``.

The app loads and warms its model in the background and answers 503 until then: a test
asks only once :func:`wait_ready` has seen ``/ready`` answer 200.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from modelship.deploy.serve import ServeConfig, create_app
from modelship.deploy.serve._app import _nesting


def wait_ready(client: Any) -> Any:
    """The client once the app has loaded and warmed up (a loaded machine may take
    seconds): bounded at 60 s."""
    for _ in range(600):
        if client.get("/ready").status_code == 200:
            return client
        time.sleep(0.1)
    raise AssertionError(f"not ready after 60 s: {client.get('/ready').text}")


def serving() -> Iterator[Callable[..., Any]]:
    """For a fixture to yield from: ``serve(model, **config)``, a ready client of
    ``model`` served as ``m`` version 1 (warmed up on ``[[0.0, 0.0]]`` unless ``warmup``
    is given); every client is closed when the fixture ends."""
    from starlette.testclient import TestClient

    clients: list[Any] = []

    def _serve(model: Any, **config: Any) -> Any:
        config.setdefault("warmup", [[0.0, 0.0]])
        app = create_app(model, name="m", version="1", config=ServeConfig(**config))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return wait_ready(client)

    yield _serve
    for client in clients:
        client.__exit__(None, None, None)


def answering(cell: Any) -> Callable[[Any], Any]:
    """A model answering ``cell`` for every row, in an object array."""

    def predict(x: Any) -> Any:
        out = np.empty(len(x), dtype=object)
        for i in range(len(x)):
            out[i] = cell
        return out

    return predict


def peak_bytes_of_nesting(body: bytes) -> tuple[int, int]:
    """The server's nesting count of ``body`` and the peak bytes Python allocated for it."""
    tracemalloc.start()
    try:
        depth = _nesting(body)
        return depth, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
