"""Rollout history of a signed registry read without its key, as the deploy and monitor
commands open it: the records are not signed, so they are listed all the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main
from modelship.deploy._history import RegistryHistory

KEY = b"k" * 32


@pytest.fixture
def signed(tmp_path: Path) -> str:
    root = str(tmp_path / "registry")
    ms.open_registry(root, signing_key=KEY).register(
        model_name="fraud", model=b"w", serializer="bytes"
    )
    return root


def test_a_model_without_rollouts_has_an_empty_history_without_the_key(signed: str) -> None:
    assert RegistryHistory(ms.open_registry(signed)).records("fraud") == []


def test_a_model_that_does_not_exist_raises_model_not_found_without_the_key(signed: str) -> None:
    with pytest.raises(ms.ModelNotFound, match="no model named 'fruad'"):
        RegistryHistory(ms.open_registry(signed)).records("fruad")


def test_a_model_that_does_not_exist_raises_model_not_found_naming_the_models_with_the_key(
    signed: str,
) -> None:
    with pytest.raises(ms.ModelNotFound, match="models here: fraud"):
        RegistryHistory(ms.open_registry(signed, signing_key=KEY)).records("fruad")


def test_deploy_history_of_a_model_without_rollouts_exits_0_without_the_key(
    signed: str, capsys: Any
) -> None:
    assert main(["deploy", "history", signed, "fraud"]) == 0, capsys.readouterr().err
