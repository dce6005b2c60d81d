"""Deployment strategies, written once against the :class:`Deployer` protocol.

Each strategy keeps one invariant at every step and every failure: traffic never moves
to a slot before the deployer reports it ready, nothing is scaled down before the slot
that replaces it is ready and serving, and an abort sends all traffic back to the slot
that was serving before (still at full size, never touched). Every decision is recorded
in the :class:`Rollout`'s history; the registry alias moves only after the switch
succeeded and the new slot answered a health check behind it, and a rollout succeeds only
once it moved (an alias the store refuses to move aborts the rollout). Every strategy runs
its ``gate`` before promotion: only a pass promotes. A :class:`Canary`'s first deploy
(nothing serving) is the exception: with no traffic to split and nothing to compare with,
it skips its steps and its gate, and its history says so.

:class:`Recreate` is the one exception by design: it stops the serving version before
starting the new one (for models that cannot run twice side by side), and says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import reprlib
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

import attrs
import numpy as np

from modelship._json import canonical_json
from modelship._params import Constraints, Interval, Text, check_parameters
from modelship._shown import brief
from modelship.deploy._clock import Clock, SystemClock
from modelship.deploy._errors import DeployError
from modelship.deploy._gates import (
    MAX_SECONDS,
    POSITIVE_SECONDS,
    Decision,
    Gate,
    GatePolicy,
    GateResult,
    GateTally,
    Verdict,
)
from modelship.deploy._history import DeploymentHistory, InMemoryHistory, RegistryHistory
from modelship.deploy._lock import exclusive, runner
from modelship.deploy._protocol import (
    Deployer,
    DeployerCapabilities,
    DeployerState,
    SlotHealth,
    SlotState,
)
from modelship.deploy._quantity import BINARY_SI, DECIMAL_SI, Quantity
from modelship.deploy._rollout import (
    EventKind,
    Rollout,
    RolloutAborted,
    RolloutEvent,
    RolloutRecord,
    RolloutStatus,
    close_replaced_window,
    describe_traffic,
    last_error,
    read_state_before,
    same_alias,
    stored_records,
)
from modelship.deploy._spec import CanaryStep, DeploymentSpec
from modelship.errors import ConfigError
from modelship.registry import Registry

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:  # mypy ships typing_extensions; nothing imports it at run time
        from typing_extensions import Unpack

__all__ = ["BlueGreen", "Canary", "CanaryStep", "Recreate", "from_spec"]

SLOTS = ("blue", "green")


def _split(live: Iterable[SlotState]) -> str:
    """The slots a split sends traffic to, for a message (versions cut to a bounded size)."""
    return ", ".join(
        f"{brief(s.version)} in {s.slot} {s.weight}%" + ("" if s.ready else " (not ready)")
        for s in live
    )


_MAX_EVALUATIONS = 1e9
"""The most evaluations one analysis is bounded by (a clock that never advances)."""


def _alias_name(alias: str) -> str:
    """``alias`` as the registry names it, or a ConfigError saying why it cannot be one."""
    from modelship._names import check_alias
    from modelship.errors import InvalidName

    try:
        return check_alias(alias)
    except InvalidName as exc:
        raise ConfigError(f"alias: {exc}") from None


class StrategyOptions(TypedDict, total=False):
    """The keyword options every strategy takes, as :func:`from_spec` passes them on."""

    gate: Gate | None
    policy: GatePolicy | None
    progress_deadline: float
    undo_window: float
    alias: str | None
    history: DeploymentHistory | None
    clock: Clock | None


_NOT_IN_SLOT = ("strategy", "canary", "monitoring")
"""The keys of a spec's ``deployment`` section that no deployer reads (see :func:`spec_digest`)."""


def spec_digest(spec: DeploymentSpec | None) -> str | None:
    """The digest of ``spec`` a rollout records with each ``apply`` (None for no spec).

    It covers what runs in a slot: what :meth:`DeploymentSpec.to_dict` writes (the
    containers, the replicas, the health check) but the strategy and the canary steps (how
    a version is rolled out) and ``monitoring`` (the rollback policy a watch judges the
    slot by, which no deployer reads); the ``notes`` are not written either. A version
    serving healthy is deployed again by a deploy given a spec only if its slot's last
    recorded apply had another digest (see :meth:`_Strategy._spec_changed`). Specs that
    compare equal digest equal (a quantity counts by its value, ``1Gi`` as ``1024Mi``; a
    duration as a float, ``30`` as ``30.0``), and the order of a container's ``env``
    counts (``$(A)`` expands only from a variable listed before it).

    Examples
    --------
    >>> from modelship.deploy import Container, DeploymentSpec, Monitoring
    >>> one = DeploymentSpec(containers=[Container(name="m", image="m:1", env={"T": "1"})])
    >>> two = DeploymentSpec(containers=[Container(name="m", image="m:1", env={"T": "2"})])
    >>> canary = attrs.evolve(one, strategy="canary", steps=[CanaryStep(10, pause=60)])
    >>> watched = attrs.evolve(one, monitoring=Monitoring(enabled=True, metrics=["error_rate"]))
    >>> spec_digest(one) == spec_digest(canary) == spec_digest(watched)
    True
    >>> spec_digest(one) == spec_digest(two)
    False
    >>> from modelship.deploy import Resources
    >>> def sized(memory):
    ...     limits = Resources(limits={"memory": memory})
    ...     return DeploymentSpec(containers=[Container(name="m", image="m:1", resources=limits)])
    >>> spec_digest(sized("1Gi")) == spec_digest(sized("1024Mi"))
    True
    >>> spec_digest(one)[:7], spec_digest(None)
    ('sha256:', None)
    """
    if spec is None:
        return None
    deployment = spec.to_dict()["deployment"]
    runs = {key: value for key, value in deployment.items() if key not in _NOT_IN_SLOT}
    # to_dict writes a container without a port as "port": null (so that it reads back
    # equal); the digest leaves it out, as to_dict did before, so the digests histories
    # recorded then still match the same spec (a changed digest redeploys).
    runs["containers"] = [
        {
            **{k: v for k, v in written.items() if not (k == "port" and v is None)},
            # By value, not as written: 1Gi and 1024Mi are one amount.
            "resources": {
                kind: {name: _amount(q) for name, q in getattr(container.resources, kind).items()}
                for kind in ("limits", "requests")
            },
            "env": _env_in_order(written["env"]),
        }
        for written, container in zip(runs["containers"], spec.containers, strict=True)
    ]
    return "sha256:" + hashlib.sha256(canonical_json(runs)).hexdigest()


def _env_in_order(env: Mapping[str, str]) -> Mapping[str, str] | list[list[str]]:
    """``env`` in a form that keeps its order: as a mapping when its names are sorted
    (canonical_json sorts a mapping's keys: the form digests recorded before had, so they
    still match), else as ``[name, value]`` pairs, since ``$(A)`` expands only from a
    variable listed before it (a reordering is a change)."""
    names = list(env)
    if names == sorted(names):
        return env
    return [[name, value] for name, value in env.items()]


def _amount(quantity: Quantity) -> str:
    """``quantity`` in a form that depends on its value alone (``str()`` keeps the suffix
    style: ``1Gi`` and ``1073741824`` are one amount written two ways): the shorter of its
    decimal and binary canonical forms, the decimal one on a tie. A quantity written in
    its canonical form (``4Gi``, ``512Mi``, ``1G``, ``500m``) keeps its text, as digests
    recorded before wrote it.

    Examples
    --------
    >>> from modelship.deploy import Quantity
    >>> [_amount(Quantity.parse(t)) for t in ("4Gi", "1024Mi", "1073741824", "1G", "0.5")]
    ['4Gi', '1Gi', '1Gi', '1G', '500m']
    """
    decimal = str(attrs.evolve(quantity, format=DECIMAL_SI, text=""))
    binary = str(attrs.evolve(quantity, format=BINARY_SI, text=""))
    return binary if len(binary) < len(decimal) else decimal


def _short(digest: object) -> str:
    """A spec digest cut for a message (the event's data keeps it whole)."""
    return brief(digest[:19] + "..." if isinstance(digest, str) and len(digest) > 19 else digest)


def _last_spec_of(
    records: Sequence[RolloutRecord], slot: str, alias: str | None
) -> tuple[RolloutRecord, RolloutEvent] | None:
    """The last recorded event that changed or confirmed what runs in ``slot`` (an apply,
    an apply that failed, a removal, a deploy that found it unchanged) among the rollouts
    that moved ``alias`` or do not say which alias they moved (see :func:`same_alias`),
    and its rollout; None if there is none. Another alias's rollouts (another environment
    sharing the history, with slots of its own) are passed over.

    Newest first: bounded by the records given and their events.
    """
    failed_apply = f"apply({slot!r})"
    for record in reversed(records):
        if same_alias(record, alias) is False:
            continue
        for event in reversed(record.events):
            kind, data = event.kind, event.data
            if (
                (kind is EventKind.ERROR and data.get("call") == failed_apply)
                or (kind in (EventKind.APPLIED, EventKind.SCALED_DOWN) and data.get("slot") == slot)
                or (
                    kind is EventKind.SUCCEEDED
                    and data.get("slot") == slot
                    and isinstance(data.get("spec_digest"), str)
                )
            ):
                return record, event
    return None


