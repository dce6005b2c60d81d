"""Every declared parameter of every public callable refuses an invalid value by name.

The cases are generated from the declarations (``modelship._params``): a new parameter
with a constraint is covered without a new test, and a new public function or class of
``modelship.checks``, ``.checks.stats``, ``.monitor``, ``.parity`` or ``.deploy`` with
declared parameters must add one valid call to ``VALID_CALLS`` below. Which parameters
must be declared at all is ``test_parameter_coverage.py``.
"""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import attrs
import numpy as np
import pytest
from _ids import stable_id
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship import checks, deploy, monitor, parity
from modelship._params import (
    Interval,
    MappingOf,
    Names,
    Options,
    check,
    check_parameters,
    declared_constraints,
    invalid_values,
    validate_params,
)
from modelship.checks import stats
from modelship.checks._tabular import as_table
from modelship.errors import ConfigError

PACKAGES = (checks, stats, monitor, parity, deploy)


def _public_targets() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Public functions and classes of the checks, and their public class methods."""
    for module in PACKAGES:
        for name in module.__all__:
            target = getattr(module, name)
            if not callable(target):
                continue
            yield f"{module.__name__}.{name}", target
            if isinstance(target, type):
                for attribute, member in vars(target).items():
                    if isinstance(member, classmethod) and not attribute.startswith("_"):
                        yield f"{module.__name__}.{name}.{attribute}", getattr(target, attribute)


DECLARED = {
    label: constraints
    for label, target in _public_targets()
    if (constraints := declared_constraints(target))
}

_DATA = {"x": [1.0, 2.0, 3.0]}
_SUMMARY = stats.QuantileSummary.from_sorted([1.0, 2.0, 3.0], size=3)

_TABLE = as_table(_DATA)
_CONFUSION = np.array([[40, 10, 10, 40], [45, 5, 30, 20]])
_RATES = stats.group_rates(_CONFUSION)
_RESAMPLED = stats.disparities(stats.group_rates(np.stack([_CONFUSION, _CONFUSION + 1])))
_CLOCK = {"now": 0.0}
_METRIC = monitor.CanaryMetric("latency")
_POLICY = monitor.RollbackPolicy(conditions=["error_rate > 1%"], deadline=None)
_SPEC = deploy.DeploymentSpec(containers=[deploy.Container(name="m", image="m:1")])


def _succeeded_rollout() -> dict[str, Any]:
    from modelship.testing import InMemoryDeployer

    dep = InMemoryDeployer()
    rollout = deploy.BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    source = monitor.InMemorySource(now=dep.clock.monotonic)
    return {"rollout": rollout, "source": source, "policy": _POLICY, "clock": dep.clock}


def _local_registry() -> dict[str, Any]:
    import tempfile

    return {"registry": ms.open_registry(tempfile.mkdtemp())}


# One valid call per public callable with declared parameters: the generated cases replace
# one argument at a time with an invalid value. A callable in place of the arguments builds
# them afresh for each call (a rollout, a registry on disk).
VALID_CALLS: dict[str, tuple[Callable[..., Any], Any]] = {
    "modelship.checks.Bias": (
        checks.Bias,
        {"y_true": [0, 1], "y_pred": [0, 1], "sensitive": ["a", "b"]},
    ),
    "modelship.checks.Degradation": (
        checks.Degradation,
        {"y": [0, 1], "candidate_scores": [0.1, 0.9], "baseline_scores": [0.2, 0.8]},
    ),
    "modelship.checks.DataDrift": (checks.DataDrift, {"reference": _DATA, "current": _DATA}),
    # Results are built by users' own checks too: their fields are declared parameters.
    **{
        f"modelship.checks.{kind.__name__}": (kind, {"name": "c", "status": "pass"})
        for kind in (
            checks.CheckResult,
            checks.ColumnResult,
            checks.DriftColumnResult,
            checks.BiasResult,
            checks.DegradationResult,
        )
    },
    "modelship.checks.PredictionDrift": (
        checks.PredictionDrift,
        {"reference": [0.1, 0.2], "current": [0.3, 0.4]},
    ),
    "modelship.checks.SchemaCheck": (
        checks.SchemaCheck,
        {"schema": checks.Schema.infer(_DATA), "current": _DATA},
    ),
    "modelship.checks.DriftProfile.from_data": (
        checks.DriftProfile.from_data,
        {"reference": _DATA},
    ),
    "modelship.checks.run_suite": (checks.run_suite, {"checks": []}),
    "modelship.checks.stats.QuantileSummary.from_sorted": (
        stats.QuantileSummary.from_sorted,
        {"a": [1.0, 2.0]},
    ),
    "modelship.checks.stats.adjust_p_values": (
        stats.adjust_p_values,
        {"p": [0.1], "method": "bh"},
    ),
    "modelship.checks.stats.delong": (
        stats.delong,
        {
            "y_true": [0, 1, 0, 1],
            "candidate": [0.1, 0.8, 0.3, 0.6],
            "baseline": [0.2, 0.7, 0.4, 0.9],
        },
    ),
    "modelship.checks.stats.mcnemar_exact": (
        stats.mcnemar_exact,
        {"y_true": [0, 1, 0, 1], "candidate": [0, 1, 1, 1], "baseline": [0, 0, 0, 1]},
    ),
    "modelship.checks.stats.paired_bootstrap": (
        stats.paired_bootstrap,
        {
            "y_true": [0, 1, 0, 1],
            "candidate": [0, 1, 1, 1],
            "baseline": [0, 0, 0, 1],
            "metric": "accuracy",
            "n_resamples": 10,
        },
    ),
    "modelship.checks.stats.numeric_drift": (
        stats.numeric_drift,
        {"a": [1.0, 2.0], "b": [1.0, 3.0]},
    ),
    "modelship.checks.stats.psi": (stats.psi, {"ref_counts": [1, 2], "cur_counts": [2, 1]}),
    "modelship.checks.stats.psi_critical_value": (
        stats.psi_critical_value,
        {"n": 10, "m": 10, "bins": 10},
    ),
    "modelship.checks.stats.psi_from_summary": (
        stats.psi_from_summary,
        {"summary": _SUMMARY, "b": [1.0, 2.0]},
    ),
    "modelship.checks.stats.quantile_edges": (stats.quantile_edges, {"a": [1.0, 2.0]}),
    "modelship.checks.ColumnSchema.of": (
        checks.ColumnSchema.of,
        {"column": _TABLE.columns["x"], "max_categories": 10},
    ),
    "modelship.checks.Schema.infer": (checks.Schema.infer, {"reference": _DATA}),
    "modelship.checks.Schema.of_table": (checks.Schema.of_table, {"table": _TABLE}),
    "modelship.checks.stats.confusion_table": (
        stats.confusion_table,
        {"codes": np.array([0, 1]), "n_groups": 2, "y_true": [0, 1], "y_pred": [1, 1]},
    ),
    "modelship.checks.stats.disparities": (stats.disparities, {"rates": _RATES}),
    "modelship.checks.stats.estimate_disparities": (
        stats.estimate_disparities,
        {"point": stats.disparities(_RATES), "resampled": _RESAMPLED, "confidence": 0.9},
    ),
    # modelship.monitor
    "modelship.monitor.CanaryMetric": (monitor.CanaryMetric, {"metric": "latency"}),
    "modelship.monitor.DriftSource": (monitor.DriftSource, {"retention": 3600.0}),
    "modelship.monitor.OutcomeSource": (monitor.OutcomeSource, {}),
    "modelship.monitor.PrometheusSource": (
        monitor.PrometheusSource,
        {"url": "http://127.0.0.1:9090"},
    ),
    "modelship.monitor.RollbackPolicy": (
        monitor.RollbackPolicy,
        {"conditions": ["error_rate > 1%"]},
    ),
    "modelship.monitor.SequentialTest": (monitor.SequentialTest, {"tau": 0.1}),
    "modelship.monitor.always_valid_p_values": (
        monitor.always_valid_p_values,
        {"differences": [0.1], "variances": [0.01], "tau": 0.1},
    ),
    "modelship.monitor.canary_analysis": (
        monitor.canary_analysis,
        {
            "source": monitor.InMemorySource(**_CLOCK),
            "metrics": [_METRIC],
            "canary": "green",
            "baseline": "blue",
            "window": 60.0,
        },
    ),
    "modelship.monitor.canary_gate": (
        monitor.canary_gate,
        {"source": monitor.InMemorySource(**_CLOCK), "metrics": [_METRIC], "window": 60.0},
    ),
    "modelship.monitor.compare_metric": (
        monitor.compare_metric,
        {"canary": [1.0, 2.0], "baseline": [1.0, 2.0], "metric": _METRIC},
    ),
    "modelship.monitor.mann_whitney": (monitor.mann_whitney, {"x": [1.0, 2.0], "y": [3.0, 4.0]}),
    "modelship.monitor.mann_whitney_min_size": (monitor.mann_whitney_min_size, {}),
    "modelship.monitor.msprt": (monitor.msprt, {"difference": 0.1, "variance": 0.01, "tau": 0.1}),
    "modelship.monitor.policy_gate": (
        monitor.policy_gate,
        {"source": monitor.InMemorySource(**_CLOCK), "policy": _POLICY, "window": 60.0},
    ),
    "modelship.monitor.prediction_profile": (
        monitor.prediction_profile,
        {"predictions": [0.1, 0.5, 0.9]},
    ),
    "modelship.monitor.proportion_difference": (
        monitor.proportion_difference,
        {"k_x": 1, "n_x": 10, "k_y": 2, "n_y": 10},
    ),
    "modelship.monitor.run_policy": (
        monitor.run_policy,
        {
            "source": monitor.InMemorySource(**_CLOCK),
            "policy": _POLICY,
            "slot": "green",
            "window": 60.0,
            "interval": 60.0,
            "duration": 60.0,
            "sleep": lambda seconds: None,
        },
    ),
    "modelship.monitor.sample_ratio_mismatch": (
        monitor.sample_ratio_mismatch,
        {"observed": [50, 50], "weights": [1.0, 1.0]},
    ),
    "modelship.monitor.sample_size_means": (monitor.sample_size_means, {"sd": 1.0, "mde": 0.5}),
    "modelship.monitor.sample_size_proportions": (
        monitor.sample_size_proportions,
        {"baseline_rate": 0.1, "mde": 0.05},
    ),
    "modelship.monitor.summarize": (
        monitor.summarize,
        {
            "samples": monitor.Samples("m", "green", [1.0, 2.0], [1.0, 2.0], start=0, end=3),
            "stat": "mean",
        },
    ),
    "modelship.monitor.watch": (
        monitor.watch,
        lambda: {**_succeeded_rollout(), "interval": 60.0, "duration": 60.0},
    ),
    "modelship.monitor.welch": (monitor.welch, {"x": [1.0, 2.0, 3.0], "y": [2.0, 3.0, 5.0]}),
    # modelship.parity
    "modelship.parity.ParityCheck": (
        parity.ParityCheck,
        {"train": parity.EnvironmentSnapshot.capture()},
    ),
    "modelship.parity.ParityRules": (parity.ParityRules, {}),
    "modelship.parity.check_installed": (parity.check_installed, {"requirements": {}}),
    "modelship.parity.ResourceRequest.from_spec": (
        parity.ResourceRequest.from_spec,
        {"spec": _SPEC},
    ),
    "modelship.parity.compare_behaviour": (
        parity.compare_behaviour,
        {"record": parity.record_behaviour(lambda x: x, np.eye(2)), "transform": lambda x: x},
    ),
    "modelship.parity.record_behaviour": (
        parity.record_behaviour,
        {"transform": lambda x: x, "sample": np.eye(2)},
    ),
    # modelship.deploy
    **{
        f"modelship.deploy.{kind.__name__}": (
            kind,
            lambda: {"deployer": __import__("modelship.testing").testing.InMemoryDeployer()},
        )
        for kind in (deploy.BlueGreen, deploy.Canary, deploy.Recreate)
    },
    "modelship.deploy.CanaryStep": (deploy.CanaryStep, {"weight": 10, "pause": 30.0}),
    "modelship.deploy.Container": (deploy.Container, {"name": "m", "image": "m:1"}),
    "modelship.deploy.DeployerCapabilities": (deploy.DeployerCapabilities, {}),
    "modelship.deploy.DeploymentSpec": (
        deploy.DeploymentSpec,
        {"containers": [deploy.Container(name="m", image="m:1")]},
    ),
    "modelship.deploy.GatePolicy": (deploy.GatePolicy, {}),
    "modelship.deploy.HealthCheck": (deploy.HealthCheck, {}),
    "modelship.deploy.LocalDeployer": (deploy.LocalDeployer, _local_registry),
    "modelship.deploy.Monitoring": (deploy.Monitoring, {}),
}


def _arguments(label: str) -> dict[str, Any]:
    arguments = VALID_CALLS[label][1]
    return dict(arguments() if callable(arguments) else arguments)


CASES = [
    pytest.param(label, name, bad, id=f"{label.rsplit('.', 1)[-1]}-{name}-{stable_id(repr(bad))}")
    for label, constraints in sorted(DECLARED.items())
    for name, allowed in sorted(constraints.items())
    for bad in invalid_values(*allowed)
]


def test_every_public_check_with_declared_parameters_has_a_valid_call() -> None:
    assert set(DECLARED) == set(VALID_CALLS)


@pytest.mark.parametrize("label", sorted(VALID_CALLS))
def test_the_valid_call_of_each_check_is_accepted(label: str) -> None:
    target, _ = VALID_CALLS[label]
    target(**_arguments(label))


@pytest.mark.parametrize("label", sorted(DECLARED))
def test_declared_parameters_are_parameters_of_the_signature(label: str) -> None:
    target, _ = VALID_CALLS[label]
    parameters = inspect.signature(target).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        # Canary passes **kwargs on to the strategy's shared parameters; ColumnResult's
        # __new__ takes **fields (it picks the variant) and passes them to its attrs fields
        parameters = {**parameters, **inspect.signature(target.__mro__[1]).parameters}
        if attrs.has(target):
            parameters = {**parameters, **attrs.fields_dict(target)}
    assert set(DECLARED[label]) <= set(parameters)


@pytest.mark.parametrize(("label", "name", "bad"), CASES)
def test_an_invalid_value_for_a_declared_parameter_raises_config_error_naming_it(
    label: str, name: str, bad: Any
) -> None:
    target, _ = VALID_CALLS[label]
    with pytest.raises(ConfigError) as caught:
        target(**{**_arguments(label), name: bad})
    message = str(caught.value)
    assert message.startswith((f"{name}=", f"{name}[")), message
    assert " is not allowed; " in message


# --- the layer itself ------------------------------------------------------------------------


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["both", "left", "right", "neither"]),
)
def test_a_float_interval_accepts_exactly_the_finite_numbers_within_its_bounds(
    value: float, closed: Any
) -> None:
    interval = Interval(float, 0, 1, closed=closed)
    inside_left = value > 0 or (value == 0 and closed in ("both", "left"))
    inside_right = value < 1 or (value == 1 and closed in ("both", "right"))
    expected = math.isfinite(value) and inside_left and inside_right
    assert interval.is_satisfied_by(value) is expected


@given(st.integers(-10, 10))
def test_an_int_interval_accepts_integers_from_its_lower_bound(value: int) -> None:
    assert Interval(int, 2, None).is_satisfied_by(value) is (value >= 2)


@pytest.mark.parametrize("value", [True, 2.0, "3", None])
def test_an_int_interval_refuses_booleans_floats_and_strings(value: Any) -> None:
    assert not Interval(int, None, None).is_satisfied_by(value)


def test_each_constraint_refuses_its_own_invalid_values() -> None:
    class Tail(enum.Enum):
        ONE = "one"

    for constraint in (
        Interval(int, 2, None),
        Interval(float, 0, 1, closed="neither"),
        Interval(float, None, 0),
        Options(("bh", "holm")),
        Options(Tail),
        MappingOf(Interval(float, 0, None)),
        MappingOf(None, keys=Options(("a",))),
        Names(),
    ):
        for bad in constraint.invalid_values():
            assert not constraint.is_satisfied_by(bad), (constraint, bad)


def test_options_do_not_take_a_flag_for_a_number() -> None:
    assert not Options((1, 2)).is_satisfied_by(True)


def test_alternatives_are_all_named_in_the_message() -> None:
    with pytest.raises(ConfigError, match=r"^n_jobs=0 is not allowed; n_jobs must be None, an int"):
        check("n_jobs", 0, None, Interval(int, 1, None), Interval(int, None, -1))


def test_a_mapping_error_names_the_offending_entry() -> None:
    with pytest.raises(ConfigError, match=r"^thresholds\['age'\]=-1 is not allowed"):
        check("thresholds", {"ok": 1.0, "age": -1}, MappingOf(Interval(float, 0, None)))


def test_a_mapping_error_names_an_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"^severities\['typo'\] is not allowed; the keys"):
        check("severities", {"typo": "x"}, MappingOf(str, keys=Options(("known",))))


def test_declaring_a_constraint_for_a_missing_parameter_fails_at_decoration() -> None:
    with pytest.raises(TypeError, match="no parameter"):

        @validate_params(alhpa=Interval(float, 0, 1))
        def significant(p: float, alpha: float = 0.05) -> bool:
            return p < alpha


def test_an_attrs_class_checks_positional_arguments_before_converting_them() -> None:
    @attrs.frozen
    class Policy:
        _parameter_constraints: ClassVar[dict[str, Any]] = {"share": Interval(float, 0, 1)}
        __attrs_pre_init__ = check_parameters

        share: float = attrs.field(converter=float)

    assert Policy(1).share == 1.0
    with pytest.raises(ConfigError, match=r"^share='half' is not allowed"):
        Policy("half")  # float() would have raised ValueError instead


def test_a_subclass_extends_its_parents_constraints() -> None:
    assert {"alpha", "columns", "kinds"} <= set(declared_constraints(checks.DataDrift))
    assert "kind" in declared_constraints(checks.PredictionDrift)


def test_a_parameter_passed_by_position_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^bins=1 is not allowed"):
        stats.quantile_edges([1.0, 2.0], 1)
    with pytest.raises(ConfigError, match=r"^size=1 is not allowed"):
        stats.QuantileSummary.from_sorted([1.0, 2.0], 1)
