"""The names a drift check's parameters choose from, in one place for the checks and the
command line alike.

``modelship check drift``'s parser offers them as choices (``--method``,
``--categorical-method``, ``--correction``) without importing the checks, whose modules
import SciPy's statistics (most of a second of every command line): so they live here,
in a leaf that imports nothing, and :mod:`modelship.checks` reads them from here.

Examples
--------
>>> from modelship import _choices
>>> _choices.NUMERIC_METHODS
('ks', 'wasserstein', 'psi', 'js', 'cvm')
>>> from modelship.checks import NUMERIC_METHODS
>>> NUMERIC_METHODS is _choices.NUMERIC_METHODS
True
"""

from __future__ import annotations

import typing
from typing import Literal

__all__ = [
    "CATEGORICAL_METHODS",
    "NUMERIC_METHODS",
    "P_VALUE_METHODS",
    "CategoricalMethod",
    "NumericMethod",
    "PValueMethod",
]

NumericMethod = Literal["ks", "wasserstein", "psi", "js", "cvm"]
CategoricalMethod = Literal["chi2", "psi", "js"]
PValueMethod = Literal["bh", "holm", "bonferroni", "none"]

NUMERIC_METHODS: tuple[str, ...] = typing.get_args(NumericMethod)
"""Methods for numeric columns: two tests (``ks``, ``cvm``) and three distances."""

CATEGORICAL_METHODS: tuple[str, ...] = typing.get_args(CategoricalMethod)
"""Methods for categorical columns: one test (``chi2``) and two distances."""

P_VALUE_METHODS: tuple[str, ...] = typing.get_args(PValueMethod)
"""The p-value adjustments (``--correction``) in the order documented: Benjamini-Hochberg,
Holm, Bonferroni, none."""
