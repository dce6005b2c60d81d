"""Documents read back from JSON: a field of the wrong type is the reader's own error.

Found by fuzzing the readers with JSON-level mutations (a value replaced by a number, a
string, a list, null; a key dropped): ``Schema``, ``SuiteResult`` and ``ModelVersion``
raised ``TypeError``, ``AttributeError``, ``KeyError`` or ``ValueError`` for such
documents, and ``DriftProfile`` a ``TypeError`` for a column name that was not a string.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.checks import DataDrift, DriftProfile, Schema, SuiteResult, run_suite
from modelship.errors import ConfigError, IntegrityError

_RNG = np.random.default_rng(0)
DATA = {
    "x": _RNG.normal(size=200),
    "plan": np.array(["a", "b", "c"])[_RNG.integers(0, 3, 200)],
}


def _changed(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of ``doc`` with the value at ``path`` replaced (or removed, for ``...``)."""
    out = copy.deepcopy(doc)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


SCHEMA_CASES = {
    "a-column-that-is-a-number": (("columns", 0), 5),
    "a-name-that-is-a-number": (("columns", 0, "name"), 0),
    "a-name-that-is-null": (("columns", 1, "name"), None),
    "categories-that-are-a-number": (("columns", 1, "categories"), 1.5),
}


@pytest.mark.parametrize(("path", "value"), SCHEMA_CASES.values(), ids=SCHEMA_CASES)
def test_a_malformed_schema_is_a_config_error(path: tuple[Any, ...], value: Any) -> None:
    doc = json.loads(Schema.infer(DATA).to_json())
    with pytest.raises(ConfigError, match="malformed"):
        Schema.from_json(json.dumps(_changed(doc, path, value)))


@pytest.mark.parametrize(("path", "value"), SCHEMA_CASES.values(), ids=SCHEMA_CASES)
def test_a_drift_profile_with_a_malformed_schema_is_a_config_error(
    path: tuple[Any, ...], value: Any
) -> None:
    doc = json.loads(DriftProfile.from_data(DATA).to_json())
    with pytest.raises(ConfigError, match="malformed"):
        DriftProfile.from_json(json.dumps(_changed(doc, ("schema", *path), value)))


SUITE_CASES = {
    "results-that-are-a-number": (("results",), 1.5),
    "no-results": (("results",), ...),
    "a-result-that-is-a-string": (("results", 0), "x"),
    "a-result-without-a-name": (("results", 0, "name"), ...),
    "a-severity-out-of-its-values": (("results", 0, "severity"), 1.5),
    "a-status-that-is-null": (("results", 0, "status"), None),
    "a-statistic-that-is-text": (("results", 0, "statistic"), "x"),
    "columns-that-are-a-list": (("results", 0, "columns"), [1]),
}


@pytest.mark.parametrize(("path", "value"), SUITE_CASES.values(), ids=SUITE_CASES)
def test_a_malformed_suite_result_is_a_config_error(path: tuple[Any, ...], value: Any) -> None:
    doc = json.loads(run_suite([DataDrift(reference=DATA, current=DATA)]).to_json())
    with pytest.raises(ConfigError, match="malformed suite result"):
        SuiteResult.from_json(json.dumps(_changed(doc, path, value)))


MANIFEST_CASES = {
    "an-artifact-that-is-a-number": (("artifact",), 5),
    "a-time-that-is-not-iso-8601": (("created_at",), "x"),
    "lineage-that-is-a-number": (("lineage",), 5),
    "attachments-that-are-a-list": (("attachments",), [1]),
    "library-versions-that-are-a-number": (("artifact", "library_versions"), 0),
}


@pytest.mark.parametrize(("path", "value"), MANIFEST_CASES.values(), ids=MANIFEST_CASES)
def test_a_malformed_manifest_is_an_integrity_error(path: tuple[Any, ...], value: Any) -> None:
    reg = ms.open_registry("memory://malformed-manifest")
    doc = reg.register(model_name="m", model={"w": [1.0]}).to_dict()
    with pytest.raises(IntegrityError, match="malformed manifest: "):
        ms.ModelVersion.from_dict(_changed(doc, path, value))
