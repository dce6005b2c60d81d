"""The record of a rollout: its status, its timed events, and the document that stores them.

These are plain data, written to the deployment history (:mod:`modelship.deploy._history`)
and read back by :class:`~modelship.deploy.Rollout`, the history, and the CLI; this module
imports nothing else from :mod:`modelship.deploy` but its errors and clock, so both the
rollout and the history can use it. A record renders as every report does
(:meth:`RolloutRecord.to_report`, :mod:`modelship.report`).
"""

from __future__ import annotations

import enum
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from modelship._shown import brief
from modelship.deploy._clock import Clock
from modelship.deploy._errors import HistoryError
from modelship.errors import ConfigError, ModelshipError
from modelship.report import Entry, Report, Section, render_html, render_markdown

__all__ = [
    "SCHEMA",
    "EventKind",
    "RolloutEvent",
    "RolloutRecord",
    "RolloutStatus",
    "new_rollout_id",
]

SCHEMA = 1


class RolloutStatus(enum.Enum):
    """Where a rollout stands.

    Examples
    --------
    >>> RolloutStatus("rolled_back")
    <RolloutStatus.ROLLED_BACK: 'rolled_back'>
    """

    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    ABORTED = "aborted"
    ROLLED_BACK = "rolled_back"


class EventKind(enum.Enum):
    """The kinds of decision a rollout records.

    Examples
    --------
    >>> EventKind.GATE.value
    'gate'
    """

    STARTED = "started"
    APPLIED = "applied"
    READY = "ready"
    HEALTH = "health"
    TRAFFIC = "traffic"
    PAUSE = "pause"
    GATE = "gate"
    ALIAS = "alias"
    SCALED_DOWN = "scaled_down"
    ERROR = "error"
    ABORTED = "aborted"
    SUCCEEDED = "succeeded"
    ROLLBACK = "rollback"
    MONITOR = "monitor"


_DAMAGED = "it was damaged in storage: remove it to read the others"


def _aware(value: Any) -> datetime:
    """A time that carries its zone, from a datetime or ISO 8601 text; a naive one is
    refused, since records are ordered by time and naive and aware times do not compare."""
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        at = None
    if not isinstance(at, datetime):
        raise ConfigError(f"a rollout time must be a datetime or ISO 8601 text, got {brief(value)}")
    if at.utcoffset() is None:
        raise ConfigError(
            f"a rollout time must carry its time zone, got the naive {at.isoformat()!r}; "
            "use e.g. datetime.now(timezone.utc)"
        )
    return at


def _aware_or_none(value: Any) -> datetime | None:
    return None if value is None else _aware(value)


