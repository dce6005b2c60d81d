"""The formats: JSON for machines, JUnit XML for CI pages, Markdown for pull requests, text.

Each renderer is a pure function of a :class:`~modelship.report.Report` returning text;
:data:`RENDERERS` names them, for a caller that picks a format by name. No command
has a ``--format`` option: each format has its own, ``--json PATH``, ``--junit PATH``
and ``--markdown PATH`` on the ``modelship check`` commands and on
``modelship parity check`` (which also writes its parity report with ``--report PATH``);
HTML is for notebooks (``_repr_html_``), and plain text is what those commands print.

A renderer given anything but a report (a result not yet turned into one by its
``to_report()``) raises :class:`~modelship.ConfigError` saying so.
"""

from __future__ import annotations

import contextlib
import errno
import html
import os
import re
import secrets
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path

from modelship import _json
from modelship._shown import printable
from modelship.errors import ConfigError
from modelship.report._model import Entry, Report, Section

__all__ = [
    "RENDERERS",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_text",
    "write_text",
]


def _check_report(report: object, renderer: str) -> None:
    """Refuse what is not a :class:`Report`, saying what to pass instead: the attribute
    error a renderer would meet names a field, not the mistake."""
    if isinstance(report, Report):
        return
    kind = type(report).__name__
    if callable(getattr(report, "to_report", None)):
        hint = f"pass its report: {renderer}(result.to_report())"
    else:
        hint = "build a modelship.report.Report, or pass a result's to_report()"
    raise ConfigError(f"{renderer} renders a modelship.report.Report, not a {kind}; {hint}")


def render_json(report: Report, *, indent: int | None = 2) -> str:
    """Return the report's document as strict JSON (non-finite numbers as ``null``).

    Examples
    --------
    >>> from modelship.report import Report, render_json
    >>> render_json(Report(title="t", passed=True, document={"schema_version": 1}), indent=None)
    '{"schema_version": 1}'
    """
    _check_report(report, "render_json")
    return _json.dumps(report.document, indent=indent)


def write_text(path: str | os.PathLike[str], text: str, *, append: bool = False) -> None:
    """Write ``text`` as UTF-8 to ``path``, creating missing parent directories.

    The file is replaced whole or not at all: the text is encoded first (a lone surrogate,
    as a file name that is not UTF-8 leaves in a reason, is written as ``\\udcff``), then
    written to a new file beside ``path`` that takes its place. So a failure leaves the
    previous report as it was, never an empty or half-written one. What is not a plain
    file of its own is written in place, as the shell's ``>`` writes it: a symbolic link
    (``/dev/stdout``), a device or pipe, a file with other hard links, a file the caller
    may not write (refused, as ``open`` refuses it), and a file in a folder where no new
    file can be made. With ``append=True`` the text is added to the end of the file
    (``$GITHUB_STEP_SUMMARY``); a write that fails part way (a full disk, Ctrl-C) cuts a
    plain file back to its old end, so no half report is left behind.

    Raises :class:`~modelship.ConfigError` naming the path when it cannot be written, or
    when it ends with a path separator (it names a folder, not a file) or holds a NUL
    character; and when ``path`` is not a path or ``text`` not a ``str`` (a report must be
    rendered first). A pipe whose reader has gone (``--json /dev/stdout | head -1``) is
    no path to change: its ``BrokenPipeError`` is raised as it is, for the caller to end
    quietly, as the shell's tools do.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from modelship.report import write_text
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "reports" / "out.md"
    >>> write_text(target, "### ok\\n")
    >>> write_text(target, "### more\\n", append=True)
    >>> target.read_text(encoding="utf-8")
    '### ok\\n### more\\n'
    """
    if not isinstance(path, str | os.PathLike):
        raise ConfigError(
            f"write_text writes to a path (str or os.PathLike), not a {type(path).__name__}; "
            "give the path of the file"
        )
    if not isinstance(text, str):
        hint = (
            "; render the report first, e.g. with render_markdown(report)"
            if isinstance(text, Report) or callable(getattr(text, "to_report", None))
            else ""
        )
        raise ConfigError(f"write_text writes a str, not a {type(text).__name__}{hint}")
    name = os.fspath(path)
    if "\0" in name:  # the system calls take no NUL: Python raises a bare ValueError
        raise ConfigError(
            f"cannot write {printable(name)}: a path cannot hold a NUL character (\\x00); "
            "give the path of a file"
        )
    if name.endswith(("/", os.sep)):  # Path() would drop the separator and write a file
        raise ConfigError(
            f"cannot write {printable(name)}: it names a folder; give the path of a file"
        )
    target = Path(name)
    data = text.encode("utf-8", "backslashreplace")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if append:
            _append(target, data)
        elif not _replaceable(target) or not _replace(target, data):
            with target.open("wb") as handle:
                handle.write(data)
    except BrokenPipeError:
        raise  # the reader has gone: not a path to choose again
    except (OSError, ValueError) as exc:  # UnicodeError: a name the file system cannot take
        reason = _unwritable(target, exc)
        raise ConfigError(
            f"cannot write {printable(name)}: {reason}; choose a writable path"
        ) from exc


