"""Wrong, odd and hostile inputs to the parity entry points: each is refused with a
specific ModelshipError saying what was wrong, never a raw TypeError or a silent guess."""

from __future__ import annotations

import io
import json
import pickle
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import DeploymentSpec
from modelship.errors import ConfigError
from modelship.parity import (
    ArtifactScanError,
    EnvironmentSnapshot,
    PackageMismatch,
    ParityReport,
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
