"""Wrong, odd and hostile inputs to the parity entry points: each is refused with a
specific ModelshipError saying what was wrong, never a raw TypeError or a silent guess."""

from __future__ import annotations

import io
import json
import os
import pickle
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelship.parity._snapshot as snapshot_module
from modelship.deploy import DeploymentSpec
from modelship.errors import ConfigError
from modelship.parity import (
    ArtifactScanError,
    BlasLibrary,
    EnvironmentSnapshot,
    Finding,
    Gpu,
    PackageMismatch,
    ParityReport,
    Requirements,
    ResourceRequest,
    SnapshotError,
    check_installed,
    compare,
    is_secret,
    normalize_name,
    parse_cpus,
    parse_memory,
    requirements_txt,
    scan_artifact,
    version_change,
)
from modelship.parity._findings import MAX_VALUE_DEPTH
from modelship.parity._resources import MAX_BYTES

HUGE = "9" * 100_000  # no message may quote it whole
SHORT_MESSAGE = 600


def spec_with(**resources: dict[str, Any]) -> DeploymentSpec:
    container = {"name": "model", "image": "churn:3", "resources": resources}
    return DeploymentSpec.from_dict({"deployment": {"containers": [container]}})


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(EnvironmentSnapshot.capture().to_json())
    return loaded


# --- 1. the environment allow-list ---------------------------------------------------------


def test_capture_refuses_a_single_string_allow_list_rather_than_reading_its_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNLISTED_VARIABLE", "x")
    with pytest.raises(SnapshotError, match=r"env_allowlist must be a list.*\['OMP_\*'\]"):
        EnvironmentSnapshot.capture(env_allowlist="OMP_*")  # a str is an Iterable[str]


@pytest.mark.parametrize("allow", [5, b"OMP_*", object()])
def test_capture_refuses_an_allow_list_that_is_not_a_list_of_names(allow: object) -> None:
    with pytest.raises(SnapshotError, match="env_allowlist must be a list"):
        EnvironmentSnapshot.capture(env_allowlist=allow)  # type: ignore[arg-type]


def test_an_allow_list_error_does_not_quote_a_huge_entry() -> None:
    with pytest.raises(SnapshotError) as caught:
        EnvironmentSnapshot.capture(env_allowlist=[b"x" * 100_000])  # type: ignore[list-item]
    assert len(str(caught.value)) < SHORT_MESSAGE


# --- 2. memory quantities, read as Kubernetes and DeploymentSpec read them ---------------


@pytest.mark.parametrize("quantity", ["500m", "500mB", "1500m", "0.1Ki", "1e-3", "1.5", 1.5])
def test_parse_memory_refuses_a_fraction_of_a_byte_as_the_spec_does(quantity: object) -> None:
    with pytest.raises(ConfigError, match="not a whole number of bytes"):
        parse_memory(quantity)  # type: ignore[arg-type]
    if isinstance(quantity, str) and not quantity.endswith("B"):
        with pytest.raises(ConfigError, match="whole number of bytes"):
            spec_with(limits={"memory": quantity})


def test_parse_memory_of_millis_suggests_mega_and_mebi() -> None:
    with pytest.raises(ConfigError, match=r"Did you mean 500M \(10\*\*6\) or 500Mi \(2\*\*20\)"):
        parse_memory("500m")


@pytest.mark.parametrize("quantity", ["2g", "512mi", "1K", "1kb", " 2Gi", "2 Gi"])
def test_parse_memory_suffixes_are_case_sensitive_and_unspaced_as_in_kubernetes(
    quantity: str,
) -> None:
    with pytest.raises(ConfigError, match="case-sensitive"):
        parse_memory(quantity)


@pytest.mark.parametrize(
    ("quantity", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("512MiB", 512 * 2**20),
        ("2G", 2 * 10**9),
        ("2GB", 2 * 10**9),
        ("1k", 1000),
        ("1e3", 1000),
        ("1000m", 1),
        ("1.5Gi", 3 * 2**29),
        ("+1Ki", 1024),
        ("8Ei", MAX_BYTES),  # Kubernetes caps a binary quantity at 2**63 - 1
        (1024, 1024),
        (1024.0, 1024),
    ],
)
def test_parse_memory_reads_whole_bytes(quantity: object, size: int) -> None:
    assert parse_memory(quantity) == size  # type: ignore[arg-type]