def _unwritable(target: Path, exc: OSError | ValueError) -> str:
    """Why ``target`` could not be written, in words: a file where a folder must be, else
    the system's reason (``Permission denied``, ``No space left on device``). A
    ``ValueError`` is Python's refusal of the name before any system call."""
    if isinstance(exc, UnicodeError):
        return "the file system cannot take a character of its name"
    if isinstance(exc, ValueError):
        return f"the name cannot be passed to the system ({exc})"
    for folder in reversed(target.parents):  # from the top down: the first in the way
        if os.path.exists(folder) and not os.path.isdir(folder):
            return f"{printable(str(folder))} is a file, not a folder"
    return (exc.strerror or str(exc) or type(exc).__name__).rstrip(". ")


def _replaceable(target: Path) -> bool:
    """Whether ``target`` is missing or a plain file of its own the caller may write: only
    those are replaced by a rename. A rename over a symbolic link (``/dev/stdout``, as root)
    would replace the link; over a file with other hard links, split them; over a
    read-only file, write what ``open`` refuses."""
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        return True
    return stat.S_ISREG(found.st_mode) and found.st_nlink == 1 and os.access(target, os.W_OK)


def _append(target: Path, data: bytes) -> None:
    """Add ``data`` to the end of ``target``, all of it or (for a plain file) none of it.

    A write that fails part way cuts a plain file back to the size it had; a device or a
    pipe cannot be cut, and keeps what reached it.
    """
    # os.open applies the umask to 0o666, as open() does for a new report.
    handle = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        start = os.fstat(handle).st_size
        rest = memoryview(data)
        try:
            while rest:  # bounded: each turn writes at least one byte, or raises
                written = os.write(handle, rest)
                if written <= 0:
                    raise OSError(errno.EIO, "the file took no more bytes")
                rest = rest[written:]
        except BaseException:
            if stat.S_ISREG(os.fstat(handle).st_mode):
                with contextlib.suppress(OSError):
                    os.ftruncate(handle, start)
            raise
    finally:
        os.close(handle)


def _replace(target: Path, data: bytes) -> bool:
    """Put ``data`` in place of ``target`` at once: a new file beside it, then a rename.
    False, with nothing written, when no new file can be made there (a folder the caller
    may not write, a name at the file system's length limit)."""
    temporary = target.with_name(f".{secrets.token_hex(6)}.tmp")
    # os.open applies the umask to 0o666, as open() does for a new report.
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.ENAMETOOLONG):
            return False
        raise
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        with contextlib.suppress(OSError):  # keep an existing report's permissions
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True


# Characters of one name, reason or cell shown, in JUnit, Markdown and HTML; a longer one
# is cut. A reason naming 20 new categories of serialized payloads ran to 100,000
# characters; one naming 20 labels of 200 KB, to a million (2 MB of JUnit, written twice).
_SHOWN_TEXT = 500


def _cut(text: str) -> str:
    """``text``, or its first :data:`_SHOWN_TEXT` characters ending in "…" when longer."""
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + "…"


# --- JUnit XML ---------------------------------------------------------------------------

# XML 1.0 forbids most control characters even when escaped, and a lone surrogate (left
# by a file name that is not UTF-8) cannot be encoded at all.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _xml_cut(text: str) -> str:
    """``text`` as JUnit carries it: cut as Markdown and HTML cut it (:func:`_cut`, to
    :data:`_SHOWN_TEXT` characters ending in "…"), then made valid XML. A ``str`` is cut
    by code point, so no cut splits a character; a surrogate, lone or of a pair a cut
    parted, becomes U+FFFD (:func:`_xml_text`). The XML escapes are written after the cut
    (by ElementTree), so none is left half written."""
    return _xml_text(_cut(text))


