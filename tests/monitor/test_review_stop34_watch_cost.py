"""ms.monitor.watch writes a bounded amount to the registry whatever its length.

Each rollout event rewrites the rollout's whole record in the registry. A watch that
recorded every evaluation wrote one record per evaluation, each longer than the last: the
cost of an evaluation grew with the number made before it (quadratic overall). Here the
registry's store counts what the deployment history writes, so no test is timed: the
writes of a watch must not grow with its number of evaluations, while the stored record
still tells what the watch decided, each change saved as it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

import modelship as ms
from modelship.deploy import BlueGreen, EventKind, Rollout, RolloutRecord
from modelship.deploy._history import RegistryHistory
from modelship.monitor import InMemorySource, RollbackPolicy
from modelship.monitor._watch import HISTORY_CHANGES
from modelship.testing import HookStore, InMemoryDeployer, MemoryStore

CONDITION = "error_rate > 1%"


class CountingStore(HookStore):
    """Counts the bytes of every write of a deployment record, and can fail them."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.writes: list[int] = []
        self.failing = 0  # writes of a record still to refuse

    def replace(self, key: str, data: bytes) -> None:
        if key.startswith("deployments/"):
            if self.failing:
                self.failing -= 1
                raise OSError("the store is down")
            self.writes.append(len(data))
        super().replace(key, data)


class Setup:
    """Version 2 of "fraud" promoted over version 1 in a registry on a counting store."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.store = CountingStore(self.inner)
        registry = ms.Registry(self.store)
        for _ in range(2):
            registry.register(model_name="fraud", model=b"w", serializer="bytes")
        self.dep = InMemoryDeployer(registry=registry)
        BlueGreen(self.dep, clock=self.dep.clock).deploy("fraud", "1")
        self.rollout: Rollout = BlueGreen(self.dep, clock=self.dep.clock).deploy("fraud", "2")
        self.source = InMemorySource(now=self.dep.clock.monotonic)

    def stored(self) -> RolloutRecord:
        """The rollout's record as the registry holds it, read through a fresh registry."""
        records = RegistryHistory(ms.Registry(self.inner)).records("fraud")
        return next(r for r in records if r.id == self.rollout.id)


class Traffic:
    """A clock whose every minute slept brings 50 requests with the minute's error rate
    (None: no request that minute), and that runs ``after_sleep`` then."""

    def __init__(
        self,
        setup: Setup,
        errors: Callable[[int], float | None],
        after_sleep: Callable[[int], None] = lambda minute: None,
    ) -> None:
        self.setup = setup
        self.clock = setup.dep.clock
        self.errors = errors
        self.after_sleep = after_sleep
        self.minute = 0
        self._add()

    def _add(self) -> None:
        rate = self.errors(self.minute)
        if rate is not None:
            self.setup.source.add(
                "error_rate",
                slot=self.setup.rollout.slot,
                values=[rate] * 50,
                timestamps=[self.clock.monotonic()] * 50,
            )

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def wall(self) -> datetime:
        return self.clock.wall()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
        self.minute += 1
        self._add()
        self.after_sleep(self.minute)


def watch_writes(evaluations: int, errors: Callable[[int], float | None]) -> tuple[Setup, Any]:
    """Watch for ``evaluations`` evaluations; the setup (with its writes) and the result."""
    setup = Setup()
    traffic = Traffic(setup, errors)
    setup.store.writes.clear()
    result = ms.monitor.watch(
        setup.rollout,
        setup.source,
        RollbackPolicy(conditions=[CONDITION], deadline=None),
        interval=60.0,
        duration=60.0 * (evaluations - 1),
        clock=traffic,
        since=0.0,
    )
    assert len(result.log) == evaluations
    return setup, result


def monitor_events(record: RolloutRecord) -> list[Any]:
    return [e for e in record.events if e.kind is EventKind.MONITOR]


@pytest.mark.parametrize(
    "errors",
    [lambda minute: None, lambda minute: 0.0],
    ids=["no traffic: hold", "healthy: continue"],
)
def test_a_steady_watch_writes_as_much_to_the_registry_for_20_evaluations_as_for_400(
    errors: Callable[[int], float | None],
) -> None:
    short, _ = watch_writes(20, errors)
    long, result = watch_writes(400, errors)

    # The same number of writes (start, first evaluation, end), each as long but for the
    # digits of the counts: an evaluation costs no more after 400 than after 20.
    assert len(long.store.writes) == len(short.store.writes) <= 3
    assert max(long.store.writes) <= max(short.store.writes) + 64
    assert sum(long.store.writes) <= sum(short.store.writes) + 192
    # What the watch decided is still in the registry: the first evaluation, and the
    # end with the count of every evaluation.
    events = monitor_events(long.stored())
    assert [e.data.get("evaluation") for e in events] == [None, 0, None]
    end = events[-1].data
    assert end["evaluations"] == 400 == len(result.log)
    assert end["actions"] == {result.last.action: 400}
    assert (end["ended"], end["rolled_back"], end["recorded"]) == ("duration", False, 1)
    assert end["last"] == result.last.to_dict()


