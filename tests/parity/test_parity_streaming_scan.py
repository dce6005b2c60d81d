"""``StreamingScan``: the scan of an artifact fed chunk by chunk as it is written."""

from __future__ import annotations

import io
import pickle
from typing import Any

import joblib
import numpy as np
import pytest
from _estimators import FakeScaler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelship.parity import ArtifactScanError, StreamingScan, scan_artifact
from modelship.parity import _scan as scan_module

COMPRESSIONS = [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lz4", 3)]


def joblib_bytes(obj: Any, compress: Any = 0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


def streamed(data: bytes, sizes: list[int]) -> StreamingScan:
    """A scan fed ``data`` in pieces of ``sizes`` (cycled), the last piece whatever is left."""
    scan = StreamingScan()
    at, turn = 0, 0
    while at < len(data):  # bound: every piece is at least one byte
        step = max(1, sizes[turn % len(sizes)])
        scan.feed(memoryview(data)[at : at + step])
        at, turn = at + step, turn + 1
    return scan


def model() -> list[Any]:
    noise = np.random.default_rng(0).normal(size=3 * 2**17)  # 3 MiB of array bytes
    return [noise, FakeScaler(), {"ratio": 0.5}, noise[:10].copy()]


ARTIFACTS = {str(c): joblib_bytes(model(), c) for c in COMPRESSIONS}
SCANS = {c: scan_artifact(data) for c, data in ARTIFACTS.items()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(2**10, 3 * 2**20), min_size=1, max_size=5),
    compress=st.sampled_from(sorted(ARTIFACTS)),
)
def test_a_streamed_scan_finds_what_scanning_the_whole_artifact_finds(
    sizes: list[int], compress: str
) -> None:
    assert streamed(ARTIFACTS[compress], sizes).result() == SCANS[compress]


@settings(max_examples=30, deadline=None)
@given(protocol=st.integers(0, 5), sizes=st.lists(st.integers(1, 64), min_size=1, max_size=4))
def test_a_plain_pickle_fed_in_small_pieces_scans_as_a_whole(
    protocol: int, sizes: list[int]
) -> None:
    data = pickle.dumps([FakeScaler(), np.arange(5.0)], protocol=protocol)
    assert streamed(data, sizes).result() == scan_artifact(data)


@pytest.mark.parametrize("compress", sorted(ARTIFACTS))
def test_a_first_chunk_shorter_than_the_magic_number_is_read_on(compress: str) -> None:
    assert streamed(ARTIFACTS[compress], [1, 2, 2**20]).result() == SCANS[compress]


def test_a_buffer_reused_once_feed_returns_does_not_change_the_scan() -> None:
    data = ARTIFACTS["0"]
    scan = StreamingScan()
    buffer = bytearray(2**20)
    for start in range(0, len(data), len(buffer)):
        piece = data[start : start + len(buffer)]
        buffer[: len(piece)] = piece
        scan.feed(memoryview(buffer)[: len(piece)])
        buffer[:] = b"\xff" * len(buffer)  # the writer's next chunk overwrites this one
    assert scan.result() == SCANS["0"]


def test_joblib_array_bytes_are_passed_over_without_being_copied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = ARTIFACTS["0"]
    copied: list[int] = []
    real = scan_module._Feed.readinto

    def readinto(self: Any, b: Any) -> int:
        n = real(self, b)
        copied.append(n)
        return n

    monkeypatch.setattr(scan_module._Feed, "readinto", readinto)
    assert streamed(data, [2**20]).result() == SCANS["0"]
    assert sum(copied) < 2**20  # of more than 3 MiB fed


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"not a pickle at all" * 1000, "not a readable pickle"),
        (joblib_bytes(np.arange(1000.0))[:-100], "truncated"),
        (pickle.dumps(FakeScaler())[:-7], "truncated"),
    ],
    ids=["nothing-fed", "garbage", "truncated-joblib-array", "truncated-pickle"],
)
def test_what_is_not_a_whole_pickle_raises_artifact_scan_error(data: bytes, words: str) -> None:
    scan = streamed(data, [7, 4096])
    with pytest.raises(ArtifactScanError, match=words):
        scan.result()


def test_bytes_fed_after_the_scan_has_ended_are_taken_at_once() -> None:
    data = pickle.dumps(FakeScaler())
    scan = StreamingScan()
    scan.feed(memoryview(data))
    for _ in range(3):  # the scanner stopped at STOP: nobody reads these, feed must not wait
        scan.feed(memoryview(b"trailing bytes"))
    assert scan.result() == scan_artifact(data)


def test_closing_twice_and_reading_the_result_twice_give_the_same_scan() -> None:
    data = pickle.dumps(FakeScaler())
    scan = streamed(data, [16])
    scan.close()
    scan.close()
    assert scan.result() == scan.result() == scan_artifact(data)
