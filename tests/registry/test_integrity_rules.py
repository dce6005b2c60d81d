"""Integrity: each rule for stored bytes at its boundary, and what the refusal says.

Every byte read back from storage is checked against a manifest here; a refusal must say
which artifact, what the manifest recorded and what was found. Written after mutation
testing (``nox -s mutation``) showed boundaries, messages and stream handling that no
test pinned.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path
from typing import IO, Any

import attrs
import pytest
from fsspec.callbacks import Callback

from modelship._model_version import ArtifactRef
from modelship.errors import IntegrityError, StoreError
from modelship.registry import FsspecStore, _integrity
from modelship.registry._integrity import (
    CHUNK,
    MAX_DOCUMENT,
    VerifiedStream,
    check_document,
    checked_stream,
    hash_stream,
    parse_json,
    read_verified,
    stored_damage,
    verified_file,
    verify_blob,
)
from modelship.registry._layout import blob_key
from modelship.testing import MemoryStore

DATA = bytes(range(256)) * 40  # 10,240 bytes
EVERY = 4096


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def ref_of(data: bytes, every: int = 0, *, size: int | None = None) -> ArtifactRef:
    """The reference a registration of ``data`` records (``size`` to forge another size)."""
    size = len(data) if size is None else size
    marks = range(every, size, every) if every else range(0)
    return ArtifactRef(
        digest=sha(data),
        size=size,
        serializer="bytes",
        media_type="application/octet-stream",
        checkpoint_every=every,
        checkpoints=[hashlib.sha256(data[:end]).hexdigest()[:32] for end in marks],
    )


def stored(data: bytes, ref: ArtifactRef | None = None) -> tuple[MemoryStore, ArtifactRef]:
    """A store holding ``data`` under the digest of ``ref`` (by default, of ``data``)."""
    ref = ref or ref_of(data)
    store = MemoryStore()
    store.create(blob_key(ref.digest), data, allow_empty=True)
    return store, ref


class ReadOnly:
    """A stream with ``read`` only (no ``readinto``), handing out at most ``most`` bytes."""

    def __init__(self, data: bytes, most: int) -> None:
        self._src = io.BytesIO(data)
        self.most = most

    def read(self, n: int = -1) -> bytes:
        return self._src.read(min(n, self.most))

    def close(self) -> None:
        pass


class Trickle(io.RawIOBase):
    """A raw stream whose every ``readinto`` returns at most ``most`` bytes, as sockets do."""

    def __init__(self, data: bytes, most: int) -> None:
        super().__init__()
        self._src = io.BytesIO(data)
        self.most = most

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        return self._src.readinto(view[: self.most])


class Recorder(Callback):  # type: ignore[misc]
    """A progress callback that keeps the size it was given and every update."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[int] = []
        self.closed = False

    def relative_update(self, inc: int = 1) -> None:
        self.updates.append(inc)

    def close(self) -> None:
        self.closed = True


class FailsToClose(Recorder):
    def close(self) -> None:
        raise RuntimeError("the progress bar is gone")


# --- documents -----------------------------------------------------------------------------


def test_a_document_of_exactly_the_limit_is_accepted_and_one_byte_more_is_refused() -> None:
    at_limit = b" " * MAX_DOCUMENT
    assert check_document(at_limit, "slot 1 of m") is at_limit
    with pytest.raises(IntegrityError) as caught:
        check_document(at_limit + b" ", "slot 1 of m")
    assert str(caught.value) == (
        f"slot 1 of m holds more than {MAX_DOCUMENT} bytes, more than any document a "
        "registry writes: it was damaged or tampered with. Restore it from a copy"
    )


def test_an_over_long_document_is_refused_by_parse_json_naming_it() -> None:
    with pytest.raises(IntegrityError) as caught:
        parse_json(b"{}" + b" " * MAX_DOCUMENT, "hint models/m/HEAD")
    assert str(caught.value).startswith(f"hint models/m/HEAD holds more than {MAX_DOCUMENT} bytes")


