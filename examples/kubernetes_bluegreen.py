"""A blue-green rollout and a rollback on Kubernetes, against the fake API server.

No cluster is needed: ``modelship.testing.fake_kube.FakeKube`` answers the official
``kubernetes`` client over HTTP on 127.0.0.1 and drives Deployments through their
rollouts. Point ``KubernetesDeployer`` at a real cluster (kubeconfig, or in-cluster) and
the same code deploys there.

    python examples/kubernetes_bluegreen.py
"""

from __future__ import annotations

import json

import modelship as ms
from modelship.deploy.kubernetes import to_yaml
from modelship.testing.fake_kube import FakeKube, Timings

SPEC = {
    "deployment": {
        "strategy": "blue-green",
        "replicas": 2,
        "containers": [
            {
                "name": "model-service",
                "image": "registry.example/ai-model-server:${VERSION}",
                "port": 8080,
                "resources": {"limits": {"memory": "4Gi", "cpu": "2"}, "requests": {"cpu": "500m"}},
            }
        ],
        "healthcheck": {"path": "/health", "initialDelaySeconds": 30, "periodSeconds": 10},
    }
}


def show(dep: ms.deploy.KubernetesDeployer, when: str) -> None:
    slots = [(s.slot, s.version, s.weight, s.ready) for s in dep.state().slots]
    print(f"{when:<22} {slots}")


def main() -> None:
    with FakeKube(timings=Timings(pod_ready=0.05)) as cluster:
        dep = ms.deploy.KubernetesDeployer(
            "models", server=cluster.url, registry_url="s3://models/prod", app="fraud"
        )
        with dep:
            spec1 = ms.deploy.DeploymentSpec.from_dict(SPEC, variables={"VERSION": "1"})
            print("What the first rollout applies (render):")
            print(to_yaml(dep.render("fraud", "1", spec1, slot="blue"))[:400], "...\n")
            kwargs = {"history": ms.deploy.InMemoryHistory(), "alias": None, "undo_window": 600}
            ms.deploy.BlueGreen(dep, spec1, **kwargs).deploy("fraud", "1")
            show(dep, "v1 deployed:")

            spec2 = ms.deploy.DeploymentSpec.from_dict(SPEC, variables={"VERSION": "2"})
            rollout = ms.deploy.BlueGreen(dep, spec2, **kwargs).deploy("fraud", "2")
            show(dep, "v2 deployed:")

            before = len(cluster.writes())
            rollout.rollback()
            show(dep, "rolled back:")
            writes = [f"{r.method} {r.path.rsplit('/', 2)[-2]}/{r.path.rsplit('/', 1)[-1]}"
                      for r in cluster.writes()[before:]]  # fmt: skip
            print("rollback writes:      ", writes)
            # The rollout lock (a Lease) is taken first and let go last; in between, the
            # rollback itself is one write of the Service clients call.
            assert writes[0] == writes[-1] == "PUT leases/fraud-rollout"
            assert writes[1] == "PATCH services/fraud"

            print("\nRollout history:")
            for event in rollout.history:
                print(f"  {event.kind.value:<12} {event.message}")
            json.dumps(rollout.to_dict())  # the record is JSON, as stored in the registry
            serving = dep.state().serving()
            assert serving is not None
            assert serving.version == "1"


if __name__ == "__main__":
    main()