# The last line of a failure's body when a text in it was cut: the JSON report, the full
# record, holds it whole.
_JUNIT_CUT_NOTE = (
    f'(a text longer than {_SHOWN_TEXT} characters is cut, ending in "…"; '
    "the JSON report holds it whole)"
)


def _failure_body(entry: Entry) -> str:
    texts = [entry.reason, *(text for item in entry.facts.items() for text in item)]
    lines = [_cut(entry.reason), *(f"{_cut(k)}: {_cut(v)}" for k, v in entry.facts.items())]
    if any(len(text) > _SHOWN_TEXT for text in texts):
        lines.append(_JUNIT_CUT_NOTE)
    return _xml_text("\n".join(lines))


def _add_testcase(
    parent: ET.Element, classname: str, name: str, entry: Entry, section: Section
) -> tuple[int, int, int]:
    """Append one ``<testcase>``; return how many (failures, errors, skipped) it adds.
    ``name`` is as the caller cut it; the reason is cut here (:func:`_xml_cut`)."""
    case = ET.SubElement(parent, "testcase", classname=classname, name=_xml_text(name))
    reason = _xml_cut(entry.reason)
    if entry.status == "error":
        ET.SubElement(case, "error", message=reason, type="error").text = _failure_body(entry)
        return 0, 1, 0
    fails = (entry.status == "fail" and section.blocking) or (
        section.strict and entry.status != "pass"
    )
    if fails:
        failure = ET.SubElement(case, "failure", message=reason, type=entry.status)
        failure.text = _failure_body(entry)
        return 1, 0, 0
    if entry.status == "skip":
        ET.SubElement(case, "skipped", message=reason)
        return 0, 0, 1
    if entry.status != "pass":
        ET.SubElement(case, "system-out").text = f"{_xml_text(entry.status)}: {reason}"
    return 0, 0, 0


_JUNIT_COUNTS = ("tests", "failures", "errors", "skipped")


def render_junit(report: Report) -> str:
    """Return JUnit XML: a ``<testsuite>`` per section, a ``<testcase>`` per verdict in it.

    An ``error`` is an ``<error>``, a ``fail`` in a blocking section (and anything but a
    ``pass`` in a strict one) a ``<failure>`` whose body lists the facts behind it, a
    ``skip`` a ``<skipped>`` with its reason; anything else passes, a warning with its
    reason in ``<system-out>``. Characters XML cannot carry become U+FFFD. As in Markdown
    and HTML, a name, reason, fact or property longer than 500 characters is cut (ending
    in "…"), and a failure's body then says so: the JSON report holds the text whole.

    Examples
    --------
    >>> from modelship.report import Entry, Report, Section, render_junit
    >>> head = Entry(name="auc", status="fail", reason="0.71 < 0.80", facts={"statistic": "0.71"})
    >>> xml = render_junit(Report(title="t", passed=False, sections=[Section(head=head)]))
    >>> '<failure message="0.71 &lt; 0.80" type="fail">0.71 &lt; 0.80' in xml
    True
    """
    _check_report(report, "render_junit")
    root = ET.Element("testsuites", name="modelship")
    totals = [0, 0, 0, 0]
    for section in report.sections:
        name = section.head.name
        testsuite = ET.SubElement(root, "testsuite", name=_xml_cut(name))
        properties = ET.SubElement(testsuite, "properties")
        for key, value in section.properties.items():
            if value:
                ET.SubElement(properties, "property", name=_xml_cut(key), value=_xml_cut(value))
        classname = _xml_text(f"{_cut(report.package)}.{_cut(name)}")
        counts = [1, *_add_testcase(testsuite, classname, _cut(name), section.head, section)]
        for entry in section.entries:
            case = f"{_cut(name)}[{_cut(entry.name)}]"
            added = _add_testcase(testsuite, classname, case, entry, section)
            counts = [counts[0] + 1, *(a + b for a, b in zip(counts[1:], added, strict=True))]
        for key, count in zip(_JUNIT_COUNTS, counts, strict=True):
            testsuite.set(key, str(count))
        totals = [total + count for total, count in zip(totals, counts, strict=True)]
    for key, count in zip(_JUNIT_COUNTS, totals, strict=True):
        root.set(key, str(count))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'


# --- Markdown ----------------------------------------------------------------------------

_ICONS = {"pass": "✅", "skip": "⏭️", "warn": "⚠️", "fail": "❌", "error": "💥"}


