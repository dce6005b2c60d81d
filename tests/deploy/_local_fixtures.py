"""Fixtures for tests that start real servers: a file registry with two model versions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from numpy_models import Threshold, importable_by_servers

import modelship as ms


@pytest.fixture(scope="session")
def served_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder registry holding ``fraud`` 1 and 2 (NumPy-only models on 4 features).

    For the rest of the session, model servers can import those models' class.
    """
    root = tmp_path_factory.mktemp("deploy-registry")
    reg = ms.open_registry(str(root))
    for flip in (False, True):
        reg.register(model_name="fraud", model=Threshold(flip))
    with importable_by_servers():
        yield root