def test_a_document_that_is_not_json_is_refused_naming_it_and_the_parse_error() -> None:
    with pytest.raises(IntegrityError) as caught:
        parse_json(b"{not json", "alias entry 3 of m")
    assert str(caught.value).startswith("alias entry 3 of m is not valid JSON: Expecting")


# --- hash_stream ---------------------------------------------------------------------------


@pytest.mark.parametrize("most", [1, 7, 4096, len(DATA) + 1])
def test_hash_stream_hashes_a_stream_that_has_only_read_however_little_it_returns(
    most: int,
) -> None:
    seen = bytearray()
    assert hash_stream(ReadOnly(DATA, most), sink=seen.extend) == (  # type: ignore[arg-type]
        hashlib.sha256(DATA).hexdigest(),
        len(DATA),
    )
    assert seen == DATA


@pytest.mark.parametrize("limit", [0, 1, 100, len(DATA), len(DATA) + 1])
def test_hash_stream_reads_at_most_its_limit(limit: int) -> None:
    src = io.BytesIO(DATA)
    got = min(limit, len(DATA))
    assert hash_stream(src, limit=limit) == (hashlib.sha256(DATA[:got]).hexdigest(), got)
    assert src.tell() == got


class ReadintoOnly(Trickle):
    """A raw stream that fails if asked for a new bytes object instead of filling a buffer."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("read was called: a new bytes object per chunk")


def test_hash_stream_fills_one_buffer_in_place_where_the_stream_can() -> None:
    src = ReadintoOnly(DATA, 1000)
    assert hash_stream(src) == (hashlib.sha256(DATA).hexdigest(), len(DATA))  # type: ignore[arg-type]


def test_hash_stream_reports_progress_for_every_byte_and_hands_every_chunk_on() -> None:
    progress, seen = Recorder(), bytearray()
    hash_stream(Trickle(DATA, 1000), progress, seen.extend)  # type: ignore[arg-type]
    assert progress.updates == [1000] * 10 + [240]
    assert seen == DATA


# --- stored_damage: is an already stored blob the one a digest names? ----------------------


def test_stored_damage_is_none_for_an_intact_blob_with_or_without_its_size() -> None:
    store, ref = stored(DATA)
    assert stored_damage(store, ref.digest, len(DATA)) is None
    assert stored_damage(store, ref.digest, None) is None


def test_stored_damage_says_the_size_found_and_the_size_expected() -> None:
    store, ref = stored(DATA[:-1], ref_of(DATA))
    assert stored_damage(store, ref.digest, len(DATA)) == (
        f"it holds {len(DATA) - 1} bytes, not {len(DATA)}"
    )


def test_stored_damage_says_a_missing_blob_is_missing() -> None:
    assert stored_damage(MemoryStore(), sha(DATA), len(DATA)) == "it is missing"
    assert stored_damage(MemoryStore(), sha(DATA), None) == "it is missing"


def test_stored_damage_names_the_start_of_the_digest_of_other_bytes() -> None:
    other = bytes(reversed(DATA))
    store, ref = stored(other, ref_of(DATA))
    expected = f"its bytes have the digest sha256:{hashlib.sha256(other).hexdigest()[:5]}..."
    assert stored_damage(store, ref.digest, len(DATA)) == expected
    assert stored_damage(store, ref.digest, None) == expected


def test_stored_damage_finds_a_blob_that_grew_after_its_size_was_read() -> None:
    store, ref = stored(DATA + b"grown", ref_of(DATA))
    store.size = lambda key: len(DATA)  # type: ignore[method-assign]
    assert stored_damage(store, ref.digest, len(DATA)) == (
        f"it holds {len(DATA) + 1} bytes, not {len(DATA)}"  # one byte past is enough
    )


# --- the load routes: what a refusal says --------------------------------------------------


def test_a_missing_blob_is_refused_naming_the_artifact_and_its_digest() -> None:
    ref = ref_of(DATA)
    expected = f"the artifact of m 1 ({ref.digest}) is missing from the store"
    for read in (
        lambda: read_verified(MemoryStore(), ref, "m 1"),
        lambda: verify_blob(MemoryStore(), ref, "m 1"),
    ):
        with pytest.raises(IntegrityError) as caught:
            read()
        assert str(caught.value) == expected


def mismatch_text(ref: ArtifactRef, detail: str) -> str:
    return (
        f"the artifact of m 1 does not match its manifest ({ref.digest}, {ref.size} bytes): "
        f"{detail}. It was changed or damaged in storage; do not load it"
    )


def test_read_verified_says_the_stored_size_when_it_differs() -> None:
    store, ref = stored(DATA + b"x", ref_of(DATA))
    with pytest.raises(IntegrityError) as caught:
        read_verified(store, ref, "m 1")
    assert str(caught.value) == mismatch_text(ref, f"it holds {len(DATA) + 1} bytes")


def test_read_verified_says_the_digest_found_when_the_bytes_differ() -> None:
    other = bytes(reversed(DATA))
    store, ref = stored(other, ref_of(DATA))
    with pytest.raises(IntegrityError) as caught:
        read_verified(store, ref, "m 1")
    detail = f"found {sha(other)} ({len(DATA)} bytes)"
    assert str(caught.value) == mismatch_text(ref, detail)


def test_read_verified_reads_one_byte_past_a_size_that_was_wrong_and_says_what_it_found() -> None:
    store, ref = stored(DATA + b"grown", ref_of(DATA))
    store.size = lambda key: len(DATA)  # type: ignore[method-assign]  # it grew after
    store.open_blob = lambda key: Trickle(DATA + b"grown", 1000)  # type: ignore[method-assign,assignment]
    with pytest.raises(IntegrityError) as caught:
        read_verified(store, ref, "m 1")
    found = DATA + b"g"
    assert str(caught.value) == mismatch_text(ref, f"found {sha(found)} ({len(found)} bytes)")


def test_read_verified_compares_the_size_of_the_file_it_reads_not_of_its_key(
    tmp_path: Path,
) -> None:
    store = FsspecStore.from_url(str(tmp_path / "registry"))
    ref = ref_of(DATA)
    store.create(blob_key(ref.digest), DATA)
    path = store.local_path(blob_key(ref.digest))
    opened = store.open_blob

    def open_then_replace(key: str) -> IO[bytes]:
        f = opened(key)
        (tmp_path / "other").write_bytes(b"a different, shorter file")
        os.replace(tmp_path / "other", path)  # the key now names another file
        return f

    store.open_blob = open_then_replace  # type: ignore[method-assign]
    assert read_verified(store, ref, "m 1") == DATA


def test_read_verified_shows_no_progress_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    store, ref = stored(DATA)
    assert read_verified(store, ref, "m 1") == DATA
    assert capsys.readouterr().err == ""


def test_read_verified_with_progress_shows_a_bar_naming_the_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, ref = stored(DATA)
    assert read_verified(store, ref, "m 1", True) == DATA
    assert "load m 1" in capsys.readouterr().err


def test_read_verified_reads_a_stream_that_returns_little_at_a_time() -> None:
    store, ref = stored(DATA)
    store.open_blob = lambda key: Trickle(DATA, 1000)  # type: ignore[method-assign,assignment]
    assert read_verified(store, ref, "m 1") == DATA


def test_read_verified_reports_progress_for_every_byte_and_closes_it() -> None:
    store, ref = stored(DATA)
    progress = Recorder()
    assert read_verified(store, ref, "m 1", progress) == DATA
    assert (progress.size, sum(progress.updates), progress.closed) == (len(DATA), len(DATA), True)


@pytest.mark.parametrize("read", ["read_verified", "verified_file"])
def test_a_progress_callback_that_fails_to_close_does_not_fail_the_load(read: str) -> None:
    store, ref = stored(DATA)
    if read == "read_verified":
        assert read_verified(store, ref, "m 1", FailsToClose()) == DATA
    else:
        with verified_file(store, ref, "m 1", FailsToClose()) as f:
            assert f.read() == DATA


def test_verified_file_hands_out_the_checked_bytes_from_the_start() -> None:
    store, ref = stored(DATA)
    progress = Recorder()
    with verified_file(store, ref, "m 1", progress) as f:
        assert f.read() == DATA
    assert (progress.size, sum(progress.updates), progress.closed) == (len(DATA), len(DATA), True)


def test_verified_file_reads_one_byte_past_the_manifest_size_and_says_what_it_found() -> None:
    store, ref = stored(DATA + b"extra", ref_of(DATA))
    with pytest.raises(IntegrityError) as caught, verified_file(store, ref, "m 1", False):
        pass
    found = DATA + b"e"
    assert str(caught.value) == mismatch_text(ref, f"found {sha(found)} ({len(found)} bytes)")


@pytest.mark.parametrize("every", [0, EVERY], ids=["no-checkpoints", "checkpoints"])
def test_a_manifest_with_the_right_digest_and_a_wrong_size_is_refused(every: int) -> None:
    ref = ref_of(DATA, every, size=len(DATA) + 1)
    store, _ = stored(DATA, ref)
    detail = f"found {sha(DATA)} ({len(DATA)} bytes)"
    with pytest.raises(IntegrityError) as caught:
        verify_blob(store, ref, "m 1")
    assert str(caught.value) == mismatch_text(ref, detail)
    with pytest.raises(IntegrityError) as caught, verified_file(store, ref, "m 1", False):
        pass
    assert str(caught.value) == mismatch_text(ref, detail)


@pytest.mark.parametrize("every", [0, EVERY], ids=["no-checkpoints", "checkpoints"])
def test_verify_blob_reads_one_byte_past_the_manifest_size_and_says_what_it_found(
    every: int,
) -> None:
    store, ref = stored(DATA + b"extra", ref_of(DATA, every))
    with pytest.raises(IntegrityError) as caught:
        verify_blob(store, ref, "m 1")
    found = DATA + b"e"
    assert str(caught.value) == mismatch_text(ref, f"found {sha(found)} ({len(found)} bytes)")


def test_verify_blob_accepts_a_blob_that_ends_on_a_checkpoint() -> None:
    data = DATA[: 2 * EVERY]
    store, ref = stored(data, ref_of(data, EVERY))
    verify_blob(store, ref, "m 1")


def test_verify_blob_checks_each_checkpoint_however_little_each_read_returns() -> None:
    ref = ref_of(DATA, EVERY)
    forged = ArtifactRef(**{**attrs.asdict(ref), "checkpoints": (ref.checkpoints[0], "0" * 32)})
    store, _ = stored(DATA, forged)
    store.open_blob = lambda key: Trickle(DATA, 1000)  # type: ignore[method-assign,assignment]
    with pytest.raises(IntegrityError) as caught:
        verify_blob(store, forged, "m 1")
    detail = f"its first {2 * EVERY} bytes have a different digest"
    assert str(caught.value) == mismatch_text(forged, detail)


def test_verify_blob_says_where_a_checkpoint_first_differs() -> None:
    damaged = bytearray(DATA)
    damaged[EVERY + 1] ^= 1  # in the second piece
    store, ref = stored(bytes(damaged), ref_of(DATA, EVERY))
    with pytest.raises(IntegrityError) as caught:
        verify_blob(store, ref, "m 1")
    detail = f"its first {2 * EVERY} bytes have a different digest"
    assert str(caught.value) == mismatch_text(ref, detail)


@pytest.mark.parametrize("every", [0, EVERY], ids=["no-checkpoints", "checkpoints"])
def test_verify_blob_accepts_an_intact_blob_read_a_little_at_a_time(every: int) -> None:
    store, ref = stored(DATA, ref_of(DATA, every))
    store.open_blob = lambda key: Trickle(DATA, 1000)  # type: ignore[method-assign,assignment]
    verify_blob(store, ref, "m 1")


class Failing(Trickle):
    def readinto(self, b: Any) -> int:
        raise OSError(5, "Input/output error")


def read_through_verified_file(store: MemoryStore, ref: ArtifactRef) -> bytes:
    with verified_file(store, ref, "m 1", False) as f:
        return f.read()


def test_a_failing_read_of_a_blob_is_a_store_error_naming_the_artifact() -> None:
    store, ref = stored(DATA)
    store.open_blob = lambda key: Failing(DATA, 1)  # type: ignore[method-assign,assignment]
    for read in (
        lambda: verify_blob(store, ref, "m 1"),
        lambda: read_verified(store, ref, "m 1"),
        lambda: read_through_verified_file(store, ref),
    ):
        with pytest.raises(StoreError) as caught:
            read()
        assert str(caught.value) == (
            "could not read the artifact of m 1: [Errno 5] Input/output error"
        )


# --- the verified stream --------------------------------------------------------------------


def stream_over(src: IO[bytes], ref: ArtifactRef, progress: Any = None) -> VerifiedStream:
    return VerifiedStream(src, ref, "m 1", progress or Recorder())


@pytest.mark.parametrize("size", [1, EVERY - 1, EVERY, EVERY + 1, 2 * EVERY, len(DATA)])
def test_the_stream_fills_each_piece_from_a_source_that_returns_little_at_a_time(
    size: int,
) -> None:
    data = DATA[:size]
    progress = Recorder()
    stream = stream_over(Trickle(data, 100), ref_of(data, EVERY), progress)  # type: ignore[arg-type]
    try:
        assert stream.read() == data
        stream.finish()
    finally:
        stream.stop()
    assert sum(progress.updates) == size
    assert all(n <= EVERY for n in progress.updates)


def test_a_stream_of_more_pieces_than_buffers_reads_every_byte() -> None:
    every = 1024  # ten pieces, three buffers
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, every))
    try:
        assert stream.read() == DATA
        stream.finish()
    finally:
        stream.stop()


def test_a_stopped_stream_reads_as_ended() -> None:
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY))
    assert stream.read(10) == DATA[:10]
    stream.stop()
    assert stream.read() == b""


def test_the_stream_reads_on_from_where_each_read_stopped() -> None:
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY))
    try:
        assert [stream.read(10) for _ in range(3)] == [DATA[:10], DATA[10:20], DATA[20:30]]
        assert stream.read(EVERY) == DATA[30:EVERY]  # at most to the end of the piece
    finally:
        stream.stop()


def test_the_stream_seeks_forward_within_a_piece_and_across_pieces() -> None:
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY))
    try:
        assert stream.read(10) == DATA[:10]
        assert stream.seek(1, io.SEEK_CUR) == 11
        assert stream.read(1) == DATA[11:12]
        assert stream.seek(20) == 20
        assert stream.read(2) == DATA[20:22]
        assert stream.seek(EVERY + 5) == EVERY + 5
        assert stream.read(3) == DATA[EVERY + 5 : EVERY + 8]
        assert stream.seek(2 * EVERY + 100) == 2 * EVERY + 100
        assert stream.read(3) == DATA[2 * EVERY + 100 : 2 * EVERY + 103]
    finally:
        stream.stop()


def test_a_stream_of_one_piece_is_checked_without_a_thread(
    threads_started: list[threading.Thread],
) -> None:
    data = DATA[:EVERY]
    stream = stream_over(io.BytesIO(data), ref_of(data, EVERY))
    try:
        assert threads_started == []
        assert stream.read() == data
    finally:
        stream.stop()


def test_a_stream_of_many_pieces_is_checked_by_a_named_daemon_thread() -> None:
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY))
    try:
        worker = stream._thread
        assert worker is not None
        assert (worker.name, worker.daemon) == ("modelship-verify", True)
    finally:
        stream.stop()
    assert not worker.is_alive()


def test_the_stream_needs_an_artifact_with_checkpoints() -> None:
    with pytest.raises(ValueError, match=r"^VerifiedStream needs an artifact with checkpoints$"):
        stream_over(io.BytesIO(DATA), ref_of(DATA))


def test_checked_stream_reports_progress_for_every_byte_and_closes_it() -> None:
    store, ref = stored(DATA, ref_of(DATA, EVERY))
    progress = Recorder()
    with checked_stream(store, ref, "m 1", progress) as stream:
        assert stream.read() == DATA
        stream.finish()
    assert (progress.size, sum(progress.updates), progress.closed) == (len(DATA), len(DATA), True)


def test_checked_stream_over_an_artifact_without_checkpoints_closes_what_it_opened() -> None:
    store, ref = stored(DATA)
    opened: list[IO[bytes]] = []
    real = store.open_blob

    def recording(key: str) -> IO[bytes]:
        opened.append(real(key))
        return opened[-1]

    store.open_blob = recording  # type: ignore[method-assign]
    with (
        pytest.raises(ValueError, match="checkpoints"),
        checked_stream(store, ref, "m 1", FailsToClose()),
    ):
        pass
    assert [f.closed for f in opened] == [True]


def read_to_the_end(stream: VerifiedStream) -> None:
    stream.read()
    stream.finish()


def stream_error(data: bytes, ref: ArtifactRef) -> str:
    stream = stream_over(io.BytesIO(data), ref)
    try:
        with pytest.raises(IntegrityError) as caught:
            read_to_the_end(stream)
    finally:
        stream.stop()
    return str(caught.value)


@pytest.mark.parametrize("size", [EVERY, len(DATA)], ids=["one-piece", "many-pieces"])
def test_a_stream_longer_than_its_manifest_says_it_found_more_bytes(size: int) -> None:
    ref = ref_of(DATA[:size], EVERY)
    message = stream_error(DATA[:size] + b"!", ref)
    assert message == mismatch_text(ref, "found more bytes than that")


def test_a_stream_shorter_than_its_manifest_says_how_many_bytes_it_found() -> None:
    ref = ref_of(DATA, EVERY)
    message = stream_error(DATA[: 2 * EVERY + 5], ref)
    assert message == mismatch_text(ref, f"found {2 * EVERY + 5} bytes")


def test_a_stream_whose_last_piece_differs_says_the_digest_found() -> None:
    other = DATA[:-1] + b"!"
    ref = ref_of(DATA, EVERY)
    assert stream_error(other, ref) == mismatch_text(ref, f"found {sha(other)}")


def test_a_stream_whose_piece_differs_says_where() -> None:
    damaged = bytearray(DATA)
    damaged[0] ^= 1
    ref = ref_of(DATA, EVERY)
    message = stream_error(bytes(damaged), ref)
    assert message == mismatch_text(ref, f"its first {EVERY} bytes have a different digest")


def test_a_stream_that_fails_to_read_is_a_store_error_naming_the_artifact() -> None:
    stream = stream_over(Failing(DATA, 1), ref_of(DATA, EVERY))  # type: ignore[arg-type]
    try:
        with pytest.raises(StoreError) as caught:
            stream.read()
        assert str(caught.value) == (
            "could not read the artifact of m 1: [Errno 5] Input/output error"
        )
        assert isinstance(caught.value.__cause__, OSError)
        with pytest.raises(StoreError):  # and again: the failure is kept
            stream.read()
    finally:
        stream.stop()


def test_the_stream_refuses_to_go_back_past_its_piece_saying_from_where_to_where() -> None:
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY))
    try:
        assert stream.read(EVERY) == DATA[:EVERY]  # the whole first piece
        assert stream.read(10) == DATA[EVERY : EVERY + 10]
        assert stream.tell() == EVERY + 10
        assert stream.seek(-10, io.SEEK_CUR) == EVERY  # the start of this piece
        with pytest.raises(io.UnsupportedOperation) as caught:
            stream.seek(EVERY - 1)
        assert str(caught.value) == (
            "a verified artifact stream reads front to back: it cannot go back from "
            f"byte {EVERY} to byte {EVERY - 1}"
        )
        assert stream.read(3) == DATA[EVERY : EVERY + 3]
    finally:
        stream.stop()


def test_the_stream_cannot_go_back_before_reading_anything() -> None:
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY))
    try:
        with pytest.raises(io.UnsupportedOperation):
            stream.seek(-1, io.SEEK_CUR)
        assert stream.seek(0) == 0
        assert stream.read(5) == DATA[:5]
    finally:
        stream.stop()


def test_seeking_past_the_end_stops_at_the_end() -> None:
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY))
    try:
        assert stream.seek(10, io.SEEK_END) == len(DATA)
        assert stream.read() == b""
        assert (stream.readable(), stream.seekable()) == (True, True)
    finally:
        stream.stop()


def test_finish_checks_the_rest_after_a_partial_read() -> None:
    progress = Recorder()
    stream = stream_over(io.BytesIO(DATA), ref_of(DATA, EVERY), progress)
    try:
        assert stream.read(10) == DATA[:10]
        stream.finish()
        assert stream.tell() == len(DATA)
    finally:
        stream.stop()
    assert sum(progress.updates) == len(DATA)


# --- reading a local file: pread with read-ahead only where the disk is needed ---------------


def local_file(tmp_path: Path, data: bytes) -> IO[bytes]:
    path = tmp_path / "blob"
    path.write_bytes(data)
    return open(path, "rb")


needs_nowait = pytest.mark.skipif(
    not (hasattr(os, "preadv") and hasattr(os, "RWF_NOWAIT") and hasattr(os, "posix_fadvise")),
    reason="pread with RWF_NOWAIT is Linux only",
)


@needs_nowait
def test_a_local_file_is_read_with_pread_from_where_it_stands(tmp_path: Path) -> None:
    with local_file(tmp_path, DATA) as f:
        f.seek(100)
        reader = _integrity._reader(f)
        assert isinstance(reader, _integrity._ReadAhead)
        assert reader.readable()
        assert reader.read() == DATA[100:]


def test_a_stream_without_a_descriptor_is_read_as_it_is() -> None:
    src = io.BytesIO(DATA)
    assert _integrity._reader(src) is src


class Disk:
    """``os.preadv`` and ``os.posix_fadvise`` as on a disk where nothing is cached yet.

    ``nowait`` is what a read that must not wait raises (None: it succeeds, the file is
    cached); ``advice_fails`` makes every read-ahead request fail.
    """

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        nowait: type[OSError] | None,
        advice_fails: bool = False,
    ) -> None:
        self.real = os.preadv
        self.nowait = nowait
        self.advice_fails = advice_fails
        self.tries = 0  # reads that asked not to wait
        self.advised: list[tuple[int, int]] = []
        monkeypatch.setattr(os, "preadv", self.preadv)
        monkeypatch.setattr(os, "posix_fadvise", self.fadvise)

    def preadv(self, fd: int, buffers: Any, offset: int, flags: int = 0) -> int:
        if flags:
            self.tries += 1
            if self.nowait is not None:
                raise self.nowait(95, "not cached")
        return self.real(fd, buffers, offset)

    def fadvise(self, fd: int, offset: int, length: int, advice: int) -> None:
        assert isinstance(fd, int)
        assert advice == os.POSIX_FADV_WILLNEED
        self.advised.append((offset, length))
        if self.advice_fails:
            raise OSError(22, "read-ahead not supported")


@needs_nowait
def test_a_read_that_would_wait_asks_for_the_next_two_chunks_once_per_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(2 * CHUNK + 10)
    disk = Disk(monkeypatch, BlockingIOError)
    with local_file(tmp_path, data) as f:
        reader = _integrity._ReadAhead(f.fileno(), 0)
        buffer = bytearray(CHUNK)
        got = [bytes(buffer[:n]) for _ in range(4) if (n := reader.readinto(buffer))]
    assert b"".join(got) == data
    assert disk.advised == [(0, 2 * CHUNK), (CHUNK, 2 * CHUNK), (2 * CHUNK, 2 * CHUNK)]
    assert disk.tries == 4  # the page cache is tried first every time


@needs_nowait
def test_a_file_system_without_nowait_reads_is_not_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk(monkeypatch, OSError)
    with local_file(tmp_path, DATA) as f:
        reader = _integrity._ReadAhead(f.fileno(), 0)
        assert reader.read() == DATA
    assert disk.tries == 1
    assert disk.advised == [(0, 2 * CHUNK)]


@needs_nowait
def test_a_cached_file_is_read_without_asking_the_disk_for_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk(monkeypatch, None)
    with local_file(tmp_path, DATA) as f:
        assert _integrity._ReadAhead(f.fileno(), 0).read() == DATA
    assert disk.advised == []


@needs_nowait
def test_a_read_ahead_request_that_fails_does_not_fail_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk(monkeypatch, BlockingIOError, advice_fails=True)
    with local_file(tmp_path, DATA) as f:
        assert _integrity._ReadAhead(f.fileno(), 0).read() == DATA
    assert disk.advised == [(0, 2 * CHUNK)]


@needs_nowait
class _ReadSizes:
    """A local file that records the size of every read asked of it."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.sizes: list[int] = []

    def fileno(self) -> int:
        return self.f.fileno()

    def readinto(self, buffer: Any) -> int:
        self.sizes.append(len(buffer))
        return self.f.readinto(buffer)  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self.f.close()


