"""First-use messages of the registry (review 51).

* a version that is missing, whose text is an alias of the model, says to write it
  ``@alias`` (one more read, only once the version is missing; the alias read's own
  failure leaves the VersionNotFound as it was);
* a registry URL naming a file (or a path under one) is a RegistryNotFound saying so,
  for reads and writes, not a StoreError about ``signing.json``;
* ``load`` of a model whose class lives in ``__main__`` (a notebook), or in a module
  missing here, says what to do, as the model server does (one shared text).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.deploy.serve import ModelServer
from modelship.errors import RegistryNotFound, SerializationError, StoreError, VersionNotFound
from modelship.registry import _registry

# The text registry/_import_advice.py shares with the model server.
MAIN_ADVICE = (
    ". The model refers to a class or function defined in __main__, the notebook or "
    "script that registered it: a server cannot import it. Move it into a module "
    "importable on the servers' PYTHONPATH, import it from there and register the model "
    "again"
)
SRC = Path(ms.__file__).resolve().parents[1]  # the modelship under test

# --- 1. an alias written without '@' ----------------------------------------------------


def _fraud(url: str) -> ms.Registry:
    reg = ms.open_registry(url)
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    reg.set_alias("fraud", "production", "1")
    return reg


def test_a_missing_version_named_as_an_alias_says_to_write_it_with_at() -> None:
    reg = _fraud("memory://first-use51-alias")
    for call in (lambda: reg.load("fraud", "production"), lambda: reg.get("fraud", "production")):
        with pytest.raises(VersionNotFound) as caught:
            call()
        assert type(caught.value) is VersionNotFound
        assert "did you mean '@production'? (an alias is written with @)" in str(caught.value)
    assert reg.load("fraud", "@production") == b"x"


def test_a_missing_version_that_is_no_alias_keeps_its_message() -> None:
    reg = _fraud("memory://first-use51-no-alias")
    with pytest.raises(VersionNotFound, match=r"^fraud has no version 'staging'; see versions"):
        reg.get("fraud", "staging")


def test_a_failing_alias_read_leaves_the_version_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = _fraud("memory://first-use51-alias-fails")

    def broken(*args: Any) -> Any:
        raise StoreError("the alias log is unreachable")

    monkeypatch.setattr(_registry, "alias_state", broken)
    with pytest.raises(VersionNotFound, match=r"^fraud has no version 'production'; see versions"):
        reg.get("fraud", "production")


def test_a_version_found_reads_no_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = _fraud("memory://first-use51-found")
    reg.register(model_name="fraud", model=b"y", serializer="bytes", version="prod2")

    def unexpected(*args: Any) -> Any:
        raise AssertionError("the aliases were read on the found path")

    monkeypatch.setattr(_registry, "alias_state", unexpected)
    assert reg.get("fraud", "prod2").version == "prod2"
    assert reg.load("fraud", "1") == b"x"


def test_the_cli_says_to_write_the_alias_with_at(tmp_path: Path) -> None:
    url = str(tmp_path / "models")
    _fraud(url)
    out = subprocess.run(
        [sys.executable, "-m", "modelship", "registry", "show", url, "fraud", "production"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert out.returncode == 2
    assert "did you mean '@production'?" in out.stderr


# --- 2. a registry URL naming a file ------------------------------------------------------

_A_FILE = "it is a file, not a registry folder; give a folder (it is created if missing)"


def _calls(reg: ms.Registry) -> dict[str, Any]:
    return {
        "register": lambda: reg.register(
            model_name="m", model=np.arange(3), serializer="numpy", capture_environment=False
        ),
        "versions": lambda: reg.versions("m"),
        "models": reg.models,
        "load": lambda: reg.load("m"),
        "aliases": lambda: reg.aliases("m"),
    }


@pytest.mark.parametrize("key", [None, "k" * 32])
def test_a_registry_url_naming_a_file_says_so(tmp_path: Path, key: str | None) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"x")
    for what, call in _calls(ms.open_registry(str(path), signing_key=key)).items():
        with pytest.raises(RegistryNotFound) as caught:
            call()
        assert str(caught.value) == f"there is no registry at {path}: {_A_FILE}", what
    assert path.read_bytes() == b"x"  # nothing written


def test_a_registry_url_under_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"x")
    for what, call in _calls(ms.open_registry(str(path / "models"))).items():
        with pytest.raises(RegistryNotFound, match=f"{path}, on its path, is a file") as caught:
            call()
        assert "give a folder (it is created if missing)" in str(caught.value), what


def test_a_missing_folder_still_reads_as_absent_and_registering_creates_it(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "new" / "models")
    with pytest.raises(RegistryNotFound, match="the location does not exist"):
        ms.open_registry(url).versions("m")
    ms.open_registry(url).register(model_name="m", model=b"x", serializer="bytes")
    assert ms.open_registry(url).models() == ["m"]


def test_the_cli_says_the_registry_url_names_a_file(tmp_path: Path) -> None:
    path = tmp_path / "afile"
    path.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "modelship", "registry", "models", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert out.returncode == 2
    assert f"RegistryNotFound: there is no registry at {path}: {_A_FILE}" in out.stderr
    assert "signing.json" not in out.stderr


# --- 3. a class that this process cannot import --------------------------------------------


def _predict(self: Any, x: Any) -> Any:
    return x


def _registered_from_main(url: str, monkeypatch: pytest.MonkeyPatch) -> ms.Registry:
    """A model whose class is defined in ``__main__`` when registered, and gone after."""
    main = sys.modules["__main__"]
    notebook = type("MyModel51", (), {"predict": _predict, "__module__": "__main__"})
    monkeypatch.setattr(main, "MyModel51", notebook, raising=False)
    reg = ms.open_registry(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning register() gives for it
        reg.register(model_name="custom", model=notebook())
    monkeypatch.delattr(main, "MyModel51")
    return reg


def test_loading_a_class_of_main_says_where_to_move_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = _registered_from_main(str(tmp_path / "models"), monkeypatch)
    with pytest.raises(SerializationError) as caught:
        reg.load("custom", "1")
    text = str(caught.value)
    assert text.startswith(f"serializer 'joblib' could not read custom 1{MAIN_ADVICE}. ")
    assert text.endswith("Reading it raised: AttributeError: " + str(caught.value.__cause__))
    assert "Can't get attribute 'MyModel51'" in text


def test_loading_a_class_of_a_module_missing_here_names_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "mymodels51.py").write_text("class M:\n    def predict(self, x):\n        return x\n")
    monkeypatch.syspath_prepend(str(code))
    import mymodels51  # type: ignore[import-not-found]

    reg = ms.open_registry(str(tmp_path / "models"))
    reg.register(model_name="m", model=mymodels51.M())
    monkeypatch.delitem(sys.modules, "mymodels51")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(code)])
    with pytest.raises(SerializationError) as caught:
        reg.load("m", "1")
    text = str(caught.value)
    assert "The model needs the module 'mymodels51', which cannot be imported here" in text
    assert "put its folder on PYTHONPATH" in text
    assert text.endswith("Reading it raised: ModuleNotFoundError: No module named 'mymodels51'")


def test_the_server_says_the_advice_once_with_the_serializers_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reg = _registered_from_main(str(tmp_path / "models"), monkeypatch)
    server = ModelServer(lambda: reg.load("custom", "1"), name="custom", version="1")
    with caplog.at_level(logging.ERROR, logger="modelship"):
        server.start()
    assert server.state.value == "failed"
    error = server.error or ""
    assert error.startswith("SerializationError: serializer 'joblib' could not read custom 1. ")
    assert error.count("The model refers to a class or function defined in __main__") == 1
    assert error.endswith(
        "Reading it raised: AttributeError (the server's log has its message and traceback)"
    )
    (record,) = [r for r in caplog.records if "failed to start" in r.getMessage()]
    assert record.getMessage().count("defined in __main__") == 1
    server.close()
