"""How a :class:`~modelship.ModelVersion` shows itself: a one-line repr and a notebook table.

The full record is ``mv.to_dict()``; these are for people. Everything shown comes from
the record, so neither reads storage: aliases and archived state, which change after a
version is committed, are not part of the record and are not shown (``reg.aliases(name)``).
Names, tags and metrics are user data: the HTML escapes every one of them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from modelship._json import number_text
from modelship._shown import printable

__all__ = ["version_html", "version_repr"]

_SHOWN = 3  # metrics in a repr; the rest are counted
_DIGEST = 12  # hex digits of the digest in a repr, as git shortens commits
_LONGEST = 60  # characters of one user-given value in a repr
# The notebook table shows more, but not without bound: a version with 20,000 metrics or
# a description of a megabyte would otherwise put megabytes of HTML into the notebook.
_HTML_ITEMS = 20  # metrics, tags or attachments in the table; the rest are counted
_HTML_VALUE = 200  # characters of one name or value in the table
_HTML_DESCRIPTION = 1000  # characters of the description in the table


def _clip(text: str) -> str:
    """A user-given value on one line: cut, and what is not printable (an ESC, a newline
    in a metric's name) written as an escape."""
    text = text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."
    return printable(text)


def _metrics_text(metrics: Mapping[str, float | int]) -> str:
    items = sorted(metrics.items())
    shown = ", ".join(f"{_clip(k)}={number_text(v)}" for k, v in items[:_SHOWN])
    more = len(items) - _SHOWN
    return shown + (f", +{more} more" if more > 0 else "")


def version_repr(mv: Any) -> str:
    """A short, one-line repr of a model version: name, version, digest, metrics.

    What is not printable in a user-given value (an ESC, a newline) is shown escaped.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://version-repr-doc")
    >>> mv = reg.register(model_name="fraud", model=b"w", serializer="bytes",
    ...                   metrics={"auc": 0.912345678, "f1": 0.5, "loss": 0.1, "n": 3})
    >>> mv
    <ModelVersion fraud 1 sha256:50e721e49c01 (auc=0.912346, f1=0.5, loss=0.1, +1 more)>
    """
    digest = mv.artifact.digest[: 7 + _DIGEST]
    metrics = _metrics_text(mv.metrics)
    return (
        f"<ModelVersion {_clip(mv.name)} {_clip(mv.version)} {digest}"
        + (f" ({metrics})" if metrics else "")
        + ">"
    )


def _row(label: str, value: str, title: str = "") -> str:
    # printable(): a lone surrogate (a non-UTF-8 file name) made the HTML unsendable, and
    # a right-to-left override reorders what a reader sees.
    attribute = f' title="{html.escape(printable(title))}"' if title else ""
    return (
        f"<tr><th style='text-align:left'>{html.escape(printable(label))}</th>"
        f"<td style='text-align:left'{attribute}>{html.escape(printable(value))}</td></tr>"
    )


def _cut(text: str, limit: int = _HTML_VALUE) -> str:
    """``text``, cut to ``limit`` characters (the last an ellipsis) for the notebook table."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _more(shown: str, count: int, where: str) -> str:
    """``shown``, and how many of ``count`` items it leaves out and where they are."""
    if count <= _HTML_ITEMS:
        return shown
    return f"{shown}, +{count - _HTML_ITEMS} more ({where})"


def _mapping_text(mapping: Mapping[str, Any], where: str) -> str:
    items = sorted(mapping.items())
    shown = ", ".join(
        f"{_cut(k)}={number_text(v) if _is_number(v) else _cut(str(v))}"
        for k, v in items[:_HTML_ITEMS]
    )
    return _more(shown, len(items), where)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def version_html(mv: Any) -> str:
    """A compact HTML table of a model version, for notebooks; all user data escaped.

    Its size is bounded: at most 20 metrics, tags and attachments (the rest counted, as
    ``+N more``), names and values cut to 200 characters, the description to 1,000.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://version-html-doc")
    >>> mv = reg.register(model_name="fraud", model=b"w", serializer="bytes",
    ...                   tags={"note": "<script>alert(1)</script>"})
    >>> "<script>" in mv._repr_html_(), "&lt;script&gt;" in mv._repr_html_()
    (False, True)
    """
    rows = [
        _row("version", f"{_cut(mv.name)} {_cut(mv.version)}"),
        _row("digest", mv.artifact.digest[: 7 + _DIGEST], title=mv.artifact.digest),
        _row("size", f"{mv.artifact.size:,} bytes ({mv.artifact.serializer})"),
        _row("created", f"{mv.created_at:%Y-%m-%d %H:%M:%S} UTC by {_cut(mv.created_by or '?')}"),
    ]
    if mv.metrics:
        rows.append(_row("metrics", _mapping_text(mv.metrics, "mv.metrics")))
    if mv.tags:
        rows.append(_row("tags", _mapping_text(mv.tags, "mv.tags")))
    if mv.params:
        rows.append(_row("params", f"{len(mv.params)} (mv.params)"))
    if mv.lineage.git_commit:
        dirty = " (dirty)" if mv.lineage.git_dirty else ""
        rows.append(_row("git", f"{_cut(mv.lineage.git_commit[:12])}{dirty}"))
    if mv.attachments:
        roles = sorted(mv.attachments)
        shown = ", ".join(_cut(role) for role in roles[:_HTML_ITEMS])
        rows.append(_row("attachments", _more(shown, len(roles), "mv.attachments")))
    if mv.description:
        rows.append(_row("description", _cut(mv.description, _HTML_DESCRIPTION)))
    return "<table class='modelship-version'>" + "".join(rows) + "</table>"
