"""A ModelVersion is a frozen record: it hashes by the fields that name the version, and
its mappings (and the lists and dicts in its params) cannot change in place."""

from __future__ import annotations

import pickle
from typing import Any

import attrs
import pytest

import modelship as ms
from modelship.testing import MemoryStore


def test_a_model_version_is_hashable_and_equal_records_hash_alike() -> None:
    reg = ms.Registry(MemoryStore())
    mv = reg.register(
        model_name="m", model=b"x", serializer="bytes", metrics={"auc": 0.9}, tags={"t": "a"}
    )
    again = reg.get("m", mv.version)
    assert again == mv
    assert hash(again) == hash(mv)
    assert {mv, again} == {mv}
    other = reg.register(model_name="m", model=b"y", serializer="bytes")
    assert len({mv, other}) == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda mv: mv.metrics.__setitem__("auc", 0.1),
        lambda mv: mv.tags.update({"t": "b"}),
        lambda mv: mv.params.pop("depth"),
        lambda mv: mv.params["layers"].append(4),
        lambda mv: mv.params["nested"].clear(),
        lambda mv: mv.attachments.clear(),
    ],
    ids=["metrics", "tags", "params", "nested-list", "nested-dict", "attachments"],
)
def test_a_model_version_s_mappings_cannot_change_in_place(change: Any) -> None:
    reg = ms.Registry(MemoryStore())
    mv = _rich(reg)
    before = mv.to_json()
    with pytest.raises(TypeError, match="frozen"):
        change(mv)
    assert mv.to_json() == before


def test_read_only_mappings_equal_plain_ones_and_survive_pickling() -> None:
    reg = ms.Registry(MemoryStore())
    mv = _rich(reg)
    assert mv.params == {"depth": 3, "layers": [1, 2, 3], "nested": {"a": [1]}}
    assert mv.tags == {"t": "a"}
    data = pickle.dumps(mv)
    assert b"_ReadOnly" not in data  # pickles name no private class
    again = pickle.loads(data)
    assert again == mv
    with pytest.raises(TypeError, match="frozen"):
        again.params["layers"].append(4)
    changed = attrs.evolve(mv, tags={**mv.tags, "t": "b"})
    assert changed.tags == {"t": "b"}
    assert mv.tags == {"t": "a"}


def _rich(reg: ms.Registry) -> ms.ModelVersion:
    return reg.register(
        model_name="m",
        model=b"x",
        serializer="bytes",
        metrics={"auc": 0.9},
        tags={"t": "a"},
        params={"depth": 3, "layers": [1, 2, 3], "nested": {"a": [1]}},
        attachments={"notes": "hi"},
    )
