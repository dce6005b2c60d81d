"""Messages, third look (review 51): a spec's ``healthcheck.path`` that ``modelship serve``
answers 404 is shown whole with the server's own reason, and a version-pinned
``/v2/models/{name}/versions/{version}/ready`` says which version the slot serves and
what to probe instead; a YAML tab between tokens is not called indentation, and a
character the reader refuses is placed by line and column, not by position."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from numpy_models import Threshold, importable_by_servers

import modelship as ms
from modelship._rollback._yaml import read_yaml, strict_load
from modelship.deploy import DeploymentSpec
from modelship.deploy.local import LocalDeployer
from modelship.errors import ConfigError


@pytest.fixture(scope="module")
def dep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployer]:
    root = tmp_path_factory.mktemp("messages51-registry")
    reg = ms.open_registry(str(root))
    for flip in (False, True):
        reg.register(model_name="fraud", model=Threshold(flip))
    with importable_by_servers(), LocalDeployer(registry=reg) as d:
        yield d


def _health(path: str) -> DeploymentSpec:
    return DeploymentSpec.from_dict(
        {
            "deployment": {
                "containers": [{"name": "m", "image": "m:1"}],
                "healthcheck": {"path": path},
            }
        }
    )


def _refusal(dep: LocalDeployer, slot: str, version: str, path: str) -> str:
    dep.apply(slot, "fraud", version, _health(path))
    try:
        with pytest.raises(ConfigError) as refused:
            dep.wait_ready(slot, 120)
    finally:
        dep.remove(slot)
    return str(refused.value)


def test_a_version_pinned_healthcheck_path_says_which_version_the_slot_serves(
    dep: LocalDeployer,
) -> None:
    message = _refusal(dep, "green", "2", "/v2/models/fraud/versions/1/ready")
    assert "'/v2/models/fraud/versions/1/ready' answers 404" in message  # whole
    assert "has no version '1' here; it serves '2'" in message  # the server's reason
    assert "serves model 'fraud' version '2'" in message
    assert "'/v2/models/fraud/ready'" in message
    assert "/v2/health/ready" in message
    assert "no GET route" not in message  # it is one: for another version


def test_an_unrouted_healthcheck_path_is_shown_whole_with_the_servers_reason(
    dep: LocalDeployer,
) -> None:
    path = "/health/" + "x" * 40
    message = _refusal(dep, "blue", "1", path)
    assert f"{path!r} answers 404" in message
    assert "it said 'Not Found'" in message
    assert "no GET route of the server" in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a:\tb\n", "line 1, column 3"),
        ("a: b\t# note\n", "line 1, column 5"),
        ("a: [1,\t2]\n", "line 1, column 7"),
        ("a:\n  b: 1\n  c:\t'2'\n", "line 3, column 5"),
    ],
)
def test_a_tab_between_tokens_is_not_called_indentation(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as refused:
        strict_load(yaml, text, "spec.yaml")
    message = str(refused.value)
    assert f"a tab at {where}: YAML separates with spaces" in message
    assert "indentation" not in message
    # A tab before the line's first non-space character is the indentation, and says so.
    with pytest.raises(ConfigError, match=r"indentation must use spaces.*line 2, column 1"):
        strict_load(yaml, "a:\n\tb: 1\n", "spec.yaml")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("a: 1\nb: \x07\n", "unacceptable character #x0007 at line 2, column 4"),
        (b"a: 1\r\nb: \xc3\xa9\xff\n", "byte #xff is not UTF-8 at line 2, column 5"),
    ],
)
def test_a_refused_character_is_placed_by_line_and_column(text: str | bytes, said: str) -> None:
    with pytest.raises(ConfigError) as refused:
        strict_load(yaml, text, "spec.yaml")
    message = str(refused.value)
    assert said in message
    assert "position" not in message


def test_read_yaml_places_a_control_character_by_line() -> None:
    with pytest.raises(ConfigError, match=r"#x001b at line 3, column 9"):
        read_yaml("monitoring:\n  conditions:\n    - 'x\x1b'\n")