def _recorded_digest(
    found: tuple[RolloutRecord, RolloutEvent] | None, serving: SlotState, alias: str | None
) -> tuple[str | None, str]:
    """The spec digest that ``found`` (see :func:`_last_spec_of`) records for ``serving``,
    and the rollout that recorded it; or None and why it tells none: no record of the slot,
    a record that does not say its alias, an apply that failed or a removal since, another
    version's apply, or an apply recorded before digests were."""
    slot = serving.slot
    if found is None:
        return None, f"no apply into {slot} by a rollout of alias {alias!r} is recorded"
    record, event = found
    data, by = event.data, f"rollout {record.id}"
    version = record.version if event.kind is EventKind.SUCCEEDED else data.get("version")
    recorded = data.get("spec_digest")
    why = None
    if same_alias(record, alias) is None:
        why = f"{by}, the last to change {slot}, does not record which alias it moved"
    elif event.kind is EventKind.ERROR:
        why = f"an apply into {slot} failed since ({by})"
    elif event.kind is EventKind.SCALED_DOWN:
        why = f"{slot} was removed since ({by})"
    elif version != serving.version:
        why = f"the last apply into {slot} ({by}) was of {brief(version)}"
    elif not isinstance(recorded, str):
        why = f"{by} recorded no spec digest (it was written before they were)"
    return (None, why) if why is not None else (recorded, by)


def _applied_without_spec(
    found: tuple[RolloutRecord, RolloutEvent] | None, serving: SlotState, alias: str | None
) -> bool:
    """Whether ``found`` (see :func:`_last_spec_of`) is an apply of ``serving``'s version,
    by a rollout that says it moved ``alias``, made without a spec: its ``spec_digest`` is
    recorded as None (a record written before digests has no ``spec_digest`` at all)."""
    if found is None:
        return False
    record, event = found
    return (
        event.kind is EventKind.APPLIED
        and "spec_digest" in event.data
        and event.data["spec_digest"] is None
        and event.data.get("version") == serving.version
        and same_alias(record, alias) is True
    )


_KNOWN_SPECS_MAX = 64
"""The most specs :func:`_remember_spec` keeps (the newest): a process deploys a few."""
_known_specs: dict[str, DeploymentSpec] = {}
_known_specs_lock = threading.Lock()


def _remember_spec(spec: DeploymentSpec | None) -> str | None:
    """Keep ``spec``, just applied into a slot, by its digest, and return that digest: a
    :class:`Recreate` that fails starts the version it stopped again with the spec it ran
    with, which the deployment history records only as a digest (a spec's ``env`` may
    hold secrets)."""
    digest = spec_digest(spec)
    if spec is None or digest is None:
        return digest
    with _known_specs_lock:
        _known_specs.pop(digest, None)
        _known_specs[digest] = spec
        while len(_known_specs) > _KNOWN_SPECS_MAX:  # bounded: one over at most
            del _known_specs[next(iter(_known_specs))]
    return digest


def _spec_with_digest(digest: str, *candidates: DeploymentSpec | None) -> DeploymentSpec | None:
    """A spec whose digest is ``digest`` now: one of ``candidates`` or one this process
    applied (see :func:`_remember_spec`); None if none is. The digest is computed again,
    so a spec changed in place since it was kept is not taken for the one applied."""
    with _known_specs_lock:
        kept = _known_specs.get(digest)
    for spec in (*candidates, kept):
        if spec is not None and spec_digest(spec) == digest:
            return spec
    return None


def _check_spec(spec: object) -> None:
    if not isinstance(spec, DeploymentSpec):
        raise ConfigError(
            f"spec must be a DeploymentSpec (DeploymentSpec.from_file(path)), got "
            f"{type(spec).__name__}"
        )


def _check_options(*, spec: Any, gate: Any, policy: Any, history: Any, clock: Any) -> None:
    """Refuse a strategy's objects that are not what it needs, before any deploy (a gate that
    is not callable would otherwise fail once per evaluation, minutes later)."""
    if spec is not None:
        _check_spec(spec)
    if gate is not None and not callable(gate):
        raise ConfigError(
            f"gate must be a callable taking the rollout and answering a Verdict or a "
            f"GateResult (for example ms.monitor.policy_gate(...)), or None; got "
            f"{type(gate).__name__}"
        )
    if policy is not None and not isinstance(policy, GatePolicy):
        raise ConfigError(
            f"policy must be a GatePolicy (for example GatePolicy(deadline=600)) or None, got "
            f"{type(policy).__name__}"
        )
    if history is not None and not isinstance(history, DeploymentHistory):
        raise ConfigError(
            f"history must be a DeploymentHistory (an object with save(record) and "
            f"records(model), such as InMemoryHistory()) or None, got {type(history).__name__}"
        )
    if clock is not None and not isinstance(clock, Clock):
        raise ConfigError(
            f"clock must be a Clock (an object with monotonic(), sleep(seconds) and wall(), "
            f"such as SystemClock()) or None, got {type(clock).__name__}"
        )


def _check_deployer_attributes(deployer: Deployer) -> None:
    """Refuse a deployer whose two attributes are not what strategies read, before any
    deploy (a dict of capabilities would fail half-way through the first one)."""
    name = type(deployer).__name__
    capabilities = getattr(deployer, "capabilities", None)
    if not isinstance(capabilities, DeployerCapabilities):
        raise ConfigError(
            f"deployer: {name}.capabilities must be a DeployerCapabilities (for example "
            f"DeployerCapabilities(max_slots=2)), got {type(capabilities).__name__}"
        )
    registry = getattr(deployer, "registry", None)
    if registry is not None and not isinstance(registry, Registry):
        raise ConfigError(
            f"deployer: {name}.registry must be a Registry (ms.open_registry(url)) or None, "
            f"got {type(registry).__name__}"
        )


def _canary_steps(steps: object) -> tuple[CanaryStep, ...]:
    if isinstance(steps, (str, bytes, Mapping)) or not isinstance(steps, Iterable):
        raise ConfigError(
            f"steps must be a list of CanaryStep, such as [CanaryStep(10, pause=60), "
            f"CanaryStep(50, pause=60)], or None; got {type(steps).__name__}"
        )
    out = tuple(steps)
    for i, step in enumerate(out):
        if not isinstance(step, CanaryStep):
            raise ConfigError(
                f"steps[{i}] must be a CanaryStep, such as CanaryStep(10, pause=60) (10% for "
                f"60 s), got {type(step).__name__}"
            )
    return out


