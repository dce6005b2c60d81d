"""``--help`` and ``--version`` written to a standard output that cannot take them.

argparse prints the help and exits 0, and ignores an ``OSError`` of that write: before
this, ``modelship --help > /dev/full`` exited 0 with nothing written. It is now exit 2
saying so, as a command's output is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
ENV.pop("MODELSHIP_TRACEBACK", None)

posix_only = pytest.mark.skipif(
    os.name != "posix" or not os.path.exists("/dev/full"), reason="POSIX descriptors"
)


def _modelship(
    *args: str, unbuffered: bool, **kwargs: object
) -> subprocess.CompletedProcess[bytes]:
    env = dict(ENV)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    else:
        env.pop("PYTHONUNBUFFERED", None)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "modelship", *args],
        env=env,
        timeout=120,
        check=False,
        **kwargs,
    )


@posix_only
@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
@pytest.mark.parametrize("args", [("--help",), ("registry", "--help"), ("--version",)])
def test_help_to_a_full_device_is_exit_2_saying_so(args: tuple[str, ...], unbuffered: bool) -> None:
    with open("/dev/full", "w") as full:
        done = _modelship(*args, unbuffered=unbuffered, stdout=full, stderr=subprocess.PIPE)
    message = done.stderr.decode()
    assert done.returncode == 2, message
    assert "cannot write standard output: No space left on device" in message
    assert "Traceback" not in message
    assert "Exception ignored" not in message


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_help_that_is_written_is_exit_0(unbuffered: bool, tmp_path: Path) -> None:
    out = tmp_path / "help.txt"
    with open(out, "w") as sink:
        done = _modelship("--help", unbuffered=unbuffered, stdout=sink, stderr=subprocess.PIPE)
    assert done.returncode == 0, done.stderr.decode()
    assert out.read_text().startswith("usage: modelship")
    assert done.stderr == b""


@posix_only
def test_help_to_a_reader_gone_early_is_quiet_and_exit_0() -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        done = _modelship("--help", unbuffered=True, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr
