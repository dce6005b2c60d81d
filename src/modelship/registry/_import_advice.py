"""What to do when a model cannot be read because a name it refers to cannot be imported.

Shared by :meth:`Registry.load <modelship.Registry.load>` (``registry/_load.py``) and the
model server (``deploy/serve/_app.py``), so both give the same remedy: a class or
function defined in ``__main__`` (a notebook, the registering script) exists in no other
process, and a module missing here is installed or put on ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys

__all__ = ["MAIN_ADVICE", "import_advice"]

#: The remedy for a name of ``__main__``; a whole sentence, after the reader's words.
MAIN_ADVICE = (
    ". The model refers to a class or function defined in __main__, the notebook or "
    "script that registered it: a server cannot import it. Move it into a module "
    "importable on the servers' PYTHONPATH, import it from there and register the model "
    "again"
)

_CHAIN_DEPTH = 32  # causes followed at most


def _installed(top: str) -> str | None:
    """``top`` (a top-level package) as found here, ``"numpy (version 1.26.4)"``, or None
    when it cannot be imported either. Never raises: this only words advice."""
    try:
        spec = importlib.util.find_spec(top)
    except Exception:  # a module of that name without a spec, a broken finder: no claim
        return None
    if spec is None or spec.origin in (None, "namespace"):
        # A namespace package (google, of google-auth) is shared by distributions: one
        # installed says nothing of the one that provides the missing module (protobuf).
        return None
    version = getattr(sys.modules.get(top), "__version__", None)
    if not isinstance(version, str):
        try:
            version = importlib.metadata.version(top)
        except Exception:  # no distribution of that name (it is called otherwise, or none)
            version = None
    return top if version is None else f"{top} (version {version[:40]})"


def _missing_module(name: str) -> str:
    top = name.partition(".")[0]
    found = _installed(top) if top != name else None
    if found is not None:
        # The package is here, at another version (a pickle of numpy 2, which has
        # numpy._core, read under numpy 1): PYTHONPATH is no remedy.
        return (
            f". The model needs the module {name!r}: {found} is installed here but has no "
            f"{name!r}. Install the version of {top} the model was registered with (the "
            "versions it recorded: mv.requirements of reg.get(name, version), or "
            "`modelship parity requirements` on its downloaded artifact); if it is your "
            "own code, put the folder of that version on PYTHONPATH"
        )
    return (
        f". The model needs the module {name!r}, which cannot be imported here: if it is "
        "your own code, put its folder on PYTHONPATH or install it as a package, as where "
        "the model was registered; else install the package that provides it"
    )


def import_advice(exc: BaseException) -> str:
    """The remedy for a read of a model that failed on an import, else ``""``.

    Unpickling looks a class up by module and name, in this process: a name of
    ``__main__`` fails with an ``AttributeError`` (or ``ModuleNotFoundError``) naming this
    process's ``__main__``, while the cause lies in the process that registered the model,
    which only advice can say; a module missing here is a ``ModuleNotFoundError`` naming
    it. ``exc`` may wrap the failure (a ``SerializationError``): its chain is read. The
    advice already in the text of ``exc`` (a ``SerializationError`` of
    :meth:`~modelship.Registry.load`) is not given twice: ``""``.

    Examples
    --------
    >>> try:
    ...     raise AttributeError("Can't get attribute 'M' on <module '__main__'>")
    ... except AttributeError as exc:
    ...     print(import_advice(exc))
    . The model refers to a class or function defined in __main__, the notebook or ...
    >>> import_advice(ValueError("bad bytes"))
    ''
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    advice = ""
    while cause is not None and id(cause) not in seen and len(seen) < _CHAIN_DEPTH:
        seen.add(id(cause))
        if isinstance(cause, AttributeError | ModuleNotFoundError) and "__main__" in str(cause):
            advice = MAIN_ADVICE
            break
        if isinstance(cause, ModuleNotFoundError) and cause.name:
            advice = _missing_module(cause.name)
            break
        cause = cause.__cause__ or cause.__context__
    return "" if advice and advice in str(exc) else advice
