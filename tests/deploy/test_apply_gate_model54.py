"""`deploy apply --prometheus` judges only the model it deploys: the LocalDeployer names
every model's slots blue and green, so another model's series in a slot of that name
would be judged too (a review found the same in `monitor watch --model`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_review48_apply_gate import FakePrometheus, apply, prometheus, registry, spec_file

__all__ = ["prometheus", "registry"]  # fixtures, used by name


def test_every_gate_query_names_the_model(
    registry: str,
    tmp_path: Path,
    prometheus: FakePrometheus,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prometheus.value = "0"
    code, _, err = apply(
        registry, capsys, "--spec", spec_file(tmp_path), "--prometheus", prometheus.url
    )
    assert code == 0, err
    assert prometheus.queries
    assert all('model="fraud"' in q for q in prometheus.queries), prometheus.queries
