"""Doctests' temporary folders (``tempfile.mkdtemp()`` in an example) go under pytest's
``tmp_path``, which pytest removes, instead of piling up in the system's temp folder."""

from __future__ import annotations

import pathlib
import tempfile

import pytest


@pytest.fixture(autouse=True)
def _temporary_folders_under_tmp_path(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
