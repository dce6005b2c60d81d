"""Multiple-testing adjustment of a family of p-values, and the names of the methods.

:data:`P_VALUE_METHODS` is the one list of adjustment names: every check that takes a
``correction`` and the CLI's ``--correction`` choices read it from here.
"""

from __future__ import annotations

import typing
from typing import Literal

import numpy as np
import numpy.typing as npt

from modelship._params import Options, validate_params
from modelship.checks.stats._columns import FloatArray, float_values
from modelship.errors import CheckInputError

__all__ = ["P_VALUE_METHODS", "PValueMethod", "adjust_p_values"]

PValueMethod = Literal["bh", "holm", "bonferroni", "none"]
#: The p-value adjustments :func:`adjust_p_values` knows, in the order documented.
P_VALUE_METHODS: tuple[str, ...] = typing.get_args(PValueMethod)


@validate_params(method=Options(P_VALUE_METHODS))
def adjust_p_values(p: npt.ArrayLike, method: PValueMethod) -> FloatArray:
    """Adjust a family of p-values for multiple testing.

    ``"bh"`` is Benjamini-Hochberg (controls the false discovery rate; equals
    ``scipy.stats.false_discovery_control(p, method="bh")``), ``"holm"`` is Holm's
    step-down and ``"bonferroni"`` multiplies by the family size (both control the
    family-wise error rate), ``"none"`` returns the p-values unchanged. Results are at
    most 1 and keep the order of the raw p-values. NaN entries stay NaN and do not count
    in the family size.

    Parameters
    ----------
    p : array_like
        P-values in [0, 1] (or NaN), any shape.
    method : {"bh", "holm", "bonferroni", "none"}
        The adjustment.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, float64, same shape as ``p``.

    Raises
    ------
    ConfigError
        If ``method`` is not one of the four names.
    CheckInputError
        If a p-value is outside [0, 1].

    Examples
    --------
    >>> adjust_p_values([0.01, 0.04, 0.03, float("nan")], "bh")
    array([0.03, 0.04, 0.04,  nan])
    >>> adjust_p_values([0.01, 0.04, 0.03], "holm")
    array([0.03, 0.06, 0.06])
    """
    values = float_values(p, "p", copy=True)  # a copy: the result is written into it
    flat = values.reshape(-1)
    present = np.flatnonzero(~np.isnan(flat))
    raw = flat[present]
    if bool(np.any((raw < 0) | (raw > 1))):
        raise CheckInputError("p-values must lie in [0, 1] (or be NaN)")
    size = raw.size
    if size == 0 or method == "none":
        return values
    if method == "bonferroni":
        flat[present] = np.minimum(raw * size, 1.0)
        return values
    order = np.argsort(raw, kind="stable")
    ranked = raw[order]
    if method == "bh":
        scaled = ranked * size / np.arange(1, size + 1)
        adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    else:  # holm
        scaled = ranked * np.arange(size, 0, -1)
        adjusted = np.maximum.accumulate(scaled)
    flat[present[order]] = np.minimum(adjusted, 1.0)
    return values
