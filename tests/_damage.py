"""Damage to a JSON document, drawn by Hypothesis: for fuzzing readers of stored documents.

Shared by the fuzz tests of the registry's files and of deployment records: both take a
real document, change one place in it (a value replaced by any JSON value, or a key
removed) and check that reading it answers or raises the reader's own error.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: Any JSON value, small, with the strings readers of our documents react to.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            "1",
            "2",
            "3",
            "fraud",
            "production",
            "succeeded",
            "traffic",
            "sha256:" + "0" * 64,
            "2026-01-01",
            "2026-01-01T00:00:00",  # a time without its zone
            "2026-01-01T00:00:00+05:30",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def places(doc: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``doc`` below its top: the keys and indexes that lead to each value."""
    found = [here] if here else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += places(value, (*here, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += places(value, (*here, i))
    return found


def damage_in_place(draw: st.DrawFn, doc: Any) -> tuple[Any, str]:
    """``doc`` with one place replaced by any JSON value or, in a mapping, removed; a
    document with no place inside is replaced whole. Returns it and what was done."""
    where = places(doc)
    if not where:
        value = draw(json_values)
        return value, f"replaced by {value!r}"
    path = draw(st.sampled_from(where))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
        return doc, f"removed {path}"
    value = draw(json_values)
    parent[path[-1]] = value
    return doc, f"{path} = {value!r}"
