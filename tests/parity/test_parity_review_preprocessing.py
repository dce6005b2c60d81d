"""What a behaviour record or a fingerprint cannot hold is refused when it is made, with
ConfigError, never left to fail later."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelship.errors import ConfigError
from modelship.parity import BehaviourRecord, fingerprint_preprocessing, record_behaviour


def same(table: Any) -> Any:
    return {"out": np.array([1.0, 2.0])}


def test_record_behaviour_refuses_a_ragged_canary() -> None:
    with pytest.raises(ConfigError, match="different lengths"):
        record_behaviour(same, {"a": np.array([1.0, 2.0]), "b": np.array([1.0])})


def test_record_behaviour_refuses_a_canary_that_max_rows_would_even_out() -> None:
    with pytest.raises(ConfigError, match="different lengths"):
        record_behaviour(same, {"a": np.zeros(5), "b": np.zeros(3)}, max_rows=2)


def test_record_behaviour_refuses_ragged_outputs() -> None:
    def ragged(table: Any) -> Any:
        return {"x": np.zeros(2), "y": np.zeros(1)}

    with pytest.raises(ConfigError, match="different lengths"):
        record_behaviour(ragged, {"a": np.zeros(2)})


def test_a_ragged_record_cannot_be_built() -> None:
    with pytest.raises(ConfigError, match="different lengths"):
        BehaviourRecord(
            kind="mapping",
            inputs={"a": np.zeros(2), "b": np.zeros(1)},
            outputs={"out": np.zeros(2)},
        )


class Params:
    def __init__(self, params: Any) -> None:
        self.params = params

    def get_params(self, deep: bool = False) -> Any:
        return self.params


@pytest.mark.parametrize("params", [{"alpha": 1.0, 0: "positional"}, ["alpha"], None])
def test_get_params_that_is_not_a_mapping_of_names_is_refused(params: Any) -> None:
    with pytest.raises(ConfigError, match="get_params"):
        fingerprint_preprocessing(Params(params))


def test_a_nested_estimator_with_bad_params_is_refused() -> None:
    with pytest.raises(ConfigError, match="get_params"):
        fingerprint_preprocessing(Params({"step": Params({1: 2, "a": 3})}))


def test_a_mapping_with_two_keys_written_alike_is_refused() -> None:
    with pytest.raises(ConfigError, match="distinct keys"):
        fingerprint_preprocessing({0: "a", "0": "b"})
