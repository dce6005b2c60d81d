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
    with a codec whose library is not installed.

    Also a :class:`ValueError`.

    Examples
    --------
    >>> from modelship.parity import scan_artifact
    >>> scan_artifact(b"not a pickle")
    Traceback (most recent call last):
    ...
    modelship.parity.ArtifactScanError: the artifact is not a readable pickle ...
    """


class SnapshotError(ConfigError):
    """An environment snapshot, requirements or behaviour document is malformed.

    A :class:`~modelship.ConfigError`.

    Examples
    --------
    >>> from modelship.parity import Requirements
    >>> Requirements.from_json('{"packages": {"attrs": "23.2.0"}}')
    Traceback (most recent call last):
    ...
    modelship.parity.SnapshotError: requirements: no integer 'schema_version'
    """


class InvalidEnvironmentDocument(IntegrityError, SnapshotError):
    """An environment or requirements document stored with a version does not validate.

    An :class:`~modelship.IntegrityError` and a :class:`SnapshotError`: its bytes match
    their digest, but what they hold was forged, written by another tool, or written by a
    newer modelship. Reading the stored environment raises it; catch it where a version
    whose record cannot be trusted should be skipped, not crash the caller.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.parity import InvalidEnvironmentDocument, stored_environment
    >>> reg = ms.open_registry("memory://doc-invalid-environment-document")
    >>> mv = reg.register(model_name="fraud", model={"w": 1})
    >>> try:
    ...     env = stored_environment(mv)
    ... except InvalidEnvironmentDocument as exc:  # forged, or from a newer modelship
    ...     print(f"the recorded environment cannot be trusted: {exc}")
    ... else:
    ...     print(env is not None)
    True
    >>> issubclass(InvalidEnvironmentDocument, ms.IntegrityError)
    True
    """


class EnvironmentMismatch(ModelshipError):
    """A package the model needs is missing or at another version, and ``strict=True``.

    Examples
    --------
    >>> from modelship.parity import check_installed
    >>> check_installed({"attrs": "0.1.0"}, strict=True)
    Traceback (most recent call last):
    ...
    modelship.parity.EnvironmentMismatch: attrs: the model was saved with 0.1.0, ...
    """


class EnvironmentMismatchWarning(ModelshipWarning):
    """An installed package the model needs differs from the version it was saved with.

    Examples
    --------
    >>> import warnings
    >>> from modelship.parity import EnvironmentMismatchWarning, check_installed
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = check_installed({"attrs": "0.1.0"})
    >>> [w.category is EnvironmentMismatchWarning for w in caught]
    [True]
    """
