"""The model server's 400 for rows it cannot read as numbers names the same cell or row
as before its rewrite as one loop over the rows.

``_shape_problem`` was a pass over the cells' types in numpy, a piece at a time, after a
first look at the first 1,000 rows alone. It is now one loop over the rows that looks at a
row's cells one by one only when one of them is of a type that does not pass. The old
version is kept here, as it was, and both must give the same message for every input:
ragged rows, nested lists, scalars among rows, empty rows, subclasses of the types that
pass, and requests past the first 1,000 rows and the 65,536-cell pieces."""

from __future__ import annotations

import enum
import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from modelship.deploy.serve._app import _cell_name, _kind, _shape_problem


def _old_shape_problem(
    rows: Any, where: str, datatype: str = "a number", *, strict: bool = False
) -> str:
    if not isinstance(rows, list):
        return f"{where} is not a list of rows of numbers"
    if len(rows) > _FIRST_ROWS:
        head = _old_shape_problem(rows[:_FIRST_ROWS], where, datatype, strict=strict)
        if head.endswith(f", not {datatype}"):
            return head
    row_kinds = np.fromiter(map(type, rows), object, len(rows))
    listed = np.equal(row_kinds, _LIST_TYPE)
    lengths: NDArray[np.int64] | None = None
    kinds: NDArray[Any] | None = None
    if not listed.any():
        cells: list[Any] = rows
        kinds = row_kinds
    elif listed.all():
        lengths = np.fromiter(map(len, rows), np.int64, len(rows))
        cells = list(itertools.chain.from_iterable(rows))
    else:
        lengths = np.array([len(row) if type(row) is list else 1 for row in rows])
        cells = list(
            itertools.chain.from_iterable(row if type(row) is list else (row,) for row in rows)
        )
    at = _old_first_wrong_cell(cells, kinds, datatype, strict=strict)
    if at is not None:
        if lengths is None:
            index: tuple[int, ...] = (at,)
        else:
            ends = np.cumsum(lengths)
            i = int(np.searchsorted(ends, at, side="right"))
            j = at - (int(ends[i - 1]) if i else 0)
            index = (i, j) if listed[i] else (i,)
        return f"{_cell_name(where, index)} is {_kind(cells[at])}, not {datatype}"
    widths = [] if lengths is None else np.unique(lengths[listed]).tolist()
    if len(widths) > 1:
        return f"{where} rows have different lengths ({widths[:5]}); all must match"
    return f"{where} is not a list of rows of numbers"


def _old_first_wrong_cell(
    cells: list[Any], kinds: NDArray[Any] | None, datatype: str, *, strict: bool
) -> int | None:
    bools = datatype == "BOOL"
    fine = _BOOL_TYPES if strict and bools else _NUMBER_TYPES if strict else _LAX_TYPES
    for start in range(0, len(cells), _CELLS_A_PIECE):
        piece = cells[start : start + _CELLS_A_PIECE]
        types = (
            np.fromiter(map(type, piece), dtype=object, count=len(piece))
            if kinds is None
            else kinds[start : start + _CELLS_A_PIECE]
        )
        passes = np.zeros(len(piece), dtype=bool)
        for kind in fine:
            passes |= np.equal(types, kind)
        for k in np.flatnonzero(~passes).tolist():
            cell = piece[k]
            if (strict and isinstance(cell, bool) != bools) or (
                cell is not None and not isinstance(cell, (int, float))
            ):
                return start + int(k)
    return None


def _type_cell(kind: type) -> NDArray[Any]:
    cell = np.empty((), dtype=object)
    cell[()] = kind
    return cell


_LAX_TYPES = tuple(_type_cell(kind) for kind in (float, int, bool, type(None)))
_NUMBER_TYPES = _LAX_TYPES[:2] + _LAX_TYPES[3:]
_BOOL_TYPES = (_LAX_TYPES[2],)
_LIST_TYPE = _type_cell(list)
_FIRST_ROWS = 1000
_CELLS_A_PIECE = 2**16


class _Level(enum.IntEnum):
    LOW = 1


class _Float(float):
    pass


class _Rows(list[Any]):
    pass


_CELLS = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
    st.sampled_from(
        [np.float64(1.5), np.int64(3), np.bool_(True), _Level.LOW, _Float(2.0), _Rows([1])]
    ),
)
_ROWS = st.lists(st.one_of(st.lists(_CELLS, max_size=4), _CELLS), max_size=8)
_PADDING = st.sampled_from([0, 1, 999, 1000, 1001])
_DATATYPES = st.sampled_from(["a number", "BOOL", "FP64", "INT32"])
_WHERE = st.sampled_from(["instances", "inputs[0].data"])


@settings(deadline=None, max_examples=300)
@given(
    rows=_ROWS,
    before=_PADDING,
    after=_PADDING,
    regular=st.sampled_from([[1.0, 2.0], [True, False], 3, None]),
    where=_WHERE,
    datatype=_DATATYPES,
    strict=st.booleans(),
)
def test_rows_get_the_same_message_as_from_the_per_piece_version(
    rows: list[Any],
    before: int,
    after: int,
    regular: Any,
    where: str,
    datatype: str,
    strict: bool,
) -> None:
    request = [regular] * before + rows + [regular] * after
    assert _shape_problem(request, where, datatype, strict=strict) == _old_shape_problem(
        request, where, datatype, strict=strict
    )


@given(value=st.one_of(_CELLS, st.tuples(st.integers()), st.just(_Rows([[1], [2, 3]]))))
def test_what_is_not_a_list_of_rows_gets_the_same_message(value: Any) -> None:
    for strict in (False, True):
        assert _shape_problem(value, "instances", strict=strict) == _old_shape_problem(
            value, "instances", strict=strict
        )


@pytest.mark.parametrize("at", [0, 2**16 - 1, 2**16, 2**16 + 1, 3 * 2**16 - 1])
@pytest.mark.parametrize("wrong", ["x", True, None, [1.0]])
@pytest.mark.parametrize("flat", [False, True])
def test_a_wrong_cell_around_the_pieces_of_a_large_request_is_named_the_same(
    at: int, wrong: Any, flat: bool
) -> None:
    cells: list[Any] = [1.0] * (3 * 2**16)
    cells[at] = wrong
    request = cells if flat else [cells[i : i + 16] for i in range(0, len(cells), 16)]
    for datatype, strict in (("a number", False), ("FP64", True), ("BOOL", True)):
        assert _shape_problem(request, "x", datatype, strict=strict) == _old_shape_problem(
            request, "x", datatype, strict=strict
        )


@pytest.mark.parametrize("last", [[], [1.0], [1.0] * 19, [1.0] * 21, 1.0, "x"])
def test_rows_of_different_lengths_past_the_first_rows_get_the_same_message(last: Any) -> None:
    request: list[Any] = [[1.0] * 20 for _ in range(1000)] + [[1.0] * k for k in range(8)]
    request.append(last)
    assert _shape_problem(request, "instances") == _old_shape_problem(request, "instances")
