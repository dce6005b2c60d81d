"""The registry's public API as users write it; ``mypy --strict`` checks this file."""

from __future__ import annotations

import json

import modelship as ms
from modelship.registry import Document, LocalBlobs, Store, VersionState
from modelship.testing import HookStore, MemoryStore


class Notes:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> str:
        return json.dumps({"text": self.text})

    @classmethod
    def from_json(cls, text: str) -> Notes:
        return cls(json.loads(text)["text"])


def use() -> None:
    reg: ms.Registry = ms.open_registry("memory://typing-registry")
    mv: ms.ModelVersion = reg.register(
        model_name="m", model=b"x", serializer="bytes", attachments={"n": Notes("a")}
    )
    notes: Notes = mv.attachment("n", Notes)
    raw: bytes = reg.attachment("m", "1", "n")
    doc: Document = notes
    store: Store = HookStore(MemoryStore())
    local: bool = isinstance(store, LocalBlobs)
    state: str = VersionState.ARCHIVED.value
    print(notes.text, raw, doc, local, state)
