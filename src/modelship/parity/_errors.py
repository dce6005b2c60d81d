"""The errors and the warning of environment parity.

They live here rather than in :mod:`modelship.errors` until the parity package is merged;
each derives from :class:`~modelship.ModelshipError`, so ``except ms.ModelshipError``
catches them.
"""

from __future__ import annotations

from modelship.errors import ConfigError, IntegrityError, ModelshipError, ModelshipWarning

__all__ = [
    "ArtifactScanError",
    "EnvironmentMismatch",
    "EnvironmentMismatchWarning",
    "InvalidEnvironmentDocument",
    "SnapshotError",
]


class ArtifactScanError(ModelshipError, ValueError):
    """A serialized artifact cannot be scanned: not a pickle, truncated, or compressed
    with a codec whose library is not installed."""


class SnapshotError(ConfigError):
    """An environment snapshot, requirements or behaviour document is malformed."""


class InvalidEnvironmentDocument(IntegrityError, SnapshotError):
    """An environment or requirements document stored with a version does not validate."""


class EnvironmentMismatch(ModelshipError):
    """A package the model needs is missing or at another version, and ``strict=True``."""


class EnvironmentMismatchWarning(ModelshipWarning):
    """An installed package the model needs differs from the version it was saved with."""
