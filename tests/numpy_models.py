"""Models for the tests that start model servers but are not about a framework's models.

They need nothing but NumPy, so a server is ready in about 1 s instead of 3.5 s, most of
which is importing scikit-learn (tests/deploy/test_serve.py serves scikit-learn models).
The servers are other processes: :func:`importable_by_servers` puts this folder on their
``PYTHONPATH`` so that they can unpickle these classes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


class Threshold:
    """Predicts whether a row's first feature is above 0 (or below, with ``flip``)."""

    n_features_in_ = 4  # the server warms up with a row of this width

    def __init__(self, flip: bool) -> None:
        self.flip = flip

    def predict(self, x: Any) -> np.ndarray[Any, Any]:
        return (np.asarray(x, dtype=float)[:, 0] > 0) ^ self.flip


class SlowToLoad(Threshold):
    """A :class:`Threshold` whose loading takes a second: a server cannot answer until at
    least a second after it starts (the deployer conformance suite's ``slow_start``)."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        import time

        time.sleep(1.0)
        self.__dict__.update(state)


@contextlib.contextmanager
def importable_by_servers() -> Iterator[None]:
    """Model servers started inside the block can import this module."""
    import pytest  # here, not at the top: the servers import this module too

    paths = [str(HERE), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(paths))
        yield
