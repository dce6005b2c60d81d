"""What every renderer reads: a report of verdicts, grouped in sections, with the data behind it.

A capability (checks, environment parity, a rollout) turns its result into a
:class:`Report` once; every format (JSON, JUnit XML, Markdown, plain text) is then a pure
function of that report, so two runs on the same result render the same bytes.

Each record checks its arguments when it is built (``InvalidParameter`` names the field,
the value and what is allowed), so a renderer never meets a ``None`` name or a string
where a list of headings belongs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from modelship._params import Constraint, Constraints, Options, Text, check_parameters
from modelship._shown import brief, printable
from modelship.errors import InvalidParameter

__all__ = ["STATUSES", "Entry", "Report", "Section"]

STATUSES: tuple[str, ...] = ("pass", "skip", "warn", "fail", "error")
"""The verdicts a report knows, best to worst; ``skip`` means "could not be judged, and
says why" (a constant column), ``error`` means "could not be computed"."""


class _SequenceOf(Constraint):
    """A list or tuple whose items are each an instance of ``kind``: never a bare string,
    which ``tuple()`` would split into one-letter headings."""

    def __init__(self, kind: type, noun: str) -> None:
        self.kind = kind
        self.noun = noun

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, list | tuple) and all(isinstance(v, self.kind) for v in value)

    def __str__(self) -> str:
        return f"a list or tuple of {self.noun}"

    def invalid_values(self) -> tuple[object, ...]:
        return ("status", [object()])


_MAPPING = (None, Mapping)  # converted to text by _text_map


def _entries(value: Iterable[Entry]) -> tuple[Entry, ...]:
    return tuple(value)


def _sections(value: Iterable[Section]) -> tuple[Section, ...]:
    return tuple(value)


def _headings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _text_map(field: str, value: Mapping[str, Any] | None) -> dict[str, str]:
    """The mapping ``field``'s keys and values as text."""
    return {_text(field, key, key): _text(field, key, item) for key, item in (value or {}).items()}


# Converters of the mapping fields, one for each: a message names the field.
def _cells(value: Mapping[str, Any] | None) -> dict[str, str]:
    return _text_map("cells", value)


def _facts(value: Mapping[str, Any] | None) -> dict[str, str]:
    return _text_map("facts", value)


def _properties(value: Mapping[str, Any] | None) -> dict[str, str]:
    return _text_map("properties", value)


def _text(field: str, key: object, value: object) -> str:
    """``str(value)``, the key or the value at ``key`` of ``field``; an
    :class:`~modelship.errors.InvalidParameter` naming them when Python refuses to write it
    (an int of more than 4300 digits, ``sys.get_int_max_str_digits()``)."""
    try:
        return str(value)
    except ValueError:
        raise InvalidParameter(
            f"{field}[{brief(key)}]",
            value,
            "text, or a value Python can write as text (an integer of at most 4300 digits "
            "by default: sys.get_int_max_str_digits()); give a shorter figure for people, "
            "such as the number of digits",
        ) from None


@attrs.frozen(kw_only=True)
class Entry:
    """One verdict: a check, a column of a check, a group, a difference, a rollout step.

    Parameters
    ----------
    name : str
        What was judged.
    status : {"pass", "skip", "warn", "fail", "error"}
        The verdict.
    reason : str
        One line a person can read.
    cells : Mapping[str, str]
        Table cells by heading (see :attr:`Report.headings`, :attr:`Section.headings`),
        already formatted for people; a missing heading is an empty cell.
    facts : Mapping[str, str]
        Every number behind the verdict, as ``label: value`` lines under a JUnit failure.

    Examples
    --------
    >>> from modelship.report import Entry
    >>> Entry(name="age", status="fail", reason="drifted", cells={"method": "ks"}).cells
    {'method': 'ks'}
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "name": str,
        "status": Options(STATUSES),
        "reason": str,
        "cells": _MAPPING,
        "facts": _MAPPING,
    }
    __attrs_pre_init__ = check_parameters

    name: str
    status: str
    reason: str = ""
    cells: Mapping[str, str] = attrs.field(factory=dict, converter=_cells)
    facts: Mapping[str, str] = attrs.field(factory=dict, converter=_facts)


@attrs.frozen(kw_only=True)
class Section:
    """A verdict with the entries behind it: a JUnit test suite, a collapsible table.

    Parameters
    ----------
    head : Entry
        The section's own verdict (a row of the report's table, the first test case).
    entries : sequence of Entry
        The parts (columns, groups...), in order; each is a test case named
        ``head[entry]`` and a row of the section's table.
    headings : sequence of str
        Headings of the section's table after the icon and the entry's name;
        ``"status"`` and ``"reason"`` show the entry's own.
    item : str
        What an entry is, singular ("column", "group"), for headings and counts.
    blocking : bool
        Whether a ``fail`` in this section fails the run (a JUnit ``<failure>``); when
        False a fail is reported but passes, as a warning does.
    strict : bool
        Whether every verdict in this section that is not a ``pass`` fails the run, as
        ``--strict`` asks: a ``warn``, a ``skip`` or an advisory ``fail`` is then a JUnit
        ``<failure>`` too.
    properties : Mapping[str, str]
        JUnit properties of the test suite; empty values are left out.

    Examples
    --------
    >>> from modelship.report import Entry, Section
    >>> head = Entry(name="drift", status="pass", reason="no drift")
    >>> Section(head=head, item="column").entries
    ()
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "head": Entry,
        "entries": _SequenceOf(Entry, "Entry records"),
        "headings": _SequenceOf(str, "strings"),
        "item": Text(),
        "blocking": bool,
        "strict": bool,
        "properties": _MAPPING,
    }
    __attrs_pre_init__ = check_parameters

    head: Entry
    entries: tuple[Entry, ...] = attrs.field(default=(), converter=_entries)
    headings: tuple[str, ...] = attrs.field(default=(), converter=_headings)
    item: str = "item"
    blocking: bool = True
    strict: bool = False
    properties: Mapping[str, str] = attrs.field(factory=dict, converter=_properties)


