"""Extension authors' deployers: typed as users write them, and timed by the kit.

A deployer whose ``capabilities`` is a class attribute (``ClassVar``) and whose
``registry`` is a read-only property is a correct :class:`~modelship.deploy.Deployer`;
``mypy --strict`` accepts it, as it accepts plain attributes. And
:class:`~modelship.testing.DeployerConformance` fails a ``wait_ready`` whose overrun grows
with its timeout (it stretches every strategy's ``progress_deadline``), not one that
overruns by a fixed poll, nor the in-memory double.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from mypy import api

import modelship
from modelship import deploy as md
from modelship.testing import DeployerConformance, Fault, FaultEffect, _deployer_suite
from modelship.testing._deployer_double import InMemoryDeployer

# --- mypy --strict on a user's module ---------------------------------------------------

USER_DEPLOYERS = textwrap.dedent(
    '''
    from __future__ import annotations

    from collections.abc import Mapping
    from typing import ClassVar

    import modelship as ms
    from modelship import deploy as md
    from modelship.deploy import BlueGreen, Deployer, DeploymentSpec


    class _Slots:
        def apply(
            self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
        ) -> None: ...
        def wait_ready(self, slot: str, timeout: float) -> bool: return True
        def set_traffic(self, weights: Mapping[str, int]) -> None: ...
        def health(self, slot: str) -> md.SlotHealth: return md.SlotHealth(True)
        def remove(self, slot: str) -> None: ...
        def state(self) -> md.DeployerState: return md.DeployerState()


    class PropertyDeployer(_Slots):
        """capabilities a ClassVar, registry a read-only property."""

        capabilities: ClassVar[md.DeployerCapabilities] = md.DeployerCapabilities()

        def __init__(self, reg: ms.Registry | None) -> None:
            self._reg = reg

        @property
        def registry(self) -> ms.Registry | None:
            return self._reg


    class ComputedDeployer(_Slots):
        """Both read-only properties."""

        @property
        def capabilities(self) -> md.DeployerCapabilities:
            return md.DeployerCapabilities(max_slots=1)

        @property
        def registry(self) -> ms.Registry | None:
            return None


    class AttributeDeployer(_Slots):
        """Both plain instance attributes (as the built-in deployers)."""

        def __init__(self, reg: ms.Registry | None) -> None:
            self.registry: ms.Registry | None = reg
            self.capabilities = md.DeployerCapabilities(exact_weights=False)


    class ClassAttributeDeployer(_Slots):
        """Both class attributes, unannotated (as docs/writing-a-deployer.md shows)."""

        capabilities = md.DeployerCapabilities()
        registry = None


    deployers: list[Deployer] = [
        PropertyDeployer(None),
        ComputedDeployer(),
        AttributeDeployer(None),
        ClassAttributeDeployer(),
    ]
    for d in deployers:
        BlueGreen(d)
    max_slots: int = deployers[0].capabilities.max_slots
    registry: ms.Registry | None = deployers[0].registry
    BlueGreen(PropertyDeployer(None))
    '''
)


# --- DeployerConformance times wait_ready -----------------------------------------------

VERSIONS = ("fraud", "1", "2")
NEVER = "3"
CHECK = "test_wait_ready_answers_false_in_time_for_a_version_that_never_becomes_ready"


class FakeTime:
    """The suite's clock, moved only by the deployers' waits (no test sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class NeverReadyDeployer:
    """Starts every version at once but ``NEVER``, which stays unready; ``wait_ready``
    waits out its timeout on ``clock`` for it, then ``overrun(timeout)`` seconds more."""

    capabilities = md.DeployerCapabilities()
    registry = None

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.slots: dict[str, tuple[str, str]] = {}
        self.traffic: dict[str, int] = {}
        self.lock = threading.Lock()

    def overrun(self, timeout: float) -> float:
        return 0.0

    def get(self, slot: str) -> tuple[str, str]:
        if slot not in self.slots:
            raise md.SlotNotFound(f"no slot {slot!r}")
        return self.slots[slot]

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        with self.lock:
            if self.traffic.get(slot, 0) > 0:
                raise md.SlotInUse(f"slot {slot!r} receives traffic; move it first")
            self.slots[slot] = (model, version)
            self.traffic[slot] = 0

    def wait_ready(self, slot: str, timeout: float) -> bool:
        if self.get(slot)[1] != NEVER:
            return True
        self.clock.sleep(timeout + self.overrun(timeout))
        return False

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        checked = md.check_weights(weights)
        with self.lock:
            for slot in checked:
                self.get(slot)
            self.traffic = {slot: checked.get(slot, 0) for slot in self.slots}

    def health(self, slot: str) -> md.SlotHealth:
        return md.SlotHealth(self.get(slot)[1] != NEVER)

    def remove(self, slot: str) -> None:
        with self.lock:
            if self.traffic.get(slot, 0) > 0:
                raise md.SlotInUse(f"slot {slot!r} receives traffic; move it first")
            self.slots.pop(slot, None)
            self.traffic.pop(slot, None)

    def state(self) -> md.DeployerState:
        with self.lock:
            return md.DeployerState(
                tuple(
                    md.SlotState(s, m, v, self.traffic.get(s, 0), v != NEVER)
                    for s, (m, v) in sorted(self.slots.items())
                )
            )


class WaitOverruns(NeverReadyDeployer):
    """Takes 4x its timeout (a 1 s wait 4 s: within the suite's absolute 10 s)."""

    def overrun(self, timeout: float) -> float:
        return 3 * timeout


class PollsPastTheDeadline(NeverReadyDeployer):
    """Polls every 2.5 s and looks at the deadline only after each poll's sleep."""

    def overrun(self, timeout: float) -> float:
        polls = -(-timeout // 2.5)
        return polls * 2.5 - timeout


class FixedOverrun(NeverReadyDeployer):
    """A request in flight at the deadline always finishes, 2 s after it."""

    def overrun(self, timeout: float) -> float:
        return 2.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(_deployer_suite, "time", fake)
    return fake


def run_check(dep: object) -> None:
    getattr(DeployerConformance(), CHECK)(dep, VERSIONS, NEVER)


def test_the_kit_fails_a_wait_ready_that_takes_four_times_its_timeout(clock: FakeTime) -> None:
    with pytest.raises(AssertionError, match="the overrun grows with the timeout"):
        run_check(WaitOverruns(clock))


@pytest.mark.parametrize("kind", [NeverReadyDeployer, PollsPastTheDeadline, FixedOverrun])
def test_the_kit_passes_a_wait_ready_whose_overrun_does_not_grow(
    clock: FakeTime, kind: type[NeverReadyDeployer]
) -> None:
    run_check(kind(clock))


@pytest.mark.parametrize("effect", [FaultEffect.KILL, FaultEffect.NEVER_READY])
def test_the_kit_passes_the_in_memory_deployer(effect: FaultEffect) -> None:
    # Real time: the double waits on its own manual clock.
    dep = InMemoryDeployer(faults=(Fault("apply", effect, version=NEVER, times=None),))
    run_check(dep)


# --- the same for a user's store -------------------------------------------------------

USER_STORES = textwrap.dedent(
    '''
    from __future__ import annotations

    from collections.abc import Iterable
    from typing import IO, Any, ClassVar

    import modelship as ms
    from modelship.registry import BlobWriter, Store
    from modelship.testing import MemoryStore


    class _Forwarding:
        def __init__(self) -> None:
            self._kv = MemoryStore()

        def read(self, key: str) -> bytes: return self._kv.read(key)
        def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
            return self._kv.read_many(keys)
        def create(self, key: str, data: bytes) -> None: self._kv.create(key, data)
        def replace(self, key: str, data: bytes) -> None: self._kv.replace(key, data)
        def exists(self, key: str) -> bool: return self._kv.exists(key)
        def list(self, prefix: str) -> list[str]: return self._kv.list(prefix)
        def delete(self, key: str) -> None: self._kv.delete(key)
        def blob_writer(self, callback: Any = None) -> BlobWriter:
            return self._kv.blob_writer(callback)
        def open_blob(self, key: str) -> IO[bytes]: return self._kv.open_blob(key)
        def size(self, key: str) -> int: return self._kv.size(key)
        def modified(self, key: str) -> float: return self._kv.modified(key)


    class PropertyStore(_Forwarding):
        """url computed (a token kept out of it), exclusive_creates read-only."""

        @property
        def url(self) -> str:
            return "kv://props"

        @property
        def exclusive_creates(self) -> bool:
            return True


    class AttributeStore(_Forwarding):
        """Plain attributes: url an instance one, exclusive_creates a ClassVar."""

        exclusive_creates: ClassVar[bool] = True

        def __init__(self) -> None:
            super().__init__()
            self.url = "kv://attrs"


    stores: list[Store] = [PropertyStore(), AttributeStore(), MemoryStore()]
    for s in stores:
        ms.Registry(s)
    url: str = stores[0].url
    exclusive: bool = stores[0].exclusive_creates
    ms.Registry(PropertyStore())
    '''
)


def test_deployers_and_stores_with_read_only_properties_or_class_variables_type_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both users' modules in one mypy run: its start-up (analysing modelship and what it
    # imports) is most of a run's time, and each module's errors name the module's file.
    users = {"user_deployers.py": USER_DEPLOYERS, "user_stores.py": USER_STORES}
    for file, text in users.items():
        (tmp_path / file).write_text(text)
    # Check against the modelship this test imports (not another copy installed).
    monkeypatch.setenv("MYPYPATH", str(Path(modelship.__file__).parent.parent))
    out, err, status = api.run(
        ["--strict", "--cache-dir", str(tmp_path / "cache"), *(str(tmp_path / f) for f in users)]
    )
    assert status == 0, out + err
    assert f"no issues found in {len(users)} source files" in out, out
