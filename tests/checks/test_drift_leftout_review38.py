"""Second look, review 38: a column a drift profile left out is not read from the current
data (a polars Struct left out with exclude= when profiling was read, and refused)."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.checks import DataDrift, DriftProfile, Status
from modelship.errors import ColumnMismatch

pl = pytest.importorskip("polars")


def _frame(n: int = 50) -> object:
    return pl.DataFrame(
        {
            "x": np.arange(n, dtype=float),
            "s": [{"a": i, "b": str(i)} for i in range(n)],
        }
    )


def test_a_column_the_profile_excluded_is_not_read_from_the_current_data() -> None:
    data = _frame()
    profile = DriftProfile.from_data(data, exclude=["s"])
    assert dict(profile.left_out) == {"s": "excluded"}

    result = DataDrift(reference=profile, current=data).run()
    assert result.status is Status.PASS, result.reason
    assert list(result.columns) == ["x"]


def test_the_current_data_may_lack_the_left_out_column() -> None:
    data = _frame()
    profile = DriftProfile.from_data(data, exclude=["s"])
    result = DataDrift(reference=profile, current=data.select("x")).run()
    assert result.status is Status.PASS, result.reason


def test_a_left_out_column_asked_for_by_name_is_still_refused() -> None:
    data = {"x": np.arange(50, dtype=float), "id": np.arange(50).astype(str)}
    profile = DriftProfile.from_data(data, exclude=["id"])
    with pytest.raises(ColumnMismatch, match="the profile has no column 'id'"):
        DataDrift(reference=profile, current=data, columns=["x", "id"]).run()
