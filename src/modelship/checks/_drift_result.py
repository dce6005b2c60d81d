"""The verdict of a drift check on one column: the generic result, plus effect size and drift."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from modelship import _json
from modelship.checks._figures import compared
from modelship.checks._result import ColumnResult, _facts, _number, _optional_float
from modelship.report import Entry

__all__ = ["DriftColumnResult"]


@attrs.frozen(kw_only=True)
class DriftColumnResult(ColumnResult):
    """A :class:`ColumnResult` of a drift check: with the column's kind, the effect size
    reported beside the test, and whether the column drifted.

    Parameters
    ----------
    kind : str, optional
        ``"numeric"`` or ``"categorical"``.
    effect_method, effect_size, effect_threshold : optional
        The effect size reported beside every result; ``effect_threshold`` is set when the
        effect size takes part in the verdict, ``None`` when it is for information.
    drifted : bool, optional
        The drift verdict; ``None`` for a column in error.

    The other parameters are those of :class:`ColumnResult`.

    Examples
    --------
    >>> from modelship.checks import DriftColumnResult
    >>> col = DriftColumnResult(name="age", status="fail", reason="KS p=0.001 < 0.05",
    ...                         method="ks", statistic=0.21, p_value=0.001, threshold=0.05,
    ...                         effect_method="wasserstein", effect_size=0.4, drifted=True)
    >>> col.drifted, col.to_entry().cells["effect size"]
    (True, 'wasserstein 0.4')
    """

    report_headings: ClassVar[tuple[str, ...]] = ("effect size",)

    kind: str | None = None
    effect_method: str | None = None
    effect_size: float | None = attrs.field(default=None, converter=_optional_float)
    effect_threshold: float | None = attrs.field(default=None, converter=_optional_float)
    drifted: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict, keys in the order results have always had.

        Examples
        --------
        >>> from modelship.checks import DriftColumnResult
        >>> list(DriftColumnResult(name="x", status="pass").to_dict())[:4]
        ['name', 'status', 'reason', 'kind']
        """
        return {
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "kind": self.kind,
            "method": self.method,
            "statistic": _json.jsonable(self.statistic),
            "p_value": _json.jsonable(self.p_value),
            "threshold": _json.jsonable(self.threshold),
            "effect_method": self.effect_method,
            "effect_size": _json.jsonable(self.effect_size),
            "effect_threshold": _json.jsonable(self.effect_threshold),
            "drifted": self.drifted,
            "details": _json.jsonable(self.details),
        }

    def to_entry(self) -> Entry:
        """This result as a row of a report, with an ``effect size`` cell.

        Examples
        --------
        >>> from modelship.checks import DriftColumnResult
        >>> col = DriftColumnResult(name="x", status="pass", effect_method="js",
        ...                         effect_size=0.02, effect_threshold=0.1)
        >>> col.to_entry().cells["effect size"]
        'js 0.02 (threshold 0.1)'
        """
        entry = super().to_entry()
        effect = ""
        if self.effect_size is not None and self.effect_threshold is not None:
            # Widened together: 0.099996 against 0.1 is not "0.1 (threshold 0.1)".
            shown, (limit,) = compared(self.effect_size, [self.effect_threshold], 4, 4, strict=True)
            effect = f"{self.effect_method} {shown} (threshold {limit})"
        elif self.effect_size is not None:
            effect = f"{self.effect_method} {_number(self.effect_size)}"
        facts = _facts([("effect_method", self.effect_method), ("effect_size", self.effect_size)])
        return attrs.evolve(
            entry,
            cells={**entry.cells, "effect size": effect},
            facts={**entry.facts, **facts},
        )
