"""Review 42: the command line's exit codes and streams at its edges.

- A signed registry opened with another key (a rotated or mis-set secret) exits 2, as
  without a key, in every command: it exited 1 ("signed by someone else"), which reads as
  a registry that was changed, and as ``deploy rollback``'s "nothing to roll back". Only
  a policy whose signature does not verify tells another key: a damaged or unsigned one
  is left to each document (it refused the right key), a URL naming a file is no
  registry (it was a StoreError), and ``serve --signing-key-fd N`` names the descriptor.
- A reader gone early (``| head -1``, ``| true``) ends a command quietly with its verdict:
  a report written to ``/dev/stdout`` or ``-`` by ``check`` or ``parity`` turned it into 2.
- A command started with stdout or stderr closed writes nothing to the other one: a
  message landed in ``download``'s checksum on stdout, and output to a closed stdout crashed.
- SIGTERM (``timeout``, a cancelled CI step) during a download leaves no temporary file
  and exits 143, as Ctrl-C leaves none and exits 130: the program's handling only, where
  SIGTERM has its default action. ``main([...])`` called by a program leaves its SIGTERM
  handlers (Python's or below it) alone, and an inherited SIG_IGN stays ignored.
- ``registry verify URL NAME REF --all`` is refused: REF was dropped, so a version that
  does not exist passed.
- A local data file whose name holds ``?`` is read; only a URL has a query.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import modelship as ms
from modelship._cli_common import open_cli_registry
from modelship.cli import main
from modelship.errors import SigningKeyRequired
from modelship.parity import EnvironmentSnapshot
from modelship.registry._layout import SIGNING_POLICY, manifest_key
from modelship.registry._store import FsspecStore

KEY = b"right-key-0123456789"
OTHER_KEY = "wrong-key-0123456789"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
ENV.pop("MODELSHIP_SIGNING_KEY", None)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX descriptors and signals")


def _modelship(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "modelship", *args], env=ENV, timeout=60, check=False, **kwargs
    )


def _to_gone_reader(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run ``modelship *args`` with stdout a pipe whose reader has gone before anything
    was written (``| true``): every write to it fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        return _modelship(*args, stdout=write, stderr=subprocess.PIPE, cwd=cwd)
    finally:
        os.close(write)


# --- 1. a signed registry opened with another key --------------------------------------


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A registry signed with KEY: fraud 1 and 2, @production -> 2; OTHER_KEY set."""
    url = str(tmp_path / "signed")
    reg = ms.open_registry(url, signing_key=KEY)
    for weights in (b"w1", b"w2"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")
    reg.set_alias("fraud", "production", "2")
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", OTHER_KEY)
    return url


ANOTHER_KEY_COMMANDS = [
    ["registry", "versions", "{url}", "fraud"],
    ["registry", "show", "{url}", "fraud", "1"],
    ["registry", "verify", "{url}", "fraud", "1"],
    ["registry", "alias", "{url}", "fraud", "production", "1"],
    ["registry", "delete", "{url}", "fraud", "1"],
    ["deploy", "status", "{url}", "fraud"],
    ["deploy", "rollback", "{url}", "fraud"],
]


@pytest.mark.parametrize(
    "argv", ANOTHER_KEY_COMMANDS, ids=[" ".join(a[:2]) for a in ANOTHER_KEY_COMMANDS]
)
def test_a_signed_registry_opened_with_another_key_exits_2_and_changes_nothing(
    signed: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.format(url=signed) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "SigningKeyRequired" in err
    assert "signs with another key than the one in MODELSHIP_SIGNING_KEY" in err
    assert err.count("\n") == 1
    reg = ms.open_registry(signed, signing_key=KEY)
    assert reg.aliases("fraud") == {"production": "2"}
    assert [mv.version for mv in reg.versions("fraud")] == ["1", "2"]


def test_another_key_given_as_a_storage_option_exits_2_naming_it(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "versions", signed, "fraud", "-o", f"signing_key={OTHER_KEY}"]) == 2
    assert "another key than the one in -o signing_key" in capsys.readouterr().err


def test_another_key_still_reads_unchecked_with_no_verify_signatures(signed: str) -> None:
    assert main(["registry", "versions", signed, "fraud", "--no-verify-signatures"]) == 0


def test_with_the_right_key_a_changed_manifest_still_fails_verification(
    signed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    manifest = Path(signed) / manifest_key("fraud", "1")
    text = manifest.read_text()
    assert '"metrics":{}' in text
    manifest.write_text(text.replace('"metrics":{}', '"metrics":{"auc":1}'))
    assert main(["registry", "verify", signed, "fraud", "1"]) == 1
    assert "FAIL fraud 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "policy",
    [b"xx", b'{"format":1,"signed":false}', b"[]", b'{"signature":""}', b"[" * 100_000],
    ids=["garbage", "unsigned", "no-object", "empty-signature", "deep"],
)
@pytest.mark.parametrize("argv", [["verify", "1"], ["versions"], ["show", "@production"]])
def test_a_damaged_or_unsigned_policy_is_left_to_each_document_with_the_right_key(
    signed: str, policy: bytes, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every manifest still verifies with the key: only a policy signed by another key
    # tells that the key is another. Before: "signs with another key", exit 2.
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    (Path(signed) / SIGNING_POLICY).write_bytes(policy)
    command, *rest = argv
    assert main(["registry", command, signed, "fraud", *rest]) == 0


def test_a_url_naming_a_file_with_a_key_is_no_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", OTHER_KEY)
    (tmp_path / "afile").write_text("hi")
    assert main(["registry", "models", str(tmp_path / "afile")]) == 2
    assert capsys.readouterr().err.startswith("modelship: RegistryNotFound: ")  # was StoreError


@posix_only
def test_serve_names_the_signing_key_fd_whose_key_is_another(signed: str) -> None:
    from modelship.cli import build_parser
    from modelship.deploy.serve._cli import _open

    read, write = os.pipe()
    os.write(write, OTHER_KEY.encode())
    os.close(write)
    args = build_parser().parse_args(["serve", signed, "fraud", "--signing-key-fd", str(read)])
    with pytest.raises(SigningKeyRequired, match=f"than the one in --signing-key-fd {read}: "):
        _open(args)  # before: "than the one in -o signing_key"


def test_opening_without_a_key_reads_no_signing_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(tmp_path / "plain")
    ms.open_registry(url).register(model_name="fraud", model=b"w", serializer="bytes")
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    reads: list[str] = []
    original = FsspecStore.read

    def counted(self: FsspecStore, key: str) -> bytes:
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(FsspecStore, "read", counted)
    open_cli_registry(url)
    assert SIGNING_POLICY not in reads


# --- 2. a reader gone early keeps the verdict ------------------------------------------


@pytest.fixture
def drifted(tmp_path: Path) -> Path:
    """ref.csv and cur.csv in tmp_path, whose column x drifted (check drift exits 1)."""
    (tmp_path / "ref.csv").write_text("x\n" + "".join(f"{i}\n" for i in range(200)))
    (tmp_path / "cur.csv").write_text("x\n" + "".join(f"{i + 1000}\n" for i in range(200)))
    return tmp_path


@posix_only
def test_check_drift_with_json_to_dev_stdout_keeps_its_verdict_when_the_reader_has_gone(
    drifted: Path,
) -> None:
    done = _to_gone_reader(
        *("check", "drift", "--reference", "ref.csv", "--current", "cur.csv"),
        *("--json", "/dev/stdout", "--junit", "r.xml"),
        cwd=drifted,
    )
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "Broken pipe" not in err
    assert "ConfigError" not in err
    assert "<failure" in (drifted / "r.xml").read_text()  # the other report is written


@posix_only
def test_check_drift_with_json_to_stdout_writes_the_other_reports_when_the_reader_has_gone(
    drifted: Path,
) -> None:
    done = _to_gone_reader(
        *("check", "drift", "--reference", "ref.csv", "--current", "cur.csv"),
        *("--json", "-", "--markdown", "summary.md"),
        cwd=drifted,
    )
    assert done.returncode == 1, done.stderr.decode()
    assert "data" in (drifted / "summary.md").read_text()


@posix_only
def test_check_profile_to_stdout_exits_0_when_the_reader_has_gone(drifted: Path) -> None:
    done = _to_gone_reader(
        "check", "profile", "--reference", "ref.csv", "--output", "-", cwd=drifted
    )
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "BrokenPipeError" not in err


@posix_only
@pytest.mark.parametrize(("python_minor_ahead", "verdict"), [(0, 0), (1, 1)])
def test_parity_check_report_to_stdout_keeps_its_verdict_when_the_reader_has_gone(
    tmp_path: Path, python_minor_ahead: int, verdict: int
) -> None:
    train = EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        os_release="6.1.0",
        machine="x86_64",
        packages={"numpy": "2.1.0"},
        cpu_count=8,
        memory_total=32 * 2**30,
        locale="en_US.UTF-8",
        timezone="Etc/UTC",
    )
    prod = attrs.evolve(train, python_version=f"3.{11 + python_minor_ahead}.0")
    (tmp_path / "t.json").write_text(train.to_json())
    (tmp_path / "p.json").write_text(prod.to_json())
    done = _to_gone_reader(
        *("parity", "check", "--snapshot", "t.json", "--against", "p.json"),
        *("--report", "-", "--json", "r.json"),
        cwd=tmp_path,
    )
    err = done.stderr.decode()
    assert done.returncode == verdict, err
    assert "BrokenPipeError" not in err
    assert (tmp_path / "r.json").is_file()  # the other report is written


# --- 3. closed standard streams --------------------------------------------------------


@pytest.fixture
def plain(tmp_path: Path) -> str:
    url = str(tmp_path / "plain")
    reg = ms.open_registry(url)
    for weights in (b"w1", b"w2"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")
    return url


def _closing(fd: int) -> Callable[[], None]:
    return lambda: os.close(fd)  # in the child, before the command starts


@posix_only
def test_registry_versions_json_with_stdout_closed_is_no_crash(plain: str) -> None:
    done = _modelship(
        "registry", "versions", plain, "fraud", "--json",
        stderr=subprocess.PIPE, preexec_fn=_closing(1),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""


@posix_only
def test_registry_download_with_stderr_closed_prints_only_the_checksum(
    plain: str, tmp_path: Path
) -> None:
    out = tmp_path / "model.bin"
    done = _modelship(
        "registry", "download", plain, "fraud", "1", "-o", str(out),
        stdout=subprocess.PIPE, preexec_fn=_closing(2),
    )  # fmt: skip
    assert done.returncode == 0
    digest = ms.open_registry(plain).get("fraud", "1").artifact.hexdigest
    assert done.stdout == f"{digest}  {out}\n".encode()


@posix_only
def test_registry_delete_with_stderr_closed_prints_nothing_to_stdout(plain: str) -> None:
    done = _modelship(
        "registry", "delete", plain, "fraud", "2",
        stdout=subprocess.PIPE, preexec_fn=_closing(2),
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout == b""
    assert [mv.version for mv in ms.open_registry(plain).versions("fraud")] == ["1"]


# --- 4. SIGTERM ------------------------------------------------------------------------

# The download is cut by SIGTERM once its first bytes are in the temporary file: the
# process signals itself from inside the copy, so where the signal lands is fixed. It runs
# as `python -m modelship` does (modelship/__main__.py: main() without arguments).
_TERMINATED_DOWNLOAD = """
import os, runpy, signal, sys
import modelship.registry._download as download

copy = download.hash_stream

def terminated(src, callback, write, **kwargs):
    write(b"first bytes")
    os.kill(os.getpid(), signal.SIGTERM)
    return copy(src, callback, write, **kwargs)

download.hash_stream = terminated
runpy.run_module("modelship", run_name="__main__", alter_sys=True)
"""


def _download_signalled(
    plain: str, folder: Path, **options: Any
) -> subprocess.CompletedProcess[bytes]:
    """``registry download`` of fraud 1 into ``folder`` in a process that sends itself
    SIGTERM while it writes (``_TERMINATED_DOWNLOAD``)."""
    folder.mkdir()
    command = ["registry", "download", plain, "fraud", "1", "-o", str(folder / "model.bin")]
    return subprocess.run(
        [sys.executable, "-c", _TERMINATED_DOWNLOAD, *command],
        env=ENV,
        capture_output=True,
        timeout=60,
        check=False,
        **options,
    )


@posix_only
def test_sigterm_during_a_download_leaves_no_file_and_exits_143(plain: str, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    done = _download_signalled(plain, folder)
    assert done.returncode == 143, done.stderr.decode()
    assert done.stderr.decode() == "modelship: terminated (SIGTERM)\n"
    assert list(folder.iterdir()) == []  # no .part file, no model.bin


@pytest.mark.parametrize(
    "command",
    [
        {"command": "serve"},
        {"command": "deploy", "deploy_command": "apply"},
        {"command": "monitor", "monitor_command": "watch"},
    ],
    ids=["serve", "deploy apply", "monitor watch"],
)
def test_sigterm_is_left_to_the_commands_that_run_until_a_signal(command: dict[str, str]) -> None:
    from modelship.cli import _sigterm_raises

    before = signal.getsignal(signal.SIGTERM)
    with _sigterm_raises(argparse.Namespace(**command), program=True):
        assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_raises_in_other_commands_and_the_handler_is_put_back() -> None:
    from modelship.cli import _sigterm_raises

    before = signal.getsignal(signal.SIGTERM)
    assert before is signal.SIG_DFL  # as a program starts
    args = argparse.Namespace(command="deploy", deploy_command="rollback")
    with _sigterm_raises(args, program=True):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def _signalled_while_listing(monkeypatch: pytest.MonkeyPatch, seen: list[object]) -> None:
    """``registry models`` records the SIGTERM handler while it runs (in ``seen``), then
    sends this process SIGTERM; raise_signal runs a Python handler before it returns."""
    listed = ms.Registry.models

    def models(self: ms.Registry) -> list[str]:
        seen.append(signal.getsignal(signal.SIGTERM))
        signal.raise_signal(signal.SIGTERM)
        return listed(self)

    monkeypatch.setattr(ms.Registry, "models", models)


@posix_only
def test_main_called_with_arguments_leaves_sigterm_to_the_callers_handler(
    plain: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A program running a command in-process keeps its own graceful SIGTERM handling.
    called: list[int] = []

    def graceful(signum: int, frame: object) -> None:
        called.append(signum)

    seen: list[object] = []
    _signalled_while_listing(monkeypatch, seen)
    previous = signal.signal(signal.SIGTERM, graceful)
    try:
        assert main(["registry", "models", plain]) == 0  # before: 143
        assert signal.getsignal(signal.SIGTERM) is graceful
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert (seen, called) == ([graceful], [signal.SIGTERM])
    assert capsys.readouterr().out == "fraud\n"


def test_main_called_with_arguments_sets_no_sigterm_handler(
    plain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []
    listed = ms.Registry.models

    def models(self: ms.Registry) -> list[str]:
        seen.append(signal.getsignal(signal.SIGTERM))  # no signal sent: the default kills
        return listed(self)

    monkeypatch.setattr(ms.Registry, "models", models)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["registry", "models", plain]) == 0
    assert seen == [before]  # before: main's own handler


@posix_only
def test_an_ignored_sigterm_stays_ignored(plain: str, tmp_path: Path) -> None:
    # `trap '' TERM` in a CI script: the child inherits SIG_IGN, and the download completes.
    folder = tmp_path / "out"
    done = _download_signalled(
        plain, folder, preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN)
    )
    assert done.returncode == 0, done.stderr.decode()  # before: 143
    assert b"terminated" not in done.stderr
    assert [path.name for path in folder.iterdir()] == ["model.bin"]  # the download completed


# A handler installed below Python (as faulthandler.register installs it, or a C
# extension's): Python reports SIG_DFL for it.
_HANDLED_BELOW_PYTHON = """
import faulthandler, signal, sys
from modelship.cli import main

faulthandler.register(signal.SIGTERM, all_threads=False, chain=False)
code = main(sys.argv[1:])
signal.raise_signal(signal.SIGTERM)  # the process's own handler takes it
print("alive", code)
"""


@posix_only
def test_main_called_with_arguments_keeps_a_handler_installed_below_python(plain: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HANDLED_BELOW_PYTHON, "registry", "models", plain],
        env=ENV,
        capture_output=True,
        timeout=60,
        check=False,
    )
    # Before: main put SIG_DFL back on its way out, and SIGTERM killed the process (-15).
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"fraud\nalive 0\n"


# --- 5. registry verify REF --all ------------------------------------------------------


def test_registry_verify_refuses_a_reference_with_all(
    plain: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "verify", plain, "fraud", "99", "--all"]) == 2
    assert "give a reference (99) or --all" in capsys.readouterr().err
    assert main(["registry", "verify", plain, "fraud", "--all"]) == 0
    assert main(["registry", "verify", plain, "fraud"]) == 0  # latest
    assert main(["registry", "verify", plain, "fraud", "99"]) == 2  # no such version


# --- 6. a '?' in a local file's name ---------------------------------------------------


def test_a_local_data_file_whose_name_holds_a_question_mark_is_read(
    drifted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(drifted)
    (drifted / "ref?v1.csv").write_bytes((drifted / "ref.csv").read_bytes())
    args = ["check", "drift", "--reference", "ref?v1.csv", "--current", "ref.csv"]
    assert main(args) == 0
