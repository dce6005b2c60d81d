"""Test doubles and conformance suites for people who extend modelship.

Test doubles (:class:`MemoryStore`, :class:`HookStore`, :class:`CaseFoldingStore`) live
here and import no test
framework: ``import modelship.testing`` never imports pytest. The conformance suites are
pytest test classes in :mod:`modelship.testing.suites` (which imports pytest); they are
also reachable here by name, loaded on first use.

Run the suites against your own storage back end (as scikit-learn's ``check_estimator``
or fsspec's abstract tests let you): subclass and provide a factory.

Examples
--------
In your own ``test_my_store.py``::

    import pytest
    import modelship as ms
    from modelship.testing import RegistryConformance, StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def make_store(self, tmp_path):
            counter = iter(range(10**6))
            return lambda: MyStore(f"{tmp_path}/{next(counter)}")

    class TestMyRegistry(RegistryConformance):
        @pytest.fixture
        def make_registry(self, tmp_path):
            counter = iter(range(10**6))
            where = []

            def make(same=False, **options):
                # a fresh location for each call; same=True: the last one again
                if not same or not where:
                    where.append(f"{tmp_path}/{next(counter)}")
                return ms.Registry(MyStore(where[-1]), **options)

            return make

``make_store`` gives a store on a fresh, empty location at each call.
``make_registry(**options)`` gives a registry on a fresh, empty location, and
``make_registry(same=True, **options)`` another handle on the last one; ``same`` is
the suite's, never the store's, and the other options are :class:`~modelship.Registry`'s.
A store registered under a URL scheme may be opened with ``ms.open_registry(url,
**options)`` instead (see docs/extending.md). Each suite's docstring lists its
capability fixtures.

The suites need pytest (``pip install 'modelship[test]'``).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from modelship._public import publish


def _rewrite_suite_asserts() -> None:
    """Have pytest show the values of a failing suite assert, not a bare AssertionError.

    pytest rewrites asserts only in test modules and in the modules named to
    :func:`pytest.register_assert_rewrite` before they are imported; the suites are
    imported from here, so they are named here. Only where pytest is running already:
    this package never imports pytest itself.
    """
    pytest: Any = sys.modules.get("pytest")
    if pytest is None or not hasattr(pytest, "register_assert_rewrite"):
        return
    names = [f"{__name__}.{module}" for module in _SUITE_MODULES]
    if fresh := [name for name in names if name not in sys.modules]:
        pytest.register_assert_rewrite(*fresh)


_SUITE_MODULES = ("suites", "_store_suite", "_registry_suite", "_source_suite", "_deployer_suite")
_rewrite_suite_asserts()

from modelship.testing._deployer_double import (  # noqa: E402 - after the rewrite is asked for
    DeployerCall,
    Fault,
    FaultEffect,
    InjectedFault,
    InMemoryDeployer,
    ManualClock,
)
from modelship.testing._doubles import CaseFoldingStore, HookStore, MemoryStore  # noqa: E402

if TYPE_CHECKING:
    from modelship.testing.suites import (
        DeployerConformance,
        MetricSourceConformance,
        RegistryConformance,
        SourceCase,
        StoreConformance,
    )

__all__ = [
    "CaseFoldingStore",
    "DeployerCall",
    "DeployerConformance",
    "Fault",
    "FaultEffect",
    "HookStore",
    "InMemoryDeployer",
    "InjectedFault",
    "ManualClock",
    "MemoryStore",
    "MetricSourceConformance",
    "RegistryConformance",
    "SourceCase",
    "StoreConformance",
]

_SUITES = {"RegistryConformance", "StoreConformance", "DeployerConformance"}
_SUITES |= {"MetricSourceConformance", "SourceCase"}


def __getattr__(name: str) -> Any:
    if name in _SUITES:
        return getattr(importlib.import_module("modelship.testing.suites"), name)
    raise AttributeError(f"module 'modelship.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUITES])


publish(globals(), __all__, __name__)
