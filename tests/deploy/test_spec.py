"""DeploymentSpec: reading YAML, JSON and TOML; ${VAR}; every semantic check names its field."""

from __future__ import annotations

import itertools
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import (
    CanaryStep,
    Container,
    DeploymentSpec,
    HealthCheck,
    Quantity,
    Resources,
    Strategy,
)
from modelship.deploy._spec import KNOWN_METRICS, parse_duration, substitute
from modelship.errors import ConfigError, MissingDependency

ISSUE_EXAMPLE = textwrap.dedent(
    """
    deployment:
      strategy: blue-green            # or canary (with steps), or recreate
      containers:
        - name: model-service
          image: ai-model:${VERSION}  # ${VERSION} and other ${VARS} are substituted
          resources: {limits: {memory: "4Gi", cpu: "2"}}
      healthcheck: {path: /health, initialDelaySeconds: 30, periodSeconds: 10}
      monitoring: {enabled: true, metrics: [model_accuracy, inference_latency, prediction_drift]}
    """
)


def doc(**deployment: Any) -> dict[str, Any]:
    """A minimal valid document with ``deployment`` keys replaced."""
    base: dict[str, Any] = {"containers": [{"name": "m", "image": "m:1", "port": 9000}]}
    base.update(deployment)
    return {"deployment": base}


def error(document: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        DeploymentSpec.from_dict(document, **kwargs)
    return str(info.value)


# --- reading files -------------------------------------------------------------------------


def test_the_issue_example_reads_with_its_version_substituted(tmp_path: Path) -> None:
    path = tmp_path / "deployment.yaml"
    path.write_text(ISSUE_EXAMPLE)
    spec = DeploymentSpec.from_file(path, variables={"VERSION": "3"})
    assert spec.strategy is Strategy.BLUE_GREEN
    (container,) = spec.containers
    assert container.image == "ai-model:3"
    assert container.resources.limits == {"memory": Quantity.parse("4Gi"), "cpu": "2"}
    assert spec.healthcheck == HealthCheck(
        path="/health", port=8080, initial_delay_seconds=30, period_seconds=10
    )
    assert spec.monitoring.enabled
    assert spec.monitoring.metrics == ("model_accuracy", "inference_latency", "prediction_drift")


def test_the_example_deployment_file_reads() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "deployment.yaml"
    spec = DeploymentSpec.from_file(path, variables={"VERSION": "3"}, environ=False)
    assert spec.strategy is Strategy.CANARY
    assert [s.weight for s in spec.steps] == [10, 25, 50]
    assert spec.containers[0].image.endswith("ai-model:3")
    assert spec.healthcheck.port == spec.containers[0].port


def test_json_toml_and_yaml_of_the_same_document_give_the_same_spec(tmp_path: Path) -> None:
    document = doc(
        strategy="canary",
        canary={"steps": [{"weight": 10, "pause": "1m"}, {"weight": 50, "pause": 30}]},
        replicas=2,
    )
    (tmp_path / "d.json").write_text(json.dumps(document))
    steps = "\n".join(
        f"[[deployment.canary.steps]]\nweight = {s['weight']}\npause = {json.dumps(s['pause'])}"
        for s in document["deployment"]["canary"]["steps"]
    )
    (tmp_path / "d.toml").write_text(
        textwrap.dedent(
            """
            [deployment]
            strategy = "canary"
            replicas = 2
            [[deployment.containers]]
            name = "m"
            image = "m:1"
            port = 9000
            """
        )
        + steps
    )
    (tmp_path / "d.yml").write_text(
        "deployment:\n  strategy: canary\n  replicas: 2\n"
        "  containers: [{name: m, image: 'm:1', port: 9000}]\n"
        "  canary: {steps: [{weight: 10, pause: 1m}, {weight: 50, pause: 30}]}\n"
    )
    specs = [DeploymentSpec.from_file(tmp_path / name) for name in ("d.json", "d.toml", "d.yml")]
    assert specs[0] == specs[1] == specs[2]
    assert specs[0].steps == (CanaryStep(10, pause=60.0), CanaryStep(50, pause=30.0))


def test_yaml_without_pyyaml_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deployment.yaml"
    path.write_text(ISSUE_EXAMPLE)
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(MissingDependency, match=r"modelship\[yaml\]"):
        DeploymentSpec.from_file(path, variables={"VERSION": "1"})


def test_a_yaml_key_given_twice_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deployment.yaml"
    path.write_text("deployment:\n  replicas: 1\n  replicas: 2\n")
    with pytest.raises(ConfigError, match="line 3: the key 'replicas' is given twice"):
        DeploymentSpec.from_file(path)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("d.yaml", "deployment: [unclosed", "not valid YAML"),
        ("d.json", "{", "not valid JSON"),
        ("d.toml", "deployment =", "not valid TOML"),
        ("d.ini", "", "ends in .yaml"),
    ],
)
def test_unreadable_files_are_config_errors_naming_the_file(
    tmp_path: Path, name: str, content: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match=says) as info:
        DeploymentSpec.from_file(path)
    assert name in str(info.value)


