"""Fixtures of the parity tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelship.parity import EnvironmentSnapshot


@pytest.fixture
def snapshot() -> EnvironmentSnapshot:
    """A fixed training snapshot: tests derive production ones with attrs.evolve."""
    return EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        os_release="6.1.0",
        machine="x86_64",
        packages={"numpy": "2.1.0", "scikit-learn": "1.5.2", "pip": "24.0"},
        cpu_count=8,
        memory_total=32 * 2**30,
        locale="en_US.UTF-8",
        timezone="Etc/UTC",
        env={"OMP_NUM_THREADS": "4"},
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A directory of hand-written distributions (``_fake_dists.write_dist``), first on
    ``sys.path``; a test module may define its own ``site``."""
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
