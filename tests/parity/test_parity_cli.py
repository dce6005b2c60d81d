"""``modelship parity``: capture, check (from a file or a registry), requirements."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import attrs
import joblib
import pytest
from _estimators import fitted_pipeline

import modelship as ms
from modelship.parity import (
    EnvironmentSnapshot,
)
from modelship.parity._cli import main


def write(path: Path, snapshot: EnvironmentSnapshot) -> str:
    path.write_text(snapshot.to_json(), encoding="utf-8")
    return str(path)


def test_capture_writes_a_snapshot_of_this_environment(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "env.json"
    assert main(["capture", "-o", str(out)]) == 0
    snap = EnvironmentSnapshot.from_json(out.read_text())
    assert snap.packages == EnvironmentSnapshot.capture().packages


def test_capture_records_allow_listed_variables_but_never_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEATURE_FLAG", "on")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak-me")
    out = tmp_path / "env.json"
    assert main(["capture", "-o", str(out), "--allow-env", "FEATURE_FLAG", "AWS_*"]) == 0
    text = out.read_text()
    assert json.loads(text)["env"]["FEATURE_FLAG"] == "on"
    assert "do-not-leak-me" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text


def test_allow_env_given_twice_records_the_variables_of_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # argparse kept the last list only: FLAG_A went unrecorded, and a check against a
    # production with another FLAG_A passed.
    monkeypatch.setenv("FLAG_A", "on")
    monkeypatch.setenv("FLAG_B", "fast")
    out = tmp_path / "env.json"
    assert main(["capture", "-o", str(out), "--allow-env", "FLAG_A", "--allow-env", "FLAG_B"]) == 0
    env = json.loads(out.read_text())["env"]
    assert (env.get("FLAG_A"), env.get("FLAG_B")) == ("on", "fast")


def test_check_against_the_same_snapshot_passes(tmp_path: Path) -> None:
    path = write(tmp_path / "train.json", EnvironmentSnapshot.capture())
    assert main(["check", "--snapshot", path, "--against", path]) == 0


def test_check_against_the_running_environment_passes_here(tmp_path: Path) -> None:
    path = write(tmp_path / "train.json", EnvironmentSnapshot.capture())
    assert main(["check", "--snapshot", path]) == 0


def test_a_blocking_difference_exits_1_and_lands_in_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = EnvironmentSnapshot.capture()
    major, minor = train.python_minor.split(".")
    prod = attrs.evolve(train, python_version=f"{major}.{int(minor) + 1}.0")
    args = ["check", "--snapshot", write(tmp_path / "t.json", train)]
    args += ["--against", write(tmp_path / "p.json", prod)]
    args += ["--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")]
    args += ["--markdown", str(tmp_path / "r.md"), "--report", str(tmp_path / "parity.json")]
    assert main(args) == 1
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["status"] == "fail"
    assert ET.parse(tmp_path / "r.xml").getroot().find(".//failure") is not None
    assert "python\\_minor" in (tmp_path / "r.md").read_text()  # Markdown escapes _
    assert json.loads((tmp_path / "parity.json").read_text())["passed"] is False
    assert "python_minor" in capsys.readouterr().out


def test_an_advisory_difference_fails_only_under_strict(tmp_path: Path) -> None:
    train = EnvironmentSnapshot.capture()
    args = ["check", "--snapshot", write(tmp_path / "t.json", train)]
    args += ["--against", write(tmp_path / "p.json", attrs.evolve(train, os="Plan9"))]
    assert main(args) == 0
    assert main([*args, "--strict"]) == 1


def test_requested_resources_beyond_the_target_exit_1(tmp_path: Path) -> None:
    train = attrs.evolve(EnvironmentSnapshot.capture(), memory_limit=2**30)
    path = write(tmp_path / "t.json", train)
    assert main(["check", "--snapshot", path, "--against", path, "--memory", "2Gi"]) == 1
    assert main(["check", "--snapshot", path, "--against", path, "--memory", "512Mi"]) == 0


def test_a_requirements_file_focuses_the_package_comparison(tmp_path: Path) -> None:
    train = EnvironmentSnapshot.capture()
    prod = attrs.evolve(train, packages={**train.packages, "numpy": "0.1.0"})
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"# pins\njoblib=={train.packages['joblib']}\n")
    args = ["check", "--snapshot", write(tmp_path / "t.json", train)]
    args += ["--against", write(tmp_path / "p.json", prod)]
    assert main(args) == 1
    assert main([*args, "--requirements", str(reqs)]) == 0


def test_a_missing_snapshot_exits_2_and_still_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code = main(["check", "--snapshot", str(tmp_path / "absent.json"), "--json", str(report)])
    assert code == 2
    assert json.loads(report.read_text())["results"][0]["status"] == "error"


def test_check_needs_a_snapshot_or_a_registry_version(tmp_path: Path) -> None:
    assert main(["check"]) == 2


def registered(tmp_path: Path, *, with_environment: bool) -> str:
    url = str(tmp_path / "registry")
    ms.open_registry(url).register(
        model_name="churn", model=fitted_pipeline(), capture_environment=with_environment
    )
    return url


def test_check_reads_the_snapshot_stored_with_a_registered_version(tmp_path: Path) -> None:
    url = registered(tmp_path, with_environment=True)
    assert main(["check", url, "churn", "1"]) == 0
    assert main(["check", url, "churn", "--memory", "1"]) == 1  # the model is larger


def test_a_version_without_a_snapshot_exits_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = registered(tmp_path, with_environment=False)
    assert main(["check", url, "churn"]) == 2
    assert "no stored environment snapshot" in capsys.readouterr().out


def test_requirements_writes_the_pins_a_joblib_artifact_needs(tmp_path: Path) -> None:
    artifact = tmp_path / "model.joblib"
    joblib.dump(fitted_pipeline(), artifact, compress=3)
    out = tmp_path / "requirements.txt"
    assert main(["requirements", str(artifact), "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert any(line.startswith("numpy==") for line in lines)
    assert any(line.startswith("joblib==") for line in lines)
    assert "_estimators" in lines[-1]


def test_requirements_of_a_file_that_is_not_a_pickle_exits_2(tmp_path: Path) -> None:
    artifact = tmp_path / "model.onnx"
    artifact.write_bytes(b"\x08\x07\x12\x04onnx")
    assert main(["requirements", str(artifact)]) == 2


# --- requirement files: read as pip reads them, or refused --------------------------------


def requirements_check(tmp_path: Path, text: str | bytes) -> tuple[list[str], Path]:
    """``parity check`` arguments comparing this environment with one whose numpy is
    0.1.0, focused by a requirements file of ``text``."""
    train = EnvironmentSnapshot.capture()
    prod = attrs.evolve(train, packages={**train.packages, "numpy": "0.1.0"})
    reqs = tmp_path / "requirements.txt"
    if isinstance(text, bytes):
        reqs.write_bytes(text)
    else:
        reqs.write_text(text, encoding="utf-8")
    args = ["check", "--snapshot", write(tmp_path / "t.json", train)]
    args += ["--against", write(tmp_path / "p.json", prod), "--requirements", str(reqs)]
    return args, reqs


NUMPY = EnvironmentSnapshot.capture().packages["numpy"]
HASH = "--hash=sha256:" + "0" * 64


@pytest.mark.parametrize(
    "text",
    [
        f"numpy=={NUMPY} ; python_version >= '3.8'\n",
        f"numpy=={NUMPY} \\\n    {HASH} \\\n    {HASH}\n",
        f"numpy=={NUMPY} {HASH}\n",
        f"numpy==={NUMPY}\n",
        f"numpy[dev,test]=={NUMPY}  # via scikit-learn\n",
        f'NumPy == {NUMPY}; sys_platform != "win32" and (os_name == "posix" or extra == "x")\n',
    ],
    ids=["marker", "continued-hashes", "inline-hash", "arbitrary-equality", "extras", "spaced"],
)
def test_a_pin_in_any_form_pip_reads_is_compared_at_its_version(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args, _ = requirements_check(tmp_path, text)
    assert main(args) == 1  # numpy differs in production: the pin was read whole
    assert f"numpy {NUMPY} in training, 0.1.0 in production" in capsys.readouterr().out


def test_a_pin_whose_marker_is_false_in_production_is_left_out(tmp_path: Path) -> None:
    args, _ = requirements_check(tmp_path, f"numpy=={NUMPY}; python_version < '3.0'\n")
    assert main(args) == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("numpy>=1.0\n", "line 1: 'numpy>=1.0' is not a name==version pin"),
        ("# pins\nnumpy==1.*\n", "line 2: 'numpy==1.\\*' is not a name==version pin"),
        ("-r other.txt\n", "line 1: '-r other.txt' is an option"),
        ("numpy==1.0; python_version < 'x'\n", "line 1: cannot evaluate the marker"),
        ("numpy==1.0; weird_var == '1'\n", "'weird_var' is not a marker variable"),
        (
            "numpy==1.0\nNumPy==2.0\n",
            "line 2: NumPy is pinned to '2.0' here and to '1.0' on line 1",
        ),
    ],
)
def test_a_requirement_line_that_is_not_an_exact_pin_exits_2_naming_it(
    tmp_path: Path, text: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args, _ = requirements_check(tmp_path, text)
    assert main(args) == 2
    assert re.search(words, capsys.readouterr().out)


def test_a_requirements_file_that_is_not_utf8_exits_2_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, reqs = requirements_check(tmp_path, b"numpy==1.0 # \xff\n")
    assert main(args) == 2
    assert f"{reqs} is not UTF-8 text" in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--snapshot", "--against"])
def test_a_snapshot_that_is_not_utf8_exits_2_saying_so(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path / "env.json", EnvironmentSnapshot.capture())
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"python_version": "\xff"}')
    paths = {"--snapshot": good, "--against": good, option: str(bad)}
    assert main(["check", *(part for pair in paths.items() for part in pair)]) == 2
    assert f"{bad} is not UTF-8 text" in capsys.readouterr().out
