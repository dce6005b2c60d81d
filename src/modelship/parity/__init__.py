"""Environment parity: catch what differs between training and production before it ships.

Capture an :class:`EnvironmentSnapshot` where a model is trained and where it will run,
find what the model needs from its artifact (:func:`scan_artifact`, never unpickling it),
check preprocessing by fingerprint and by behaviour, and :func:`compare` it all into a
:class:`ParityReport` of blocking and advisory findings.

The names that need :mod:`modelship.checks` (:func:`compare`, the report, rules and
behaviour) load on first use, so capturing a snapshot at registration stays light.

Examples
--------
>>> import attrs
>>> from modelship.parity import EnvironmentSnapshot, compare
>>> train = EnvironmentSnapshot.capture()
>>> prod = attrs.evolve(train, machine="arm64" if train.architecture != "arm64" else "x86_64")
>>> report = compare(train, prod)
>>> [(f.check, f.severity.value) for f in report.findings]
[('architecture', 'blocking')]
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from modelship._public import publish
from modelship.parity._errors import (
    ArtifactScanError,
    EnvironmentMismatch,
    EnvironmentMismatchWarning,
    InvalidEnvironmentDocument,
    SnapshotError,
)
from modelship.parity._fingerprint import PreprocessingFingerprint, fingerprint_preprocessing
from modelship.parity._registration import (
    BEHAVIOUR_ROLE,
    ENVIRONMENT_ROLE,
    FINGERPRINT_ROLE,
    REQUIREMENTS_ROLE,
    capture_for_registration,
)
from modelship.parity._requirements import (
    PackageMismatch,
    Requirements,
    check_installed,
    requirements_txt,
    resolve_requirements,
    version_change,
)
from modelship.parity._resources import ResourceRequest, parse_cpus, parse_memory
from modelship.parity._scan import ArtifactScan, StreamingScan, scan_artifact
from modelship.parity._secrets import SECRET_NAME_PARTS, is_secret
from modelship.parity._snapshot import (
    DEFAULT_ENV_ALLOWLIST,
    BlasLibrary,
    EnvironmentSnapshot,
    Gpu,
    normalize_name,
)
from modelship.parity._stored import (
    RegistrationCapture,
    check_before_load,
    stored_environment,
    stored_requirements,
)

if TYPE_CHECKING:
    from modelship.parity._behaviour import (
        BEHAVIOUR_ATOL,
        BEHAVIOUR_RTOL,
        BehaviourRecord,
        compare_behaviour,
        record_behaviour,
    )
    from modelship.parity._compare import (
        ParityCheck,
        SchemaLike,
        compare,
        validate_environment_parity,
    )
    from modelship.parity._findings import Finding, ParityReport
    from modelship.parity._rules import DEFAULT_RULES, ParityRules

# name -> private module, for the names that import modelship.checks (and scipy).
_LAZY = {
    "BEHAVIOUR_ATOL": "_behaviour",
    "BEHAVIOUR_RTOL": "_behaviour",
    "BehaviourRecord": "_behaviour",
    "compare_behaviour": "_behaviour",
    "record_behaviour": "_behaviour",
    "ParityCheck": "_compare",
    "SchemaLike": "_compare",
    "compare": "_compare",
    "validate_environment_parity": "_compare",
    "Finding": "_findings",
    "ParityReport": "_findings",
    "DEFAULT_RULES": "_rules",
    "ParityRules": "_rules",
}

__all__ = [
    "BEHAVIOUR_ATOL",
    "BEHAVIOUR_ROLE",
    "BEHAVIOUR_RTOL",
    "DEFAULT_ENV_ALLOWLIST",
    "DEFAULT_RULES",
    "ENVIRONMENT_ROLE",
    "FINGERPRINT_ROLE",
    "REQUIREMENTS_ROLE",
    "SECRET_NAME_PARTS",
    "ArtifactScan",
    "ArtifactScanError",
    "BehaviourRecord",
    "BlasLibrary",
    "EnvironmentMismatch",
    "EnvironmentMismatchWarning",
    "EnvironmentSnapshot",
    "Finding",
    "Gpu",
    "InvalidEnvironmentDocument",
    "PackageMismatch",
    "ParityCheck",
    "ParityReport",
    "ParityRules",
    "PreprocessingFingerprint",
    "RegistrationCapture",
    "Requirements",
    "ResourceRequest",
    "SchemaLike",
    "SnapshotError",
    "StreamingScan",
    "capture_for_registration",
    "check_before_load",
    "check_installed",
    "compare",
    "compare_behaviour",
    "fingerprint_preprocessing",
    "is_secret",
    "normalize_name",
    "parse_cpus",
    "parse_memory",
    "record_behaviour",
    "requirements_txt",
    "resolve_requirements",
    "scan_artifact",
    "stored_environment",
    "stored_requirements",
    "validate_environment_parity",
    "version_change",
]


def _load(module_name: str) -> None:
    """Bind every lazy name of one private module here, published under this package."""
    module = importlib.import_module(f"modelship.parity.{module_name}")
    names = [name for name, owner in _LAZY.items() if owner == module_name]
    globals().update({name: getattr(module, name) for name in names})
    publish(globals(), names, __name__)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        _load(_LAZY[name])
        return globals()[name]
    if name == "__test__":
        # doctest collects this package's docstrings before its private modules': load
        # the lazy names so their examples run here, under the module they now name.
        for module_name in sorted(set(_LAZY.values())):
            _load(module_name)
        lazy = {name: globals()[name] for name in _LAZY}
        return {
            name: obj
            for name, obj in lazy.items()
            if inspect.isclass(obj) or inspect.isfunction(obj)
        }
    raise AttributeError(f"module 'modelship.parity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


publish(globals(), __all__, __name__)
