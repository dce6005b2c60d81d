"""Two real virtual environments that differ in one package: parity reports exactly that.

Each environment is made with ``python -m venv`` and gets a different version of a tiny
package this test builds as a wheel and installs with pip from a local file (no network).
The environments see this interpreter's site-packages through a ``.pth`` file, so they
differ in nothing else; a snapshot is captured in each by running a script with each
environment's own Python.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import modelship
from modelship.parity import EnvironmentSnapshot, Requirements, compare

pytestmark = pytest.mark.slow

PACKAGE = "tinypkg"
VERSIONS = ("1.2.0", "1.3.0")

CAPTURE = """
import json, pickle, sys
import tinypkg
from modelship.parity import capture_for_registration

snapshot, requirements = capture_for_registration(pickle.dumps(tinypkg.Thing()))
print(json.dumps({"snapshot": snapshot.to_json(), "requirements": requirements.to_json(),
                  "prefix": sys.prefix}))
"""


def build_wheel(directory: Path, version: str) -> Path:
    """A pure-Python wheel of ``tinypkg`` at ``version``, written by hand (PEP 427)."""
    info = f"{PACKAGE}-{version}.dist-info"
    files = {
        f"{PACKAGE}/__init__.py": f'__version__ = "{version}"\n\n\nclass Thing:\n    pass\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: modelship-tests\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": f"{PACKAGE}\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{PACKAGE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv(root: Path, wheel: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = venv_python(root)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
         "--no-deps", "--disable-pip-version-check", "--quiet", str(wheel)],
        check=True,
    )  # fmt: skip
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parents = [*site.getsitepackages(), site.getusersitepackages()]
    # Appended after the venv's own site-packages: the venv's tinypkg comes first, and the
    # test's dependencies (attrs, numpy...) come from this interpreter's site-packages.
    (Path(purelib) / "zz_parent_site.pth").write_text("\n".join(parents) + "\n")
    return python


@pytest.fixture(scope="session")
def captured(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """A snapshot and requirements captured in each environment (built once per session)."""
    root = tmp_path_factory.mktemp("parity-venvs")
    src = Path(modelship.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    results = []
    for version in VERSIONS:
        python = make_venv(root / f"venv-{version}", build_wheel(root, version))
        out = subprocess.run(
            [str(python), "-c", CAPTURE], capture_output=True, text=True, env=env, timeout=300
        )
        assert out.returncode == 0, out.stderr
        results.append(json.loads(out.stdout))
    return results


def test_each_environment_is_its_own_interpreter(captured: list[dict[str, Any]]) -> None:
    prefixes = {result["prefix"] for result in captured}
    assert len(prefixes) == 2
    assert sys.prefix not in prefixes


def test_each_snapshot_records_its_own_package_version(captured: list[dict[str, Any]]) -> None:
    versions = [EnvironmentSnapshot.from_json(r["snapshot"]).packages[PACKAGE] for r in captured]
    assert versions == list(VERSIONS)


def test_the_model_needs_exactly_the_package_it_pickles(captured: list[dict[str, Any]]) -> None:
    requirements = Requirements.from_json(captured[0]["requirements"])
    assert dict(requirements) == {PACKAGE: VERSIONS[0]}
    assert requirements.modules == (PACKAGE,)


def test_the_comparison_reports_exactly_that_difference(captured: list[dict[str, Any]]) -> None:
    train, prod = (EnvironmentSnapshot.from_json(r["snapshot"]) for r in captured)
    requirements = Requirements.from_json(captured[0]["requirements"])
    for report in (compare(train, prod), compare(train, prod, requirements=requirements)):
        assert [
            (f.check, f.severity.value, f.subject, f.train, f.prod) for f in report.findings
        ] == [("package_minor", "blocking", PACKAGE, VERSIONS[0], VERSIONS[1])]
        assert not report.passed