def _field(doc: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise HistoryError(f"{where} lacks its field {key!r}; {_DAMAGED}")
    return doc[key]


def _wrong(where: str, key: str, value: Any, wanted: str) -> HistoryError:
    return HistoryError(f"{where}: {key} is {brief(value)}, not {wanted}; {_DAMAGED}")


def _read_text(
    doc: Mapping[str, Any], key: str, where: str, *, optional: bool = False, empty: bool = False
) -> Any:
    """``doc[key]``, which must be text (non-empty unless ``empty``), or null if ``optional``."""
    value = _field(doc, key, where)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not (value or empty):
        wanted = "text" if empty else "non-empty text"
        raise _wrong(where, key, value, f"{wanted} or null" if optional else wanted)
    return value


def _read_time(doc: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    """``doc[key]`` as an aware datetime (ISO 8601 text with its zone), or null if ``optional``."""
    value = _field(doc, key, where)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _wrong(where, key, value, "ISO 8601 text")
    try:
        return _aware(value)
    except ConfigError as exc:  # not ISO 8601, or a naive time
        raise HistoryError(f"{where}: {key} {value!r}: {exc}; {_DAMAGED}") from None


_E = TypeVar("_E", bound=enum.Enum)


def _read_choice(doc: Mapping[str, Any], key: str, where: str, kind: type[_E]) -> _E:
    value = _field(doc, key, where)
    for member in kind:
        if isinstance(value, str) and member.value == value:
            return member
    raise _wrong(where, key, value, f"one of {[m.value for m in kind]}")


@attrs.frozen
class RolloutEvent:
    """One decision of a rollout: when, what kind, a sentence, and its inputs as data.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> event = RolloutEvent(datetime(2026, 1, 1, tzinfo=timezone.utc), EventKind.TRAFFIC,
    ...                      "green 10%", {"weights": {"blue": 90, "green": 10}})
    >>> RolloutEvent.from_dict(event.to_dict()) == event
    True
    """

    at: datetime = attrs.field(converter=_aware)
    kind: EventKind = attrs.field(converter=EventKind)
    message: str
    data: Mapping[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this event."""
        return {
            "at": self.at.isoformat(),
            "kind": self.kind.value,
            "message": self.message,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, doc: Any, *, where: str = "event") -> RolloutEvent:
        """The event :meth:`to_dict` wrote; anything else raises :class:`HistoryError`
        naming ``where`` and the field."""
        if not isinstance(doc, Mapping):
            raise _wrong(where, "the event", doc, "a JSON object")
        data = doc.get("data", {})
        if not isinstance(data, Mapping):
            raise _wrong(where, "data", data, "a JSON object")
        return cls(
            _read_time(doc, "at", where),
            _read_choice(doc, "kind", where, EventKind),
            _read_text(doc, "message", where, empty=True),
            dict(data),
        )


@attrs.frozen
class RolloutRecord:
    """A rollout as stored: who, what, where, how it ended, and every decision on the way.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> record = RolloutRecord(id="r1", model="fraud", version="2", strategy="blue-green",
    ...     status=RolloutStatus.SUCCEEDED, slot="green", previous_version="1",
    ...     previous_slot="blue", started_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> RolloutRecord.from_dict(record.to_dict()) == record
    True
    """

    id: str = attrs.field(validator=lambda _, __, value: _check_id(value))
    model: str
    version: str
    strategy: str
    status: RolloutStatus = attrs.field(converter=RolloutStatus)
    slot: str
    previous_version: str | None
    previous_slot: str | None
    started_at: datetime = attrs.field(converter=_aware)
    undo_until: datetime | None = attrs.field(default=None, converter=_aware_or_none)
    events: tuple[RolloutEvent, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict, with a schema number."""
        return {
            "schema": SCHEMA,
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "strategy": self.strategy,
            "status": self.status.value,
            "slot": self.slot,
            "previous_version": self.previous_version,
            "previous_slot": self.previous_slot,
            "started_at": self.started_at.isoformat(),
            "undo_until": None if self.undo_until is None else self.undo_until.isoformat(),
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, doc: Any, *, where: str = "document") -> RolloutRecord:
        """The record :meth:`to_dict` wrote; anything else raises :class:`HistoryError`."""
        schema = doc.get("schema") if isinstance(doc, Mapping) else None
        if type(schema) is not int or schema != SCHEMA:  # True == 1, but is no schema
            got = brief(schema) if isinstance(doc, Mapping) else type(doc).__name__
            raise HistoryError(
                f"deployment record {where} has schema {got}; this modelship reads schema "
                f"{SCHEMA}: upgrade modelship, or remove the record if it is damaged"
            )
        at = f"deployment record {where}"
        events = _field(doc, "events", at)
        if not isinstance(events, list | tuple):
            raise _wrong(at, "events", events, "a list of events")
        return cls(
            id=_check_id(_read_text(doc, "id", at), error=HistoryError, where=at),
            model=_read_text(doc, "model", at),
            version=_read_text(doc, "version", at),
            strategy=_read_text(doc, "strategy", at),
            status=_read_choice(doc, "status", at, RolloutStatus),
            slot=_read_text(doc, "slot", at),
            previous_version=_read_text(doc, "previous_version", at, optional=True),
            previous_slot=_read_text(doc, "previous_slot", at, optional=True),
            started_at=_read_time(doc, "started_at", at),
            undo_until=_read_time(doc, "undo_until", at, optional=True),
            events=tuple(
                RolloutEvent.from_dict(e, where=f"{at}, event {i}") for i, e in enumerate(events)
            ),
        )

    def to_json(self) -> str:
        """This record as a JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    @property
    def alias(self) -> str | None:
        """The registry alias this rollout moved or was to move, None when it names none.

        Read from the events: the ``started`` event records it (None without an alias or
        a registry); a record written before it did names it in its alias moves.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> when = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> started = RolloutEvent(when, EventKind.STARTED, "started", {"alias": "production"})
        >>> RolloutRecord(id="r1", model="fraud", version="2", strategy="blue-green",
        ...     status="succeeded", slot="green", previous_version=None, previous_slot=None,
        ...     started_at=when, events=(started,)).alias
        'production'
        """
        named = stated_alias(self.events)[1]
        return named if isinstance(named, str) else None

    def to_report(self) -> Report:
        """The rollout as a report: every format of :mod:`modelship.report` renders it.

        The title names the rollout's id, model, version, strategy and slot, the alias it
        moves and its outcome; each event is a section, in order, named by its time and
        kind, with its slot, its traffic weights and its message as the reason. The report
        passes only when the rollout succeeded (one in progress has not passed yet), and
        its JSON document is :meth:`to_dict`.

        An event's status says how it went: ``error`` for an error event, ``fail`` for an
        abort, an unhealthy slot or a gate deciding to abort, ``warn`` for a rollback and a
        gate holding on an answer that was not a pass, ``skip`` for a gate skipped (an
        initial deploy), ``pass`` otherwise.

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> from modelship.report import render_text
        >>> when = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> record = RolloutRecord(id="r1", model="fraud", version="2", strategy="blue-green",
        ...     status="succeeded", slot="green", previous_version="1", previous_slot="blue",
        ...     started_at=when, events=(
        ...         RolloutEvent(when, EventKind.TRAFFIC, "all traffic to green",
        ...                      {"weights": {"green": 100}}),
        ...         RolloutEvent(when, EventKind.SUCCEEDED, "2 serves from green")))
        >>> report = record.to_report()
        >>> report.title
        'rollout r1: fraud 2 by blue-green into green (was 1 in blue), succeeded'
        >>> print(render_text(report))
        PASS  001 2026-01-01 00:00:00+00:00 traffic: all traffic to green
        PASS  002 2026-01-01 00:00:00+00:00 succeeded: 2 serves from green
        passed (2 events: 2 pass)
        >>> report.sections[0].head.cells["weight"]
        'green 100'
        """
        was = (
            f" (was {self.previous_version} in {self.previous_slot})"
            if self.previous_version is not None
            else ""
        )
        alias = self.alias
        moves = f", alias {alias!r}" if alias is not None else ""
        outcome = self.status.value.replace("_", " ")
        return Report(
            title=(
                f"rollout {self.id}: {self.model} {self.version} by {self.strategy} "
                f"into {self.slot}{was}{moves}, {outcome}"
            ),
            passed=self.status is RolloutStatus.SUCCEEDED,
            sections=[
                Section(head=_event_entry(number, event))
                for number, event in enumerate(self.events, start=1)
            ],
            headings=("status", "slot", "weight", "reason"),
            item="event",
            package="modelship.deploy",
            document=self.to_dict(),
        )

    def _repr_html_(self) -> str:
        """The report's HTML table, for notebooks (see :meth:`to_report`)."""
        return render_html(self.to_report())

    def _repr_markdown_(self) -> str:
        """The report's Markdown, for notebooks that show Markdown (see :meth:`to_report`)."""
        return render_markdown(self.to_report())


#: The verdict an event of each kind shows in a report, when its data does not say more.
_KIND_STATUS = {EventKind.ERROR: "error", EventKind.ABORTED: "fail", EventKind.ROLLBACK: "warn"}

#: The verdict a gate event shows, by the decision it records.
_GATE_STATUS = {"abort": "fail", "skipped": "skip"}


def _event_status(event: RolloutEvent) -> str:
    """The verdict an event shows in a report (see :meth:`RolloutRecord.to_report`)."""
    data = event.data
    if event.kind is EventKind.HEALTH and data.get("healthy") is False:
        return "fail"
    if event.kind is EventKind.GATE:
        decision = _GATE_STATUS.get(str(data.get("decision")))
        # A gate that went on despite an answer that was not a pass (a hold) is a warning.
        return decision or ("pass" if data.get("verdict", "pass") == "pass" else "warn")
    return _KIND_STATUS.get(event.kind, "pass")


def _weights(data: Mapping[str, Any]) -> str:
    """The traffic weights of an event, ``blue 90, green 10``; empty when it sets none."""
    weights = data.get("weights")
    if not isinstance(weights, Mapping):
        return ""
    if not weights:  # a recreate stops traffic before the new version starts
        return "no traffic"
    return ", ".join(f"{slot} {weight}" for slot, weight in weights.items())


def _event_entry(number: int, event: RolloutEvent) -> Entry:
    at = event.at.isoformat(sep=" ", timespec="seconds")
    slot = event.data.get("slot")
    return Entry(
        # The event's number makes the name unique (two events can share a second): a
        # JUnit test case per event, none repeated, as CI pages merge repeated names.
        name=f"{number:03d} {at} {event.kind.value}",
        status=_event_status(event),
        reason=event.message,
        cells={
            "time": at,
            "event": event.kind.value,
            "slot": slot if isinstance(slot, str) else "",
            "weight": _weights(event.data),
        },
    )


#: A rollout id: a record is stored as ``deployments/<model>/<id>.json``, so an id is one
#: plain file name (``new_rollout_id``'s ids, or a user's own such as ``r1``).
_ROLLOUT_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}")


def _check_id(value: object, *, error: type[ModelshipError] = ConfigError, where: str = "") -> str:
    """``value`` if it is a rollout id; else ``error`` (a record saved under another id,
    such as ``a/b`` or ``''``, could not be read back, or made every read fail)."""
    if isinstance(value, str) and _ROLLOUT_ID.fullmatch(value):
        return value
    raise error(
        f"{where + ': ' if where else ''}rollout id {brief(value)} is not allowed: an id is "
        "1-128 letters, digits, '.', '_' or '-', starting with a letter or a digit "
        "(records are stored under deployments/<model>/<id>.json)"
    )


def new_rollout_id(clock: Clock) -> str:
    """A rollout id that sorts by start time: ``20260101T120000123456Z-1a2b3c4d``."""
    return clock.wall().strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


def stated_alias(events: Sequence[RolloutEvent]) -> tuple[bool, object]:
    """Whether a rollout's ``events`` say which alias it moved, and the alias they name.

    The ``started`` event says it (its ``alias``, None when the rollout moves none); a
    record written before it did says it only in the events of an alias move (``alias``
    and ``error`` events), which a rollout that never got to move its alias does not have.
    The value is as stored (the ``started`` event's may be None). Bounded: two passes over
    the events.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> stated_alias([RolloutEvent(when, EventKind.STARTED, "started", {"alias": None})])
    (True, None)
    >>> stated_alias([RolloutEvent(when, EventKind.ALIAS, "moved", {"alias": "staging"})])
    (True, 'staging')
    >>> stated_alias([])
    (False, None)
    """
    for event in events:
        if event.kind is EventKind.STARTED and "alias" in event.data:
            return True, event.data["alias"]
    for event in events:
        named = event.data.get("alias")
        if event.kind in (EventKind.ALIAS, EventKind.ERROR) and isinstance(named, str):
            return True, named
    return False, None
