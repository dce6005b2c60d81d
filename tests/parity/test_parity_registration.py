"""``Registry.register`` records the environment and the requirements; ``mv`` reads them back."""

from __future__ import annotations

import importlib.metadata
import io
import json
import platform
from typing import Any, ClassVar

import attrs
import hypothesis.strategies as st
import joblib
import numpy as np
import pytest
from _estimators import FakeScaler
from hypothesis import HealthCheck, given, settings
from sklearn.preprocessing import StandardScaler

import modelship as ms
import modelship.parity._stored as stored_module
from modelship.errors import ConfigError, IntegrityError
from modelship.parity import (
    ENVIRONMENT_ROLE,
    REQUIREMENTS_ROLE,
    EnvironmentSnapshot,
    InvalidEnvironmentDocument,
    RegistrationCapture,
    Requirements,
    SnapshotError,
)
from modelship.registry import Registry, register_serializer


@pytest.fixture
def reg(tmp_path: Any) -> Registry:
    return ms.open_registry(str(tmp_path / "registry"))


def forged(reg: Registry, mv: ms.ModelVersion, role: str, document: bytes) -> ms.ModelVersion:
    """``mv`` whose ``role`` attachment is ``document``: stored verified, as a rewritten
    manifest would point to it."""
    carrier = reg.register(
        model_name="carrier", model=b"x", serializer="bytes", attachments={"doc": document}
    )
    rewritten = attrs.evolve(mv, attachments={**mv.attachments, role: carrier.attachments["doc"]})
    return rewritten.read_through(reg)  # as reg.get() would read the rewritten manifest


def nothing_registered(reg: Registry) -> None:
    with pytest.raises(ms.VersionNotFound):
        reg.get("m", "latest")


