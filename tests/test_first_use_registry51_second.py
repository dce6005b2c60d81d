"""First-use messages of the registry, second look (review 51c).

* a missing version named as an alias says "did you mean '@production'?" only where a
  reference is taken (get, load, verify, tags, ...); set_alias, delete, restore and purge
  take a version and refuse '@production', so they name the version the alias points at
  ("'production' is an alias of version '1': give '1'"), in Python and on the command
  line; set_alias given '@production' says to give that version;
* a model that needs a submodule the installed package lacks (a numpy 2 pickle read under
  numpy 1: ``numpy._core``) says the package is installed here, at which version, and to
  install the version the model was registered with, not to put a folder on PYTHONPATH.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main
from modelship.errors import InvalidName, SerializationError, StoreError, VersionNotFound
from modelship.registry import _registry

_AT = "did you mean '@production'?"
_GIVE = "'production' is an alias of version '1': give '1' (this takes a version, not an alias)"


def _fraud(url: str) -> ms.Registry:
    reg = ms.open_registry(url)
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    reg.register(model_name="fraud", model=b"y", serializer="bytes")
    reg.set_alias("fraud", "production", "1")
    return reg


def _version_callers(reg: ms.Registry) -> dict[str, Callable[[], Any]]:
    return {
        "set_alias": lambda: reg.set_alias("fraud", "staging", "production"),
        "delete": lambda: reg.delete("fraud", "production"),
        "restore": lambda: reg.restore("fraud", "production"),
        "purge": lambda: reg.purge("fraud", "production"),
    }


def test_only_callers_taking_a_reference_say_at_the_others_name_the_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = _fraud("memory://first-use51b-version-only")
    for what, call in _version_callers(reg).items():
        with pytest.raises(VersionNotFound) as caught:
            call()
        text = str(caught.value)
        assert type(caught.value) is VersionNotFound, what
        assert text == f"fraud has no version 'production': {_GIVE}", what
        assert "@" not in text, what  # each of them refuses '@production'
    # What it says to give is taken: the alias moves to it, and nothing else changed.
    reg.set_alias("fraud", "staging", "1")
    assert reg.aliases("fraud") == {"production": "1", "staging": "1"}

    references: dict[str, Callable[[], Any]] = {
        "get": lambda: reg.get("fraud", "production"),
        "load": lambda: reg.load("fraud", "production"),
        "verify": lambda: reg.verify("fraud", "production"),
        "tags": lambda: reg.tags("fraud", "production"),
        "set_tag": lambda: reg.set_tag("fraud", "production", "k", "v"),
        "tag_history": lambda: reg.tag_history("fraud", "production"),
    }
    for what, call in references.items():
        with pytest.raises(VersionNotFound) as caught:
            call()
        assert _AT in str(caught.value), what
        assert "give '1'" not in str(caught.value), what
    assert reg.tags("fraud", "@production") == {}

    def broken(*args: Any) -> Any:
        raise StoreError("the alias log is unreachable")

    # The alias read is only a hint: its failure leaves the caller's own error.
    monkeypatch.setattr(_registry, "alias_state", broken)
    with pytest.raises(VersionNotFound, match=r"^fraud has no version 'production'; see versions"):
        reg.delete("fraud", "production")


def test_set_alias_given_an_alias_says_to_give_its_version() -> None:
    reg = _fraud("memory://first-use51b-alias-of-alias")
    with pytest.raises(InvalidName) as caught:
        reg.set_alias("fraud", "staging", "@production")
    text = str(caught.value)
    assert "not at the reference '@production'" in text
    assert "give that version (aliases() or `modelship registry versions` lists it)" in text
    assert "characters '@' are not allowed" not in text


def _cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "command",
    [["alias", "fraud", "staging"], ["delete", "fraud"], ["restore", "fraud"], ["purge", "fraud"]],
)
def test_the_cli_commands_taking_a_version_name_the_version(
    tmp_path: Path, command: list[str]
) -> None:
    url = str(tmp_path / "models")
    _fraud(url)
    verb, *rest = command
    code, said = _cli(["registry", verb, url, *rest, "production"])
    assert code == 2
    assert _GIVE in said
    assert "@production" not in said
    assert "`modelship registry versions" in said  # the command line's own sentence stays
    code, said = _cli(["registry", "show", url, "fraud", "production"])  # takes a reference
    assert code == 2
    assert _AT in said


# --- 2. a package installed here, at a version without the module ---------------------------


def _registered_with_pkg_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ms.Registry:
    """A model of ``pkg51b.core.M``, read back where ``pkg51b`` has no ``core``."""
    code = tmp_path / "code"
    (code / "pkg51b").mkdir(parents=True)
    (code / "pkg51b" / "__init__.py").write_text("__version__ = '1.4.2'\n")
    core = code / "pkg51b" / "core.py"
    core.write_text("class M:\n    def predict(self, x):\n        return x\n")
    monkeypatch.syspath_prepend(str(code))
    import pkg51b.core  # type: ignore[import-not-found]

    reg = ms.open_registry(str(tmp_path / "models"))
    reg.register(model_name="m", model=pkg51b.core.M())
    core.unlink()  # the package here is another version: it has no core
    for name in ("pkg51b.core", "pkg51b"):
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    return reg


def test_a_submodule_the_installed_package_lacks_says_to_install_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = _registered_with_pkg_core(tmp_path, monkeypatch)
    with pytest.raises(SerializationError) as caught:
        reg.load("m", "1")
    text = str(caught.value)
    assert (
        "The model needs the module 'pkg51b.core': pkg51b (version 1.4.2) is installed here "
        "but has no 'pkg51b.core'. Install the version of pkg51b the model was registered "
        "with (the versions it recorded: mv.requirements of reg.get(name, version), or "
        "`modelship parity requirements` on its downloaded artifact)"
    ) in text
    assert "which cannot be imported here" not in text
    assert text.endswith("Reading it raised: ModuleNotFoundError: No module named 'pkg51b.core'")

    def broken(name: str, package: str | None = None) -> Any:
        raise ValueError(f"{name}.__spec__ is None")

    # find_spec may raise: then nothing is claimed, and the missing module's advice stands.
    with monkeypatch.context() as patched:
        patched.setattr(importlib.util, "find_spec", broken)
        with pytest.raises(SerializationError) as caught:
            reg.load("m", "1")
    text = str(caught.value)
    assert "The model needs the module 'pkg51b.core', which cannot be imported here" in text
    assert "is installed here" not in text

    # A namespace package (no __init__.py; google, shared by google-auth and protobuf)
    # says nothing of the distribution that lacks the module: the missing module's advice.
    (tmp_path / "code" / "pkg51b" / "__init__.py").unlink()
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, "pkg51b", raising=False)
    with pytest.raises(SerializationError) as caught:
        reg.load("m", "1")
    assert "The model needs the module 'pkg51b.core', which cannot be imported here" in str(
        caught.value
    )