def test_yaml_aliases_that_multiply_a_small_file_are_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\ndeployment: *a7\n")
    with pytest.raises(ConfigError, match="more than 100000 values"):
        DeploymentSpec.from_file(path)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_document_nested_too_deeply_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(ConfigError, match="nested"):
        DeploymentSpec.from_file(path)


def test_an_error_inside_a_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc(replicas=0)))
    with pytest.raises(
        ConfigError,
        match=r"d\.json: deployment\.replicas=0 is not allowed; replicas must be an int in "
        r"\[1, 2147483647\]",
    ):
        DeploymentSpec.from_file(path)


# --- ${VAR} ---------------------------------------------------------------------------------


def test_variables_come_from_the_mapping_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MS_TEST_TAG", "from-env")
    monkeypatch.setenv("MS_TEST_REPO", "registry.local")
    image = "${MS_TEST_REPO}/m:${MS_TEST_TAG}"
    document = doc(containers=[{"name": "m", "image": image, "port": 1}])
    spec = DeploymentSpec.from_dict(document, variables={"MS_TEST_TAG": "given"})
    assert spec.containers[0].image == "registry.local/m:given"


def test_the_environment_is_ignored_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MS_TEST_TAG", "from-env")
    document = doc(containers=[{"name": "m", "image": "m:${MS_TEST_TAG}", "port": 1}])
    assert "${MS_TEST_TAG} is not set" in error(document, environ=False)


def test_an_unfilled_variable_names_itself_and_its_field() -> None:
    document = doc(containers=[{"name": "m", "image": "m:${NO_SUCH_VAR_X}", "port": 1}])
    message = error(document, environ=False)
    assert message.startswith("deployment.containers[0].image: ${NO_SUCH_VAR_X} is not set")


def test_a_default_fills_an_unset_variable_and_dollar_dollar_is_a_dollar() -> None:
    # (An image reference cannot hold a "$": the dollar goes in an env value.)
    document = doc(
        containers=[{"name": "m", "image": "m:${TAG:-latest}", "port": 1, "env": {"PRICE": "$$5"}}]
    )
    spec = DeploymentSpec.from_dict(document, environ=False)
    assert spec.containers[0].image == "m:latest"
    assert spec.containers[0].env["PRICE"] == "$5"


@pytest.mark.parametrize("text", ["${1X}", "${}", "${A B}", "a ${unclosed"])
def test_a_malformed_reference_is_an_error(text: str) -> None:
    with pytest.raises(ConfigError, match="not a variable reference"):
        substitute({"image": text}, {}.get)


@given(st.text().filter(lambda t: "$" not in t))
def test_text_without_a_dollar_is_left_alone(text: str) -> None:
    assert substitute({"k": [text]}, {}.get) == {"k": [text]}


@given(
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
    value=st.text(),
    before=st.text().filter(lambda t: "$" not in t),
)
def test_a_reference_is_replaced_by_its_value_verbatim(name: str, value: str, before: str) -> None:
    assert substitute(before + "${" + name + "}", {name: value}.get) == before + value


# --- semantic checks, each naming its field --------------------------------------------------


def test_a_malformed_quantity_names_its_field() -> None:
    containers = [{"name": "m", "image": "m:1", "resources": {"limits": {"memory": "4 GiB"}}}]
    message = error(doc(containers=containers))
    assert message.startswith(
        "deployment.containers[0].resources.limits.memory: '4 GiB' is not a Kubernetes quantity"
    )


