"""``Registry.load`` checks the recorded requirements before it unpickles a version."""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.parity import (
    REQUIREMENTS_ROLE,
    EnvironmentMismatch,
    EnvironmentMismatchWarning,
    Requirements,
)
from modelship.registry import Registry

UNPICKLED: list[str] = []


class Tripwire:
    """Records every time it is unpickled."""

    def __init__(self) -> None:
        self.armed = True  # a non-empty state, so unpickling calls __setstate__

    def __setstate__(self, state: dict[str, Any]) -> None:
        UNPICKLED.append("unpickled")
        self.__dict__.update(state)


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return ms.open_registry(str(tmp_path / "registry"))


def pinned(reg: Registry, model: Any, packages: dict[str, str]) -> str:
    """Register ``model`` with ``packages`` recorded as what it needs; its version."""
    needs = Requirements(packages=packages)
    mv = reg.register(model_name="m", model=model, attachments={REQUIREMENTS_ROLE: needs})
    return mv.version


def test_load_of_a_version_whose_needs_are_installed_does_not_warn(reg: Registry) -> None:
    reg.register(model_name="m", model={"w": np.arange(3)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reg.load("m")["w"].tolist() == [0, 1, 2]


def test_load_warns_naming_the_package_the_recorded_and_the_installed_version(
    reg: Registry,
) -> None:
    version = pinned(reg, {"w": np.arange(3)}, {"numpy": "1.0.0"})
    with pytest.warns(EnvironmentMismatchWarning) as caught:
        reg.load("m", version)
    message = str(caught[0].message)
    assert f"m version {version}" in message
    assert "numpy" in message
    assert "1.0.0" in message
    assert importlib.metadata.version("numpy") in message


def test_the_mismatch_warning_points_at_the_caller_of_load(reg: Registry) -> None:
    version = pinned(reg, {"w": 1}, {"numpy": "1.0.0"})
    with pytest.warns(EnvironmentMismatchWarning) as caught:
        reg.load("m", version)
    assert caught[0].filename == __file__


def test_load_warns_when_a_needed_package_is_not_installed(reg: Registry) -> None:
    version = pinned(reg, {"w": 1}, {"no-such-distribution-xyz": "2.0"})
    with pytest.warns(EnvironmentMismatchWarning, match="it is not installed"):
        assert reg.load("m", version) == {"w": 1}


def test_strict_environment_refuses_a_mismatch_before_unpickling(reg: Registry) -> None:
    version = pinned(reg, Tripwire(), {"numpy": "1.0.0"})
    UNPICKLED.clear()
    with pytest.raises(EnvironmentMismatch, match=r"numpy: the model was saved with 1\.0\.0"):
        reg.load("m", version, strict_environment=True)
    assert UNPICKLED == []


def test_without_strict_the_model_loads_after_the_warning(reg: Registry) -> None:
    version = pinned(reg, Tripwire(), {"numpy": "1.0.0"})
    UNPICKLED.clear()
    with pytest.warns(EnvironmentMismatchWarning):
        reg.load("m", version)
    assert UNPICKLED == ["unpickled"]


def test_strict_environment_loads_a_version_that_recorded_no_requirements(
    reg: Registry,
) -> None:
    reg.register(model_name="m", model={"w": 1}, capture_environment=False)
    assert reg.load("m", strict_environment=True) == {"w": 1}


def test_strict_environment_must_be_a_bool(reg: Registry) -> None:
    reg.register(model_name="m", model={"w": 1})
    with pytest.raises(ms.ConfigError, match="strict_environment must be True or False"):
        reg.load("m", strict_environment="yes")  # type: ignore[arg-type]
