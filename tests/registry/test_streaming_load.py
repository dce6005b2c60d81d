"""Loading piece by piece: checkpoints in the manifest, and a deserialiser that never reads a
byte before its prefix digest is checked."""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
from pathlib import Path
from typing import IO, Any

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship._hashing import CHUNK, hash_stream
from modelship._model_version import ArtifactRef
from modelship.registry import _serializers
from modelship.registry._integrity import VerifiedStream
from modelship.registry._layout import blob_key as _blob_key
from modelship.registry._writer import HashingWriter as _HashingWriter

EVERY = 4096


def expected_checkpoints(data: bytes, every: int) -> list[str]:
    return [hashlib.sha256(data[:end]).hexdigest()[:32] for end in range(every, len(data), every)]


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    registry = ms.open_registry(str(tmp_path / "registry"))
    registry._CHECKPOINT_EVERY = EVERY  # small pieces, so small artifacts have many
    return registry


class Recording:
    """A sequential serializer that keeps every byte it was handed, chunk by chunk."""

    name = "recording"
    media_type = "application/octet-stream"
    reads_sequentially = True

    def __init__(self, stop_after: int | None = None, fail: bool = False) -> None:
        self.seen = bytearray()
        self.stop_after = stop_after
        self.fail = fail

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        fp.write(obj)

    def load(self, fp: IO[bytes]) -> Any:
        while chunk := fp.read(1000):
            self.seen += chunk
            if self.stop_after is not None and len(self.seen) >= self.stop_after:
                break
        if self.fail:
            raise ValueError("this format needs a newer library")
        return bytes(self.seen)

    def library_versions(self) -> dict[str, str]:
        return {}


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Recording:
    codec = Recording()
    monkeypatch.setitem(_serializers._REGISTERED, codec.name, codec)
    return codec


def replace_blob(reg: ms.Registry, mv: ms.ModelVersion, data: bytes) -> None:
    """Change the stored bytes in place, as damage on disk would."""
    Path(reg.store._local(_blob_key(mv.artifact.digest))).write_bytes(data)  # type: ignore[attr-defined]


DATA = bytes(range(256)) * 80  # 20,480 bytes: five pieces of 4,096


# --- what register records --------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, EVERY - 1, EVERY, EVERY + 1, 3 * EVERY, 5 * EVERY + 7])
def test_register_records_a_prefix_digest_at_every_interval(reg: ms.Registry, size: int) -> None:
    data = DATA[:size] if size <= len(DATA) else (DATA * 2)[:size]
    mv = reg.register(model_name="m", model=data, serializer="bytes", lineage={})
    assert mv.artifact.checkpoint_every == EVERY
    assert list(mv.artifact.checkpoints) == expected_checkpoints(data, EVERY)
    assert reg.get("m", "latest").artifact == mv.artifact  # through the manifest on disk


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=3000),
    every=st.integers(min_value=1, max_value=700),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=8),
)
def test_checkpoints_do_not_depend_on_how_the_bytes_are_written(
    data: bytes, every: int, cuts: list[int]
) -> None:
    writer = _HashingWriter(io.BytesIO(), every)
    edges = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    for start, end in itertools.pairwise(edges):
        writer.write(data[start:end])
    assert writer.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert writer.checkpoints == expected_checkpoints(data, every)


def test_past_the_cap_no_checkpoints_are_kept_and_load_reads_in_two_passes(
    reg: ms.Registry, recording: Recording
) -> None:
    reg._MAX_CHECKPOINTS = 3
    small = reg.register(model_name="m", model=DATA[: 4 * EVERY], serializer="recording")
    big = reg.register(model_name="m", model=DATA, serializer="recording")
    assert len(small.artifact.checkpoints) == 3
    assert (big.artifact.checkpoint_every, big.artifact.checkpoints) == (0, ())
    assert "checkpoints" not in big.artifact.to_dict()
    assert reg.load("m", big.version) == DATA
    replace_blob(reg, big, DATA[:-1] + b"!")
    recording.seen.clear()
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.load("m", big.version)
    assert recording.seen == b""  # two passes: nothing is read before the whole is checked


# --- the record ---------------------------------------------------------------------------


