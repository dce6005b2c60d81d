"""Stop 37: HTML output (reports and notebook tables) escapes what is not printable."""

from __future__ import annotations

import json
import os

import attrs
import numpy as np
import pytest

import modelship as ms
from modelship.checks import Schema, run_suite
from modelship.report import Entry, Report, Section, render_html


def test_a_lone_surrogate_from_a_file_name_leaves_the_html_sendable() -> None:
    name = os.fsdecode(b"batch-\xff.npy")  # how Python names a non-UTF-8 file
    suite = run_suite([Schema.infer({"x": np.arange(100.0)}).check({name: np.arange(100.0)})])
    render_html(suite.to_report()).encode("utf-8")
    # How a Jupyter kernel sends a display: this raised UnicodeEncodeError.
    json.dumps({"text/html": suite._repr_html_()}, ensure_ascii=False).encode("utf-8")


def test_a_right_to_left_override_is_shown_escaped_in_html() -> None:
    name = "income\u202egnp.exe"
    report = Report(
        title="t",
        passed=False,
        sections=[
            Section(
                head=Entry(name="drift", status="fail", reason="x"),
                entries=[Entry(name=name, status="fail", reason="drifted")],
                item="column",
            )
        ],
    )
    out = render_html(report)
    assert "\u202e" not in out
    assert "income\\u202egnp.exe" in out


def test_a_model_versions_notebook_table_escapes_a_surrogate(tmp_path: object) -> None:
    registry = ms.open_registry(str(tmp_path))
    mv = registry.register(model_name="fraud", model=b"w", serializer="bytes")
    # A document written by another tool (or an older modelship) may hold one.
    mv = attrs.evolve(mv, description="trained on " + os.fsdecode(b"batch-\xff.csv"))
    html = mv._repr_html_()
    html.encode("utf-8")  # raised UnicodeEncodeError
    assert "batch-\\udcff.csv" in html


def test_a_description_with_a_lone_surrogate_is_refused_as_tags_are(tmp_path: object) -> None:
    from modelship.errors import ConfigError

    registry = ms.open_registry(str(tmp_path))
    with pytest.raises(ConfigError, match="UTF-8"):
        registry.register(
            model_name="fraud",
            model=b"w",
            serializer="bytes",
            description="trained on " + os.fsdecode(b"batch-\xff.csv"),
        )
    assert registry.models() == []
