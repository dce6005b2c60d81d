"""The pickle scanner finds every global an artifact references and runs none of it."""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import io
import os
import pickle
import pickletools
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import joblib
import joblib.numpy_pickle
import numpy as np
import pytest
from _estimators import (
    FakeLogistic,
    FakePipeline,
    FakeScaler,
    WritesFileWhenUnpickled,
    clip_outliers,
    fitted_pipeline,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelship.parity import ArtifactScanError, scan_artifact

ESTIMATORS = FakeScaler.__module__
COMPRESSIONS = [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3), ("lz4", 3)]


class _Recorder(pickle.Unpickler):
    """The oracle: the globals a real unpickler asks for (trusted test data only)."""

    def __init__(self, file: Any) -> None:
        super().__init__(file)
        self.found: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.found.add((module, name))
        return super().find_class(module, name)


def globals_loaded(data: bytes) -> set[tuple[str, str]]:
    recorder = _Recorder(io.BytesIO(data))
    recorder.load()
    return recorder.found


def joblib_bytes(obj: Any, compress: Any = 0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_scan_finds_every_class_of_an_estimator_graph(protocol: int) -> None:
    found = set(scan_artifact(pickle.dumps(fitted_pipeline(), protocol=protocol)).globals)
    assert {
        (ESTIMATORS, "FakePipeline"),
        (ESTIMATORS, "FakeScaler"),
        (ESTIMATORS, "FakeLogistic"),
    } <= found
    assert any(module.split(".")[0] == "numpy" for module, _ in found)


@pytest.mark.parametrize("compress", COMPRESSIONS, ids=str)
def test_scan_of_a_joblib_file_finds_the_same_globals_whatever_the_compression(
    compress: Any,
) -> None:
    model = fitted_pipeline()
    scan = scan_artifact(joblib_bytes(model, compress))
    assert scan.format.startswith("joblib")
    assert set(scan.globals) == set(scan_artifact(joblib_bytes(model)).globals)
    assert (ESTIMATORS, "FakeScaler") in scan.globals


def test_an_lz4_artifact_without_the_lz4_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = joblib_bytes(FakeScaler(), ("lz4", 3))
    monkeypatch.setitem(sys.modules, "lz4", None)  # import lz4.frame raises ImportError
    monkeypatch.setitem(sys.modules, "lz4.frame", None)
    with pytest.raises(ArtifactScanError, match=r"lz4 package is not installed: pip install lz4"):
        scan_artifact(data)


def test_a_damaged_lz4_artifact_is_an_artifact_scan_error() -> None:
    # lz4's frame reader raises RuntimeError for damaged data, which escaped the scan.
    data = bytearray(joblib_bytes([np.arange(1000.0), FakeScaler()], ("lz4", 3)))
    data[20:40] = bytes(20)
    with pytest.raises(ArtifactScanError, match=r"cannot be decompressed: damaged lz4 data"):
        scan_artifact(bytes(data))


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_scan_finds_a_plain_function_reference(protocol: int) -> None:
    scan = scan_artifact(pickle.dumps({"clip": clip_outliers}, protocol=protocol))
    assert scan.globals == ((ESTIMATORS, "clip_outliers"),)
    assert scan.modules == (ESTIMATORS,)


def test_scanning_never_runs_code_from_the_artifact(tmp_path: Path) -> None:
    witness = tmp_path / "witness"
    pickle.loads(pickle.dumps(WritesFileWhenUnpickled(str(witness))))
    assert witness.exists(), "the payload must be one that writes a file when unpickled"

    target = tmp_path / "must-not-appear"
    payload = WritesFileWhenUnpickled(str(target))
    for data in (pickle.dumps(payload, protocol=2), pickle.dumps(payload), joblib_bytes(payload)):
        scan = scan_artifact(data)
        assert any(name == "open" for _, name in scan.globals)
    assert not target.exists()


def test_stack_global_operands_fetched_from_the_memo_are_resolved() -> None:
    # PROTO 4; 'collections' BINPUT 0; 'OrderedDict'; STACK_GLOBAL; POP;
    # BINGET 0; 'Counter'; STACK_GLOBAL; STOP: the second module name comes from the memo.
    data = (
        b"\x80\x04"
        + b"\x8c\x0bcollections"
        + b"q\x00"
        + b"\x8c\x0bOrderedDict"
        + b"\x93"
        + b"0"
        + b"h\x00"
        + b"\x8c\x07Counter"
        + b"\x93"
        + b"."
    )
    assert pickle.loads(data) is collections.Counter
    scan = scan_artifact(data)
    assert scan.globals == (("collections", "Counter"), ("collections", "OrderedDict"))


def test_memoize_numbering_follows_the_memo_length() -> None:
    data = pickle.dumps([decimal.Decimal, fractions.Fraction, decimal.Decimal], protocol=4)
    assert any(op.name == "MEMOIZE" for op, _, _ in pickletools.genops(data))
    assert set(scan_artifact(data).globals) == globals_loaded(data)


def test_a_stack_global_built_at_load_time_is_counted_as_dynamic() -> None:
    # PROTO 4; 'builtins' 'str' STACK_GLOBAL; ('collections',) REDUCE -> the module name is
    # a call's result; 'Counter'; STACK_GLOBAL; STOP.
    data = (
        b"\x80\x04"
        + b"\x8c\x08builtins\x8c\x03str\x93"
        + b"\x8c\x0bcollections\x85R"
        + b"\x8c\x07Counter\x93."
    )
    assert pickle.loads(data) is collections.Counter
    scan = scan_artifact(data)
    assert scan.dynamic == 1
    assert scan.globals == (("builtins", "str"),)


@pytest.mark.parametrize("compress", COMPRESSIONS, ids=str)
def test_arrays_larger_than_a_read_chunk_are_skipped_in_every_compression(compress: Any) -> None:
    noise = np.random.default_rng(0).normal(size=3 * 2**17)  # 3 MiB: several 1 MiB chunks
    data = joblib_bytes([noise, FakeScaler(), noise[::-1].copy()], compress)
    assert (ESTIMATORS, "FakeScaler") in scan_artifact(data).globals


def test_object_arrays_in_a_joblib_file_are_scanned_too() -> None:
    data = joblib_bytes({"ratios": np.array([fractions.Fraction(1, 3), None], dtype=object)})
    assert ("fractions", "Fraction") in scan_artifact(data).globals


@pytest.mark.parametrize(
    "dtype", ["f8", "f4", ">i2", "u1", "?", "U7", "S3", "M8[ns]", "c16", "i4,f8"]
)
def test_joblib_array_bytes_of_every_dtype_are_skipped_exactly(dtype: str) -> None:
    array = np.zeros((3, 5), dtype=dtype)
    data = joblib_bytes([array, FakeScaler(), array[:0], np.zeros((), dtype=dtype)])
    assert (ESTIMATORS, "FakeScaler") in scan_artifact(data).globals


def test_a_scan_reads_a_path_and_an_open_file(tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(FakeLogistic(), path, compress=3)
    with path.open("rb") as handle:
        from_file = scan_artifact(handle)
    assert scan_artifact(path) == from_file == scan_artifact(str(path))
    assert (ESTIMATORS, "FakeLogistic") in from_file.globals


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"not a pickle at all", "not a readable pickle"),
        (pickle.dumps(FakeScaler())[:-7], "truncated"),
        (joblib_bytes(np.arange(1000.0))[:-100], "truncated"),
        (b"\x04\x22\x4d\x18" + b"\x00" * 20, r"cannot be decompressed: damaged lz4 data"),
    ],
    ids=["empty", "garbage", "truncated-pickle", "truncated-joblib-array", "lz4"],
)
def test_unreadable_artifacts_raise_artifact_scan_error(data: bytes, words: str) -> None:
    with pytest.raises(ArtifactScanError, match=words):
        scan_artifact(data)


