"""The registry's seams are declared: capabilities by protocol, documents by role, no circles."""

from __future__ import annotations

import ast
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
    KnowsLocation,
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
    loaded = _imported_after("import modelship.registry; import modelship._model_version")
    assert "modelship.registry" in loaded
    assert not {m for m in loaded if m.startswith("modelship.checks")}


SRC = Path(__file__).resolve().parents[2] / "src"
MODULES = {
    ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__"): path
    for path in sorted((SRC / "modelship").rglob("*.py"))
}


def _ours(name: str) -> str | None:
    """The module of ours importing ``name`` runs last: ``name`` or its longest prefix."""
    parts = name.split(".")
    while parts:  # bounded by the dotted name's length
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _packages_of(module: str) -> set[str]:
    """``module`` and every package above it (importing it runs their ``__init__``)."""
    return {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}


def _runs_with(module: str) -> set[str]:
    """What importing ``module`` runs at once: its module-level imports (not those inside
    functions, which run later if at all, nor those under ``if TYPE_CHECKING``), and
    every package above each of them."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    todo: list[ast.AST] = list(tree.body)
    while todo:  # bounded by the module's statements; function bodies are not entered
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)  # the body runs only under a type checker
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            todo.extend(ast.iter_child_nodes(node))
    found = {m for m in map(_ours, names) if m is not None}
    return {package for m in found for package in _packages_of(m)} - {module}


def _imported_at_import(start: str) -> set[str]:
    seen: set[str] = set()
    todo = sorted(_packages_of(start))
    while todo:  # bounded: each module is visited once
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_runs_with(module) & MODULES.keys())
    return seen


def test_the_module_graph_is_read_from_module_level_imports_and_the_packages_above_them() -> None:
    assert "modelship.registry._layout" in _runs_with("modelship.registry._integrity")
    assert "modelship.registry" in _runs_with("modelship.registry._integrity")
    assert "modelship" in _imported_at_import("modelship.registry._layout")
    assert "modelship.parity._behaviour" in GRAPH_PARITY_TYPE_CHECKING_ONLY


GRAPH_PARITY_TYPE_CHECKING_ONLY = _packages_of("modelship.parity._behaviour") - _runs_with(
    "modelship.parity"
)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("modelship.registry")))
def test_importing_a_registry_module_runs_nothing_from_checks(module: str) -> None:
    reached = _imported_at_import(module)
    assert sorted(m for m in reached if m.startswith("modelship.checks")) == []


def _front_door_imports(module: str) -> list[str]:
    """The statements of ``module`` importing the ``modelship`` package itself (the front
    door, which imports the registry), rather than the module that defines a name."""
    found = []
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "modelship"]
        elif isinstance(node, ast.ImportFrom) and node.module == "modelship" and not node.level:
            found += [
                f"modelship.{a.name}" for a in node.names if f"modelship.{a.name}" not in MODULES
            ]
    return found


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("modelship.registry")))
def test_a_registry_module_does_not_import_the_front_door(module: str) -> None:
    assert _front_door_imports(module) == []


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


def test_hook_store_forwards_knowing_its_location(tmp_path: Path) -> None:
    local = FsspecStore.from_url(str(tmp_path / "not-yet"))
    hooked = HookStore(local)
    assert isinstance(hooked, KnowsLocation)
    assert hooked.location_exists() is False
    local.create("k", b"1")
    assert hooked.location_exists() is True
    assert not isinstance(HookStore(MemoryStore()), KnowsLocation)


def test_checkpoint_every_must_be_a_positive_number_of_bytes() -> None:
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ms.ConfigError, match="checkpoint_every"):
            ms.Registry(MemoryStore(), checkpoint_every=bad)  # type: ignore[arg-type]


def test_checkpoint_every_sets_the_interval_of_an_artifacts_checkpoints() -> None:
    reg = ms.open_registry("memory://seams-checkpoint-every", checkpoint_every=1000)
    mv = reg.register(model_name="m", model=bytes(3500), serializer="bytes")
    assert (mv.artifact.checkpoint_every, len(mv.artifact.checkpoints)) == (1000, 3)
    assert reg.load("m") == bytes(3500)


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
