"""Reports any capability can render: JSON, JUnit XML, Markdown, HTML and plain text.

A result (a check suite, an environment comparison, a rollout record) becomes a
:class:`Report` of :class:`Section` s of :class:`Entry` verdicts, with its JSON document;
each renderer is a pure function of that report. A new capability writes one function
from its result to a :class:`Report` and gets every format, the same CI behaviour (an
``error`` or a blocking ``fail`` is a JUnit failure) and the same Markdown layout.

Examples
--------
>>> from modelship.report import Entry, Report, Section, render_markdown
>>> rows = [Entry(name="numpy", status="fail", reason="1.26 != 2.1",
...               cells={"expected": "2.1", "found": "1.26"})]
>>> head = Entry(name="serving", status="fail", reason="1 of 40 differ")
>>> section = Section(head=head, entries=rows, item="package",
...                   headings=("expected", "found", "reason"))
>>> report = Report(title="environment parity", passed=False, item="environment",
...                 sections=[section])
>>> print(render_markdown(report).splitlines()[0])
### environment parity: ❌ failed
"""

from __future__ import annotations

from modelship._public import publish
from modelship.report._model import STATUSES, Entry, Report, Section
from modelship.report._render import (
    RENDERERS,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_text,
    write_text,
)

__all__ = [
    "RENDERERS",
    "STATUSES",
    "Entry",
    "Report",
    "Section",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_text",
    "write_text",
]

publish(globals(), __all__, __name__)
