"""Real worker processes for the concurrency and crash tests.

Each worker is its own process, forked from a multiprocessing forkserver that has already
imported modelship, NumPy and s3fs: a worker then starts in milliseconds instead of the
1.1 s of CPU a new interpreter spends importing them, and these tests start about 150
workers. A worker opens its registry and prepares its data, sends one ``{"ready": ...}``
line, then blocks until the parent sends ``go``: the parent releases all workers at once
(a start barrier without sleeps). Each result is sent as one JSON line at once, so a
killed worker's output ends exactly where it was killed.

The parent side (:class:`Worker`, :func:`run_together`) is importable from the tests.

Jobs
----
``register``
    Register ``count`` versions of ``name``, each tagged with the worker and its index,
    each with its own artifact and one attachment that all workers share.
``alias``
    Move the alias ``alias`` ``count`` times, to ``targets`` in turn; each outcome is
    ``moved``, ``already`` (it named the target: nothing written), ``conflict`` or ``error``.
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
import multiprocessing
import multiprocessing.connection
import os
import tempfile
import time
import traceback
from collections.abc import Iterable
from typing import Any

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


Connection = multiprocessing.connection.Connection
#: The worker's end of its pipe to the parent (put here by :func:`_child`).
_PIPE: list[Connection] = []


def _emit(**fields: Any) -> None:
    _PIPE[0].send_bytes(json.dumps(fields).encode())


def _wait_for_go() -> None:
    try:
        _PIPE[0].recv_bytes()
    except EOFError:
        raise SystemExit("the parent closed the pipe before releasing the workers") from None


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
            before = reg.set_alias(config["name"], config["alias"], to)
        except Conflict:
            _emit(worker=worker, i=i, to=to, outcome="conflict")
        except Exception as exc:
            _emit(worker=worker, i=i, to=to, outcome="error", error=f"{type(exc).__name__}: {exc}")
        else:
            # A move to where the alias is already writes nothing (idempotent): "already".
            _emit(worker=worker, i=i, to=to, outcome="already" if before == to else "moved")


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
    upload_at: list[float] = []
    if config.get("announce_upload"):
        _announce_uploads(attempt, upload_at)
    _emit(ready=attempt, digest=sha256(payload))
    _wait_for_go()
    if config.get("announce"):
        # The parent times a kill from this line, not from its "go": a loaded machine can
        # take longer to wake this process than register itself takes.
        _emit(started=attempt)
    started = time.perf_counter()
    upload_at.append(started)
    mv = reg.register(
        model_name=config["name"],
        model=payload,
        serializer="bytes",
        tags={"attempt": str(attempt)},
        lineage={},
    )
    done = {"attempt": attempt, "version": mv.version, "seconds": time.perf_counter() - started}
    if len(upload_at) > 1:
        done["upload_at"] = upload_at[1] - started  # seconds from register's start
    _emit(**done)


def _announce_uploads(attempt: int, upload_at: list[float]) -> None:
    """Print ``{"uploading": attempt}`` once S3 has opened the artifact's multipart upload.

    The parent can then time a kill from the upload's start, where the call's other steps
    (hashing, staging, documents) take a share of the call that a loaded machine changes.
    """
    import s3fs

    call_s3 = s3fs.S3FileSystem._call_s3

    async def announcing_call_s3(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        out = await call_s3(self, method, *args, **kwargs)
        if method == "create_multipart_upload" and len(upload_at) == 1:
            upload_at.append(time.perf_counter())
            _emit(uploading=attempt)  # once: the only upload of a register-once worker
        return out

    s3fs.S3FileSystem._call_s3 = announcing_call_s3


JOBS = {"register": _register, "alias": _alias, "register-once": _register_once}


def _child(job: str, config: dict[str, Any], env: dict[str, str], conn: Connection) -> None:
    """A worker's life, in the process the forkserver forked for it."""
    import modelship as ms

    _PIPE.append(conn)
    os.environ.update(env)
    tempfile.tempdir = None  # read TMPDIR again: the forkserver's may have been cached
    try:
        reg = ms.open_registry(config["url"], user=config.get("user"), **config.get("options", {}))
        JOBS[job](reg, config)
    except BaseException:
        _emit(stderr=traceback.format_exc())
        raise


# --- parent side --------------------------------------------------------------------------


#: Modules the forkserver imports once, so that no worker imports them again.
PRELOAD = ["modelship", "modelship.registry", "numpy", "s3fs", "_workers"]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


class Worker:
    """One worker process; start it, wait until it is ready, release it, read its results.

    ``env`` is added to the worker's environment (``TMPDIR`` included) before it starts.
    """

    def __init__(self, job: str, config: dict[str, Any], env: dict[str, str] | None = None):
        self._conn, child_end = _CONTEXT.Pipe()
        self.proc = _CONTEXT.Process(
            target=_child, args=(job, json.loads(json.dumps(config)), env or {}, child_end)
        )
        self.proc.start()
        child_end.close()  # the worker holds its own copy: its exit is this end's EOF
        self._err: list[str] = []
        self.ready: dict[str, Any] = {}

    def _next(self, timeout: float) -> dict[str, Any] | None:
        """The worker's next result line, or None once it has ended (stderr lines kept)."""
        while True:
            if not self._conn.poll(timeout):
                raise AssertionError(f"the worker sent nothing for {timeout} s")
            try:
                line: dict[str, Any] = json.loads(self._conn.recv_bytes())
            except EOFError:
                return None
            if "stderr" in line:
                self._err.append(line["stderr"])
                continue
            return line

    def read(self, timeout: float = 120) -> dict[str, Any]:
        """Block until the worker sends its next line; return it."""
        line = self._next(timeout)
        if line is None:
            self.proc.join(60)
            raise AssertionError(
                f"worker ended ({self.proc.exitcode}) instead:\n{''.join(self._err)}"
            )
        return line

    def wait_ready(self) -> dict[str, Any]:
        """Block until the worker has sent its ready line; return it."""
        self.ready = self.read()
        return self.ready

    def go(self) -> None:
        self._conn.send_bytes(b"go")

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no cleanup, no finally blocks, no atexit

    def finish(self, timeout: float = 120) -> tuple[int, list[dict[str, Any]], str]:
        """Wait for the worker to end: its exit code, result lines and error output."""
        lines = []
        while (line := self._next(timeout)) is not None:
            lines.append(line)
        self.proc.join(timeout)
        self._conn.close()
        code = self.proc.exitcode
        assert code is not None, f"the worker did not exit within {timeout} s"
        return code, lines, "".join(self._err)


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
            if worker.proc.is_alive():
                worker.kill()
                worker.proc.join()


def open_storage(storage: dict[str, Any]) -> Any:
    """Open the registry a ``storage`` fixture describes (in the test process)."""
    import modelship as ms

    return ms.open_registry(storage["url"], **storage["options"])
