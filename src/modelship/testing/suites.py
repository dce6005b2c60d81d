"""The conformance suites, as pytest test classes (this module imports pytest).

Subclass one and override its factory fixture; see :mod:`modelship.testing`.
"""

from __future__ import annotations

from modelship._public import publish
from modelship.testing._deployer_suite import DeployerConformance
from modelship.testing._registry_suite import RegistryConformance
from modelship.testing._source_suite import MetricSourceConformance, SourceCase
from modelship.testing._store_suite import StoreConformance

__all__ = [
    "DeployerConformance",
    "MetricSourceConformance",
    "RegistryConformance",
    "SourceCase",
    "StoreConformance",
]

publish(globals(), __all__, __name__)