@pytest.mark.parametrize("quantity", ["10E", "1e400", 10**400, 2**63])
def test_parse_memory_refuses_more_bytes_than_kubernetes_counts(quantity: object) -> None:
    with pytest.raises(ConfigError, match="more than the 9223372036854775807") as caught:
        parse_memory(quantity)  # type: ignore[arg-type]
    assert len(str(caught.value)) < SHORT_MESSAGE


@pytest.mark.parametrize(
    "quantity",
    [HUGE, HUGE + "Mi", [1] * 10_000, -(10**400)],
    ids=["digits", "digits-suffix", "list", "huge-negative"],
)
def test_a_memory_error_does_not_quote_a_huge_value(quantity: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_memory(quantity)  # type: ignore[arg-type]
    assert len(str(caught.value)) < SHORT_MESSAGE


_SUFFIXES = ["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "e3", "E2", "e-2", "n", "u"]


@given(
    whole=st.integers(0, 10**6),
    fraction=st.one_of(st.none(), st.text("0123456789", max_size=4)),
    suffix=st.sampled_from(_SUFFIXES),
)
def test_parse_memory_agrees_with_the_deployment_spec(
    whole: int, fraction: str | None, suffix: str
) -> None:
    quantity = f"{whole}{'' if fraction is None else '.' + fraction}{suffix}"
    try:
        in_spec = ResourceRequest.from_spec(spec_with(limits={"memory": quantity})).memory
    except ConfigError:
        with pytest.raises(ConfigError):
            parse_memory(quantity)
        return
    assert in_spec is None or parse_memory(quantity) == in_spec
    if in_spec is None:  # the spec reads zero as "not set"
        assert parse_memory(quantity) == 0


def test_parse_cpus_refuses_a_quantity_too_large_for_a_float() -> None:
    with pytest.raises(ConfigError, match="finite number of CPUs"):
        parse_cpus(10**400)


# --- 3. a spec's CPUs beyond any float ---------------------------------------------------


def test_from_spec_refuses_a_cpu_limit_too_large_to_compare() -> None:
    spec = spec_with(limits={"cpu": "1e400"})
    with pytest.raises(ConfigError, match=r"cpu is 1e\+400 CPUs, too many to compare"):
        ResourceRequest.from_spec(spec)


def test_from_spec_refuses_a_memory_limit_beyond_what_kubernetes_counts() -> None:
    with pytest.raises(ConfigError, match="more than the 9223372036854775807"):
        ResourceRequest.from_spec(spec_with(limits={"memory": "1e400"}))


# --- 4. wrong types at every entry point -------------------------------------------------


@pytest.mark.parametrize(
    "requirements",
    [{"numpy": 5}, {"": "1"}, {5: "1"}, {"a b": "1"}, {"numpy": None}, {"numpy": "1" * 1000}],
)
def test_compare_check_installed_and_requirements_txt_refuse_malformed_requirements(
    requirements: dict[Any, Any],
) -> None:
    snap = EnvironmentSnapshot.capture()
    with pytest.raises(ConfigError, match="requirements"):
        compare(snap, snap, requirements=requirements)
    with pytest.raises(ConfigError, match="requirements"):
        check_installed(requirements)
    with pytest.raises(ConfigError, match="requirements"):
        requirements_txt(requirements)


@pytest.mark.parametrize("requirements", [None, 5, ["numpy"]])
def test_check_installed_refuses_what_is_not_a_mapping(requirements: object) -> None:
    with pytest.raises(ConfigError, match="requirements must be a mapping"):
        check_installed(requirements)  # type: ignore[arg-type]


def test_a_requirements_error_does_not_quote_a_huge_name() -> None:
    with pytest.raises(ConfigError) as caught:
        check_installed({HUGE: "1"})
    assert len(str(caught.value)) < SHORT_MESSAGE


@pytest.mark.parametrize("source", [None, 5, io.StringIO("text"), object()])
def test_scan_artifact_refuses_what_is_not_bytes_a_path_or_a_binary_file(source: object) -> None:
    with pytest.raises(ConfigError, match="bytes, its path, or a file opened in binary mode"):
        scan_artifact(source)  # type: ignore[arg-type]


def test_scan_artifact_still_reads_a_binary_file_object() -> None:
    assert scan_artifact(io.BytesIO(pickle.dumps(1))).globals == ()


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: is_secret(None), "is_secret needs"),  # type: ignore[arg-type]
        (lambda: is_secret("NAME", None), "value"),  # type: ignore[arg-type]
        (lambda: normalize_name(None), "normalize_name needs"),  # type: ignore[arg-type]
        (lambda: version_change(None, "1"), "recorded"),  # type: ignore[arg-type]
        (lambda: version_change("1", 2), "installed"),  # type: ignore[arg-type]
    ],
)
def test_the_helpers_refuse_a_value_that_is_not_a_string(call: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        call()


@pytest.mark.parametrize("text", [None, 5, ["{}"]])
def test_from_json_refuses_what_is_not_json_text(text: object) -> None:
    with pytest.raises(SnapshotError, match="must be JSON text"):
        EnvironmentSnapshot.from_json(text)  # type: ignore[arg-type]
    with pytest.raises(SnapshotError, match="must be JSON text"):
        ParityReport.from_json(text)  # type: ignore[arg-type]


def test_from_dict_refuses_what_is_not_a_mapping() -> None:
    with pytest.raises(SnapshotError, match="must be a JSON object"):
        EnvironmentSnapshot.from_dict(None)  # type: ignore[arg-type]


# --- 5. documents that parse but say impossible things -----------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"cpu_count": -1}, "'cpu_count' must be an integer >= 1"),
        ({"cpu_count": 0}, "'cpu_count' must be an integer >= 1"),
        ({"memory_total": -5}, "'memory_total' must be an integer >= 0"),
        ({"memory_available": -1}, "'memory_available'"),
        ({"memory_limit": -1}, "'memory_limit'"),
        ({"cpu_limit": 0}, "'cpu_limit' must be a finite positive number"),
        ({"cpu_limit": 10**400}, "'cpu_limit' must be a finite positive number"),
        ({"python_version": "abc"}, "'python_version' must be a Python version"),
        ({"python_version": ""}, "'python_version' must be a Python version"),
        ({"captured_at": "yesterday"}, "'captured_at' must be an ISO-8601 time"),
        ({"captured_at": "2024-13-45T00:00:00+00:00"}, "'captured_at'"),
        ({"captured_at": "2024-05-01T12:00:00"}, "'captured_at'"),  # no UTC offset
        ({"extra": 1}, r"unknown field\(s\) \['extra'\]"),
        ({"gpus": [{"name": "A10G", "memory_total": -1, "driver_version": None}]}, "memory"),
        ({"gpus": [{"name": "A10G", "memory_total": 1}]}, "'driver_version' is missing"),
        ({"gpus": [{"name": "A", "memory_total": 1, "driver_version": "1", "x": 1}]}, "'x'"),
        ({"blas": [{"name": "openblas"}]}, "'version' is missing"),
        ({"packages": {"": "1.0"}}, "empty distribution name"),
    ],
)
def test_a_snapshot_document_with_an_impossible_field_is_refused(
    document: dict[str, Any], change: dict[str, Any], words: str
) -> None:
    with pytest.raises(SnapshotError, match=words):
        EnvironmentSnapshot.from_json(json.dumps({**document, **change}))


