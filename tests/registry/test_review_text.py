"""Text a version records is UTF-8 text, and the CLI prints whatever it reads.

A lone surrogate (``"\\ud800"``) is a Python string that no UTF-8 reader can take: JSON
escapes it, so a manifest would store it, but every terminal and file refuses it. Metric
names, tags, lineage maps and params refuse one when they are given, and the text output
of ``registry versions`` escapes what stdout's encoding cannot hold instead of crashing
(exit 1 means a verification failed).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main
from modelship.testing import MemoryStore

_LONE = "bad\ud800"


def _registry() -> ms.Registry:
    return ms.Registry(MemoryStore())


def test_a_metric_name_with_a_lone_surrogate_is_refused_at_registration() -> None:
    reg = _registry()
    with pytest.raises(ms.ConfigError, match="metric names must be non-empty UTF-8 text"):
        reg.register(model_name="m", model=b"x", serializer="bytes", metrics={_LONE: 1.0})
    assert reg.store.list("models") == []


@pytest.mark.parametrize(
    "tags", [{"note": _LONE}, {"note": "ok", "other": "caf\u00e9 \udcff"}], ids=["value", "second"]
)
def test_tags_with_a_lone_surrogate_are_refused_at_registration(tags: dict[str, str]) -> None:
    reg = _registry()
    with pytest.raises(ms.ConfigError, match="tags must be UTF-8 text"):
        reg.register(model_name="m", model=b"x", serializer="bytes", tags=tags)
    assert reg.store.list("models") == []


def test_set_tag_refuses_a_value_with_a_lone_surrogate() -> None:
    reg = _registry()
    reg.register(model_name="m", model=b"x", serializer="bytes")
    with pytest.raises(ms.InvalidTag, match="UTF-8"):
        reg.set_tag("m", "1", "note", _LONE)
    assert reg.tags("m", "1") == {}


@pytest.mark.parametrize(
    "params",
    [{"a": _LONE}, {_LONE: 1}, {"a": {"b": [1, _LONE]}}],
    ids=["value", "key", "nested"],
)
def test_params_with_a_lone_surrogate_are_refused_at_registration(params: dict[str, Any]) -> None:
    reg = _registry()
    with pytest.raises(ms.ConfigError, match="params must be UTF-8 text"):
        reg.register(model_name="m", model=b"x", serializer="bytes", params=params)
    assert reg.store.list("models") == []


def test_text_that_is_utf8_is_kept_as_given() -> None:
    reg = _registry()
    mv = reg.register(
        model_name="m",
        model=b"x",
        serializer="bytes",
        metrics={"précision": 0.5},
        tags={"note": "café ☕"},
        params={"lang": "日本語"},
    )
    back = reg.get("m", mv.version)
    assert (dict(back.metrics), dict(back.tags), dict(back.params)) == (
        {"précision": 0.5},
        {"note": "café ☕"},
        {"lang": "日本語"},
    )


def test_registry_versions_escapes_what_stdout_cannot_encode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(
        model_name="m", model=b"x", serializer="bytes", metrics={"précision": 0.5}
    )
    out = io.BytesIO()
    ascii_stdout = io.TextIOWrapper(out, encoding="ascii", errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", ascii_stdout)
    assert main(["registry", "versions", url, "m"]) == 0
    ascii_stdout.flush()
    assert "pr\\xe9cision=0.5" in out.getvalue().decode("ascii")


def test_a_delete_reason_that_is_not_utf8_text_is_refused() -> None:
    reg = ms.open_registry("memory://review-delete-reason")
    for _ in range(2):
        reg.register(model_name="m", model=b"x", serializer="bytes")
    with pytest.raises(ms.errors.ConfigError, match="UTF-8 text"):
        reg.delete("m", "2", reason="bad" + chr(0xD800))
    assert reg.get("m").version == "2"