# Markdown's own characters in data: a pipe ends a cell, a bracket opens a link or an image,
# a backslash escapes what follows; &, < and > would start an entity or an HTML tag. An "@"
# followed by a name becomes a mention on GitHub and GitLab, notifying that user from a PR
# comment. "\\@" does not stop it: GitHub finds mentions after Markdown is rendered
# (github/markup#1168, cmark-gfm#181); an empty HTML comment after the "@" does, and renders
# as nothing.
_MENTION_BREAK = "@<!-- -->"
_MARKDOWN_ESCAPES = str.maketrans(
    {
        **{c: "\\" + c for c in "\\|[]*_`~"},  # tables, links, emphasis, code, strikethrough
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "@": _MENTION_BREAK,
    }
)


def _line(text: str) -> str:
    """``text`` on one line: runs of white space (newlines too) as one space, and what is
    not printable (an ESC, a lone surrogate) as Python escapes."""
    return printable(" ".join(text.split()))


def _cell(text: str) -> str:
    """Make ``text`` safe inside a GitHub/GitLab Markdown table cell or heading: on one
    line (as :func:`_line` puts it), cut to :data:`_SHOWN_TEXT` characters (ending in
    "…"), then escaped, so a cut never splits an escape or leaves a backtick or pipe bare.

    Examples
    --------
    >>> cut = _cell("`" * 600)
    >>> cut.count("\\\\`"), cut.endswith("…")
    (499, True)
    """
    return printable(_cut(" ".join(text.split()))).translate(_MARKDOWN_ESCAPES)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _value(entry: Entry, heading: str) -> str:
    own: Mapping[str, str] = {"status": entry.status, "reason": entry.reason}
    return own[heading] if heading in own else entry.cells.get(heading, "")


def _table(item: str, headings: tuple[str, ...], entries: list[Entry]) -> list[str]:
    lines = [_row(["", *map(_cell, (item, *headings))]), _row(["---"] * (len(headings) + 2))]
    for entry in entries:
        cells = [_cell(_value(entry, heading)) for heading in headings]
        lines.append(_row([_ICONS[entry.status], _cell(entry.name), *cells]))
    return lines


def _plural(item: str, count: int) -> str:
    return item if count == 1 else f"{item}s"


# Rows of a section's Markdown table. GitHub refuses a job summary over 1 MiB: a drift
# check of 100,000 columns made 9.4 MiB of Markdown, and its 50 rows now make 10 KiB. The
# entries that did not pass come first; the rest are counted.
_MARKDOWN_ROWS = 50

# The most bytes (UTF-8) of Markdown written, under GitHub's 1 MiB (1,048,576 bytes). A
# cell is at most 500 characters, but one character escaped can take 11 bytes (a format
# character beyond the BMP is written "\\U000e0001"): 50 rows of a check's 6 text cells
# could still make 1.65 MB, and a report has any number of sections. Lines past it are
# left out, with a note.
_MARKDOWN_BYTES = 1_000_000

_CUT_NOTE = (
    "*The rest of this report is left out: GitHub takes a job summary of 1 MiB at most. "
    "The JSON report holds every entry.*"
)

# A part of the Markdown: its opening lines, its rows (each of which may be left out),
# and the lines that close it.
_Block = tuple[list[str], list[str], list[str]]


def _details(section: Section) -> _Block:
    count = len(section.entries)
    entries = _worst_first(section.entries)
    shown = entries[:_MARKDOWN_ROWS]
    summary = f"{_line(section.head.name)}: {count} {_plural(_line(section.item), count)}"
    table = _table(section.item, section.headings, shown)
    # Raw HTML, where Markdown's escapes do not apply, but an "@name" is still a mention.
    summary = _h(summary).replace("@", _MENTION_BREAK)
    opening = ["", "<details>", f"<summary>{summary}</summary>", "", *table[:2]]
    rows = table[2:]
    if len(entries) > len(shown):
        rest = entries[len(shown) :]
        failing = sum(entry.status != "pass" for entry in rest)
        more = f"and {len(rest)} more" + (f" ({failing} not passing)" if failing else "")
        rows.append(_row(["", more, *[""] * len(section.headings)]))
    return opening, rows, ["", "</details>"]


def _size(lines: list[str]) -> int:
    """The bytes ``lines`` take written, each ending in a newline (a lone surrogate, which
    cells never hold, as :func:`write_text` writes it)."""
    return sum(len(line.encode("utf-8", "backslashreplace")) + 1 for line in lines)


