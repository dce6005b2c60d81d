"""Check defects found in review (stop 37): a profile's schema that contradicts its columns,
hostile checks in a suite, column results of one name, huge numbers, text quantiles."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelship.checks import (
    CheckResult,
    ColumnResult,
    ColumnSchema,
    DriftProfile,
    Schema,
    SuiteResult,
    run_suite,
)
from modelship.checks.stats import QuantileSummary
from modelship.errors import CheckInputError, ConfigError

# --- a profile's schema is checked against its columns --------------------------------


def profile_doc() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 1000)
    x[:10] = np.inf
    x[10:30] = np.nan
    reference = {
        "x": x,
        "f": rng.normal(0, 1, 1000).astype(np.float32),
        "c": rng.choice(["a", "b"], 1000),
    }
    return json.loads(DriftProfile.from_data(reference).to_json())  # type: ignore[no-any-return]


def column(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in doc["schema"]["columns"] if c["name"] == name)  # type: ignore[no-any-return]


DAMAGE: dict[str, tuple[str, str, Any]] = {
    "inf_rate": ("x", "inf_rate", 0.6),
    "inf_rate where there is none": ("f", "inf_rate", 0.01),
    "minimum": ("x", "minimum", -1e6),
    "maximum": ("x", "maximum", 1e6),
    "float32 maximum": ("f", "maximum", 1e6),
    "categories widened": ("c", "categories", ["a", "b", "z"]),
    "categories narrowed": ("c", "categories", ["a"]),
    "categories on a numeric column": ("x", "categories", ["a"]),
    "range on a categorical column": ("c", "maximum", 3.0),
    "inf_rate on a categorical column": ("c", "inf_rate", 0.5),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_profile_whose_schema_contradicts_its_columns_is_refused(case: str) -> None:
    name, field, value = DAMAGE[case]
    doc = profile_doc()
    column(doc, name)[field] = value
    with pytest.raises(ConfigError, match=f"{name!r}.*{field!r}|{field!r}.*{name!r}"):
        DriftProfile.from_dict(doc)


@pytest.mark.parametrize("name", ["x", "f", "c"])
def test_a_profile_whose_schema_calls_a_column_nullable_without_nulls_is_refused(
    name: str,
) -> None:
    doc = profile_doc()
    column(doc, name)["nullable"] = not column(doc, name)["nullable"]
    with pytest.raises(ConfigError, match="nullable"):
        DriftProfile.from_dict(doc)


def test_an_intact_profile_still_reads() -> None:
    doc = profile_doc()
    assert DriftProfile.from_dict(copy.deepcopy(doc)).to_dict() == doc


def test_a_damaged_profile_never_passes_a_batch_of_infinities() -> None:
    rng = np.random.default_rng(0)
    doc = json.loads(DriftProfile.from_data({"x": rng.normal(0, 1, 1000)}).to_json())
    column(doc, "x")["inf_rate"] = 0.6
    with pytest.raises(ConfigError, match="inf_rate"):
        DriftProfile.from_dict(doc)


# --- a standalone column schema that contradicts itself -------------------------------


def column_schema(**fields: Any) -> dict[str, Any]:
    base = {
        "name": "x",
        "kind": "numeric",
        "dtype": "float64",
        "nullable": False,
        "null_rate": 0.0,
        "minimum": 1.0,
        "maximum": 3.0,
        "categories": None,
        "inf_rate": 0.0,
    }
    return {"schema_version": 1, "columns": [{**base, **fields}]}


@pytest.mark.parametrize(
    "fields",
    [
        {"nullable": False, "null_rate": 0.5},
        {"nullable": True, "null_rate": 0.0},
        {"nullable": True, "null_rate": 0.6, "inf_rate": 0.5},
    ],
)
def test_a_column_schema_that_contradicts_itself_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="null_rate"):
        Schema.from_json(json.dumps(column_schema(**fields)))
    with pytest.raises(ConfigError, match="null_rate"):
        ColumnSchema(**column_schema(**fields)["columns"][0])


def test_a_column_schema_all_missing_or_infinite_reads() -> None:
    schema = Schema.infer({"x": np.array([np.nan, np.inf, np.inf])})
    assert Schema.from_json(schema.to_json()) == schema


# --- hostile checks in a suite ---------------------------------------------------------


class BadName:
    @property
    def name(self) -> str:
        raise RuntimeError("name lookup failed")

    def run(self) -> CheckResult:
        return CheckResult(name="bad_name", status="pass")


class BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str broke")


class RaisesBadStr:
    name = "bad_str"

    def run(self) -> CheckResult:
        raise BadStr


class Exits:
    name = "exits"

    def run(self) -> CheckResult:
        raise SystemExit(3)


class Locked:
    """A check that cannot be pickled: it runs in the calling process."""

    name = "locked"

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def run(self) -> CheckResult:
        with self.lock:
            return CheckResult(name="locked", status="fail", reason="by design")


class UnsendableResult:
    name = "unsendable"

    def run(self) -> CheckResult:
        return CheckResult(name="unsendable", status="pass", details={"lock": threading.Lock()})


def ok() -> CheckResult:
    return CheckResult(name="ok", status="pass")


HOSTILE: dict[str, Callable[[], object]] = {
    "name raises": BadName,
    "str of the exception raises": RaisesBadStr,
    "sys.exit": Exits,
}


@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_check_is_an_error_and_the_others_still_run(
    case: str, n_jobs: int | None
) -> None:
    suite = run_suite([ok, HOSTILE[case]()], n_jobs=n_jobs)  # type: ignore[list-item]
    assert [r.status.value for r in suite.results] == ["pass", "error"]
    assert suite.results[0].name == "ok"
    assert suite.results[1].reason


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_a_check_that_cannot_be_pickled_runs_in_the_calling_process(n_jobs: int | None) -> None:
    suite = run_suite([ok, Locked(), ok], n_jobs=n_jobs)
    assert [(r.name, r.status.value) for r in suite.results] == [
        ("ok", "pass"),
        ("locked", "fail"),
        ("ok", "pass"),
    ]


def test_a_result_that_cannot_be_sent_back_from_a_worker_is_an_error() -> None:
    suite = run_suite([ok, UnsendableResult()], n_jobs=2)
    assert [(r.name, r.status.value) for r in suite.results] == [
        ("ok", "pass"),
        ("unsendable", "error"),
    ]


def test_a_severity_given_as_text_is_kept_on_the_error() -> None:
    class Advisory:
        name = "adv"
        severity = "advisory"

        def run(self) -> CheckResult:
            raise ValueError("boom")

    assert run_suite([ok, Advisory()]).results[1].severity.value == "advisory"


# --- column results of one name --------------------------------------------------------


def test_two_column_results_of_one_name_are_refused() -> None:
    columns = [
        ColumnResult(name="a", status="fail", reason="bad"),
        ColumnResult(name="a", status="pass"),
    ]
    with pytest.raises(ConfigError, match="'a'"):
        CheckResult(name="c", status="fail", columns=columns)


def test_a_column_result_kept_under_another_name_is_refused() -> None:
    suite = SuiteResult(
        [
            CheckResult(
                name="drift",
                status="fail",
                columns=[
                    ColumnResult(name="age", status="fail", reason="drifted"),
                    ColumnResult(name="zip", status="pass"),
                ],
            )
        ]
    )
    doc = json.loads(suite.to_json())
    assert SuiteResult.from_dict(copy.deepcopy(doc)) == suite
    doc["results"][0]["columns"]["age"]["name"] = "zip"
    with pytest.raises(ConfigError, match=r"'age'.*'zip'"):
        SuiteResult.from_dict(doc)


# --- numbers beyond a float's range in a suite document -------------------------------


def suite_text() -> str:
    column = ColumnResult(name="a", status="pass", p_value=0.5, details={"n": [0.5]})
    result = CheckResult(name="c", status="pass", statistic=0.5, columns=[column])
    return SuiteResult([result]).to_json()


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ('"statistic": 0.5', '"statistic": 1e400', "at statistic"),
        ('"p_value": 0.5', '"p_value": -1e400', "at columns.a.p_value"),
        ("0.5\n", "1e400\n", "at columns.a.details.n[0]"),
        ('"statistic": 0.5', '"statistic": 1' + "0" * 400, "field 'statistic' is an integer"),
    ],
)
def test_a_suite_document_with_an_infinite_number_is_refused(old: str, new: str, said: str) -> None:
    text = suite_text()
    assert old in text
    with pytest.raises(ConfigError, match=re.escape(said)):
        SuiteResult.from_json(text.replace(old, new, 1))


# --- a quantile summary holds JSON numbers --------------------------------------------


def summary_profile() -> dict[str, Any]:
    rng = np.random.default_rng(1)
    reference = {"x": rng.normal(0, 1, 3000), "c": rng.choice(["a", "b"], 3000)}
    return json.loads(DriftProfile.from_data(reference, summary_size=11).to_json())  # type: ignore[no-any-return]


@pytest.mark.parametrize("key", ["quantiles", "ranks"])
def test_a_quantile_summary_of_text_numbers_is_refused(key: str) -> None:
    doc = summary_profile()
    summary = doc["numeric"]["x"]["summary"]
    summary[key] = [str(value) for value in summary[key]]
    with pytest.raises(ConfigError, match=key):
        DriftProfile.from_dict(doc)


def test_a_quantile_summary_read_directly_refuses_text() -> None:
    with pytest.raises(CheckInputError, match="quantiles"):
        QuantileSummary.from_dict({"n": 2, "quantiles": ["0.5", 1.5], "ranks": [1, 2]})


def test_a_profile_left_out_column_with_a_number_for_its_reason_is_refused() -> None:
    doc = summary_profile()
    doc["left_out"] = {"z": 3}
    with pytest.raises(ConfigError, match="left_out"):
        DriftProfile.from_dict(doc)
