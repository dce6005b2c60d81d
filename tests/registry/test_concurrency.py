"""Many processes writing one model at once, on the local file system and on S3.

Every writer is a real process (``_workers.py``), released together behind a start barrier
so their registrations and alias moves overlap.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from typing import Any

from _workers import open_storage as _open
from _workers import run_together

PROCESSES = 8
# Registrations per process; fewer on moto's server, which answers one request at a time
# (each registration costs ~15 requests, and the test then verifies and loads every
# version: 12 each took ~43 s there, 1.5 s on the disk for 25). All eight still race for
# every number from the first, and interleave (the switch count below checks it); more
# per process only repeats the same races.
REGISTRATIONS = {"local": 25, "s3": 6}
# Alias moves per process; fewer on moto's server, where each move costs ~15 requests.
ALIAS_MOVES = {"local": 25, "s3": 6}


def _config(storage: dict[str, Any], **job: Any) -> dict[str, Any]:
    return {"url": storage["url"], "options": storage["options"], **job}


def _outcomes_without_errors(
    outcomes: list[tuple[int, list[dict[str, Any]], str]],
) -> list[dict[str, Any]]:
    failed = [(code, err[-2000:]) for code, _, err in outcomes if code != 0]
    assert not failed, f"{len(failed)} workers exited with errors, the first: {failed[0]}"
    results = [line for _, lines, _ in outcomes for line in lines]
    errors = [r for r in results if "error" in r]
    assert not errors, f"{len(errors)} errors surfaced to callers, the first: {errors[:3]}"
    return results


def test_eight_processes_registering_at_once_get_gapless_distinct_versions(
    storage: dict[str, Any],
) -> None:
    name = "churn"
    registrations = REGISTRATIONS[storage["kind"]]
    outcomes = run_together(
        "register",
        [_config(storage, name=name, worker=w, count=registrations) for w in range(PROCESSES)],
    )
    results = _outcomes_without_errors(outcomes)
    total = PROCESSES * registrations
    assert len(results) == total, "some registrations neither returned nor raised"

    returned = sorted(int(r["version"]) for r in results)
    assert returned == list(range(1, total + 1)), "version numbers have gaps or duplicates"

    reg = _open(storage)
    listed = reg.versions(name)
    assert [mv.version for mv in listed] == [str(n) for n in range(1, total + 1)]
    assert [mv.sequence for mv in listed] == list(range(1, total + 1))
    assert reg.get(name, "latest").version == str(total)

    by_version = {r["version"]: r for r in results}
    recorded = {(mv.tags["worker"], mv.tags["i"]) for mv in listed}
    assert recorded == {(str(w), str(i)) for w in range(PROCESSES) for i in range(registrations)}
    for mv in listed:
        mine = by_version[mv.version]
        assert (mv.tags["worker"], mv.tags["i"]) == (str(mine["worker"]), str(mine["i"]))
        assert mv.metrics == {"worker": mine["worker"], "i": mine["i"]}
        assert mv.artifact.digest == mine["digest"]
        reg.verify(name, mv.version)
        loaded = reg.load(name, mv.version)
        assert "sha256:" + hashlib.sha256(loaded).hexdigest() == mine["digest"]

    # The barrier worked: the workers' registrations interleave instead of queueing.
    owners = [mv.tags["worker"] for mv in listed]
    switches = sum(a != b for a, b in itertools.pairwise(owners))
    assert switches >= PROCESSES, f"registrations barely overlapped ({switches} switches)"


def test_concurrent_alias_moves_each_return_or_conflict_and_all_are_in_the_history(
    storage: dict[str, Any],
) -> None:
    name, alias = "flip", "production"
    reg = _open(storage)
    targets = [
        reg.register(model_name=name, model=bytes([n]), serializer="bytes", lineage={}).version
        for n in range(4)
    ]
    moves = ALIAS_MOVES[storage["kind"]]
    outcomes = run_together(
        "alias",
        [
            _config(
                storage,
                name=name,
                alias=alias,
                targets=targets,
                worker=w,
                user=f"worker-{w}",
                count=moves,
            )
            for w in range(PROCESSES)
        ],
    )
    results = _outcomes_without_errors(outcomes)
    assert len(results) == PROCESSES * moves
    assert {r["outcome"] for r in results} <= {"moved", "already", "conflict"}
    moved = [r for r in results if r["outcome"] == "moved"]
    assert moved, "no alias move succeeded"

    history = reg.history(name)
    assert len(history) == len(moved), "history and successful calls disagree"
    assert Counter((m.by, m.to_version) for m in history) == Counter(
        (f"worker-{r['worker']}", r["to"]) for r in moved
    )
    assert [m.revision for m in history] == list(range(1, len(history) + 1))
    # Compare-and-swap: each move starts where the one before it ended; none was lost.
    assert history[0].from_version is None
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version, f"lost update between {before} {after}"
    assert reg.aliases(name) == {alias: history[-1].to_version}
    assert reg.get(name, f"@{alias}").version == history[-1].to_version
