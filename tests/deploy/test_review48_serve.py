"""Review 48 of the model server.

* A wrong cell past the first 10,000 rows (or cells of flat v2 data) got "instances is
  not a list of rows of numbers", which is false: the 400 names the cell wherever it is
  (``instances[10000][1]``), and rows of different lengths past them are said to be so.
* A model answering something that is not an array of one dimension or more (``None``,
  a dict, text, a 0-d array) got a 500 naming the private ``_BadAnswer`` and a shape of
  ``[]`` that reads as an empty list: it says what was returned, by its type.
* The HELP text of ``modelship_prediction_log_dropped_rows`` says each reason rows are
  counted there (a full buffer, an answer that cannot be written as JSON, shutdown)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from modelship.deploy.serve import ModelServer, ServeConfig

ROWS = [[1.0, 2.0, 3.0]] * 10_000


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """``serve(model, **config)``: a client of a ready server of ``model``."""
    from starlette.testclient import TestClient

    servers: list[ModelServer] = []

    def _serve(model: Any, **config: Any) -> Any:
        config.setdefault("warmup", False)
        server = ModelServer(lambda: model, name="m", version="1", config=ServeConfig(**config))
        servers.append(server)
        server.start()
        assert server.ready, server.error
        return TestClient(server.app, raise_server_exceptions=False)

    yield _serve
    for server in servers:
        server.close()


def _sum(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).sum(axis=1)


def _v2(client: Any, data: list[Any], shape: list[int], datatype: str = "FP64") -> Any:
    tensor = {"name": "x", "shape": shape, "datatype": datatype, "data": data}
    return client.post("/v2/models/m/infer", json={"inputs": [tensor]})


def _error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    error: str = answer.json()["error"]
    return error


@pytest.mark.parametrize(
    ("cell", "says"), [("2", "str '2', not a number"), (True, "bool True, not a number")]
)
def test_a_wrong_cell_past_ten_thousand_rows_is_named(
    serve: Callable[..., Any], cell: Any, says: str
) -> None:
    client = serve(_sum)
    answer = client.post("/predict", json={"instances": [*ROWS, [1.0, cell, 3.0]]})
    assert _error(answer, 400) == f"instances[10000][1] is {says}"


def test_a_wrong_cell_after_an_empty_row_past_ten_thousand_is_named_by_its_row() -> None:
    from modelship.deploy.serve._app import _shape_problem

    rows: list[Any] = [*ROWS, [], [1.0, None, "x"]]
    assert _shape_problem(rows, "instances") == "instances[10001][2] is str 'x', not a number"


def test_rows_of_different_lengths_past_ten_thousand_are_said_to_be(
    serve: Callable[..., Any],
) -> None:
    client = serve(_sum)
    answer = client.post("/predict", json={"instances": [*ROWS, [1.0, 2.0]]})
    assert _error(answer, 400) == ("instances rows have different lengths ([2, 3]); all must match")


@pytest.mark.parametrize(
    ("cell", "says"), [(True, "bool True, not FP64"), ("1.5", "str '1.5', not FP64")]
)
def test_a_wrong_cell_of_flat_v2_data_past_ten_thousand_is_named(
    serve: Callable[..., Any], cell: Any, says: str
) -> None:
    client = serve(_sum)
    data: list[Any] = [1.0, 2.0, 3.0] * 3_334
    data[10_001] = cell
    assert _error(_v2(client, data, [3_334, 3]), 400) == f"data[10001] is {says}"


def test_a_number_among_booleans_past_ten_thousand_is_named(serve: Callable[..., Any]) -> None:
    client = serve(_sum)
    data: list[Any] = [True, False, True] * 3_334
    data[10_001] = 1
    answer = _v2(client, data, [3_334, 3], "BOOL")
    assert _error(answer, 400) == "data[10001] is int 1, not BOOL"


class _Answers:
    """A model answering ``answer`` whatever it is given."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def predict(self, x: np.ndarray) -> Any:
        return self.answer


@pytest.mark.parametrize(
    ("answer", "what"),
    [
        (None, "a NoneType"),
        ({"secret-key": 12345}, "a dict"),
        ("private text", "a str"),
        (np.float64(7.25), "a float64"),
        (np.array(7.25), "a 0-dimensional array"),
        (np.ma.masked_array(7.25), "a 0-dimensional array"),
    ],
)
def test_an_answer_that_is_no_array_of_rows_is_said_by_its_type(
    serve: Callable[..., Any], answer: Any, what: str
) -> None:
    client = serve(_Answers(answer))
    answers = [
        client.post("/predict", json={"instances": [[1.0, 2.0]]}),
        _v2(client, [1.0, 2.0], [1, 2]),
    ]
    for response in answers:
        error = _error(response, 500)
        assert error == (
            f"the model failed: the model's predict returned {what} for 1 rows; it must "
            "return an array of one per row"
        )
        for hidden in ("_BadAnswer", "[]", "secret", "12345", "private", "7.25"):
            assert hidden not in error


def test_an_empty_answer_is_said_to_hold_no_predictions(serve: Callable[..., Any]) -> None:
    client = serve(_Answers(np.zeros(0)))
    error = _error(client.post("/predict", json={"instances": [[1.0, 2.0]]}), 500)
    assert error == (
        "the model failed: the model's predict returned [0] predictions for 1 rows; it must "
        "return one per row"
    )


def test_a_warm_up_answered_none_says_so() -> None:
    server = ModelServer(
        lambda: _Answers(None), name="m", version="1", config=ServeConfig(warmup=[[0.0]])
    )
    server.start()
    try:
        assert not server.ready
        said = "returned a NoneType for 1 rows; it must return an array of one per row"
        assert said in str(server.error)
    finally:
        server.close()


def test_the_dropped_rows_help_text_gives_every_reason() -> None:
    from prometheus_client import generate_latest

    from modelship.deploy.serve._metrics import ServerMetrics

    text = generate_latest(ServerMetrics("m", "1").registry).decode()
    (help_line,) = [
        line
        for line in text.splitlines()
        if line.startswith("# HELP modelship_prediction_log_dropped_rows_total ")
    ]
    for reason in ("buffer was full", "written as JSON", "shutdown"):
        assert reason in help_line
