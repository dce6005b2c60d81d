"""Fixtures shared by the registry's multi-process tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Where the registry lives: ``kind``, ``url`` and storage ``options`` for every process."""
    if request.param == "local":
        return {"kind": "local", "url": str(tmp_path / "registry"), "options": {}}
    bucket = request.getfixturevalue("s3_bucket")
    return {"kind": "s3", "url": bucket["url"], "options": bucket["options"]}
