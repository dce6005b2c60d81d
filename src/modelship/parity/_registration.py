"""What the registry records about a model's environment when it registers a version.

The registry stores the two documents returned by :func:`capture_for_registration` as
attachments under :data:`ENVIRONMENT_ROLE` and :data:`REQUIREMENTS_ROLE`, and calls
:func:`~modelship.parity.check_installed` with the requirements when it loads the version.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import IO

from modelship.parity._requirements import Requirements, resolve_requirements
from modelship.parity._scan import scan_artifact
from modelship.parity._snapshot import EnvironmentSnapshot

__all__ = [
    "BEHAVIOUR_ROLE",
    "ENVIRONMENT_ROLE",
    "FINGERPRINT_ROLE",
    "REQUIREMENTS_ROLE",
    "capture_for_registration",
]

ENVIRONMENT_ROLE = "environment"
"""Attachment role of the training environment's :class:`EnvironmentSnapshot`."""

REQUIREMENTS_ROLE = "requirements"
"""Attachment role of the model's :class:`Requirements`."""

BEHAVIOUR_ROLE = "preprocessing-behaviour"
"""Attachment role of a :class:`~modelship.parity.BehaviourRecord`."""

FINGERPRINT_ROLE = "preprocessing-fingerprint"
"""Attachment role of a :class:`~modelship.parity.PreprocessingFingerprint`."""


def capture_for_registration(
    artifact: bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes],
    *,
    env_allowlist: Iterable[str] | None = None,
) -> tuple[EnvironmentSnapshot, Requirements]:
    """Snapshot this environment and find what the serialized ``artifact`` needs.

    Call it in the environment the model was trained in, with the artifact's bytes (or
    path, or an open binary file) as the serializer wrote them. The artifact is scanned,
    never unpickled.

    Raises
    ------
    ArtifactScanError
        When the artifact is not a pickle or joblib file that can be scanned; a registry
        with another serializer (raw bytes, numpy) has no requirements to record.

    Examples
    --------
    >>> import pickle
    >>> from fractions import Fraction
    >>> from modelship.parity import capture_for_registration
    >>> snapshot, requirements = capture_for_registration(pickle.dumps(Fraction(1, 3)))
    >>> dict(requirements), requirements.modules
    ({}, ())
    >>> snapshot.python_version == __import__("platform").python_version()
    True
    """
    requirements = resolve_requirements(scan_artifact(artifact))
    return EnvironmentSnapshot.capture(env_allowlist=env_allowlist), requirements
