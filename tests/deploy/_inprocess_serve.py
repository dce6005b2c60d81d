"""The model server's ASGI app in this process, through starlette's ``TestClient``.

The app loads and warms its model in the background and answers 503 until then: a test
asks only once :func:`wait_ready` has seen ``/ready`` answer 200.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from modelship.deploy.serve import ServeConfig, create_app


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