def ref(size: int, every: int, checkpoints: list[str]) -> ArtifactRef:
    return ArtifactRef(
        digest="sha256:" + "0" * 64,
        size=size,
        serializer="bytes",
        media_type="application/octet-stream",
        checkpoint_every=every,
        checkpoints=checkpoints,
    )


def test_checkpoints_round_trip_and_an_artifact_without_them_keeps_its_old_form() -> None:
    with_them = ref(10, 4, ["a" * 32, "b" * 32])
    assert ArtifactRef.from_dict(with_them.to_dict()) == with_them
    assert with_them.to_dict()["checkpoints"] == {"every": 4, "sha256": ["a" * 32, "b" * 32]}
    old = ref(10, 0, []).to_dict()
    assert set(old) == {"digest", "size", "serializer", "media_type", "library_versions"}
    assert ArtifactRef.from_dict(old).checkpoint_every == 0


@pytest.mark.parametrize(
    ("every", "checkpoints", "message"),
    [
        (4, ["a" * 32], "need 2"),
        (4, ["a" * 32] * 3, "need 2"),
        (0, ["a" * 32], "need 0"),
        (4, ["a" * 32, "A" * 32], "32 hex digits"),
        (4, ["a" * 32, "a" * 64], "32 hex digits"),
        (-4, [], "non-negative"),
    ],
)
def test_inconsistent_checkpoints_are_an_integrity_error(
    every: int, checkpoints: list[str], message: str
) -> None:
    with pytest.raises(ms.IntegrityError, match=message):
        ref(10, every, checkpoints)


def test_malformed_checkpoints_in_a_manifest_are_an_integrity_error() -> None:
    data = ref(10, 0, []).to_dict()
    data["checkpoints"] = ["a" * 32]
    with pytest.raises(ms.IntegrityError, match="malformed"):
        ArtifactRef.from_dict(data)


# --- loading ------------------------------------------------------------------------------


def test_a_sequential_serializer_sees_only_checked_bytes(
    reg: ms.Registry, recording: Recording
) -> None:
    mv = reg.register(model_name="m", model=DATA, serializer="recording")
    assert reg.load("m", "1") == DATA
    damaged = bytearray(DATA)
    damaged[2 * EVERY + 10] ^= 0x01  # in the third piece
    replace_blob(reg, mv, bytes(damaged))
    recording.seen.clear()
    with pytest.raises(ms.IntegrityError, match="first 12288 bytes have a different digest"):
        reg.load("m", "1")
    # It read the two pieces before, all of them unchanged, and not a byte of the third.
    assert len(recording.seen) <= 2 * EVERY
    assert recording.seen == DATA[: len(recording.seen)]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: b"X" + d[1:], "first 4096 bytes"),
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "found sha256:"),
        (lambda d: d[:-1], f"found {len(DATA) - 1} bytes"),
        (lambda d: d[: 3 * EVERY], f"found {3 * EVERY} bytes"),
        (lambda d: d + b"extra", "more bytes than that"),
        (lambda d: b"", "found 0 bytes"),
    ],
    ids=["first-byte", "last-byte", "one-short", "short-on-a-boundary", "longer", "empty"],
)
def test_any_damage_is_an_integrity_error(
    reg: ms.Registry, recording: Recording, damage: Any, message: str
) -> None:
    mv = reg.register(model_name="m", model=DATA, serializer="recording")
    replace_blob(reg, mv, damage(DATA))
    with pytest.raises(ms.IntegrityError, match=message):
        reg.load("m", "1")


def test_an_artifact_that_ends_on_a_piece_boundary_gets_no_extra_bytes(
    reg: ms.Registry, recording: Recording
) -> None:
    data = DATA[: 4 * EVERY]
    mv = reg.register(model_name="m", model=data, serializer="recording")
    replace_blob(reg, mv, data + b"\x00")
    with pytest.raises(ms.IntegrityError, match="more bytes than that"):
        reg.load("m", "1")


