"""The rules table of docs/parity.md and the code's defaults agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs

from modelship.checks import Severity
from modelship.parity import DEFAULT_RULES, ParityRules, is_secret
from modelship.parity._secrets import SECRET_NAME_PARTS

DOC = Path(__file__).parents[2] / "docs" / "parity.md"


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8").split(f"\n## {title}\n", 1)[1]
    return text.split("\n## ", 1)[0]


def documented_rules() -> dict[str, str]:
    rows = re.findall(r"^\| `([^`]+)` \|.*\| `([^`]+)` \|$", section("Rules"), re.MULTILINE)
    assert rows, "no rules table found"
    return dict(rows)


def shown(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, Severity):
        return value.value
    return repr(value)


def test_every_rule_is_documented_with_its_default() -> None:
    defaults = {field.name: shown(field.default) for field in attrs.fields(ParityRules)}
    documented = {
        name: value if not value[0].isdigit() else repr(float(value))
        for name, value in documented_rules().items()
    }
    assert documented == defaults


def test_the_default_rules_are_the_field_defaults() -> None:
    assert ParityRules() == DEFAULT_RULES


def test_every_documented_secret_marker_is_the_codes() -> None:
    text = section("What a snapshot records").split("contains one of", 1)[1]
    documented = set(re.findall(r"`([A-Z]+)`", text.split("or when its value", 1)[0]))
    assert documented == set(SECRET_NAME_PARTS)
    assert all(is_secret(f"X_{part}_Y") for part in SECRET_NAME_PARTS)
