"""An in-memory :class:`~modelship.deploy.Deployer` with faults injectable at every step.

Use it to test code that deploys (a pipeline, a custom gate, a CLI) without processes,
and to prove that a strategy keeps its invariants when the platform misbehaves: every
call is logged with the state before and after, and :meth:`InMemoryDeployer.violations`
lists each call that broke one of the rules every strategy must keep.

The double answers as the real deployers do where they agree: it refuses a slot past
``max_slots`` (:class:`~modelship.errors.ConfigError`, as
:class:`~modelship.deploy.kubernetes.KubernetesDeployer`), a version its registry does
not have never becomes ready, a dead slot's ``wait_ready`` answers False at once, and
after :meth:`InMemoryDeployer.close` it refuses to start or route anything, as
:class:`~modelship.deploy.local.LocalDeployer` does.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from modelship._names import check_model_name, check_version
from modelship._params import Constraints, Interval, Options, check, check_parameters
from modelship.deploy._clock import Clock
from modelship.deploy._errors import DeployError, SlotInUse, SlotNotFound
from modelship.deploy._lock import ProcessRolloutLock
from modelship.deploy._protocol import (
    DeployerCapabilities,
    DeployerState,
    SlotHealth,
    SlotState,
    check_weights,
)
from modelship.errors import ConfigError, InvalidParameter, ModelshipError
from modelship.registry import Registry

if TYPE_CHECKING:
    from modelship.deploy._spec import DeploymentSpec

__all__ = [
    "DeployerCall",
    "Fault",
    "FaultEffect",
    "InjectedFault",
    "InMemoryDeployer",
    "ManualClock",
]

OPS = ("apply", "wait_ready", "set_traffic", "health", "remove", "state")
_REFUSED_WHEN_CLOSED = ("apply", "set_traffic")  # as LocalDeployer: the rest find no slot
_SECONDS = Interval(float, None, None)
# wait_ready sleeps a timeout in at most this many steps (and none shorter than
# LocalDeployer's poll), the lock released in between: a slot killed or removed meanwhile
# is seen within one step, and a test on a ManualClock takes a bounded number of them.
_WAIT_STEPS = 64
_SHORTEST_STEP = 0.05
_T = TypeVar("_T")


class InjectedFault(DeployError):
    """Raised by :class:`InMemoryDeployer` where a :class:`Fault` said to raise.

    A :class:`~modelship.deploy.DeployError`, as the errors of real deployers are.

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

    ``start`` is the wall-clock time at 0 s, a timezone-aware datetime as
    :meth:`~modelship.deploy.SystemClock.wall` gives; anything else raises
    :class:`~modelship.errors.ConfigError`, as do seconds that are not a finite number.

    Examples
    --------
    >>> clock = ManualClock()
    >>> clock.sleep(600); clock.monotonic()
    600.0
    >>> clock.wall().isoformat()
    '2026-01-01T00:10:00+00:00'
    >>> from datetime import datetime
    >>> ManualClock(datetime(2026, 1, 1))
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: start=datetime.datetime(2026, 1, 1, 0, 0) is not ...
    """

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)) -> None:
        if not isinstance(start, datetime) or start.utcoffset() is None:
            raise InvalidParameter(
                "start", start, "a timezone-aware datetime, e.g. datetime(2026, 1, 1, tzinfo=UTC)"
            )
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
        """Move the clock forward by ``seconds`` (negative values are ignored, as
        :meth:`~modelship.deploy.SystemClock.sleep` ignores them)."""
        check("seconds", seconds, _SECONDS)
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

    A call is about the slots it names; ``set_traffic`` also about each slot it takes
    traffic from. Effects other than ``RAISE`` happen after the call completed, to the
    slot holding ``version`` (or the slot named, or the slot the call is about); a call
    that raises fires none of them, and they wait for the next matching call. ``skip``
    matching calls pass first; then ``times`` calls fire it (None: every later matching
    call). When several ``RAISE`` faults match a call, the first injected fires.
    ``times`` must be None or an int >= 1 and ``skip`` an int >= 0
    (:class:`~modelship.errors.ConfigError` otherwise).

    Examples
    --------
    >>> fault = Fault("set_traffic", FaultEffect.UNHEALTHY, version="2")
    >>> fault.effect, fault.times
    (<FaultEffect.UNHEALTHY: 'unhealthy'>, 1)
    >>> Fault("state", times=-1)
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: times=-1 is not allowed; times must be None or an int >= 1
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "op": Options(OPS),
        "effect": Options(FaultEffect),
        "times": (None, Interval(int, 1, None)),
        "skip": Interval(int, 0, None),
    }
    __attrs_pre_init__ = check_parameters

    op: str
    effect: FaultEffect = attrs.field(default=FaultEffect.RAISE, converter=FaultEffect)
    slot: str | None = None
    version: str | None = None
    times: int | None = 1
    skip: int = 0


def _check_fault(fault: object) -> None:
    """Refuse anything but a :class:`Fault` (a bare op name is a common slip)."""
    if not isinstance(fault, Fault):
        raise ConfigError(
            f"a fault must be a Fault, such as Fault('apply', FaultEffect.NEVER_READY), got "
            f"{type(fault).__name__} {fault!r}"
        )


@attrs.define
class _Injected:
    """An injected fault and what is left of it."""

    fault: Fault
    left: int | None
    skip: int

    def spend(self) -> bool:
        """Use one firing; False if none is left (another call used the last meanwhile)."""
        if self.left == 0:
            return False
        if self.left is not None:
            self.left -= 1
        return True


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
    dead: str | None = None  # why the slot's process is not running (None: it runs)


class InMemoryDeployer:
    """A :class:`~modelship.deploy.Deployer` in memory, with injectable faults.

    Parameters
    ----------
    registry
        The registry versions are "served" from: a version it cannot give (no such model
        or version, archived) starts a slot that never becomes ready and whose health
        says why, as a real server that exits at start. None: every version starts.
    clock
        Time for ``wait_ready`` (it sleeps on this clock); a :class:`ManualClock` by default.
    startup_seconds
        How long a slot takes to become ready after ``apply`` (a finite float >= 0).
    capabilities
        What the double declares, and keeps: ``apply`` of a slot beyond ``max_slots``
        raises :class:`~modelship.errors.ConfigError`. With ``exact_weights=False``
        traffic is split among ``replicas`` replicas (an int from 1 to 100): each slot
        gets whole replicas by largest remainder; a slot given traffic but no replica
        gets one from the slot with the most (as a canary on Kubernetes gets at least
        one) where that leaves the larger share more replicas than the smaller; a
        larger share never gets fewer replicas than a smaller one.
    faults
        Faults to inject (see :meth:`inject`): a tuple of :class:`Fault`.

    A parameter of the wrong kind (a registry URL instead of a
    :class:`~modelship.registry.Registry`, a mapping for ``capabilities``, a number for
    ``clock``, anything but :class:`Fault` objects in ``faults``) raises
    :class:`~modelship.errors.ConfigError` here, not when first used.

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

    Closed (or left with ``with``), it stops every slot and refuses new work:

    >>> with InMemoryDeployer() as dep:
    ...     dep.apply("blue", "fraud", "1")
    >>> dep.apply("blue", "fraud", "1")
    Traceback (most recent call last):
    ...
    modelship.deploy.DeployError: this InMemoryDeployer is closed; create a new one
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
        check("startup_seconds", startup_seconds, Interval(float, 0, None))
        check("replicas", replicas, Interval(int, 1, 100))
        if registry is not None and not isinstance(registry, Registry):
            raise ConfigError(
                f"registry must be a Registry or None, got {type(registry).__name__}; for a "
                "folder or URL, pass ms.open_registry(path)"
            )
        check("clock", clock, None, Clock)
        check("capabilities", capabilities, None, DeployerCapabilities)
        if isinstance(faults, (str, bytes)) or not isinstance(faults, Iterable):
            raise ConfigError(
                f"faults must be a tuple of Fault, such as (Fault('apply'),), got "
                f"{type(faults).__name__} {faults!r}"
            )
        faults = tuple(faults)
        for fault in faults:
            _check_fault(fault)
        self.registry = registry
        self.clock = clock if clock is not None else ManualClock()
        self.startup_seconds = startup_seconds
        self.capabilities = capabilities if capabilities is not None else DeployerCapabilities()
        self.replicas = replicas
        self.calls: list[DeployerCall] = []
        self._faults: list[_Injected] = []
        self._slots: dict[str, _Slot] = {}
        self._closed = False
        self._lock = threading.RLock()
        self._rollouts = ProcessRolloutLock("this InMemoryDeployer")
        for fault in faults:
            self.inject(fault)

    def __repr__(self) -> str:
        return f"InMemoryDeployer({len(self._slots)} slots)"

    def __enter__(self) -> InMemoryDeployer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every slot; ``apply`` and ``set_traffic`` then raise
        :class:`~modelship.deploy.DeployError`, as after ``LocalDeployer.close()``.
        Idempotent."""
        with self._lock:
            self._closed = True
            self._slots.clear()

    def rollout_lock(self, holder: str) -> AbstractContextManager[None]:
        """One rollout at a time (:class:`~modelship.deploy.LocksRollouts`), per double."""
        return self._rollouts.hold(holder)

    # --- faults -------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Add ``fault``; it fires on matching calls until used ``fault.times`` times.

        Anything but a :class:`Fault` raises :class:`~modelship.errors.ConfigError`.
        """
        _check_fault(fault)
        with self._lock:
            self._faults.append(_Injected(fault, fault.times, fault.skip))

    def clear_faults(self) -> None:
        """Forget every injected fault that has not fired yet."""
        with self._lock:
            self._faults.clear()

    def kill(self, slot: str) -> None:
        """Kill ``slot``'s process now: it turns not ready and unhealthy.

        Raises :class:`~modelship.deploy.SlotNotFound` if there is no such slot.
        """
        with self._lock:
            self._die(self._get(slot), "injected: down")

    def _matches(self, fault: Fault, op: str, about: tuple[str, ...]) -> bool:
        if fault.op != op or (fault.slot is not None and fault.slot not in about):
            return False
        return (
            fault.version is None
            or any(s in self._slots and self._slots[s].version == fault.version for s in about)
            or (op == "apply" and fault.version in about)
        )

    def _arm(self, op: str, about: tuple[str, ...]) -> tuple[_Injected | None, list[_Injected]]:
        """The fault that makes this call raise (the first injected), and those whose
        effects strike if it completes. Every matching fault counts it as a call to skip."""
        raising: _Injected | None = None
        effects: list[_Injected] = []
        for entry in self._faults:
            if entry.left == 0 or not self._matches(entry.fault, op, about):
                continue
            if entry.skip > 0:
                entry.skip -= 1
            elif entry.fault.effect is not FaultEffect.RAISE:
                effects.append(entry)
            elif raising is None:
                raising = entry
        return raising, effects

    def _targets(self, fault: Fault, about: tuple[str, ...]) -> list[str]:
        if fault.version is not None:
            return [n for n, s in self._slots.items() if s.version == fault.version]
        if fault.slot is not None:
            return [fault.slot] if fault.slot in self._slots else []
        return [n for n in about if n in self._slots]

    def _run(  # noqa: PLR0913 - the call, its fault matching and how its body locks
        self,
        op: str,
        args: tuple[Any, ...],
        about: tuple[str, ...],
        body: Callable[[], _T],
        *,
        targets: tuple[str, ...] | None = None,
        locks_itself: bool = False,
    ) -> _T:
        """Run ``body`` as the call ``op``: faults, then the body, the log, the effects.

        ``about`` decides which faults match; ``targets`` (default ``about``) which slots
        a fault that names neither slot nor version strikes. The body runs with the lock
        held unless it ``locks_itself`` (``wait_ready``, which must sleep without it).
        """
        with self._lock:
            before = self._snapshot()
            if self._closed and op in _REFUSED_WHEN_CLOSED:
                self.calls.append(DeployerCall(op, args, before, before, "DeployError"))
                raise DeployError("this InMemoryDeployer is closed; create a new one")
            raising, effects = self._arm(op, about)
            if raising is not None:
                raising.spend()
                self.calls.append(DeployerCall(op, args, before, before, "InjectedFault"))
                raise InjectedFault(f"injected fault: {op}{args} raised")
            strike = about if targets is None else targets
            if not locks_itself:
                return self._complete(op, args, before, body, effects=effects, targets=strike)
        return self._complete(op, args, before, body, effects=effects, targets=strike)

    def _complete(  # noqa: PLR0913 - the pieces of one call that _run gathered
        self,
        op: str,
        args: tuple[Any, ...],
        before: DeployerState,
        body: Callable[[], _T],
        *,
        effects: list[_Injected],
        targets: tuple[str, ...],
    ) -> _T:
        try:
            result = body()
        except Exception as exc:
            with self._lock:
                self.calls.append(
                    DeployerCall(op, args, before, self._snapshot(), type(exc).__name__)
                )
            raise
        with self._lock:
            self.calls.append(DeployerCall(op, args, before, self._snapshot()))
            fired = tuple(entry.fault for entry in effects if entry.spend())
            if fired:
                hit = self._snapshot()
                for fault in fired:
                    self._strike(fault, targets)
                # Logged as its own entry: what a fault does is not the caller's doing.
                self.calls.append(DeployerCall("fault", fired, hit, self._snapshot()))
        return result

    def _strike(self, fault: Fault, about: tuple[str, ...]) -> None:
        for name in self._targets(fault, about):
            slot = self._slots[name]
            if fault.effect is FaultEffect.NEVER_READY:
                slot.never_ready, slot.ready = True, False
            elif fault.effect is FaultEffect.UNHEALTHY:
                slot.healthy = False
            elif fault.effect is FaultEffect.KILL:
                self._die(slot, "injected: down")

    # --- the protocol -------------------------------------------------------------------

    def apply(
        self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
    ) -> None:
        """Start ``version`` in ``slot`` (ready after ``startup_seconds``), with no traffic.

        Raises :class:`~modelship.deploy.SlotInUse` if the slot receives traffic,
        :class:`~modelship.errors.ConfigError` for a new slot beyond ``max_slots`` or a
        slot that is not a non-empty string, and :class:`~modelship.errors.InvalidName`
        for a model name or version the registry would refuse (``'latest'``, an
        ``'@alias'``, ``''``, ``'../etc'``, not text), as the real deployers do; an
        int version >= 1 is taken as its text.
        """
        if not isinstance(slot, str) or not slot:
            raise ConfigError(f"slot must be a non-empty string, such as 'blue', got {slot!r}")
        model = check_model_name(model)
        version = check_version(version)

        def body() -> None:
            old = self._slots.get(slot)
            if old is not None and old.weight > 0:
                raise SlotInUse(
                    f"slot {slot!r} receives {old.weight}% of traffic; move its "
                    "traffic before replacing its version"
                )
            if old is None and len(self._slots) >= self.capabilities.max_slots:
                raise ConfigError(
                    f"this InMemoryDeployer already has slots {sorted(self._slots)}; remove "
                    f"one before starting {slot!r} (at most {self.capabilities.max_slots})"
                )
            started = _Slot(model, version, ready_at=self.clock.monotonic() + self.startup_seconds)
            cannot = self._cannot_serve(model, version)
            if cannot is not None:
                self._die(started, cannot)
            self._slots[slot] = started
            self._refresh()

        self._run("apply", (slot, model, version), (slot, version), body)

    def _cannot_serve(self, model: str, version: str) -> str | None:
        """Why the registry cannot give ``version`` of ``model`` (None: it can, or no registry)."""
        if self.registry is None:
            return None
        try:
            self.registry.get(model, version)
        except ModelshipError as exc:
            return f"the server exited: {model} {version} is not in the registry: {exc}"
        return None

    def wait_ready(self, slot: str, timeout: float) -> bool:
        """Sleep on the clock until ``slot`` is ready or ``timeout`` passed.

        A slot whose process is dead (killed, or its version not in the registry) answers
        False at once. The lock is not held while sleeping.
        """
        check("timeout", timeout, _SECONDS)

        def body() -> bool:
            with self._lock:
                waited = self._get(slot)
                deadline = self.clock.monotonic() + max(0.0, timeout)
                step = max(_SHORTEST_STEP, timeout / _WAIT_STEPS)
            for _ in range(2 * _WAIT_STEPS + 2):
                with self._lock:
                    self._refresh()
                    if self._slots.get(slot) is not waited or waited.dead is not None:
                        return False  # removed or replaced meanwhile, or its process died
                    if waited.ready:
                        return True
                    now = self.clock.monotonic()
                    if now >= deadline:
                        return False
                    pause = min(step, deadline - now)
                    if not waited.never_ready and waited.healthy:
                        pause = min(pause, waited.ready_at - now)
                self.clock.sleep(pause)
            return False

        return self._run("wait_ready", (slot, timeout), (slot,), body, locks_itself=True)

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        """Apply the split (rounded to whole replicas when weights are not exact)."""
        checked = check_weights(weights)

        def body() -> None:
            for name in checked:
                self._get(name)
            applied = checked if self.capabilities.exact_weights else self._approximate(checked)
            for name, s in self._slots.items():
                s.weight = applied.get(name, 0)

        receiving = tuple(n for n, w in checked.items() if w > 0)
        with self._lock:
            drained = tuple(
                n
                for n in [*checked, *self._slots]
                if n not in receiving and (n in checked or self._slots[n].weight > 0)
            )
            about = receiving + tuple(dict.fromkeys(drained))
            self._run("set_traffic", (dict(checked),), about, body, targets=receiving)

    def _approximate(self, weights: dict[str, int]) -> dict[str, int]:
        """The split ``self.replicas`` replicas give ``weights`` (which sum to 100)."""
        total = self.replicas
        live = sorted((n for n, w in weights.items() if w > 0), key=lambda n: (-weights[n], n))
        counts = {n: weights[n] * total // 100 for n in live}
        by_remainder = sorted(live, key=lambda n: (-(weights[n] * total % 100), -weights[n], n))
        for name in by_remainder[: total - sum(counts.values())]:
            counts[name] += 1
        for name in live:  # larger shares first: each share left without a replica
            most = max(counts.values())
            donor = [n for n in live if counts[n] == most][-1]  # the smallest such share
            # gets one from the slot with the most, unless that left a larger share no
            # more replicas than this one (5% of 2 replicas is none, never half)
            if counts[name] == 0 and (most >= 3 or weights[donor] == weights[name]):
                counts[donor] -= 1
                counts[name] = 1
        out = {n: counts.get(n, 0) * 100 // total for n in weights}
        if live:
            out[live[0]] += 100 - sum(out.values())
        return out

    def health(self, slot: str) -> SlotHealth:
        """Healthy unless killed, made unhealthy by a fault, or not in the registry."""

        def body() -> SlotHealth:
            s = self._get(slot)
            if s.dead is not None:
                return SlotHealth(False, s.dead)
            return SlotHealth(True, "ok") if s.healthy else SlotHealth(False, "injected: down")

        return self._run("health", (slot,), (slot,), body)

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
        with self._lock:
            return self._run("state", (), tuple(self._slots), self._snapshot)

    # --- helpers ------------------------------------------------------------------------

    def _get(self, slot: str) -> _Slot:
        try:
            return self._slots[slot]
        except KeyError:
            raise SlotNotFound(f"no slot {slot!r}; slots: {sorted(self._slots)}") from None

    @staticmethod
    def _die(slot: _Slot, why: str) -> None:
        slot.ready, slot.healthy, slot.dead = False, False, why

    def _refresh(self) -> None:
        now = self.clock.monotonic()
        for s in self._slots.values():
            if not s.never_ready and s.healthy and s.dead is None and now >= s.ready_at:
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
