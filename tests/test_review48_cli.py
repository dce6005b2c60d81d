"""Review 48: the command line's exit codes when its streams fail, and input messages.

- A standard error that cannot be written (``2>/dev/full``, or a descriptor open only
  for reading, as ``2>&-`` under a bash wrapper leaves it) made every command exit 1, a
  verdict, even a download that succeeded or a check that passed, and an error exit 1:
  the message's ``OSError`` escaped main. A message that cannot be shown now changes
  nothing: the exit code is the one a working standard error would have given.
- A standard output that cannot be written (``> /dev/full``) was "an unexpected error
  ... a bug in modelship": it now says it cannot write standard output, and what to do,
  exit 2. A reader gone early (EPIPE) still ends quietly (see review 42).
- ``parity check --snapshot``/``--requirements`` naming a missing file or a folder said
  ``FileNotFoundError: [Errno 2] ...``: it now says ``cannot read PATH: reason; check
  the path``, as ``check drift`` does.
- ``check drift --profile data.csv`` and ``check schema --schema-file empty.csv`` said
  "the drift profile/schema is not valid JSON" without naming the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
ENV.pop("MODELSHIP_SIGNING_KEY", None)
ENV.pop("MODELSHIP_TRACEBACK", None)

posix_only = pytest.mark.skipif(
    os.name != "posix" or not os.path.exists("/dev/full"), reason="POSIX descriptors"
)


def _modelship(*args: str, cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "modelship", *args],
        env=ENV,
        cwd=cwd,
        timeout=120,
        check=False,
        **kwargs,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    registry = ms.open_registry(str(tmp_path / "reg"))
    registry.register(model_name="fraud", model=b"weights", serializer="bytes")
    rows = "\n".join(f"{i / 10},{'yz'[i % 2]}" for i in range(40))
    (tmp_path / "ref.csv").write_text(f"a,b\n{rows}\n")
    (tmp_path / "empty.csv").write_text("")
    return tmp_path


def _stderr_full() -> Any:
    return open("/dev/full", "w")


def _stderr_read_only() -> int:
    return os.open(os.devnull, os.O_RDONLY)


def _close(stream: Any) -> None:
    if isinstance(stream, int):
        os.close(stream)
    else:
        stream.close()


@posix_only
@pytest.mark.parametrize("broken", [_stderr_full, _stderr_read_only], ids=["full", "read-only"])
def test_a_broken_stderr_leaves_the_exit_codes_alone(workdir: Path, broken: Any) -> None:
    cases = [
        # A download that succeeds: the file is written, its "downloaded" line is lost.
        (("registry", "download", "reg", "fraud", "1", "-o", "model.bin"), 0),
        # A check that passes.
        (("check", "drift", "--reference", "ref.csv", "--current", "ref.csv"), 0),
        # An error: 2, never 1 (a verdict).
        (("registry", "show", "reg", "nobody"), 2),
        (("parity", "check", "--snapshot", "nope.json"), 2),
    ]
    for args, expected in cases:
        stderr = broken()
        try:
            done = _modelship(*args, cwd=workdir, stdout=subprocess.DEVNULL, stderr=stderr)
        finally:
            _close(stderr)
        assert done.returncode == expected, args
    assert (workdir / "model.bin").read_bytes() == b"weights"


class _FullStream:
    """A text stream every write and flush of which fails as a full disk does."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        raise OSError(28, "No space left on device")


def test_a_broken_stderr_in_process_leaves_the_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stderr", _FullStream())
    assert main(["registry", "show", "memory://review48-cli", "nobody"]) == 2
    assert main(["registry", "models", "memory://review48-cli"]) == 0


@posix_only
def test_a_full_stdout_says_so_not_a_bug(workdir: Path) -> None:
    with open("/dev/full", "w") as full:
        # A small output, written at the final flush; a large one, written by the command.
        for args in (
            ("registry", "versions", "reg", "fraud"),
            ("parity", "capture", "-o", "-"),
            ("check", "drift", "--reference", "ref.csv", "--current", "ref.csv", "--json", "-"),
        ):
            done = _modelship(*args, cwd=workdir, stdout=full, stderr=subprocess.PIPE)
            message = done.stderr.decode()
            assert done.returncode == 2, (args, message)
            assert "cannot write standard output: No space left on device" in message, args
            assert "unexpected error" not in message
            assert "Traceback" not in message
            assert "Exception ignored" not in message


