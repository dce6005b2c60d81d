"""A rollout: one attempt to put a version into service, its history, and its undo.

Every decision (a step, a gate's answer with its inputs, an abort, a rollback) is
appended to the rollout's history with its time and saved to the deployment history
(see :mod:`modelship.deploy._history`) as it happens, so a rollout that dies half-way
can still be explained. Each event saves the whole record (one document per rollout,
replaced whole, so a reader never sees half of one): a caller that may record without
end keeps its events few, as :func:`~modelship.monitor.watch` does (it records the
evaluations that change something and a count of the others, whose every evaluation is
in its decision log).

Rollback never scales the good version down: within the undo window it is one traffic
switch back to the previous slot (still at full size, and checked healthy and ready
before any traffic moves; a switch that fails is told from the state read back: taken
effect, a rollback; the previous slot gone, a redeploy; else everything is left as it
was, the window open); after the window it redeploys the previous version through the
strategy's normal path, which leaves the serving slot alone until the new one is ready.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from modelship import _json
from modelship._shown import SHOWN, brief
from modelship.deploy._clock import Clock
from modelship.deploy._errors import (
    DeployError,
    HistoryError,
    RollbackUnavailable,
    SlotNotFound,
)
from modelship.deploy._lock import exclusive
from modelship.deploy._protocol import Deployer, DeployerState, SlotHealth
from modelship.deploy._record import (
    SCHEMA,
    EventKind,
    RolloutEvent,
    RolloutRecord,
    RolloutStatus,
    new_rollout_id,
    stated_alias,
)
from modelship.errors import (
    ArchivedVersion,
    Conflict,
    ModelNotFound,
    ModelshipError,
    VersionNotFound,
)

if TYPE_CHECKING:
    from modelship.deploy._history import DeploymentHistory

__all__ = [
    "SCHEMA",
    "EventKind",
    "Rollout",
    "RolloutAborted",
    "RolloutEvent",
    "RolloutRecord",
    "RolloutStatus",
    "close_replaced_window",
    "condemning_rollout",
    "describe_traffic",
    "last_error",
    "new_rollout_id",
    "read_state",
    "read_state_before",
    "moved_from_another",
    "same_alias",
    "stored_records",
]

_log = logging.getLogger("modelship.deploy")
_T = TypeVar("_T")

_ALIAS_ATTEMPTS = 3
"""Tries to move the registry alias when the store fails (not when someone moved it)."""

_SAVE_ATTEMPTS = 3
"""Tries to save the record of a settled rollout (succeeded, aborted, rolled back): no
later event may come to retry it, and a record left "in progress" hides the rollout from
``deploy rollback``. A rollout in progress tries once: its next event retries."""

_SWITCH_BACK_READY_WAIT = 30.0
"""Seconds a rollback waits for the previous slot to be ready before its switch back
(the progress deadline, if shorter). The slot ran at full size and was ready when traffic
left it, and has just answered healthy: a running server briefly not ready (a readiness
probe failed once under load) is ready again within a few probe periods (Kubernetes
probes readiness every 10 s by default: 30 s is three of them). One still not ready after
that is not recovering soon, and each second waited leaves all traffic on the version
being rolled back: the redeploy (bounded by the progress deadline) is then the better use
of the time."""

_SAVE_BACKOFF = 1.0
"""Seconds (on the rollout's clock) before the second save attempt; doubled after each."""


def close_replaced_window(rollout: Rollout, by: str) -> bool:
    """Close ``rollout``'s undo window because rollout ``by`` applied over its previous
    slot, and save its record once; whether the stored record now says so (a strategy's
    helper: see :meth:`Rollout._slot_replaced`)."""
    return rollout._slot_replaced(by)


def stored_records(history: DeploymentHistory, model: str) -> list[RolloutRecord]:
    """``history.records(model)``, oldest first, each a :class:`RolloutRecord`.

    A user's history may keep what :meth:`RolloutRecord.to_dict` gives (a JSON object):
    it is read back as a record. Anything else, or a record of another model, raises
    :class:`HistoryError`; what ``records`` raises goes on.
    """
    out = []
    for i, item in enumerate(history.records(model)):  # bounded: the history's own list
        record = (
            RolloutRecord.from_dict(item, where=f"{model}'s record {i}")
            if isinstance(item, Mapping)
            else item
        )
        if not isinstance(record, RolloutRecord) or record.model != model:
            raise HistoryError(
                f"{type(history).__name__}.records({model!r}) answered "
                f"{type(item).__name__} at {i}, not a RolloutRecord of {model!r}"
            )
        out.append(record)
    return out


def moved_from_another(records: Sequence[RolloutRecord]) -> RolloutRecord | None:
    """The last of ``records`` whose previous version is another version, or None: the
    rollout a rollback of the alias undoes (a spec change of the same version, or a
    deploy that changed nothing, moved the alias from no other version).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> def rec(n, version, previous):
    ...     return RolloutRecord(id=f"r{n}", model="fraud", version=version,
    ...         strategy="blue-green", status=RolloutStatus.SUCCEEDED, slot="blue",
    ...         previous_version=previous, previous_slot=None,
    ...         started_at=datetime(2026, 1, 1, n, tzinfo=timezone.utc))
    >>> moved_from_another([rec(1, "2", "1"), rec(2, "2", "2"), rec(3, "2", None)]).id
    'r1'
    """
    moved = [r for r in records if r.previous_version not in (None, r.version)]
    return moved[-1] if moved else None


def same_alias(record: RolloutRecord, alias: str | None) -> bool | None:
    """Whether ``record``'s rollout moved ``alias`` (None: it moved no alias), or None if
    the record does not say.

    A rollout records the alias it moves in its ``started`` event (``alias``, None when it
    moves none, as without a registry). A record written before it did says so only in the
    events of an alias move (``alias`` and ``error`` events), which a rollout that never
    got to move its alias does not have. Environments deploying one model from one
    registry (aliases ``staging`` and ``production``) share its deployment history: the
    alias tells their records apart.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> def rec(*events):
    ...     return RolloutRecord(id="r1", model="fraud", version="1", strategy="blue-green",
    ...         status=RolloutStatus.SUCCEEDED, slot="blue", previous_version=None,
    ...         previous_slot=None, started_at=when, events=events)
    >>> staging = rec(RolloutEvent(when, EventKind.STARTED, "started", {"alias": "staging"}))
    >>> same_alias(staging, "staging"), same_alias(staging, "production"), same_alias(rec(), "x")
    (True, False, None)
    """
    said, named = stated_alias(record.events)
    if not said:
        return None
    # A record may say "@production" (strategies stored the alias as given, "@" and all,
    # before they took the registry's name of it).
    if isinstance(named, str) and isinstance(alias, str):
        return named.removeprefix("@") == alias.removeprefix("@")
    return bool(named == alias)


def condemning_rollout(
    records: Sequence[RolloutRecord], version: str, *, alias: str | None = None
) -> RolloutRecord | None:
    """The rollout that condemns ``version``: its latest rollout that served (succeeded or
    rolled back), if that one was rolled back; None if ``version`` may serve again.

    ``records`` is a model's history, oldest first (see :func:`stored_records`). Rollouts
    that never served (aborted, in progress) say nothing about a version. A later
    succeeded rollout of ``version`` (someone deployed it again) clears it. A rolled-back
    rollout whose previous version was its own (a spec change undone) condemns that spec,
    not the version, and is passed over. A rollback must not move to a condemned version:
    after a rollback that redeployed the previous version, the new rollout's previous
    version is the one just rolled back.

    ``alias``: the alias the rollback moves (its environment). Given, only the rollouts of
    that alias condemn (see :func:`same_alias`): those of another alias are passed over (a
    version rolled back in staging may still serve production), and a record that does not
    say which alias it moved condemns nothing (a rollback restores service: it is not
    blocked on a guess) but clears as a succeeded rollout does. None: every record counts.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> def rec(n, version, status, previous):
    ...     return RolloutRecord(id=f"r{n}", model="fraud", version=version,
    ...         strategy="blue-green", status=status, slot="blue", previous_version=previous,
    ...         previous_slot=None, started_at=datetime(2026, 1, 1, n, tzinfo=timezone.utc))
    >>> records = [rec(1, "1", RolloutStatus.SUCCEEDED, None),
    ...            rec(2, "2", RolloutStatus.ROLLED_BACK, "1"),
    ...            rec(3, "1", RolloutStatus.SUCCEEDED, "2")]
    >>> condemning_rollout(records, "2").id, condemning_rollout(records, "1")
    ('r2', None)
    >>> print(condemning_rollout(records, "2", alias="production"))  # r2 names no alias
    None
    """
    for record in reversed(records):  # bounded: the records given
        if record.version != version:
            continue
        same = True if alias is None else same_alias(record, alias)
        if same is False:
            continue  # another environment's rollout
        if record.status is RolloutStatus.SUCCEEDED:
            return None
        if (
            same
            and record.status is RolloutStatus.ROLLED_BACK
            and record.previous_version != version
        ):
            return record
    return None


def describe_traffic(state: DeployerState | None) -> str:
    """What receives traffic in ``state``, for a message: every slot with a share, so a
    split left behind (a switch that failed half-way) is not told as the larger share
    alone; versions cut to a bounded size.

    Examples
    --------
    >>> from modelship.deploy import DeployerState, SlotState
    >>> def slot(name, version, weight):
    ...     return SlotState(slot=name, model="fraud", version=version, weight=weight, ready=True)
    >>> describe_traffic(DeployerState((slot("blue", "1", 90), slot("green", "2", 10))))
    'traffic is split: 1 in blue 90%, 2 in green 10%'
    >>> describe_traffic(DeployerState((slot("blue", "1", 0), slot("green", "2", 100))))
    '2 is serving from green'
    """
    if state is None:
        return "the deployer's state could not be read to tell what serves"
    live = [s for s in state.slots if s.weight > 0]
    if not live:
        return "no slot receives traffic"
    if len(live) == 1:
        only = live[0]
        return f"{_shown(only.version)} is serving from {only.slot}" + (
            "" if only.ready else " (not ready)"
        )
    return "traffic is split: " + ", ".join(
        f"{_shown(s.version)} in {s.slot} {s.weight}%" + ("" if s.ready else " (not ready)")
        for s in live
    )


_ERROR_SHOWN = 300  # characters of an error's first line a summary quotes


def last_error(events: Iterable[RolloutEvent]) -> str | None:
    """The last deployer call that raised among ``events`` (a rollout's history), as a
    message names it: the exception's class and the first non-blank line of its text
    (stripped, cut to 300 characters), or the class alone if the text is blank; None if
    none raised.

    Examples
    --------
    >>> from modelship.deploy import BlueGreen
    >>> from modelship.testing import InMemoryDeployer
    >>> class Down(InMemoryDeployer):
    ...     def set_traffic(self, weights):
    ...         raise TimeoutError("the API timed out" + chr(10) + "(details)")
    >>> dep = Down()
    >>> try:
    ...     BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    ... except Exception as exc:
    ...     print(last_error(exc.rollout.history))
    TimeoutError: the API timed out
    """
    for event in reversed(list(events)):
        error = event.data.get("error") if event.kind is EventKind.ERROR else None
        if not isinstance(error, str):
            continue
        _, said, text = event.message.partition(f" raised {error}: ")
        lines = (text if said else event.message).splitlines()
        first = next((line.strip() for line in lines if line.strip()), "")
        if not first:
            return error  # an exception with no text: its class says all there is
        if len(first) > _ERROR_SHOWN:
            first = first[: _ERROR_SHOWN - 3] + "..."
        return f"{error}: {first}"
    return None


def _shown(version: str) -> str:
    """A version as messages show it: as it is, unless it is too long to (then cut)."""
    return version if len(version) <= SHOWN else brief(version)


def read_state_before(deployer: Deployer, what: str) -> DeployerState:
    """:func:`read_state` before ``what`` changes anything: what ``state()`` raises that
    is not a :class:`~modelship.errors.ModelshipError` (a platform's API that times out)
    is raised as a :class:`DeployError` saying nothing was changed, cause chained, as a
    failed step's error is. A ModelshipError goes on unchanged.

    Examples
    --------
    >>> from modelship.testing import InMemoryDeployer
    >>> class Down(InMemoryDeployer):
    ...     def state(self):
    ...         raise TimeoutError("the API timed out")
    >>> try:
    ...     read_state_before(Down(), "the deploy")
    ... except DeployError as exc:
    ...     print(type(exc.__cause__).__name__, "|", str(exc)[:60])
    TimeoutError | Down.state() raised TimeoutError: 'the API timed out' before
    """
    try:
        return read_state(deployer)
    except ModelshipError:
        raise
    except Exception as exc:
        raise DeployError(
            f"{type(deployer).__name__}.state() raised {type(exc).__name__}: "
            f"{brief(str(exc))} before {what} changed anything; nothing was changed. Try "
            "again once the deployer answers"
        ) from exc


def read_state(deployer: Deployer) -> DeployerState:
    """``deployer.state()``, which must answer a :class:`DeployerState`.

    An answer of another type (a dict, None) raises :class:`DeployError` naming the
    deployer's class, as a failed call does: read as a state, it would fail later with an
    ``AttributeError`` in the middle of a rollout. What ``state()`` raises goes on.
    """
    state = deployer.state()
    if not isinstance(state, DeployerState):
        raise DeployError(
            f"{type(deployer).__name__}.state() answered {type(state).__name__}, not a "
            "DeployerState; nothing was changed"
        )
    return state


class Rollout:
    """One rollout of ``model`` ``version`` into ``slot``: its state, history and undo.

    Strategies create rollouts; users read them and call :meth:`rollback` or
    :meth:`finish`. ``history`` is every decision so far; :meth:`record` is the
    JSON-serialisable form that is stored.

    Examples
    --------
    >>> from modelship.deploy import BlueGreen
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> dep = InMemoryDeployer()
    >>> first = BlueGreen(dep).deploy("fraud", "1")
    >>> second = BlueGreen(dep).deploy("fraud", "2")
    >>> second.status, dep.state().serving().version
    (<RolloutStatus.SUCCEEDED: 'succeeded'>, '2')
    >>> second.rollback().status, dep.state().serving().version
    (<RolloutStatus.ROLLED_BACK: 'rolled_back'>, '1')
    >>> [e.kind.value for e in second.history][-2:]
    ['rollback', 'scaled_down']
    """

    def __init__(  # noqa: PLR0913 - keyword-only state of a rollout, built only by the strategies
        self,
        *,
        deployer: Deployer,
        model: str,
        version: str,
        strategy: str,
        slot: str,
        previous: tuple[str, str] | None,
        clock: Clock,
        history: DeploymentHistory,
        alias: str | None,
        progress_deadline: float,
        redeploy: Callable[[str, str], Rollout],
    ) -> None:
        self.id = new_rollout_id(clock)
        self.model = model
        self.version = version
        self.strategy = strategy
        self.slot = slot
        self.previous_slot: str | None = previous[0] if previous else None
        self.previous_version: str | None = previous[1] if previous else None
        self.status = RolloutStatus.IN_PROGRESS
        self.started_at = clock.wall()
        self._started = clock.monotonic()
        self.undo_until: datetime | None = None
        self._undo_deadline: float | None = None
        self._events: list[RolloutEvent] = []
        self._deployer = deployer
        self._clock = clock
        self._history = history
        self._alias = alias
        self._progress_deadline = progress_deadline
        self._redeploy = redeploy
        self.replaced_by: Rollout | None = None
        # Whether the stored record is this rollout's record as it stands (see save()).
        self._saved = False
        self._deferring = 0  # open deferred_saves() blocks: a save is tried once
        # (to, from) of an alias move begun by move_alias: an interruption can cut the
        # move short after the store wrote it, so an abort must look (move_alias_back).
        self._alias_begun: tuple[str, str | None] | None = None

    def __repr__(self) -> str:
        return (
            f"<Rollout {self.id} {self.model} {self.version} {self.strategy} {self.status.value}>"
        )

    # --- the record ---------------------------------------------------------------------

    @property
    def history(self) -> tuple[RolloutEvent, ...]:
        """Every decision so far, oldest first."""
        return tuple(self._events)

    @property
    def moved_alias(self) -> str | None:
        """The registry alias this rollout moves: None without an alias or a registry (the
        one its ``started`` event records, which tells environments sharing a history
        apart: see :func:`same_alias`)."""
        return self._alias if self._deployer.registry is not None else None

    @property
    def elapsed(self) -> float:
        """Seconds since the rollout began, on its clock's monotonic time.

        A gate uses it to look only at data the new version produced: a slot reused after
        an aborted rollout still holds the old version's samples from before this one.
        """
        return max(0.0, self._clock.monotonic() - self._started)

    @property
    def succeeded(self) -> bool:
        """Whether the new version was promoted (and not rolled back)."""
        return self.status is RolloutStatus.SUCCEEDED

    @property
    def undo_window_open(self) -> bool:
        """Whether :meth:`rollback` is still one traffic switch back."""
        return self._undo_deadline is not None and self._clock.monotonic() < self._undo_deadline

    def record(self) -> RolloutRecord:
        """The JSON-serialisable record of this rollout, as stored."""
        return RolloutRecord(
            id=self.id,
            model=self.model,
            version=self.version,
            strategy=self.strategy,
            status=self.status,
            slot=self.slot,
            previous_version=self.previous_version,
            previous_slot=self.previous_slot,
            started_at=self.started_at,
            undo_until=self.undo_until,
            events=tuple(self._events),
        )

    def to_dict(self) -> dict[str, Any]:
        """:meth:`record` as a JSON-safe dict."""
        return self.record().to_dict()

    def event(self, kind: EventKind, message: str, **data: Any) -> None:
        """Append a decision to the history and save the record (strategies call this).

        The save writes the whole record, every event so far: its cost grows with the
        history, so a caller recording on a schedule (a watch) records what changes, not
        every repetition, lest a long run grow quadratic.

        ``data`` is kept as JSON can hold it (a gate's NaN input is ``None``, a set its
        text), as the stored record holds it: one event JSON cannot write would otherwise
        fail every later save of the rollout.
        """
        self._events.append(RolloutEvent(self._clock.wall(), kind, message, _json.jsonable(data)))
        self.save()

    @property
    def saved(self) -> bool:
        """Whether the deployment history holds this rollout's record as it stands.

        False after a save that failed (even after its retries): the stored record lags
        behind, for example still "in progress" after the rollout succeeded. The next
        event, :meth:`save` and :meth:`finish` try again.
        """
        return self._saved

    def save(self) -> bool:
        """Save the record; whether it was stored. A failure is logged, never raised.

        A history is the user's code as often as ours: whatever it raises is logged, never
        left to cut a rollout short half-way (traffic split, the alias not moved). In
        progress, a failed save is retried at the next event. Once the rollout settled
        (succeeded, aborted, rolled back) there may be no next event, so the save is tried
        :data:`_SAVE_ATTEMPTS` times, sleeping :data:`_SAVE_BACKOFF` s (doubled each time)
        on the rollout's clock between; if it still fails, :attr:`saved` stays False and
        :meth:`finish` (or a call of :meth:`save`) tries again.
        """
        settled = self.status is not RolloutStatus.IN_PROGRESS
        attempts = _SAVE_ATTEMPTS if settled and not self._deferring else 1
        for attempt in range(1, attempts + 1):  # bounded: a store that keeps failing
            try:
                self._history.save(self.record())
            except Exception as exc:  # a user's history may raise anything; the rollout goes on
                _log.warning(
                    "rollout %s: the deployment history could not be saved (attempt %d of "
                    "%d): %s: %s",
                    self.id,
                    attempt,
                    attempts,
                    type(exc).__name__,
                    exc,
                )
                if attempt < attempts:
                    self._clock.sleep(_SAVE_BACKOFF * 2 ** (attempt - 1))
            else:
                self._saved = True
                return True
        self._saved = False
        if settled:
            _log.error(
                "rollout %s %s, but its stored record still lags behind (rollout.saved is "
                "False); rollout.save() or rollout.finish() tries again",
                self.id,
                self.status.value,
            )
        return False

    @contextlib.contextmanager
    def deferred_saves(self) -> Iterator[None]:
        """Within this block a failed save is tried once, even once the rollout settled.

        For a caller that records another event after the block (whose save tries again,
        with the retries), such as :func:`~modelship.monitor.watch`: with the history's
        store down, each event of a settled rollout would otherwise sleep through the
        retries (1 s, then 2 s), delaying the next evaluation and a rollback with it.

        Examples
        --------
        >>> from modelship.deploy import BlueGreen, EventKind
        >>> from modelship.testing import InMemoryDeployer
        >>> dep = InMemoryDeployer()
        >>> rollout = BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
        >>> with rollout.deferred_saves():
        ...     rollout.event(EventKind.MONITOR, "checked")
        >>> rollout.event(EventKind.MONITOR, "done")  # saved, retried if need be
        >>> rollout.saved
        True
        """
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1

    # --- guarded deployer calls ---------------------------------------------------------

    def call(self, what: str, fn: Callable[..., _T], *args: Any) -> tuple[bool, _T | None]:
        """Run a deployer call; an exception is recorded and answered as ``(False, None)``."""
        try:
            return True, fn(*args)
        except Exception as exc:  # a deployer may raise anything; it is recorded, not lost
            self.event(
                EventKind.ERROR,
                f"{what} raised {type(exc).__name__}: {exc}",
                call=what,
                error=type(exc).__name__,
            )
            return False, None

    def observe(self) -> DeployerState | None:
        """The deployer's state, or None (recorded) if it could not be read.

        An answer that is not a :class:`DeployerState` (a dict, None) is a failed call,
        recorded as one: read as a state it would fail half-way through an abort.
        """
        ok, state = self.call("state()", self._deployer.state)
        if ok and not isinstance(state, DeployerState):
            self.event(
                EventKind.ERROR,
                f"state() answered {type(state).__name__}, not a DeployerState",
                call="state()",
                error="TypeError",
            )
            return None
        return state if ok else None

    def route_all_to(
        self, slot: str, why: str, attempts: int = 3, raised: list[Exception] | None = None
    ) -> bool:
        """Send all traffic to ``slot``, retrying a failing call a bounded number of times;
        what each failed attempt raised is added to ``raised`` (if given)."""

        def set_traffic(weights: Mapping[str, int]) -> None:
            try:
                self._deployer.set_traffic(weights)
            except Exception as exc:
                if raised is not None:
                    raised.append(exc)
                raise

        for attempt in range(1, attempts + 1):
            ok, _ = self.call(f"set_traffic({{{slot!r}: 100}})", set_traffic, {slot: 100})
            if ok:
                self.event(
                    EventKind.TRAFFIC,
                    f"all traffic to {slot}: {why}",
                    weights={slot: 100},
                    attempt=attempt,
                )
                return True
        return False

    def scale_down(self, slot: str, why: str) -> bool:
        """Remove ``slot`` if it receives no traffic (checked first; the deployer checks too)."""
        state = self.observe()
        current = state.slot(slot) if state is not None else None
        if state is None or (current is not None and current.weight > 0):
            self.event(
                EventKind.ERROR,
                f"{slot} kept: it still receives traffic or the state could not be read",
                slot=slot,
            )
            return False
        ok, _ = self.call(f"remove({slot!r})", self._deployer.remove, slot)
        if ok:
            self.event(EventKind.SCALED_DOWN, f"{slot} removed: {why}", slot=slot)
        return ok

    def move_alias(self, to: str, expected: str | None) -> str | None:
        """Point the registry alias at ``to`` if it still points at ``expected``.

        Returns None once the alias names ``to`` (or there is no alias to move), else why
        it could not be moved: someone else moved it (:class:`Conflict`, not retried: theirs
        stands), or the store failed :data:`_ALIAS_ATTEMPTS` times. A promotion aborts on
        that answer, since the registry must tell which version serves.
        """
        registry = self._deployer.registry
        if self._alias is None or registry is None:
            return None
        for attempt in range(1, _ALIAS_ATTEMPTS + 1):  # bounded: a store that keeps failing
            try:
                self._alias_begun = (to, expected)
                if registry.set_alias(self.model, self._alias, to, expected=expected) == to:
                    # Nothing written (set_alias is idempotent): it named the version already,
                    # by another writer's move (or, after a failed attempt, by that attempt's
                    # write, which landed: then the move is this rollout's, to be taken
                    # back on an abort).
                    if attempt == 1:
                        self._alias_begun = None
                    self.event(
                        EventKind.ALIAS,
                        f"alias {self._alias!r} already points to {to}",
                        alias=self._alias,
                        to=to,
                        rollout=self.id,
                    )
                    return None
                break
            except Conflict as exc:  # someone else moved it: theirs stands, not retried
                self._alias_begun = None  # a compare-and-swap that failed wrote nothing
                self.event(
                    EventKind.ERROR,
                    f"alias {self._alias!r} not moved: {exc}",
                    alias=self._alias,
                    to=to,
                    expected=expected,
                )
                return (
                    f"alias {self._alias!r} was not moved to {to}: it no longer names "
                    f"{expected} (someone else moved it during the rollout): {exc}"
                )
            except (OSError, ModelshipError) as exc:  # the store failed: try again
                self.event(
                    EventKind.ERROR,
                    f"alias {self._alias!r} not moved (attempt {attempt} of "
                    f"{_ALIAS_ATTEMPTS}): {exc}",
                    alias=self._alias,
                    to=to,
                    expected=expected,
                    attempt=attempt,
                )
                if attempt == _ALIAS_ATTEMPTS:
                    return (
                        f"alias {self._alias!r} could not be moved to {to} in "
                        f"{_ALIAS_ATTEMPTS} attempts: {type(exc).__name__}: {exc}"
                    )
        self.event(
            EventKind.ALIAS,
            f"alias {self._alias!r} moved to {to} by rollout {self.id}",
            alias=self._alias,
            to=to,
            expected=expected,
            rollout=self.id,
        )
        return None

    def move_alias_back(self) -> None:
        """Undo the alias move :meth:`move_alias` began, if it happened (an abort calls this).

        A move cut short (Ctrl-C, an error the store was not expected to raise) may have
        been written before it was cut: the alias goes back to what it named before if it
        still names this rollout's version, as a compare-and-swap, so a move by anyone
        else stands. A failure is recorded, not raised: the abort goes on.
        """
        begun, self._alias_begun = self._alias_begun, None
        registry = self._deployer.registry
        if begun is None or registry is None or self._alias is None:
            return
        to, before = begun
        back = f"moved back to {before}" if before is not None else "removed (it named none before)"
        try:
            if registry.aliases(self.model).get(self._alias) != to:
                return  # the move was never written, or someone moved it since: theirs stands
            if before is None:
                registry.remove_alias(self.model, self._alias, expected=to)
            else:
                registry.set_alias(self.model, self._alias, before, expected=to)
        except Exception as exc:  # the abort goes on; the history says what the alias names
            self.event(
                EventKind.ERROR,
                f"alias {self._alias!r} may still name {to}: it could not be {back}: "
                f"{type(exc).__name__}: {exc}",
                alias=self._alias,
                to=before,
                expected=to,
            )
            return
        self.event(
            EventKind.ALIAS,
            f"alias {self._alias!r} {back} by rollout {self.id}, which did not promote",
            alias=self._alias,
            to=before,
            expected=to,
            rollout=self.id,
        )

    def open_undo_window(self, seconds: float) -> None:
        """Start the undo window (strategies call this right after promotion)."""
        self._undo_deadline = self._clock.monotonic() + seconds
        self.undo_until = self._clock.wall() + timedelta(seconds=seconds)

    def _slot_replaced(self, by: str) -> bool:
        """The previous slot was applied over (by rollout ``by``): close the undo window
        and save the record; whether the stored record now says so.

        The save is tried once (as in :meth:`deferred_saves`): the deploy that replaces the
        slot must not sleep through retries, and it records a failure itself. A record
        whose save failed keeps :attr:`saved` False, and :meth:`finish` tries again.
        """
        if self.status is not RolloutStatus.SUCCEEDED or not self._close_undo_window():
            return True
        _log.info(
            "rollout %s: the undo window closed: rollout %s replaces %s in %s",
            self.id,
            by,
            self.previous_version,
            self.previous_slot,
        )
        with self.deferred_saves():
            return self.save()

    def _close_undo_window(self) -> bool:
        """End the undo window now; whether :attr:`undo_until` changed (then it needs saving).

        The record keeps when the window closed, not when it would have: a reader of the
        history must not take a rollback for one switch once the previous slot is gone.
        """
        self._undo_deadline = None
        now = self._clock.wall()
        if self.undo_until is None or self.undo_until <= now:
            return False
        self.undo_until = now
        return True

    # --- undo ---------------------------------------------------------------------------

    def rollback(self) -> Rollout:
        """Put the previous version back in service; the rollout now serving is returned.

        Within the undo window this is one traffic switch back to the previous slot, once
        it is checked healthy (a probe, asked first) and ready (waited for at most
        :data:`_SWITCH_BACK_READY_WAIT` s, or the progress deadline if shorter); the failed
        version's slot is then removed. After the window (or if the previous slot is gone,
        unhealthy or not ready) the previous version is redeployed through the strategy's
        normal path and that new rollout is returned.

        Raises
        ------
        RollbackUnavailable
            The rollout did not promote, was already rolled back, had no previous
            version (the first deployment, or one that changed nothing: its version
            already served), or no longer serves (a later rollout replaced its version, so
            undoing this one would undo that one); its previous version was itself rolled
            back since it last succeeded in the environment of the alias it moved (see
            :func:`condemning_rollout`: a rollback after the undo window makes the version
            rolled back the new rollout's previous one); or, after the undo window (or with
            the previous slot unusable), its previous version was its own (a spec change:
            the spec it ran with before is not recorded, deploy the version with the spec
            you want), or was archived or purged from the registry (restore it first).
            Nothing was changed; the last two reasons are also recorded in the history (an
            ``error`` event).
        RolloutAborted
            Within the undo window, the previous slot was ready and healthy but the switch
            back failed (``set_traffic`` raised in every attempt: a platform's API down for
            a while), and the state read back shows the previous slot still holding the
            previous version without all the traffic, or cannot be read. Nothing is
            redeployed or scaled down and the undo window stays open, so calling
            :meth:`rollback` again once the deployer answers is still one switch; the
            failure is recorded (an ``error`` event) and ``rollout`` is this rollout, still
            succeeded. A switch that raised but took effect (the state read back shows all
            the traffic on the previous slot) is a rollback that succeeded; one whose
            previous slot is gone meanwhile (``SlotNotFound``, or the state read back says
            so) redeploys. Also what a redeploy raises when it aborts.
        RolloutInProgress
            Another rollout holds the deployer's rollout lock; nothing was changed.

        Anything else the redeploy raises (a registry that is gone: ``ModelNotFound``,
        ``RegistryNotFound``) goes on unchanged, recorded as an ``error`` event.
        """
        with exclusive(self._deployer, f"rollback of {self.model} {self.version}"):
            return self._rollback()

    def _rollback(self) -> Rollout:
        if self.status is not RolloutStatus.SUCCEEDED:
            raise RollbackUnavailable(
                f"rollout {self.id} is {self.status.value}; only a succeeded rollout can be "
                "rolled back (an aborted one already left the previous version serving)"
            )
        if self.previous_version is None or self.previous_slot is None:
            # A rollout that found its version already serving (a deploy run again) is
            # recorded with no previous version, and never routed any traffic.
            if not any(event.kind is EventKind.TRAFFIC for event in self._events):
                raise RollbackUnavailable(
                    f"rollout {self.id} changed nothing: {self.model} {self.version} already "
                    "served with all the traffic. Roll back the rollout that deployed "
                    f"{self.version}, or deploy the version you want"
                )
            raise RollbackUnavailable(
                f"rollout {self.id} was the first deployment of {self.model}: there is no "
                "previous version; deploy the version you want instead"
            )
        # Check, then act: safe because rollback() holds the deployer's rollout lock from
        # this look at the state until the switch back or the redeploy is done (the
        # redeploy takes it again as its holder), so no other rollout can replace the
        # version between the two. A deployer without the lock is unserialised, as every
        # rollout on it is.
        self._check_still_serves()
        self._check_previous_not_condemned()
        if self.undo_window_open and self._switch_back():
            return self
        self._check_previous_is_another_version()
        self.event(
            EventKind.ROLLBACK,
            f"redeploying {self.previous_version} through the "
            f"{self.strategy} path (undo window closed or previous slot unusable)",
            version=self.previous_version,
        )
        try:
            replacement = self._redeploy(self.model, self.previous_version)
        except VersionNotFound as exc:
            if isinstance(exc, ModelNotFound):  # no such model, or no registry there at all
                self._redeploy_failed(exc)  # (the store unmounted): not a purged version
                raise
            # Archived or purged: the redeploy changed nothing.
            self.event(
                EventKind.ERROR,
                f"rollback failed: {self.previous_version} cannot be redeployed: "
                f"{type(exc).__name__}: {exc}",
                version=self.previous_version,
                error=type(exc).__name__,
            )
            if isinstance(exc, ArchivedVersion):
                gone = "was archived"
                then = (
                    f"restore it first (registry.restore({self.model!r}, "
                    f"{self.previous_version!r}) or `modelship registry restore`), then roll "
                    "back again, or deploy the version you want"
                )
            else:
                gone = "is no longer in the registry (purged)"
                then = "register it again, or deploy the version you want"
            raise RollbackUnavailable(
                f"rollout {self.id} cannot be rolled back: its previous version {self.model} "
                f"{self.previous_version} {gone}, and a rollback after the undo window "
                f"redeploys it; nothing was changed: {then}"
            ) from exc
        except Exception as exc:  # the redeploy's own error goes on, recorded here too
            self._redeploy_failed(exc)
            raise
        self.status = RolloutStatus.ROLLED_BACK
        self._close_undo_window()  # saved with the next event
        self.replaced_by = replacement
        self.event(
            EventKind.ROLLBACK, f"rolled back by rollout {replacement.id}", rollout=replacement.id
        )
        return replacement

    def _check_previous_not_condemned(self) -> None:
        """Raise :class:`RollbackUnavailable` if the previous version was itself rolled
        back since it last succeeded (see :func:`condemning_rollout`; only the rollouts of
        the alias this one moved count, every rollout if it moved none).

        A rollback after the undo window redeploys the previous version as a new rollout,
        whose own previous version is the one just rolled back: rolling that one back
        would serve the condemned version again. A history that cannot be read does not
        stop a rollback (it is what restores service): the rollback goes on to the
        previous version, and an ``error`` event says the check could not be made.
        """
        previous = self.previous_version
        assert previous is not None  # checked by _rollback()
        # The alias it moves, the one its started event records: a rollback in another
        # environment sharing the history must not block this one.
        alias = self.moved_alias
        try:
            records = stored_records(self._history, self.model)
            condemned = condemning_rollout(records, previous, alias=alias)
        except Exception as exc:  # a user's history may raise anything; service comes first
            self.event(
                EventKind.ERROR,
                f"whether {previous} was itself rolled back could not be checked: the "
                f"deployment history could not be read ({type(exc).__name__}: {exc}); "
                f"rolling back to it",
                version=previous,
                error=type(exc).__name__,
            )
            return
        if condemned is None:
            return
        raise RollbackUnavailable(
            f"rollout {self.id} cannot be rolled back: its previous version {self.model} "
            f"{previous} was itself rolled back (its rollout {condemned.id} is "
            f"{condemned.status.value}) and no rollout of {previous} succeeded since: rolling "
            f"back would serve it again. Nothing was changed; deploy the version you want "
            f"instead ({previous} too, once it is fixed)"
        )

    def _check_previous_is_another_version(self) -> None:
        """Raise :class:`RollbackUnavailable` (recorded) if the previous version is this
        rollout's own, once the switch back is not possible.

        Such a rollout deployed the serving version again (with another spec, or over an
        unhealthy one). Without the switch back, a rollback redeploys the previous version
        through the strategy, with this rollout's spec: the version serves already, so
        nothing would change but the rollout would be reported rolled back. The spec it
        ran with before is not recorded (only its digest), so it cannot be redeployed.
        """
        if self.previous_version != self.version:
            return
        why = (
            f"its previous version is its own ({self.model} {self.version}, run with "
            f"another spec or deployed again over itself), and without the switch back "
            f"(undo window closed, or the previous slot unusable) a rollback redeploys the "
            f"previous version with this rollout's spec: the spec it ran with before is not "
            f"recorded and cannot be redeployed from here"
        )
        self.event(EventKind.ERROR, f"rollback refused: {why}", version=self.previous_version)
        raise RollbackUnavailable(
            f"rollout {self.id} cannot be rolled back: {why}. Nothing was changed; deploy "
            f"{self.version} with the spec you want"
        )

    def _redeploy_failed(self, exc: Exception) -> None:
        """Record that the rollback's redeploy raised ``exc`` (which goes on unchanged)."""
        self.event(
            EventKind.ERROR,
            f"rollback failed: redeploying {self.previous_version} raised "
            f"{type(exc).__name__}: {exc}",
            version=self.previous_version,
            error=type(exc).__name__,
        )

    def _check_still_serves(self) -> None:
        """Raise :class:`RollbackUnavailable` unless this rollout's slot still holds its
        version and receives the traffic.

        Its server may have died (that is when a rollback is needed most), so readiness is
        not asked; traffic is. A slot that holds another version, or gets no traffic, was
        replaced by a later rollout: rolling this one back would undo that one instead.
        """
        try:  # failing here changes nothing: it raises, recorded
            state = read_state_before(self._deployer, f"the rollback of rollout {self.id}")
        except DeployError as exc:
            self.event(
                EventKind.ERROR,
                f"rollback failed before anything changed: {exc}",
                call="state()",
                error=type(exc.__cause__ or exc).__name__,
            )
            raise
        held = state.slot(self.slot)
        if held is not None and (held.model, held.version) == (self.model, self.version):
            if held.weight > 0:
                return
            now = f"{self.slot} still holds {self.version} but receives no traffic"
        elif held is None:
            now = f"{self.slot} holds no version"
        else:
            now = f"{self.slot} holds {held.version}"
        serving = state.serving()
        where = (
            f"{serving.version} serves from {serving.slot}"
            if serving is not None
            else "no ready slot serves"
        )
        raise RollbackUnavailable(
            f"rollout {self.id} put {self.model} {self.version} into {self.slot}, but {now} "
            f"({where}): a later rollout replaced it, and rolling this one back would undo "
            "that one; nothing was changed. Roll back the rollout now serving, or deploy "
            "the version you want"
        )

    def _switch_back(self) -> bool:
        prev = self.previous_slot
        assert prev is not None  # checked by rollback()
        state = self.observe()
        held = state.slot(prev) if state is not None else None
        if held is None or (held.model, held.version) != (self.model, self.previous_version):
            self.event(
                EventKind.ROLLBACK,
                f"previous slot {prev} no longer holds {self.previous_version}",
                slot=prev,
            )
            return False
        # Health first: a probe now, where wait_ready polls until its timeout. A previous
        # slot that crashed answers unhealthy at once, and the redeploy starts at once,
        # rather than after a wait as long as the progress deadline while the version
        # being rolled back keeps all the traffic.
        ok_h, health = self.call(f"health({prev!r})", self._deployer.health, prev)
        # Answers of another type (a truthy text, a dict) are failed checks, not a pass.
        health = health if ok_h and isinstance(health, SlotHealth) else None
        ready = health is not None and health.healthy and self._ready_soon(prev)
        if not (ready and health is not None and health.healthy):
            self.event(
                EventKind.ROLLBACK,
                f"previous slot {prev} is not ready and healthy; traffic stays where it is",
                slot=prev,
                ready=ready,
                health=None if health is None else health.detail,
            )
            return False
        raised: list[Exception] = []
        why = f"rollback of {self.version} to {self.previous_version}"
        if not self.route_all_to(prev, why, raised=raised) and not self._switched_anyway(
            prev, raised
        ):
            return False  # the previous slot is gone: the redeploy restores the service
        self.status = RolloutStatus.ROLLED_BACK
        self._close_undo_window()  # saved with the next event
        self.event(
            EventKind.ROLLBACK,
            f"rolled back to {self.previous_version} in {prev} by one traffic switch",
            slot=prev,
            version=self.previous_version,
        )
        try:
            not_moved = self.move_alias(self.previous_version or "", expected=self.version)
        except BaseException as exc:
            # The traffic is back (the safe side); the alias move was cut short (Ctrl-C, an
            # error the store was not expected to raise). Say so in the record, which this
            # event saves, so whoever follows the alias is not left guessing; then go on out.
            self.event(
                EventKind.ERROR,
                f"rolled back to {self.previous_version}, but the move of alias "
                f"{self._alias!r} back to it was cut short ({type(exc).__name__}): it may "
                f"still name {self.version}; set it with `modelship registry alias`",
                alias=self._alias,
                to=self.previous_version,
                expected=self.version,
            )
            raise
        if not_moved is not None:
            # The traffic is back, which is what a rollback is for; the registry lags
            # behind and says so nowhere else than here.
            self.event(
                EventKind.ERROR,
                f"rolled back to {self.previous_version}, but {not_moved}; set it with "
                "`modelship registry alias`",
                alias=self._alias,
                to=self.previous_version,
                expected=self.version,
            )
        self.scale_down(self.slot, f"{self.version} was rolled back")
        return True

    def _switched_anyway(self, prev: str, raised: Sequence[Exception]) -> bool:
        """After the switch back to ``prev`` failed in every attempt (``raised``): whether
        it took effect all the same, from the state read back; or False when ``prev`` can no
        longer take the traffic, so the redeploy runs; else raise (recorded).

        ``set_traffic`` raising does not tell what it did: a read timeout after the write
        applied it, and a slot evicted after its probe makes it raise
        :class:`SlotNotFound`. So the state is read back, and:

        - ``prev`` holds the previous version and all the traffic: the switch was applied;
          True, and the rollback goes on as a switch that answered (the alias, the removal
          of the failed slot, the record).
        - ``prev`` holds the previous version and all the traffic, not ready: it is waited
          for once more (as before the switch, :data:`_SWITCH_BACK_READY_WAIT`); ready, the
          switch took effect (True); else the previous version is redeployed (False): the
          traffic already left the failed slot, so a later rollback would be refused.
        - ``prev`` is gone, holds another version or is not ready without traffic: no
          switch back to it can work, and the previous version is redeployed, as when it
          was found so before the switch (False).
        - ``prev`` holds the previous version, ready, without all the traffic: the routing
          failed, not the previous version (a platform's API down for a while): a redeploy
          would go through the same API, and its abort would remove the one slot holding
          the previous version ready. :class:`RolloutAborted` is raised, nothing else
          changed, the undo window open: the next rollback is still one switch.
        - the state cannot be read back: what serves is not known, so nothing more is
          done and :class:`RolloutAborted` says so (a redeploy or a removal chosen blind
          may take away the one slot holding the previous version), unless the switch
          raised :class:`SlotNotFound`: the deployer said ``prev`` is gone, and the
          redeploy runs (its first look raises, changing nothing, while the state still
          cannot be read).
        """
        gone = any(isinstance(exc, SlotNotFound) for exc in raised)
        state = self.observe()
        if state is None:
            if not gone:
                raise self._switch_back_failed(prev, None)
            self.event(
                EventKind.ROLLBACK,
                f"previous slot {prev} is gone (set_traffic raised SlotNotFound, and the "
                "state could not be read back): redeploying",
                slot=prev,
            )
            return False
        held = state.slot(prev)
        if held is None or (held.model, held.version) != (self.model, self.previous_version):
            now = "holds no version" if held is None else f"holds {_shown(held.version)}"
            self.event(
                EventKind.ROLLBACK,
                f"the switch back to {prev} failed, and {prev} now {now}, not "
                f"{self.previous_version}: redeploying",
                slot=prev,
            )
            return False
        live = [s.slot for s in state.slots if s.weight > 0]
        # Applied, but read back not ready (a probe failing once, or a server that died):
        # waited for once more, as before the switch. Ready: the switch took effect. Not:
        # the traffic already left the failed slot, so the next rollback would be refused
        # ("a later rollout replaced it"): the previous version is redeployed.
        if live == [prev] and not held.ready and not self._ready_soon(prev):
            self.event(
                EventKind.ROLLBACK,
                f"the switch back to {prev} applied, but {prev} is not ready: redeploying",
                slot=prev,
            )
            return False
        if live == [prev]:
            self.event(
                EventKind.TRAFFIC,
                f"all traffic to {prev}: rollback of {self.version} to "
                f"{self.previous_version} (set_traffic raised, but the state read back shows "
                "the switch applied)",
                weights={prev: 100},
                read_back=True,
            )
            return True
        if not held.ready and prev not in live:
            self.event(
                EventKind.ROLLBACK,
                f"the switch back to {prev} failed, and {prev} is no longer ready: redeploying",
                slot=prev,
            )
            return False
        raise self._switch_back_failed(prev, state)

    def _ready_soon(self, prev: str) -> bool:
        """Whether ``prev`` answers ready within :data:`_SWITCH_BACK_READY_WAIT` seconds (the
        progress deadline, if shorter); an answer of another type is a failed check."""
        wait = min(_SWITCH_BACK_READY_WAIT, self._progress_deadline)
        ok, answer = self.call(f"wait_ready({prev!r})", self._deployer.wait_ready, prev, wait)
        return ok and isinstance(answer, (bool, np.bool_)) and bool(answer)

    def last_error(self, call: str, *, since: int = 0) -> str:
        """The message of the last ``error`` event recorded for a call starting with
        ``call`` (as :meth:`call` records it; ``""``: any call), among the events from
        number ``since`` on, cut to 500 characters; ``""`` if none.

        Examples
        --------
        >>> from modelship.deploy import BlueGreen, RolloutAborted
        >>> from modelship.testing import Fault, InMemoryDeployer
        >>> dep = InMemoryDeployer(faults=(Fault("apply"),))
        >>> try:
        ...     BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
        ... except RolloutAborted as exc:
        ...     print(exc.rollout.last_error("apply("))
        apply('blue') raised InjectedFault: injected fault: apply('blue', 'fraud', '1') raised
        """
        for event in reversed(self._events[since:]):
            if event.kind is EventKind.ERROR and str(event.data.get("call", "")).startswith(call):
                text = event.message
                return text if len(text) <= 500 else text[:497] + "..."
        return ""

    def _switch_back_failed(self, prev: str, state: DeployerState | None) -> RolloutAborted:
        """The rollback's error once the switch back to ``prev`` failed in every attempt
        and ``state`` (read back after it; None if it could not be) shows it did not take
        effect, recorded: the undo window stays open and ``prev`` is left as it is (see
        :meth:`_switched_anyway`)."""
        # The last attempt's error, as call() recorded it (the CLI shows the message, not
        # the history), cut to a bounded length; then what the state read back says.
        said = self.last_error("set_traffic(")
        cause = f" ({said})" if said else ""
        if state is None:
            now = (
                "the deployer's state could not be read back, so whether any traffic moved "
                f"is not known; look at deployer.state(): if {prev} holds "
                f"{self.previous_version} with all the traffic, the switch was applied"
            )
        else:
            held = state.slot(prev)
            assert held is not None  # checked by _switched_anyway
            now = (
                f"read back: {describe_traffic(state)}, and {prev} holds "
                f"{self.previous_version}" + ("" if held.ready else " (not ready)")
            )
        why = (
            f"switching traffic back to {prev} failed in every attempt{cause}; {now}. "
            f"Nothing was redeployed or scaled down, and the undo window stays open"
        )
        self.event(
            EventKind.ERROR,
            f"rollback failed: {why}",
            slot=prev,
            version=self.previous_version,
        )
        until = f" (until {self.undo_until.isoformat()})" if self.undo_until is not None else ""
        return RolloutAborted(
            f"rollback of rollout {self.id} ({self.model} {self.version} back to "
            f"{self.previous_version}) aborted: {why}{until}. Call rollback() again once the "
            f"deployer answers (still one traffic switch), or send the traffic yourself with "
            f"deployer.set_traffic({{{prev!r}: 100}})",
            self,
        )

    def finish(self) -> None:
        """Close the undo window now: the previous slot is scaled down.

        After this, :meth:`rollback` redeploys the previous version instead of switching,
        and the record's ``undo_until`` is the time the window closed. Does nothing to the
        deployer if there is no previous slot or the rollout did not succeed. A record
        whose last save failed (:attr:`saved` False) is saved again. Raises
        :class:`RolloutInProgress`, changing nothing, while another rollout holds the
        deployer's rollout lock.
        """
        unsaved = not self._saved
        if self.status is RolloutStatus.SUCCEEDED and self.previous_slot is not None:
            with exclusive(
                self._deployer, f"end of the undo window of {self.model} {self.version}"
            ):
                unsaved = self._close_undo_window() or unsaved
                events = len(self._events)
                state = self.observe()
                held = state.slot(self.previous_slot) if state is not None else None
                if held is not None and (held.model, held.version) == (
                    self.model,
                    self.previous_version,
                ):
                    self.scale_down(self.previous_slot, "undo window closed")
                if len(self._events) > events:  # that event saved (or retried) the record
                    unsaved = False
        if unsaved:
            self.save()

    def finish_when_due(self) -> None:
        """Wait for the undo window to end (sleeping on the strategy's clock), then finish."""
        if self._undo_deadline is not None:
            self._clock.sleep(self._undo_deadline - self._clock.monotonic())
        self.finish()


class RolloutAborted(DeployError):
    """A rollout stopped before promotion; traffic is back on the previous version.

    ``rollout`` is the aborted :class:`~modelship.deploy.Rollout`; its history says why.

    Examples
    --------
    >>> from modelship.deploy import BlueGreen, RolloutAborted
    >>> from modelship.testing import Fault, FaultEffect, InMemoryDeployer
    >>> dep = InMemoryDeployer(faults=(Fault("apply", FaultEffect.NEVER_READY),))
    >>> try:
    ...     BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    ... except RolloutAborted as exc:
    ...     print(exc.rollout.status.value, "-", exc.rollout.history[-1].message)
    aborted - blue did not become ready within the progress deadline of 600 s
    """

    def __init__(self, message: str, rollout: Rollout) -> None:
        super().__init__(message)
        self.rollout = rollout
