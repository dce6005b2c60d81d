"""What the ``modelship check`` commands share: reading data files, running a check
when its inputs are read, writing the reports asked for, and the report options.

Kept apart from the command modules so each check family's commands (drift and schema in
:mod:`modelship.checks._cli`, bias and degradation in :mod:`modelship.checks._cli_fairness`)
imports it, and none imports another's internals.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import csv
import importlib
import io
import itertools
import math
import os
import re
import shlex
import stat
import sys
import threading
import tokenize
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import NDArray

from modelship._cli_common import (
    EXIT_ERROR,
    STDOUT,
    say,
)
from modelship._columns import pandas_index_columns as _pandas_index_columns
from modelship._endpoints import with_s3_endpoint, without_localhost
from modelship._json import NewerVersionError
from modelship._shown import hide_credentials, printable
from modelship.checks._result import CheckResult, SuiteResult, run_suite
from modelship.checks._tabular import BOOLEAN_CELLS, FALSE_CELLS, TRUE_CELLS, plain_number
from modelship.errors import ColumnMismatch, ConfigError, MissingDependency, ModelshipError
from modelship.report import write_text

__all__ = [
    "BOOLEAN_CELLS",
    "FALSE_CELLS",
    "MISSING_MARKERS",
    "ONE_ZERO_CELLS",
    "TRUE_CELLS",
    "CsvTable",
    "column_names",
    "columns_for_the_command_line",
    "csv_booleans",
    "given",
    "not_a_document",
    "print_text",
    "read_bytes",
    "read_table",
    "refusal",
    "refused_paths",
    "run_and_report",
    "said_on_the_command_line",
    "same_file",
    "unreadable",
    "write_report",
]

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none"})
"""CSV cells read as missing values (compared case-insensitively, after stripping)."""

# The cells a CSV file spells a boolean with (TRUE_CELLS, FALSE_CELLS, from _tabular):
# pandas.read_csv's defaults (its true_values and false_values), which read all three
# spellings as a bool column. pandas writes a bool column as "True"/"False", R as
# "TRUE"/"FALSE", Spark and most databases as "true"/"false": none of them means
# anything but a boolean.


def _csv_text(cells: list[str]) -> NDArray[Any]:
    """One CSV column's cells as text, stripped of surrounding spaces, ``None`` where missing.

    The one reading of a cell: a column typed as numbers is parsed from this text, so a
    file read as numbers and one read as text agree on every cell (``" 007"`` is ``"007"``).
    """
    stripped = [cell.strip() for cell in cells]
    return np.array(
        [None if cell.lower() in MISSING_MARKERS else cell for cell in stripped], dtype=object
    )


def _csv_column(text: NDArray[Any], *, plain: bool = False) -> tuple[NDArray[Any], str | None]:
    """Type one CSV column from its :func:`_csv_text`: int64, else float64 (missing as
    NaN), else booleans (see :func:`csv_booleans`), else the text; and, for integers
    with missing cells (float64, NaN where missing), ``"int64"``: the dtype they have
    without them.

    Only plain numbers are numbers: Python's ``int`` and ``float`` also take digit
    groups (``2023_01``) and digits of other scripts (``١٢``, fullwidth ones), which pandas
    and every other CSV reader keep as text, so a column holding one is text. ``plain``
    says the file's cells are known to hold neither, so the column need not be looked at.
    """
    cells = text.tolist()
    present = [cell for cell in cells if cell is not None]
    if not plain and not _plain(present):
        return text, None
    integers = _integers(present)
    if integers is not None and len(present) == len(cells):
        return integers, None
    try:
        values = np.array(
            [math.nan if cell is None else float(cell) for cell in cells], dtype=np.float64
        )
    except ValueError:
        booleans = csv_booleans(cells, present)
        return (text if booleans is None else booleans), None
    # One empty cell must not make an integer column float64 in one file and leave it
    # int64 in the next: the schema would report a dtype change between them.
    return values, "int64" if integers is not None and present else None


ONE_ZERO_CELLS = frozenset({"1", "0"})
"""The cells :func:`csv_booleans` reads as ``True`` and ``False`` beside boolean spellings
when asked to (its ``ones_zeros``): ``check bias`` and ``check degradation``'s labels."""


def csv_booleans(
    cells: list[Any], present: list[str], *, ones_zeros: bool = False
) -> NDArray[Any] | None:
    """A CSV column whose every present cell spells a boolean (:data:`TRUE_CELLS`,
    :data:`FALSE_CELLS`, as ``pandas.read_csv`` reads them) as booleans: a bool array,
    or, with a missing cell, an object array of ``True``, ``False`` and ``None`` (a
    boolean column with missing values, as the checks read one); ``None`` for any other
    column, and for one with no present cell.

    pandas writes a bool column as ``True``/``False``: read as text, the batch's 0 and 1
    of the same flag were categories the reference never held (100% drift).

    ``ones_zeros``: ``"1"`` and ``"0"`` beside such cells are ``True`` and ``False`` too
    (a label column of two exports joined, one writing 1/0, the other True/False, as
    ``check bias`` and ``check degradation`` read one); a column of only ``1`` and ``0``
    is still ``None`` here, as it is numbers. Without it (a data column, as every check
    reads a file), such a column is text, as pandas reads it.

    Examples
    --------
    >>> csv_booleans(["True", "false"], ["True", "false"]).tolist()
    [True, False]
    >>> csv_booleans(["TRUE", None], ["TRUE"]).tolist()
    [True, None]
    >>> csv_booleans(["True", "1"], ["True", "1"]) is None
    True
    >>> csv_booleans(["True", "0"], ["True", "0"], ones_zeros=True).tolist()
    [True, False]
    """
    spelled = set(present)
    words, truths = BOOLEAN_CELLS, TRUE_CELLS
    if ones_zeros:
        words, truths = words | ONE_ZERO_CELLS, truths | {"1"}
    if not spelled & BOOLEAN_CELLS or not spelled <= words:
        return None
    if len(present) == len(cells):
        return np.array([cell in truths for cell in cells], dtype=np.bool_)
    return np.array([None if cell is None else cell in truths for cell in cells], dtype=object)


