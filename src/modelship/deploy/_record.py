"""The record of a rollout: its status, its timed events, and the document that stores them.

These are plain data, written to the deployment history (:mod:`modelship.deploy._history`)
and read back by :class:`~modelship.deploy.Rollout`, the history, and the CLI; this module
imports nothing else from :mod:`modelship.deploy` but its errors and clock, so both the
rollout and the history can use it.
"""

from __future__ import annotations

import enum
import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from modelship.deploy._clock import Clock
from modelship.deploy._errors import HistoryError

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


def _utc(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


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

    at: datetime = attrs.field(converter=_utc)
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
    def from_dict(cls, doc: Mapping[str, Any]) -> RolloutEvent:
        """The event :meth:`to_dict` wrote."""
        return cls(doc["at"], doc["kind"], doc["message"], dict(doc.get("data", {})))


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

    id: str
    model: str
    version: str
    strategy: str
    status: RolloutStatus = attrs.field(converter=RolloutStatus)
    slot: str
    previous_version: str | None
    previous_slot: str | None
    started_at: datetime = attrs.field(converter=_utc)
    undo_until: datetime | None = None
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
        if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
            got = doc.get("schema") if isinstance(doc, Mapping) else type(doc).__name__
            raise HistoryError(
                f"deployment record {where} has schema {got!r}; this modelship reads schema "
                f"{SCHEMA}: upgrade modelship, or remove the record if it is damaged"
            )
        try:
            until = doc["undo_until"]
            return cls(
                id=str(doc["id"]),
                model=str(doc["model"]),
                version=str(doc["version"]),
                strategy=str(doc["strategy"]),
                status=doc["status"],
                slot=str(doc["slot"]),
                previous_version=doc["previous_version"],
                previous_slot=doc["previous_slot"],
                started_at=doc["started_at"],
                undo_until=None if until is None else _utc(until),
                events=tuple(RolloutEvent.from_dict(e) for e in doc["events"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HistoryError(
                f"deployment record {where} lacks or mangles a field ({exc!r}); it was damaged "
                "in storage: remove it to read the others"
            ) from exc

    def to_json(self) -> str:
        """This record as a JSON text."""
        return json.dumps(self.to_dict(), indent=2)


def new_rollout_id(clock: Clock) -> str:
    """A rollout id that sorts by start time: ``20260101T120000123456Z-1a2b3c4d``."""
    return clock.wall().strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)