def test_a_request_above_its_limit_is_an_error() -> None:
    resources = {"limits": {"cpu": "1"}, "requests": {"cpu": "1500m"}}
    message = error(doc(containers=[{"name": "m", "image": "m:1", "resources": resources}]))
    assert message.startswith("deployment.containers[0].resources.requests.cpu: 1500m is more")


def test_memory_in_thousandths_of_a_byte_is_an_error() -> None:
    resources = {"limits": {"memory": "500m"}}
    message = error(doc(containers=[{"name": "m", "image": "m:1", "resources": resources}]))
    assert "not a whole number of bytes" in message
    assert "Mi" in message


def test_a_health_probe_without_a_port_gets_the_containers_port_and_a_note() -> None:
    spec = DeploymentSpec.from_dict(doc(healthcheck={"path": "/ready"}))
    assert spec.healthcheck.port == 9000
    assert any(n.startswith("deployment.healthcheck.port: not given") for n in spec.notes)


def test_a_health_probe_with_a_port_keeps_it_without_a_note() -> None:
    spec = DeploymentSpec.from_dict(doc(healthcheck={"path": "/ready", "port": 9100}))
    assert spec.healthcheck.port == 9100
    assert not any("healthcheck" in n for n in spec.notes)


def test_a_container_without_a_port_listens_where_modelship_serve_does() -> None:
    spec = DeploymentSpec.from_dict(doc(containers=[{"name": "m", "image": "m:1"}]))
    assert spec.containers[0].port == 8080
    assert spec.healthcheck.port == 8080
    assert any(n.startswith("deployment.containers[0].port") for n in spec.notes)


def test_the_kubernetes_ports_form_is_read() -> None:
    container = {"name": "m", "image": "m:1", "ports": [{"containerPort": 7000}]}
    assert DeploymentSpec.from_dict(doc(containers=[container])).port == 7000


def test_durations_are_read_from_text() -> None:
    spec = DeploymentSpec.from_dict(doc(healthcheck={"initialDelaySeconds": "1m30s"}))
    assert spec.healthcheck.initial_delay_seconds == 90


@pytest.mark.parametrize(
    ("steps", "says"),
    [
        ([{"weight": 10, "pause": 1}, {"weight": 10, "pause": 1}], "steps[1].weight: 10 does not"),
        ([{"weight": 50, "pause": 1}, {"weight": 20, "pause": 1}], "steps[1].weight: 20 does not"),
        ([{"weight": 10, "pause": 1}, {"weight": 101, "pause": 1}], "from 1 to 100"),
        ([{"weight": 0, "pause": 1}], "from 1 to 100"),
        ([{"weight": 10}], "steps[0].pause: missing"),
        ([{"weight": 10, "pause": "soon"}], "steps[0].pause: 'soon' is not a duration"),
        ([{"weight": 10, "pause": 1, "setWeight": 5}], "steps[0].setWeight: unknown key"),
        ([{"weight": 100, "pause": 1}, {"weight": 50, "pause": 1}], "100 must be the last step"),
        ([], "non-empty list"),
    ],
)
def test_bad_canary_steps_are_errors_naming_the_step(steps: list[Any], says: str) -> None:
    message = error(doc(strategy="canary", canary={"steps": steps}))
    assert message.startswith("deployment.canary.steps")
    assert says in message


def test_a_last_step_at_100_is_the_promotion_and_noted() -> None:
    steps = [{"weight": 20, "pause": "5m"}, {"weight": 100, "pause": 0}]
    spec = DeploymentSpec.from_dict(doc(strategy="canary", canary={"steps": steps}))
    assert spec.steps == (CanaryStep(20, pause=300.0),)
    assert any("weight 100 is the promotion" in n for n in spec.notes)


@given(
    st.lists(st.integers(1, 99), min_size=1, max_size=8, unique=True).map(sorted),
    st.floats(0, 3600),
)
def test_strictly_increasing_weights_below_100_are_accepted(
    weights: list[int], pause: float
) -> None:
    steps = [{"weight": w, "pause": pause} for w in weights]
    spec = DeploymentSpec.from_dict(doc(strategy="canary", canary={"steps": steps}))
    assert [s.weight for s in spec.steps] == weights


