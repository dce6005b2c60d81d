"""An in-memory :class:`~modelship.deploy.Deployer` with faults injectable at every step.

Use it to test code that deploys (a pipeline, a custom gate, a CLI) without processes,
and to prove that a strategy keeps its invariants when the platform misbehaves: every
call is logged with the state before and after, and :meth:`InMemoryDeployer.violations`
lists each call that broke one of the rules every strategy must keep.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from modelship.deploy._errors import SlotInUse, SlotNotFound
from modelship.deploy._lock import ProcessRolloutLock
from modelship.deploy._protocol import (
    DeployerCapabilities,
    DeployerState,
    SlotHealth,
    SlotState,
    check_weights,
)
from modelship.errors import ModelshipError

if TYPE_CHECKING:
    from modelship.deploy._spec import DeploymentSpec
    from modelship.registry import Registry

__all__ = [
    "DeployerCall",
    "Fault",
    "FaultEffect",
    "InjectedFault",
    "InMemoryDeployer",
    "ManualClock",
]

OPS = ("apply", "wait_ready", "set_traffic", "health", "remove", "state")


class InjectedFault(ModelshipError):
    """Raised by :class:`InMemoryDeployer` where a :class:`Fault` said to raise.

    Examples
    --------
    >>> dep = InMemoryDeployer(faults=(Fault("state"),))
    >>> dep.state()
    Traceback (most recent call last):
    ...
    modelship.testing.InjectedFault: injected fault: state() raised
    """


class ManualClock:
    """A clock that only moves when slept on (or :meth:`advance`\\ d): tests take no time.

    Examples
    --------
    >>> clock = ManualClock()
    >>> clock.sleep(600); clock.monotonic()
    600.0
    >>> clock.wall().isoformat()
    '2026-01-01T00:10:00+00:00'
    """

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)) -> None:
        self._start = start
        self._now = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Seconds slept so far."""
        return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` (at once)."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (negative values are ignored)."""
        with self._lock:
            self._now += max(0.0, float(seconds))

    def wall(self) -> datetime:
        """The start time plus the seconds slept."""
        return self._start + timedelta(seconds=self._now)


class FaultEffect(enum.Enum):
    """What an injected fault does.

    ``RAISE``: the call raises :class:`InjectedFault` before doing anything.
    ``NEVER_READY``: the slot the call started never becomes ready.
    ``UNHEALTHY``: the matching slot answers health checks as unhealthy from then on.
    ``KILL``: the matching slot's process dies (not ready, unhealthy; its weight stays).

    Examples
    --------
    >>> FaultEffect("kill")
    <FaultEffect.KILL: 'kill'>
    """

    RAISE = "raise"
    NEVER_READY = "never_ready"
    UNHEALTHY = "unhealthy"
    KILL = "kill"


@attrs.frozen
class Fault:
    """A fault fired by a call: on ``op``, about ``slot`` and/or ``version`` if given.

    Effects other than ``RAISE`` happen after the call completed, to the slot holding
    ``version`` (or the slot named, or the slot the call is about). ``skip`` matching
    calls pass first; then ``times`` calls fire it (None: every later matching call).

    Examples
    --------
    >>> fault = Fault("set_traffic", FaultEffect.UNHEALTHY, version="2")
    >>> fault.effect, fault.times
    (<FaultEffect.UNHEALTHY: 'unhealthy'>, 1)
    """

    op: str = attrs.field(validator=attrs.validators.in_(OPS))
    effect: FaultEffect = attrs.field(default=FaultEffect.RAISE, converter=FaultEffect)
    slot: str | None = None
    version: str | None = None
    times: int | None = 1
    skip: int = 0


@attrs.frozen
class DeployerCall:
    """One logged call: the operation, its arguments, the state around it, any error.

    Examples
    --------
    >>> dep = InMemoryDeployer()
    >>> dep.apply("blue", "fraud", "1")
    >>> call = dep.calls[-1]
    >>> call.op, call.before.slots, call.after.slot("blue").version
    ('apply', (), '1')
    """

    op: str
    args: tuple[Any, ...]
    before: DeployerState
    after: DeployerState
    error: str | None = None


@attrs.define
class _Slot:
    model: str
    version: str
    weight: int = 0
    ready: bool = False
    ready_at: float = 0.0
    never_ready: bool = False
    healthy: bool = True


class InMemoryDeployer:
    """A :class:`~modelship.deploy.Deployer` in memory, with injectable faults.

    Parameters
    ----------
    registry
        The registry versions are "served" from (None: no alias moves, history in memory).
    clock
        Time for ``wait_ready`` (it sleeps on this clock); a :class:`ManualClock` by default.
    startup_seconds
        How long a slot takes to become ready after ``apply``.
    capabilities
        What the double declares; with ``exact_weights=False`` traffic is split by
        ``replicas`` replicas (weights rounded to multiples of ``100 / replicas``).
    faults
        Faults to inject (see :meth:`inject`).

    Examples
    --------
    >>> dep = InMemoryDeployer()
    >>> dep.apply("blue", "fraud", "1"); dep.wait_ready("blue", 10)
    True
    >>> dep.set_traffic({"blue": 100}); dep.state().serving().version
    '1'
    >>> dep.inject(Fault("apply", FaultEffect.NEVER_READY, version="2"))
    >>> dep.apply("green", "fraud", "2"); dep.wait_ready("green", 30)
    False
    >>> dep.violations()
    []
    """

    def __init__(  # noqa: PLR0913 - test double constructor: keyword-only clock, timing, capability and fault options
        self,
        registry: Registry | None = None,
        *,
        clock: ManualClock | None = None,
        startup_seconds: float = 0.0,
        capabilities: DeployerCapabilities | None = None,
        replicas: int = 4,
        faults: tuple[Fault, ...] = (),
    ) -> None:
        self.registry = registry
        self.clock = clock if clock is not None else ManualClock()
        self.startup_seconds = startup_seconds
        self.capabilities = capabilities if capabilities is not None else DeployerCapabilities()
        self.replicas = replicas
        self.calls: list[DeployerCall] = []
        self._faults: list[list[Any]] = []
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.RLock()
        self._rollouts = ProcessRolloutLock("this InMemoryDeployer")
        for fault in faults:
            self.inject(fault)

    def __repr__(self) -> str:
        return f"InMemoryDeployer({len(self._slots)} slots)"

    def rollout_lock(self, holder: str) -> AbstractContextManager[None]:
        """One rollout at a time (:class:`~modelship.deploy.LocksRollouts`), per double."""
        return self._rollouts.hold(holder)

    # --- faults -------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Add ``fault``; it fires on matching calls until used ``fault.times`` times."""
        with self._lock:
            self._faults.append([fault, fault.times, fault.skip])

    def clear_faults(self) -> None:
        """Forget every injected fault that has not fired yet."""
        with self._lock:
            self._faults.clear()

    def kill(self, slot: str) -> None:
        """Kill ``slot``'s process now: it turns not ready and unhealthy."""
        with self._lock:
            self._slots[slot].ready = False
            self._slots[slot].healthy = False

    def _matching(self, op: str, about: tuple[str, ...]) -> list[Fault]:
        fired = []
        for entry in self._faults:
            fault, left, skip = entry
            if fault.op != op or left == 0:
                continue
            if fault.slot is not None and fault.slot not in about:
                continue
            if (
                fault.version is not None
                and not any(
                    s in self._slots and self._slots[s].version == fault.version for s in about
                )
                and not (op == "apply" and fault.version in about)
            ):
                continue
            if skip > 0:
                entry[2] = skip - 1
                continue
            if left is not None:
                entry[1] = left - 1
            fired.append(fault)
        return fired

    def _targets(self, fault: Fault, about: tuple[str, ...]) -> list[str]:
        if fault.version is not None:
            return [n for n, s in self._slots.items() if s.version == fault.version]
        if fault.slot is not None:
            return [fault.slot] if fault.slot in self._slots else []
        return [n for n in about if n in self._slots]

    def _run(self, op: str, args: tuple[Any, ...], about: tuple[str, ...], body: Any) -> Any:
        with self._lock:
            before = self._snapshot()
            fired = self._matching(op, about)
            if any(f.effect is FaultEffect.RAISE for f in fired):
                self.calls.append(DeployerCall(op, args, before, before, "InjectedFault"))
                raise InjectedFault(f"injected fault: {op}{args} raised")
            try:
                result = body()
            except Exception as exc:
                self.calls.append(
                    DeployerCall(op, args, before, self._snapshot(), type(exc).__name__)
                )
                raise
            self.calls.append(DeployerCall(op, args, before, self._snapshot()))
            effects = [f for f in fired if f.effect is not FaultEffect.RAISE]
            if effects:
                hit = self._snapshot()
                for fault in effects:
                    self._strike(fault, about)
                # Logged as its own entry: what a fault does is not the caller's doing.
                self.calls.append(DeployerCall("fault", tuple(effects), hit, self._snapshot()))
            return result

    def _strike(self, fault: Fault, about: tuple[str, ...]) -> None:
        for name in self._targets(fault, about):
            slot = self._slots[name]
            if fault.effect is FaultEffect.NEVER_READY:
                slot.never_ready, slot.ready = True, False
            elif fault.effect is FaultEffect.UNHEALTHY:
                slot.healthy = False
            elif fault.effect is FaultEffect.KILL:
                slot.ready, slot.healthy = False, False

    # --- the protocol -------------------------------------------------------------------

    def apply(
        self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
    ) -> None:
        """Start ``version`` in ``slot`` (ready after ``startup_seconds``), with no traffic.

        Raises :class:`~modelship.deploy.SlotInUse` if the slot receives traffic.
        """

        def body() -> None:
            old = self._slots.get(slot)
            if old is not None and old.weight > 0:
                raise SlotInUse(
                    f"slot {slot!r} receives {old.weight}% of traffic; move its "
                    "traffic before replacing its version"
                )
            self._slots[slot] = _Slot(
                model,
                str(version),
                ready_at=self.clock.monotonic() + self.startup_seconds,
            )
            self._refresh()

        self._run("apply", (slot, model, version), (slot, str(version)), body)

    def wait_ready(self, slot: str, timeout: float) -> bool:
        """Sleep on the clock until ``slot`` is ready or ``timeout`` passed."""

        def body() -> bool:
            s = self._get(slot)
            if s.ready:
                return True
            if s.never_ready or not s.healthy:
                self.clock.sleep(timeout)
                return False
            wait = s.ready_at - self.clock.monotonic()
            if wait > timeout:
                self.clock.sleep(timeout)
                return False
            self.clock.sleep(wait)
            self._refresh()
            return s.ready

        return bool(self._run("wait_ready", (slot, timeout), (slot,), body))

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        """Apply the split (rounded to whole replicas when weights are not exact)."""
        checked = check_weights(weights)

        def body() -> None:
            for name in checked:
                self._get(name)
            applied = checked if self.capabilities.exact_weights else self._approximate(checked)
            for name, s in self._slots.items():
                s.weight = applied.get(name, 0)

        about = tuple(n for n, w in checked.items() if w > 0)
        self._run("set_traffic", (dict(checked),), about, body)

    def _approximate(self, weights: dict[str, int]) -> dict[str, int]:
        unit = 100 // self.replicas
        out = {n: max(unit, round(w / unit) * unit) if w > 0 else 0 for n, w in weights.items()}
        if out:
            top = max(out, key=lambda n: out[n])
            out[top] += 100 - sum(out.values())
        return out

    def health(self, slot: str) -> SlotHealth:
        """Healthy unless killed or made unhealthy by a fault."""

        def body() -> SlotHealth:
            s = self._get(slot)
            return SlotHealth(True, "ok") if s.healthy else SlotHealth(False, "injected: down")

        result: SlotHealth = self._run("health", (slot,), (slot,), body)
        return result

    def remove(self, slot: str) -> None:
        """Remove ``slot``; :class:`SlotInUse` if it still has traffic."""

        def body() -> None:
            s = self._slots.get(slot)
            if s is not None and s.weight > 0:
                raise SlotInUse(
                    f"slot {slot!r} still receives {s.weight}% of traffic; "
                    "move its traffic before removing it"
                )
            self._slots.pop(slot, None)

        self._run("remove", (slot,), (slot,), body)

    def state(self) -> DeployerState:
        """Every slot, ordered by name."""
        result: DeployerState = self._run("state", (), tuple(self._slots), self._snapshot)
        return result

    # --- helpers ------------------------------------------------------------------------

    def _get(self, slot: str) -> _Slot:
        try:
            return self._slots[slot]
        except KeyError:
            raise SlotNotFound(f"no slot {slot!r}; slots: {sorted(self._slots)}") from None

    def _refresh(self) -> None:
        now = self.clock.monotonic()
        for s in self._slots.values():
            if not s.never_ready and s.healthy and now >= s.ready_at:
                s.ready = True

    def _snapshot(self) -> DeployerState:
        self._refresh()
        return DeployerState(
            tuple(
                SlotState(n, s.model, s.version, s.weight, s.ready)
                for n, s in sorted(self._slots.items())
            )
        )

    def violations(self, *, allow_stop: bool = False) -> list[str]:
        """Each logged call that broke a rule every strategy must keep.

        * traffic moved to a slot that was not ready;
        * a serving slot was replaced by ``apply``;
        * a call left no ready slot receiving traffic although one had been before and a
          ready slot existed (``allow_stop`` excuses ``set_traffic({})``, which
          :class:`~modelship.deploy.Recreate` sends on purpose).
        """
        found = []
        for n, call in enumerate(self.calls):
            if call.error is not None or call.op not in ("set_traffic", "apply", "remove"):
                continue
            if call.op == "set_traffic":
                for slot, weight in call.args[0].items():
                    before = call.before.slot(slot)
                    if weight > 0 and (before is None or not before.ready):
                        found.append(f"call {n}: traffic to {slot}, which was not ready")
            if call.op == "apply":
                before = call.before.slot(call.args[0])
                if before is not None and before.weight > 0 and before.ready:
                    found.append(f"call {n}: apply replaced {call.args[0]}, which served")
            stopped = allow_stop and call.op == "set_traffic" and not call.args[0]
            had = call.before.serving() is not None
            if (
                had
                and call.after.serving() is None
                and not stopped
                and any(s.ready for s in call.after.slots)
            ):
                found.append(f"call {n}: {call.op}{call.args} left no ready slot serving")
        return found
