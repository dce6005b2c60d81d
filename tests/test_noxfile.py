"""The noxfile's install retry: a cut download is tried again, a real failure still fails."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.conftest import require

NOXFILE = Path(__file__).resolve().parents[1] / "noxfile.py"


@functools.cache  # loading it again would register its sessions with nox a second time
def _noxfile() -> ModuleType:
    try:
        import nox  # noqa: F401 - the noxfile imports it
    except ImportError:
        require("nox", "pip install 'modelship[test]'")
    spec = importlib.util.spec_from_file_location("modelship_noxfile", NOXFILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PIP = ("--no-compile", "pip>=22.3")


class _Session:
    """What ``install`` uses of a nox session: ``install``, failing the first ``fails``
    times as nox does when pip exits non-zero, and ``warn``."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.installs: list[tuple[str, ...]] = []
        self.pips = 0
        self.warnings: list[str] = []

    def install(self, *args: str) -> None:
        import nox.command

        if args == PIP:  # each attempt makes sure of a recent pip first: never fails here
            self.pips += 1
            return
        self.installs.append(args)
        if len(self.installs) <= self.fails:
            raise nox.command.CommandFailed("Returned code 1")

    def warn(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args if args else message)


@pytest.mark.parametrize("fails", [0, 1, 2])
def test_an_install_that_fails_fewer_times_than_allowed_succeeds(fails: int) -> None:
    noxfile = _noxfile()
    assert noxfile.INSTALL_ATTEMPTS == 3
    session = _Session(fails)
    noxfile.install(session, "-e", ".[test]")
    assert session.installs == [("--no-compile", "-e", ".[test]")] * (fails + 1)
    assert session.pips == fails + 1, "an attempt did not make sure of pip 22.3 first"
    assert session.warnings == [
        f"install failed (attempt {n} of 3); retrying" for n in range(1, fails + 1)
    ]


def test_an_install_that_keeps_failing_fails_the_session_after_the_last_attempt() -> None:
    import nox.command

    noxfile = _noxfile()
    session = _Session(fails=3)
    with pytest.raises(nox.command.CommandFailed):
        noxfile.install(session, "ruff>=0.6")
    assert len(session.installs) == 3
    assert len(session.warnings) == 2


def test_idle_workers_steal_queued_tests() -> None:
    """A measured run ended with one worker alone for 190 s on the benchmarks' smoke runs
    and the examples, collected last and left queued on it by ``--dist load``: ``nox -s
    tests`` lets an idle worker take queued tests from a busy one. (Sorting the long tests
    first, tried in stop 48, put them all in the first worker's block, which worksteal
    hands out whole: removed.)"""
    workers = _noxfile().WORKERS
    assert workers[workers.index("--dist") + 1] == "worksteal"
