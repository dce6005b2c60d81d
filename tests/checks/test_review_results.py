"""Bias and degradation results in suite documents: round trips and malformed documents."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelship.checks import (
    Bias,
    BiasResult,
    CheckResult,
    Degradation,
    DegradationResult,
    SuiteResult,
    run_suite,
)
from modelship.errors import ConfigError


def suite() -> SuiteResult:
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n)
    return run_suite(
        [
            Bias(y_true=y, y_pred=rng.integers(0, 2, n), sensitive=rng.choice(["a", "b"], n)),
            Degradation(
                y=y,
                candidate_scores=rng.random(n),
                baseline_scores=rng.random(n),
                segments=rng.choice(["north", "south"], n),
            ),
            lambda: CheckResult(name="plain", status="pass"),
        ]
    )


def test_a_suite_with_bias_and_degradation_results_round_trips_through_json() -> None:
    original = suite()
    back = SuiteResult.from_json(original.to_json())
    assert [type(r) for r in back.results] == [BiasResult, DegradationResult, CheckResult]
    assert back == original


def test_results_are_tagged_with_their_type_in_the_document() -> None:
    doc = suite().to_dict()
    assert [r.get("result_type") for r in doc["results"]] == ["bias", "degradation", None]


def test_a_document_without_the_tag_reads_as_plain_results() -> None:
    doc = suite().to_dict()
    for result in doc["results"]:
        result.pop("result_type", None)
    back = SuiteResult.from_dict(doc)
    assert [type(r) for r in back.results] == [CheckResult] * 3
    assert [r.status for r in back.results] == [r.status for r in suite().results]


def test_a_tag_this_version_does_not_know_reads_as_a_plain_result() -> None:
    doc = suite().to_dict()
    doc["results"][0]["result_type"] = "from_the_future"
    assert type(SuiteResult.from_dict(doc).results[0]) is CheckResult


def test_a_tag_that_is_not_text_is_a_malformed_document() -> None:
    doc = suite().to_dict()
    doc["results"][0]["result_type"] = 7
    with pytest.raises(ConfigError, match=r"malformed suite result.*result_type"):
        SuiteResult.from_dict(doc)


def bias_doc() -> dict[str, Any]:
    return json.loads(json.dumps(suite().results[0].to_dict()))


def degradation_doc() -> dict[str, Any]:
    return json.loads(json.dumps(suite().results[1].to_dict()))


DP = "demographic_parity_difference"

BIAS_EDITS: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("no feature_set", lambda d: d["disparities"][DP].pop("feature_set")),
    ("status ok", lambda d: d["disparities"][DP].__setitem__("status", "ok")),
    ("disparities a list", lambda d: d.__setitem__("disparities", [])),
    ("groups a string", lambda d: d.__setitem__("groups", "a,b")),
    ("a disparity a number", lambda d: d["disparities"].__setitem__(DP, 3)),
    ("value text", lambda d: d["disparities"][DP].__setitem__("value", "high")),
    ("passed text", lambda d: d["disparities"][DP].__setitem__("passed", "yes")),
    ("feature_set text", lambda d: d["disparities"][DP].__setitem__("feature_set", "sex")),
    ("count text", lambda d: d["groups"]["a"].__setitem__("count", "40")),
    ("value a boolean", lambda d: d["disparities"][DP].__setitem__("value", True)),
]


@pytest.mark.parametrize(("label", "edit"), BIAS_EDITS, ids=[label for label, _ in BIAS_EDITS])
def test_an_edited_bias_document_is_a_config_error(
    label: str, edit: Callable[[dict[str, Any]], object]
) -> None:
    doc = copy.deepcopy(bias_doc())
    edit(doc)
    with pytest.raises(ConfigError, match="malformed bias result"):
        BiasResult.from_dict(doc)


DEGRADATION_EDITS: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("no verdict", lambda d: d["metrics"]["roc_auc"].pop("verdict")),
    ("verdict unknown", lambda d: d["metrics"]["roc_auc"].__setitem__("verdict", "meh")),
    ("performance text", lambda d: d.__setitem__("performance", "fast")),
    ("metrics a list", lambda d: d.__setitem__("metrics", [])),
    ("a slice a list", lambda d: d["slices"].__setitem__("north", [])),
    ("n text", lambda d: d["metrics"]["roc_auc"].__setitem__("n", "300")),
    ("worst_segments text", lambda d: d.__setitem__("worst_segments", "north")),
    (
        "performance budgets text",
        lambda d: d.__setitem__("performance", {"budgets": {"size_ratio": "2"}}),
    ),
]


@pytest.mark.parametrize(
    ("label", "edit"), DEGRADATION_EDITS, ids=[label for label, _ in DEGRADATION_EDITS]
)
def test_an_edited_degradation_document_is_a_config_error(
    label: str, edit: Callable[[dict[str, Any]], object]
) -> None:
    doc = copy.deepcopy(degradation_doc())
    edit(doc)
    with pytest.raises(ConfigError, match="malformed degradation result"):
        DegradationResult.from_dict(doc)


def test_an_edited_bias_result_in_a_suite_is_a_config_error() -> None:
    doc = suite().to_dict()
    doc["results"][0]["disparities"] = []
    with pytest.raises(ConfigError, match="malformed bias result"):
        SuiteResult.from_dict(doc)
