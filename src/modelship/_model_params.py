"""A model version's ``params``: plain JSON, converted where that loses nothing.

``register(params=...)`` takes what training code has at hand. Two things JSON has no
type for are converted, because their JSON form reads back as the same value:

- NumPy scalars (``np.int64(3)``, ``np.float32(0.5)``, ``np.bool_(True)``) become Python
  ``int``, ``float`` and ``bool``;
- tuples become lists (``hidden_layer_sizes=(100,)`` is stored as ``[100]``).

Everything else that is not plain JSON (NaN or infinity, a non-string key, an array, an
estimator, a function) is refused with a :class:`~modelship.ConfigError` naming the
full path of the value (``params.steps[1][1]``) and its type. For an estimator's
``get_params()``, which holds such values routinely, :func:`params_from_estimator` says
how each is written instead.

This module is a leaf: it imports nothing from modelship but the exception tree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelship.errors import ConfigError

__all__ = ["json_params", "params_from_estimator"]

MAX_DEPTH = 64
"""Nesting deeper than this is refused (a structure that contains itself never ends)."""
_PLAIN = "str, int, float, bool, None, and lists and string-keyed dicts of them"


def _child(path: str, key: object) -> str:
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def _scalar(value: object) -> object:
    """A NumPy scalar as the Python scalar it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _convert(value: Any, path: str, depth: int, lenient: bool) -> Any:
    if depth > MAX_DEPTH:
        raise ConfigError(f"{path} is nested more than {MAX_DEPTH} levels deep; flatten it")
    value = _scalar(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return _plain_scalar(value, path, lenient)
    if isinstance(value, Mapping):
        return _convert_mapping(value, path, depth, lenient)
    if isinstance(value, (list, tuple)) or (lenient and isinstance(value, np.ndarray)):
        return [_convert(item, f"{path}[{i}]", depth + 1, lenient) for i, item in enumerate(value)]
    if lenient:
        return _class_path(value if isinstance(value, type) or callable(value) else type(value))
    raise ConfigError(
        f"{path} is a {type(value).__module__}.{type(value).__qualname__}, which JSON cannot "
        f"store; params take {_PLAIN} (NumPy scalars and tuples are converted). For an "
        "estimator's get_params(), pass modelship.registry.params_from_estimator(estimator)"
    )


def _plain_scalar(value: str | bool | int | float | None, path: str, lenient: bool) -> Any:
    """A JSON scalar as its exact base type (an IntEnum as its number, a str subclass as str)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    if math.isfinite(value):
        return float(value)
    if lenient:
        return str(value)  # "nan", "inf", "-inf": float() reads each back
    raise ConfigError(
        f"{path} is {value}, which JSON cannot store; store it as a string "
        f"({str(value)!r}) or leave it out"
    )


def _convert_mapping(
    value: Mapping[Any, Any], path: str, depth: int, lenient: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key
        if lenient and not isinstance(key, str):
            name = str(_scalar(key))  # class_weight={0: 1, 1: 5}: "0", "1"
            if name in value or name in out:
                raise ConfigError(f"{path} has both the key {name!r} and the number {name}")
        if not isinstance(name, str):
            raise ConfigError(
                f"{path} has the key {key!r} ({type(key).__name__}); JSON keys are "
                "strings, so it would come back different. Use string keys"
            )
        out[name] = _convert(item, _child(path, name), depth + 1, lenient)
    return out


def _class_path(obj: Any) -> str:
    """``module.QualName`` of a class or function, else of its type.

    A NumPy ufunc has no module on NumPy 1.26, nor, on any NumPy, one from another
    package (``scipy.special.expit``): it is found by name in NumPy, else written as its
    ``repr``, ``<ufunc 'expit'>``, the same on every NumPy.
    """
    if isinstance(obj, np.ufunc):
        name = obj.__name__
        if getattr(np, name, None) is obj:
            return f"numpy.{name}"
        return repr(obj)
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(module, str) and isinstance(name, str):
        return f"{module}.{name}"
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def json_params(value: Mapping[str, Any] | None, what: str = "params") -> dict[str, Any]:
    """``value`` as plain JSON: NumPy scalars to Python, tuples to lists, else refused.

    Raises
    ------
    ConfigError
        Naming the path of the first value JSON cannot store (``params.layers[2]``) and
        its type, or a non-string key.

    Examples
    --------
    >>> import numpy as np
    >>> json_params({"depth": np.int64(6), "sizes": (100, 50), "early": np.bool_(True)})
    {'depth': 6, 'sizes': [100, 50], 'early': True}
    >>> json_params({"model": {"alpha": float("nan")}})
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: params.model.alpha is nan, which JSON cannot store; ...
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{what} must be a mapping of names to values, got {type(value).__name__}"
        )
    converted: dict[str, Any] = _convert(value, what, 0, lenient=False)
    return converted


def params_from_estimator(estimator: Any, *, deep: bool = True) -> dict[str, Any]:
    """An estimator's ``get_params()`` as JSON-safe params for ``register(params=...)``.

    Works on anything with scikit-learn's ``get_params(deep=...)`` (pipelines, search
    objects, third-party estimators). Each value is written as:

    - plain JSON values as they are; NumPy scalars as Python numbers, tuples and NumPy
      arrays as lists;
    - non-string keys (``class_weight={0: 1, 1: 5}``) as strings (``"0"``, ``"1"``);
    - NaN and infinities as the strings ``"nan"``, ``"inf"``, ``"-inf"`` (``float()``
      reads each back), so ``SimpleImputer(missing_values=np.nan)`` can be stored;
    - an estimator, a class, a function or any other object as its class path
      (``"sklearn.linear_model._logistic.LogisticRegression"``); with ``deep=True`` (the
      default) a nested estimator's own parameters follow under ``name__param`` keys, as
      ``get_params`` gives them.

    Raises
    ------
    ConfigError
        If ``estimator`` has no ``get_params``, or a mapping has both a number key and its
        string (``1`` and ``"1"``).

    Examples
    --------
    >>> import numpy as np
    >>> class Scaler:
    ...     def get_params(self, deep=True):
    ...         return {"with_mean": np.bool_(True), "fill": np.nan, "range": (0, 1)}
    >>> class Model:
    ...     def get_params(self, deep=True):
    ...         out = {"scaler": Scaler(), "alpha": np.float64(0.5), "loss": abs}
    ...         if deep:
    ...             out.update({"scaler__" + k: v for k, v in Scaler().get_params().items()})
    ...         return out
    >>> params_from_estimator(Model())
    {'scaler': '...Scaler', 'alpha': 0.5, 'loss': 'builtins.abs',
     'scaler__with_mean': True, 'scaler__fill': 'nan', 'scaler__range': [0, 1]}
    """
    get_params = getattr(estimator, "get_params", None)
    if not callable(get_params):
        raise ConfigError(
            f"{type(estimator).__name__} has no get_params(); pass an estimator with "
            "scikit-learn's get_params, or build the params dict yourself"
        )
    params = get_params(deep=deep)
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"{type(estimator).__name__}.get_params() returned {type(params).__name__}, "
            "not a mapping"
        )
    converted: dict[str, Any] = _convert(params, "params", 0, lenient=True)
    return converted
