"""modelship: carry a trained model from a notebook to production safely.

Examples
--------
>>> import modelship as ms
>>> reg = ms.open_registry("memory://quickstart")
>>> mv = reg.register(model_name="fraud", model={"w": [0.1]}, metrics={"auc": 0.91})
>>> reg.set_alias("fraud", "production", mv.version)
>>> reg.load("fraud", "@production")
{'w': [0.1]}

The subpackages load on first use and are listed all the same:

>>> {"checks", "deploy", "monitor", "parity", "registry", "report", "testing"} <= set(dir(ms))
True
"""

from __future__ import annotations

import importlib
from typing import Any

from modelship._fingerprint import fingerprint
from modelship._model_version import ArtifactRef, Lineage, ModelVersion
from modelship._public import publish
from modelship.errors import (
    ArchivedVersion,
    CheckInputError,
    ColumnMismatch,
    ConfigError,
    Conflict,
    DestinationExists,
    EmptyData,
    IntegrityError,
    InvalidCursor,
    InvalidFilter,
    InvalidName,
    InvalidParameter,
    InvalidReference,
    InvalidTag,
    MissingAttachment,
    MissingDependency,
    ModelNotFound,
    ModelshipError,
    ModelshipWarning,
    RegistryError,
    RegistryNotFound,
    RepairWarning,
    SerializationError,
    SignatureError,
    SigningKeyRequired,
    StoreError,
    TooFewGroups,
    UnsafeStore,
    UnsupportedStorage,
    VersionExists,
    VersionNotFound,
)
from modelship.registry import (
    AliasMove,
    Registry,
    Serializer,
    Store,
    copy_registry,
    open_registry,
    register_serializer,
)

__version__ = "0.1.0"

# Subpackages load on first use, so `import modelship` stays light (no scipy).
_SUBMODULES = {"checks", "deploy", "monitor", "parity", "registry", "report", "testing"}

__all__ = [
    "ArchivedVersion",
    "CheckInputError",
    "ColumnMismatch",
    "ConfigError",
    "Conflict",
    "DestinationExists",
    "EmptyData",
    "IntegrityError",
    "InvalidCursor",
    "InvalidFilter",
    "InvalidName",
    "InvalidParameter",
    "InvalidReference",
    "InvalidTag",
    "MissingAttachment",
    "MissingDependency",
    "ModelNotFound",
    "ModelshipError",
    "ModelshipWarning",
    "RegistryError",
    "RegistryNotFound",
    "RepairWarning",
    "SerializationError",
    "SignatureError",
    "SigningKeyRequired",
    "StoreError",
    "TooFewGroups",
    "UnsafeStore",
    "UnsupportedStorage",
    "VersionExists",
    "VersionNotFound",
    "AliasMove",
    "ArtifactRef",
    "EnvironmentSnapshot",
    "Lineage",
    "ModelVersion",
    "Registry",
    "Serializer",
    "Store",
    "__version__",
    "copy_registry",
    "fingerprint",
    "open_registry",
    "register_serializer",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"modelship.{name}")
    if name == "EnvironmentSnapshot":
        return importlib.import_module("modelship.parity").EnvironmentSnapshot
    raise AttributeError(f"module 'modelship' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


publish(globals(), __all__, __name__)
