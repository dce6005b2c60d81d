"""A version's record is plain data: the registry reads its small documents, the record never."""

from __future__ import annotations

import json

import pytest

import modelship as ms
from modelship import _model_version as records
from modelship.registry._layout import blob_key
from modelship.testing import HookStore, MemoryStore


class Notes:
    """A document kind of the tests' own."""

    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> str:
        return json.dumps({"text": self.text})

    @classmethod
    def from_json(cls, text: str) -> Notes:
        return cls(json.loads(text)["text"])


def _watched() -> tuple[ms.Registry, list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []
    store = HookStore(MemoryStore(), before=lambda op, key: calls.append((op, key)))
    return ms.Registry(store), calls


def test_reading_documents_of_a_record_from_get_does_no_storage_io() -> None:
    reg, calls = _watched()
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": Notes("a")})
    mv = reg.get("m")
    calls.clear()
    assert mv.attachment("n", Notes).text == "a"
    assert mv.attachment("n") == b'{"text": "a"}'
    assert mv.environment is not None
    assert calls == []


def test_the_record_register_returns_holds_its_documents_without_reading_them_back() -> None:
    reg, calls = _watched()
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": "hi"})
    assert mv.attachment("n") == b"hi"
    assert not [key for op, key in calls if op in ("read", "open") and key.startswith("blobs/")]


def test_a_listed_record_holds_no_documents_and_names_the_call_that_reads_them() -> None:
    reg = ms.open_registry("memory://held-listed")
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": "hi"})
    listed = reg.versions("m")[0]
    with pytest.raises(ms.ConfigError, match=r"registry\.read_attachment\(mv, 'n'"):
        listed.attachment("n")
    assert reg.read_attachment(listed, "n") == b"hi"
    assert listed.read_through(reg).attachment("n") == b"hi"


def test_read_attachment_with_a_kind_reads_the_document() -> None:
    reg = ms.open_registry("memory://held-kind")
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": Notes("b")})
    assert reg.read_attachment(mv, "n", Notes).text == "b"


def test_a_damaged_attachment_does_not_stop_get_or_load_and_raises_when_read() -> None:
    reg = ms.open_registry("memory://held-damaged")
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": "hi"})
    key = blob_key(mv.attachments["n"].digest)
    reg.store.delete(key)
    reg.store.create(key, b"ho")
    got = reg.get("m")
    assert reg.load("m") == b"x"
    with pytest.raises(ms.IntegrityError):
        got.attachment("n")


def test_a_document_larger_than_a_record_holds_is_read_through_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(records, "HELD_DOCUMENT", 4)
    reg = ms.open_registry("memory://held-large")
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"n": "long text"})
    mv = reg.get("m")
    with pytest.raises(ms.ConfigError, match="holds no copy"):
        mv.attachment("n")
    assert reg.attachment("m", "1", "n") == b"long text"


def test_the_documents_held_stay_within_the_total_bound() -> None:
    ref = ms.ArtifactRef("sha256:" + "0" * 64, records.HELD_DOCUMENT, "bytes", "-")
    many = {f"r{i}": ref for i in range(records.HELD_DOCUMENTS // records.HELD_DOCUMENT + 2)}
    mv = ms.ModelVersion(
        name="m",
        version="1",
        sequence=1,
        artifact=ref,
        created_at="2026-01-01T00:00:00+00:00",
        attachments=many,
    )
    held = records.held_roles(mv)
    assert 0 < len(held) < len(many)
    assert sum(mv.attachments[r].size for r in held) <= records.HELD_DOCUMENTS