def _plain(cells: list[str]) -> bool:
    """Whether every cell could be a plain number: ASCII, without a ``_`` digit group.

    One look at the column's joined text (a C-speed scan), not a test per cell.

    Examples
    --------
    >>> _plain(["1", "-2.5e3", "inf"]), _plain(["2023_01"]), _plain(["\\uff11\\uff12"])
    (True, False, False)
    """
    return plain_number("".join(cells))


def _integers(cells: list[str]) -> NDArray[np.int64] | None:
    """``cells`` as int64, or ``None`` when one is not an integer or does not fit."""
    try:
        return np.array([int(cell) for cell in cells], dtype=np.int64)
    except (ValueError, OverflowError):
        return None


def _check_header(path: str, header: list[str]) -> None:
    """Refuse a CSV header with an empty or a repeated column name: one column would be lost."""
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if not name:
            raise ConfigError(
                f"{path}: column {number} of the header has no name; name every column"
            )
        if name in seen:
            raise ConfigError(
                f"{path}: the header names column {name!r} twice; give each column its own name"
            )
        seen.add(name)


def _blank(row: list[str]) -> bool:
    """Whether a CSV row is a blank line: nothing on it, or only spaces (``[""]`` is a
    quoted empty cell, ``""``, and stays a row)."""
    return not row or (len(row) == 1 and row[0] != "" and not row[0].strip())


# csv.field_size_limit is one setting for the whole process: _csv_cells raises it for
# the time it reads, under this lock, and puts back what it found.
_FIELD_LIMIT_LOCK = threading.Lock()

# Rows read before their cells are moved into the columns: a bounded list of rows.
_CHUNK_ROWS = 8192

# Joins one column's cells of a chunk into one string (the cells of a file hold it rarely:
# a chunk whose cells hold it keeps them as they are).
_SEPARATOR = "\x00"


def _packed(cells: tuple[str, ...]) -> str | tuple[str, ...]:
    """One column's cells of a chunk of rows, kept as one string (a Python string per cell
    costs some 50 bytes beside its text), or as they are when a cell holds the separator."""
    joined = _SEPARATOR.join(cells)
    return joined if joined.count(_SEPARATOR) == len(cells) - 1 else cells


def _unpacked(parts: list[str | tuple[str, ...]]) -> list[str]:
    """The cells of one column that :func:`_packed` kept, in order."""
    cells: list[str] = []
    for part in parts:
        cells.extend(part.split(_SEPARATOR) if isinstance(part, str) else part)
    return cells