def test_a_missing_file_raises_artifact_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactScanError, match="cannot read"):
        scan_artifact(tmp_path / "absent.pkl")


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.fractions(),
    st.decimals(allow_nan=False),
    st.datetimes(),
    st.builds(FakeScaler, st.booleans(), st.booleans()),
    st.builds(np.array, st.lists(st.floats(allow_nan=False), max_size=5)),
    st.sampled_from([clip_outliers, collections.Counter, FakePipeline, np.float32]),
)
_structures = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
        st.builds(collections.OrderedDict, st.dictionaries(st.text(max_size=5), children)),
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=_structures, protocol=st.integers(0, 5))
def test_the_scan_finds_exactly_the_globals_unpickling_would_load(obj: Any, protocol: int) -> None:
    data = pickle.dumps(obj, protocol=protocol)
    assert set(scan_artifact(data).globals) == globals_loaded(data)


def globals_joblib_loads(data: bytes) -> set[tuple[str, str]]:
    """The oracle for joblib files: the globals joblib's own unpickler asks for."""
    found: set[tuple[str, str]] = set()
    original = joblib.numpy_pickle.NumpyUnpickler.find_class

    def recording(self: Any, module: str, name: str) -> Any:
        found.add((module, name))
        return original(self, module, name)

    with mock.patch.object(joblib.numpy_pickle.NumpyUnpickler, "find_class", recording):
        joblib.load(io.BytesIO(data))
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=_structures, compress=st.sampled_from([0, 3]))
def test_a_joblib_scan_finds_exactly_the_globals_joblib_would_load(obj: Any, compress: int) -> None:
    data = joblib_bytes(obj, compress)
    assert set(scan_artifact(data).globals) == globals_joblib_loads(data)


