"""Review 42, second look at the deployment spec's bound: keys count toward the text the
document may hold once its YAML aliases are expanded, and a path is written out (each
key cut) only for an error message."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from modelship.deploy import DeploymentSpec
from modelship.deploy._spec import MAX_SUBSTITUTED_BYTES, substitute
from modelship.errors import ConfigError

LONG = 100_000  # characters of one key, named by every alias


def _aliased_key_file(path: Path, *, depth: int, copies: int) -> Path:
    """A file of about LONG bytes: one long key, nested ``depth`` deep, ``copies`` times."""
    inner = "1"
    for _ in range(depth):
        inner = "{*k : " + inner + "}"
    lines = [
        f'k: &k "{"x" * LONG}"',
        f"m: &m {inner}",
        "deployment:",
        "  l: [" + ", ".join(["*m"] * copies) + "]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_keys_named_by_aliases_count_toward_the_text_bound(tmp_path: Path) -> None:
    # 100 copies of a 100,000-character key: 10 million characters of keys, tiny values.
    path = _aliased_key_file(tmp_path / "keys.yaml", depth=1, copies=100)
    assert LONG * 100 > MAX_SUBSTITUTED_BYTES
    with pytest.raises(ConfigError, match=f"more than {MAX_SUBSTITUTED_BYTES} characters in all"):
        DeploymentSpec.from_file(path)


def test_the_text_bound_error_cuts_the_key_in_its_path(tmp_path: Path) -> None:
    path = _aliased_key_file(tmp_path / "keys.yaml", depth=1, copies=100)
    with pytest.raises(ConfigError, match="characters in all") as caught:
        DeploymentSpec.from_file(path)
    assert "x" * 98 not in str(caught.value)
    assert len(str(caught.value)) < len(str(path)) + 600


def test_a_depth_error_cuts_every_key_of_its_path(tmp_path: Path) -> None:
    path = _aliased_key_file(tmp_path / "deep.yaml", depth=40, copies=1)
    with pytest.raises(ConfigError, match="nested more than 32 levels deep") as caught:
        DeploymentSpec.from_file(path)
    message = str(caught.value)
    assert ": m." + "x" * 97 + "....x" in message  # the anchor's own tree is deepest first
    # At most 100 characters a key, after the file's path (it held 3,200,085 characters).
    assert len(message) < len(str(path)) + 33 * 110


def test_an_unset_variable_under_a_long_key_is_said_in_a_short_message() -> None:
    with pytest.raises(ConfigError, match=r"\$\{TAG\} is not set") as caught:
        substitute({"k" * LONG: {"image": "m:${TAG}"}}, {}.get)
    message = str(caught.value)
    assert message.startswith("k" * 97 + "....image: ")
    assert len(message) < 400


def test_a_path_is_not_built_for_every_value_visited() -> None:
    # 20 levels of one 400,000-character key: within the bound (8 million characters of
    # keys), and a path string written for each value held all of them (8 MB at once).
    key = "k" * 400_000
    document: object = 1
    for _ in range(20):
        document = {key: document}
    tracemalloc.start()
    try:
        result = substitute(document, {}.get)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result == document
    assert peak < 1_000_000


def test_int_and_list_keys_in_a_path_read_as_before() -> None:
    with pytest.raises(ConfigError, match=r"^a\.1\[2\]\.b: \$\{X\} is not set"):
        substitute({"a": {1: [0, 0, {"b": "${X}"}]}}, {}.get)


@pytest.mark.parametrize(
    "document",
    [
        "deployment: " + "[" + ", ".join(["1"] * 50_000) + "]\n",  # not a mapping
        "deployment:\n  strategy: " + "x" * 50_000 + "\n",  # an unknown strategy
        "deployment:\n  containers: " + "y" * 50_000 + "\n",  # not a list of containers
    ],
    ids=["not-a-mapping", "unknown-strategy", "containers-not-a-list"],
)
def test_a_wrong_value_is_shown_cut_not_echoed_whole(tmp_path: Path, document: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        DeploymentSpec.from_file(path)
    message = str(refused.value)
    assert len(message) < 1_000, f"the message echoes the value ({len(message)} characters)"
