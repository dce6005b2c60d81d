"""A serializer is checked before anything it writes is committed.

Its name and media type are recorded in every manifest and its name is how ``load`` finds
it again, so both are checked when it is registered or passed in (``ConfigError``). What
``library_versions()`` returns is recorded too: it is called before the artifact's blob is
published, and anything it raises or any other type it returns is a
``SerializationError``, leaving nothing behind.
"""

from __future__ import annotations

from typing import IO, Any

import pytest

import modelship as ms
from modelship.registry import get_serializer, register_serializer
from modelship.testing import MemoryStore

_NONE: Any = object()


class _Text:
    """A serializer that does not subclass ``Serializer``; its fields are set per test."""

    def __init__(self, name: Any, media_type: Any = "text/plain", versions: Any = _NONE) -> None:
        self.name = name
        self.media_type = media_type
        self.versions = {} if versions is _NONE else versions

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        fp.write(b"text")

    def load(self, fp: IO[bytes]) -> Any:
        return fp.read()

    def library_versions(self) -> dict[str, str]:
        if isinstance(self.versions, Exception):
            raise self.versions
        return self.versions  # type: ignore[no-any-return]


_BAD_NAMES = [123, None, "", "a/b", "j\u043eblib", "with space", "-dash", "x" * 65, "nl\n"]
_BAD_MEDIA_TYPES = [None, 3, "", "text/plain\n", "t\u00e9xt/plain", b"text/plain"]


@pytest.mark.parametrize("name", _BAD_NAMES, ids=repr)
def test_register_serializer_refuses_a_name_that_cannot_be_recorded(name: Any) -> None:
    with pytest.raises(ms.ConfigError, match="serializer's name must be"):
        register_serializer(_Text(name))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", _BAD_NAMES, ids=repr)
def test_registering_with_a_serializer_whose_name_cannot_be_recorded_raises_config_error(
    name: Any,
) -> None:
    reg = ms.Registry(MemoryStore())
    with pytest.raises(ms.ConfigError, match="serializer's name must be"):
        reg.register(model_name="m", model=b"x", serializer=_Text(name))  # type: ignore[arg-type]
    assert reg.store.list("models") == []
    assert reg.store.list("blobs/sha256") == []


@pytest.mark.parametrize("media_type", _BAD_MEDIA_TYPES, ids=repr)
def test_a_serializer_whose_media_type_is_not_printable_ascii_text_raises_config_error(
    media_type: Any,
) -> None:
    with pytest.raises(ms.ConfigError, match="media type"):
        get_serializer(_Text("review-media", media_type))  # type: ignore[arg-type]
    reg = ms.Registry(MemoryStore())
    with pytest.raises(ms.ConfigError, match="media type"):
        reg.register(model_name="m", model=b"x", serializer=_Text("review-media", media_type))  # type: ignore[arg-type]


def test_a_serializer_with_a_valid_name_and_media_type_registers_and_loads_back() -> None:
    reg = ms.Registry(MemoryStore())
    text = _Text("review.text_1-a", "application/x-review+text", {"lib": "1.0"})
    mv = reg.register(model_name="m", model="anything", serializer=text)  # type: ignore[arg-type]
    assert (mv.artifact.serializer, mv.artifact.media_type) == (
        "review.text_1-a",
        "application/x-review+text",
    )
    assert dict(mv.artifact.library_versions) == {"lib": "1.0"}
    register_serializer(text, clobber=True)  # type: ignore[arg-type]
    assert reg.load("m", mv.version) == b"text"


@pytest.mark.parametrize(
    ("versions", "match"),
    [
        (ZeroDivisionError("division by zero"), "raised ZeroDivisionError"),
        (None, "returned None"),
        ([("numpy", "2.0")], "returned \\[\\("),
        ({"numpy": 2}, "returned \\{'numpy': 2\\}"),
        ({1: "2.0"}, "returned \\{1: '2.0'\\}"),
    ],
    ids=["raises", "none", "list", "int-value", "int-key"],
)
def test_library_versions_that_raise_or_are_not_a_str_dict_raise_serialization_error(
    versions: Any, match: str
) -> None:
    reg = ms.Registry(MemoryStore())
    with pytest.raises(ms.SerializationError, match=match):
        reg.register(model_name="m", model=b"x", serializer=_Text("review-lv", versions=versions))  # type: ignore[arg-type]
    assert reg.store.list("blobs/sha256") == []  # nothing published for a version never made
    assert reg.store.list("models") == []