_REPR_ITEM = 40  # characters of a report's item a repr shows


@attrs.frozen(kw_only=True, repr=False)
class Report:
    """Everything a renderer needs: the verdict, the sections, and the data as JSON.

    Parameters
    ----------
    title : str
        The report's headline ("modelship checks").
    passed : bool
        The overall verdict (of a ``--strict`` run: a warning fails it too).
    sections : sequence of Section
        One per check (or environment, or rollout stage).
    headings : sequence of str
        Headings of the summary table after the icon and the section's name.
    item : str
        What a section is, singular ("check"), for the summary's heading and counts.
    package : str
        Prefix of JUnit class names (``{package}.{section name}``).
    document : Mapping[str, Any]
        The result as a JSON document (with its ``schema_version``), rendered by
        :func:`~modelship.report.render_json`.

    Examples
    --------
    >>> from modelship.report import Entry, Report, Section, render_text
    >>> head = Entry(name="numpy", status="pass", reason="2.1 == 2.1")
    >>> report = Report(title="parity", passed=True, item="difference",
    ...                 package="modelship.parity", sections=[Section(head=head)])
    >>> print(render_text(report))
    PASS  numpy: 2.1 == 2.1
    passed (1 difference: 1 pass)
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "title": Text(),
        "passed": bool,
        "sections": _SequenceOf(Section, "Section records"),
        "headings": _SequenceOf(str, "strings"),
        "item": Text(),
        "package": Text(),
        "document": Mapping,
    }
    __attrs_pre_init__ = check_parameters

    title: str
    passed: bool
    sections: tuple[Section, ...] = attrs.field(default=(), converter=_sections)
    headings: tuple[str, ...] = attrs.field(default=("status", "reason"), converter=_headings)
    item: str = "check"
    package: str = "modelship"
    document: Mapping[str, Any] = attrs.field(factory=dict, eq=False)

    def __repr__(self) -> str:
        """One line: the title, the verdict and the count of sections by status.

        Not the fields: the document and the entries of a 500-column check are hundreds
        of kilobytes (the renderers and :attr:`document` have them all). The title is
        shown as ``repr`` shows text (escapes for what is not printable), cut to 100
        characters.

        Examples
        --------
        >>> from modelship.report import Entry, Report, Section
        >>> sections = [Section(head=Entry(name="drift", status="fail")),
        ...             Section(head=Entry(name="schema", status="pass"))]
        >>> Report(title="modelship checks", passed=False, sections=sections)
        <Report 'modelship checks' failed: 2 checks (1 pass, 1 fail)>
        """
        heads = [section.head.status for section in self.sections]
        counts = [f"{n} {status}" for status in STATUSES if (n := heads.count(status))]
        item = self.item if len(self.item) <= _REPR_ITEM else self.item[: _REPR_ITEM - 1] + "…"
        noun = printable(item if len(heads) == 1 else f"{item}s")
        tally = f" ({', '.join(counts)})" if counts else ""
        verdict = "passed" if self.passed else "failed"
        return f"<Report {brief(self.title)} {verdict}: {len(heads)} {noun}{tally}>"
