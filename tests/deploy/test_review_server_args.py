"""A LocalDeployer refuses server_args every server would refuse, saying so once."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy import LocalDeployer
from modelship.errors import ConfigError


def test_an_unrecognized_server_arg_is_refused_with_the_prefix_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=["--bogus"])
    assert str(caught.value) == (
        "server_args ['--bogus'] would stop every server: modelship serve says "
        "unrecognized arguments: --bogus; see `modelship serve --help`"
    )


def test_a_server_arg_value_the_config_refuses_is_named_with_the_prefix_once(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=["--max-body-bytes", "0"])
    assert str(caught.value) == (
        "server_args ['--max-body-bytes', '0'] would stop every server: "
        "max_body_bytes must be an integer >= 1, got 0"
    )