def test_damage_past_where_the_serializer_stopped_is_still_found(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    codec = Recording(stop_after=1000)
    monkeypatch.setitem(_serializers._REGISTERED, codec.name, codec)
    mv = reg.register(model_name="m", model=DATA, serializer="recording")
    assert reg.load("m", "1") == DATA[:1000]
    replace_blob(reg, mv, DATA[:-1] + b"!")
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.load("m", "1")


def test_a_failing_serializer_is_a_serialization_error_unless_the_artifact_is_damaged(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    codec = Recording(stop_after=100, fail=True)
    monkeypatch.setitem(_serializers._REGISTERED, codec.name, codec)
    mv = reg.register(model_name="m", model=DATA, serializer="recording")
    with pytest.raises(ms.SerializationError, match="needs a newer library"):
        reg.load("m", "1")
    replace_blob(reg, mv, DATA[:-1] + b"!")
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.load("m", "1")


def test_a_serializer_that_closes_its_stream_is_still_checked_to_the_end(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Closing(Recording):
        def load(self, fp: IO[bytes]) -> Any:
            with fp:
                return fp.read(10)

    codec = Closing()
    monkeypatch.setitem(_serializers._REGISTERED, codec.name, codec)
    mv = reg.register(model_name="m", model=DATA, serializer="recording")
    assert reg.load("m", "1") == DATA[:10]
    replace_blob(reg, mv, DATA[:-1] + b"!")
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.load("m", "1")


class Abort(BaseException):
    """Like KeyboardInterrupt: not an Exception, so load does not check the rest first."""


def test_an_interrupted_load_leaves_no_thread_behind(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch, threads_started: list[threading.Thread]
) -> None:
    class Interrupted(Recording):
        def load(self, fp: IO[bytes]) -> Any:
            fp.read(100)
            raise Abort

    codec = Interrupted()
    monkeypatch.setitem(_serializers._REGISTERED, codec.name, codec)
    big = (DATA * 20)[: 100 * EVERY]  # far more pieces than the three buffers
    reg.register(model_name="m", model=big, serializer="recording")
    threads_started.clear()
    with pytest.raises(Abort):
        reg.load("m", "1")
    assert threads_started, "a load of many pieces checks them on a thread"
    assert [t for t in threads_started if t.is_alive()] == []


class Tripwire:
    """Unpickling this sets ``FIRED``: the code a tampered pickle could run."""

    def __reduce__(self) -> Any:
        return (_fire, ())


FIRED: list[bool] = []


def _fire() -> str:
    FIRED.append(True)
    return "fired"


def test_joblib_runs_no_pickle_code_that_follows_a_damaged_piece(reg: ms.Registry) -> None:
    FIRED.clear()
    model = {"weights": np.arange(20_000, dtype=np.float64), "hook": Tripwire()}
    mv = reg.register(model_name="m", model=model, lineage={})
    assert mv.artifact.size > 30 * EVERY
    loaded = reg.load("m", "1")
    np.testing.assert_array_equal(loaded["weights"], model["weights"])
    assert loaded["hook"] == "fired"
    assert FIRED == [True]
    FIRED.clear()
    data = bytearray(reg.store.read(_blob_key(mv.artifact.digest)))
    data[10 * EVERY] ^= 0x01  # inside the array, well before the hook's opcodes
    replace_blob(reg, mv, bytes(data))
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.load("m", "1")
    assert FIRED == []


@pytest.mark.parametrize("serializer", ["joblib", "numpy"])
def test_builtin_sequential_serializers_round_trip_over_many_pieces(
    reg: ms.Registry, serializer: str
) -> None:
    array = np.random.default_rng(3).random((300, 70))  # 168,000 bytes: 42 pieces
    mv = reg.register(model_name="m", model=array, serializer=serializer, lineage={})
    assert len(mv.artifact.checkpoints) >= 40
    np.testing.assert_array_equal(reg.load("m", "1"), array)


def test_a_joblib_file_written_elsewhere_loads_the_same(reg: ms.Registry, tmp_path: Path) -> None:
    array = np.arange(50_000)
    reg.register(model_name="m", model=array, lineage={})
    joblib.dump(array, tmp_path / "direct.joblib")
    np.testing.assert_array_equal(reg.load("m", "1"), joblib.load(tmp_path / "direct.joblib"))


# --- the stream itself --------------------------------------------------------------------


class Progress:
    def __init__(self) -> None:
        self.total = 0

    def relative_update(self, n: int) -> None:
        self.total += n


def stream_of(data: bytes, every: int) -> tuple[VerifiedStream, Progress]:
    progress = Progress()
    ref = ArtifactRef(
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
        size=len(data),
        serializer="bytes",
        media_type="application/octet-stream",
        checkpoint_every=every,
        checkpoints=expected_checkpoints(data, every),
    )
    return VerifiedStream(io.BytesIO(data), ref, "m 1", progress), progress


def test_the_stream_seeks_back_within_a_piece_and_anywhere_forward() -> None:
    stream, progress = stream_of(DATA, EVERY)
    try:
        assert stream.read(10) == DATA[:10]
        assert stream.seek(-6, io.SEEK_CUR) == 4
        assert stream.read(4) == DATA[4:8]
        assert stream.seek(3 * EVERY + 5) == 3 * EVERY + 5
        assert stream.read(3) == DATA[3 * EVERY + 5 : 3 * EVERY + 8]
        with pytest.raises(io.UnsupportedOperation, match="front to back"):
            stream.seek(EVERY)
        assert stream.seek(-2, io.SEEK_END) == len(DATA) - 2
        assert stream.read() == DATA[-2:]
        assert stream.read(5) == b""
        stream.finish()
    finally:
        stream.stop()
    assert progress.total == len(DATA)


def test_the_stream_needs_checkpoints() -> None:
    with pytest.raises(ValueError, match="checkpoints"):
        VerifiedStream(io.BytesIO(b"x"), ref(1, 0, []), "m 1", Progress())


# --- raw bytes on a local disk: read once, and that object hashed --------------------------


@pytest.mark.parametrize("size", [0, 1, len(DATA)])
def test_local_raw_bytes_load_returns_the_registered_bytes_and_starts_no_thread(
    reg: ms.Registry, size: int, threads_started: list[threading.Thread]
) -> None:
    reg.register(model_name="m", model=DATA[:size], serializer="bytes")
    threads_started.clear()
    assert reg.load("m", "1") == DATA[:size]
    assert threads_started == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:],
        lambda d: d[:-1],
        lambda d: d + b"!",
        lambda d: b"",
    ],
    ids=["changed", "shorter", "longer", "empty"],
)
def test_local_raw_bytes_with_any_damage_are_an_integrity_error(
    reg: ms.Registry, damage: Any
) -> None:
    mv = reg.register(model_name="m", model=DATA, serializer="bytes")
    replace_blob(reg, mv, damage(DATA))
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.load("m", "1")


