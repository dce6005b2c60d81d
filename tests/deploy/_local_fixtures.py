"""Fixtures for tests that start real servers: a file registry with two model versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelship as ms


@pytest.fixture(scope="session")
def served_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder registry holding ``fraud`` 1 and 2 (LogisticRegressions on 4 features)."""
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("deploy-registry")
    reg = ms.open_registry(str(root))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    for flip in (False, True):
        y = ((x[:, 0] > 0) ^ flip).astype(int)
        reg.register(model_name="fraud", model=LogisticRegression().fit(x, y))
    return root