@given(st.lists(st.integers(1, 99), min_size=2, max_size=8))
def test_weights_that_ever_fail_to_increase_are_refused(weights: list[int]) -> None:
    steps = [{"weight": w, "pause": 0} for w in weights]
    increasing = all(a < b for a, b in itertools.pairwise(weights))
    if increasing:
        DeploymentSpec.from_dict(doc(strategy="canary", canary={"steps": steps}))
    else:
        assert "does not increase" in error(doc(strategy="canary", canary={"steps": steps}))


def test_a_canary_needs_steps_and_other_strategies_take_none() -> None:
    assert "a canary needs steps" in error(doc(strategy="canary"))
    steps = {"steps": [{"weight": 10, "pause": 0}]}
    assert "the strategy is recreate" in error(doc(strategy="recreate", canary=steps))


def test_an_unknown_strategy_suggests_the_nearest() -> None:
    message = error(doc(strategy="blue_green"))
    assert message.startswith("deployment.strategy: unknown strategy 'blue_green'")
    assert "did you mean 'blue-green'" in message


def test_a_missing_strategy_is_blue_green_and_noted() -> None:
    spec = DeploymentSpec.from_dict(doc())
    assert spec.strategy is Strategy.BLUE_GREEN
    assert "deployment.strategy: not given; using blue-green" in spec.notes


def test_an_unknown_metric_names_its_position_and_the_known_ones() -> None:
    message = error(doc(monitoring={"enabled": True, "metrics": ["model_accuracy", "acc"]}))
    assert message.startswith("deployment.monitoring.metrics[1]: unknown metric 'acc'")
    assert all(name in message for name in KNOWN_METRICS)


def test_an_unknown_key_suggests_the_nearest() -> None:
    message = error(doc(healthchek={"path": "/health"}))
    assert message.startswith("deployment.healthchek: unknown key (did you mean 'healthcheck'?)")


@pytest.mark.parametrize(
    ("document", "starts"),
    [
        ({}, "the document needs a top-level 'deployment' key"),
        ({"deployment": []}, "deployment: must be a mapping"),
        ({"deployment": {}}, "deployment.containers: missing"),
        (doc(containers=[]), "deployment.containers: must be a non-empty list"),
        (doc(containers=[{"name": "m"}]), "deployment.containers[0].image: missing"),
        (
            doc(containers=[{"name": "M_1", "image": "x"}]),
            "deployment.containers[0].name='M_1' is not allowed; name must be a DNS label",
        ),
        (
            doc(containers=[{"name": "m", "image": "a b"}]),
            "deployment.containers[0].image='a b' is not allowed; image must be",
        ),
        (doc(containers=[{"name": "m", "image": "x", "port": 0}]), "deployment.containers[0].port"),
        (
            doc(containers=[{"name": "m", "image": "x"}, {"name": "m", "image": "y"}]),
            "deployment.containers[1].name: 'm' is used twice",
        ),
        (
            doc(replicas="2"),
            "deployment.replicas='2' is not allowed; replicas must be an int in [1, 2147483647]",
        ),
        (
            doc(healthcheck={"path": "health"}),
            "deployment.healthcheck.path='health' is not allowed; path must be a path starting",
        ),
        (
            doc(healthcheck={"periodSeconds": 0}),
            "deployment.healthcheck.periodSeconds=0.0 is not allowed; periodSeconds must be a",
        ),
        (doc(monitoring={"enabled": "yes"}), "deployment.monitoring.enabled"),
    ],
)
def test_schema_errors_start_with_the_field_path(document: dict[str, Any], starts: str) -> None:
    assert error(document).startswith(starts)


# --- records built in Python, and the round trip ----------------------------------------------


def test_records_built_in_python_are_checked_the_same_way() -> None:
    with pytest.raises(ConfigError, match="containers: a deployment needs at least one"):
        DeploymentSpec(containers=[])
    with pytest.raises(ConfigError, match="containers must be a list"):
        DeploymentSpec(containers="m")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"containers\[0\] must be a Container"):
        DeploymentSpec(containers=[{"name": "m"}])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="args must be a list of strings"):
        Container(name="m", image="m:1", args="--allow-nan")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown strategy"):
        DeploymentSpec(containers=[Container(name="m", image="m:1")], strategy="rolling")