def test_a_flapping_verdict_records_at_most_history_changes_evaluations() -> None:
    # Traffic every other minute: no_data -> hold, pass -> continue, by turns, so every
    # evaluation changes the verdict and the action.
    evaluations = 3 * HISTORY_CHANGES
    setup, result = watch_writes(evaluations, lambda minute: 0.0 if minute % 2 else None)

    events = monitor_events(setup.stored())
    recorded = [e for e in events if "decision" in e.data]
    assert [e.data["evaluation"] for e in recorded] == list(range(HISTORY_CHANGES))
    # start, the changes, the note that recording stops, the end
    assert len(events) == HISTORY_CHANGES + 3
    assert len(setup.store.writes) == HISTORY_CHANGES + 3
    end = events[-1].data
    assert end["evaluations"] == evaluations
    assert end["unrecorded_changes"] == evaluations - HISTORY_CHANGES
    assert end["actions"] == {"hold": evaluations // 2, "continue": evaluations // 2}
    assert end["verdicts"] == {"no_data": evaluations // 2, "pass": evaluations // 2}
    assert [s.action for _, s in result.log].count("continue") == evaluations // 2


def test_each_change_and_the_rollback_are_in_the_registry_as_they_happen() -> None:
    # minutes 0-1 no traffic (hold), 2-5 healthy (continue), from 6 on failing (rollback)
    setup = Setup()
    seen: dict[int, list[Any]] = {}

    def look(minute: int) -> None:  # before the evaluation of this minute
        seen[minute - 1] = [e.data.get("evaluation") for e in monitor_events(setup.stored())]

    traffic = Traffic(
        setup,
        lambda minute: None if minute < 2 else (0.0 if minute < 6 else 1.0),
        after_sleep=look,
    )
    result = ms.monitor.watch(
        setup.rollout,
        setup.source,
        RollbackPolicy(conditions=[CONDITION], deadline=None),
        interval=60.0,
        duration=3600.0,
        clock=traffic,
        since=0.0,
    )

    assert result.rolled_back
    assert [s.action for _, s in result.log] == ["hold"] * 2 + ["continue"] * 4 + ["rollback"]
    # After each evaluation, the stored record holds every change made so far.
    assert seen == {
        0: [None, 0],
        1: [None, 0],
        2: [None, 0, 2],
        3: [None, 0, 2],
        4: [None, 0, 2],
        5: [None, 0, 2],
    }
    stored = setup.stored()
    assert stored.status.value == "rolled_back"
    events = monitor_events(stored)
    assert [e.data.get("evaluation") for e in events] == [None, 0, 2, 6, None]
    assert [e.data.get("action") for e in events[1:4]] == ["hold", "continue", "rollback"]
    rollback = events[3].data
    assert rollback["decision"]["conditions"][0]["value"] == 1.0
    assert rollback["step"]["evaluations"] == 7
    end = events[-1].data
    assert (end["ended"], end["rolled_back"], end["evaluations"]) == ("rollback", True, 7)
    assert end["actions"] == {"hold": 2, "continue": 4, "rollback": 1}
    kinds = [e.kind for e in stored.events]
    assert kinds.index(EventKind.ROLLBACK) < stored.events.index(events[3])


def test_a_change_whose_save_failed_is_saved_at_the_next_evaluation() -> None:
    setup = Setup()
    seen: dict[int, list[Any]] = {}

    def look(minute: int) -> None:
        seen[minute - 1] = [e.data.get("evaluation") for e in monitor_events(setup.stored())]
        if minute == 2:  # the store is down for the save of evaluation 2
            setup.store.failing = 1

    traffic = Traffic(setup, lambda minute: None if minute < 2 else 0.0, after_sleep=look)
    start = setup.dep.clock.monotonic()
    ms.monitor.watch(
        setup.rollout,
        setup.source,
        RollbackPolicy(conditions=[CONDITION], deadline=None),
        interval=60.0,
        duration=300.0,
        clock=traffic,
        since=0.0,
    )

    assert setup.store.failing == 0
    # The change of evaluation 2 could not be saved, and its save was not retried there
    # (a settled rollout's retries sleep 1 s then 2 s: the watch's evaluations, and a
    # rollback, would wait for them) ...
    assert seen[2] == [None, 0]
    assert seen[3] == [None, 0, 2]  # ... it was, with evaluation 3, which changed nothing
    assert setup.rollout.saved
    # Nothing slept but the watch's own intervals (5 of 60 s).
    assert setup.dep.clock.monotonic() - start == 300.0


def test_an_exception_that_ends_the_watch_is_recorded_as_its_end() -> None:
    setup = Setup()

    def interrupt(minute: int) -> None:
        if minute == 3:
            raise KeyboardInterrupt

    traffic = Traffic(setup, lambda minute: 0.0, after_sleep=interrupt)
    with pytest.raises(KeyboardInterrupt):
        ms.monitor.watch(
            setup.rollout,
            setup.source,
            RollbackPolicy(conditions=[CONDITION], deadline=None),
            interval=60.0,
            duration=600.0,
            clock=traffic,
            since=0.0,
        )

    end = monitor_events(setup.stored())[-1]
    assert (end.data["ended"], end.data["evaluations"]) == ("error", 3)
    assert end.data["error"].startswith("KeyboardInterrupt")
    assert "watch ended (cut short by KeyboardInterrupt) after 3 evaluations" in end.message
