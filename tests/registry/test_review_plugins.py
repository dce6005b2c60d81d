"""Entry points cannot replace modelship's own kinds, clash silently, or fail with raw errors.

Each test lays out installed distributions in a folder and runs a fresh interpreter with
that folder on its path, as ``pip install`` would leave them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_MODULE = """
import json

class _Base:
    media_type = "application/x-test"
    def load(self, fp): return fp.read()
    def library_versions(self): return {}

class One(_Base):
    name = "dup"
    def dump(self, obj, fp): fp.write(b"one:" + obj)

class Two(_Base):
    name = "dup"
    def dump(self, obj, fp): fp.write(b"two:" + obj)

class Misnamed(_Base):
    name = "other"
    def dump(self, obj, fp): fp.write(obj)

class Boom(_Base):
    name = "boom"
    def __init__(self): raise RuntimeError("plugin init failed")
    def dump(self, obj, fp): fp.write(obj)

class FakeProfile:
    def to_json(self): return "{}"
    @classmethod
    def from_json(cls, text): return cls()
"""


def _dist(site: Path, name: str, entry_points: str) -> None:
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def _run(site: Path, code: str, *, append: bool = False) -> str:
    """Run ``code`` with ``site`` first on the path (or last, with ``append``); its output."""
    (site / "review_plugs.py").write_text(_MODULE)
    setup = f"import sys; sys.path.{'append' if append else 'insert'}("
    setup += f"{str(site)!r})" if append else f"0, {str(site)!r})"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    src = Path(__file__).resolve().parents[2] / "src"
    env["PYTHONPATH"] = str(src)
    program = setup + "\n" + textwrap.dedent(code)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


_REFUSE = """
import modelship as ms
from modelship.registry import get_serializer
try:
    get_serializer({name!r})
except ms.ConfigError as exc:
    print("ConfigError", exc)
else:
    print("accepted")
"""


def test_a_serializer_name_two_distributions_declare_raises_config_error_naming_both(
    tmp_path: Path,
) -> None:
    _dist(tmp_path, "plug_one", "[modelship.serializers]\ndup = review_plugs:One\n")
    _dist(tmp_path, "plug_two", "[modelship.serializers]\ndup = review_plugs:Two\n")
    out = _run(tmp_path, _REFUSE.format(name="dup"))
    assert out.startswith("ConfigError"), out
    assert "plug_one" in out, out
    assert "plug_two" in out, out


@pytest.mark.parametrize("append", [False, True], ids=["before-modelship", "after-modelship"])
def test_a_package_declaring_the_profile_role_does_not_replace_drift_profile(
    tmp_path: Path, append: bool
) -> None:
    _dist(tmp_path, "plug_hijack", "[modelship.documents]\nprofile = review_plugs:FakeProfile\n")
    code = """
    from modelship._documents import document_kind
    print(document_kind("profile").load().__name__)
    """
    assert _run(tmp_path, code, append=append).strip() == "DriftProfile"


def test_a_serializer_name_a_package_declares_does_not_replace_a_built_in(
    tmp_path: Path,
) -> None:
    _dist(tmp_path, "plug_joblib", "[modelship.serializers]\njoblib = review_plugs:One\n")
    code = """
    from modelship.registry import get_serializer
    print(type(get_serializer("joblib")).__name__)
    """
    assert _run(tmp_path, code, append=True).strip() == "JoblibSerializer"


def test_a_plugin_whose_module_is_missing_raises_config_error_naming_it(tmp_path: Path) -> None:
    _dist(tmp_path, "plug_broken", "[modelship.serializers]\nbroken = nosuch_module_xyz:X\n")
    out = _run(tmp_path, _REFUSE.format(name="broken"))
    assert out.startswith("ConfigError"), out
    assert "'broken'" in out, out
    assert "plug_broken" in out, out
    assert "ModuleNotFoundError" in out, out


def test_a_document_plugin_whose_module_is_missing_raises_config_error_naming_it(
    tmp_path: Path,
) -> None:
    _dist(tmp_path, "plug_notes", "[modelship.documents]\nnotes = nosuch_module_xyz:Notes\n")
    code = """
    import modelship as ms
    from modelship._documents import document_kind
    try:
        document_kind("notes")
    except ms.ConfigError as exc:
        print("ConfigError", exc)
    """
    out = _run(tmp_path, code)
    assert out.startswith("ConfigError"), out
    assert "plug_notes" in out, out


def test_a_serializer_plugin_whose_constructor_raises_raises_config_error(tmp_path: Path) -> None:
    _dist(tmp_path, "plug_boom", "[modelship.serializers]\nboom = review_plugs:Boom\n")
    out = _run(tmp_path, _REFUSE.format(name="boom"))
    assert out.startswith("ConfigError"), out
    assert "plugin init failed" in out, out


def test_a_serializer_plugin_named_unlike_its_entry_point_raises_config_error(
    tmp_path: Path,
) -> None:
    _dist(tmp_path, "plug_misnamed", "[modelship.serializers]\nmisnamed = review_plugs:Misnamed\n")
    out = _run(tmp_path, _REFUSE.format(name="misnamed"))
    assert out.startswith("ConfigError"), out
    assert "'other'" in out, out
