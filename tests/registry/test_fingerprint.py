"""fingerprint(): stable content hashes of data."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

import modelship as ms


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=1, max_dims=3, max_side=6)))
def test_fingerprint_ignores_memory_layout(arr: np.ndarray) -> None:
    assert ms.fingerprint(arr) == ms.fingerprint(np.asfortranarray(arr))
    if arr.ndim == 2 and arr.shape[0] > 1:
        strided = np.repeat(arr, 2, axis=0)[::2]
        assert ms.fingerprint(strided) == ms.fingerprint(arr)


def test_fingerprint_depends_on_dtype_shape_and_values() -> None:
    a = np.arange(6, dtype=np.int64)
    prints = {
        ms.fingerprint(a),
        ms.fingerprint(a.astype(np.int32)),
        ms.fingerprint(a.reshape(2, 3)),
        ms.fingerprint(a + 1),
    }
    assert len(prints) == 4


def test_fingerprint_depends_on_dtype_when_the_bytes_are_the_same() -> None:
    ints = np.arange(6, dtype=np.int32)
    floats = ints.view(np.float32)  # the very same buffer, read as another type
    assert ints.tobytes() == floats.tobytes()
    assert ms.fingerprint(ints) != ms.fingerprint(floats)


# Fingerprints are stored in lineage records: a change of the recipe would make every
# recorded fingerprint stop matching its data. These digests pin the recipe; change them
# only with a migration note in the changelog.
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            lambda: np.arange(6, dtype="<i4").reshape(2, 3),
            "sha256:50621ca562eeef1cb148754ecfaa457b90956618998c47b30d276fece67c8141",
        ),
        (
            lambda: {"a": np.array([1.5, 2.5]), "b": np.array(["x", None], dtype=object)},
            "sha256:93324949ecc23934f901be33ee2e24eef38eef46f24cec453c1b7ab79649f19b",
        ),
    ],
    ids=["int32-array", "table-with-objects"],
)
def test_fingerprint_recipe_is_stable(data: object, expected: str) -> None:
    assert ms.fingerprint(data()) == expected  # type: ignore[operator]


def test_fingerprint_is_stable_across_processes() -> None:
    code = (
        "import numpy as np, modelship as ms; "
        "b = np.array(['x', 'y', None, 'z', 'w'], dtype=object); "
        "print(ms.fingerprint({'a': np.arange(5.0), 'b': b}))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(outs) == 1
    assert outs.pop().startswith("sha256:")


def test_fingerprint_of_a_file_is_its_sha256sum(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert ms.fingerprint(path) == "sha256:" + hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert ms.fingerprint(f"file://{path}") == ms.fingerprint(str(path))


def test_fingerprint_of_a_folder_covers_names_and_contents(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(b"1")
    (tmp_path / "d" / "b.txt").write_bytes(b"2")
    before = ms.fingerprint(tmp_path / "d")
    (tmp_path / "d" / "b.txt").write_bytes(b"3")
    changed = ms.fingerprint(tmp_path / "d")
    (tmp_path / "d" / "b.txt").rename(tmp_path / "d" / "c.txt")
    renamed = ms.fingerprint(tmp_path / "d")
    assert len({before, changed, renamed}) == 3


def test_fingerprint_of_a_frame_like_object_matches_its_columns() -> None:
    class Frame:  # duck-typed like pandas/polars
        columns = ("x", "y")

        def __getitem__(self, key: str) -> np.ndarray:
            return {"x": np.arange(3), "y": np.ones(3)}[key]

    assert ms.fingerprint(Frame()) == ms.fingerprint({"x": np.arange(3), "y": np.ones(3)})


def test_fingerprint_of_pandas_frame_matches_dict_of_columns() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
    assert ms.fingerprint(frame) == ms.fingerprint(
        {"x": np.array([1, 2, 3]), "y": np.array([0.5, 1.5, 2.5])}
    )


def test_fingerprint_of_a_missing_path_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ms.ConfigError, match="no file or folder"):
        ms.fingerprint(tmp_path / "absent")


def test_fingerprint_of_an_unsupported_object_raises_config_error() -> None:
    with pytest.raises(ms.ConfigError, match="cannot fingerprint"):
        ms.fingerprint(object())


#: Of [1.5, "a", 3, True, None, nan] as Python objects, by the code before NumPy scalars
#: were unwrapped (so stored fingerprints of Python objects did not change).
PYTHON_OBJECTS = "sha256:ceefb94de336022ef9896f9f91b239a149baa9c884d63673d77b932110727e21"


def test_numpy_scalars_in_an_object_column_hash_as_the_python_values_they_hold() -> None:
    typed = np.array([1.5, "a", 3, True, None, float("nan")], dtype=object)
    filled = np.array(
        [np.float64(1.5), np.str_("a"), np.int64(3), np.bool_(True), None, np.float64("nan")],
        dtype=object,
    )
    # repr(np.float64(1.5)) is "np.float64(1.5)" under NumPy 2 and "1.5" under 1.26: the
    # same data hashed differently by NumPy version, and np.int64 was refused.
    assert ms.fingerprint(typed) == PYTHON_OBJECTS
    assert ms.fingerprint(filled) == PYTHON_OBJECTS