def _within_bytes(lines: list[str], blocks: list[_Block]) -> list[str]:
    """``lines``, then the lines of ``blocks`` that keep the text within
    :data:`_MARKDOWN_BYTES`: at the first that would not, its block is closed and
    :data:`_CUT_NOTE` ends the text."""
    lines = list(lines)
    size = _size(lines) + 1  # and the blank line that ends the text
    room = _MARKDOWN_BYTES - _size(["", _CUT_NOTE])
    for opening, rows, closing in blocks:
        last = room - _size(closing)
        if size + _size(opening) > last:
            return [*lines, "", _CUT_NOTE]
        lines += opening
        size += _size(opening)
        for row in rows:
            size += _size([row])
            if size > last:
                return [*lines, *closing, "", _CUT_NOTE]
            lines.append(row)
        lines += closing
        size += _size(closing)
    return lines


def render_markdown(report: Report) -> str:
    """Return Markdown: a table of the sections, then a collapsible table of each one's entries.

    Text from the report is escaped (Markdown, HTML, characters that are not printable),
    one line per cell, and a cell longer than 500 characters is cut (ending in "…"). A
    section's table lists its entries that did not pass first, and at most 50 rows; the
    rest are counted. The text is at most 1,000,000 bytes of UTF-8, under the 1 MiB GitHub
    takes as a job summary: what would go past that is left out, and a last line says so
    (the JSON report holds every entry). The text ends with a blank line, so a report
    appended after it starts anew.

    Examples
    --------
    >>> from modelship.report import Entry, Report, Section, render_markdown
    >>> report = Report(title="modelship checks", passed=True,
    ...                 sections=[Section(head=Entry(name="schema", status="pass"))])
    >>> print(render_markdown(report))
    ### modelship checks: ✅ passed
    <BLANKLINE>
    |  | check | status | reason |
    | --- | --- | --- | --- |
    | ✅ | schema | pass |  |
    <BLANKLINE>
    <BLANKLINE>
    """
    _check_report(report, "render_markdown")
    verdict = "✅ passed" if report.passed else "❌ failed"
    heads = _table(report.item, report.headings, [section.head for section in report.sections])
    blocks = [
        (heads[:2], heads[2:], []),
        *(_details(section) for section in report.sections if section.entries),
    ]
    lines = _within_bytes([f"### {_cell(report.title)}: {verdict}", ""], blocks)
    return "\n".join(lines) + "\n\n"


# --- HTML (notebooks) ---------------------------------------------------------------------

_HTML_ROWS = 20  # entries shown per section; the rest are counted


def _h(text: str) -> str:
    """``text`` escaped for HTML, cut to :data:`_SHOWN_TEXT` characters first (a reason of
    megabytes would otherwise be megabytes of HTML in a notebook), its characters that
    are not printable written as escapes (:func:`printable`): a lone surrogate from a
    file name no UTF-8 encoder takes (the notebook could not send the HTML), and a
    right-to-left override reorders what a reader sees."""
    return html.escape(printable(_cut(text)), quote=True)