@pytest.mark.parametrize(
    "field",
    [
        "python_version", "os_release", "packages", "cpu_count", "cpu_limit", "memory_total",
        "gpus", "blas", "locale", "env", "captured_at",
    ],
)  # fmt: skip
def test_a_snapshot_document_missing_a_field_is_refused(
    document: dict[str, Any], field: str
) -> None:
    partial = {key: value for key, value in document.items() if key != field}
    with pytest.raises(SnapshotError, match=f"'{field}' is missing"):
        EnvironmentSnapshot.from_json(json.dumps(partial))


@pytest.mark.parametrize(
    "change",
    [
        {"python_version": "3.13.0rc1"},
        {"python_version": "3.12.0a7+"},
        {"captured_at": ""},
        {"captured_at": "2024-05-01T12:00:00Z"},
        {"cpu_count": None, "memory_total": None, "cpu_limit": 0.5},
    ],
)
def test_a_snapshot_document_with_possible_values_reads(
    document: dict[str, Any], change: dict[str, Any]
) -> None:
    snap = EnvironmentSnapshot.from_json(json.dumps({**document, **change}))
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap


def test_a_version_without_a_release_number_is_an_unknown_change_not_a_major_one() -> None:
    assert version_change("1.0", "abc") == "unknown"
    assert version_change("abc", "1.0") == "unknown"
    assert version_change("", "1.0") == "unknown"
    assert version_change("abc", "abc") is None