def test_to_dict_is_json_and_reads_back_to_an_equal_spec() -> None:
    document = doc(
        strategy="canary",
        canary={"steps": [{"weight": 5, "pause": "30s"}, {"weight": 40, "pause": "10m"}]},
        containers=[
            {
                "name": "model-service",
                "image": "ai-model:2",
                "ports": [{"containerPort": 9000}],
                "resources": {"limits": {"memory": "4Gi", "cpu": 2}, "requests": {"cpu": "500m"}},
                "env": [{"name": "WORKERS", "value": "2"}],
                "args": ["--allow-nan"],
            }
        ],
        healthcheck={"path": "/ready", "timeoutSeconds": 2},
        monitoring={"enabled": True, "metrics": ["error_rate"]},
        replicas=3,
    )
    spec = DeploymentSpec.from_dict(document)
    again = DeploymentSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


@pytest.mark.parametrize(
    ("text", "seconds"), [("250ms", 0.25), ("2h", 7200), ("1.5m", 90), (0, 0), (12.5, 12.5)]
)
def test_durations_in_seconds(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5 m", "m5", "-1s", -1, float("inf"), True, None])
def test_bad_durations_are_config_errors(text: Any) -> None:
    with pytest.raises(ConfigError, match="is not a duration"):
        parse_duration(text)


# --- hostile-review mends ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail", [b"image: ai-mod\xe9l:3\n", b"image: ai-model\x07:3\n", b"image: m:3\n# \x00\n"]
)
def test_bytes_yaml_cannot_read_are_a_config_error_naming_the_file(
    tmp_path: Path, tail: bytes
) -> None:
    # PyYAML's reader refuses them while the loader is made, which was outside the try:
    # a raw yaml.reader.ReaderError (a traceback from the CLI).
    path = tmp_path / "d.yaml"
    path.write_bytes(b"deployment:\n  containers:\n    - name: m\n      " + tail)
    with pytest.raises(ConfigError, match=r"d\.yaml: not valid YAML"):
        DeploymentSpec.from_file(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("replicas", 2**31),  # the API server decodes these as int32
        ("healthcheck.failureThreshold", 2**31),
        ("healthcheck.periodSeconds", 1e12),
        ("healthcheck.initialDelaySeconds", "1000000h"),
        ("canary.steps", [{"weight": 10, "pause": 1e10}]),
    ],
)
def test_counts_and_seconds_beyond_int32_are_refused(field: str, value: Any) -> None:
    document = doc(strategy="canary" if field.startswith("canary") else "blue-green")
    section, _, key = field.partition(".")
    if key:
        document["deployment"].setdefault(section, {})[key] = value
    else:
        document["deployment"][section] = value
    assert "2147483647" in error(document)


def test_a_toml_integer_beyond_int32_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text(
        "[deployment]\nreplicas = 99999999999999999999999\n[[deployment.containers]]\n"
        'name = "m"\nimage = "m:1"\n'
    )
    with pytest.raises(ConfigError, match="replicas"):
        DeploymentSpec.from_file(path)


def test_numpy_numbers_are_kept_as_python_numbers() -> None:
    # They passed the checks, then every writer refused them: the apply body, the dry-run
    # YAML and to_dict's JSON.
    import numpy as np

    spec = DeploymentSpec(
        containers=[Container(name="m", image="m:1", port=np.int32(9000))],
        replicas=np.int64(2),
        healthcheck=HealthCheck(period_seconds=np.float32(5), failure_threshold=np.int16(4)),
        steps=[CanaryStep(np.int64(10), pause=np.float64(30))],
        strategy="canary",
    )
    values = (
        spec.replicas,
        spec.containers[0].port,
        spec.healthcheck.period_seconds,
        spec.healthcheck.failure_threshold,
        spec.steps[0].weight,
        spec.steps[0].pause,
    )
    assert [type(v) for v in values] == [int, int, float, int, int, float]
    assert DeploymentSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_a_default_holding_a_reference_is_refused_not_half_read() -> None:
    # ${A:-${B}} gave 'm:3}' (a stray brace) when A was set, '${B}' left as it was if not.
    document = doc(containers=[{"name": "m", "image": "m:${VERSION:-${DEFAULT}}", "port": 1}])
    with pytest.raises(ConfigError, match="holds a reference"):
        DeploymentSpec.from_dict(document, variables={"VERSION": "3"})


