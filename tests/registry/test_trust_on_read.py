"""What is read back from storage is trusted no more than what a caller passes in.

Names read from the store (alias log entries, sequence slots, manifests, listings) are
validated like names passed in, and a caller can refuse a pickle-based artifact whatever
the manifest says its serializer is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.registry import RefusedSerializer
from modelship.registry._layout import alias_key, manifest_key, slot_key

OUTSIDE = "../../../../outside/x"


def _write(reg: ms.Registry, key: str, doc: Any) -> None:
    data = json.dumps(doc).encode()
    if reg.store.exists(key):
        reg.store.replace(key, data)
    else:
        reg.store.create(key, data)


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    """A local registry at ``tmp_path/registry`` whose ``m`` version 1 was also planted
    outside it, at ``tmp_path/outside/x.json``, as a manifest of ``m`` version ``x``."""
    reg = ms.open_registry(tmp_path / "registry")
    mv = reg.register(model_name="m", model=b"one", serializer="bytes")
    planted = {**mv.to_dict(), "version": "x"}
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.json").write_text(json.dumps(planted))
    return reg


# --- item 10: names read from storage ------------------------------------------------------


def test_a_version_in_the_alias_log_cannot_resolve_outside_the_registry(
    reg: ms.Registry,
) -> None:
    entry = {
        "revision": 1,
        "aliases": {"production": OUTSIDE},
        "move": {"alias": "production", "from": None, "to": OUTSIDE, "by": "x", "at": ""},
    }
    _write(reg, alias_key("m", 1), entry)
    with pytest.raises(ms.IntegrityError, match="would not be accepted as input"):
        reg.get("m", "@production")
    with pytest.raises(ms.IntegrityError, match="would not be accepted"):
        reg.aliases("m")


def test_a_version_in_a_sequence_slot_cannot_resolve_outside_the_registry(
    reg: ms.Registry,
) -> None:
    registration = reg.get("m", "1").registration
    _write(reg, slot_key("m", 2), {"version": OUTSIDE, "registration": registration})
    with pytest.raises(ms.IntegrityError, match="would not be accepted as input"):
        reg.get("m", "latest")


@pytest.mark.parametrize(("field", "value"), [("name", "../m"), ("version", "con.1")])
def test_a_manifest_naming_an_invalid_name_is_refused(
    reg: ms.Registry, field: str, value: str
) -> None:
    key = manifest_key("m", "1")
    doc = json.loads(reg.store.read(key))
    doc[field] = value
    _write(reg, key, doc)
    with pytest.raises(ms.IntegrityError, match="would not be accepted"):
        reg.get("m", "1")


def test_a_manifest_copied_to_another_version_key_is_refused(reg: ms.Registry) -> None:
    reg.store.create(manifest_key("m", "2"), reg.store.read(manifest_key("m", "1")))
    with pytest.raises(ms.IntegrityError, match="claims to be m version 1"):
        reg.get("m", "2")
    with pytest.raises(ms.IntegrityError, match="claims to be"):
        reg.versions("m")


def test_a_folder_that_is_no_valid_model_name_is_not_listed(reg: ms.Registry) -> None:
    reg.store.create("models/-bad/versions/1.json", reg.store.read(manifest_key("m", "1")))
    assert reg.models() == ["m"]


# --- item 9: a caller can refuse pickle, whatever the manifest says -----------------------


@pytest.fixture
def numpy_rewritten_to_joblib(tmp_path: Path) -> ms.Registry:
    """``m`` 1 registered with numpy, its manifest then rewritten to a joblib artifact."""
    reg = ms.open_registry(tmp_path / "pickles")
    reg.register(model_name="m", model=np.arange(3), serializer="numpy")
    joblib_version = reg.register(model_name="j", model={"any": "object"})
    key = manifest_key("m", "1")
    doc = json.loads(reg.store.read(key))
    doc["artifact"] = joblib_version.artifact.to_dict()
    _write(reg, key, doc)
    return reg


def test_allow_pickle_false_refuses_a_manifest_rewritten_to_joblib(
    numpy_rewritten_to_joblib: ms.Registry,
) -> None:
    with pytest.raises(RefusedSerializer, match="allow_pickle=False"):
        numpy_rewritten_to_joblib.load("m", "1", allow_pickle=False)


def test_a_pinned_serializer_refuses_any_other(numpy_rewritten_to_joblib: ms.Registry) -> None:
    with pytest.raises(RefusedSerializer, match="not the 'numpy' this load pinned"):
        numpy_rewritten_to_joblib.load("m", "1", serializer="numpy")


def test_allow_pickle_false_loads_numpy_and_bytes(tmp_path: Path) -> None:
    reg = ms.open_registry(tmp_path / "ok")
    reg.register(model_name="a", model=np.arange(3), serializer="numpy")
    reg.register(model_name="b", model=b"raw", serializer="bytes")
    assert reg.load("a", "1", allow_pickle=False, serializer="numpy").tolist() == [0, 1, 2]
    assert reg.load("b", "1", allow_pickle=False) == b"raw"


def test_refused_serializer_is_a_serialization_error() -> None:
    assert issubclass(RefusedSerializer, ms.SerializationError)
