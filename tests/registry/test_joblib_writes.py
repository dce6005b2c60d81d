"""The joblib serializer writes exactly what ``joblib.dump`` writes, without copying arrays.

The serializer's pickler writes a contiguous array from the array's own memory where
joblib writes 16 MiB ``tobytes()`` copies; everything else goes through joblib's code.
These tests hold it to joblib's bytes for any array, and to "no copy" for the big ones.
The hashing writer then copies each large chunk of a buffer that could change into a
reused buffer of its own: the last tests change the array between hashing and writing.
"""

from __future__ import annotations

import io
import threading
import types
from typing import Any

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import modelship as ms
from modelship.registry._serializers import JoblibSerializer, _zero_copy


def joblib_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    return buf.getvalue()


def our_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    JoblibSerializer().dump(obj, buf)
    return buf.getvalue()


DTYPES = st.one_of(
    hnp.scalar_dtypes(),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
    st.sampled_from([np.dtype(">f8"), np.dtype("<i2"), np.dtype([("x", "i4"), ("y", "f8")])]),
)


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray[Any, Any]:
    base = draw(hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, max_side=6)))
    layout = draw(st.sampled_from(["c", "f", "transposed", "strided", "reversed"]))
    if layout == "f":
        return np.asfortranarray(base)
    if layout == "transposed":
        return base.T
    if layout == "strided" and base.ndim:
        return base[::2]
    if layout == "reversed" and base.ndim:
        return base[::-1]
    return base


@settings(max_examples=300, deadline=None)
@given(arrays())
def test_any_array_is_written_byte_for_byte_as_joblib_writes_it(
    array: np.ndarray[Any, Any],
) -> None:
    assert our_bytes(array) == joblib_bytes(array)


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@settings(max_examples=50, deadline=None)
@given(st.lists(arrays(), max_size=4), st.text(max_size=5))
def test_arrays_inside_other_objects_too(parts: list[np.ndarray[Any, Any]], text: str) -> None:
    obj = {"parts": parts, "text": text, "pair": (parts[:1], np.matrix(np.eye(2)))}
    data = our_bytes(obj)
    assert data == joblib_bytes(obj)
    back = joblib.load(io.BytesIO(data))
    assert len(back["parts"]) == len(parts)
    for got, want in zip(back["parts"], parts, strict=True):
        # Bit for bit (NaN inside a structured array never compares equal); joblib.load
        # hands back a big-endian array in native byte order.
        assert got.dtype in (want.dtype, want.dtype.newbyteorder())
        assert got.shape == want.shape
        assert got.tobytes() == want.astype(got.dtype).tobytes()


@pytest.mark.parametrize(
    "array",
    [
        np.array(["a", None, 3], dtype=object),
        np.memmap,  # placeholder: built in the test (needs a file)
        np.zeros((0, 4)),
        np.array(2.5),
        np.arange(12.0).reshape(3, 4)[:, ::2],
    ],
    ids=["object", "memmap", "empty", "0-d", "non-contiguous"],
)
def test_the_edge_cases_match_joblib(array: Any, tmp_path: Any) -> None:
    if array is np.memmap:
        array = np.memmap(tmp_path / "m.bin", dtype="f8", mode="w+", shape=(5, 3))
        array[:] = np.arange(15.0).reshape(5, 3)
    assert our_bytes(array) == joblib_bytes(array)


class _Recorder(io.RawIOBase):
    """A file that keeps what it was given, and the type of each write."""

    def __init__(self, seekable: bool = True) -> None:
        super().__init__()
        self.data = bytearray()
        self.kinds: list[tuple[type, int]] = []
        self._seekable = seekable

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        self.kinds.append((type(b), len(view)))
        self.data += view
        return len(view)

    def tell(self) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("tell")
        return len(self.data)


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_large_array_is_written_from_its_own_memory_not_copied(order: str) -> None:
    array = np.ones((3 * 2**20, 4), order=order)  # 96 MiB: six 16 MiB pieces
    out = _Recorder()
    JoblibSerializer().dump(array, out)
    big = [(kind, n) for kind, n in out.kinds if n >= 2**20]
    assert [n for _, n in big] == [16 * 2**20] * 6
    assert all(kind is memoryview for kind, _ in big), big  # joblib.dump: bytes copies
    assert bytes(out.data) == joblib_bytes(array)


def test_a_stream_without_tell_gets_joblib_bytes_without_alignment() -> None:
    array = np.arange(1000.0)
    ours, theirs = _Recorder(seekable=False), _Recorder(seekable=False)
    JoblibSerializer().dump(array, ours)
    joblib.dump(array, theirs)
    assert ours.data == theirs.data


def test_a_joblib_without_the_pieces_used_falls_back_to_its_own_pickler() -> None:
    from joblib import numpy_pickle

    trimmed = types.SimpleNamespace(
        NumpyPickler=numpy_pickle.NumpyPickler,
        Pickler=numpy_pickle.Pickler,
        NumpyArrayWrapper=object,  # no safe_get_numpy_array_alignment_bytes
    )
    assert _zero_copy(trimmed) is numpy_pickle.NumpyPickler
    assert _zero_copy(numpy_pickle) is not numpy_pickle.NumpyPickler


def test_a_registered_array_loads_back_and_its_digest_is_joblibs(tmp_path: Any) -> None:
    import hashlib

    array = np.random.default_rng(3).random((1000, 30), dtype=np.float64)
    reg = ms.open_registry(str(tmp_path / "reg"))
    mv = reg.register(model_name="m", model=np.asfortranarray(array), lineage={}, progress=False)
    np.testing.assert_array_equal(reg.load("m", mv.version), array)
    expected = hashlib.sha256(joblib_bytes(np.asfortranarray(array))).hexdigest()
    assert mv.artifact.digest == "sha256:" + expected


class _MutatingTarget:
    """A blob file whose write lets the hasher finish the chunk, then changes the caller's
    array (as another thread might) before it takes the bytes: deterministic, no timing."""

    def __init__(self, source: np.ndarray[Any, Any]) -> None:
        self.source = source
        self.hashed = threading.Event()
        self.data = bytearray()

    def observe(self, chunk: memoryview) -> None:  # runs on the hashing thread, after hashing
        self.hashed.set()

    def write(self, chunk: memoryview) -> None:
        if len(chunk) >= 2**20:
            assert self.hashed.wait(10)
            self.hashed.clear()
            self.source += 1.0  # the caller's array changes between hashing and writing
        self.data += chunk


@pytest.mark.parametrize("serializer", ["joblib", "bytes"])
def test_the_bytes_hashed_are_the_bytes_written_when_the_array_changes(serializer: str) -> None:
    import hashlib

    from modelship.registry._serializers import get_serializer
    from modelship.registry._writer import HashingWriter

    array = np.zeros(2**20)  # 8 MiB
    target = _MutatingTarget(array)
    writer = HashingWriter(target, observe=target.observe)
    model = array if serializer == "joblib" else memoryview(array).cast("B")
    get_serializer(serializer).dump(model, writer)
    writer.close()
    assert writer.digest == "sha256:" + hashlib.sha256(target.data).hexdigest()
