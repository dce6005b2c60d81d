"""Test suites and doubles for people who extend modelship.

Run the registry conformance suite against your own storage back end (as scikit-learn's
``check_estimator`` or fsspec's abstract tests let you): subclass and provide a factory
of fresh, empty registries.

Examples
--------
In your own ``test_my_store.py``::

    import pytest
    import modelship as ms
    from modelship.testing import RegistryConformance

    class TestMyStore(RegistryConformance):
        @pytest.fixture
        def make_registry(self, tmp_path):
            counter = iter(range(10**6))
            return lambda **kw: ms.open_registry(f"mystore://{tmp_path}/{next(counter)}", **kw)

Needs pytest (``pip install 'modelship[test]'``).
"""

from __future__ import annotations

from modelship.testing._registry_suite import HookStore, RegistryConformance

__all__ = ["HookStore", "RegistryConformance"]