def test_a_storage_failure_mid_stream_is_a_store_error(
    reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    array = np.arange(40_000)  # 320,000 bytes: many pieces
    reg.register(model_name="m", model=array, lineage={})
    opened = reg.store.open_blob

    class Failing(io.RawIOBase):
        def __init__(self, inner: IO[bytes]) -> None:
            self.inner, self.served = inner, 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            if self.served > 5 * EVERY:
                raise OSError(5, "Input/output error")
            n = self.inner.readinto(b)  # type: ignore[attr-defined]
            self.served += n
            return int(n)

        def close(self) -> None:
            self.inner.close()
            super().close()

    monkeypatch.setattr(reg.store, "open_blob", lambda key: Failing(opened(key)))
    with pytest.raises(ms.StoreError, match=r"could not read the artifact of m 1: .*Input/output"):
        reg.load("m", "1")


def test_verify_checks_the_checkpoints_that_load_relies_on(reg: ms.Registry) -> None:
    import json

    mv = reg.register(model_name="m", model=np.arange(10_000), lineage={})
    assert reg.verify("m", "1") == mv
    manifest = Path(reg.store._local("models/m/versions/1.json"))  # type: ignore[attr-defined]
    doc = json.loads(manifest.read_bytes())
    doc["artifact"]["checkpoints"]["sha256"][3] = "0" * 32  # the digest itself is intact
    manifest.write_text(json.dumps(doc))
    with pytest.raises(ms.IntegrityError, match="first 16384 bytes have a different digest"):
        reg.verify("m", "1")
    with pytest.raises(ms.IntegrityError, match="first 16384 bytes"):
        reg.load("m", "1")


def test_hash_stream_counts_every_chunk_of_a_file_longer_than_one_chunk() -> None:
    data = bytes(range(256)) * ((CHUNK + 4096) // 256)
    assert len(data) > CHUNK
    assert hash_stream(io.BytesIO(data)) == (hashlib.sha256(data).hexdigest(), len(data))
