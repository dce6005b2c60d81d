"""Fixtures that start real parts: moto's S3 server over HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

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


@contextlib.contextmanager
def _true_upload_times() -> Iterator[None]:
    """Make moto report when each multipart upload began, as S3 does.

    moto's ListMultipartUploads answers ``Initiated: 2010-11-10T20:48:33.000Z`` for every
    upload (moto/s3/responses.py, ``list_multipart_uploads``), which would make every
    upload look years old to gc's grace period. Its server runs in this process, so the
    time each upload is created is recorded and put in the listing instead.
    """
    from moto.core.responses import ActionResult
    from moto.s3 import models, responses

    began: dict[str, str] = {}
    real_init = models.FakeMultipart.__init__

    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        began[self.id] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    class TrueTimes(ActionResult):
        def __init__(self, result: object) -> None:
            if isinstance(result, dict) and "Uploads" in result:
                for upload in result["Uploads"]:
                    upload["Initiated"] = began[upload["UploadId"]]
            super().__init__(result)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.FakeMultipart, "__init__", recording_init)
        patch.setattr(responses, "ActionResult", TrueTimes)
        yield


@contextlib.contextmanager
def _atomic_conditional_writes() -> Iterator[None]:
    """Make moto's conditional writes atomic, as S3's are.

    moto checks ``If-None-Match: *`` and ``If-Match`` on a PUT (and on a multipart
    completion) by reading the key, then writes it (moto/s3/responses.py, ``put_object``,
    ``_key_response_post``): two requests on two server threads can both pass the check,
    so two processes racing to create one key both won now and then (seen in 1 of 24
    runs of the conformance suite's process race). S3 decides a conditional write
    atomically; here the object writes of the server are serialised.
    """
    from moto.s3 import responses

    lock = threading.Lock()

    def serialised(method: Callable[..., Any]) -> Callable[..., Any]:
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return locked

    with pytest.MonkeyPatch.context() as patch:
        for name in ("put_object", "_key_response_post"):
            patch.setattr(
                responses.S3Response, name, serialised(getattr(responses.S3Response, name))
            )
        yield


@contextlib.contextmanager
def _locked_etags() -> Iterator[None]:
    """Make moto compute an object's ETag under the object's lock, as it reads its value.

    moto computes an ETag the first time it is asked (moto/s3/models.py, ``FakeKey.etag``)
    by reading the object's buffer from its start to its end, without the lock that
    ``FakeKey.value`` holds between its ``seek(0)`` and its ``read()``: a GET of a new
    object, beside the PUT that stored it answering with that ETag, read the buffer from
    its end, 0 bytes, which moto then served as an empty object (a ranged GET: 416). The
    store suite's publish-over reader saw it once in 27 reads on a loaded CI machine.
    S3 never serves an object short.
    """
    from moto.s3 import models

    computed = models.FakeKey.etag.fget
    assert computed is not None

    def etag(self: Any) -> str:
        with self.lock:
            return str(computed(self))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.FakeKey, "etag", property(etag))
        yield


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """moto's S3 server on a free loopback port; yields the s3fs storage options."""
    try:
        import s3fs  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        require("moto[server] and s3fs", str(exc))
    # moto's server logs every request; captured by pytest that costs seconds per test.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with _true_upload_times(), _atomic_conditional_writes(), _locked_etags():
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
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
            server.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture
def s3_bucket(s3_server: dict[str, Any]) -> dict[str, Any]:
    """A fresh bucket; yields ``url`` (s3://bucket/prefix) and ``options`` for open_registry.

    Also ``bucket``, ``endpoint`` and a boto3 ``client``, to look at the bucket without
    going through s3fs.
    """
    import boto3

    bucket = f"test-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server["endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
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
