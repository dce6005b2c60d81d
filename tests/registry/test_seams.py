"""The registry's seams are declared: capabilities by protocol, documents by role, no circles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, ClassVar

import pytest

import modelship as ms
from modelship.registry import (
    AbortsUploads,
    FsspecStore,
    LocalBlobs,
    Serializer,
    VersionState,
    _serializers,
    get_serializer,
    register_document_kind,
    register_serializer,
)
from modelship.testing import HookStore, MemoryStore


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


class Notes:
    """A document kind of the tests' own: text that writes itself to JSON."""

    reads = 0

    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> str:
        return json.dumps({"text": self.text})

    @classmethod
    def from_json(cls, text: str) -> Notes:
        cls.reads += 1
        return cls(json.loads(text)["text"])


# --- imports --------------------------------------------------------------------------------


def test_the_registry_imports_nothing_from_checks() -> None:
    loaded = _imported_after("import modelship.registry; import modelship.version")
    assert "modelship.registry" in loaded
    assert not {m for m in loaded if m.startswith("modelship.checks")}


def test_the_test_doubles_import_without_pytest() -> None:
    loaded = _imported_after("import modelship.testing; modelship.testing.MemoryStore()")
    assert "modelship.testing" in loaded
    assert "pytest" not in loaded


def test_the_suites_are_reachable_from_modelship_testing_by_name() -> None:
    from modelship.testing import RegistryConformance, StoreConformance
    from modelship.testing.suites import RegistryConformance as Direct

    assert RegistryConformance is Direct
    assert StoreConformance.__name__ == "StoreConformance"


# --- store capabilities ---------------------------------------------------------------------


def test_a_local_store_declares_local_blobs_and_no_upload_listing(tmp_path: Path) -> None:
    store = FsspecStore.from_url(str(tmp_path))
    assert isinstance(store, LocalBlobs)
    assert not isinstance(store, AbortsUploads)


def test_a_memory_store_declares_no_optional_capability() -> None:
    store = FsspecStore.from_url("memory://seams-capabilities")
    assert not isinstance(store, (LocalBlobs, AbortsUploads))


def test_hook_store_has_exactly_the_capabilities_of_what_it_wraps(tmp_path: Path) -> None:
    local = FsspecStore.from_url(str(tmp_path))
    hooked = HookStore(local)
    assert isinstance(hooked, LocalBlobs)
    assert hooked.local_path("blobs/x") == local.local_path("blobs/x")
    assert not isinstance(HookStore(MemoryStore()), (LocalBlobs, AbortsUploads))


@pytest.mark.s3
def test_hook_store_forwards_upload_listing_of_an_s3_store(s3_bucket: dict[str, Any]) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    hooked = HookStore(store)
    assert isinstance(hooked, AbortsUploads)
    assert hooked.incomplete_uploads(before=0.0) == []


def test_a_registry_on_the_memory_double_loads_through_the_two_pass_route() -> None:
    reg = ms.Registry(MemoryStore())
    reg.register(model_name="m", model=b"raw", serializer="bytes")
    assert reg.load("m") == b"raw"
    assert reg.verify("m").version == "1"


# --- serializers ----------------------------------------------------------------------------


def test_a_serializer_that_subclasses_the_protocol_reads_sequentially_false() -> None:
    class Text(Serializer):
        name = "seams-text"
        media_type = "text/plain"

        def dump(self, obj: Any, fp: IO[bytes]) -> None:
            fp.write(obj.encode())

        def load(self, fp: IO[bytes]) -> Any:
            return fp.read().decode()

        def library_versions(self) -> dict[str, str]:
            return {}

    assert get_serializer(Text()).reads_sequentially is False


def test_an_undeclared_serializer_reads_sequentially_false() -> None:
    class Plain:
        name = "seams-plain"
        media_type = "text/plain"

        def dump(self, obj: Any, fp: IO[bytes]) -> None:
            fp.write(obj)

        def load(self, fp: IO[bytes]) -> Any:
            return fp.read()

        def library_versions(self) -> dict[str, str]:
            return {}

    assert get_serializer(Plain()).reads_sequentially is False  # type: ignore[arg-type]