class _Strategy:
    """What every strategy shares: its parameters, the gate loop, abort and promotion."""

    _parameter_constraints: ClassVar[Constraints] = {
        # As GatePolicy's durations: at most MAX_SECONDS (a window of 1e12 s passed the
        # check, then failed after the switch, the record holding its end as a date).
        "progress_deadline": POSITIVE_SECONDS,
        "undo_window": Interval(float, 0, MAX_SECONDS),
        "alias": (None, Text()),
    }

    name: ClassVar[str]

    def __init__(  # noqa: PLR0913 - keyword-only gate, policy, deadline and history options of a public strategy, each documented
        self,
        deployer: Deployer,
        spec: DeploymentSpec | None = None,
        *,
        gate: Gate | None = None,
        policy: GatePolicy | None = None,
        progress_deadline: float = 600.0,
        undo_window: float = 600.0,
        alias: str | None = "production",
        history: DeploymentHistory | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(deployer, Deployer):
            raise ConfigError(
                f"deployer: {type(deployer).__name__} does not implement the Deployer protocol "
                "(apply, wait_ready, set_traffic, health, remove, state, capabilities, registry)"
            )
        _check_deployer_attributes(deployer)
        check_parameters(
            self, progress_deadline=progress_deadline, undo_window=undo_window, alias=alias
        )
        _check_options(spec=spec, gate=gate, policy=policy, history=history, clock=clock)
        self.deployer = deployer
        self.spec = spec
        self.gate = gate
        self.policy = policy if policy is not None else GatePolicy()
        self.progress_deadline = float(progress_deadline)
        self.undo_window = float(undo_window)
        # As the registry names it ("@production" is "production"): checked now, not after
        # traffic moved (a name the registry refuses aborted the rollout after its
        # switch; "@production" made every deploy after the first abort, its alias
        # looked up with the "@" and found naming nothing).
        self.alias = None if alias is None else _alias_name(alias)
        self.clock: Clock = clock if clock is not None else SystemClock()
        # The rollout this strategy started last (and the slot serving before), for the
        # clean-up of a deploy cut short; see _guarded.
        self._started: tuple[Rollout, SlotState | None] | None = None
        # An abort runs (see aborting).
        self._aborting = False
        # The state the deploy under way found (see _serving), and the slot it writes if
        # that slot held the same version ready already and was not applied over since
        # (see _start_slot): an abort keeps that one.
        self._found: DeployerState | None = None
        self._warm: str | None = None
        # The last rollout this strategy promoted: a later deploy that reuses its previous
        # slot closes its undo window (see _close_undo_window).
        self._last: Rollout | None = None
        if history is None:
            registry = deployer.registry
            history = RegistryHistory(registry) if registry is not None else InMemoryHistory()
        self.history = history

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.deployer!r})"

    @property
    def aborting(self) -> bool:
        """Whether a deploy of this strategy is aborting its rollout now: from the moment
        the abort begins (traffic sent back, the new slot drained, which a deployer may
        take minutes to do) until the abort is recorded and returns.

        For a caller that cuts deploys short from a signal handler (``modelship deploy
        apply`` and its ``--for``): cut short now, the abort itself would be, and the
        rollout aborted again as interrupted, its own reason recorded nowhere.

        Examples
        --------
        >>> from modelship.testing import InMemoryDeployer
        >>> BlueGreen(InMemoryDeployer()).aborting
        False
        """
        return self._aborting

    def _aborts(self, rollout: Rollout, stable: SlotState | None, why: str) -> RolloutAborted:
        """:meth:`_abort` (this strategy's), with :attr:`aborting` True while it runs."""
        self._aborting = True
        try:
            return self._abort(rollout, stable, why)
        finally:
            self._aborting = False

    # --- shared steps -------------------------------------------------------------------

    def _resolve(self, model: str, version: str | int) -> str:
        registry = self.deployer.registry
        if registry is None:
            return str(version)
        return registry.get(model, version).version  # "latest", "@staging" -> a version

    def _new(
        self, model: str, version: str, slot: str, stable: SlotState | None, note: str = ""
    ) -> Rollout:
        previous = (stable.slot, stable.version) if stable is not None else None
        found = self._found.slot(slot) if self._found is not None else None
        self._warm = (
            slot
            if found is not None
            and found.ready
            and (found.model, found.version) == (model, version)
            else None
        )
        rollout = Rollout(
            deployer=self.deployer,
            model=model,
            version=version,
            strategy=self.name,
            slot=slot,
            previous=previous,
            clock=self.clock,
            history=self.history,
            alias=self.alias,
            progress_deadline=self.progress_deadline,
            redeploy=self.deploy,
        )
        self._started = (rollout, stable)
        rollout.event(
            EventKind.STARTED,
            f"{self.name}: {model} {version} into {slot}"
            + (f", {stable.version} serving from {stable.slot}" if stable else ", nothing serving")
            + (f"; {note}" if note else ""),
            policy=self.policy.to_dict(),
            progress_deadline=self.progress_deadline,
            undo_window=self.undo_window,
            capabilities=attrs.asdict(self.deployer.capabilities),
            alias=self._moved_alias(),  # which environment's rollout it is: see same_alias
            # Who runs it: a reader can tell a rollout whose process was killed (SIGKILL,
            # a lost machine) from one still running (see runner_gone).
            runner=runner(),
        )
        return rollout

    def _moved_alias(self) -> str | None:
        """The registry alias this strategy's rollouts move: None without an alias or a
        registry."""
        return self.alias if self.deployer.registry is not None else None

    def idle_slot(self, model: str) -> str:
        """The slot a deploy of ``model`` would write now: the idle one (blue for a first
        deploy, the other slot when a dead one still holds the traffic), as the deploy
        chooses it; changes nothing. Traffic split between the slots is a
        :class:`~modelship.deploy.DeployError`: which slot is stable takes the alias a
        deploy moves.

        Examples
        --------
        >>> from modelship.deploy import BlueGreen
        >>> from modelship.testing import InMemoryDeployer
        >>> dep = InMemoryDeployer()
        >>> BlueGreen(dep).idle_slot("fraud")
        'blue'
        >>> _ = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
        >>> BlueGreen(dep).idle_slot("fraud")
        'green'
        """
        stable, _ = self._serving(model, None)
        return self._idle(stable)

    def _serving(
        self, model: str, expected: str | None
    ) -> tuple[SlotState | None, tuple[SlotState, ...]]:
        """The slot serving now (the stable one), and the other slots that still get traffic.

        A deployer serves one model (its slots are one service). Traffic on two slots is a
        split left behind (a canary cut short where the deployer outlives the process, an
        abort whose switch back failed): the slot with the larger share may hold a version
        that never promoted, so the stable slot is the one holding the version the alias
        names (``expected``), else the deploy is refused (:class:`DeployError`), changing
        nothing. Failing here changes nothing: it raises.
        """
        # Before a rollout exists: a failure raises a DeployError (see read_state_before),
        # with no rollout to record it in since nothing began.
        state = read_state_before(self.deployer, f"a {self.name} deploy of {model}")
        self._found = state
        live = [s for s in state.slots if s.weight > 0]
        serving = state.serving()
        for held in live if len(live) > 1 else [serving] if serving is not None else []:
            if held.model != model:
                raise ConfigError(
                    f"{self.deployer!r} serves model {held.model!r}; a deployer is one "
                    f"service, so {model!r} needs a deployer of its own"
                )
        if len(live) < 2:
            return serving, ()
        stable = self._stable_of_split(live, expected)
        return stable, tuple(s for s in live if s.slot != stable.slot)

    def _stable_of_split(self, live: Sequence[SlotState], expected: str | None) -> SlotState:
        named = [s for s in live if s.ready and s.version == expected] if expected else []
        if named:
            return max(named, key=lambda s: (s.weight, s.slot))
        if self.alias is None or self.deployer.registry is None:
            whose = "this deploy moves no registry alias that would tell which one promoted"
        elif expected is None:
            whose = f"the alias {brief(self.alias)} names no version"
        else:
            whose = (
                f"the alias {brief(self.alias)} names {brief(expected)}, held by no ready "
                "slot with traffic"
            )
        raise DeployError(
            f"{self.deployer!r} splits traffic between {_split(live)}: a rollout was cut "
            f"short, or an abort could not send the traffic back, and {whose}, so which slot "
            f"is the stable one is unknown; nothing was changed. Send all traffic to the "
            f"version that should serve first, with deployer.set_traffic({{'<slot of the "
            f"version that should serve>': 100}}), then deploy again"
        )

    def _check_stable_of_split(self, stable: SlotState | None, others: Sequence[SlotState]) -> None:
        """Before a leftover split ends (all traffic back to ``stable``, see
        :meth:`_unsplit`): ``stable`` must answer healthy, else :class:`DeployError`,
        changing nothing (an abort would then leave all the traffic on a slot that does
        not answer)."""
        if stable is None or not others:
            return
        split = _split((stable, *others))
        where = f"{brief(stable.version)} in {stable.slot}, which alias {brief(self.alias)} names"
        then = (
            f"nothing was changed. Make {stable.slot} healthy, or send all traffic to the "
            "version that should serve with deployer.set_traffic({'<slot of the version "
            "that should serve>': 100}), then deploy again"
        )
        cause: Exception | None = None
        try:
            health = self.deployer.health(stable.slot)
        except Exception as exc:
            cause = exc
            answer = f"failed: {type(exc).__name__}: {brief(str(exc))}"
        else:
            if not isinstance(health, SlotHealth):
                answer = f"answered {type(health).__name__}, not a SlotHealth"
            elif not health.healthy:
                detail = f" ({brief(health.detail)})" if health.detail else ""
                answer = f"answered unhealthy{detail}"
            else:
                return
        raise DeployError(
            f"{self.deployer!r} splits traffic between {split}, and the health check of "
            f"{where} (the stable slot all traffic would go back to first) {answer}; {then}"
        ) from cause

    def _start_slot(
        self,
        rollout: Rollout,
        slot: str,
        what: tuple[str, str, DeploymentSpec | None] | None = None,
        note: str = "",
    ) -> str | None:
        """Apply, wait ready, check health; None on success, else why it failed.

        ``what`` is the (model, version, spec) to start; by default the rollout's own,
        with this strategy's spec. ``note`` is added to the ``applied`` event's message.
        """
        dep = self.deployer
        model, version, spec = (
            what if what is not None else (rollout.model, rollout.version, self.spec)
        )

        def why(failed: str, call: str) -> str:
            # What the call raised, as rollout.call recorded it, in the reason itself (the
            # CLI shows the reason, not the history), cut to a bounded length.
            last = rollout.history[-1] if rollout.history else None
            if last is None or last.kind is not EventKind.ERROR or last.data.get("call") != call:
                return failed
            return f"{failed}: {rollout.last_error(call)}"

        call = f"apply({slot!r})"
        ok, _ = rollout.call(call, dep.apply, slot, model, version, spec)
        if not ok:
            return why(f"starting {version} in {slot} failed", call)
        if slot == self._warm:
            # Applied over: the server that held the version ready is replaced by one that
            # has yet to prove itself, which an abort removes as any other.
            self._warm = None
        digest = _remember_spec(spec)
        if what is None:
            self._close_undo_window(rollout, slot)
        rollout.event(
            EventKind.APPLIED,
            f"{version} started in {slot}" + (f" ({note})" if note else ""),
            slot=slot,
            version=version,
            spec_digest=digest,
        )
        started = self.clock.monotonic()
        ok, ready = self._wait_ready(rollout, slot)
        if not ok:
            return why(f"waiting for {slot} to be ready failed", f"wait_ready({slot!r})")
        if not ready:
            return self._not_ready(rollout, slot, self.clock.monotonic() - started)
        rollout.event(EventKind.READY, f"{slot} is ready", slot=slot)
        return self._check_health(rollout, slot)

    def _close_undo_window(self, rollout: Rollout, slot: str) -> None:
        """Once ``slot`` was applied over: the rollout this strategy promoted last, whose
        undo window promised a switch back to the version that slot held, loses that
        promise, and its record is saved so (``undo_until`` the time it closed), as
        :meth:`Rollout.finish` does. Called only after ``apply`` succeeded: a deploy
        refused there replaced nothing, and the window stays open.

        Only that rollout, held in memory, is closed: the deployment history is not read.
        A rollout promoted by another strategy object or process keeps its stored
        ``undo_until`` until its own :meth:`Rollout.finish` or rollback, which look at the
        slots first (once a later rollout serves, the rollback raises
        :class:`RollbackUnavailable`, changing nothing). The save is tried once; a failure
        is recorded in this rollout's history, never raised: this deploy goes on.
        """
        last = self._last
        if last is None or last.model != rollout.model or last.previous_slot != slot:
            return
        self._last = None  # closed once: a later deploy does not look at it again
        if not close_replaced_window(last, rollout.id):
            rollout.event(
                EventKind.ERROR,
                f"the undo window of rollout {last.id} closed ({slot} is reused), but its "
                "record could not be saved; rollout.finish() tries again",
                rollout=last.id,
                slot=slot,
            )

    def _wait_ready(self, rollout: Rollout, slot: str) -> tuple[bool, bool]:
        """``wait_ready(slot)`` within the progress deadline: (the call succeeded, the slot
        is ready). An answer that is not a boolean is a failed call (a truthy object, such
        as a string or a mock, would read as ready)."""
        call = f"wait_ready({slot!r})"
        ok, ready = rollout.call(call, self.deployer.wait_ready, slot, self.progress_deadline)
        if ok and not isinstance(ready, (bool, np.bool_)):
            rollout.event(
                EventKind.ERROR, f"{call} answered {type(ready).__name__}, not a bool", call=call
            )
            return False, False
        return ok, bool(ready)

    def _not_ready(self, rollout: Rollout, slot: str, waited: float) -> str:
        """Why ``slot`` is not ready: a deployer answers at once for a slot that failed
        (a server that exited, a crash loop), and its health check then says why; only a
        wait as long as the deadline ran out of time."""
        ok, health = rollout.call(f"health({slot!r})", self.deployer.health, slot)
        detail = (
            health.detail if ok and isinstance(health, SlotHealth) and not health.healthy else ""
        )
        why = f": {detail}" if detail else ""
        if waited < self.progress_deadline:
            return (
                f"{slot} did not become ready: the wait ended after {waited:.3g} s of the "
                f"progress deadline of {self.progress_deadline:g} s{why}"
            )
        return (
            f"{slot} did not become ready within the progress deadline of "
            f"{self.progress_deadline:g} s{why}"
        )

    def _check_health(self, rollout: Rollout, slot: str) -> str | None:
        ok, health = rollout.call(f"health({slot!r})", self.deployer.health, slot)
        if ok and not isinstance(health, SlotHealth):
            rollout.event(
                EventKind.ERROR,
                f"health({slot!r}) answered {type(health).__name__}, not a SlotHealth",
                call=f"health({slot!r})",
            )
            ok = False
        if not ok or health is None:
            return f"the health check of {slot} failed"
        rollout.event(
            EventKind.HEALTH,
            f"{slot} {'healthy' if health.healthy else 'unhealthy'}"
            + (f": {health.detail}" if health.detail else ""),
            slot=slot,
            healthy=health.healthy,
            detail=health.detail,
        )
        return None if health.healthy else f"{slot} is unhealthy: {health.detail}"

    def _analyse(self, rollout: Rollout, step: str, tally: GateTally | None = None) -> str | None:
        """Run the gate until it promotes or aborts; None to promote, else why it aborted.

        ``tally`` carries failure counts over from the rollout's earlier analyses.
        """
        if self.gate is None:
            return None
        policy = self.policy
        if tally is None:
            tally = GateTally(policy, started=self.clock.monotonic())
        tally.restart(self.clock.monotonic())
        # The deadline ends every analysis; this bound only guards against a clock that
        # does not advance while sleeping (capped: deadline / interval may overflow an int).
        evaluations = min(policy.deadline / policy.interval, _MAX_EVALUATIONS)
        rounds = int(evaluations) + policy.max_consecutive_errors + 2
        for _ in range(rounds):
            try:
                answer = self.gate(rollout)
                result = answer if isinstance(answer, GateResult) else GateResult(answer)
            except Exception as exc:  # a gate that raises answers "error"; it never promotes
                result = GateResult(Verdict.ERROR, f"the gate raised {type(exc).__name__}: {exc}")
            decision, why = tally.record(result.verdict, self.clock.monotonic())
            rollout.event(
                EventKind.GATE,
                f"{step}: {result.verdict.value} -> {decision.value}: {why}",
                step=step,
                decision=decision.value,
                **result.to_dict(),
            )
            if decision is Decision.PROMOTE:
                return None
            if decision is Decision.ABORT:
                return f"analysis at {step}: {why}"
            # An interval longer than the time left would overshoot the deadline: the last
            # evaluation comes at the deadline instead.
            left = tally.time_left(self.clock.monotonic())
            self.clock.sleep(max(0.0, min(policy.interval, left)))
        return f"analysis at {step} gave no decision in {rounds} evaluations"

    def _abort(self, rollout: Rollout, stable: SlotState | None, why: str) -> RolloutAborted:
        """Send traffic back to ``stable`` (untouched), remove the new slot if idle."""
        target = rollout.slot
        state = rollout.observe()
        back = state.slot(stable.slot) if state is not None and stable is not None else None
        if (
            stable is not None
            and back is not None
            and (back.model, back.version) != (stable.model, stable.version)
        ):
            # The slot that served holds another version now (changed behind this rollout):
            # that version was never checked nor promoted, so no traffic goes to it; it
            # stays where it is and the new slot is kept, as when the stable slot died.
            rollout.event(
                EventKind.ERROR,
                f"{stable.slot} no longer holds {stable.version} (it holds {back.version}); "
                "traffic is left where it is",
                slot=stable.slot,
                version=back.version,
            )
            state = None
        elif stable is not None:
            if back is not None and not back.ready:
                # Not ready is not dead: a traffic move that failed after growing the
                # stable slot for a split leaves it serving but not rolled out. Wait for
                # it as a rollback does (bounded by the progress deadline; a deployer
                # answers at once for a slot that failed), then look again.
                ok, ready = self._wait_ready(rollout, stable.slot)
                if ok and ready:
                    state = rollout.observe()
                    back = state.slot(stable.slot) if state is not None else None
            if back is not None and not back.ready:
                # The stable slot died meanwhile: moving traffic there would leave none
                # served; traffic stays where it is and the new slot is kept.
                rollout.event(
                    EventKind.ERROR,
                    f"{stable.slot} is no longer ready; traffic is left where it is",
                    slot=stable.slot,
                )
                state = None
            elif back is None or back.weight != 100:
                rollout.route_all_to(stable.slot, f"abort: {why}")
        held = state.slot(target) if state is not None else None
        if held is not None and (held.model, held.version) == (rollout.model, rollout.version):
            if target == self._warm and held.ready:
                # It held this version ready before the rollout (a rollback's redeploy
                # into the previous slot, kept warm for the undo window) and the rollout
                # did not apply over it (its apply failed, or it never came to it), so the
                # server there is still that one: removing it would take away the way
                # back this rollout was to restore. A slot applied over holds a new server,
                # which is removed as any that did not make it.
                rollout.event(
                    EventKind.ERROR,
                    f"{target} kept: it held {rollout.version} ready before this rollout "
                    "began, and this rollout did not apply over it",
                    slot=target,
                )
            else:
                rollout.scale_down(target, "abort")  # refused while it still has traffic
        return self._aborted(rollout, stable, why)

    def _aborted(self, rollout: Rollout, stable: SlotState | None, why: str) -> RolloutAborted:
        """Record the abort with what serves now, read back rather than assumed (sending
        traffic back may have failed), and move back an alias the rollout had moved."""
        final = rollout.observe()
        now = final.serving() if final is not None else None
        if now is None or (now.model, now.version) != (rollout.model, rollout.version):
            # Only an interruption of the alias move gets here with the alias moved; the
            # registry must not name a version that did not promote. If the new version
            # does serve (traffic could not be sent back), the alias names it truly.
            rollout.move_alias_back()
        rollout.status = RolloutStatus.ABORTED
        rollout.event(
            EventKind.ABORTED,
            why,
            serving=None if now is None else now.version,
            weights=None if final is None else {s.slot: s.weight for s in final.slots},
        )
        elsewhere = (
            now is not None
            and stable is not None
            and (now.slot, now.version) != (stable.slot, stable.version)
        )
        live = [s for s in final.slots if s.weight > 0] if final is not None else []
        error = last_error(rollout.history)
        cause = f" (last error: {error})" if error is not None else ""
        if final is None:
            after = (
                f"the deployer's state could not be read to tell what serves{cause}; once "
                f"{self.deployer!r} answers again, look at the slots with {_SLOTS_SHOWN}, "
                "then deploy again or roll back"
            )
        elif (
            stable is not None and not final.slots and not _removed_by(rollout.history, stable.slot)
        ):
            # Every slot is gone, the stable one too, which this rollout did not remove
            # (only Recreate's stop does): deleted behind its back (a namespace torn down).
            after = (
                f"nothing serves: no slot of {rollout.model} is left in {self.deployer!r} "
                f"(were they deleted, or their namespace?){cause}; confirm with "
                f"{_SLOTS_SHOWN}, then deploy again (it starts the app anew)"
            )
        elif len(live) > 1:
            # A split left behind (the traffic could not all be sent back): every slot
            # with a share is named, not the larger share alone.
            split = describe_traffic(final)
            after = (
                f"traffic could not all be sent back to {stable.version} in {stable.slot}: {split}"
                if stable is not None
                else split
            )
        elif now is not None and stable is not None and elsewhere:
            after = (
                f"traffic could not be sent back to {stable.version} in {stable.slot}: "
                f"{now.version} is serving from {now.slot}"
            )
        elif now is not None:
            after = f"{now.version} is serving from {now.slot}"
        elif stable is not None:
            back = final.slot(stable.slot)
            if back is None:
                after = f"nothing ready serves ({stable.slot} holds no version)"
            elif back.version != stable.version:
                after = f"nothing ready serves ({stable.slot} holds {back.version})"
            else:
                after = f"nothing ready serves ({stable.version} in {stable.slot} is not ready)"
        elif live:
            # Traffic still goes to a slot not ready (one being deleted, or one whose
            # server died): it is named, not called "nothing serving".
            held = live[0]
            after = (
                f"nothing ready serves: {held.slot} holds {held.version}, not ready, with "
                f"{held.weight}% of the traffic"
            )
        else:
            after = "nothing was serving before"
        return RolloutAborted(
            f"{self.name} rollout {rollout.id} of {rollout.model} {rollout.version} aborted: "
            f"{why}; {after}; see rollout.history",
            rollout,
        )

    def _promote(self, rollout: Rollout, stable: SlotState | None, expected: str | None) -> None:
        """Move the alias, record success, open the undo window (or close it at once).

        Raises :class:`RolloutAborted` (traffic back, as any abort) if the alias could not
        be moved: the registry must tell which version serves.
        """
        # The alias moves while the rollout is still in progress: if anything cuts the
        # move short (Ctrl-C, an error the store was not expected to raise), _guarded
        # aborts the rollout (traffic back, the alias back if it moved); if the store
        # refuses it (someone else moved it, or it failed every attempt), so does this.
        # Once it moved, success is recorded before any other call can be cut short.
        not_moved = rollout.move_alias(rollout.version, expected)
        if not_moved is not None:
            raise self._aborts(rollout, stable, not_moved)
        if stable is not None and stable.slot != rollout.slot:
            rollout.open_undo_window(self.undo_window)
        rollout.status = RolloutStatus.SUCCEEDED
        self._last = rollout
        if stable is not None and stable.slot != rollout.slot and self.undo_window == 0:
            rollout.finish()
        rollout.event(
            EventKind.SUCCEEDED,
            f"{rollout.version} serves from {rollout.slot}",
            undo_until=None if rollout.undo_until is None else rollout.undo_until.isoformat(),
        )

    def _alias_now(self, model: str) -> str | None:
        registry = self.deployer.registry
        if self.alias is None or registry is None:
            return None
        return registry.aliases(model).get(self.alias)

    def _two_slots(self) -> None:
        if self.deployer.capabilities.max_slots < 2:
            raise ConfigError(
                f"{self.name} needs a deployer that runs 2 slots at once; "
                f"{self.deployer!r} declares max_slots={self.deployer.capabilities.max_slots}: "
                "use Recreate"
            )

    def _idle(self, serving: SlotState | None) -> str:
        if serving is not None:
            return SLOTS[1] if serving.slot == SLOTS[0] else SLOTS[0]
        # Nothing ready serves. A slot whose server died may still hold the traffic (the
        # deployer refuses to replace it, SlotInUse): start in the other one, and the
        # switch takes the traffic off the dead one.
        dead = self._dead_with_traffic()
        return SLOTS[1] if dead is not None and dead.slot == SLOTS[0] else SLOTS[0]

    def _dead_with_traffic(self) -> SlotState | None:
        """A slot that is not ready but still gets traffic (its server died), if any."""
        # Failing here changes nothing: it raises (see read_state_before).
        state = read_state_before(self.deployer, f"a {self.name} deploy")
        held = [s for s in state.slots if s.weight > 0 and not s.ready]
        return max(held, key=lambda s: (s.weight, s.slot)) if held else None

    def _prepare(
        self, model: str, version: str | int
    ) -> tuple[str, str | None, SlotState | None, tuple[SlotState, ...], Rollout | None, str]:
        """What every deploy starts from: the resolved version, the alias as it stands, the
        stable slot (see :meth:`_serving`), the other slots a leftover split still sends
        traffic to, a finished rollout if that version already serves (see
        :meth:`_promoted`), and why it is deployed again although it serves promoted and
        healthy ("" if it is not: see :meth:`_spec_changed`).

        Check, then act: the deploy holds the deployer's rollout lock from this look until
        it is done, so no other rollout changes the slots (nor, on this deployer, the
        records read) between the two.
        """
        resolved = self._resolve(model, version)
        registry = self.deployer.registry
        if self.alias is not None and registry is not None:
            # Before any slot changes: a handle that may not move the alias (a signed
            # registry opened without its key, read-only credentials) would otherwise
            # fail only after the new version took the traffic.
            registry.check_writable()
        expected = self._alias_now(model)
        stable, others = self._serving(model, expected)
        same = stable is not None and (stable.model, stable.version) == (model, resolved)
        note = ""
        if stable is not None and same and not others:
            found = self._promoted(resolved, stable, expected)
            if found is not None:
                changed, spec_note = self._spec_changed(model, stable)
                if changed is None:
                    done = self._unchanged(stable, *found, spec_note)
                    return resolved, expected, stable, others, done, note
                note = (
                    f"{resolved} serves healthy from {stable.slot}, but is deployed again "
                    f"with this deploy's spec ({_short(spec_digest(self.spec))}): {changed}"
                )
        return resolved, expected, stable, others, None, note

    def _spec_changed(self, model: str, serving: SlotState) -> tuple[str | None, str]:
        """Why ``serving`` (promoted, healthy) must be applied again with this deploy's
        spec, or None if it need not; and, if not, what the deploy that leaves it says of
        its spec ("" with no spec given).

        Only a spec digest recorded for the serving slot that differs from this spec's
        (see :func:`spec_digest`) deploys it again (for :class:`Recreate`, a restart): the
        last apply into the slot, or the last deploy that found it unchanged, among the
        rollouts of the alias this deploy moves (see :func:`_last_spec_of`). Whatever
        leaves the spec unknown leaves the version as it is, as a re-run of an unchanged
        deploy must: no spec given, no alias moved (nothing tells this service's records
        from another's in a shared history: the history is not read), a history that
        cannot be read, or no digest recorded for the slot (see :func:`_recorded_digest`).
        The deploy that leaves it records this spec's digest, which is then the slot's
        spec for the next deploy.
        """
        if self.spec is None:
            return None, ""
        alias = self._moved_alias()
        if alias is None:
            return None, "; this deploy moves no registry alias, so its spec was not checked"
        try:
            records = stored_records(self.history, model)
        except Exception as exc:  # a user's history may raise anything: the spec is unknown
            recorded = None
            failed = f"{type(exc).__name__}: {brief(str(exc))}"
            by = f"the deployment history could not be read ({failed})"
        else:
            found = _last_spec_of(records, serving.slot, alias)
            recorded, by = _recorded_digest(found, serving, alias)
        if recorded is None:
            return None, f"; the spec it runs with is not known ({by}): taken to be this deploy's"
        if recorded == spec_digest(self.spec):
            return None, ", and was last applied with this deploy's spec"
        return f"{by} applied it with another spec ({_short(recorded)})", ""

    def _promoted(
        self, version: str, serving: SlotState, expected: str | None
    ) -> tuple[str, SlotHealth] | None:
        """Whether ``version``, which serves, needs no deploy: why, and its health, or None.

        The version must hold all the traffic and answer healthy now (a first deploy that
        failed its health check behind the traffic aborts keeping it: nothing to send it
        back to), and, when this deploy moves an alias in the deployer's registry, the
        alias must name it (the alias moves only once a rollout promoted: a first deploy
        that failed its gate does not move it). Without an alias or a registry nothing
        else tells: the deployment history is not read for this, and the healthy version
        holding all the traffic is left as it is. A deploy given a spec also needs the
        version not to run with another recorded spec (see :meth:`_spec_changed`, checked
        after this). A leftover split never gets here (see :meth:`_prepare`). Anything
        else goes the normal way (health checks, the gate, the alias).
        """
        if serving.weight != 100:
            return None
        why = self._promoted_by(version, expected)
        if why is None:
            return None
        try:
            health = self.deployer.health(serving.slot)
        except Exception:  # the normal path checks (and records) it again
            return None
        if not isinstance(health, SlotHealth) or not health.healthy:
            return None
        return why, health

    def _promoted_by(self, version: str, expected: str | None) -> str | None:
        """What tells ``version`` needs no deploy besides its health (see :meth:`_promoted`):
        the alias this deploy moves, if any; None if that alias names another version."""
        if self.alias is not None and self.deployer.registry is not None:
            return f", and alias {self.alias!r} names it" if expected == version else None
        return ""

    def _unchanged(
        self, serving: SlotState, why: str, health: SlotHealth, spec_note: str
    ) -> Rollout:
        slot, version = serving.slot, serving.version
        rollout = self._new(serving.model, version, slot, None)
        rollout.event(
            EventKind.HEALTH,
            f"{slot} healthy" + (f": {health.detail}" if health.detail else ""),
            slot=slot,
            healthy=True,
            detail=health.detail,
        )
        rollout.status = RolloutStatus.SUCCEEDED
        _remember_spec(self.spec)  # recorded below as the spec the slot runs with
        rollout.event(
            EventKind.SUCCEEDED,
            f"{version} already serves from {slot} with all the traffic, healthy{why}"
            f"{spec_note}; nothing changed",
            slot=slot,
            spec_digest=spec_digest(self.spec),
        )
        return rollout

    def _unsplit(
        self, rollout: Rollout, stable: SlotState | None, others: Sequence[SlotState]
    ) -> str | None:
        """End a leftover split before anything starts: all traffic back to the stable slot
        (ready, holding the version the alias names, healthy: see
        :meth:`_check_stable_of_split`); None on success, else why not."""
        if stable is None or not others:
            return None
        left = _split(others)
        if rollout.route_all_to(
            stable.slot,
            f"a leftover split ({left}) ends: {brief(stable.version)}, which alias "
            f"{brief(self.alias)} names, is the stable version",
        ):
            return None
        return f"sending the traffic of a leftover split ({left}) back to {stable.slot} failed"

    def _switch(self, rollout: Rollout, stable: SlotState | None) -> str | None:
        """Send all traffic to the new slot, then check it behind traffic."""
        target = rollout.slot
        ok, _ = rollout.call(
            f"set_traffic({{{target!r}: 100}})", self.deployer.set_traffic, {target: 100}
        )
        if not ok:
            # What set_traffic raised, in the reason itself (as _start_slot's): the CLI
            # shows the reason, not the history.
            said = rollout.last_error("set_traffic(")
            return f"switching traffic to {target} failed" + (f": {said}" if said else "")
        rollout.event(EventKind.TRAFFIC, f"all traffic to {target}", weights={target: 100})
        return self._check_health(rollout, target)

    def deploy(self, model: str, version: str | int) -> Rollout:  # pragma: no cover - abstract
        raise NotImplementedError

    def _deploy(self, model: str, version: str | int) -> Rollout:  # pragma: no cover - abstract
        raise NotImplementedError

    def _guarded(self, model: str, version: str | int) -> Rollout:
        """``_deploy``, and if anything cuts it short (Ctrl-C in a canary's pause, a bug)
        while its rollout is in progress, the rollout is aborted as a failure would be
        (this strategy's abort), best effort, before the exception goes on: no traffic is
        left split, and no alias names a version that did not promote. Cut short after it
        succeeded, the rollout stands and its record is saved as it is."""
        self._started = None
        self._found = self._warm = None
        try:
            return self._deploy(model, version)
        except RolloutAborted:
            raise
        except BaseException as exc:
            # BaseException: Ctrl-C (KeyboardInterrupt) and SystemExit are what cut a
            # rollout short most often. The clean-up suppresses only Exception: a second
            # Ctrl-C stops it (and goes on instead); otherwise the first is re-raised.
            started, self._started = self._started, None
            if started is not None:
                rollout, stable = started
                try:
                    with contextlib.suppress(Exception):  # the first exception is the one to see
                        if rollout.status is RolloutStatus.IN_PROGRESS:
                            self._aborts(rollout, stable, f"interrupted: {type(exc).__name__}")
                        else:
                            rollout.event(
                                EventKind.ERROR,
                                f"interrupted by {type(exc).__name__} after the rollout "
                                f"{rollout.status.value}; it stands as recorded",
                            )
                except BaseException as second:
                    # A second Ctrl-C or SIGTERM cut the abort short: it goes on, after the
                    # record says so (else it stayed "in progress" for good, and a caller
                    # told the user the rollout was aborted).
                    self._abort_cut_short(rollout, stable, exc, second)
                    raise
            raise

    def _abort_cut_short(
        self,
        rollout: Rollout,
        stable: SlotState | None,
        first: BaseException,
        second: BaseException,
    ) -> None:
        """Record ``rollout`` aborted after a second interruption (``second``) cut the
        abort of the first (``first``) short, with what serves as it was left, and move
        back an alias the rollout had moved (as :meth:`_aborted` does).

        Written while further SIGINT and SIGTERM are held (:func:`_interruptions_held`,
        at most :data:`_FINAL_RECORD_SECONDS`): a third signal must not leave the record
        "in progress" either. Best effort: a failure is logged by the save, never raised.
        """
        with _interruptions_held(_FINAL_RECORD_SECONDS), contextlib.suppress(Exception):
            if rollout.status is not RolloutStatus.IN_PROGRESS:
                return  # the abort was recorded before the second interruption came
            state = rollout.observe()
            new = state.slot(rollout.slot) if state is not None else None
            still = (
                f"; {rollout.version} may still run in {rollout.slot}"
                if new is not None and new.version == rollout.version
                else ""
            )
            self._aborted(
                rollout,
                stable,
                f"interrupted: {type(first).__name__}; {ABORT_CUT_SHORT} "
                f"({type(second).__name__}): {describe_traffic(state)}{still}",
            )

    def _exclusive(self, model: str, version: str | int) -> AbstractContextManager[None]:
        """The deployer's rollout lock, if it has one, for a deploy of ``version``."""
        return exclusive(self.deployer, f"{self.name} deploy of {model} {version}")