def test_an_epoch_change_is_a_major_change() -> None:
    assert version_change("1!1.0", "2!1.0") == "major"
    assert version_change("1.0", "1!1.0") == "major"


def test_compare_reports_an_uncomparable_version_under_its_own_blocking_rule() -> None:
    train = EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        machine="x86_64",
        packages={"numpy": "2.1.0"},
    )
    prod = EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        machine="x86_64",
        packages={"numpy": "custom-build"},
    )
    [finding] = compare(train, prod).findings
    assert (finding.check, finding.severity.value) == ("package_unknown", "blocking")
    assert "cannot be compared" in finding.message


def test_a_package_mismatch_with_an_uncomparable_version_says_so() -> None:
    mismatch = PackageMismatch(package="numpy", recorded="2.1.0", installed="custom-build")
    assert mismatch.change == "unknown"
    assert str(mismatch).endswith("(the versions cannot be compared)")


def test_scanning_an_unknown_pickle_protocol_raises_rather_than_finding_nothing() -> None:
    with pytest.raises(ArtifactScanError, match="protocol 9, which this scanner does not"):
        scan_artifact(b"\x80\x09N.")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_known_pickle_protocol_is_still_scanned(protocol: int) -> None:
    scan = scan_artifact(pickle.dumps(Fraction(1, 3), protocol=protocol))
    assert ("fractions", "Fraction") in scan.globals


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"findings": []}', "no integer 'schema_version'"),
        ('{"schema_version": 2, "findings": []}', "newer"),
        ('{"schema_version": 1, "findings": [], "extra": 1}', "unknown field"),
        ('{"schema_version": 1, "findings": [], "passed": false}', "'passed' is False"),
        ('{"schema_version": 1, "findings": [{"check": "os", "message": "m"}]}', "severity"),
        (
            '{"schema_version": 1, "findings": [{"check": "os", "severity": "fatal", '
            '"message": "m"}]}',
            "'severity' must be one of",
        ),
        (
            '{"schema_version": 1, "findings": [{"check": 5, "severity": "advisory", '
            '"message": "m"}]}',
            "'check' must be a string",
        ),
    ],
)
def test_a_malformed_parity_report_is_refused(text: str, words: str) -> None:
    with pytest.raises(SnapshotError, match=words):
        ParityReport.from_json(text)


def test_a_stored_report_nested_too_deep_is_a_snapshot_error_not_a_recursion_error() -> None:
    nested = "[" * 600 + "]" * 600  # json reads it; converting it used to exhaust the stack
    text = (
        '{"schema_version": 1, "findings": [{"check": "os", "severity": "advisory", '
        f'"message": "m", "train": {nested}}}]}}'
    )
    with pytest.raises(SnapshotError, match="nest lists and objects at most 32 deep"):
        ParityReport.from_json(text)


def test_a_stored_report_nested_as_deep_as_allowed_still_reads() -> None:
    deep: Any = "x"
    for _ in range(MAX_VALUE_DEPTH):
        deep = [deep]
    finding = Finding(check="os", severity="advisory", message="m", prod=deep)
    report = ParityReport([finding])
    assert ParityReport.from_json(report.to_json(indent=None)) == report


def test_a_finding_given_a_value_that_contains_itself_is_a_config_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="at most 32 deep"):
        Finding(check="os", severity="advisory", message="m", train=loop)


@pytest.mark.parametrize("version", [0, -7])
def test_a_document_with_a_schema_version_below_one_is_refused(
    document: dict[str, Any], version: int
) -> None:
    with pytest.raises(SnapshotError, match=f"schema_version {version} is not a version"):
        ParityReport.from_json(json.dumps({"schema_version": version, "findings": []}))
    with pytest.raises(SnapshotError, match=f"schema_version {version} is not a version"):
        EnvironmentSnapshot.from_json(json.dumps({**document, "schema_version": version}))
    with pytest.raises(SnapshotError, match=f"schema_version {version} is not a version"):
        Requirements.from_json(json.dumps({"schema_version": version, "packages": {}}))


# --- 6. versions too long to be real ------------------------------------------------------


def test_version_change_of_a_release_part_too_long_to_read_is_unknown() -> None:
    assert version_change("9" * 5000, "1.0") == "unknown"  # int() stops at 4300 digits
    assert version_change("1.0", "1." + "9" * 5000) == "unknown"


