"""Deploy locally: two versions, blue-green under traffic, a rollback, the history.

Everything runs on the embedded defaults: a folder registry and the LocalDeployer
(``modelship serve`` processes on 127.0.0.1 behind a router). Needs the ``serve`` extra
and scikit-learn. Run: ``python examples/deploy_local.py [REGISTRY]``: the registry goes
to ``REGISTRY`` (a folder or URL, kept), by default to a temporary folder removed at the
end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import urllib.request
from collections import Counter

import numpy as np
from sklearn.linear_model import LogisticRegression

import modelship as ms
from modelship.deploy import BlueGreen, LocalDeployer


def ask(endpoint: str, row: list[float]) -> str:
    """One prediction through the router; the version that answered."""
    body = json.dumps({"instances": [row]}).encode()
    request = urllib.request.Request(
        endpoint + "/predict", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["version"])


def main(url: str | None = None) -> None:
    """Register two fraud models in ``url`` and roll them out; without ``url``, in a
    temporary folder removed at the end (nothing is left behind)."""
    if url is not None:
        run(url)
        return
    with tempfile.TemporaryDirectory(prefix="modelship-deploy-") as folder:
        print(f"registry: {folder} (temporary, removed at the end; pass a path to keep it)")
        run(folder)


def run(url: str) -> None:
    """Register two fraud models in ``url`` and roll them out under traffic."""
    reg = ms.open_registry(url)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4))
    for c in (1.0, 0.01):  # two versions of a fraud model
        y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(int)
        reg.register(model_name="fraud", model=LogisticRegression(C=c).fit(x, y))

    with LocalDeployer(registry=reg) as dep:
        BlueGreen(dep).deploy("fraud", "1")
        print("serving at", dep.endpoint, "->", ask(dep.endpoint, [0.1, 0, 0, 0]))

        answered: Counter[str] = Counter()
        failed: list[str] = []
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                try:
                    answered[ask(dep.endpoint, [0.1, 0.2, 0.3, 0.4])] += 1
                except OSError as exc:
                    failed.append(repr(exc))

        client = threading.Thread(target=traffic)
        client.start()
        rollout = BlueGreen(dep).deploy("fraud", "2")
        print("deployed 2:", [(s.slot, s.version, s.weight) for s in dep.state().slots])
        stop.wait(0.5)  # version 2 serves for a moment; then it is found wanting
        rollout.rollback()
        print("rolled back:", [(s.slot, s.version, s.weight) for s in dep.state().slots])
        stop.set()
        client.join()
        print(f"requests answered by version: {dict(answered)}; failed: {len(failed)}")
        print("registry alias:", reg.aliases("fraud"))
        print("rollout history:")
        for event in rollout.history:
            print(f"  {event.at:%H:%M:%S.%f} {event.kind.value:<11} {event.message}")
        assert not failed, failed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "registry", nargs="?", help="registry folder or URL, kept (default: a temporary folder)"
    )
    main(parser.parse_args().registry)
