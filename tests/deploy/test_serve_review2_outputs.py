"""The outputs a v2 request naming none gets (``v2_default_outputs``), and answers that
are valid tensors holding the model's values: exact big integers, no missing values, no
booleans read as numbers."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import serving

from modelship.deploy.serve import ModelServer, ServeConfig
from modelship.deploy.serve._cli import add_arguments, config_from_args
from modelship.errors import ConfigError


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    yield from serving()


class _Classifier:
    """Counts its calls of each method."""

    def __init__(self) -> None:
        self.calls = {"predict": 0, "predict_proba": 0}

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.calls["predict"] += 1
        return (x[:, 0] > 0).astype(np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.calls["predict_proba"] += 1
        return np.c_[np.zeros(len(x)), np.ones(len(x))]


def _infer(client: Any, **extra: Any) -> Any:
    tensor = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 2.0]}
    return client.post("/v2/models/m/infer", json={"inputs": [tensor], **extra})


# --- v2_default_outputs ----------------------------------------------------------------


def test_v2_default_outputs_answers_a_request_naming_none_with_only_those(
    serve: Callable[..., Any],
) -> None:
    model = _Classifier()
    client = serve(model, v2_default_outputs=["predict"])
    before = dict(model.calls)
    answer = _infer(client)
    assert answer.status_code == 200, answer.text
    assert [o["name"] for o in answer.json()["outputs"]] == ["predict"]
    assert model.calls["predict_proba"] == before["predict_proba"]


def test_v2_default_outputs_leaves_a_request_naming_its_outputs_alone(
    serve: Callable[..., Any],
) -> None:
    client = serve(_Classifier(), v2_default_outputs=["predict"])
    answer = _infer(client, outputs=[{"name": "predict_proba"}])
    assert [o["name"] for o in answer.json()["outputs"]] == ["predict_proba"]


def test_without_v2_default_outputs_a_request_naming_none_gets_every_output(
    serve: Callable[..., Any],
) -> None:
    answer = _infer(serve(_Classifier()))
    assert [o["name"] for o in answer.json()["outputs"]] == ["predict", "predict_proba"]


@pytest.mark.parametrize("names", [["bogus"], [], "predict", ["predict", "predict"]])
def test_a_bad_v2_default_outputs_is_a_config_error(names: Any) -> None:
    with pytest.raises(ConfigError, match="v2_default_outputs"):
        ServeConfig(v2_default_outputs=names)


def test_v2_default_outputs_naming_a_method_the_model_lacks_fails_the_start() -> None:
    failures: list[BaseException] = []
    server = ModelServer(
        lambda: lambda x: x[:, 0],
        name="m",
        version="1",
        config=ServeConfig(warmup=[[0.0]], v2_default_outputs=["predict_proba"]),
        on_failure=failures.append,
    )
    server.start()
    assert not server.ready
    assert isinstance(failures[0], ConfigError)
    assert "predict_proba" in str(failures[0])


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["./models", "m", *argv])


def test_the_cli_reads_v2_default_outputs_as_comma_separated_names() -> None:
    config = config_from_args(_args("--v2-default-outputs", "predict,predict_proba"))
    assert config.v2_default_outputs == ("predict", "predict_proba")
    assert config_from_args(_args()).v2_default_outputs is None


def test_the_cli_refuses_an_unknown_v2_default_output() -> None:
    with pytest.raises(ConfigError, match="'bogus'"):
        config_from_args(_args("--v2-default-outputs", "predict,bogus"))


# --- object answers keep their values ----------------------------------------------------


def _answered(serve: Callable[..., Any], cells: list[Any]) -> Any:
    client = serve(lambda x: np.array(cells, dtype=object)[: len(x)], warmup=False)
    tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}
    return client, client.post("/v2/models/m/infer", json={"inputs": [tensor]})


@pytest.mark.parametrize(
    ("cells", "datatype", "data"),
    [
        ([2**63 + 1, 1], "UINT64", [2**63 + 1, 1]),
        ([2**64 - 1, 0], "UINT64", [2**64 - 1, 0]),
        ([-(2**63), 2**63 - 1], "INT64", [-(2**63), 2**63 - 1]),
        ([2**70, 1], "BYTES", [str(2**70), "1"]),
        ([-(2**63) - 1, 1], "BYTES", [str(-(2**63) - 1), "1"]),
        ([2**53 + 1, 1.5], "BYTES", [str(2**53 + 1), "1.5"]),
        ([2**53, 1.5], "FP64", [float(2**53), 1.5]),
        ([True, 2], "BYTES", ["True", "2"]),
        ([np.bool_(True), 2], "BYTES", ["True", "2"]),
        ([True, np.bool_(False)], "BOOL", [True, False]),
        ([np.int64(3), 4], "INT64", [3, 4]),
    ],
)
def test_an_object_answer_is_a_tensor_holding_its_values_unchanged(
    serve: Callable[..., Any], cells: list[Any], datatype: str, data: list[Any]
) -> None:
    _, got = _answered(serve, cells)
    assert got.status_code == 200, got.text
    (output,) = got.json()["outputs"]
    assert (output["datatype"], output["data"]) == (datatype, data)


@pytest.mark.parametrize("cells", [[1, None], ["a", None], [None, None]])
def test_a_missing_value_in_an_answer_is_a_500_on_v2_and_null_on_predict(
    serve: Callable[..., Any], cells: list[Any]
) -> None:
    client, got = _answered(serve, cells)
    assert got.status_code == 500, got.text
    assert "missing value" in got.json()["error"]
    answer = client.post("/predict", json={"instances": [[1, 2], [3, 4]]})
    assert answer.json()["predictions"][1] is None
