"""A mangled cursor is an InvalidCursor whatever its characters, and a NumPy page size is a
page size (a review's findings: a TypeError, and a refusal that called 2 not an integer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelship as ms


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    registry = ms.open_registry(str(tmp_path / "reg"))
    for _ in range(3):
        registry.register(model_name="m", model=b"x", serializer="bytes")
    return registry


@pytest.mark.parametrize("last", ["é", "\u2019", "\uff11"])
def test_a_cursor_whose_check_holds_a_non_ascii_character_is_an_invalid_cursor(
    reg: ms.Registry, last: str
) -> None:
    cursor = reg.versions("m", limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(ms.InvalidCursor, match="pass the next_cursor of the previous page"):
        reg.versions("m", limit=1, cursor=cursor[:-1] + last)


@pytest.mark.parametrize("limit", [np.int64(2), np.uint8(2), np.int32(2)])
def test_a_numpy_integer_is_a_page_size(reg: ms.Registry, limit: object) -> None:
    page = reg.versions("m", limit=limit, order="newest")  # type: ignore[arg-type]
    assert [mv.version for mv in page] == ["3", "2"]
    assert page.next_cursor is not None


@pytest.mark.parametrize("limit", [np.int64(0), np.bool_(True), np.float64(2.0)])
def test_a_numpy_value_that_is_no_page_size_is_refused(reg: ms.Registry, limit: object) -> None:
    with pytest.raises(ms.ConfigError, match="limit must be a positive integer"):
        reg.versions("m", limit=limit)  # type: ignore[arg-type]