def test_datetime_globals_are_found() -> None:
    data = pickle.dumps(datetime.datetime(2024, 1, 1), protocol=2)
    assert set(scan_artifact(data).globals) == globals_loaded(data)


# --- crafted artifacts: refused with ArtifactScanError, never a crash --------------------

_WRAPPER = b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81"  # GLOBAL, EMPTY_TUPLE, NEWOBJ


def _binunicode(text: bytes) -> bytes:
    return b"X" + len(text).to_bytes(4, "little") + text


def test_a_deeply_nested_tuple_used_as_a_dict_key_does_not_crash_the_interpreter() -> None:
    # EMPTY_DICT, EMPTY_TUPLE, TUPLE1 two million times, NONE, SETITEM, STOP: hashing the
    # key recursed in C and killed the process (SIGSEGV).
    data = b"\x80\x02})" + b"\x85" * 2_000_000 + b"Ns."
    code = (
        "import sys; from modelship.parity import scan_artifact; "
        "print(scan_artifact(sys.stdin.buffer.read()).globals)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=data,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, b"()"), done.stderr[-500:]


def test_the_globals_under_a_dict_with_tuple_keys_are_still_found() -> None:
    data = pickle.dumps({(1, 2): fractions.Fraction(1, 3), "k": collections.OrderedDict()})
    assert scan_artifact(data).globals == (
        ("collections", "OrderedDict"),
        ("fractions", "Fraction"),
    )


def test_a_joblib_shape_nested_too_deep_to_print_is_an_artifact_scan_error() -> None:
    depth = 200_000
    deep_list = b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST x depth, APPEND x (depth - 1)
    data = b"\x80\x02" + _WRAPPER + b"}" + _binunicode(b"shape") + deep_list + b"sb."
    with pytest.raises(ArtifactScanError, match="bad shape: a list"):
        scan_artifact(data)


def test_a_joblib_dtype_numpy_refuses_with_value_error_is_an_artifact_scan_error() -> None:
    dtype = b"cnumpy\ndtype\n" + _binunicode(b"(1099511627776,)f8") + b"\x85R"
    data = (
        b"\x80\x02" + _WRAPPER + b"}" + _binunicode(b"shape") + b"K\x01\x85s"
        + _binunicode(b"dtype") + dtype + b"sb."
    )  # fmt: skip
    with pytest.raises(ArtifactScanError, match="unknown dtype"):
        scan_artifact(data)


@pytest.mark.parametrize("claimed", [2**40, 2**62])
def test_a_bytes_length_claimed_beyond_the_artifact_is_truncation_not_memory_error(
    claimed: int, tmp_path: Path
) -> None:
    data = b"\x80\x04\x8e" + claimed.to_bytes(8, "little") + b"."  # BINBYTES8, STOP
    (tmp_path / "claims.pkl").write_bytes(data)
    for source in (data, tmp_path / "claims.pkl"):
        with pytest.raises(ArtifactScanError, match="truncated"):
            scan_artifact(source)


def test_a_bytes_value_longer_than_a_read_chunk_is_read_past() -> None:
    data = pickle.dumps((b"x" * (3 << 20) + b"y", fractions.Fraction(1, 3)), protocol=4)
    assert scan_artifact(data).globals == (("fractions", "Fraction"),)
