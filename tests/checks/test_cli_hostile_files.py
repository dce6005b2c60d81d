"""`modelship check ...` on files made to break it: every failure is a ConfigError (exit 2)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.lib import format as npy_format

from modelship._cli_common import write_output
from modelship.checks._cli_common import read_table
from modelship.cli import main
from modelship.errors import ConfigError


def _npy(path: Path, shape: tuple[int, ...], *, version: int = 1, data: bytes = b"") -> Path:
    """A .npy file of float64 whose header declares ``shape``, followed by ``data``."""
    header = io.BytesIO()
    write = npy_format.write_array_header_1_0 if version == 1 else npy_format.write_array_header_2_0
    write(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    path.write_bytes(header.getvalue() + data)
    return path


@pytest.mark.parametrize("version", [1, 2])
def test_a_npy_header_declaring_more_data_than_the_file_holds_raises_config_error(
    tmp_path: Path, version: int
) -> None:
    path = _npy(tmp_path / "huge.npy", (10**12,), version=version, data=b"\0" * 64)
    message = rf"^cannot read {re.escape(str(path))}: its header declares shape \(1000000000000,\)"
    with pytest.raises(ConfigError, match=message):
        read_table(path)


def test_a_npy_file_cut_short_raises_config_error(tmp_path: Path) -> None:
    path = _npy(tmp_path / "short.npy", (100,), data=b"\0" * 799)
    with pytest.raises(ConfigError, match=r"800 bytes.*only 799 bytes of data follow it"):
        read_table(path)


def test_a_npy_file_that_holds_its_shape_is_read(tmp_path: Path) -> None:
    path = _npy(tmp_path / "ok.npy", (2, 3), data=np.arange(6.0).tobytes())
    assert read_table(path).tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_an_object_npy_file_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ConfigError, match="allow_pickle"):
        read_table(path)


def test_a_huge_npy_input_exits_2_from_the_command_line(tmp_path: Path, capsys: Any) -> None:
    huge = _npy(tmp_path / "huge.npy", (10**12,))
    ok = tmp_path / "ok.npy"
    np.save(ok, np.arange(100.0))
    assert main(["check", "drift", "--reference", str(ok), "--current", str(huge)]) == 2
    assert f"ConfigError: cannot read {huge}: its header declares" in capsys.readouterr().out


def _damaged_header(header: str) -> bytes:
    """A version 1.0 ``.npy`` file whose header text is ``header``, padded as numpy pads."""
    text = header.encode("latin-1")
    pad = 63 - (10 + len(text)) % 64
    body = text + b" " * pad + b"\n"
    return npy_format.MAGIC_PREFIX + b"\x01\x00" + len(body).to_bytes(2, "little") + body


# Headers found by fuzzing read_table: numpy parses the header as a Python literal, and
# these fail in the tokenizer or in sorting the keys, not with the ValueError it raises
# for other damage. They escaped read_table, and `check profile` ended in a traceback.
DAMAGED_HEADERS = {
    "a-control-character-and-a-stray-brace": (
        "{'descr': '<f8', 'fortran_order': F\x7flse, 'shape': (3, 2), }    m    }",
        "TokenError",
    ),
    "an-unclosed-string": (
        "{'descr': [(''', '<i4'), ('b', '<f8')], 'fortran_order': Fal[e, 'shape': (1,), }",
        "TokenError",
    ),
    "a-bytes-key": (
        "{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, B'shape': (1,), }",
        "TypeError",
    ),
}


@pytest.mark.filterwarnings("ignore:Reading `.npy` or `.npz` file required additional header")
@pytest.mark.parametrize(("header", "error"), DAMAGED_HEADERS.values(), ids=DAMAGED_HEADERS)
def test_a_npy_header_that_numpy_cannot_tokenize_raises_config_error(
    tmp_path: Path, header: str, error: str
) -> None:
    path = tmp_path / "damaged.npy"
    path.write_bytes(_damaged_header(header) + b"\0" * 48)
    message = rf"^cannot read {re.escape(str(path))}: its header is damaged \({error}: "
    with pytest.raises(ConfigError, match=message):
        read_table(path)


@pytest.mark.filterwarnings("ignore:Reading `.npy` or `.npz` file required additional header")
def test_a_damaged_npy_header_exits_2_from_check_profile(tmp_path: Path, capsys: Any) -> None:
    damaged = tmp_path / "damaged.npy"
    damaged.write_bytes(_damaged_header(DAMAGED_HEADERS["an-unclosed-string"][0]))
    output = tmp_path / "profile.json"
    assert main(["check", "profile", "--reference", str(damaged), "--output", str(output)]) == 2
    assert not output.exists()
    expected = f"cannot read {damaged}: its header is damaged (TokenError: "
    assert expected in capsys.readouterr().err


@pytest.fixture
def unsearchable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder the process may not search (mode 0700, another owner), as the system
    answers for it: EACCES for anything inside. Root may search any folder, so the
    answers are given by patching ``os.stat`` and ``os.mkdir``."""
    locked = tmp_path / "locked"
    locked.mkdir()
    inside = str(locked) + os.sep
    real_stat, real_mkdir = os.stat, os.mkdir

    def denied(path: Any) -> None:
        if not isinstance(path, int) and os.fspath(path).startswith(inside):
            raise PermissionError(13, "Permission denied", os.fspath(path))

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        denied(path)
        return real_stat(path, *args, **kwargs)

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        denied(path)
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "mkdir", mkdir)
    return locked


def test_an_output_in_an_unsearchable_folder_raises_config_error(unsearchable: Path) -> None:
    target = unsearchable / "sub" / "report.json"
    message = rf"^cannot write {re.escape(str(target))}: Permission denied; choose a writable"
    with pytest.raises(ConfigError, match=message) as caught:
        write_output(str(target), "{}")
    assert isinstance(caught.value.__cause__, PermissionError)


def test_a_report_in_an_unsearchable_folder_exits_2_with_a_clean_message(
    unsearchable: Path, tmp_path: Path, capsys: Any
) -> None:
    data = tmp_path / "data.npy"
    np.save(data, np.arange(100.0))
    target = unsearchable / "sub" / "r.json"
    argv = ["check", "drift", "--reference", str(data), "--current", str(data)]
    assert main([*argv, "--json", str(target)]) == 2
    assert capsys.readouterr().err == (
        f"modelship: ConfigError: cannot write {target}: Permission denied; "
        "choose a writable path\n"
    )
