"""Real worker processes for the concurrency and crash tests.

Run as a script, ``python _workers.py JOB CONFIG_JSON``, one job per process. Every worker
opens its registry and prepares its data, prints one ``{"ready": ...}`` line, then blocks
until the parent writes a line to its stdin: the parent releases all workers at once
(a start barrier without sleeps). Each result is printed as one JSON line, flushed at once,
so a killed worker's output ends exactly where it was killed.

The parent side (:class:`Worker`, :func:`run_together`) is importable from the tests.

Jobs
----
``register``
    Register ``count`` versions of ``name``, each tagged with the worker and its index,
    each with its own artifact and one attachment that all workers share.
``alias``
    Move the alias ``alias`` ``count`` times, to ``targets`` in turn.
``register-once``
    Register one artifact of ``size`` random bytes (seeded by ``seed``), tagged
    ``attempt``. With ``MODELSHIP_TEST_EXIT_AT`` set to one of :data:`POINTS`, the worker
    dies with ``os._exit(EXITED_AT_POINT)`` right after that step of ``register``, as if
    killed there; with ``MODELSHIP_TEST_PAUSE_AT`` it prints ``{"paused": point}`` there
    and waits for another line on stdin. On S3 the point may also be ``part``: right after
    the first part of a multipart upload is stored, the upload still open.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
EXIT_AT_ENV = "MODELSHIP_TEST_EXIT_AT"
PAUSE_AT_ENV = "MODELSHIP_TEST_PAUSE_AT"
EXITED_AT_POINT = 86
# Steps of Registry.register, in the order it takes them.
POINTS = ("probe", "staging", "blob", "slot", "manifest")
# Inside the "blob" step on S3, when the artifact goes up in parts.
S3_POINTS = ("part",)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- child side ---------------------------------------------------------------------------


def _emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _wait_for_go() -> None:
    if not sys.stdin.readline():
        raise SystemExit("the parent closed stdin before releasing the workers")


def _install_stop(point: str, pause: bool) -> None:
    """Stop this process right after ``point`` of ``register``: die like a kill, or pause."""
    from modelship.registry import FsspecStore

    if point not in POINTS + S3_POINTS:
        raise SystemExit(f"stop point {point!r} is not one of {POINTS + S3_POINTS}")

    stopped: list[str] = []

    def stop() -> None:
        if not pause:
            os._exit(EXITED_AT_POINT)
        if stopped:
            return  # paused once; later blobs (attachments, the environment) go on
        stopped.append(point)
        _emit(paused=point)
        _wait_for_go()

    create = FsspecStore.create
    blob_writer = FsspecStore.blob_writer
    after_create = {"probe": "/.probe/", "slot": "/slots/", "manifest": "/versions/"}

    def stopping_create(self: FsspecStore, key: str, data: bytes) -> None:
        create(self, key, data)
        if point in after_create and after_create[point] in f"/{key}":
            stop()

    class StoppingWriter:
        def __init__(self, inner: Any) -> None:
            self._inner = inner
            self._stopped = False

        def write(self, data: bytes | memoryview) -> int:
            n: int = self._inner.write(data)
            if point == "staging" and not self._stopped:
                self._stopped = True
                stop()  # part of the artifact is staged, nothing is published
            return n

        def publish(self, key: str) -> bool:
            created: bool = self._inner.publish(key)
            if point == "blob":
                stop()
            return created

        def discard(self) -> None:
            self._inner.discard()

    def stopping_blob_writer(self: FsspecStore, callback: Any = None) -> Any:
        return StoppingWriter(blob_writer(self, callback))

    FsspecStore.create = stopping_create  # type: ignore[method-assign]
    FsspecStore.blob_writer = stopping_blob_writer  # type: ignore[method-assign]
    if point == "part":
        import s3fs

        call_s3 = s3fs.S3FileSystem._call_s3

        async def stopping_call_s3(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
            out = await call_s3(self, method, *args, **kwargs)
            if method == "upload_part":
                stop()  # on s3fs's event loop thread: the other parts are still in flight
            return out

        s3fs.S3FileSystem._call_s3 = stopping_call_s3


def _register(reg: Any, config: dict[str, Any]) -> None:
    worker = config["worker"]
    payloads = [f"worker {worker} registration {i} ".encode() * 8 for i in range(config["count"])]
    shared = b"the same attachment in every version, published by all workers at once"
    _emit(ready=worker)
    _wait_for_go()
    for i, payload in enumerate(payloads):
        try:
            mv = reg.register(
                model_name=config["name"],
                model=payload,
                serializer="bytes",
                metrics={"worker": worker, "i": i},
                tags={"worker": str(worker), "i": str(i)},
                attachments={"shared": shared},
                lineage={},
            )
        except Exception as exc:  # every error must reach the test, whatever its type
            _emit(worker=worker, i=i, error=f"{type(exc).__name__}: {exc}")
        else:
            _emit(worker=worker, i=i, version=mv.version, digest=sha256(payload))


def _alias(reg: Any, config: dict[str, Any]) -> None:
    from modelship import Conflict

    worker, targets = config["worker"], config["targets"]
    _emit(ready=worker)
    _wait_for_go()
    for i in range(config["count"]):
        to = targets[(worker + i) % len(targets)]
        try:
            reg.set_alias(config["name"], config["alias"], to)
        except Conflict:
            _emit(worker=worker, i=i, to=to, outcome="conflict")
        except Exception as exc:
            _emit(worker=worker, i=i, to=to, outcome="error", error=f"{type(exc).__name__}: {exc}")
        else:
            _emit(worker=worker, i=i, to=to, outcome="moved")


def _register_once(reg: Any, config: dict[str, Any]) -> None:
    import numpy as np

    attempt = config["attempt"]
    payload = np.random.default_rng(config.get("seed", attempt)).bytes(config["size"])
    if os.environ.get(EXIT_AT_ENV):
        _install_stop(os.environ[EXIT_AT_ENV], pause=False)
    elif os.environ.get(PAUSE_AT_ENV):
        _install_stop(os.environ[PAUSE_AT_ENV], pause=True)
    if config.get("warm_up"):
        # A registration in a registry of its own first: a process's first register spends
        # most of its time importing and filling caches (0.19 s against 0.04 s here), and
        # kills spread over the call should land in register's own steps.
        import modelship as ms

        warm = ms.open_registry(config["warm_up"])
        warm.register(model_name="warm-up", model=b"warm", serializer="bytes", lineage={})
    _emit(ready=attempt, digest=sha256(payload))
    _wait_for_go()
    if config.get("announce"):
        # The parent times a kill from this line, not from its "go": a loaded machine can
        # take longer to wake this process than register itself takes.
        _emit(started=attempt)
    started = time.perf_counter()
    mv = reg.register(
        model_name=config["name"],
        model=payload,
        serializer="bytes",
        tags={"attempt": str(attempt)},
        lineage={},
    )
    _emit(attempt=attempt, version=mv.version, seconds=time.perf_counter() - started)


JOBS = {"register": _register, "alias": _alias, "register-once": _register_once}


def main(argv: Sequence[str]) -> None:
    import modelship as ms

    job, config = argv[0], json.loads(argv[1])
    reg = ms.open_registry(config["url"], user=config.get("user"), **config.get("options", {}))
    JOBS[job](reg, config)


# --- parent side --------------------------------------------------------------------------


class Worker:
    """One worker process; start it, wait until it is ready, release it, read its results."""

    def __init__(self, job: str, config: dict[str, Any], env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), job, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.ready: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        """Block until the worker prints its next line; return it."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            _, err = self.proc.communicate(timeout=60)
            raise AssertionError(f"worker ended ({self.proc.returncode}) instead:\n{err}")
        result: dict[str, Any] = json.loads(line)
        return result

    def wait_ready(self) -> dict[str, Any]:
        """Block until the worker has printed its ready line; return it."""
        self.ready = self.read()
        return self.ready

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no cleanup, no finally blocks, no atexit

    def finish(self, timeout: float = 120) -> tuple[int, list[dict[str, Any]], str]:
        """Wait for the worker to end: its exit code, result lines and stderr."""
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, [json.loads(line) for line in out.splitlines()], err


def run_together(
    job: str, configs: Iterable[dict[str, Any]], timeout: float = 120
) -> list[tuple[int, list[dict[str, Any]], str]]:
    """Start one worker per config, release them all at once, return each one's outcome."""
    workers = [Worker(job, config) for config in configs]
    try:
        for worker in workers:
            worker.wait_ready()
        for worker in workers:
            worker.go()
        return [worker.finish(timeout) for worker in workers]
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.kill()
                worker.proc.wait()


if __name__ == "__main__":
    main(sys.argv[1:])


def open_storage(storage: dict[str, Any]) -> Any:
    """Open the registry a ``storage`` fixture describes (in the test process)."""
    import modelship as ms

    return ms.open_registry(storage["url"], **storage["options"])
