"""A rollout held mid-way, for tests of what a second rollout may do meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from modelship.deploy import Verdict


@contextmanager
def held_mid_way(start: Callable[[Callable[[Any], Verdict]], Any]) -> Iterator[dict[str, Any]]:
    """Run ``start(gate)`` in a thread; the block runs while it waits in that gate.

    The gate passes once the block ends. The returned dict holds the thread's
    ``"result"`` or its ``"error"`` once the block is left.
    """
    inside, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def gate(rollout: Any) -> Verdict:
        inside.set()
        assert release.wait(60), "the test never let the first rollout go"
        return Verdict.PASS

    def run() -> None:
        try:
            outcome["result"] = start(gate)
        except BaseException as exc:  # the test reads it
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert inside.wait(60), f"the first rollout never reached its gate: {outcome}"
        yield outcome
    finally:
        release.set()
        thread.join(60)
