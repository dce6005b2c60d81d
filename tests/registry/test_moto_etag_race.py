"""moto's lazily computed ETag moved the object's buffer under a GET's feet: the server
the tests run (tests/_moto_server.py, under ``_moto_patches._locked_etags``) computes it
under the object's lock.

The interleaving is shown step by step, without threads: what a GET's ``FakeKey.value``
does between its ``seek(0)`` and its ``read()``, while the PUT that stored the object
answers with its ETag, and then that the patched ETag waits for the lock ``value`` holds.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from _moto_patches import s3_like

pytest.importorskip("moto")

BIG = 4 * 1024 * 1024


def _fresh_key() -> Any:
    from moto.s3.models import FakeKey

    key = FakeKey(name="k", value=b"d" * BIG, account_id="123456789012", region_name="us-east-1")
    key._etag = None  # computed when first asked, as for an object just PUT
    return key


def test_moto_alone_reads_an_object_short_when_its_etag_is_computed_mid_read() -> None:
    # What the patch is for (if moto fixes this, the patch can go): the buffer is left at
    # its end by the ETag, and the GET's read goes on from there.
    key = _fresh_key()
    key._value_buffer.seek(0)  # FakeKey.value, holding key.lock ...
    assert key.etag  # ... the PUT's answer computes the ETag, without the lock ...
    assert key._value_buffer.read() == b""  # ... and the GET reads nothing


def test_under_the_s3_servers_patches_the_etag_waits_for_a_read_in_progress() -> None:
    with s3_like():
        _etag_waits_for_a_read_in_progress()


def _etag_waits_for_a_read_in_progress() -> None:
    key = _fresh_key()
    etags: list[str] = []
    with key.lock:  # a GET between its seek(0) and its read()
        key._value_buffer.seek(0)
        asking = threading.Thread(target=lambda: etags.append(key.etag), daemon=True)
        asking.start()
        asking.join(timeout=0.5)
        assert asking.is_alive(), "the ETag was computed while a read held the object"
        assert len(key._value_buffer.read()) == BIG  # the read is whole
    asking.join(timeout=10)
    assert etags
    assert etags[0].startswith('"')
    assert len(key.value) == BIG