def test_a_snapshot_with_a_version_longer_than_200_characters_is_refused(
    document: dict[str, Any],
) -> None:
    packages = {**document["packages"], "numpy": "1." + "9" * 5000}
    with pytest.raises(SnapshotError, match="at most 200 characters") as caught:
        EnvironmentSnapshot.from_json(json.dumps({**document, "packages": packages}))
    assert len(str(caught.value)) < SHORT_MESSAGE


def test_a_snapshot_with_a_version_of_200_characters_reads(document: dict[str, Any]) -> None:
    packages = {**document["packages"], "numpy": "1." + "9" * 198}
    snap = EnvironmentSnapshot.from_json(json.dumps({**document, "packages": packages}))
    assert len(snap.packages["numpy"]) == 200


# --- 7. requirements: one rule for arguments and documents -------------------------------


@pytest.mark.parametrize(
    ("packages", "words"),
    [
        ({"my pkg": "1.0"}, "not a distribution name"),
        ({"-numpy": "1.0"}, "not a distribution name"),
        ({"n" * 201: "1.0"}, "not a distribution name"),
        ({"numpy": "1" * 201}, "at most 200 characters"),
        ({"numpy": 2}, "must be a version string"),
        ({5: "1.0"}, "not a distribution name"),
        (["numpy"], "must be a mapping"),
    ],
)
def test_requirements_refuse_what_check_installed_would_refuse(packages: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        Requirements(packages=packages)


@pytest.mark.parametrize(
    ("packages", "words"),
    [
        ({"my pkg": "1.0"}, "requirements: packages has the key 'my pkg'"),
        ({"numpy": "1" * 250}, r"requirements: packages\['numpy'\] must be a version string"),
    ],
)
def test_requirements_from_json_refuses_them_as_a_document_error(
    packages: dict[str, str], words: str
) -> None:
    with pytest.raises(SnapshotError, match=words):
        Requirements.from_json(json.dumps({"schema_version": 1, "packages": packages}))


def test_compare_finds_requirements_whose_names_are_not_normalised(
    snapshot: EnvironmentSnapshot,
) -> None:
    report = compare(snapshot, snapshot, requirements={"Scikit_Learn": "1.5.2", "NumPy": "2.1.0"})
    assert report.findings == ()


def test_compare_reports_an_unnormalised_requirement_at_another_version_under_its_name(
    snapshot: EnvironmentSnapshot,
) -> None:
    [finding] = compare(snapshot, snapshot, requirements={"Scikit_Learn": "1.4.0"}).findings
    assert (finding.check, finding.subject) == ("package_minor", "scikit-learn")


# --- 8. CPU quantities, read as Kubernetes and DeploymentSpec read them --------------------


@pytest.mark.parametrize(
    ("quantity", "cpus"),
    [
        ("1k", 1000.0),
        ("1M", 1e6),
        ("1Ki", 1024.0),
        ("250000u", 0.25),
        ("100000000n", 0.1),
        ("1E", 1e18),
        ("1E3", 1000.0),
        ("5E-1", 0.5),
        ("1e-400", 1e-9),  # below a nano: rounded up to one, as Kubernetes does
        ("0.1n", 1e-9),
        (0.1, 0.1),
        (1e-12, 1e-9),
    ],
)
def test_parse_cpus_reads_every_kubernetes_suffix(quantity: object, cpus: float) -> None:
    assert parse_cpus(quantity) == cpus  # type: ignore[arg-type]


@pytest.mark.parametrize("quantity", ["2GB", "1KiB", "1K", "1m1", "0", "-1", "0n"])
def test_parse_cpus_refuses_what_is_not_a_positive_cpu_quantity(quantity: str) -> None:
    with pytest.raises(ConfigError, match="not a positive, finite number of CPUs"):
        parse_cpus(quantity)


_CPU_SUFFIXES = [*_SUFFIXES, "T", "P", "E", "Ti", "Pi", "Ei", "e-12", "E-400"]


@given(
    whole=st.integers(0, 10**6),
    fraction=st.one_of(st.none(), st.text("0123456789", max_size=4)),
    suffix=st.sampled_from(_CPU_SUFFIXES),
)
def test_parse_cpus_agrees_with_the_deployment_spec(
    whole: int, fraction: str | None, suffix: str
) -> None:
    quantity = f"{whole}{'' if fraction is None else '.' + fraction}{suffix}"
    try:
        in_spec = ResourceRequest.from_spec(spec_with(limits={"cpu": quantity})).cpus
    except ConfigError:
        with pytest.raises(ConfigError):
            parse_cpus(quantity)
        return
    if in_spec is None:  # the spec reads zero as "not set"; parse_cpus refuses it
        with pytest.raises(ConfigError):
            parse_cpus(quantity)
    else:
        assert parse_cpus(quantity) == in_spec


# --- 9. objects that only look like a deployment spec ------------------------------------


def _lookalike(limits: Any = None, containers: Any = None) -> SimpleNamespace:
    if containers is None:
        resources = SimpleNamespace(limits=limits or {}, requests={})
        containers = [SimpleNamespace(name="model", resources=resources)]
    return SimpleNamespace(containers=containers)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (_lookalike(containers=[]), "at least one container"),
        (_lookalike(containers="model"), "at least one container"),
        (_lookalike({"memory": SimpleNamespace(nanos=1.5e9)}), "memory is .* not a Kubernetes"),
        (_lookalike({"cpu": SimpleNamespace(nanos=5e8)}), "cpu is .* not a Kubernetes quantity"),
        (_lookalike({"cpu": SimpleNamespace(nanos="1")}), "cpu is .* not a Kubernetes quantity"),
        (_lookalike({"cpu": "1"}), "cpu is '1', not a Kubernetes quantity"),
        (_lookalike([("cpu", "1")]), r"resources\.limits is a list, not a mapping"),
        (_lookalike(containers=[SimpleNamespace(name="m")]), "no resources attribute"),
    ],
)
def test_from_spec_refuses_a_spec_lookalike_it_cannot_read(spec: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        ResourceRequest.from_spec(spec)


# --- 10. what the constructor and capture build, from_json reads back ---------------------

_BASE = {
    "python_version": "3.11.7",
    "python_implementation": "CPython",
    "os": "Linux",
    "machine": "x86_64",
}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"captured_at": "2024-05-01T12:00:00"}, "'captured_at' must be an ISO-8601 time"),
        ({"captured_at": "2024-05-01T12:00:00.1234567+00:00"}, "'captured_at'"),
        ({"cpu_count": 0}, "'cpu_count' must be an integer >= 1"),
        ({"python_version": "3.11.7 (custom)"}, "'python_version' must be a Python version"),
        ({"memory_total": -1}, "'memory_total' must be an integer >= 0"),
        ({"cpu_limit": float("nan")}, "'cpu_limit' must be a finite positive number"),
        ({"packages": {"numpy": "1" * 201}}, "at most 200 characters"),
        ({"packages": None}, "'packages' must be a mapping"),
        ({"gpus": [{"name": "A10G"}]}, r"'gpus' must be a list of Gpu.*Gpu\(\.\.\.\)"),
        ({"gpus": [Gpu(name="A10G", memory_total=-1)]}, "'memory_total' must be an integer"),
        ({"blas": [BlasLibrary(name="openblas", num_threads=0)]}, "'num_threads'"),
    ],
)
def test_the_snapshot_constructor_refuses_what_from_json_would_refuse(
    change: dict[str, Any], words: str
) -> None:
    with pytest.raises(SnapshotError, match=f"^EnvironmentSnapshot.*{words}"):
        EnvironmentSnapshot(**{**_BASE, **change})


