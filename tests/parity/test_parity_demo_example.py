"""``examples/parity.behaviour_check``, the step ``examples/demo.py`` runs before it deploys."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import modelship as ms

EXAMPLE = Path(__file__).parents[2] / "examples" / "parity.py"


def test_a_scaler_refitted_on_other_data_is_stopped_by_the_behaviour_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("parity_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    url = str(tmp_path / "registry")
    assert example.behaviour_check(url) is True
    assert "BLOCKING  preprocessing_behaviour" in capsys.readouterr().out
    assert ms.open_registry(url).get("churn-parity").environment is not None
