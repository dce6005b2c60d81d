"""``modelship registry`` text output shows what a store holds escaped.

A metric name, like any text from a store, may carry a terminal escape (which rewrites
the line), a tab (which forges a column of ``registry versions``) or a newline (which
forges a row): each is printed as a Python escape, so one version is one line of five
tab-separated fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main

FORGED = "auc\x1b[2K\x1b[1G9\tFAKE\tsha256:deadbeef\nauc"


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    mv = reg.register(model_name="fraud", model=b"w", serializer="bytes", metrics={FORGED: 0.5})
    reg.set_alias("fraud", "production", mv.version)
    return url


def test_versions_prints_a_forged_metric_name_escaped_on_one_line(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "versions", url, "fraud"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    lines = out.splitlines()
    assert len(lines) == 1
    fields = lines[0].split("\t")
    assert len(fields) == 5  # version, created, digest, metrics, marks
    assert fields[3] == "auc\\x1b[2K\\x1b[1G9\\tFAKE\\tsha256:deadbeef\\nauc=0.5"
    assert fields[4] == "@production"


def test_versions_json_keeps_the_metric_name_as_stored(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "versions", url, "fraud", "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out  # JSON escapes it itself
    assert list(json.loads(out)[0]["metrics"]) == [FORGED]
