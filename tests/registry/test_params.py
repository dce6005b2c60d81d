"""Version params: NumPy scalars and tuples converted, the rest refused by path, and
``params_from_estimator`` for scikit-learn's ``get_params()``."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship.registry import params_from_estimator
from modelship.registry._integrity import MAX_DOCUMENT
from modelship.testing import HookStore, MemoryStore


@pytest.fixture
def reg() -> ms.Registry:
    return ms.open_registry("memory://params-tests")


def _register(reg: ms.Registry, params: Any) -> ms.ModelVersion:
    return reg.register(model_name="m", model=b"w", serializer="bytes", params=params)


def test_numpy_scalars_are_stored_as_python_numbers(reg: ms.Registry) -> None:
    mv = _register(
        reg, {"n": np.int64(3), "lr": np.float32(0.5), "on": np.bool_(True), "s": np.str_("a")}
    )
    assert mv.params == {"n": 3, "lr": 0.5, "on": True, "s": "a"}
    assert [type(v) for v in mv.params.values()] == [int, float, bool, str]


def test_tuples_are_stored_as_lists(reg: ms.Registry) -> None:
    mv = _register(reg, {"hidden_layer_sizes": (100, (1, 2))})
    assert reg.get("m", mv.version).params == {"hidden_layer_sizes": [100, [1, 2]]}


def test_a_refused_value_is_named_by_its_full_path_and_type(reg: ms.Registry) -> None:
    with pytest.raises(ms.ConfigError, match=r"params\.model\.steps\[1\] is a builtins\.object"):
        _register(reg, {"model": {"steps": ["a", object()]}})


def test_nan_is_refused_by_path(reg: ms.Registry) -> None:
    with pytest.raises(ms.ConfigError, match=r"params\.alpha is nan"):
        _register(reg, {"alpha": np.float64("nan")})


def test_a_key_that_is_not_an_identifier_is_quoted_in_the_path(reg: ms.Registry) -> None:
    with pytest.raises(ms.ConfigError, match=r"params\['learning rate'\] is a numpy\.ndarray"):
        _register(reg, {"learning rate": np.zeros(2)})


def test_a_non_string_key_is_refused_by_path(reg: ms.Registry) -> None:
    with pytest.raises(ms.ConfigError, match=r"params\.class_weight has the key 1 \(int\)"):
        _register(reg, {"class_weight": {1: 5}})


def test_the_refusal_points_to_params_from_estimator(reg: ms.Registry) -> None:
    with pytest.raises(ms.ConfigError, match="params_from_estimator"):
        _register(reg, {"f": len})


def test_a_structure_that_contains_itself_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ms.ConfigError, match="nested more than"):
        ms.ModelVersion.from_dict({**_MANIFEST, "params": {"loop": loop}})


def _manifest() -> dict[str, Any]:
    mv = ms.open_registry("memory://params-manifest").register(
        model_name="m", model=b"w", serializer="bytes"
    )
    return mv.to_dict()


_MANIFEST = _manifest()

_plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


def _numpyfy(value: Any) -> Any:
    """The same value as training code might hold it: tuples and NumPy scalars."""
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    if isinstance(value, list):
        return tuple(_numpyfy(v) for v in value)
    if isinstance(value, dict):
        return {k: _numpyfy(v) for k, v in value.items()}
    return value


@given(st.dictionaries(st.text(), _plain, max_size=4))
def test_converted_params_equal_the_plain_value_and_survive_json(params: dict[str, Any]) -> None:
    mv = ms.ModelVersion.from_dict({**_MANIFEST, "params": _numpyfy(params)})
    assert mv.params == params
    assert json.loads(json.dumps(mv.params, allow_nan=False)) == params
    assert ms.ModelVersion.from_json(mv.to_json()) == mv


# --- params_from_estimator -------------------------------------------------------------


def test_mlp_classifier_params_can_be_registered(reg: ms.Registry) -> None:
    from sklearn.neural_network import MLPClassifier

    params = params_from_estimator(MLPClassifier(hidden_layer_sizes=(np.int64(10),)))
    mv = _register(reg, params)
    assert mv.params["hidden_layer_sizes"] == [10]


def test_a_pipeline_stores_nested_estimators_by_class_path(reg: ms.Registry) -> None:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(SimpleImputer(), LogisticRegression(C=np.float64(0.5)))
    mv = _register(reg, params_from_estimator(pipe))
    steps = mv.params["steps"]
    assert steps[1] == ["logisticregression", "sklearn.linear_model._logistic.LogisticRegression"]
    assert mv.params["logisticregression__C"] == 0.5
    assert mv.params["simpleimputer__missing_values"] == "nan"
    assert math.isnan(float(mv.params["simpleimputer__missing_values"]))


def test_deep_false_leaves_out_the_nested_parameters() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    params = params_from_estimator(make_pipeline(LogisticRegression()), deep=False)
    assert not any("__" in key for key in params)


def test_functions_and_number_keys_become_strings() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    assert params_from_estimator(FunctionTransformer(np.log1p))["func"] == "numpy.log1p"
    weights = params_from_estimator(LogisticRegression(class_weight={0: 1, 1: 5}))
    assert weights["class_weight"] == {"0": 1, "1": 5}


def test_a_ufunc_is_written_the_same_on_every_numpy() -> None:
    # NumPy 1.26's ufuncs have no __module__: np.log1p was written "numpy.ufunc" there,
    # and SciPy's ufuncs are so on NumPy 2 as well.
    from scipy.special import expit
    from sklearn.preprocessing import FunctionTransformer

    assert params_from_estimator(FunctionTransformer(expit))["func"] == "<ufunc 'expit'>"
    assert params_from_estimator(FunctionTransformer(np.add))["func"] == "numpy.add"


def test_params_from_estimator_refuses_an_object_without_get_params() -> None:
    with pytest.raises(ms.ConfigError, match="has no get_params"):
        params_from_estimator(object())


@pytest.mark.parametrize("field", ["metrics", "params"])
def test_a_value_the_manifest_cannot_store_is_refused_before_anything_is_written(
    field: str,
) -> None:
    created: list[str] = []
    reg = ms.Registry(HookStore(MemoryStore(), before_create=created.append))
    with pytest.raises(ms.ConfigError, match=f"^{field} of m cannot be stored in its manifest"):
        reg.register(model_name="m", model=b"w", serializer="bytes", **{field: {"n": 10**5000}})
    assert created == []
    assert reg.register(model_name="m", model=b"w", serializer="bytes").version == "1"


def test_a_manifest_larger_than_readers_accept_is_refused_before_anything_is_written() -> None:
    created: list[str] = []
    reg = ms.Registry(HookStore(MemoryStore(), before_create=created.append))
    huge = {"notes": "x" * MAX_DOCUMENT}  # one param: the manifest would pass 64 MiB
    with pytest.raises(ms.ConfigError, match="reads no document larger than"):
        reg.register(model_name="m", model=b"w", serializer="bytes", params=huge)
    assert created == []
    near = {"notes": "x" * (MAX_DOCUMENT - 2**20)}  # within the bound: stored and read back
    mv = reg.register(model_name="m", model=b"w", serializer="bytes", params=near)
    assert mv.version == "1"
    assert reg.get("m", "1").params == near
