"""The model registry: versions, aliases and verified artifacts on any fsspec storage."""

from __future__ import annotations

from modelship.registry._copy import CopyReport, copy_registry
from modelship.registry._open import open_registry
from modelship.registry._registry import AliasMove, GcReport, Registry
from modelship.registry._serializers import (
    BytesSerializer,
    JoblibSerializer,
    NumpySerializer,
    Serializer,
    get_serializer,
    register_serializer,
    serializer_names,
)
from modelship.registry._store import BlobWriter, FsspecStore, Store

__all__ = [
    "AliasMove",
    "BlobWriter",
    "BytesSerializer",
    "CopyReport",
    "FsspecStore",
    "GcReport",
    "JoblibSerializer",
    "NumpySerializer",
    "Registry",
    "Serializer",
    "Store",
    "copy_registry",
    "get_serializer",
    "open_registry",
    "register_serializer",
    "serializer_names",
]
