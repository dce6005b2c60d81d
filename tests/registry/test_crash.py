"""A process killed at any point of ``register`` never leaves a half-visible version.

Real ``register`` subprocesses (``_workers.py``) are killed with SIGKILL, at seeded random
moments spanning the whole call and at fixed points between its steps. Afterwards the
registry must stay readable, list only complete versions that verify, and ``gc`` must
remove every leftover while keeping everything committed.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _workers import EXIT_AT_ENV, EXITED_AT_POINT, PAUSE_AT_ENV, POINTS, Worker
from _workers import open_storage as _open

import modelship as ms
from modelship.registry import GcReport
from modelship.registry._layout import head_key, name_claim_key

NAME = "crashy"


def _launch(
    storage: dict[str, Any],
    tmp: Path,
    attempt: int,
    *,
    size: int = 2**20,
    seed: int | None = None,
    env: dict[str, str] | None = None,
    announce: bool = False,
    announce_upload: bool = False,
    warm_up: Path | None = None,
) -> Worker:
    """A ``register-once`` worker, started: it gets ready, then waits for ``go``.

    Its temporary files go to ``tmp``, so that what a killed process leaves on the local
    disk stays inside the test. With ``announce``, it prints ``{"started": attempt}`` once
    released, right before it calls register; with ``announce_upload``, it prints
    ``{"uploading": attempt}`` once S3 has opened the artifact's multipart upload, and its last
    line says when that was (``upload_at``, seconds from register's start). With
    ``warm_up``, it first registers once in a registry of its own at that path, so that its
    own register is not a first call. Until ``go`` it only reads the shared registry.
    """
    tmp.mkdir(exist_ok=True)
    config = {
        "url": storage["url"],
        "options": storage["options"],
        "name": NAME,
        "attempt": attempt,
        "seed": attempt if seed is None else seed,
        "size": size,
        "announce": announce,
        "announce_upload": announce_upload,
        "warm_up": None if warm_up is None else str(warm_up),
    }
    return Worker("register-once", config, env={"TMPDIR": str(tmp), **(env or {})})


def _start(storage: dict[str, Any], tmp: Path, attempt: int, **options: Any) -> Worker:
    """A ``register-once`` worker (see :func:`_launch`), ready and waiting for ``go``."""
    worker = _launch(storage, tmp, attempt, **options)
    worker.wait_ready()
    return worker


def _die_right_after(
    point: str, storage: dict[str, Any], tmp: Path, attempt: int = 1, size: int = 2**20
) -> str:
    """Run a registration that dies right after ``point``; the digest of its artifact."""
    worker = _start(storage, tmp, attempt, size=size, env={EXIT_AT_ENV: point})
    worker.go()
    code, _, err = worker.finish()
    assert code == EXITED_AT_POINT, f"the worker did not stop right after {point}: {err}"
    digest: str = worker.ready["digest"]
    return digest


def _open_uploads(reg: ms.Registry) -> set[str]:
    """Multipart uploads open under the registry's prefix on S3, named as gc names them."""
    store = reg.store
    if not store.url.startswith("s3://"):
        return set()
    bucket, _, prefix = store.root.partition("/")  # type: ignore[attr-defined]
    listing = store.fs.call_s3(  # type: ignore[attr-defined]
        "list_multipart_uploads", Bucket=bucket, Prefix=f"{prefix}/"
    )
    return {
        f"{u['Key'].removeprefix(f'{prefix}/')}?uploadId={u['UploadId']}"
        for u in listing.get("Uploads", [])
    }


def _settle(reg: ms.Registry, storage: dict[str, Any]) -> None:
    """Wait until the last request of a killed worker has landed.

    A process's file operations end with it, but a request that a killed worker had fully
    sent to S3 is still carried out by the server, possibly after the kill returned; the
    server gives no signal, so wait until two listings 0.2 s apart agree (of the keys
    and of the open multipart uploads).
    """
    if storage["kind"] == "local":
        return
    fs, root = reg.store.fs, reg.store.root  # type: ignore[attr-defined]
    seen = None
    for _ in range(50):
        now = (fs.find(root), _open_uploads(reg))
        if now == seen:
            return
        seen = now
        time.sleep(0.2)
    raise AssertionError("the store kept changing after the worker was killed")


def _keys(store: ms.Store, prefix: str = "") -> Iterator[str]:
    for child in store.list(prefix):
        key = f"{prefix}/{child}" if prefix else child
        if store.exists(key):
            yield key
        else:
            yield from _keys(store, key)


def _leftovers(reg: ms.Registry) -> list[str]:
    """Keys that belong to no committed version (what a clean registry does not hold).

    A slot marked ``{"dead": true}`` is not one: it is the tombstone of a number that no
    version got, kept so that slots have no holes (see the hint test below).
    """
    try:
        committed = reg.versions(NAME, include_archived=True)
    except ms.ModelNotFound:
        committed = []
    wanted = {"registry.json", head_key(NAME), name_claim_key(NAME)}
    for mv in committed:
        wanted.add(f"models/{NAME}/versions/{mv.version}.json")
        wanted.add(f"models/{NAME}/slots/{mv.sequence:012d}.json")
        for art in [mv.artifact, *mv.attachments.values()]:
            wanted.add(f"blobs/sha256/{art.hexdigest[:2]}/{art.hexdigest}")
    return sorted(
        key
        for key in set(_keys(reg.store)) - wanted
        if not ("/slots/" in key and json.loads(reg.store.read(key)).get("dead"))
    )


def _check_complete(reg: ms.Registry, digests: dict[int, str], seen: dict[str, str]) -> None:
    """Every listed version is whole and verifies; nothing seen before has gone.

    ``digests`` maps each attempt to the digest of the artifact it registered; ``seen``
    maps versions already checked to their digests and is updated in place.
    """
    listed = reg.versions(NAME)
    sequences = [mv.sequence for mv in listed]
    assert sequences == sorted(set(sequences)), f"sequence numbers out of order: {sequences}"
    assert [mv.version for mv in listed] == [str(s) for s in sequences]
    now = {mv.version: mv.artifact.digest for mv in listed}
    assert seen.items() <= now.items(), "a committed version disappeared or changed"
    for mv in listed:
        if mv.version in seen:
            continue
        assert mv.artifact.digest == digests[int(mv.tags["attempt"])], f"{mv} has foreign bytes"
        assert reg.verify(NAME, mv.version) == mv  # the blob is there, whole
        seen[mv.version] = mv.artifact.digest
    if listed:
        assert reg.get(NAME, "latest") == listed[-1]


def _check_gc_then_register(
    reg: ms.Registry, digests: dict[int, str], seen: dict[str, str]
) -> GcReport:
    """gc removes every leftover and only leftovers; registering then takes the next number.

    Leftovers include multipart uploads that a worker killed mid-upload left open on S3:
    gc aborts exactly those.
    """
    before = set(_leftovers(reg))
    uploads = _open_uploads(reg)
    report = reg.gc(grace_seconds=0)
    removed = {*report.staging, *report.dead_slots, *report.blobs}
    assert not before - removed, f"gc left these behind: {sorted(before - removed)}"
    assert not removed - before, f"gc removed what was not a leftover: {sorted(removed - before)}"
    assert set(report.uploads) == uploads, f"gc aborted {report.uploads}, open were {uploads}"
    assert _leftovers(reg) == []
    assert _open_uploads(reg) == set(), "gc left multipart uploads open"
    assert reg.gc(grace_seconds=0).removed == 0, "a second gc still found leftovers"
    _check_complete(reg, digests, seen)
    for version in seen:
        reg.verify(NAME, version)
    # A dead slot below the highest slot stays as a tombstone (readers stop at holes), so
    # after several registrations died in a row the next number skips their tombstones.
    top = max((int(v) for v in seen), default=0)
    slots = [int(n.removesuffix(".json")) for n in reg.store.list(f"models/{NAME}/slots")]
    for n in (n for n in slots if n > top):
        slot = json.loads(reg.store.read(f"models/{NAME}/slots/{n:012d}.json"))
        assert slot.get("dead"), f"slot {n} above the latest version is not a tombstone: {slot}"
    nxt = max([top, *slots]) + 1
    mv = reg.register(model_name=NAME, model=b"after gc", serializer="bytes", lineage={})
    assert (mv.version, mv.sequence) == (str(nxt), nxt)
    assert reg.get(NAME, "latest") == mv
    assert reg.load(NAME, mv.version) == b"after gc"
    return report


def _kinds_removed(report: GcReport) -> set[str]:
    """The fields of a gc report that name something."""
    fields = ("staging", "dead_slots", "blobs", "uploads")
    return {field for field in fields if getattr(report, field)}


@pytest.mark.parametrize(
    ("storage", "kills", "size"),
    # On S3, 11 MiB: s3fs uploads in parts only from twice the part size (10 MiB) up, and
    # 11 MiB goes up in three (5, 5 and 1 MiB), as 16 MiB went up in four; each of its
    # kills and checks moves a third less through moto's server (35 s down to 25 s here).
    # 28 kills: 22 (whose seeded draws held every kill timed early in the upload on a quiet
    # machine) left no upload open in a loaded clean-clone CI run, the kills' moments
    # shifting with the load; each kill and its checks is ~1.5 s of moto's time.
    [("local", 48, 8 * 2**20), pytest.param("s3", 28, 11 * 2**20, marks=pytest.mark.s3)],
    indirect=["storage"],
)
def test_registers_killed_at_random_moments_leave_only_complete_versions(
    storage: dict[str, Any], kills: int, size: int, tmp_path: Path
) -> None:
    reg = _open(storage)
    digests: dict[int, str] = {}
    seen: dict[str, str] = {}

    # Time a few undisturbed calls, so the kills can spread over a whole call. The workers
    # are warm and announce their start, so that kills land in register's own steps.
    # On S3, every other kill is timed from the start of the artifact's multipart upload
    # instead, over the upload's calibrated length: the upload is the step a kill must hit
    # to leave one open, and its share of the call shrinks or grows with the machine's load.
    on_s3 = storage["kind"] == "s3"
    timed: dict[str, Any] = {
        "announce": True,
        "announce_upload": on_s3,
        "warm_up": tmp_path / "warm",
    }
    durations, uploads = [], []
    for attempt in range(3):
        worker = _start(storage, tmp_path / "tmp", attempt, size=size, **timed)
        digests[attempt] = worker.ready["digest"]
        worker.go()
        assert worker.read() == {"started": attempt}
        code, lines, err = worker.finish()
        assert code == 0, err
        durations.append(lines[-1]["seconds"])
        if on_s3:
            assert lines[0] == {"uploading": attempt}, lines
            uploads.append(lines[-1]["seconds"] - lines[-1]["upload_at"])
    duration = statistics.median(durations)
    upload = statistics.median(uploads) if on_s3 else 0.0

    def launch(attempt: int) -> Worker:
        # Every artifact is registered twice, like a killed CI job that is retried: the
        # retry must not reuse a partial artifact that the killed attempt left behind.
        return _launch(storage, tmp_path / "tmp", attempt, size=size, seed=attempt // 2, **timed)

    # Workers start (0.1-0.3 s each: a fork, opening the registry, warming up in their
    # own) four at a time, between two registrations, while the last one's requests
    # settle and the registry is checked; all are ready (idle) before the next register
    # starts, which a worker starting up would slow down from its calibrated length.
    attempts = iter(range(3, 3 + kills))
    ready: collections.deque[tuple[int, Worker]] = collections.deque()

    def launch_next_four() -> None:
        ready.extend((attempt, launch(attempt)) for attempt in itertools.islice(attempts, 4))

    rng = random.Random(20260)
    outcomes = {"killed": 0, "finished": 0}
    launch_next_four()
    while ready:
        for waiting, started in ready:
            digests[waiting] = started.ready.get("digest") or started.wait_ready()["digest"]
        attempt, worker = ready.popleft()
        delay = rng.uniform(0, duration)
        worker.go()
        # Kills are timed from the worker's start of register, as the calibration was.
        assert worker.read() == {"started": attempt}
        early: list[dict[str, Any]] = []
        if on_s3 and attempt % 2 == 0:
            # The first of a pair has bytes no attempt stored before (a retry may find them
            # stored and upload nothing: then it ends without this line).
            early.append(worker.read())
            if "uploading" in early[-1]:
                delay = rng.uniform(0, upload)
        time.sleep(delay)  # the random moment of the kill, not a synchronisation
        worker.kill()
        code, lines, err = worker.finish()
        lines = early + lines
        if not ready:
            launch_next_four()
        if code != 0:
            # Only a killed worker can leave a request in flight: one that returned from
            # register had every request answered (s3fs awaits each), so there is nothing
            # to wait for.
            _settle(reg, storage)
        outcomes["killed" if code != 0 else "finished"] += 1
        if code == 0:
            assert lines[-1]["attempt"] == attempt, err
        else:
            assert code == -9, f"attempt {attempt} died of something else ({code}): {err}"
        _check_complete(reg, digests, seen)
        assert all(line["version"] in seen for line in lines if "version" in line)

    # Enough kills must land inside register, or this test proves nothing. Delays spread
    # over one calibrated call, so about half land inside; a quarter leaves room for the
    # machine's speed to change between calibration and the kills.
    assert outcomes["killed"] >= kills // 4, outcomes
    if storage["kind"] == "s3":
        # The artifact was staged in a local temporary file that had no name.
        spools = sorted(p.name for p in (tmp_path / "tmp").iterdir())
        assert spools == [], f"killed workers left their spool files: {spools}"
    report = _check_gc_then_register(reg, digests, seen)
    if storage["kind"] == "local":
        assert report.staging, "no kill left a staged artifact: the kills missed register"
    else:
        # 11 MiB goes up in three parts of 5 MiB or less (a multipart upload, open from its
        # start to its completion): some kills must land in between.
        assert report.uploads, "no kill left a multipart upload open: the kills missed it"


@pytest.mark.parametrize("point", POINTS)
def test_register_killed_right_after_each_step_leaves_only_complete_versions(
    storage: dict[str, Any], point: str, tmp_path: Path
) -> None:
    reg = _open(storage)
    first = reg.register(model_name=NAME, model=b"first", serializer="bytes", lineage={})
    seen = {first.version: first.artifact.digest}

    digests = {1: _die_right_after(point, storage, tmp_path / "tmp")}

    committed = reg.versions(NAME)
    # Only the manifest's exclusive create commits a version.
    assert [mv.version for mv in committed] == (["1", "2"] if point == "manifest" else ["1"])
    assert reg.get(NAME, "latest") == committed[-1]
    _check_complete(reg, digests, seen)

    report = _check_gc_then_register(reg, digests, seen)
    removed = _kinds_removed(report)
    expected = {
        "probe": {"staging"},
        # On S3 the artifact is staged in a local temporary file, not in the store.
        "staging": {"staging"} if storage["kind"] == "local" else set(),
        "blob": {"blobs"},
        "slot": {"dead_slots", "blobs"},
        "manifest": set(),
    }
    assert removed == expected[point], report


@pytest.mark.s3
def test_register_killed_during_a_multipart_upload_leaves_only_an_upload_that_gc_aborts(
    s3_bucket: dict[str, Any], tmp_path: Path
) -> None:
    storage = {"kind": "s3", "url": s3_bucket["url"], "options": s3_bucket["options"]}
    reg = _open(storage)
    first = reg.register(model_name=NAME, model=b"first", serializer="bytes", lineage={})
    seen = {first.version: first.artifact.digest}

    # 24 MiB goes up in five parts of 5 MiB or less; the worker dies once the first is stored.
    digests = {1: _die_right_after("part", storage, tmp_path / "tmp", size=24 * 2**20)}
    _settle(reg, storage)

    assert len(_open_uploads(reg)) == 1
    assert list((tmp_path / "tmp").iterdir()) == [], "the killed worker left its spool file"
    assert [mv.version for mv in reg.versions(NAME)] == ["1"]
    report = _check_gc_then_register(reg, digests, seen)
    assert _kinds_removed(report) == {"uploads"}, report


def test_gc_of_a_dead_slot_below_newer_versions_keeps_latest_right_while_the_hint_lags(
    storage: dict[str, Any], tmp_path: Path
) -> None:
    reg = _open(storage)
    reg.register(model_name=NAME, model=b"one", serializer="bytes", lineage={})
    _die_right_after("slot", storage, tmp_path / "tmp")  # slot 2 claimed, never committed
    newest = reg.register(model_name=NAME, model=b"three", serializer="bytes", lineage={})
    assert newest.version == "3"
    assert reg.gc(grace_seconds=0).dead_slots == (f"models/{NAME}/slots/{2:012d}.json",)

    # Writers bump the HEAD hint by read-then-replace, so with several writers it moves
    # backwards (8 writers: seen going from 134 to 131). Readers must not depend on it.
    reg.store.replace(head_key(NAME), b'{"n":1}')
    assert reg.get(NAME, "latest").version == "3"
    after = reg.register(model_name=NAME, model=b"four", serializer="bytes", lineage={})
    assert after.version == "4", "a number below the latest version was handed out"


def test_gc_keeps_an_old_orphan_blob_that_a_registration_in_flight_is_reusing(
    tmp_path: Path,
) -> None:
    storage = {"kind": "local", "url": str(tmp_path / "registry"), "options": {}}
    reg = _open(storage)
    # A registration killed long ago left its artifact behind, referenced by no version.
    digest = _die_right_after("blob", storage, tmp_path / "tmp", attempt=1)
    hexdigest = digest.partition(":")[2]
    blob = tmp_path / "registry" / "blobs" / "sha256" / hexdigest[:2] / hexdigest
    two_hours_ago = time.time() - 7200
    os.utime(blob, (two_hours_ago, two_hours_ago))

    # Its retry registers the same bytes; the upload is deduplicated against that blob.
    retry = _start(storage, tmp_path / "tmp", 2, seed=1, env={PAUSE_AT_ENV: "blob"})
    assert retry.ready["digest"] == digest
    retry.go()
    assert retry.read() == {"paused": "blob"}
    reg.gc()  # the default grace period protects registrations in flight
    retry.go()
    code, lines, err = retry.finish()
    assert code == 0, err

    mv = reg.get(NAME, lines[-1]["version"])
    assert mv.artifact.digest == digest
    assert reg.verify(NAME, mv.version) == mv, "a committed version lost its artifact"


def test_a_copy_made_after_gc_of_a_dead_slot_finds_the_latest_version(tmp_path: Path) -> None:
    storage = {"kind": "local", "url": str(tmp_path / "registry"), "options": {}}
    reg = _open(storage)
    reg.register(model_name=NAME, model=b"one", serializer="bytes", lineage={})
    _die_right_after("slot", storage, tmp_path / "tmp")  # slot 2 claimed, never committed
    reg.register(model_name=NAME, model=b"three", serializer="bytes", lineage={})
    reg.gc(grace_seconds=0)

    copy = ms.open_registry(str(tmp_path / "copy"))
    ms.copy_registry(reg, copy)
    assert [mv.version for mv in copy.versions(NAME)] == ["1", "3"]
    assert copy.get(NAME, "latest").version == "3"
    after = copy.register(model_name=NAME, model=b"four", serializer="bytes", lineage={})
    assert after.version == "4", "the copy handed out a number below its latest version"