def test_capture_where_sysconf_cannot_say_leaves_memory_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = os.sysconf
    monkeypatch.setattr(snapshot_module, "_meminfo", lambda path=None: {})
    monkeypatch.setattr(
        snapshot_module.os, "sysconf", lambda name: -1 if name == "SC_PHYS_PAGES" else real(name)
    )
    snap = EnvironmentSnapshot.capture()
    assert snap.memory_total is None
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap


def test_a_cgroup_quota_of_zero_is_no_cpu_limit(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("0 100000\n")
    cgroups = snapshot_module._Cgroups(root=tmp_path, membership=tmp_path / "none")
    assert cgroups.cpu_limit() is None


def test_from_dict_reads_what_to_dict_returns() -> None:
    snap = EnvironmentSnapshot(
        **_BASE,
        gpus=[Gpu(name="NVIDIA A10G", memory_total=24 * 2**30, driver_version="535.104.05")],
        blas=[BlasLibrary(name="openblas", version="0.3.27", num_threads=4)],
        captured_at="2024-05-01T12:00:00+00:00",
    )
    document = snap.to_dict()
    assert isinstance(document["gpus"], list)
    assert isinstance(document["blas"], list)
    assert EnvironmentSnapshot.from_dict(document) == snap
    assert json.loads(json.dumps(document)) == document  # JSON types only