def _check_utf8(path: str, data: bytes) -> None:
    """Refuse a file that is not UTF-8, before any of it is read as CSV (as a file that
    is not text is refused whatever else is wrong with it), without decoding it whole.

    Raises
    ------
    ConfigError
        For bytes that are not UTF-8: the message names the byte's position in the file.
    """
    if data.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(view), 1 << 20):
            decoder.decode(view[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        try:  # again, whole, for the position in the file (only for a file refused)
            data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path} is not UTF-8 text: {exc}") from exc


def _text_stream(data: bytes) -> io.TextIOWrapper:
    """The UTF-8 text of ``data`` (a leading byte-order mark dropped), read as it is asked
    for, line ends left to the csv module."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")


def _csv_cells(path: str, data: bytes) -> tuple[list[str], list[list[str | tuple[str, ...]]]]:
    """The header and each column's cells (see :func:`_packed`) of the CSV file ``data``;
    ``path`` names the file in error messages.

    Read strictly, as the file streams (no list of rows is kept): a quote that opens a cell
    and is never closed would otherwise take the rest of the file into that one cell,
    silently (pandas refuses such a file too). A cell may be as long as the file (the csv
    module's default limit is 131,072 characters, which pandas does not have): the
    process-wide ``csv.field_size_limit`` is raised for the read and restored after,
    unless something else changed it meanwhile.

    Raises
    ------
    ConfigError
        For text that is not valid CSV (the message names the file and the line), and
        for a header or a row :func:`_columns_of` refuses.
    """
    with _FIELD_LIMIT_LOCK:
        # Capped at 2**31 - 1: the setting is a C long, 32 bits on Windows.
        limit = max(min(len(data) + 1, 2**31 - 1), csv.field_size_limit())
        found = csv.field_size_limit(limit)
        try:
            try:
                return _columns_of(path, csv.reader(_text_stream(data), strict=True))
            except csv.Error as exc:
                _judge(path, data, exc)
            return _columns_of(path, csv.reader(_text_stream(data)))
        finally:
            if csv.field_size_limit() == limit:
                csv.field_size_limit(found)


def _judge(path: str, data: bytes, exc: csv.Error) -> None:
    """Raise the error for ``exc``, the csv module's strict reading of ``data`` failing,
    unless the only fault is spaces or tabs after a closing quote (a padded export), which
    pandas and the csv module's default reading keep in the cell. Judged on a copy without
    them (same lines); any other fault is reported from it. Only for a file that failed.
    """
    content = data.decode("utf-8-sig")
    stripped = _BLANKS_AFTER_QUOTE.sub('"', content)
    if stripped == content:
        raise _csv_error(path, content, exc) from exc
    try:
        for _ in csv.reader(io.StringIO(stripped, newline=""), strict=True):
            pass
    except csv.Error as fault:
        raise _csv_error(path, stripped, fault) from fault


def _columns_of(
    path: str, reader: Iterator[list[str]]
) -> tuple[list[str], list[list[str | tuple[str, ...]]]]:
    """The header and each column's cells of the rows ``reader`` reads, moved into the
    columns a chunk of rows at a time.

    Blank lines (nothing on them, or only spaces) are skipped, as pandas skips them: a
    file ending with an empty line, as editors leave it, is not a ragged row. A header or
    a row refused is reported once the rest of the file is read, so that a fault of the
    CSV text found later is the one reported (as when the file was read whole first).

    Raises
    ------
    ConfigError
        For a file with no header row, a header with an empty or a repeated name, and a
        row whose width is not the header's, naming its line (blank lines counted, as an
        editor shows them; a row whose quoted cell spans lines counts as one).
    """
    refused: ConfigError | None = None
    header: list[str] | None = None
    number = 0  # the rows read, blank ones too
    for row in reader:
        number += 1
        if not _blank(row):
            # Names are stripped as cells are: "id, zip" names the columns "id" and "zip".
            header = [name.strip() for name in row]
            break
    if header is None:
        raise ConfigError(f"{path} is empty: a CSV file needs a header row")
    try:
        _check_header(path, header)
    except ConfigError as exc:
        refused = exc
    width = len(header)
    columns: list[list[str | tuple[str, ...]]] = [[] for _ in header]
    while refused is None:
        chunk = list(itertools.islice(reader, _CHUNK_ROWS))
        if not chunk:
            break
        first, number = number + 1, number + len(chunk)
        chunk, refused = _full_rows(path, chunk, first, width)
        if chunk and refused is None:
            for column, cells in zip(columns, zip(*chunk, strict=True), strict=True):
                column.append(_packed(cells))
        del chunk
    if refused is not None:
        for _ in reader:  # a fault of the CSV text after it is the one reported
            pass
        raise refused
    return header, columns


def _full_rows(
    path: str, chunk: list[list[str]], first: int, width: int
) -> tuple[list[list[str]], ConfigError | None]:
    """The rows of ``chunk`` (``first`` is its first row's line) that are not blank, and
    the error for its first row whose width is not the header's ``width``, if any.

    Rows all of the header's width, two or more, hold no blank line and no ragged row:
    found at C speed. Else each row is looked at.
    """
    if width >= 2 and set(map(len, chunk)) == {width}:
        return chunk, None
    kept: list[list[str]] = []
    for number, row in enumerate(chunk, start=first):
        if _blank(row):
            continue
        if len(row) != width:
            return kept, ConfigError(
                f"{path}, line {number}: {len(row)} fields, but the header has {width}"
            )
        kept.append(row)
    return kept, None


# A closing quote's trailing spaces or tabs, up to the comma or the line's end. Removing
# them inside a quoted cell (after an escaped "") moves no cell boundary: the copy without
# them is only read to judge the structure, never for its cells.
_BLANKS_AFTER_QUOTE = re.compile(r'"[ \t]+(?=,|\r|\n|$)')


def _csv_error(path: str, content: str, exc: csv.Error) -> ConfigError:
    """``exc``, the error reading the CSV text ``content``, as a ``ConfigError`` naming the
    file and the line: where the fault is, or for a quote never closed, where the row
    with that quote starts (found by reading again, row by row: only for a faulty file).
    """
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    start = line = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error:
        line = reader.line_num
    reason = str(exc)
    if reason == "unexpected end of data":
        line = start
        reason = (
            "a quote opens a cell and no quote closes it, so the rest of the file "
            "would be that one cell; a quote inside a cell must be doubled, "
            "and the cell quoted"
        )
    return ConfigError(f"{path}, line {line}: not valid CSV: {reason}")


def _read_csv(path: str, data: bytes) -> CsvTable:
    """The table in the CSV file ``data``; ``path`` names the file in error messages.

    Blank lines (nothing on them, or only spaces) are skipped, as pandas skips them: a
    file ending with an empty line, as editors leave it, is not a ragged row. The file is
    read as it streams, each column's cells kept packed (:func:`_packed`) until the column
    is typed, one column at a time; a column typed as numbers or booleans keeps its cells
    packed for :attr:`CsvTable.text`, which reads them when asked for.
    """
    _check_utf8(path, data)
    header, packed = _csv_cells(path, data)
    columns, text, nullable_dtypes = {}, _CellText(), {}
    for name, parts in zip(header, packed, strict=True):
        cells = _csv_text(_unpacked(parts))
        # No "_" and nothing but ASCII in the column's cells as written: then none of its
        # cells holds either, found in one C-speed look at each packed part instead of a
        # look at the cells (the separator is ASCII, and no "_").
        plain = all(
            plain_number(part if isinstance(part, str) else "".join(part)) for part in parts
        )
        columns[name], nullable = _csv_column(cells, plain=plain)
        if columns[name] is cells:
            text.put(name, cells)
        else:
            text.pack(name, parts)
        del cells
        if nullable is not None:
            nullable_dtypes[name] = nullable
    return CsvTable(columns, text=text, nullable_dtypes=nullable_dtypes)


class _CellText(Mapping[str, NDArray[Any]]):
    """Each CSV column's cells as :func:`_csv_text` reads them, by name: a column read as
    text is its own cells; a column typed as numbers or booleans keeps its cells packed
    (:func:`_packed`, about the file's size) and reads them the first time they are asked
    for (a CSV file of numbers held each cell twice: its number and a Python string)."""

    def __init__(self) -> None:
        self._read: dict[str, NDArray[Any]] = {}
        self._packed: dict[str, list[str | tuple[str, ...]]] = {}
        self._names: list[str] = []

    def put(self, name: str, cells: NDArray[Any]) -> None:
        self._names.append(name)
        self._read[name] = cells

    def pack(self, name: str, parts: list[str | tuple[str, ...]]) -> None:
        self._names.append(name)
        self._packed[name] = parts

    def __getitem__(self, name: str) -> NDArray[Any]:
        if name not in self._read:
            self._read[name] = _csv_text(_unpacked(self._packed.pop(name)))
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class CsvTable(dict[str, NDArray[Any]]):
    """The typed columns of a CSV file, with each column's cells as text (``text``).

    A column is typed by its own file's cells, so one file's ``1.0`` may be a number and
    another's (beside a word) text: :meth:`with_text` reads such a column as its cells'
    text where it is compared as categories (text in the reference, or declared so), so
    the two files' categories meet (a column compared as numbers stays numbers: a word
    there is an error, never text). An integer column with an empty cell is float64 (NaN
    there); :meth:`nullable_dtypes` tells :class:`~modelship.checks.Schema` to record and
    compare it as ``int64``, as it does a pandas ``Int64`` column.
    """

    def __init__(
        self,
        columns: Mapping[str, NDArray[Any]],
        *,
        text: Mapping[str, NDArray[Any]],
        nullable_dtypes: Mapping[str, str],
    ) -> None:
        super().__init__(columns)
        # The reader's own (which reads a column's cells when asked for) is shared.
        self.text: Mapping[str, NDArray[Any]] = text if isinstance(text, _CellText) else dict(text)
        self._nullable_dtypes = dict(nullable_dtypes)

    def nullable_dtypes(self) -> dict[str, str]:
        """The integer columns with missing cells, by name, with their dtype without them.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
        >>> _ = path.write_text("age,x\\n31,1\\n,2\\n")
        >>> table = read_table(path)
        >>> table["age"].dtype.name, table.nullable_dtypes()
        ('float64', {'age': 'int64'})
        """
        return dict(self._nullable_dtypes)

    def is_text(self, name: str) -> bool:
        """Whether the column ``name`` is read as text: an object column that is not
        booleans with a missing cell (see :func:`csv_booleans`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
        >>> _ = path.write_text("f,g,t\\nTrue,True,a\\n,False,b\\n")
        >>> table = read_table(path)
        >>> table.is_text("f"), table.is_text("g"), table.is_text("t")
        (False, False, True)
        """
        column = self[name]
        if column.dtype.kind != "O":
            return False
        # The reader makes a column all booleans or all text: its first cell decides.
        first = next((value for value in column if value is not None), None)
        return not isinstance(first, bool)

    def with_text(self, names: Iterable[str]) -> CsvTable:
        """A copy with the columns ``names`` read as their cells' text (``"007"``, not 7).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
        >>> _ = path.write_text("zip,n\\n007,1\\n,2\\n")
        >>> table = read_table(path)
        >>> table["zip"].tolist(), table.with_text(["zip"])["zip"].tolist()
        ([7.0, nan], ['007', None])
        """
        names = set(names)
        columns = {name: self.text[name] if name in names else self[name] for name in self}
        nullable = {
            name: dtype for name, dtype in self._nullable_dtypes.items() if name not in names
        }
        return CsvTable(columns, text=self.text, nullable_dtypes=nullable)


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def read_bytes(path: str | Path, storage_options: Mapping[str, Any] | None = None) -> bytes:
    """The bytes of a local file or of any fsspec URL (``s3://bucket/data.csv``).

    Raises
    ------
    ConfigError
        When the file cannot be read (a missing file, a denied or unreachable store, no
        credentials for it), naming the file (without the user information of a URL)
        and the reason, chained from the storage layer's exception, whatever its type
        (botocore's ``NoCredentialsError`` is not an ``OSError``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.checks._cli import read_bytes
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_bytes(b"ok")
    >>> read_bytes(path), read_bytes(f"file://{path}")
    (b'ok', b'ok')
    """
    text = str(path)
    what_to_do = "check the path (and the -o storage options for a URL)"
    try:
        if not _is_url(text) and not text.startswith("file://"):
            return Path(text).read_bytes()
        fsspec = importlib.import_module("fsspec")
        text = without_localhost(text)  # file://localhost/abs is /abs (RFC 8089)
        with fsspec.open(text, "rb", **with_s3_endpoint(text, storage_options or {})) as handle:
            data: bytes = handle.read()
    except ModelshipError:  # already says what is wrong (a storage option that is not valid)
        raise
    except OSError as exc:
        raise unreadable(text, exc, what_to_do) from exc
    except Exception as exc:  # a storage layer's own errors: one line, never a traceback
        raise unreadable(text, exc, what_to_do, typed=True) from exc
    return data


def not_a_document(path: str, exc: ModelshipError, what: str, writer: str) -> ConfigError:
    """The error for an input file that was read and refused as a ``what``:
    the file, why, and what writes one (``writer``): a CSV given by mistake, an empty
    file, or a JSON object that is another document. A document refused for being
    written by a newer modelship (a :class:`~modelship._json.NewerVersionError`, told by
    the error, not by reading the file again) keeps its own advice: upgrade.

    Examples
    --------
    >>> bad = ConfigError("the schema is not valid JSON: Expecting value: line 1 column 1")
    >>> print(not_a_document("empty.csv", bad, "schema", "Schema.to_json"))
    empty.csv is not a schema (the schema is not valid JSON: ...): give a schema file ...
    >>> other = ConfigError("the schema has no integer 'schema_version'")
    >>> print(not_a_document("r.json", other, "schema", "Schema.to_json"))
    r.json is not a schema (the schema has no integer 'schema_version'): give a schema ...
    >>> from modelship._json import check_schema_version
    >>> try:
    ...     check_schema_version({"schema_version": 99}, supported=1, what="schema")
    ... except ConfigError as exc:
    ...     print(not_a_document("s.json", exc, "schema", "x"))
    s.json: the schema has schema_version 99, newer than the 1 this modelship reads; ...
    """
    reason = printable(" ".join(hide_credentials(str(exc)).split()))
    if isinstance(exc, NewerVersionError):
        return ConfigError(f"{hide_credentials(path)}: {reason}")
    return ConfigError(
        f"{hide_credentials(path)} is not a {what} ({reason}): give a {what} file written by "
        f"{writer}"
    )


def unreadable(
    path: str, exc: Exception, what_to_do: str = "check the path", *, typed: bool = False
) -> ConfigError:
    """The error for an input file that cannot be read: the file, the reason, what to do.

    ``typed`` puts the exception's type before its message, for errors whose message
    alone does not say what happened (``NoCredentialsError: Unable to locate
    credentials``). A message that only names the file again (fsspec's
    ``FileNotFoundError(url)`` for a refused connection) gives way to the type and the
    error it was raised from. The user information of a URL is never shown.

    Examples
    --------
    >>> refused = FileNotFoundError("https://ci:t0ken@host/a.csv")
    >>> refused.__cause__ = ConnectionRefusedError("no")
    >>> print(unreadable("https://ci:t0ken@host/a.csv", refused, "check it"))
    cannot read https://***@host/a.csv: FileNotFoundError (ConnectionRefusedError: no); check it
    >>> print(unreadable("nope.json", FileNotFoundError(2, "No such file or directory")))
    cannot read nope.json: No such file or directory; check the path
    """
    reason = _reason(path, exc)
    if not reason:
        reason = type(exc).__name__
        cause = exc.__cause__ or exc.__context__
        caused = _reason(path, cause) if isinstance(cause, Exception) else ""
        if caused:
            reason += f" ({type(cause).__name__}: {caused})"
    elif typed:
        reason = f"{type(exc).__name__}: {reason}"
    return ConfigError(hide_credentials(f"cannot read {path}: {reason}; {what_to_do}"))


def _reason(path: str, exc: Exception) -> str:
    """What ``exc`` says, on one line: ``""`` when it says nothing but ``path``."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    reason = " ".join(reason.split()).rstrip(".")
    named = reason.strip("'\"")
    return "" if named in (path, path.partition("://")[2]) else reason


def read_table(
    path: str | Path,
    storage_options: Mapping[str, Any] | None = None,
    *,
    keep: Iterable[str] = (),
) -> Any:
    """Read tabular data from ``.npy``, ``.csv`` or ``.parquet`` (Parquet needs pyarrow).

    ``path`` is a local path or any fsspec URL (``s3://bucket/batch.parquet``), read with
    ``storage_options``. A ``.npy`` file holds a structured array (named columns) or a 1-D
    or 2-D array (columns ``"0"``, ``"1"``, ...). A CSV file has a header row; a column
    whose cells are all integers is int64, all numbers float64, otherwise text; the cells
    in ``MISSING_MARKERS`` are missing values. A Parquet file written by pandas drops
    the unnamed row labels pandas stores as columns of their own (``__index_level_0__``
    for a shuffled or filtered index: labels, not data), unless ``keep`` names them (a
    profile or schema made by an older version, which read them as a column); a named
    index (``set_index("store")``) is a column of data and stays.

    Raises
    ------
    MissingDependency
        For Parquet when pyarrow is not installed.
    ConfigError
        For an unknown file type, a file that cannot be read, a damaged ``.npy`` (one
        whose header declares more data than it holds, or object arrays) or Parquet
        file, or a malformed CSV file (ragged rows, an empty or repeated column
        name, a quote never closed or followed by more text in its cell); the message
        names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.checks._cli import read_table
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text("age,plan\\n31,pro\\n45,NA\\n")
    >>> table = read_table(path)
    >>> table["age"].dtype.name, table["plan"].tolist()
    ('int64', ['pro', None])
    """
    name = str(path)
    shown = hide_credentials(name)  # what messages call the file: never a URL's password
    # A URL's query (?versionId=...) is no part of its name; a local file's '?' is.
    suffix = Path(name.split("?", 1)[0] if _is_url(name) else name).suffix.lower()
    if name.endswith(("/", os.sep)) or (not _is_url(name) and os.path.isdir(name)):
        raise ConfigError(
            f"cannot read {shown}: it is a folder; give a .npy, .csv or .parquet file"
        )
    if suffix not in (".npy", ".csv", ".parquet", ".pq"):
        raise ConfigError(f"cannot read {shown}: use a .npy, .csv or .parquet file")
    if suffix in (".parquet", ".pq"):
        try:
            pq = importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise MissingDependency(
                f"reading {shown} needs pyarrow: pip install 'modelship[parquet]'"
            ) from None
    data = read_bytes(path, storage_options)
    if suffix == ".npy":
        try:
            _check_npy_size(data)
            return np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, EOFError) as exc:
            raise unreadable(
                name, exc, "check that it is a .npy file written by numpy.save"
            ) from exc
    if suffix == ".csv":
        return _read_csv(shown, data)
    pa = importlib.import_module("pyarrow")
    arrow_errors = (pa.ArrowException, OSError, ValueError)
    # pyarrow leaves read-ahead work running after read_table returns (apache/arrow#33975).
    # When that work holds memory Python owns (io.BytesIO, bytes), letting go of it takes
    # the GIL, and during interpreter exit that aborts the process: SIGABRT, "terminate
    # called without an active exception", in 27-49% of processes that read a good file
    # and exited at once. A buffer Arrow allocated is freed without the GIL: copy into one.
    buffer = pa.allocate_buffer(len(data))
    memoryview(buffer).cast("B")[:] = data
    del data
    try:
        # The footer alone first: a repeated name fails read_table with an error about
        # field references, which does not say what is wrong with the file.
        names = pq.read_schema(pa.BufferReader(buffer)).names
    except arrow_errors as exc:
        raise unreadable(name, exc, "check that it is a complete Parquet file") from exc
    _refuse_duplicates(shown, names)
    try:
        table = pq.read_table(pa.BufferReader(buffer))
    except arrow_errors as exc:
        raise unreadable(name, exc, "check that it is a complete Parquet file") from exc
    kept = set(keep)
    index = [column for column in _pandas_index_columns(table) if column not in kept]
    return table.drop_columns(index) if index else table


def _refuse_duplicates(path: str, names: list[str]) -> None:
    """Refuse a file (``path``) whose columns ``names`` repeat a name, as data given in
    memory is refused: a check would read one of them under the other's name."""
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise ConfigError(
            f"{path} has duplicated column names: {duplicated}; give each column its own name"
        )


def _check_npy_size(data: bytes) -> None:
    """Refuse a ``.npy`` file whose header declares more values than the file holds.

    ``np.load`` allocates the declared shape before it reads a byte of data, so a file of
    a few bytes whose header says ``(10**12,)`` would ask for terabytes. Only the header is
    read here; anything that does not start like a ``.npy`` file is left to ``np.load`` to
    refuse, as are object arrays (pickled: their size is not in the header).

    Raises
    ------
    ValueError
        For a damaged header (as ``np.load`` raises it, or in its place the tokenizer's
        or a sort's error, which ``np.load`` lets through), one that declares more bytes
        than follow it, or values of a zero-byte type (``<U0``, ``|V0``), whose count no
        byte bounds; :func:`read_table` turns it into ``ConfigError``.
    """
    if not data.startswith(npy_format.MAGIC_PREFIX):
        return
    handle = io.BytesIO(data)
    version = npy_format.read_magic(handle)
    # Version 3.0 is 2.0 with a UTF-8 header: read as Latin-1, only field names change,
    # never the shape or the item size.
    read_header = (
        npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
    )
    try:
        shape, _, dtype = read_header(handle)
    except (TypeError, SyntaxError, tokenize.TokenError) as exc:
        # NumPy reads the header as a Python literal: a damaged one can also fail in the
        # tokenizer (an unclosed bracket or string) or in sorting its keys (a bytes key).
        raise ValueError(f"its header is damaged ({type(exc).__name__}: {exc})") from exc
    if dtype.hasobject:
        return
    count = math.prod(shape)
    if count and dtype.itemsize == 0:
        # Zero bytes a value (<U0, |S0, |V0, a record without fields) would need no data,
        # yet np.load makes a value of each (a 128-byte file declaring (10**8,) took 20 s
        # and 700 MB): no check compares such values, so none are made.
        raise ValueError(
            f"its header declares shape {shape} of {dtype}, a type of zero bytes per value, "
            "which holds nothing to compare"
        )
    needed = count * dtype.itemsize
    held = len(data) - handle.tell()
    if needed > held:
        raise ValueError(
            f"its header declares shape {shape} of {dtype} ({needed} bytes), but only "
            f"{held} bytes of data follow it"
        )


def column_names(table: Any) -> list[str] | None:
    """The column names of a table :func:`read_table` read (a CSV file's, a Parquet
    file's, a structured ``.npy`` file's), ``None`` for one without names.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "batch.csv"
    >>> _ = path.write_text("age,city\\n41,Oslo\\n")
    >>> column_names(read_table(str(path)))
    ['age', 'city']
    >>> column_names(np.zeros(3)) is None
    True
    """
    if isinstance(table, dict):
        return [str(name) for name in table]
    if hasattr(table, "column_names"):
        return [str(name) for name in table.column_names]
    names = getattr(getattr(table, "dtype", None), "names", None)
    return None if names is None else [str(name) for name in names]


_SHOWN_NAMES = 10  # the columns named in a ready-made --exclude, at most


def columns_for_the_command_line(
    exc: BaseException,
    reference: Sequence[str] | None = None,
    current: Sequence[str] | None = None,
    *,
    known: Iterable[str] = (),
) -> BaseException:
    """``exc`` as the command line says it: for a :class:`~modelship.ColumnMismatch`,
    whose message may point a Python user at ``columns=[...]`` or ``exclude=``, one of
    the same type with the options that choose the columns added, chained from ``exc``;
    any other error as it is.

    Given the ``reference`` and ``current`` column names (``known``: names the current
    data may hold beyond the reference's, a profile's left-out columns), the columns only
    one side has are named in a ready-made ``--exclude``. The library's message is kept
    whole and nothing is read out of it: the command catches the error where the check
    runs and adds its own sentence.

    Examples
    --------
    >>> said = columns_for_the_command_line(
    ...     ColumnMismatch("current has column(s) ['extra']"), ["age"], ["age", "extra"]
    ... )
    >>> str(said).split("(on the command line: ")[1][:39]
    '--exclude extra leaves out the columns '
    """
    if type(exc) is not ColumnMismatch:
        return exc
    choose = "--columns COL ... compares only the columns named"
    only: list[str] = []
    if reference is not None and current is not None:
        on_both, beyond = set(reference) & set(current), set(reference) | set(known)
        only = [n for n in reference if n not in on_both]
        only += [n for n in current if n not in beyond]
    if only:
        more = " ..." if len(only) > _SHOWN_NAMES else ""
        how = (
            f"{_exclude(only[:_SHOWN_NAMES])}{more} leaves out the columns only one side has, "
            f"or {choose}"
        )
    else:
        how = f"{choose}, --exclude COL ... leaves columns out"
    said = ColumnMismatch(f"{exc} (on the command line: {how})")
    said.__cause__ = exc
    return said


@contextlib.contextmanager
def said_on_the_command_line(
    rewrite: Callable[[ModelshipError], BaseException] = columns_for_the_command_line,
) -> Iterator[None]:
    """Run the block; a :class:`~modelship.ModelshipError` it raises is raised as
    ``rewrite`` says it (by default :func:`columns_for_the_command_line`: a
    :class:`~modelship.ColumnMismatch` with the options that choose columns), chained
    from the error raised; an error ``rewrite`` returns as it is, and any other
    exception, goes on unchanged.

    The one way a command says a library's error in its own words: catch it where the
    library call is made, add the command line's sentence, raise.

    Examples
    --------
    >>> try:
    ...     with said_on_the_command_line():
    ...         raise ColumnMismatch("current lacks column(s) ['age']")
    ... except ColumnMismatch as exc:
    ...     print(str(exc).split(" (")[1][:40])
    on the command line: --columns COL ... c
    >>> with said_on_the_command_line():
    ...     pass
    """
    try:
        yield
    except ModelshipError as exc:
        said = rewrite(exc)
        if said is exc:
            raise
        raise said from exc


def _exclude(names: Sequence[str]) -> str:
    """``--exclude`` of ``names``, ready to paste into a shell: a name starting with ``-``
    as ``--exclude=NAME`` (``--exclude -1 --help`` read ``--help`` as the option and
    printed the usage), the others after one ``--exclude``; the option extends its list,
    so every form adds to it.

    Examples
    --------
    >>> _exclude(["extra", "-1", "--help", "my col"])
    "--exclude extra 'my col' --exclude=-1 --exclude=--help"
    """
    plain = [shlex.quote(name) for name in names if not name.startswith("-")]
    dashed = [shlex.quote(f"--exclude={name}") for name in names if name.startswith("-")]
    return " ".join(([f"--exclude {' '.join(plain)}"] if plain else []) + dashed)


@attrs.frozen
class _FileCheck:
    """A check whose inputs are read when it runs, so a bad file is an ``error`` result."""

    name: str
    build: Callable[[], CheckResult]

    def run(self) -> CheckResult:
        try:
            return self.build()
        except Exception as exc:  # an error result, as run_suite makes it, minus passwords
            # A path or a storage layer's message can hold a URL's user information
            # (https://ci:TOKEN@host/batch.csv): the reports and the summary must not.
            result = CheckResult.from_exception(self.name, exc)
            return attrs.evolve(result, reason=hide_credentials(result.reason))


_REPORTS = ("json", "junit", "markdown")  # the report options, by their attribute


# Standard output named as a path: a report written there goes where one given as "-" does.
_STDOUT_PATHS = frozenset({"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})


def on_stdout(target: str | None) -> bool:
    """Whether a report written to ``target`` goes to standard output: ``-``, a name of it
    (``/dev/stdout``, ``/dev/fd/1``, ``/proc/self/fd/1``), or the file standard output is
    redirected to (``> out.json``).

    Examples
    --------
    >>> on_stdout("-"), on_stdout("/dev/stdout"), on_stdout("report.json"), on_stdout(None)
    (True, True, False, False)
    """
    if not target:
        return False
    if target == STDOUT or os.path.normpath(target) in _STDOUT_PATHS:
        return True
    try:
        out = os.fstat(sys.stdout.fileno())
        if not stat.S_ISREG(out.st_mode):  # a terminal, a pipe, /dev/null: named above
            return False
        found = os.stat(target)
    except (OSError, ValueError, AttributeError):  # no such file; no descriptor (a capture)
        return False
    return (found.st_dev, found.st_ino) == (out.st_dev, out.st_ino)


def shared_stdout(args: argparse.Namespace, names: Sequence[str] = _REPORTS) -> str | None:
    """Why the reports ``names`` (attributes of ``args``) cannot be written as asked: more
    than one to standard output (``-``, or a path naming it: see :func:`on_stdout`) would
    run together there. None when they can.

    Examples
    --------
    >>> import argparse
    >>> shared_stdout(argparse.Namespace(json="-", junit="-", markdown=None))[:24]
    '--json and --junit each '
    >>> shared_stdout(argparse.Namespace(json="-", junit="/dev/stdout", markdown=None))[:45]
    '--json and --junit /dev/stdout each write to '
    >>> shared_stdout(argparse.Namespace(json="-", junit="r.xml", markdown=None)) is None
    True
    """
    to_stdout = [
        f"--{name}" if target == STDOUT else f"--{name} {printable(target)}"
        for name in names
        if on_stdout(target := getattr(args, name))
    ]
    if len(to_stdout) < 2:
        return None
    return (
        f"{' and '.join(to_stdout)} each write to standard output ('-'), where they would "
        "run together; send one report there and the others to files"
    )


def same_file(first: str, second: str) -> bool:
    """Whether the paths ``first`` and ``second`` name one file: the same file when both
    exist (another spelling, a symbolic or hard link), else the same resolved path.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "a.csv")
    >>> _ = open(path, "w").close()
    >>> same_file(path, os.path.join(folder, ".", "a.csv")), same_file(path, "b.csv")
    (True, False)
    >>> same_file(os.path.join(folder, "new.json"), os.path.join(folder, "x", "..", "new.json"))
    True
    """
    try:
        if os.path.exists(first) and os.path.exists(second):
            return os.path.samefile(first, second)
        return os.path.realpath(first) == os.path.realpath(second)
    except (OSError, ValueError):  # a name the system refuses (a NUL byte in it)
        return False


def given(args: argparse.Namespace, names: Sequence[str]) -> dict[str, str | None]:
    """The paths of the options ``names`` (attributes of ``args``), by their flag
    (``schema_file``: ``--schema-file``), ``None`` where not given: for :func:`refused_paths`.

    Examples
    --------
    >>> given(argparse.Namespace(schema_file="s.json"), ["schema_file", "current"])
    {'--schema-file': 's.json', '--current': None}
    """
    return {f"--{name.replace('_', '-')}": getattr(args, name, None) for name in names}


def _local_path(path: str) -> str:
    """The local path of an input as :func:`read_bytes` reads it: a ``file://`` URL's path
    (``file://localhost/abs`` is ``/abs``, RFC 8089), anything else as given."""
    path = without_localhost(path)
    return path[len("file://") :] if path.startswith("file://") else path


def refused_paths(
    inputs: Mapping[str, str | None], outputs: Mapping[str, str | None]
) -> dict[str, str]:
    """The ``outputs`` that cannot be written as asked, by how the command line names
    them, each with why: an empty path (``--json ''``, an unset variable), one that is
    the same file as one of the ``inputs`` (:func:`same_file`: writing it would replace
    the input), or as another output (one would replace the other).

    ``inputs`` and ``outputs`` map a name (``--reference``, ``the artifact``) to its path,
    ``None`` when not given. An output to standard output (``-``, ``/dev/stdout``: see
    :func:`on_stdout`) replaces no file: two of them are :func:`shared_stdout`'s to refuse.
    An input ``-`` is no file; a ``file://`` URL is its path.

    Examples
    --------
    >>> refused_paths({"--reference": "a.csv"}, {"--json": "./a.csv"})["--json"].split(":")[0]
    '--json ./a.csv is the same file as --reference a.csv'
    >>> refused_paths({}, {"--json": "r.out", "--junit": "r.out"})["--junit"][-45:]
    'replace the other; write each to its own file'
    >>> refused_paths({}, {"--json": ""})
    {'--json': '--json: an empty path; give a file, or - for standard output'}
    >>> refused_paths({"--current": "b.csv"}, {"--json": "-", "--junit": "r.xml"})
    {}
    """
    refused: dict[str, str] = {}
    files: list[tuple[str, str]] = []
    for output, target in outputs.items():
        if target == "":
            refused[output] = f"{output}: an empty path; give a file, or - for standard output"
        elif target is not None and not on_stdout(target):
            files.append((output, target))
    sources = [
        (source, path, _local_path(path))
        for source, path in inputs.items()
        if path and path != STDOUT
    ]
    for output, target in files:
        for source, path, local in sources:
            if same_file(target, local):
                refused[output] = (
                    f"{output} {target} is the same file as {source} {path}: writing it "
                    "there would replace the input; write it elsewhere"
                )
                break
    for index, (output, target) in enumerate(files):
        for other, other_target in files[index + 1 :]:
            if same_file(target, other_target):
                why = (
                    f"{output} {target} and {other} {other_target} are the same file: "
                    "one report would replace the other; write each to its own file"
                )
                refused.setdefault(output, why)
                refused.setdefault(other, why)
    return refused


def refusal(
    command: str, inputs: Mapping[str, str | None], outputs: Mapping[str, str | None]
) -> int | None:
    """Exit code 2, having said why on standard error (``modelship COMMAND: ...``), when
    an output cannot be written as asked (:func:`refused_paths`); None when all can."""
    refused = refused_paths(inputs, outputs)
    if not refused:
        return None
    why = next(iter(refused.values()))
    print_text(f"modelship {command}: {printable(hide_credentials(why))}\n", sys.stderr)
    return 2


# The options of the check commands naming a file that is read.
_INPUTS = ("reference", "profile", "schema_file", "current", "data")


def run_and_report(checks: list[_FileCheck], args: argparse.Namespace) -> int:
    """Run ``checks``, write the reports asked for, print the summary, return the exit code.

    Refused before any file is read or written, with exit code 2: more than one report to
    standard output (``--json - --junit -``), which would run together there, unreadable;
    a report with an empty path, or that is the same file as an input (``--current``) or
    as another report (:func:`refused_paths`), which would be lost or replace it.
    """
    command = f"check {args.check_command}"
    refused = shared_stdout(args)
    if refused is not None:
        print_text(f"modelship {command}: {refused}\n", sys.stderr)
        return 2
    code = refusal(command, given(args, _INPUTS), given(args, _REPORTS))
    if code is not None:
        return code
    return _finish(run_suite(checks), args)


def _finish(suite: SuiteResult, args: argparse.Namespace) -> int:
    """Write the reports asked for, print the summary, return the exit code.

    With ``--strict`` every report gives the verdict of the run: a warning fails it. The
    summary goes to standard output, or to standard error when a report does (``-``).
    A report that cannot be written (an unwritable path) does not stop the others nor the
    summary, so the CI page still shows the verdict; its error is then printed on
    standard error and the exit code is 2.
    """
    strict = args.strict
    code = suite.exit_code(strict=strict)
    args.exit_code_so_far = code  # what main returns if a reader closes stdout early
    reports: list[tuple[str | None, Callable[[], str], bool]] = [
        (args.json, lambda: suite.to_json(strict=strict) + "\n", False),
        (args.junit, lambda: suite.to_junit(strict=strict), False),
        (args.markdown, lambda: suite.to_markdown(strict=strict), args.markdown_mode == "append"),
    ]
    reader_gone: BrokenPipeError | None = None
    unwritten: list[ModelshipError] = []
    for target, text, append in reports:
        if target is None:  # "" is refused before: never silently no report
            continue
        try:
            write_report(target, text(), append=append)
        except BrokenPipeError as exc:
            # `--json - | head -1`: the reader has what it wanted; the other reports are
            # still written, and main ends quietly with the verdict (exit_code_so_far).
            reader_gone = exc
        except ModelshipError as exc:  # the other reports and the summary still show why
            unwritten.append(exc)
    if unwritten:
        code = args.exit_code_so_far = EXIT_ERROR  # input or report refused: no verdict
    to_stdout = any(on_stdout(target) for target, _, _ in reports)
    print_text(suite.summary(strict=strict) + "\n", sys.stderr if to_stdout else sys.stdout)
    for error in unwritten:
        message = printable(" ".join(hide_credentials(str(error)).split()))
        print_text(f"modelship: {type(error).__name__}: {message}\n", sys.stderr)
    if reader_gone is not None:
        raise reader_gone
    return code


def write_report(target: str, text: str, *, append: bool = False) -> None:
    """Write a report to the file ``target`` (``-``: standard output).

    A file is replaced whole or not at all (:func:`~modelship.report.write_text`); one
    appended to (``$GITHUB_STEP_SUMMARY``) is first ended with a blank line, so the
    report's heading starts anew after whatever another step wrote.
    """
    if target == STDOUT:
        print_text(text, sys.stdout)
    else:
        write_text(target, _separator(target) + text if append else text, append=append)


def _separator(target: str) -> str:
    """What ends the file ``target`` with a blank line before a report is appended."""
    if not os.path.isfile(target):  # no file yet, or a pipe that cannot be read back
        return ""
    try:
        with open(target, "rb") as handle:
            handle.seek(0, io.SEEK_END)
            handle.seek(max(0, handle.tell() - 2))
            tail = handle.read()
    except OSError:  # one that cannot be read cannot be written either: write_text says why
        return ""
    if not tail or tail.endswith(b"\n\n"):
        return ""
    return "\n" if tail.endswith(b"\n") else "\n\n"


def print_text(text: str, stream: Any) -> None:
    """Write ``text`` to ``stream``; what its encoding cannot hold (a check mark on an
    ASCII terminal, a lone surrogate) is written escaped, never a crash that exits 1.
    Standard error is written as every message is (:func:`~modelship._cli_common.say`):
    one that cannot be written (``2>/dev/full``) changes nothing."""
    if stream is sys.stderr:
        say(text, end="")
        return
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()