def test_a_registered_scikit_learn_model_records_scikit_learns_installed_version(
    reg: Registry,
) -> None:
    scaler = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    mv = reg.register(model_name="scaler", model=scaler)
    assert mv.requirements is not None
    assert mv.requirements["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert "sklearn" in mv.requirements.modules


def test_requirements_read_back_from_the_registry_equal_those_registered(
    reg: Registry,
) -> None:
    scaler = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    registered = reg.register(model_name="scaler", model=scaler)
    assert reg.get("scaler", registered.version).requirements == registered.requirements


def test_a_model_of_a_local_module_lists_it_as_unresolved(reg: Registry) -> None:
    mv = reg.register(model_name="fake", model=FakeScaler().fit([[1.0], [3.0]]))
    assert mv.requirements is not None
    assert "_estimators" in mv.requirements.unresolved
    assert mv.requirements["numpy"] == np.__version__


def test_register_records_the_environment_it_runs_in(reg: Registry) -> None:
    mv = reg.register(model_name="m", model={"w": [1.0]})
    assert mv.environment is not None
    assert mv.environment.python_version == platform.python_version()
    assert mv.environment.packages == EnvironmentSnapshot.capture().packages


def test_both_documents_are_attachments_of_the_one_manifest(reg: Registry) -> None:
    mv = reg.register(model_name="m", model={"w": [1.0]})
    manifest = json.loads(mv.to_json())
    assert {ENVIRONMENT_ROLE, REQUIREMENTS_ROLE} <= set(manifest["attachments"])


def test_capture_environment_false_stores_neither_document(reg: Registry) -> None:
    mv = reg.register(model_name="m", model={"w": [1.0]}, capture_environment=False)
    assert set(mv.attachments) == set()
    assert reg.get("m", mv.version).environment is None
    assert reg.get("m", mv.version).requirements is None


def test_capture_environment_must_be_a_bool(reg: Registry) -> None:
    with pytest.raises(ms.ConfigError, match="capture_environment must be True or False"):
        reg.register(model_name="m", model={"w": 1}, capture_environment="no")  # type: ignore[arg-type]
    nothing_registered(reg)


@pytest.mark.parametrize(
    ("serializer", "model"), [("bytes", b"raw weights"), ("numpy", np.arange(3.0))]
)
def test_a_serializer_that_runs_no_code_stores_the_environment_and_no_requirements(
    reg: Registry, serializer: str, model: Any
) -> None:
    mv = reg.register(model_name="m", model=model, serializer=serializer)
    assert mv.environment is not None
    assert mv.requirements is None


class _TextSerializer:
    """A serializer that may run code when it loads (it declares nothing) but writes text."""

    name = "text-parity-test"
    media_type = "text/plain"
    reads_sequentially: ClassVar[bool] = False

    def dump(self, obj: Any, f: Any) -> None:
        f.write(repr(obj).encode())

    def load(self, f: Any) -> Any:
        return f.read().decode()

    def library_versions(self) -> dict[str, str]:
        return {}


def test_an_artifact_the_scan_cannot_read_stores_the_environment_and_no_requirements(
    reg: Registry,
) -> None:
    register_serializer(_TextSerializer(), clobber=True)
    mv = reg.register(model_name="m", model={"w": 1}, serializer=_TextSerializer.name)
    assert mv.environment is not None
    assert mv.requirements is None
    assert reg.load("m", mv.version, strict_environment=True) == "{'w': 1}"


def test_an_environment_attached_by_the_caller_is_stored_as_given(
    reg: Registry, snapshot: EnvironmentSnapshot
) -> None:
    mv = reg.register(model_name="m", model={"w": 1}, attachments={ENVIRONMENT_ROLE: snapshot})
    assert mv.environment == snapshot
    assert mv.requirements is not None  # still found by the scan


def test_requirements_attached_by_the_caller_are_stored_as_given(reg: Registry) -> None:
    pinned = Requirements(packages={"numpy": "1.0.0"})
    mv = reg.register(
        model_name="m", model={"w": np.arange(2)}, attachments={REQUIREMENTS_ROLE: pinned}
    )
    assert mv.requirements == pinned


@pytest.mark.parametrize("role", [ENVIRONMENT_ROLE, REQUIREMENTS_ROLE])
def test_an_invalid_attached_document_is_refused_before_anything_is_written(
    reg: Registry, role: str
) -> None:
    document = '{"schema_version": 1, "packages": [], "python_version": 3}'
    with pytest.raises(SnapshotError, match=f"the '{role}' attachment is not"):
        reg.register(model_name="m", model={"w": 1}, attachments={role: document})
    nothing_registered(reg)


def test_a_failure_after_the_artifact_is_stored_leaves_no_version_visible(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("killed while scanning")

    monkeypatch.setattr(stored_module, "resolve_requirements", fail)
    with pytest.raises(RuntimeError, match="killed while scanning"):
        reg.register(model_name="m", model={"w": 1})
    monkeypatch.undo()
    nothing_registered(reg)
    assert reg.register(model_name="m", model={"w": 1}).version == "1"


def test_scanned_bytes_that_do_not_have_the_artifacts_digest_raise_integrity_error() -> None:
    artifact = joblib_bytes({"w": np.arange(3)})
    capture = RegistrationCapture.start({}, enabled=True)
    with pytest.raises(IntegrityError, match="changed in storage while it was being registered"):
        capture.documents(
            lambda: io.BytesIO(artifact), "sha256:" + "0" * 64, runs_code=True, what="m 1"
        )


def joblib_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


def test_a_forged_environment_attachment_raises_naming_the_version_and_role(
    reg: Registry,
) -> None:
    mv = reg.register(model_name="m", model={"w": 1}, capture_environment=False)
    bad = forged(reg, mv, ENVIRONMENT_ROLE, b'{"schema_version": 1, "python_version": 3}')
    with pytest.raises(InvalidEnvironmentDocument, match="m version 1: the 'environment'"):
        _ = bad.environment


def test_a_forged_requirements_attachment_raises_naming_the_version_and_role(
    reg: Registry,
) -> None:
    mv = reg.register(model_name="m", model={"w": 1}, capture_environment=False)
    bad = forged(reg, mv, REQUIREMENTS_ROLE, b'{"schema_version": 1, "packages": []}')
    with pytest.raises(InvalidEnvironmentDocument, match="m version 1: the 'requirements'"):
        _ = bad.requirements


def test_a_forged_requirements_attachment_stops_load_before_unpickling(
    reg: Registry,
) -> None:
    mv = reg.register(model_name="m", model={"w": 1}, capture_environment=False)
    bad = forged(reg, mv, REQUIREMENTS_ROLE, b"not json")
    with pytest.raises(InvalidEnvironmentDocument):
        stored_module.check_before_load(bad, strict=False)


def test_the_invalid_document_error_is_an_integrity_error_and_a_snapshot_error() -> None:
    assert issubclass(InvalidEnvironmentDocument, IntegrityError)
    assert issubclass(InvalidEnvironmentDocument, SnapshotError)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_FIELDS = st.sampled_from(
    [
        "python_version",
        "python_implementation",
        "os",
        "machine",
        "packages",
        "gpus",
        "blas",
        "env",
        "cpu_count",
        "memory_total",
        "modules",
        "unresolved",
        "dynamic",
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    role=st.sampled_from([ENVIRONMENT_ROLE, REQUIREMENTS_ROLE]),
    fields=st.dictionaries(_FIELDS, _JSON, max_size=6),
)
def test_any_stored_json_object_reads_as_its_document_or_raises_the_specific_error(
    role: str, fields: dict[str, Any]
) -> None:
    reg = ms.open_registry("memory://parity-forgery-property")
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    document = json.dumps({"schema_version": 1, **fields}).encode()
    bad = forged(reg, mv, role, document)
    try:
        read = bad.environment if role == ENVIRONMENT_ROLE else bad.requirements
    except InvalidEnvironmentDocument:
        return
    assert isinstance(read, EnvironmentSnapshot if role == ENVIRONMENT_ROLE else Requirements)


def test_register_scans_the_artifact_as_it_is_written_and_never_reads_it_back(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_back(key: str) -> Any:
        raise AssertionError(f"the stored {key} was read back")

    monkeypatch.setattr(reg.store, "open_blob", read_back)
    mv = reg.register(model_name="m", model=[FakeScaler(), np.arange(3.0)])
    monkeypatch.undo()
    assert mv.requirements is not None
    assert mv.requirements["numpy"] == importlib.metadata.version("numpy")


def test_a_serializer_that_fails_midway_leaves_no_scan_waiting_and_nothing_registered(
    reg: Registry,
) -> None:
    import threading

    class Broken:
        def __reduce__(self) -> Any:
            raise RuntimeError("cannot pickle this")

    with pytest.raises(ms.SerializationError, match="cannot pickle this"):
        reg.register(model_name="m", model=[np.zeros(2**18), Broken()])
    nothing_registered(reg)
    assert not [t for t in threading.enumerate() if t.name == "modelship-scan"]


def test_requirements_check_installed_would_refuse_cannot_be_registered(reg: Registry) -> None:
    # Refused when built, so no version is registered that load() would then refuse.
    with pytest.raises(ConfigError, match="'my pkg', which is not a distribution name"):
        Requirements(packages={"my pkg": "1.0"})
    document = b'{"schema_version": 1, "packages": {"my pkg": "1.0"}}'
    with pytest.raises(SnapshotError, match="the 'requirements' attachment is not"):
        reg.register(model_name="m", model={"w": 1}, attachments={REQUIREMENTS_ROLE: document})
    nothing_registered(reg)


@pytest.mark.parametrize(
    "document",
    [
        b'{"schema_version": 1, "packages": {"my pkg": "1.0"}}',
        b'{"schema_version": 1, "packages": {"numpy": "' + b"1" * 250 + b'"}}',
    ],
)
def test_a_stored_requirements_document_load_would_refuse_is_an_invalid_document(
    reg: Registry, document: bytes
) -> None:
    # A forged document blames the stored version, not the caller's arguments.
    mv = reg.register(model_name="m", model={"w": 1}, capture_environment=False)
    bad = forged(reg, mv, REQUIREMENTS_ROLE, document)
    with pytest.raises(InvalidEnvironmentDocument, match="m version 1: the 'requirements'"):
        stored_module.check_before_load(bad, strict=False)


@pytest.mark.parametrize("role", [ENVIRONMENT_ROLE, REQUIREMENTS_ROLE])
def test_an_attachment_from_a_newer_modelship_says_to_upgrade_not_that_it_was_forged(
    reg: Registry, role: str
) -> None:
    mv = reg.register(model_name="m", model={"w": 1}, capture_environment=False)
    bad = forged(reg, mv, role, b'{"schema_version": 99}')
    with pytest.raises(InvalidEnvironmentDocument) as caught:
        _ = bad.environment if role == ENVIRONMENT_ROLE else bad.requirements
    message = str(caught.value)
    assert f"the {role!r} attachment was written by a newer modelship" in message, message
    assert "upgrade modelship" in message
    assert "forged" not in message
