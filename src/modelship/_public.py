"""Give public names their public module, as httpx does in its ``__init__``.

A class defined in ``modelship.checks._result`` but exported from ``modelship.checks``
reports ``modelship.checks`` as its ``__module__``, so reprs, error messages and pickles
name the module users import from and never a private one that may move. Pickle finds a
class by ``__module__`` and ``__qualname__``, so the public package must bind the name,
which it does: only names listed in its ``__all__`` and bound in its namespace are renamed.

The class's own methods move with it: doctest collects a method's example only from the
module its ``__module__`` names, so leaving them behind would silently drop those examples.

Examples
--------
>>> import modelship.checks
>>> modelship.checks.CheckResult.__module__
'modelship.checks'
>>> modelship.checks.CheckResult.to_dict.__module__
'modelship.checks'
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any


def is_private(module: str) -> bool:
    """Whether a dotted module name has a private (underscore) part.

    Examples
    --------
    >>> is_private("modelship.checks._result"), is_private("modelship.errors")
    (True, False)
    """
    return any(part.startswith("_") for part in module.split("."))


def publish(namespace: Mapping[str, Any], names: Iterable[str], module: str) -> None:
    """Set ``__module__`` to ``module`` on the classes and functions ``names`` binds in
    ``namespace`` that a private module defines, and on those classes' own methods.

    Names defined in a public module (``modelship.errors``) keep it, and so does a name
    already published by a deeper package: ``modelship`` re-exports ``Registry`` and leaves
    it at ``modelship.registry``.

    Examples
    --------
    >>> import types
    >>> private = types.ModuleType("pkg._impl")
    >>> exec("class Thing:\\n    def go(self):\\n        pass", private.__dict__)
    >>> publish(private.__dict__, ["Thing"], "pkg")
    >>> private.Thing.__module__, private.Thing.go.__module__
    ('pkg', 'pkg')
    """
    for name in names:  # bounded by __all__
        obj = namespace.get(name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        old = obj.__module__
        if not is_private(old):
            continue
        obj.__module__ = module
        for member in vars(obj).values() if inspect.isclass(obj) else ():
            func = getattr(member, "__func__", member)  # classmethod, staticmethod
            if inspect.isfunction(func) and func.__module__ == old:
                func.__module__ = module
