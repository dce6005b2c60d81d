"""An integer tensor's float literals: what float64 cannot hold exactly is refused, not
rounded (the JSON parser has already made them float64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _inprocess_serve import wait_ready as _wait_ready

from modelship.deploy.serve import ServeConfig, create_app


@pytest.fixture(scope="module")
def served() -> Any:
    from starlette.testclient import TestClient

    seen: list[np.ndarray] = []

    def model(x: np.ndarray) -> np.ndarray:
        seen.append(x.copy())
        return x[:, 0].copy()

    app = create_app(model, name="m", version="1", config=ServeConfig(warmup=[[0.0, 0.0]]))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield _wait_ready(client), seen


def _post(client: Any, datatype: str, literal: str) -> Any:
    tensor = f'{{"name":"x","shape":[1,2],"datatype":"{datatype}","data":[{literal}, 1]}}'
    body = f'{{"inputs":[{tensor}]}}'
    return client.post(
        "/v2/models/m/infer", content=body, headers={"content-type": "application/json"}
    )


@pytest.mark.parametrize(
    ("datatype", "literal"),
    [
        ("INT64", "9007199254740993.0"),
        ("INT64", "9007199254740992.5"),
        ("INT64", "9.007199254740993e15"),
        ("INT64", "9007199254740992.0"),
        ("INT64", "-9007199254740993.0"),
        ("INT64", "18014398509481985.0"),
        ("UINT64", "1e19"),
    ],
)
def test_an_integer_tensors_float_literal_of_2_pow_53_or_more_is_refused(
    served: Any, datatype: str, literal: str
) -> None:
    client, seen = served
    before = len(seen)
    answer = _post(client, datatype, literal)
    assert answer.status_code == 400, answer.text
    assert "integer literals" in answer.json()["error"]
    assert len(seen) == before


@pytest.mark.parametrize(
    ("literal", "value"), [("9007199254740991.0", 2**53 - 1), ("3e2", 300), ("-4.0", -4)]
)
def test_an_integer_tensors_float_literal_below_2_pow_53_reaches_the_model(
    served: Any, literal: str, value: int
) -> None:
    client, seen = served
    answer = _post(client, "INT64", literal)
    assert answer.status_code == 200, answer.text
    assert int(seen[-1][0, 0]) == value


def test_a_fraction_below_float64_precision_reads_as_the_whole_number(served: Any) -> None:
    client, seen = served
    answer = _post(client, "INT64", "1.0000000000000001")
    assert answer.status_code == 200, answer.text
    assert seen[-1][0, 0] == 1.0
