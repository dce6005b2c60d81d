"""moto's S3 server made to behave as S3 does where the tests rely on it.

:func:`s3_like` applies three patches to moto's server code; ``_moto_server.py`` runs the
server under them in a process of its own (tests/conftest.py's ``s3_server``), and a test
of a patch itself applies it in its own process.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest


@contextlib.contextmanager
def s3_like() -> Iterator[None]:
    """All three patches below, for as long as the block runs."""
    with _true_upload_times(), _atomic_conditional_writes(), _locked_etags():
        yield


@contextlib.contextmanager
def _true_upload_times() -> Iterator[None]:
    """Make moto report when each multipart upload began, as S3 does.

    moto's ListMultipartUploads answers ``Initiated: 2010-11-10T20:48:33.000Z`` for every
    upload (moto/s3/responses.py, ``list_multipart_uploads``), which would make every
    upload look years old to gc's grace period. The server runs under this patch, so the
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
