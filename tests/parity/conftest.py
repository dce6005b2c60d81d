"""Fixtures of the parity tests."""

from __future__ import annotations

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
