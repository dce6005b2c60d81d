"""Fixtures that start real parts: moto's S3 server over HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(what: str, reason: str) -> None:
    """Skip locally, but fail under CI=true: a missing real part never passes silently."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is missing: {reason}")
    pytest.skip(f"{what} missing: {reason}")


#: Top-level modules that a test may ``pytest.importorskip`` and that CI may lack. Every
#: module importorskip'd today (pandas, pyarrow, polars, uvicorn, s3fs, fsspec, yaml,
#: scipy, packaging) comes with the ``test`` extra that ``nox -s tests`` and
#: ``tests_numpy1`` install (noxfile.py), so none may be missing: under CI=true their
#: importorskip fails instead of skipping. Add a module here only if CI does not install it.
MAY_BE_MISSING_IN_CI: frozenset[str] = frozenset()

_real_importorskip = pytest.importorskip


def _importorskip_failing_in_ci(
    modname: str,
    minversion: str | None = None,
    reason: str | None = None,
    *,
    exc_type: type[ImportError] | None = None,
) -> Any:
    """``pytest.importorskip``, except that under CI=true a missing module fails the test.

    Installed for the whole run when this conftest loads, before any test module is
    imported, so module-level calls are covered too (a failure there is a collection error).
    """
    __tracebackhide__ = True  # a skip is reported at the test's line, not here
    try:
        if exc_type is None:
            return _real_importorskip(modname, minversion, reason)
        return _real_importorskip(modname, minversion, reason, exc_type=exc_type)
    except pytest.skip.Exception as skipped:
        if IN_CI and modname.partition(".")[0] not in MAY_BE_MISSING_IN_CI:
            require(modname, f"pytest.importorskip({modname!r}): {skipped.msg}")
        raise


pytest.importorskip = _importorskip_failing_in_ci


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """moto's S3 server on a free loopback port, in a process of its own (see
    ``_moto_server.py``, and ``_moto_patches.py`` for where it is made to behave as S3
    does); yields its ``endpoint`` and the s3fs storage ``options``."""
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        require("moto[server] and s3fs", str(exc))
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_moto_server.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        said = _line_within(server.stdout, 60.0)
        if not said.startswith("ready "):
            server.kill()
            pytest.fail(f"moto's S3 server did not start (exit {server.wait()}): {said!r}")
        endpoint = f"http://127.0.0.1:{int(said.split()[1])}"
        saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
        options = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }
        try:
            yield {"endpoint": endpoint, "options": options}
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _line_within(stream: IO[str], seconds: float) -> str:
    """The first line of ``stream``, or "" if none came within ``seconds``."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    return lines[0].strip() if lines else ""


@pytest.fixture(scope="session")
def s3_client(s3_server: dict[str, Any]) -> Any:
    """A boto3 client of moto's server, one for the session: making one takes ~15 ms of
    CPU (botocore builds it from its service model), and hundreds of tests ask for one.
    boto3 clients are thread-safe; the tests only send requests with it."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_server["endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def s3_bucket(s3_server: dict[str, Any], s3_client: Any) -> dict[str, Any]:
    """A fresh bucket; yields ``url`` (s3://bucket/prefix) and ``options`` for open_registry.

    Also ``bucket``, ``endpoint`` and a boto3 ``client`` (the session's), to look at the
    bucket without going through s3fs.
    """
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    client = s3_client
    client.create_bucket(Bucket=bucket)
    return {
        "url": f"s3://{bucket}/registry",
        "bucket": bucket,
        "options": s3_server["options"],
        "endpoint": s3_server["endpoint"],
        "client": client,
    }


@pytest.fixture
def fifo_sending(tmp_path: Path) -> Iterator[Callable[[str, bytes], Path]]:
    """Make a FIFO named ``name`` whose writer sends ``payload`` to whoever reads it.

    A FIFO reports a size of 0 whatever it sends: readers that trust a file's reported
    size are tested with it. The writer waits for a reader without blocking in open(),
    so a reader that never comes cannot hang the run: teardown stops the wait.
    """
    stop = threading.Event()
    writers: list[threading.Thread] = []

    def make(name: str, payload: bytes) -> Path:
        path = tmp_path / name
        os.mkfifo(path)

        def write() -> None:
            while True:  # bounded by stop, set at teardown
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                    break
                except OSError as exc:
                    if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                        raise
                if stop.wait(0.005):
                    return
            os.set_blocking(fd, True)
            with contextlib.suppress(BrokenPipeError), os.fdopen(fd, "wb") as f:
                f.write(payload)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writers.append(writer)
        return path

    yield make
    stop.set()
    for writer in writers:
        writer.join(timeout=10)


@pytest.fixture
def threads_started(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Every thread started from this test's thread (or from one of those) while it runs.

    Comparing ``threading.enumerate()`` before and after is not the same claim: a thread
    of an earlier test's server (moto answers each request on a thread of its own) may end
    or start meanwhile, and a thread started and finished inside the call is not seen.
    """
    started: list[threading.Thread] = []
    ours = {threading.get_ident()}
    real_start = threading.Thread.start

    def recording_start(self: threading.Thread) -> None:
        if threading.get_ident() in ours:
            started.append(self)
        real_start(self)
        if self in started and self.ident is not None:
            ours.add(self.ident)

    monkeypatch.setattr(threading.Thread, "start", recording_start)
    return started