def test_register_serializer_refuses_to_replace_a_builtin() -> None:
    with pytest.raises(ms.ConfigError, match="'joblib' exists already; pass clobber=True"):
        register_serializer(_Joblibish())
    assert isinstance(get_serializer("joblib"), _serializers.JoblibSerializer)


def test_register_serializer_with_clobber_replaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_serializers, "_REGISTERED", {})
    replacement = _Joblibish()
    register_serializer(replacement, clobber=True)
    assert get_serializer("joblib") is replacement


class _Joblibish(_serializers.BytesSerializer):
    name = "joblib"
    reads_sequentially: ClassVar[bool] = False


# --- version states -------------------------------------------------------------------------


def test_version_states_keep_their_stored_names() -> None:
    assert [s.value for s in VersionState] == ["live", "archived", "purged"]


def test_an_archived_version_is_reported_by_its_state_name(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path))
    reg.register(model_name="m", model=b"x", serializer="bytes")
    reg.delete("m", "1")
    assert (tmp_path / "models" / "m" / "archived" / "1.json").is_file()
    with pytest.raises(ms.ArchivedVersion, match="was archived;"):
        reg.get("m", "1")


# --- documents ------------------------------------------------------------------------------


def test_a_document_object_is_stored_and_read_back_as_its_class() -> None:
    reg = ms.open_registry("memory://seams-document")
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": Notes("hi")})
    assert reg.get("m").attachment("n", Notes).text == "hi"
    assert reg.attachment("m", "1", "n", Notes).text == "hi"
    assert reg.attachment("m", "1", "n") == b'{"text": "hi"}'


def test_a_document_is_read_from_storage_once_per_record() -> None:
    reg = ms.open_registry("memory://seams-document-once")
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": Notes("a")})
    mv = reg.get("m")
    before = Notes.reads
    first, second = mv.attachment("n", Notes), mv.attachment("n", Notes)
    assert first is second
    assert Notes.reads == before + 1


def test_a_record_equals_its_json_round_trip_whatever_it_has_read() -> None:
    reg = ms.open_registry("memory://seams-document-eq")
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": Notes("a")})
    mv = reg.get("m")
    mv.attachment("n", Notes)
    bare = ms.ModelVersion.from_json(mv.to_json())
    assert bare == mv
    assert bare.read_through(reg).attachment("n", Notes).text == "a"


def test_a_declared_document_kind_is_read_by_role(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelship import _documents

    monkeypatch.setattr(_documents, "_REGISTERED", {})
    register_document_kind("seams-notes", Notes)
    reg = ms.open_registry("memory://seams-kind")
    reg.register(
        model_name="m", model=b"x", serializer="bytes", attachments={"seams-notes": Notes("b")}
    )
    assert reg.get("m").document("seams-notes").text == "b"


def test_a_role_without_a_declared_kind_says_how_to_read_it() -> None:
    reg = ms.open_registry("memory://seams-no-kind")
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"raw": "{}"})
    with pytest.raises(ms.ConfigError, match=r"attachment\('raw', YourClass\)"):
        reg.get("m").document("raw")


def test_an_attachment_that_is_not_bytes_text_or_a_document_raises_config_error() -> None:
    reg = ms.open_registry("memory://seams-bad-attachment")
    with pytest.raises(ms.ConfigError, match="bytes, str or a Document"):
        reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": 3})  # type: ignore[dict-item]


def test_a_record_pickles_as_its_data_without_the_registry() -> None:
    import pickle

    reg = ms.open_registry("memory://seams-pickle")
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": Notes("a")})
    back = pickle.loads(pickle.dumps(reg.get("m")))
    assert back == reg.get("m")
    with pytest.raises(ms.ConfigError, match="not read from a registry"):
        back.attachment("n")