def test_to_dict_keeps_dollars_as_they_are() -> None:
    # to_dict wrote '$' as it was, and from_dict substituted it again: '${HOME}' read from
    # a file as $${HOME} came back as the home folder.
    document = doc(containers=[{"name": "m", "image": "m:1", "port": 1, "env": {"T": "$${HOME}"}}])
    spec = DeploymentSpec.from_dict(document, variables={"HOME": "/root"})
    assert spec.containers[0].env["T"] == "${HOME}"
    built = DeploymentSpec(
        containers=[Container(name="m", image="m:1", port=9000, env={"P": "a$$b$"})],
        healthcheck=HealthCheck(port=9000),
    )
    for original in (spec, built):
        again = DeploymentSpec.from_dict(original.to_dict(), variables={"HOME": "/elsewhere"})
        assert again == original


@pytest.mark.parametrize(
    ("ports", "says"),
    [
        ([{"containerPort": 8080}, {"containerPort": 9090}], "2 ports given"),
        ([{"containerPort": 8080, "protocol": "UDP"}], "speaks HTTP over TCP"),
        (["garbage"], "must be a mapping"),
    ],
)
def test_ports_the_server_cannot_use_are_refused_not_dropped(ports: Any, says: str) -> None:
    document = doc(containers=[{"name": "m", "image": "m:1", "ports": ports}])
    assert says in error(document)


def test_a_port_name_that_is_not_http_is_noted() -> None:
    document = doc(
        containers=[{"name": "m", "image": "m:1", "ports": [{"containerPort": 1, "name": "grpc"}]}]
    )
    notes = DeploymentSpec.from_dict(document).notes
    assert any("'grpc' is rendered as 'http'" in note for note in notes)


def test_substitution_into_aliased_text_is_bounded(tmp_path: Path) -> None:
    # Aliases share one string, but each substitution copies it: 3,000 aliases of a
    # 300 KB text held 860 MiB before the unknown-key error.
    text = "x" * 100_000 + "${V}"
    lines = [f"big: &big '{text}'", "more: [" + ", ".join(["*big"] * 100) + "]"]
    path = tmp_path / "amplify.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="substituting"):
        DeploymentSpec.from_file(path, variables={"V": "1"})


@pytest.mark.parametrize(
    ("resources", "says"),
    [
        ({"limits": {"gpu": 1}}, "not a container resource"),
        ({"limits": {"storage": "1Gi"}}, "not a container resource"),
        ({"limits": {"kubernetes.io/thing": 1}}, "not a container resource"),
        ({"limits": {"nvidia.com/gpu": "0.5"}}, "whole devices"),
        ({"requests": {"nvidia.com/gpu": 1}}, "needs limits.nvidia.com/gpu equal to it"),
        (
            {"limits": {"nvidia.com/gpu": 2}, "requests": {"nvidia.com/gpu": 1}},
            "does not overcommit",
        ),
        (
            {
                "limits": {"hugepages-2Mi": "4Mi", "memory": "1Gi"},
                "requests": {"hugepages-2Mi": "2Mi"},
            },
            "does not overcommit",
        ),
        ({"limits": {"hugepages-2Mi": "4Mi"}}, "cpu or memory"),
        ({"limits": {"hugepages-big": "4Mi", "cpu": 1}}, "huge page size"),
    ],
)
def test_resources_the_api_server_refuses_are_refused(resources: Any, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Resources(**resources)


def test_resources_the_api_server_accepts_are_accepted() -> None:
    Resources(limits={"nvidia.com/gpu": 1})  # the request follows the limit
    Resources(limits={"nvidia.com/gpu": 2}, requests={"nvidia.com/gpu": 2, "cpu": "500m"})
    Resources(limits={"hugepages-1Gi": "2Gi", "memory": "4Gi"}, requests={"hugepages-1Gi": "2Gi"})
    Resources(limits={"ephemeral-storage": "10Gi", "cpu": "0.0001"})
