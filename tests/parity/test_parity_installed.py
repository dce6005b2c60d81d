"""What is installed is read again when, and only when, a ``sys.path`` directory changes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelship.parity import EnvironmentSnapshot
from modelship.parity._installed import installed_packages, until_path_changes


def counting() -> tuple[list[int], Callable[[], int]]:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, until_path_changes(compute)


def test_the_result_is_kept_while_sys_path_is_unchanged() -> None:
    calls, cached = counting()
    assert cached() == cached() == 1
    assert calls == [1]


def test_a_change_to_a_directory_on_sys_path_computes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    _, cached = counting()
    cached()
    (tmp_path / "new_dist-1.0.dist-info").mkdir()
    stat = tmp_path.stat()
    os.utime(tmp_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # coarse clocks
    assert cached() == 2


def test_a_new_entry_on_sys_path_computes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cached = counting()
    cached()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cached() == 2


def test_a_distribution_installed_in_the_process_appears_in_the_next_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = EnvironmentSnapshot.capture().packages
    assert "parity-cache-probe" not in before
    info = tmp_path / "parity_cache_probe-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: parity-cache-probe\nVersion: 1.2.3\n"
    )
    stat = tmp_path.stat()
    os.utime(tmp_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert EnvironmentSnapshot.capture().packages["parity-cache-probe"] == "1.2.3"
    assert installed_packages()["parity-cache-probe"] == "1.2.3"