def _html_row(cells: list[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{cell}</{tag}>" for cell in cells) + "</tr>"


# The order a capped table shows entries in: what blocks first (sorted is stable, so
# entries of one status keep their order).
_SHOWN_FIRST = {"error": 0, "fail": 1, "warn": 2, "skip": 3, "pass": 4}


def _worst_first(entries: tuple[Entry, ...]) -> list[Entry]:
    return sorted(entries, key=lambda entry: _SHOWN_FIRST.get(entry.status, 0))


def _not_passing(section: Section) -> list[Entry]:
    return [entry for entry in _worst_first(section.entries) if entry.status != "pass"]


def _html_section(section: Section) -> list[str]:
    shown = _not_passing(section)
    count = len(section.entries)
    summary = (
        f"{_h(section.head.name)}: {len(shown)} of {count} {_h(_plural(section.item, count))} "
        "not passing"
    )
    headings = [h for h in section.headings if h != "reason"]
    lines = [
        f"<details><summary>{summary}</summary>",
        "<table>",
        _html_row(["", _h(section.item), "status", *map(_h, headings), "reason"], "th"),
    ]
    for entry in shown[:_HTML_ROWS]:
        cells = [_h(entry.cells.get(heading, "")) for heading in headings]
        lines.append(
            _html_row(
                [_ICONS[entry.status], _h(entry.name), entry.status, *cells, _h(entry.reason)]
            )
        )
    if len(shown) > _HTML_ROWS:
        lines.append(
            _html_row(["", f"and {len(shown) - _HTML_ROWS} more", "", *[""] * len(headings), ""])
        )
    lines += ["</table>", "</details>"]
    return lines


def render_html(report: Report) -> str:
    """Return a compact HTML table for notebooks: each section's status, name, reason and
    the entries that did not pass; then, per section, a collapsible table of those entries.

    Text is HTML-escaped; a section lists at most 20 entries and counts the rest, and a
    name, reason or cell longer than 500 characters is cut (ending in "…").

    Examples
    --------
    >>> from modelship.report import Entry, Report, Section, render_html
    >>> rows = [Entry(name="<age>", status="fail", reason="drifted")]
    >>> section = Section(head=Entry(name="drift", status="fail", reason="1 of 1"),
    ...                   entries=rows, item="column")
    >>> text = render_html(Report(title="checks", passed=False, sections=[section]))
    >>> "&lt;age&gt;" in text, "<age>" in text
    (True, False)
    """
    _check_report(report, "render_html")
    verdict = "✅ passed" if report.passed else "❌ failed"
    failing = "not passing"
    lines = [
        '<div class="modelship-report">',
        f"<p><strong>{_h(report.title)}: {verdict}</strong></p>",
        "<table>",
        _html_row(["", _h(report.item), "status", "reason", _h(failing)], "th"),
    ]
    for section in report.sections:
        head = section.head
        names = [entry.name for entry in _not_passing(section)]
        listed = ", ".join(map(_h, names[:5])) + (
            f" and {len(names) - 5} more" if len(names) > 5 else ""
        )
        lines.append(
            _html_row([_ICONS[head.status], _h(head.name), head.status, _h(head.reason), listed])
        )
    lines.append("</table>")
    for section in report.sections:
        if _not_passing(section):
            lines += _html_section(section)
    lines.append("</div>")
    return "\n".join(lines)


def _report_html(self: Report) -> str:
    """The report as :func:`render_html` renders it: what a notebook shows for a
    ``Report`` on a cell's last line (``suite.to_report()``).

    Examples
    --------
    >>> from modelship.report import Entry, Report, Section
    >>> report = Report(title="checks", passed=True,
    ...                 sections=[Section(head=Entry(name="drift", status="pass"))])
    >>> report._repr_html_().startswith('<div class="modelship-report">')
    True
    """
    return render_html(self)


# Report's notebook display, set here: the model module cannot import its renderers (they
# import it), and every import of modelship.report runs this module.
Report._repr_html_ = _report_html  # type: ignore[attr-defined]


# --- plain text --------------------------------------------------------------------------


def render_text(report: Report) -> str:
    """Return one line per section, then the verdict with counts by status.

    What is not printable in names and reasons (an ESC that would rewrite the terminal, a
    newline that would forge a line) is written as a Python escape.

    Examples
    --------
    >>> from modelship.report import Entry, Report, Section, render_text
    >>> head = Entry(name="drift", status="fail", reason="2 of 3 columns drifted")
    >>> print(render_text(Report(title="t", passed=False, sections=[Section(head=head)])))
    FAIL  drift: 2 of 3 columns drifted
    FAILED (1 check: 1 fail)
    """
    _check_report(report, "render_text")
    heads = [section.head for section in report.sections]
    lines = [
        f"{head.status.upper():5} {printable(head.name)}: {printable(head.reason)}"
        for head in heads
    ]
    counts: dict[str, int] = {}
    for head in heads:
        counts[head.status] = counts.get(head.status, 0) + 1
    tally = ", ".join(f"{count} {status}" for status, count in counts.items())
    verdict = "passed" if report.passed else "FAILED"
    noun = printable(_plural(report.item, len(heads)))
    lines.append(f"{verdict} ({len(heads)} {noun}{': ' + tally if tally else ''})")
    return "\n".join(lines)


RENDERERS: Mapping[str, Callable[[Report], str]] = {
    "html": render_html,
    "json": render_json,
    "junit": render_junit,
    "markdown": render_markdown,
    "text": render_text,
}
"""Every format by name (``"html"``, ``"json"``, ``"junit"``, ``"markdown"``,
``"text"``), for a caller that picks the format by name.

Examples
--------
>>> from modelship.report import RENDERERS, Report
>>> RENDERERS["json"](Report(title="t", passed=True, document={"ok": True}))
'{\n  "ok": true\n}'
"""
