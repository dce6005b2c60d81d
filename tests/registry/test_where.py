"""``versions(name, where=...)``: filters by current tag and by metric.

A filter is a mapping of ``tags.<key>`` / ``metrics.<name>`` to a value or ``(op, value)``;
every condition must hold. Checked against a plain Python predicate on random versions.
"""

from __future__ import annotations

import operator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship import InvalidFilter
from modelship.cli import main
from modelship.testing import MemoryStore

OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _registry(aucs: list[float | None], stages: list[str | None]) -> ms.Registry:
    reg = ms.Registry(MemoryStore())
    for auc, stage in zip(aucs, stages, strict=True):
        mv = reg.register(
            model_name="m",
            model=b"x",
            serializer="bytes",
            metrics={} if auc is None else {"auc": auc},
        )
        if stage is not None:
            reg.set_tag("m", mv.version, "stage", stage)
    return reg


def _versions(listing: Any) -> list[str]:
    return [mv.version for mv in listing]


def test_a_tag_filter_keeps_versions_whose_current_tag_matches() -> None:
    reg = _registry([0.8, 0.9, 0.7], ["prod", None, "dev"])
    assert _versions(reg.versions("m", where={"tags.stage": "prod"})) == ["1"]


def test_a_tag_filter_sees_tags_given_at_registration() -> None:
    reg = ms.Registry(MemoryStore())
    reg.register(model_name="m", model=b"x", serializer="bytes", tags={"team": "risk"})
    reg.register(model_name="m", model=b"x", serializer="bytes")
    assert _versions(reg.versions("m", where={"tag.team": "risk"})) == ["1"]


def test_a_tag_filter_of_none_keeps_versions_without_the_tag() -> None:
    reg = _registry([0.8, 0.9, 0.7], ["prod", None, "dev"])
    assert _versions(reg.versions("m", where={"tags.stage": None})) == ["2"]
    assert _versions(reg.versions("m", where={"tags.stage": ("!=", None)})) == ["1", "3"]


def test_a_tag_that_is_not_set_differs_from_every_value() -> None:
    reg = _registry([0.8, 0.9, 0.7], ["prod", None, "dev"])
    assert _versions(reg.versions("m", where={"tags.stage": ("!=", "prod")})) == ["2", "3"]


def test_a_metric_filter_compares_numbers_and_skips_versions_without_the_metric() -> None:
    reg = _registry([0.8, None, 0.95], [None, None, None])
    assert _versions(reg.versions("m", where={"metrics.auc": (">=", 0.8)})) == ["1", "3"]
    assert _versions(reg.versions("m", where={"metric.auc": ("!=", 0.8)})) == ["3"]


def test_every_condition_must_hold() -> None:
    reg = _registry([0.8, 0.95, 0.97], ["prod", "dev", "prod"])
    where = {"tags.stage": "prod", "metrics.auc": (">", 0.9)}
    assert _versions(reg.versions("m", where=where)) == ["3"]


def test_a_filter_follows_tags_changed_after_registration() -> None:
    reg = _registry([0.8, 0.9], ["prod", None])
    reg.set_tag("m", "2", "stage", "prod")
    reg.remove_tag("m", "1", "stage")
    assert _versions(reg.versions("m", where={"tags.stage": "prod"})) == ["2"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"stage": "prod"}, "must be 'tags.<key>' or 'metrics.<name>'"),
        ({"params.lr": 1}, "must be 'tags.<key>' or 'metrics.<name>'"),
        ({"tags.": "x"}, "must be 'tags.<key>'"),
        ({"metrics.auc": ("=~", 1)}, "unknown operator"),
        ({"metrics.auc": (">=", 1, 2)}, r"\(op, value\)"),
        ({"metrics.auc": "high"}, "finite numbers"),
        ({"metrics.auc": float("nan")}, "finite numbers"),
        ({"metrics.auc": True}, "finite numbers"),
        ({"tags.stage": (">", "a")}, "tags compare as strings"),
        ({"tags.stage": 3}, "tags compare as strings"),
    ],
)
def test_a_bad_filter_raises_invalid_filter_saying_what_is_wrong(where: Any, message: str) -> None:
    reg = _registry([0.8], [None])
    with pytest.raises(InvalidFilter, match=message):
        reg.versions("m", where=where)
    with pytest.raises(InvalidFilter, match=message):
        reg.versions("m", where=where, limit=5)


def test_a_filter_that_is_not_a_mapping_raises_invalid_filter() -> None:
    reg = _registry([0.8], [None])
    with pytest.raises(InvalidFilter, match="mapping"):
        reg.versions("m", where=[("metrics.auc", 1)])  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    aucs=st.lists(st.one_of(st.none(), st.sampled_from([0.1, 0.5, 0.9])), min_size=1, max_size=8),
    stages=st.lists(st.one_of(st.none(), st.sampled_from(["dev", "prod"])), max_size=8),
    op=st.sampled_from(sorted(OPS)),
    threshold=st.sampled_from([0.1, 0.5, 0.9]),
    stage=st.one_of(st.none(), st.sampled_from(["dev", "prod"])),
    limit=st.integers(1, 9),
)
def test_filtered_listings_and_pages_keep_exactly_what_a_plain_predicate_keeps(
    aucs: list[float | None],
    stages: list[str | None],
    op: str,
    threshold: float,
    stage: str | None,
    limit: int,
) -> None:
    stages = (stages + [None] * len(aucs))[: len(aucs)]
    reg = _registry(aucs, stages)
    expected = [
        str(i)
        for i, (auc, tag) in enumerate(zip(aucs, stages, strict=True), start=1)
        if auc is not None and OPS[op](auc, threshold) and tag == stage
    ]
    assume_ne = [str(i) for i, tag in enumerate(stages, start=1) if tag != "prod"]
    assert _versions(reg.versions("m", where={"tags.stage": ("!=", "prod")})) == assume_ne
    where: Any = {"metrics.auc": (op, threshold), "tags.stage": stage}
    assert _versions(reg.versions("m", where=where)) == expected
    paged: list[str] = []
    cursor = None
    for _ in range(len(aucs) + 1):  # each page moves on by one slot at least
        page = reg.versions("m", where=where, limit=limit, cursor=cursor)
        paged += _versions(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert paged == expected


def test_cli_versions_filters_by_tag_and_metric(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for auc in (0.8, 0.95, 0.97):
        reg.register(model_name="m", model=b"x", serializer="bytes", metrics={"auc": auc})
    reg.set_tag("m", "3", "stage", "prod")
    capsys.readouterr()
    assert main(["registry", "versions", url, "m", "--metric", "auc>0.9", "--newest"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["3", "2"]
    assert main(["registry", "versions", url, "m", "--tag", "stage!=prod"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["1", "2"]


def test_cli_versions_with_a_malformed_condition_exits_2(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(model_name="m", model=b"x", serializer="bytes")
    assert main(["registry", "versions", url, "m", "--metric", "auc>=high"]) == 2
    assert "not a number" in capsys.readouterr().err
