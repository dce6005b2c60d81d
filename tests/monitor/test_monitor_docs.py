"""The defaults documented in docs/monitor.md are the code's defaults."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

import modelship as ms

DOC = Path(__file__).parents[2] / "docs" / "monitor.md"


def _defaults_table() -> dict[str, str]:
    section = DOC.read_text(encoding="utf-8").split("### Defaults", 1)[1].split("###", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)`[^|]* \| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert rows, "no defaults table found"
    return dict(rows)


def test_the_documented_policy_defaults_are_the_codes() -> None:
    table = _defaults_table()
    fields = attrs.fields_dict(ms.monitor.RollbackPolicy)
    for name in (
        "failure_limit",
        "consecutive_failure_limit",
        "error_limit",
        "on_no_data",
        "on_inconclusive",
        "deadline",
    ):
        assert table[name] == str(fields[name].default), name
    assert table["min_samples"] == str(ms.monitor.DEFAULT_MIN_SAMPLES)


def test_the_documented_score_thresholds_are_the_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"`PASS_SCORE` ({ms.monitor.PASS_SCORE:g})" in text
    assert f"`MARGINAL_SCORE` ({ms.monitor.MARGINAL_SCORE:g})" in text


def test_every_default_query_template_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for metric, stat in ms.monitor.DEFAULT_QUERIES:
        assert f"`{metric}`" in text, metric
        assert stat in text, (metric, stat)
