"""What to do when a model cannot be read because a name it refers to cannot be imported.

Shared by :meth:`Registry.load <modelship.Registry.load>` (``registry/_load.py``) and the
model server (``deploy/serve/_app.py``), so both give the same remedy: a class or
function defined in ``__main__`` (a notebook, the registering script) exists in no other
process, and a module missing here is installed or put on ``PYTHONPATH``.
"""

from __future__ import annotations

__all__ = ["MAIN_ADVICE", "import_advice"]

#: The remedy for a name of ``__main__``; a whole sentence, after the reader's words.
MAIN_ADVICE = (
    ". The model refers to a class or function defined in __main__, the notebook or "
    "script that registered it: a server cannot import it. Move it into a module "
    "importable on the servers' PYTHONPATH, import it from there and register the model "
    "again"
)

_CHAIN_DEPTH = 32  # causes followed at most


def _missing_module(name: str) -> str:
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
