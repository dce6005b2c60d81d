"""How a ModelVersion shows itself: a short repr, and an HTML table that escapes user data."""

from __future__ import annotations

import html.parser

import attrs
import pytest

import modelship as ms


@pytest.fixture
def reg() -> ms.Registry:
    return ms.open_registry("memory://display-tests")


class _Tags(html.parser.HTMLParser):
    """Collects the element names of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.tags.add(tag)


def test_repr_is_one_short_line_with_name_version_and_digest_prefix(reg: ms.Registry) -> None:
    mv = reg.register(
        model_name="fraud",
        model=b"w",
        serializer="bytes",
        params={f"p{i}": "x" * 100 for i in range(50)},
        description="d" * 2000,
    )
    text = repr(mv)
    assert "\n" not in text
    assert len(text) < 120
    assert text.startswith("<ModelVersion fraud 1 ")
    assert mv.artifact.digest[:19] in text


def test_repr_shows_three_metrics_and_counts_the_rest(reg: ms.Registry) -> None:
    mv = reg.register(
        model_name="m", model=b"w", serializer="bytes", metrics=dict.fromkeys("abcde", 1.0)
    )
    assert repr(mv).endswith("(a=1, b=1, c=1, +2 more)>")


def test_repr_clips_a_very_long_metric_name(reg: ms.Registry) -> None:
    mv = reg.register(model_name="m", model=b"w", serializer="bytes", metrics={"k" * 500: 1.0})
    assert len(repr(mv)) < 120


def test_html_escapes_every_user_given_value(reg: ms.Registry) -> None:
    evil = "<img src=x onerror=alert(1)>"
    mv = reg.register(
        model_name="m",
        model=b"w",
        serializer="bytes",
        metrics={evil: 1.0},
        tags={"note": evil},
        description=evil,
    )
    # register() refuses such a tag key; a record made or read elsewhere may still hold one.
    shown = attrs.evolve(mv, tags={evil: evil})
    for record in (mv, shown):
        parser = _Tags()
        parser.feed(record._repr_html_())
        assert parser.tags == {"table", "tr", "th", "td"}


def test_html_shows_metrics_tags_and_the_full_digest_on_hover(reg: ms.Registry) -> None:
    mv = reg.register(
        model_name="m", model=b"w", serializer="bytes", metrics={"auc": 0.9}, tags={"team": "r"}
    )
    page = mv._repr_html_()
    assert "auc=0.9" in page
    assert "team=r" in page
    assert f'title="{mv.artifact.digest}"' in page


def test_repr_does_not_change_equality_or_the_json_round_trip(reg: ms.Registry) -> None:
    mv = reg.register(model_name="m", model=b"w", serializer="bytes")
    assert ms.ModelVersion.from_json(mv.to_json()) == mv
    assert repr(ms.ModelVersion.from_json(mv.to_json())) == repr(mv)
