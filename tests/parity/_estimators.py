"""scikit-learn-like classes for the parity tests, defined outside any distribution.

Their module is not installed by any distribution, so a scan of a pickle of them must name
this module and list it as unresolved.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class FakeScaler:
    """A standard scaler with scikit-learn's conventions (params, fitted ``*_``)."""

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"with_mean": self.with_mean, "with_std": self.with_std}

    def fit(self, x: Any) -> FakeScaler:
        x = np.asarray(x, dtype=float)
        self.mean_ = x.mean(axis=0) if self.with_mean else np.zeros(x.shape[1])
        self.scale_ = x.std(axis=0) if self.with_std else np.ones(x.shape[1])
        self.n_features_in_ = x.shape[1]
        return self

    def transform(self, x: Any) -> Any:
        return (np.asarray(x, dtype=float) - self.mean_) / self.scale_


class FakeLogistic:
    """A linear model holding fitted coefficients."""

    def __init__(self, c: float = 1.0) -> None:
        self.c = c

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"c": self.c}

    def fit(self, x: Any, y: Any) -> FakeLogistic:
        self.coef_ = np.linalg.lstsq(np.asarray(x, float), np.asarray(y, float), rcond=None)[0]
        self.classes_ = np.unique(y)
        return self


class FakePipeline:
    """Named steps, as scikit-learn's Pipeline keeps them."""

    def __init__(self, steps: list[tuple[str, Any]]) -> None:
        self.steps = steps

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"steps": self.steps}

    def transform(self, x: Any) -> Any:
        for _, step in self.steps[:-1]:
            x = step.transform(x)
        return x


def clip_outliers(x: Any) -> Any:
    """A plain function a model may reference (as a FunctionTransformer's func)."""
    return np.clip(x, -3, 3)


def fitted_pipeline(seed: int = 0) -> FakePipeline:
    """A fitted scaler-then-model pipeline on random data."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(50, 3))
    y = (x[:, 0] > 0).astype(int)
    scaler = FakeScaler().fit(x)
    return FakePipeline([("scale", scaler), ("model", FakeLogistic().fit(scaler.transform(x), y))])


class WritesFileWhenUnpickled:
    """Unpickling this object opens ``path`` for writing: it creates the file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))
