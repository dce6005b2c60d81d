"""Every parameter of every public callable is declared, or exempt for a stated reason.

``test_parameters.py`` feeds every *declared* parameter an invalid value; this module makes
sure nothing escapes the declarations: each parameter of each public function, class and
public class method of ``modelship.checks``, ``.checks.stats``, ``.monitor``, ``.parity``
and ``.deploy`` (not ``deploy.kubernetes``) that takes a number, a string or a choice is
declared with ``modelship._params``, or is listed below with the reason it is not.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modelship._params import declared_constraints

PACKAGES = (
    "modelship.checks",
    "modelship.checks.stats",
    "modelship.monitor",
    "modelship.parity",
    "modelship.deploy",
)

# Records: results and documents modelship builds from a computation or reads back from
# JSON. Their fields are data, not settings; users read them, and construct them only in
# tests. (Their readers, ``from_dict``/``from_json``, take a document: data too.)
RECORDS = {
    f"modelship.{name}"
    for name in [
        "checks.BiasResult",
        "checks.CategoricalProfile",
        "checks.CheckResult",
        "checks.ColumnSchema",
        "checks.DegradationResult",
        "checks.Disparity",
        "checks.DriftColumnResult",
        "checks.DriftProfile",
        "checks.GroupMetrics",
        "checks.MetricComparison",
        "checks.NumericProfile",
        "checks.PerformanceComparison",
        "checks.Schema",
        "checks.CheckResult.from_exception",
        "checks.stats.DisparityEstimate",
        "checks.stats.MetricSpec",
        "checks.stats.NumericDrift",
        "checks.stats.PairedInterval",
        "checks.stats.QuantileSummary",
        "monitor.CanaryReport",
        "monitor.ConditionResult",
        "monitor.Decision",
        "monitor.DecisionLog",
        "monitor.MannWhitneyResult",
        "monitor.MetricJudgement",
        "monitor.NoData",
        "monitor.ProportionDifference",
        "monitor.RecordSummary",
        "monitor.ReplayResult",
        "monitor.SampleRatioResult",
        "monitor.SampleSize",
        "monitor.Samples",
        "monitor.SequentialResult",
        "monitor.SourceError",
        "monitor.Step",
        "monitor.WelchResult",
        "monitor.WindowMetric",
        "monitor.PolicyTracker",
        "monitor.PolicyTracker.from_dict",
        "deploy.RolloutRecord.from_dict",
        "deploy.RolloutEvent.from_dict",
        "monitor.InMemorySource.from_outcomes",
        "parity.ArtifactScan",
        "parity.BehaviourRecord",
        "parity.BlasLibrary",
        "parity.EnvironmentSnapshot",
        "parity.Finding",
        "parity.Gpu",
        "parity.PackageMismatch",
        "parity.PreprocessingFingerprint",
        "parity.Requirements",
        "deploy.GateResult",
        "deploy.GateTally",
        "deploy.Quantity",
        "deploy.Rollout",
        "deploy.RolloutEvent",
        "deploy.RolloutRecord",
        "deploy.SlotHealth",
        "deploy.SlotState",
    ]
}

# Arguments that carry data (arrays, tables, documents, text to parse, observed counts):
# they are validated by the code that reads them, with CheckInputError, EmptyData or a
# parse error that points into the document, never by a declared constraint.
DATA = {
    "X", "baseline", "baseline_scores", "candidate", "candidate_scores",
    "current", "data", "k1", "k2", "k_x", "k_y", "m", "n", "n1", "n2",
    "n_x", "n_y", "obj", "preprocessing", "reference", "registry", "sample", "segments",
    "sensitive", "text", "transform", "value", "y", "y_pred", "y_true", "model_size",
    "recorded", "installed",
}  # fmt: skip

# Single parameters that take a number, string or choice and are not declared, and why.
_SPEC_FIELD = (
    "a field of the deployment spec, converted from its YAML document by a converter whose "
    "errors name the spec path (deployment.containers[0].env ...; tests/deploy/test_spec.py)"
)
_KUBERNETES = (
    "defined in modelship.deploy.kubernetes, which this layer does not cover yet (owned "
    "separately); its settings are checked where the client is built"
)
_CONDITION = (
    "a field of the condition mini-language ('p95(latency) > 0.2'): Condition.parse and "
    "its validators report errors in the condition's own words, which "
    "tests/monitor/test_monitor_conditions.py specifies"
)
EXEMPT: dict[tuple[str, str], str] = {
    **{
        ("modelship.deploy.Container", name): _SPEC_FIELD
        for name in ("args", "env", "security_context")
    },
    **{
        ("modelship.deploy.DeploymentSpec", name): _SPEC_FIELD
        for name in ("containers", "notes", "pod_security_context", "steps", "strategy")
    },
    ("modelship.deploy.Monitoring", "metrics"): _SPEC_FIELD,
    **{("modelship.deploy.Resources", name): _SPEC_FIELD for name in ("limits", "requests")},
    **{
        ("modelship.deploy.KubernetesDeployer", name): _KUBERNETES
        for name in [
            "app",
            "context",
            "gateway",
            "gateway_namespace",
            "image",
            "max_split_replicas",
            "namespace",
            "registry_url",
            "request_timeout",
            "rollout_lease",
            "server",
            "token",
            "traffic",
            "traffic_timeout",
        ]
    },
    **{
        ("modelship.monitor.Condition", name): _CONDITION
        for name in ("baseline_delta", "delta_unit", "metric", "min_samples", "op", "stat")
    },
    ("modelship.monitor.Condition", "threshold"): _CONDITION,
    ("modelship.deploy.ProcessRolloutLock", "service"): (
        "any text naming the service, shown in the refusal's message"
    ),
    ("modelship.monitor.check_stat", "stat"): "the statistic-name validator itself",
    ("modelship.monitor.quantile_of", "stat"): "reads any text; None when not a percentile",
    ("modelship.parity.ResourceRequest", "cpus"): "a quantity parsed by parse_cpus ('500m')",
    ("modelship.parity.ResourceRequest", "memory"): "a quantity parsed by parse_memory ('2Gi')",
    ("modelship.parity.is_secret", "name"): "an environment variable's name: data to classify",
    ("modelship.monitor.PrometheusSource", "bearer_token"): (
        "a credential: checked by _check_secret_header, whose refusal does not show it"
    ),
    ("modelship.parity.normalize_name", "name"): "a distribution name: data to normalise",
}

# The annotations that need a declaration: numbers, strings, choices (Literal, enums) and
# untyped or Any fields. A flag (bool) is left to the type checker; an object, collection
# or callable (a MetricSource, a Sequence[CanaryMetric], a clock) is checked by the code
# that uses it, by protocol or by CheckInputError.
_SCALAR = re.compile(
    r"^(int|float|str|Any|Literal\[.*\]|\w*(Severity|Verdict|Status|Kind|HoldPolicy)( \| str)?"
    r"|float \| int \| str|int \| float \| str|int \| str|str \| int|)$"
)


def _annotation(parameter: inspect.Parameter) -> str:
    text = "" if parameter.annotation is parameter.empty else str(parameter.annotation)
    return re.sub(r"\s*\|\s*None$", "", text)


def _targets() -> Iterator[tuple[str, Callable[..., Any]]]:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            target = getattr(module, name)
            if inspect.isclass(target):
                if issubclass(target, BaseException | enum.Enum) or getattr(
                    target, "_is_protocol", False
                ):
                    continue
                yield f"{package}.{name}", target
                for attribute, member in vars(target).items():
                    if isinstance(member, classmethod) and not attribute.startswith("_"):
                        yield f"{package}.{name}.{attribute}", getattr(target, attribute)
            elif inspect.isfunction(target):
                yield f"{package}.{name}", target


def _undeclared() -> Iterator[tuple[str, str, str]]:
    for label, target in _targets():
        if label in RECORDS:
            continue
        declared = declared_constraints(target)
        for parameter in inspect.signature(target).parameters.values():
            kind = _annotation(parameter)
            if (
                parameter.name in declared
                or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
                or not _SCALAR.match(kind)
            ):
                continue
            yield label, parameter.name, kind


UNDECLARED = sorted(_undeclared())


def test_every_number_string_or_choice_parameter_is_declared_or_exempt() -> None:
    missing = [
        f"{label}({name}: {kind or 'unannotated'})"
        for label, name, kind in UNDECLARED
        if name not in DATA and (label, name) not in EXEMPT
    ]
    assert not missing, "declare these with modelship._params, or exempt them: " + ", ".join(
        missing
    )


def test_every_exemption_is_still_needed() -> None:
    undeclared = {(label, name) for label, name, _ in UNDECLARED}
    assert set(EXEMPT) <= undeclared, set(EXEMPT) - undeclared
    assert {name for _, name in undeclared} >= DATA, DATA - {name for _, name in undeclared}
    labels = {label for label, _ in _targets()}
    assert labels >= RECORDS, RECORDS - labels


@pytest.mark.parametrize(("label", "name"), sorted(EXEMPT), ids=str)
def test_every_exemption_says_why(label: str, name: str) -> None:
    assert len(EXEMPT[(label, name)].split()) >= 4


def test_the_examples_from_the_audit_raise_config_error_naming_the_parameter() -> None:
    from modelship.checks import stats
    from modelship.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^confidence=2\.0 is not allowed"):
        stats.estimate_disparities({}, {}, confidence=2.0)
    with pytest.raises(ConfigError, match=r"^n_groups=-1 is not allowed"):
        stats.confusion_table(None, -1, [], [])  # type: ignore[arg-type]
