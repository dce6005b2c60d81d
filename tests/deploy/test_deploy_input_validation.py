"""Every public entry point of deploy refuses a wrong argument with a ConfigError, at once.

Raw TypeError/ValueError/AttributeError are never what a user sees, and a wrong gate,
policy, clock or step is refused when the strategy is built, not minutes into deploy().
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    Container,
    DeploymentSpec,
    GateResult,
    LocalDeployer,
    RegistryHistory,
    Verdict,
    check_weights,
    from_spec,
)
from modelship.errors import ConfigError, InvalidParameter
from modelship.testing._deployer_double import InMemoryDeployer

pytest.importorskip("yaml")

CONTAINER = {"name": "m", "image": "m:1"}
DOCUMENT = {"deployment": {"containers": [CONTAINER]}}


def _canary_spec() -> DeploymentSpec:
    return DeploymentSpec.from_dict(
        {
            "deployment": {
                "strategy": "canary",
                "containers": [CONTAINER],
                "canary": {"steps": [{"weight": 10, "pause": 1}]},
            }
        }
    )


# --- the spec ---------------------------------------------------------------------------------


def test_a_yaml_key_that_is_a_list_raises_config_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("deployment:\n  ? [a, b]\n  : 1\n")
    with pytest.raises(ConfigError, match=r"line 2: a key is a list; keys are names"):
        DeploymentSpec.from_file(path)


def test_a_kubernetes_env_name_that_is_not_a_string_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "deployment:\n  containers:\n    - name: m\n      image: m:1\n"
        "      env: [{name: [a], value: '1'}]\n"
    )
    with pytest.raises(ConfigError, match=r"env\[0\]\.name: must be an environment variable name"):
        DeploymentSpec.from_file(path)


def test_a_kubernetes_env_list_naming_a_variable_twice_raises_config_error() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    document = {"deployment": {"containers": [{**CONTAINER, "env": env}]}}
    with pytest.raises(ConfigError, match=r"env\[1\]\.name: 'A' is given twice"):
        DeploymentSpec.from_dict(document)


def test_a_kubernetes_env_list_with_distinct_names_is_read() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    spec = DeploymentSpec.from_dict({"deployment": {"containers": [{**CONTAINER, "env": env}]}})
    assert spec.containers[0].env == {"A": "1", "B": "2"}


def test_a_json_key_given_twice_raises_config_error(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(
        '{"deployment": {"replicas": 1, "replicas": 2, "containers": '
        + json.dumps([CONTAINER])
        + "}}"
    )
    with pytest.raises(ConfigError, match=r"d\.json: the key 'replicas' is given twice"):
        DeploymentSpec.from_file(path)


def test_malformed_json_is_still_reported_as_not_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"deployment": ')
    with pytest.raises(ConfigError, match="not valid JSON"):
        DeploymentSpec.from_file(path)


@pytest.mark.parametrize("variables", [["X"], "X", {"X": 1}, {1: "x"}])
def test_variables_that_are_not_a_mapping_of_names_to_strings_raise(variables: Any) -> None:
    with pytest.raises(InvalidParameter, match=r"^variables"):
        DeploymentSpec.from_dict(DOCUMENT, variables=variables)


def test_environ_that_is_not_a_boolean_raises_config_error() -> None:
    with pytest.raises(InvalidParameter, match=r"^environ='no' is not allowed"):
        DeploymentSpec.from_dict(DOCUMENT, environ="no")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [None, 3, b"d.yaml"])
def test_from_file_refuses_what_is_not_a_path(path: Any) -> None:
    with pytest.raises(InvalidParameter, match=r"^path=.* is not allowed; path must be"):
        DeploymentSpec.from_file(path)


def test_from_file_refuses_a_path_with_a_nul_byte_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="contains a NUL byte") as caught:
        DeploymentSpec.from_file("deploy\x00ment.yaml")
    assert "\x00" not in str(caught.value)


@pytest.mark.parametrize(
    ("notes", "message"),
    [
        (5, r"^notes must be a list, got int"),
        ("abc", r"^notes must be a list"),
        ([5], r"notes\[0\]"),
    ],
)
def test_notes_that_are_not_a_list_of_strings_raise_config_error(notes: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DeploymentSpec(containers=[Container(name="m", image="m:1")], notes=notes)


# --- strategies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([10, 50], r"^steps\[0\] must be a CanaryStep.*got int"),
        ([{"weight": 10}, {"weight": 50}], r"^steps\[0\] must be a CanaryStep.*got dict"),
        ("abc", r"^steps must be a list of CanaryStep.*got str"),
        (5, r"^steps must be a list of CanaryStep.*got int"),
        ([10], r"^steps\[0\] must be a CanaryStep.*got int"),
        ([(10, 60)], r"^steps\[0\] must be a CanaryStep.*got tuple"),
        ([CanaryStep(10, 60), 50], r"^steps\[1\] must be a CanaryStep"),
    ],
)
def test_canary_steps_that_are_not_canary_steps_raise_at_construction(
    steps: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Canary(InMemoryDeployer(), steps=steps)


def test_canary_steps_given_as_canary_steps_are_kept() -> None:
    steps = [CanaryStep(10, pause=60), CanaryStep(50, pause=60)]
    assert Canary(InMemoryDeployer(), steps=steps).steps == tuple(steps)


@pytest.mark.parametrize("spec", [{"deployment": {}}, None])
def test_from_spec_refuses_what_is_not_a_deployment_spec(spec: Any) -> None:
    with pytest.raises(ConfigError, match=r"^spec must be a DeploymentSpec"):
        from_spec(InMemoryDeployer(), spec)


def test_from_spec_refuses_steps_and_says_where_they_come_from() -> None:
    with pytest.raises(ConfigError, match=r"canary steps from the spec.*Canary\(deployer"):
        from_spec(InMemoryDeployer(), _canary_spec(), steps=[CanaryStep(20)])  # type: ignore[call-arg]


def test_from_spec_refuses_an_unknown_option_and_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"no option 'gates'; the options are alias, clock, gate"):
        from_spec(InMemoryDeployer(), _canary_spec(), gates=None)  # type: ignore[call-arg]


def test_from_spec_passes_known_options_on() -> None:
    strategy = from_spec(InMemoryDeployer(), _canary_spec(), undo_window=0)
    assert strategy.undo_window == 0
    assert strategy.steps == (CanaryStep(10, 1.0),)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("policy", {}, r"^policy must be a GatePolicy.*got dict"),
        ("clock", 5, r"^clock must be a Clock \(an object with monotonic\(\).*got int"),
        ("history", 5, r"^history must be a DeploymentHistory.*got int"),
        ("gate", 5, r"^gate must be a callable taking the rollout.*got int"),
        ("spec", {}, r"^spec must be a DeploymentSpec.*got dict"),
    ],
)
@pytest.mark.parametrize("kind", [BlueGreen, Canary])
def test_a_strategy_refuses_a_wrong_option_at_construction(
    kind: type, option: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        kind(InMemoryDeployer(), **{option: value})


# --- gates and weights ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "parameter"),
    [(("bogus",), "verdict"), ((Verdict.PASS, "", 5), "inputs"), ((Verdict.PASS, 5), "reason")],
)
def test_gate_result_refuses_a_wrong_argument(args: tuple[Any, ...], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        GateResult(*args)
    assert caught.value.parameter == parameter


def test_gate_result_still_takes_a_verdict_value() -> None:
    assert GateResult("pass").verdict is Verdict.PASS


@pytest.mark.parametrize("weights", [None, [("blue", 100)], "blue"])
def test_check_weights_refuses_what_is_not_a_mapping(weights: Any) -> None:
    with pytest.raises(ConfigError, match=r"^traffic weights must be a mapping of slot name"):
        check_weights(weights)


# --- the local deployer -----------------------------------------------------------------------


@pytest.mark.parametrize("registry", ["./models", None])
def test_local_deployer_refuses_what_is_not_a_registry_and_says_to_open_one(
    registry: Any,
) -> None:
    with pytest.raises(
        ConfigError, match=r"registry must be a Registry.*ms\.open_registry\(path\)"
    ):
        LocalDeployer(registry)


@pytest.mark.parametrize(
    ("server_args", "message"),
    [
        ("--allow-nan", r"^server_args must be a list of strings.*got str"),
        (None, r"^server_args must be a list of strings.*got NoneType"),
        ([1], r"^server_args\[0\] must be a string, got int"),
    ],
)
def test_local_deployer_refuses_server_args_that_are_not_a_list_of_strings(
    tmp_path: Path, server_args: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=server_args)


def test_local_deployer_refuses_a_server_arg_holding_a_nul_character(tmp_path: Path) -> None:
    # Popen would raise a raw ValueError at the first apply(), after the deployer started.
    with pytest.raises(ConfigError, match=r"^server_args\[1\] .* holds a NUL character"):
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=["--no-warmup", "a\x00b"])


@pytest.mark.parametrize(
    ("arg", "flag"),
    [
        ("--slot", "--slot"),
        ("--host=0.0.0.0", "--host"),
        ("--fd", "--fd"),
        ("--port", "--port"),
        ("--graceful-seconds=5", "--graceful-seconds"),
        ("--sl", "--slot"),  # argparse reads an unambiguous prefix as the flag
    ],
)
def test_local_deployer_refuses_the_flags_it_sets_itself(
    tmp_path: Path, arg: str, flag: str
) -> None:
    with pytest.raises(
        ConfigError, match=rf"^server_args\[0\] '{arg}' sets {flag}, which the LocalDeployer"
    ):
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=[arg, "x"])


def test_local_deployer_accepts_the_flags_it_leaves_to_the_caller(tmp_path: Path) -> None:
    args = ["--no-warmup", "--allow-nan", "--log-level=info", "--max-body-bytes", "1024"]
    LocalDeployer(ms.open_registry(str(tmp_path)), server_args=args).close()


@pytest.mark.parametrize(
    ("server_args", "message"),
    [
        (["--max-body-bytes", "lots"], r"invalid int value: 'lots'"),
        (["--no-such-flag"], r"unrecognized arguments: --no-such-flag"),
        (["--max-body-bytes", "0"], r"max_body_bytes must be an integer >= 1, got 0"),
        (["--warmup", "[[0,"], r"--warmup '\[\[0,' is not JSON"),
        (["--offload-seconds", "-1"], r"offload_seconds"),
    ],
)
def test_local_deployer_refuses_server_args_every_server_would_refuse(
    tmp_path: Path, server_args: list[str], message: str
) -> None:
    """Refused when the deployer is made, not when each server exits at start."""
    with pytest.raises(ConfigError, match=r"^server_args .* would stop every server: .*" + message):
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=server_args)


def test_the_local_deployers_router_refuses_a_body_the_servers_would_refuse(
    tmp_path: Path,
) -> None:
    import json
    import urllib.error
    import urllib.request

    server_args = ["--no-warmup", "--max-body-bytes", "1024"]
    with LocalDeployer(ms.open_registry(str(tmp_path)), server_args=server_args) as dep:
        request = urllib.request.Request(dep.endpoint + "/predict", data=b"x" * 2048)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 413  # before a slot is chosen (there is none: 503)
        assert "over the limit of 1024 bytes" in json.loads(refused.value.read())["error"]


def test_local_deployer_set_traffic_refuses_none(tmp_path: Path) -> None:
    with (
        LocalDeployer(ms.open_registry(str(tmp_path)), server_args=["--no-warmup"]) as dep,
        pytest.raises(ConfigError, match=r"^traffic weights must be a mapping"),
    ):
        dep.set_traffic(None)  # type: ignore[arg-type]


def test_the_history_of_a_model_or_registry_that_is_not_there_says_so(tmp_path: Path) -> None:
    # An empty list read as "no rollouts yet" where the name or the location was mistyped.
    reg = ms.open_registry(str(tmp_path / "registry"))
    reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    assert RegistryHistory(reg).records("m") == []  # a model with no rollouts has none
    with pytest.raises(ms.ModelNotFound, match="no model named 'n'"):
        RegistryHistory(reg).records("n")
    with pytest.raises(ms.RegistryNotFound):
        RegistryHistory(ms.open_registry(str(tmp_path / "typo"))).records("m")


def test_a_deployment_file_is_refused_past_1_mib_whatever_size_it_reports(
    fifo_sending: Callable[[str, bytes], Path],
) -> None:
    fifo = fifo_sending("deploy.yaml", b"deployment:\n  model: m\n#" + b"x" * (2 << 20) + b"\n")
    with pytest.raises(ConfigError, match=r"more than 1048576 bytes"):
        DeploymentSpec.from_file(fifo)