def test_verify_reads_a_local_file_in_reads_small_enough_to_stay_in_the_cpu_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * _integrity._VERIFY_READ)
    store = FsspecStore.from_url(str(tmp_path / "registry"))
    ref = ref_of(data)
    store.create(blob_key(ref.digest), data)
    opened: list[_ReadSizes] = []
    real_open = store.open_blob

    def open_blob(key: str) -> Any:
        opened.append(_ReadSizes(real_open(key)))
        return opened[-1]

    monkeypatch.setattr(store, "open_blob", open_blob)
    verify_blob(store, ref, "m 1")
    assert max(opened[0].sizes) == _integrity._VERIFY_READ


def test_verify_leaves_read_ahead_to_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reads of its own that must not wait, and read-ahead requests, made a verify of a file
    # not in the page cache 1.35-1.48x hashlib.file_digest; plain reads are as fast.
    data = os.urandom(3 * _integrity._VERIFY_READ)
    store = FsspecStore.from_url(str(tmp_path / "registry"))
    ref = ref_of(data)
    store.create(blob_key(ref.digest), data)
    calls: list[str] = []
    monkeypatch.setattr(os, "preadv", lambda *args: calls.append("preadv"))
    real_advise = os.posix_fadvise

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append(f"advice {advice}")
        real_advise(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", advise)
    verify_blob(store, ref, "m 1")
    assert calls == [f"advice {os.POSIX_FADV_SEQUENTIAL}"]


class _SeekingLines:
    """A serializer that needs to seek, so loads read from a private copy of the bytes."""

    name = "seeking-lines-test"
    media_type = "text/plain"
    reads_sequentially = False

    def dump(self, obj: object, fp: Any) -> None:
        fp.write("\n".join(obj).encode())  # type: ignore[call-overload]

    def load(self, fp: Any) -> object:
        fp.seek(0)
        return fp.read().decode().split("\n")

    def library_versions(self) -> dict[str, str]:
        return {}


def test_no_room_for_the_private_copy_is_a_store_error_saying_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import tempfile

    import modelship as ms
    from modelship.registry import register_serializer

    register_serializer(_SeekingLines(), clobber=True)  # type: ignore[arg-type]
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="m", model=["a", "b"], serializer="seeking-lines-test")
    assert reg.load("m", "1") == ["a", "b"]

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    with pytest.raises(ms.StoreError) as caught:
        reg.load("m", "1")
    message = str(caught.value)
    assert message.startswith("could not make a private temporary file for the artifact of m 1")
    assert "No space left on device" in message
    assert "TMPDIR" in message
