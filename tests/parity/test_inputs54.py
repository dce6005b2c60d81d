"""Parity inputs: a key given twice, a byte order mark, a plain requirements mapping; one
BLAS by two names; the locale in effect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from modelship.parity import (
    BlasLibrary,
    EnvironmentSnapshot,
    Requirements,
    SnapshotError,
    compare,
)
from modelship.parity._cli import main


def _write(path: Path, text: str, encoding: str = "utf-8") -> str:
    path.write_text(text, encoding=encoding)
    return str(path)


def test_a_snapshot_giving_a_key_twice_is_refused(snapshot: EnvironmentSnapshot) -> None:
    text = snapshot.to_json().replace('"numpy": "2.1.0"', '"numpy": "2.1.0", "numpy": "1.0"')
    assert text.count('"numpy"') == 2
    with pytest.raises(SnapshotError, match="'numpy' is given twice"):
        EnvironmentSnapshot.from_json(text)


def test_requirements_giving_a_key_twice_are_refused() -> None:
    text = Requirements(packages={"numpy": "1.26.4"}).to_json()
    forged = text.replace('"numpy": "1.26.4"', '"numpy": "1.26.4", "numpy": "2.4.6"')
    assert forged != text
    with pytest.raises(SnapshotError, match="'numpy' is given twice"):
        Requirements.from_json(forged)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_snapshot_file_with_a_byte_order_mark_is_read(
    tmp_path: Path, snapshot: EnvironmentSnapshot, encoding: str
) -> None:
    path = _write(tmp_path / "train.json", snapshot.to_json(), encoding)
    assert main(["check", "--snapshot", path, "--against", path]) == 0


def test_a_plain_requirements_mapping_is_read(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    train = _write(tmp_path / "train.json", snapshot.to_json())
    prod = _write(
        tmp_path / "prod.json",
        attrs.evolve(snapshot, packages={"numpy": "1.26.4"}).to_json(),
    )
    plain = _write(tmp_path / "req.json", json.dumps({"numpy": "2.1.0"}))
    assert main(["check", "--snapshot", train, "--against", prod, "--requirements", plain]) == 1
    assert "numpy 2.1.0 in training, 1.26.4 in production" in capsys.readouterr().out
    neither = _write(tmp_path / "neither.json", json.dumps({"packages": {"numpy": "2.1.0"}}))
    assert main(["check", "--snapshot", train, "--against", prod, "--requirements", neither]) == 2
    assert 'a plain object of distribution to version ({"numpy": "2.4.6"})' in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("with_threadpoolctl", "without"),
    [("openblas", "scipy-openblas"), ("openblas", "openblas64"), ("openblas", "scipy-openblas64")],
)
def test_one_openblas_by_the_names_threadpoolctl_and_numpy_give_it(
    snapshot: EnvironmentSnapshot, with_threadpoolctl: str, without: str
) -> None:
    train = attrs.evolve(
        snapshot,
        blas=[BlasLibrary(name=with_threadpoolctl, version="0.3.27", architecture="Haswell")],
    )
    prod = attrs.evolve(snapshot, blas=[BlasLibrary(name=without, version="0.3.27")])
    assert compare(train, prod).findings == ()
    # Another version is still another BLAS.
    other = attrs.evolve(snapshot, blas=[BlasLibrary(name=without, version="0.3.21")])
    assert [f.check for f in compare(train, other).findings] == ["blas"]


def test_the_locale_recorded_is_the_one_in_effect() -> None:
    """``C.UTF-8`` is recorded as such, not as ``en_US.UTF-8`` (``locale.getlocale``'s
    alias)."""
    code = (
        "import modelship as ms, locale;"
        "print(ms.EnvironmentSnapshot.capture().locale, locale.setlocale(locale.LC_CTYPE))"
    )
    env = {"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == out[1]
    assert out[0] != "en_US.UTF-8"


def test_the_c_locale_however_recorded_is_one(snapshot: EnvironmentSnapshot) -> None:
    old = attrs.evolve(snapshot, locale=None)  # how an earlier modelship recorded C
    assert compare(old, attrs.evolve(snapshot, locale="C")).findings == ()
    assert compare(attrs.evolve(snapshot, locale="POSIX"), old).findings == ()
    (finding,) = compare(attrs.evolve(snapshot, locale="C.UTF-8"), old).findings
    assert finding.check == "locale"


def test_findings_say_what_to_do(snapshot: EnvironmentSnapshot) -> None:
    train = attrs.evolve(
        snapshot, blas=[BlasLibrary(name="openblas", version="0.3.27", architecture="Haswell")]
    )
    prod = attrs.evolve(
        train,
        python_version="3.12.1",
        python_implementation="PyPy",
        machine="aarch64",
        os="Darwin",
        locale="de_DE.UTF-8",
        packages={"numpy": "2.1.0", "pip": "24.0"},
        blas=[BlasLibrary(name="openblas", version="0.3.27", architecture="SkylakeX")],
    )
    messages = {f.check: f.message for f in compare(train, prod).findings}
    assert messages["python_minor"].endswith("build the serving image on Python 3.11")
    assert messages["python_implementation"].endswith("build the serving image on CPython")
    assert messages["package_missing"].endswith("install scikit-learn==1.5.2 in the serving image")
    assert "serve on x86_64" in messages["architecture"]
    assert "serve on Linux" in messages["os"]
    assert "set OPENBLAS_CORETYPE=Haswell in the deployment spec (env)" in messages["blas"]
    assert messages["locale"].endswith("set LC_ALL=en_US.UTF-8 in the deployment spec (env)")
