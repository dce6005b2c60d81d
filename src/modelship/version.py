"""Deprecated: the version records moved to a private module; import them from ``modelship``.

``modelship.ModelVersion``, ``modelship.Lineage``, ``modelship.ArtifactRef`` and
``modelship.registry.VersionState`` are the public names. This alias stays only while
modules written before the move (``registry/_integrity.py``, ``registry/_writer.py``)
still import ``modelship.version``; nothing new may import it.
"""

from __future__ import annotations

from modelship._model_version import (
    ArtifactRef,
    AttachmentSource,
    JSONValue,
    Lineage,
    ModelVersion,
    VersionState,
    canonical_json,
)

__all__ = [
    "ArtifactRef",
    "AttachmentSource",
    "JSONValue",
    "Lineage",
    "ModelVersion",
    "VersionState",
    "canonical_json",
]
