"""The registry's public API as users write it; ``mypy --strict`` checks this file."""

from __future__ import annotations

import json

import modelship as ms
from modelship.registry import (
    Document,
    LocalBlobs,
    Store,
    TagChange,
    VersionPage,
    VersionState,
    Where,
)
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


def listing() -> None:
    reg = ms.open_registry("memory://typing-listing")
    everything: list[ms.ModelVersion] = reg.versions("m", include_archived=True)
    where: Where = {"tags.stage": "prod", "metrics.auc": (">=", 0.9)}
    page: VersionPage = reg.versions("m", limit=100, order="newest", where=where)
    more: VersionPage = reg.versions("m", limit=100, cursor=page.next_cursor)
    first: ms.ModelVersion = page[0]
    reg.set_tag("m", "1", "approved_by", "ana", expected=None)
    tags: dict[str, str] = reg.tags("m", "@production")
    history: list[TagChange] = reg.tag_history("m", "1")
    print(everything, more, first, tags, history)
