"""A slow canary is rolled back on its own while users keep being served.

Version 1 of a model serves on the LocalDeployer (``modelship serve`` processes on
127.0.0.1 behind a router). Version 2 has the same answers but takes 200 ms a request.
It is canaried at 30 % with a rollback policy as its gate: ``p95 latency > 100 ms`` on at
least 10 requests fails it. The users' client records every request's latency per slot
in an in-memory metric source (a production setup reads the servers' ``/metrics``
through Prometheus instead: ``ms.monitor.PrometheusSource``). The gate fails version 2,
traffic returns to version 1, and not one user request fails. Needs the ``serve`` extra.

Run: ``python examples/canary_local.py [REGISTRY]``: the registry goes to ``REGISTRY`` (a
folder or URL, kept), by default to a temporary folder removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import modelship as ms
from modelship.deploy import Canary, CanaryStep, GatePolicy, LocalDeployer, RolloutAborted

HERE = Path(__file__).resolve().parent


class Model:
    """Answers ``x[0] > 0``; ``delay`` seconds a request (the slowness under test)."""

    n_features_in_ = 2  # the server warms up with a row this wide

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def predict(self, x: list[list[float]]) -> list[float]:
        if self.delay:
            time.sleep(self.delay)
        return [float(row[0] > 0) for row in x]


def ask(endpoint: str) -> str:
    """One prediction through the router; the version that answered."""
    body = json.dumps({"instances": [[0.5, 0.1]]}).encode()
    request = urllib.request.Request(
        endpoint + "/predict", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["version"])


def main(url: str | None = None) -> None:
    """Register a fast and a slow version in ``url``, canary the slow; without ``url``, in a
    temporary folder removed at the end (nothing is left behind)."""
    if url is not None:
        run(url)
        return
    with tempfile.TemporaryDirectory(prefix="modelship-canary-") as folder:
        print(f"registry: {folder} (temporary, removed at the end; pass a path to keep it)")
        run(folder)


def run(url: str) -> None:
    """Register a fast and a slow version in ``url`` and canary the slow one under traffic."""
    # The servers are other processes: they unpickle Model from this module, so they need
    # this folder on their path (and Model must not come from __main__; see the bottom).
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    reg = ms.open_registry(url)
    for delay in (0.0, 0.2):
        reg.register(model_name="scorer", model=Model(delay))

    source = ms.monitor.InMemorySource()
    policy = ms.monitor.RollbackPolicy(
        conditions=["p95(inference_latency_seconds) > 100ms min_samples=10"]
    )
    gate = ms.monitor.policy_gate(source, policy, window=30.0)

    with LocalDeployer(registry=reg) as dep:
        Canary(dep, alias=None).deploy("scorer", "1")
        answered: Counter[str] = Counter()
        failed: list[str] = []
        stop = threading.Event()

        def users() -> None:
            while not stop.is_set():  # until the canary is decided
                slots = {s.version: s.slot for s in dep.state().slots}
                started = time.perf_counter()
                try:
                    version = ask(dep.endpoint)
                except OSError as exc:
                    failed.append(repr(exc))
                    continue
                answered[version] += 1
                source.add(
                    "inference_latency_seconds",
                    slot=slots.get(version, "?"),
                    values=[time.perf_counter() - started],
                )

        client = threading.Thread(target=users)
        client.start()
        canary = Canary(
            dep,
            steps=[CanaryStep(30, pause=2.0)],
            gate=gate,
            policy=GatePolicy(interval=1.0, deadline=60.0),
            alias=None,
        )
        try:
            canary.deploy("scorer", "2")
            print("version 2 was promoted: the policy did not stop it")
        except RolloutAborted as aborted:
            gates = [e for e in aborted.rollout.history if e.kind.value == "gate"]
            print("version 2 rolled back:", gates[-1].data["reason"])
        stop.set()
        client.join()
        serving = [(s.slot, s.version, s.weight) for s in dep.state().slots if s.weight]
        print("serving:", serving)
        print(f"requests answered by version: {dict(answered)}; failed: {len(failed)}")
        assert not failed, failed
        assert serving == [("blue", "1", 100)], serving


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    import canary_local  # pickle Model as canary_local.Model, which the servers can import

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "registry", nargs="?", help="registry folder or URL, kept (default: a temporary folder)"
    )
    canary_local.main(parser.parse_args().registry)
