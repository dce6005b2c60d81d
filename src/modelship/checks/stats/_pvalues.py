"""Multiple-testing adjustment of a family of p-values, and the names of the methods.

:data:`P_VALUE_METHODS` is the one list of adjustment names: every check that takes a
``correction`` and the CLI's ``--correction`` choices read it from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from modelship._choices import P_VALUE_METHODS, PValueMethod
from modelship._params import Options, validate_params
from modelship.checks.stats._columns import FloatArray, float_values
from modelship.errors import CheckInputError

__all__ = ["P_VALUE_METHODS", "PValueMethod", "adjust_p_values", "adjusted_list"]


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


#: The largest family :func:`adjusted_list` corrects in Python; a larger one goes to NumPy.
_SMALL_FAMILY = 256


def adjusted_list(p: Sequence[float], method: PValueMethod) -> list[float]:
    """:func:`adjust_p_values` of a short list of p-values, as a list of floats.

    A drift check corrects a family of a few p-values (one per column) three times a run:
    NumPy's fixed cost per call (and on the first call in a process, the set-up of the
    sorts and accumulations it has not used yet) is most of the time then. For a family of
    Python floats in (0, 1], at most a few hundred, the same operations are done on
    floats one by one: the same IEEE products, quotients, minima and maxima in the same
    order, so the same numbers bit for bit. Anything else (NaN, 0 with its sign, a value
    out of range, a longer family, ``method`` not one of the four) goes to
    :func:`adjust_p_values`, which decides as it always has.
    """
    values = list(p)
    size = len(values)
    if (
        size > _SMALL_FAMILY
        or method not in P_VALUE_METHODS
        or not all(type(v) is float and 0.0 < v <= 1.0 for v in values)
    ):
        return [float(v) for v in adjust_p_values(np.asarray(values, dtype=np.float64), method)]
    if method == "none":
        return values
    if method == "bonferroni":
        return [min(v * size, 1.0) for v in values]
    # The ranks of a stable sort, as np.argsort(kind="stable").
    order = sorted(range(size), key=values.__getitem__)
    out = [0.0] * size
    if method == "bh":
        # scaled[k] = p_(k) * size / (k + 1); a running minimum from the largest down.
        running = math.inf
        for rank in range(size - 1, -1, -1):
            index = order[rank]
            running = min(running, values[index] * size / (rank + 1))
            out[index] = min(running, 1.0)
    else:  # holm: scaled[k] = p_(k) * (size - k); a running maximum from the smallest up
        running = -math.inf
        for rank, index in enumerate(order):
            running = max(running, values[index] * (size - rank))
            out[index] = min(running, 1.0)
    return out
