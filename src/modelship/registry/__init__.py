"""The model registry: versions, aliases and verified artifacts on any fsspec storage."""

from __future__ import annotations

from modelship._documents import Document, DocumentKind, register_document_kind
from modelship._model_params import params_from_estimator
from modelship._model_version import AttachmentSource, VersionState
from modelship._public import publish
from modelship.registry._aliases import AliasMove
from modelship.registry._copy import CopyReport, copy_registry
from modelship.registry._gc import GcMarkLeft, GcReport
from modelship.registry._listing import Order, VersionPage
from modelship.registry._open import open_registry
from modelship.registry._protocols import (
    AbortsUploads,
    BlobWriter,
    KnowsLocation,
    LocalBlobs,
    ReplacesBlobs,
    Store,
)
from modelship.registry._registry import Registry
from modelship.registry._serializers import (
    BytesSerializer,
    JoblibSerializer,
    LoadsWithoutCode,
    NumpySerializer,
    RefusedSerializer,
    Serializer,
    get_serializer,
    register_serializer,
    serializer_names,
)
from modelship.registry._store import FsspecStore
from modelship.registry._tags import TagChange
from modelship.registry._where import Op, Where

__all__ = [
    "AbortsUploads",
    "AliasMove",
    "AttachmentSource",
    "BlobWriter",
    "BytesSerializer",
    "CopyReport",
    "Document",
    "DocumentKind",
    "FsspecStore",
    "GcMarkLeft",
    "GcReport",
    "JoblibSerializer",
    "KnowsLocation",
    "LoadsWithoutCode",
    "LocalBlobs",
    "NumpySerializer",
    "Op",
    "Order",
    "RefusedSerializer",
    "Registry",
    "ReplacesBlobs",
    "Serializer",
    "Store",
    "TagChange",
    "VersionPage",
    "VersionState",
    "Where",
    "copy_registry",
    "get_serializer",
    "open_registry",
    "params_from_estimator",
    "register_document_kind",
    "register_serializer",
    "serializer_names",
]

publish(globals(), __all__, __name__)
