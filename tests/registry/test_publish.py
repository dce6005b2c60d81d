"""Publishing a blob whose bytes are stored already: discarded, unless the copy is gone."""

from __future__ import annotations

from typing import Any

import pytest


def test_a_stored_blob_that_vanishes_at_publish_is_stored_from_the_new_bytes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing bytes already stored discards them; if the stored copy is gone by the
    time the writer touches it (removed by hand, or by a gc that was not told), the new
    bytes are fsynced and linked in its place instead of being discarded."""
    import hashlib
    import os

    from modelship.registry import FsspecStore
    from modelship.registry._layout import blob_key

    store = FsspecStore.from_url(str(tmp_path / "store"))
    data = b"model bytes" * 1000
    key = blob_key("sha256:" + hashlib.sha256(data).hexdigest())

    def write() -> bool:
        writer = store.blob_writer()
        writer.write(data)
        return writer.publish(key)

    assert write() is True
    assert write() is False  # the same bytes again: discarded, the stored blob kept
    real_utime, synced = os.utime, []

    def vanish_then_touch(path: Any, *args: Any, **kwargs: Any) -> None:
        if os.fspath(path).endswith(key.rsplit("/", 1)[-1]):
            os.unlink(path)  # gone just as the writer looks
        real_utime(path, *args, **kwargs)

    real_fsync = os.fsync
    monkeypatch.setattr(os, "utime", vanish_then_touch)
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    assert write() is True
    monkeypatch.undo()
    assert store.read(key) == data
    assert synced  # the bytes linked were fsynced first