def test_stdout_that_cannot_be_flushed_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _FullStream())
    assert main(["registry", "versions", "memory://review48-cli-out", "nobody"]) == 2
    code = main(["registry", "models", "memory://review48-cli-out"])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot write standard output: No space left on device; redirect it" in err
    assert "unexpected error" not in err


def test_parity_check_says_which_input_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "env.json"
    assert main(["parity", "capture", "-o", str(snapshot)]) == 0
    (tmp_path / "folder").mkdir()
    missing, folder = tmp_path / "nope.json", tmp_path / "folder"
    capsys.readouterr()
    for args, named, reason in [
        (["--snapshot", str(missing)], missing, "No such file or directory"),
        (["--snapshot", str(folder)], folder, "Is a directory"),
        (["--snapshot", str(snapshot), "--against", str(missing)], missing, "No such file"),
        (["--snapshot", str(snapshot), "--requirements", str(missing)], missing, "No such"),
    ]:
        assert main(["parity", "check", *args]) == 2
        out = capsys.readouterr().out
        assert f"ConfigError: cannot read {named}: {reason}" in out, out
        assert "; check the path" in out
        assert "Errno" not in out


def test_a_profile_or_schema_that_is_not_one_names_the_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(workdir)
    args = ["check", "drift", "--profile", "ref.csv", "--current", "ref.csv"]
    assert main(args) == 2
    out = capsys.readouterr().out
    assert "ref.csv is not a drift profile" in out, out
    assert "written by `modelship check profile`" in out
    assert main(["check", "schema", "--schema-file", "empty.csv", "--current", "ref.csv"]) == 2
    out = capsys.readouterr().out
    assert "empty.csv is not a schema" in out, out
    assert "written by Schema.to_json" in out


def test_unbuffered_output_stays_unbuffered_while_guarded() -> None:
    """Under ``python -u`` (PYTHONUNBUFFERED, as in most containers) the guard added a
    buffer: a long-running command's messages reached the descriptor only at its end."""
    code = (
        "import os\n"
        "from modelship._cli_common import guarded_stdio\n"
        "with guarded_stdio():\n"
        "    print('printed')\n"
        "    os.write(1, b'written after\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-u", "-c", code], capture_output=True, timeout=60, check=True
    )
    assert done.stdout.decode().splitlines() == ["printed", "written after"]


def test_a_second_ctrl_c_while_a_full_pipe_is_flushed_still_exits_130(tmp_path: Path) -> None:
    """A second Ctrl-C during the guard's last flush (stdout a pipe nobody reads) gave a
    traceback, or a hang in the interpreter's own flush; it exits 130, one line."""
    script = tmp_path / "twice.py"
    script.write_text(
        "import fcntl, os, signal, sys\n"
        "import modelship.cli as cli\n"
        "r, w = os.pipe()\n"
        "flags = fcntl.fcntl(w, fcntl.F_GETFL)\n"
        "fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)\n"
        "try:\n"
        "    while True:\n"
        "        os.write(w, b'.' * 4096)\n"
        "except BlockingIOError:\n"
        "    pass\n"
        "fcntl.fcntl(w, fcntl.F_SETFL, flags)\n"
        "os.dup2(w, 1)\n"
        "def run(tokens, *, program):\n"
        "    sys.stdout.write('result line\\n')\n"
        "    raise KeyboardInterrupt\n"
        "cli._run = run\n"
        "signal.signal(signal.SIGALRM, signal.default_int_handler)\n"
        "signal.setitimer(signal.ITIMER_REAL, 1, 1)\n"
        "sys.argv = ['modelship']\n"
        "sys.exit(cli.main())\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr


def test_a_schema_from_a_newer_modelship_keeps_its_own_advice(tmp_path: Path) -> None:
    """The wrapper that names the file said a valid schema written by a newer modelship
    "is not a schema ... give a schema file written by Schema.to_json", where the user
    needs to upgrade."""
    from modelship.checks import Schema

    frame = {"x": [1.0, 2.0, 3.0]}
    document = json.loads(Schema.infer(frame).to_json())
    document["schema_version"] = 99
    future = tmp_path / "future.json"
    future.write_text(json.dumps(document))
    data = tmp_path / "ref.csv"
    data.write_text("x\n1.0\n2.0\n")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "modelship", "check", "schema"),
            *("--schema-file", str(future), "--current", str(data)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "is not a schema" not in done.stdout + done.stderr
    assert "newer" in done.stdout + done.stderr
