"""First use of the local deployer (review 51): a spec's container ``args`` the
LocalDeployer refuses is a ConfigError (exit 2) before any rollout, not an aborted rollout
whose reason only the stored record holds; a typo'd ``healthcheck.path`` fails the wait at
once (``modelship serve`` answers it 404) instead of after the whole progress deadline;
``modelship serve`` says a missing version and a port in use in command-line words."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

import modelship as ms
from modelship.deploy import DeploymentSpec, RegistryHistory, RolloutAborted, from_spec
from modelship.deploy.local import LocalDeployer
from modelship.errors import ConfigError


def _spec(**deployment: object) -> DeploymentSpec:
    container = {"name": "m", "image": "m:1", **deployment.pop("container", {})}  # type: ignore[dict-item]
    return DeploymentSpec.from_dict({"deployment": {"containers": [container], **deployment}})


@pytest.fixture
def registry(tmp_path: Path) -> str:
    """A registry of ``fraud`` 1 (bytes: no server loads it in these tests)."""
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(model_name="fraud", model=b"1", serializer="bytes")
    return url


@pytest.mark.parametrize(
    ("args", "said"),
    [(["--port", "8080"], "sets --port"), (["--workers", "4"], "unrecognized arguments")],
)
def test_apply_refuses_spec_args_with_exit_2_and_records_no_rollout(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    from modelship.cli import main

    spec = tmp_path / "deploy.yaml"
    quoted = ", ".join(f'"{a}"' for a in args)
    spec.write_text(
        f"deployment:\n  containers:\n    - name: m\n      image: m:1\n      args: [{quoted}]\n"
    )
    code = main(["deploy", "apply", registry, "fraud", "1", "--spec", str(spec), "--for", "0"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "ConfigError" in err
    assert said in err
    assert RegistryHistory(ms.open_registry(registry)).records("fraud") == []


def test_check_spec_refuses_what_apply_would_and_passes_a_good_spec(registry: str) -> None:
    with LocalDeployer(registry=ms.open_registry(registry)) as dep:
        with pytest.raises(ConfigError, match="unrecognized arguments: --workers"):
            dep.check_spec(_spec(container={"args": ["--workers", "4"]}))
        dep.check_spec(_spec(container={"args": ["--no-warmup"]}))
        assert dep.pids() == {}  # nothing started


def test_an_aborted_rollout_says_why_apply_failed(registry: str) -> None:
    """The Python API (no up-front check) aborts, its reason now holding the error."""
    spec = _spec(container={"args": ["--workers", "4"]})
    with (
        LocalDeployer(registry=ms.open_registry(registry)) as dep,
        pytest.raises(RolloutAborted) as aborted,
    ):
        from_spec(dep, spec).deploy("fraud", "1")
    message = str(aborted.value)
    assert "starting 1 in blue failed: apply('blue') raised ConfigError" in message
    assert "unrecognized arguments: --workers" in message


@pytest.fixture
def dep(served_registry: Path) -> Iterator[LocalDeployer]:  # noqa: F811
    with LocalDeployer(registry=ms.open_registry(str(served_registry))) as d:
        yield d


def test_a_healthcheck_path_the_server_does_not_route_fails_the_wait_at_once(
    dep: LocalDeployer,
) -> None:
    dep.apply("blue", "fraud", "1", _spec(healthcheck={"path": "/healthz"}))
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"'/healthz' answers 404.*/v2/health/ready"):
        dep.wait_ready("blue", 120)
    assert time.monotonic() - started < 60


def test_a_routed_healthcheck_path_still_turns_ready(dep: LocalDeployer) -> None:
    dep.apply("green", "fraud", "1", _spec(healthcheck={"path": "/v2/health/live"}))
    assert dep.wait_ready("green", 120) is True


def test_serve_says_a_missing_version_in_command_line_words(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelship.deploy.serve import main

    assert main([registry, "fraud", "99", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"`modelship registry versions {registry} fraud`" in err


def test_serve_on_a_port_in_use_says_to_choose_another(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelship.deploy.serve import main

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert main([registry, "fraud", "1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "choose another --port (or --port 0 for any free one)" in err
