"""What modelship writes for machines and people stays exact, bounded and on one line.

JSON documents are the same bytes whatever the hash seed and never lose a value without
saying so; error messages show a value in bounded time and memory; reprs stay one line
whatever the user's names hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship import _json
from modelship._shown import SHOWN, brief
from modelship.checks import CheckResult, SuiteResult
from modelship.errors import ConfigError

# --- 14. JSON documents ------------------------------------------------------------------------


def test_a_set_is_written_as_a_sorted_list() -> None:
    assert _json.jsonable({"new": {"gamma", "alpha", "beta"}}) == {
        "new": ["alpha", "beta", "gamma"]
    }
    assert _json.jsonable(frozenset({3, 1, 2})) == [1, 2, 3]


def test_a_set_of_values_without_an_order_is_sorted_by_their_json_text() -> None:
    assert _json.jsonable({None, 1, "a"}) == ["a", 1, None]  # '"a"' < '1' < 'null'


def test_a_suite_with_a_set_in_its_details_is_the_same_json_whatever_the_hash_seed() -> None:
    code = (
        "from modelship.checks import CheckResult, SuiteResult\n"
        "details = {'new_categories': {'alpha', 'beta', 'gamma', 'delta', 'epsilon'}}\n"
        "print(SuiteResult([CheckResult(name='c', status='warn', details=details)]).to_json())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
    details = json.loads(outputs.pop())["results"][0]["details"]
    assert details == {"new_categories": ["alpha", "beta", "delta", "epsilon", "gamma"]}


def test_two_keys_written_as_the_same_text_are_refused_not_one_dropped() -> None:
    message = r"^two keys of one mapping, 1 and '1', are both written as '1' in JSON"
    with pytest.raises(ConfigError, match=message):
        _json.jsonable({1: "int key", "1": "text key"})
    with pytest.raises(ConfigError, match="both written as 'true'"):
        _json.dumps({"true": 1, True: 2})


def test_boolean_and_none_keys_are_written_as_json_writes_them() -> None:
    assert _json.dumps({True: 1, None: 2}, indent=None) == json.dumps({True: 1, None: 2})


def test_details_that_contain_themselves_raise_config_error() -> None:
    details: dict[str, Any] = {}
    details["me"] = details
    suite = SuiteResult([CheckResult(name="c", status="pass", details=details)])
    with pytest.raises(ConfigError, match="contains itself"):
        suite.to_json()


def test_details_nested_too_deep_raise_config_error() -> None:
    nested: list[Any] = []
    for _ in range(sys.getrecursionlimit() * 2):
        nested = [nested]
    with pytest.raises(ConfigError, match="nested too deep"):
        _json.dumps({"deep": nested})


# --- 15. brief() on bytes ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_brief_of_large_bytes_is_cut_before_it_is_written_out(kind: type) -> None:
    value = kind(10**7)
    tracemalloc.start()
    try:
        shown = brief([value])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(shown) <= SHOWN
    assert shown.endswith("...")
    assert peak < 100_000  # the full repr is 40 MB of text


def test_brief_of_short_bytes_is_their_repr() -> None:
    assert brief(b"abc") == "b'abc'"
    assert brief(bytearray(b"\x00")) == "bytearray(b'\\x00')"


# --- 16. One-line reprs ------------------------------------------------------------------------

HOSTILE = "auc\x1b[2K\x1b[1G9\tFAKE\nauc"


def test_a_model_version_repr_escapes_control_characters_in_metric_names() -> None:
    reg = ms.open_registry("memory://review-outputs-repr")
    mv = reg.register(model_name="fraud", model=b"w", serializer="bytes", metrics={HOSTILE: 0.5})
    shown = repr(mv)
    assert shown.isprintable()
    assert "auc\\x1b[2K\\x1b[1G9\\tFAKE\\nauc=0.5" in shown


def test_a_check_result_repr_is_one_printable_line() -> None:
    shown = repr(CheckResult(name="c", status="fail", reason=HOSTILE))
    assert shown.isprintable()
    assert shown == "<CheckResult 'c' fail: auc\\x1b[2K\\x1b[1G9\\tFAKE\\nauc>"


def test_write_output_encodes_before_it_replaces_a_file(tmp_path: Path) -> None:
    # It opened the file for writing (emptying it), then failed to encode a lone
    # surrogate with a bare UnicodeEncodeError: the old file lost, no clean error.
    from modelship._cli_common import write_output

    target = tmp_path / "snapshot.json"
    target.write_text("old\n", encoding="utf-8")
    write_output(str(target), "name \udcff\n")
    assert target.read_text(encoding="utf-8") == "name \\udcff\n"


def test_write_output_to_a_stdout_that_cannot_hold_a_character_escapes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from modelship._cli_common import write_output

    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    write_output("-", "passed ✅\n")
    assert raw.getvalue() == b"passed \\u2705\n"