#: What the record of a rollout whose abort a second interruption cut short says (read
#: by ``modelship deploy apply``, which tells the user so).
ABORT_CUT_SHORT = "a second interruption cut the abort short"

#: How long SIGINT and SIGTERM are held while that record is written: the save retries a
#: failing store (1 s, then 2 s), and a store that hangs must not hold the process for good.
_FINAL_RECORD_SECONDS = 10.0


@contextlib.contextmanager
def _interruptions_held(seconds: float) -> Iterator[None]:
    """Within it, SIGINT and SIGTERM handled by Python code (a handler that raises, as
    Ctrl-C's default one and ``deploy apply``'s do) are noted and dropped, for at most
    ``seconds``; after that they are handled as before. Their handlers are set again on
    leaving. Outside the main thread (which alone receives them in Python) and for a
    signal with the system's action (SIG_DFL, SIG_IGN) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    until = time.monotonic() + seconds
    held: dict[int, Any] = {}

    def hold(signum: int, frame: FrameType | None) -> Any:
        if time.monotonic() < until:
            return None
        return held[signum](signum, frame)

    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if callable(handler):
            held[signum] = handler
            signal.signal(signum, hold)
    try:
        yield
    finally:
        for held_signum, held_handler in held.items():
            signal.signal(held_signum, held_handler)


class BlueGreen(_Strategy):
    """Deploy to the idle slot, check it, switch all traffic at once, keep the old for undo.

    Steps: start the new version in the idle slot; wait until ready (``progress_deadline``,
    default 600 s); health-check it; run the optional pre-promotion ``gate``; switch all
    traffic; health-check it again behind traffic (a failure switches straight back);
    move the registry ``alias``; keep the previous slot at full size for ``undo_window``
    seconds (:meth:`Rollout.rollback` is then one switch back), after which
    :meth:`Rollout.finish` (or the next deploy, which reuses that slot) scales it down.

    Raises
    ------
    RolloutAborted
        The new version did not make it; the previous one serves, its history says why.

    Examples
    --------
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> dep = InMemoryDeployer()
    >>> BlueGreen(dep).deploy("fraud", "1").slot
    'blue'
    >>> rollout = BlueGreen(dep).deploy("fraud", "2")
    >>> [(s.slot, s.version, s.weight) for s in dep.state().slots]
    [('blue', '1', 0), ('green', '2', 100)]
    """

    name = "blue-green"

    def deploy(self, model: str, version: str | int) -> Rollout:
        """Put ``version`` of ``model`` into service; returns the succeeded rollout.

        Raises :class:`RolloutInProgress`, changing nothing, while another rollout holds
        the deployer's rollout lock (see :class:`LocksRollouts`).
        """
        with self._exclusive(model, version):
            return self._guarded(model, version)

    def _deploy(self, model: str, version: str | int) -> Rollout:
        self._two_slots()
        version, expected, stable, others, done, note = self._prepare(model, version)
        if done is not None:
            return done
        self._check_stable_of_split(stable, others)
        rollout = self._new(model, version, self._idle(stable), stable, note)
        why = (
            self._unsplit(rollout, stable, others)
            or self._start_slot(rollout, rollout.slot)
            or self._analyse(rollout, "pre-promotion")
        )
        if why is None:
            why = self._switch(rollout, stable)
        if why is not None:
            raise self._aborts(rollout, stable, why)
        self._promote(rollout, stable, expected)
        return rollout


class Canary(_Strategy):
    """Shift traffic to the new version in steps, with a pause and a gate after each.

    ``steps`` (default 10, 25, 50 percent, 60 s pauses) must increase; after the last
    one all traffic moves. After each step's pause the new slot is health-checked and the
    ``gate`` runs under :class:`GatePolicy` (only a pass goes on; no gate: a healthy slot
    goes on). An abort at any point sends all traffic back to the stable slot. Then as
    :class:`BlueGreen`: alias, undo window, rollback.

    A first deploy (nothing serving) skips the steps and the gate, as Argo Rollouts does
    with a rollout's initial deployment: the new version takes all traffic once ready,
    and is promoted once healthy behind it, without calling the gate. There is no traffic
    to split, no stable version to compare with and no traffic to judge, so an analysis
    could never pass (``ms.monitor.canary_gate`` has no baseline slot, a traffic-based
    ``ms.monitor.policy_gate`` sees no requests) and would abort every first deploy at its
    deadline. The rollout's history says so (a ``gate`` event whose ``decision`` is
    "skipped", ``verdict`` None). Every deploy made while a version serves runs the steps
    and the gate.

    When the deployer's weights are approximate (``capabilities.exact_weights`` False),
    the share actually applied is recorded next to the one asked for.

    Examples
    --------
    >>> from modelship.deploy import Verdict
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> dep = InMemoryDeployer()
    >>> _ = Canary(dep).deploy("fraud", "1")
    >>> steps = [CanaryStep(10, pause=60), CanaryStep(50, pause=60)]
    >>> canary = Canary(dep, steps=steps, gate=lambda r: Verdict.PASS, clock=dep.clock)
    >>> rollout = canary.deploy("fraud", "2")  # pauses on the double's clock: no wait
    >>> [e.data["weights"] for e in rollout.history if e.kind.value == "traffic"]
    [{'green': 10, 'blue': 90}, {'green': 50, 'blue': 50}, {'green': 100}]
    """

    name = "canary"
    DEFAULT_STEPS = (CanaryStep(10, 60.0), CanaryStep(25, 60.0), CanaryStep(50, 60.0))

    def __init__(  # noqa: PLR0913 - BlueGreen's documented options, spelled out so that type checkers and editors see them, plus steps
        self,
        deployer: Deployer,
        spec: DeploymentSpec | None = None,
        *,
        steps: Sequence[CanaryStep] | None = None,
        gate: Gate | None = None,
        policy: GatePolicy | None = None,
        progress_deadline: float = 600.0,
        undo_window: float = 600.0,
        alias: str | None = "production",
        history: DeploymentHistory | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            deployer,
            spec,
            gate=gate,
            policy=policy,
            progress_deadline=progress_deadline,
            undo_window=undo_window,
            alias=alias,
            history=history,
            clock=clock,
        )
        steps = _canary_steps(steps) if steps is not None else self.DEFAULT_STEPS
        if not steps:
            raise ConfigError("a canary needs at least one step; use BlueGreen for none")
        for before, after in itertools.pairwise(steps):
            if after.weight <= before.weight:
                raise ConfigError(
                    f"canary step weights must increase, got {before.weight} then {after.weight}"
                )
        self.steps: tuple[CanaryStep, ...] = steps

    def deploy(self, model: str, version: str | int) -> Rollout:
        """Put ``version`` of ``model`` into service in steps; returns the rollout.

        Raises :class:`RolloutInProgress`, changing nothing, while another rollout holds
        the deployer's rollout lock (see :class:`LocksRollouts`).
        """
        with self._exclusive(model, version):
            return self._guarded(model, version)

    def _deploy(self, model: str, version: str | int) -> Rollout:
        self._two_slots()
        version, expected, stable, others, done, note = self._prepare(model, version)
        if done is not None:
            return done
        self._check_stable_of_split(stable, others)
        rollout = self._new(model, version, self._idle(stable), stable, note)
        why = self._unsplit(rollout, stable, others) or self._start_slot(rollout, rollout.slot)
        if why is None and stable is not None:
            why = self._steps(rollout, stable)
        elif why is None:
            self._initial(rollout)
        if why is None:
            why = self._switch(rollout, stable)
        if why is not None:
            raise self._aborts(rollout, stable, why)
        self._promote(rollout, stable, expected)
        return rollout

    def _initial(self, rollout: Rollout) -> None:
        """Record why a first deploy skips the steps and the gate (as Argo Rollouts does).

        Nothing serves: there is no traffic to split and no stable version to compare with,
        so a canary analysis could not judge anything (a comparing gate has no baseline, a
        traffic gate sees a slot without requests) and would hold to its deadline, then
        abort every first deploy. The new version takes all traffic once ready and healthy
        behind it, as an upgrade's last step does.
        """
        skipped = "the canary steps and the gate" if self.gate is not None else "the canary steps"
        rollout.event(
            EventKind.GATE,
            f"initial deploy: {skipped} are skipped and all traffic moves to {rollout.slot} "
            f"at once: no version serves, so there is no traffic to split, no stable version "
            f"to compare with and no traffic to judge",
            step="initial deploy",
            decision="skipped",
            verdict=None,
            reason="no version serves: nothing to compare with, no traffic to judge",
            inputs={},
            gate=self.gate is not None,
        )

    def _steps(self, rollout: Rollout, stable: SlotState) -> str | None:
        target = rollout.slot
        tally = GateTally(self.policy, started=self.clock.monotonic())
        for n, step in enumerate(self.steps, start=1):
            weights = {target: step.weight, stable.slot: 100 - step.weight}
            ok, _ = rollout.call(f"set_traffic({weights})", self.deployer.set_traffic, weights)
            if not ok:
                return f"setting step {n}'s traffic failed"
            state = rollout.observe()
            actual = state.slot(target) if state is not None else None
            rollout.event(
                EventKind.TRAFFIC,
                f"step {n}: {step.weight}% to {target}",
                weights=weights,
                step=n,
                applied=None if actual is None else actual.weight,
            )
            rollout.event(
                EventKind.PAUSE, f"step {n}: pausing {step.pause:g} s", step=n, seconds=step.pause
            )
            self.clock.sleep(step.pause)
            why = self._check_health(rollout, target) or self._analyse(rollout, f"step {n}", tally)
            if why is not None:
                return why
        return None


class Recreate(_Strategy):
    """Stop the serving version, then start the new one in its slot (downtime by design).

    For models that cannot run twice side by side (memory, a GPU, an exclusive resource).
    Requests fail between the stop and the new slot's readiness. Once the new slot is
    ready, it takes all the traffic, is health-checked behind it, and the ``gate`` runs
    under :class:`GatePolicy` (only a pass promotes): nothing else could serve meanwhile,
    so an analysis before the switch would only lengthen the downtime. If the new version
    does not become ready and healthy, its gate does not pass, or the alias cannot be
    moved, the previous version is started again in the same slot and the rollout aborts.
    It is started with the spec it ran with, as the deployment history records its digest
    (a version applied without a spec, without one); when that spec is not known for sure
    (another process applied it with a spec other than this deploy's, or the history
    tells nothing), with this deploy's spec rather than not at all, and the abort's reason
    says so. There is no undo window: :meth:`Rollout.rollback` recreates the previous
    version (with this strategy's spec: it deploys it). A deployer with the optional
    ``check_not_being_deleted(slot)`` hook (:class:`KubernetesDeployer`) is asked first
    whether the slot can take the new version: a refusal aborts before anything stops.

    Examples
    --------
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> from modelship.deploy import DeployerCapabilities
    >>> dep = InMemoryDeployer(capabilities=DeployerCapabilities(max_slots=1))
    >>> _ = Recreate(dep).deploy("fraud", "1")
    >>> _ = Recreate(dep).deploy("fraud", "2")
    >>> [(s.slot, s.version, s.weight) for s in dep.state().slots]
    [('blue', '2', 100)]
    """

    name = "recreate"

    def deploy(self, model: str, version: str | int) -> Rollout:
        """Replace the serving version with ``version`` of ``model``; returns the rollout.

        Raises :class:`RolloutInProgress`, changing nothing, while another rollout holds
        the deployer's rollout lock (see :class:`LocksRollouts`).
        """
        with self._exclusive(model, version):
            return self._guarded(model, version)

    def _deploy(self, model: str, version: str | int) -> Rollout:
        # A leftover split needs no ending first: the serving version's traffic stops.
        version, expected, stable, _, done, note = self._prepare(model, version)
        if done is not None:
            return done
        # Nothing ready serves, but a slot whose server died may still hold the traffic:
        # it is stopped first, as a serving version would be.
        dead = self._dead_with_traffic() if stable is None else None
        stopping = stable or dead
        slot = stopping.slot if stopping is not None else SLOTS[0]
        rollout = self._new(model, version, slot, stable, note)
        why = None
        if stopping is not None:
            why = self._refused(rollout, slot, stopping)
        if stopping is not None and why is None:
            began = len(rollout.history)
            ok, _ = rollout.call("set_traffic({})", self.deployer.set_traffic, {})
            if ok:
                rollout.event(EventKind.TRAFFIC, "traffic stopped (recreate)", weights={})
                ok = rollout.scale_down(slot, f"recreate: {stopping.version} stops first")
            if not ok:
                # What went wrong (set_traffic or remove raised, or the slot still had
                # traffic), in the reason itself as _switch's: the CLI shows the reason.
                said = rollout.last_error("", since=began)
                why = f"stopping {stopping.version} failed" + (f": {said}" if said else "")
        if why is None:
            # The gate judges the new version behind all the traffic: nothing else can
            # serve meanwhile, so analysing it before the switch would only lengthen the
            # downtime (which ends when the new slot is ready) and leave a metric gate
            # no requests to judge. A failure recreates the previous version.
            why = (
                self._start_slot(rollout, slot)
                or self._switch(rollout, None)
                or self._analyse(rollout, "pre-promotion")
            )
        if why is None:
            # As _promote: success is recorded only once the alias moved, so a move cut
            # short, or refused, aborts the rollout (the previous version recreated, the
            # alias moved back).
            why = rollout.move_alias(version, expected)
        if why is not None:
            raise self._aborts(rollout, stable, why)
        rollout.status = RolloutStatus.SUCCEEDED
        rollout.event(EventKind.SUCCEEDED, f"{version} serves from {slot}")
        return rollout

    def _refused(self, rollout: Rollout, slot: str, stopping: SlotState) -> str | None:
        """Why ``slot`` cannot take the new version, asked before ``stopping`` is stopped
        (the stop is the outage: a refusal after it would leave nothing serving), or None.

        Only a deployer with the optional ``check_not_being_deleted(slot)`` hook is asked
        (not part of the :class:`Deployer` protocol; :class:`KubernetesDeployer` has it: a
        slot whose Deployment or Service is being deleted takes no new version). Whatever
        the hook raises refuses the rollout, nothing stopped.
        """
        check = getattr(self.deployer, "check_not_being_deleted", None)
        if not callable(check):
            return None
        call = f"check_not_being_deleted({slot!r})"
        ok, _ = rollout.call(call, check, slot)
        if ok:
            return None
        return (
            f"{slot} cannot take {rollout.version}, so {stopping.version} was not stopped: "
            f"{rollout.last_error(call)}"
        )

    def _abort(self, rollout: Rollout, stable: SlotState | None, why: str) -> RolloutAborted:
        """Start the previous version again in its slot and serve it.

        The slot that served is the one recreated, so the shared abort, which sends
        traffic back to that slot, would serve the version that failed; every abort of a
        recreate, an interrupted one too (see ``_guarded``), comes here.
        """
        if stable is None:
            return super()._abort(rollout, None, why)
        state = rollout.observe()
        held = state.slot(stable.slot) if state is not None else None
        if (
            held is None
            or (held.model, held.version) != (stable.model, stable.version)
            or (not held.ready)
        ):
            if held is not None and held.weight > 0:
                # The new version got traffic and failed behind it: stop it (recreate's
                # downtime again) before the previous version takes the slot back.
                ok, _ = rollout.call("set_traffic({})", self.deployer.set_traffic, {})
                if ok:
                    rollout.event(EventKind.TRAFFIC, "traffic stopped (recreate abort)", weights={})
                    rollout.scale_down(stable.slot, f"recreate abort: {rollout.version} stops")
            spec, unknown = self._restore_spec(rollout, stable)
            given = (
                "with this deploy's spec"
                if spec is not None
                else "without a spec (this deploy gives none)"
            )
            note = (
                "with the spec it ran with"
                if unknown is None
                else f"{given}: the spec it ran with is not known ({unknown})"
            )
            failed = self._start_slot(
                rollout, stable.slot, (stable.model, stable.version, spec), note
            )
            if failed is None:
                rollout.route_all_to(stable.slot, f"recreate abort: {why}")
                if unknown is not None:
                    why = f"{why}; {stable.version} was started again {note}"
            elif unknown is not None:
                why = (
                    f"{why}; restoring {stable.version} also failed: {failed} (it was started "
                    f"{note}); deploy {stable.version} again with the spec it ran with"
                )
            else:
                why = f"{why}; restoring {stable.version} also failed: {failed}"
        elif held.weight != 100:
            rollout.route_all_to(stable.slot, f"recreate abort: {why}")
        return self._aborted(rollout, stable, why)

    def _restore_spec(
        self, rollout: Rollout, stable: SlotState
    ) -> tuple[DeploymentSpec | None, str | None]:
        """The spec to start ``stable`` (stopped by ``rollout``) again with: the one it ran
        with, and None; or, when that is not known for sure, this deploy's spec, and why it
        is not known.

        The deployment history tells which spec it ran with, as a digest (see
        :func:`_last_spec_of`, read as :meth:`_spec_changed` reads it, the records of
        ``rollout`` itself left out): a version applied without a spec is started again
        without one; a digest is matched to this deploy's spec or to a spec this process
        applied (the history keeps no spec: its ``env`` may hold secrets). A version
        another process applied with another spec, or a history that tells nothing, is
        started again with this deploy's spec rather than left stopped: the abort says
        so. Never raises.
        """
        alias = self._moved_alias()
        try:
            records = [r for r in stored_records(self.history, rollout.model) if r.id != rollout.id]
        except Exception as exc:  # a user's history may raise anything: the spec is unknown
            failed = f"{type(exc).__name__}: {brief(str(exc))}"
            return self.spec, f"the deployment history could not be read ({failed})"
        found = _last_spec_of(records, stable.slot, alias)
        if _applied_without_spec(found, stable, alias):
            return None, None
        recorded, by = _recorded_digest(found, stable, alias)
        if recorded is None:
            return self.spec, by
        spec = _spec_with_digest(recorded, self.spec)
        if spec is None:
            return self.spec, (
                f"{by} applied it with a spec ({_short(recorded)}) that this process did "
                "not apply, and the deployment history keeps only its digest"
            )
        return spec, None


#: What shows a deployer's slots, named in aborts that cannot tell what is left.
_SLOTS_SHOWN = (
    "its state() (deployer.state(); for a KubernetesDeployer also kubectl get "
    "deployments,services -n <namespace> -l app.kubernetes.io/instance=<app>, both "
    "named in its repr)"
)


def _removed_by(events: Sequence[RolloutEvent], slot: str) -> bool:
    """Whether ``events`` (a rollout's history) record the removal of ``slot``."""
    return any(
        event.kind is EventKind.SCALED_DOWN and event.data.get("slot") == slot for event in events
    )


def from_spec(
    deployer: Deployer, spec: DeploymentSpec, **kwargs: Unpack[StrategyOptions]
) -> BlueGreen | Canary | Recreate:
    """The strategy ``spec.strategy`` names, with the spec's canary steps.

    ``kwargs`` go to the strategy (``gate``, ``policy``, ``undo_window``, ...).

    Examples
    --------
    >>> from modelship.deploy import DeploymentSpec
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> spec = DeploymentSpec.from_dict({"deployment": {"strategy": "canary",
    ...     "containers": [{"name": "m", "image": "m:1"}],
    ...     "canary": {"steps": [{"weight": 10, "pause": "1m"}]}}})
    >>> from_spec(InMemoryDeployer(), spec).steps
    (CanaryStep(weight=10, pause=60.0),)
    """
    _check_spec(spec)
    known = StrategyOptions.__optional_keys__
    for option in kwargs:
        if option == "steps":
            raise ConfigError(
                "from_spec takes the canary steps from the spec (canary.steps); for other "
                "steps build Canary(deployer, spec, steps=[...]) instead"
            )
        if option not in known:
            raise ConfigError(
                f"from_spec has no option {reprlib.repr(option)}; the options are "
                f"{', '.join(sorted(known))}"
            )
    name = spec.strategy.value
    if name == Canary.name:
        return Canary(deployer, spec, steps=spec.steps or None, **kwargs)
    if name == Recreate.name:
        return Recreate(deployer, spec, **kwargs)
    return BlueGreen(deployer, spec, **kwargs)
