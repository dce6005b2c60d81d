"""A JSON object given where a schema or drift profile file is expected gets the "give a
... file" hint; only a document a newer modelship wrote keeps the advice to upgrade
(fixer K).

``not_a_document`` kept the newer version's advice by parsing the bytes again: any JSON
object lost the hint. It now asks the error (``is_newer_version``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelship.checks import DriftProfile, Schema
from modelship.cli import main

FRAME = {"x": [1.0, 2.0, 3.0]}


def _run(tmp_path: Path, option: str, document: object, capsys: pytest.CaptureFixture[str]) -> str:
    given = tmp_path / "given.json"
    given.write_text(json.dumps(document))
    data = tmp_path / "current.csv"
    data.write_text("x\n1.0\n2.0\n")
    command = "schema" if option == "--schema-file" else "drift"
    assert main(["check", command, option, str(given), "--current", str(data)]) == 2
    out = capsys.readouterr()
    return " ".join((out.out + out.err).split())


NOT_SCHEMAS = {
    "another-object": {"name": "m", "rows": 3},
    "a-profile": json.loads(DriftProfile.from_data(FRAME).to_json()),
    "no-columns": {"schema_version": 1},
}


@pytest.mark.parametrize("document", list(NOT_SCHEMAS.values()), ids=list(NOT_SCHEMAS))
def test_a_json_object_that_is_not_a_schema_gets_the_hint(
    tmp_path: Path, document: object, capsys: pytest.CaptureFixture[str]
) -> None:
    said = _run(tmp_path, "--schema-file", document, capsys)
    # Before: "given.json: the schema has no integer 'schema_version'" and no hint.
    assert "given.json is not a schema (" in said
    assert "give a schema file written by Schema.to_json" in said


def test_a_json_object_that_is_not_a_profile_gets_the_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = json.loads(Schema.infer(FRAME).to_json())  # a schema given as --profile
    said = _run(tmp_path, "--profile", schema, capsys)
    assert "given.json is not a drift profile (" in said
    assert "give a drift profile file written by `modelship check profile`" in said


@pytest.mark.parametrize("option", ["--schema-file", "--profile"])
def test_a_document_from_a_newer_modelship_keeps_the_advice_to_upgrade(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = Schema.infer(FRAME) if option == "--schema-file" else DriftProfile.from_data(FRAME)
    document = json.loads(made.to_json())
    document["schema_version"] = 99
    said = _run(tmp_path, option, document, capsys)
    reads = 1 if option == "--schema-file" else 2  # profiles of identifier columns: 2
    assert (
        f"schema_version 99, newer than the {reads} this modelship reads; upgrade modelship" in said
    )
    assert "is not a" not in said
    assert "give a" not in said


@pytest.mark.parametrize("command", ["drift", "schema"])
def test_a_profile_whose_embedded_schema_is_newer_keeps_the_upgrade_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # Second look: DriftProfile wraps its schema's error ("malformed drift profile: ..."),
    # which dropped the mark of a newer document, and the hint said to write a new file.
    profile = json.loads(DriftProfile.from_data(FRAME).to_json())
    profile["schema"]["schema_version"] = 2  # a newer modelship bumped the schema alone
    given = tmp_path / "profile.json"
    given.write_text(json.dumps(profile))
    data = tmp_path / "current.csv"
    data.write_text("x\n1.0\n2.0\n")
    assert main(["check", command, "--profile", str(given), "--current", str(data)]) == 2
    out = capsys.readouterr()
    said = " ".join((out.out + out.err).split())
    assert "upgrade modelship" in said
    assert "is not a drift profile" not in said
