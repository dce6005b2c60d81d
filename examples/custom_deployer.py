"""A Deployer in under 100 lines: each slot is a model version loaded in this process.

Six operations and two attributes are all a platform needs; every strategy, gate,
history and rollback then works on it unchanged. It passes modelship's Deployer
conformance suite (see tests/deploy/test_deployer_conformance.py).
"""

from __future__ import annotations

import random
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

import modelship as ms
from modelship import deploy as md


class InProcessDeployer:
    """Slots are models loaded here; ``predict`` sends each call to a slot by weight."""

    capabilities = md.DeployerCapabilities(exact_weights=True, max_slots=2)

    def __init__(self, registry: ms.Registry) -> None:
        self.registry: ms.Registry | None = registry  # rollouts are recorded there
        self._registry = registry
        self._slots: dict[str, tuple[str, str, Any]] = {}  # slot -> (model, version, loaded)
        self._weights: dict[str, int] = {}
        self._lock = threading.Lock()

    def _get(self, slot: str) -> tuple[str, str, Any]:
        if slot not in self._slots:
            raise md.SlotNotFound(f"no slot {slot!r}")
        return self._slots[slot]

    def _check_idle(self, slot: str, starting: bool = False) -> None:
        if self._weights.get(slot, 0) > 0:
            raise md.SlotInUse(f"slot {slot!r} receives traffic; move it first")
        if starting and slot not in self._slots and len(self._slots) >= self.capabilities.max_slots:
            raise ms.ConfigError(f"slots {sorted(self._slots)} run; remove one to start {slot!r}")

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        self._check_idle(slot, starting=True)  # fail fast, before a slow load
        loaded = self._registry.load(model, version)  # verified, then deserialised
        with self._lock:
            self._check_idle(slot, starting=True)  # again, with the swap: traffic may have moved
            self._slots[slot] = (model, version, loaded)
            self._weights[slot] = 0

    def wait_ready(self, slot: str, timeout: float) -> bool:
        self._get(slot)
        return True  # a loaded model is ready

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        checked = md.check_weights(weights)
        with self._lock:
            for slot in checked:
                self._get(slot)
            self._weights = {slot: checked.get(slot, 0) for slot in self._slots}

    def health(self, slot: str) -> md.SlotHealth:
        self._get(slot)
        return md.SlotHealth(True, "loaded in this process")

    def remove(self, slot: str) -> None:
        with self._lock:
            self._check_idle(slot)
            self._slots.pop(slot, None)
            self._weights.pop(slot, None)

    def state(self) -> md.DeployerState:
        with self._lock:
            slots = sorted(self._slots.items())
            weights = dict(self._weights)
        states = [md.SlotState(s, m, v, weights.get(s, 0), True) for s, (m, v, _) in slots]
        return md.DeployerState(tuple(states))

    def predict(self, rows: Any) -> Any:
        with self._lock:
            slots = [s for s, w in self._weights.items() if w > 0]
            slot = random.choices(slots, [self._weights[s] for s in slots])[0]
            return np.asarray(rows) @ self._slots[slot][2]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        reg = ms.open_registry(folder)
        for weights in ([1.0, 0.0], [0.5, 0.5]):  # two versions of a linear "model"
            reg.register(model_name="scorer", model=np.array(weights))
        dep = InProcessDeployer(reg)
        md.BlueGreen(dep).deploy("scorer", "1")
        rollout = md.BlueGreen(dep).deploy("scorer", "2")
        print("version 2 answers", dep.predict([[2.0, 4.0]]))
        rollout.rollback()
        print("after rollback", dep.predict([[2.0, 4.0]]), "alias", reg.aliases("scorer"))
        for event in rollout.history:
            print(f"  {event.at:%H:%M:%S} {event.kind.value:<11} {event.message}")
    print(f"the registry was in {folder}, removed now")
