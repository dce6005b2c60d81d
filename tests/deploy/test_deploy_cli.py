"""``modelship deploy``: apply serves and follows the alias; rollback moves it back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

import modelship as ms
from modelship.deploy._cli import main

ROW = json.dumps({"instances": [[0.5, 0.0, 0.0, 0.0]]}).encode()


def version_served(endpoint: str) -> str:
    request = urllib.request.Request(
        endpoint + "/predict", data=ROW, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["version"])


@pytest.fixture
def registry(served_registry: Path, tmp_path: Path) -> str:  # noqa: F811
    """A fresh registry with the two served versions (history starts empty)."""
    source = ms.open_registry(str(served_registry))
    reg = ms.open_registry(str(tmp_path / "reg"))
    for v in ("1", "2"):
        reg.register(model_name="fraud", model=source.load("fraud", v))
    reg.register(model_name="fraud", model=b"cannot predict", serializer="bytes")  # 3
    return str(tmp_path / "reg")


def test_history_of_a_model_never_deployed_is_empty(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", registry, "fraud"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_rollback_with_nothing_deployed_exits_1(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rollback", registry, "fraud"]) == 1
    # The alias is not set: the message says so, not "no rollout of fraud None".
    err = capsys.readouterr().err
    assert "the alias production of fraud names no version; nothing to roll back" in err


def test_apply_of_a_missing_version_exits_2(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", registry, "fraud", "7", "--for", "0"]) == 2
    assert "no version '7'" in capsys.readouterr().err


@pytest.mark.slow
def test_apply_serves_follows_a_rollback_and_records_every_rollout(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = "import sys; from modelship.deploy._cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def start(ref: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", code, "apply", registry, "fraud", ref, "--poll", "0.2"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    first = start("1")
    assert first.stdout is not None
    endpoint = json.loads(first.stdout.readline())["endpoint"]
    assert version_served(endpoint) == "1"
    assert ms.open_registry(registry).aliases("fraud") == {"production": "1"}
    # A second version through the alias: the running apply follows it.
    ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
    assert json.loads(first.stdout.readline())["version"] == "2"
    assert version_served(endpoint) == "2"
    assert main(["rollback", registry, "fraud"]) == 0
    assert json.loads(capsys.readouterr().out)["to"] == "1"
    assert json.loads(first.stdout.readline())["version"] == "1"
    assert version_served(endpoint) == "1"
    # A version that cannot serve: its rollout aborts and the alias comes back to 1.
    ms.open_registry(registry).set_alias("fraud", "production", "3", expected="1")
    for _ in range(1200):  # bounded: 120 s
        if ms.open_registry(registry).aliases("fraud") == {"production": "1"}:
            break
        time.sleep(0.1)
    assert ms.open_registry(registry).aliases("fraud") == {"production": "1"}
    assert version_served(endpoint) == "1"
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0

    assert main(["history", registry, "fraud"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [(h["version"], h["status"]) for h in history] == [
        ("1", "succeeded"),
        ("2", "rolled_back"),
        ("3", "aborted"),
    ]
    assert main(["status", registry, "fraud"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["version"], status["last_rollout"]["version"]) == ("1", "3")


@pytest.mark.slow
def test_apply_keeps_serving_and_following_when_its_reader_leaves(registry: str) -> None:
    # A supervisor's log reader that goes away (``apply ... | head -1``) used to stop the
    # deployment with exit 0 at its next event: serving ended and nothing said why.
    code = "import sys; from modelship.deploy._cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    apply = subprocess.Popen(
        [sys.executable, "-c", code, "apply", registry, "fraud", "1", "--poll", "0.2"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert apply.stdout is not None
        endpoint = json.loads(apply.stdout.readline())["endpoint"]
        apply.stdout.close()  # the reader leaves; the next event meets a broken pipe
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        for _ in range(1200):  # bounded: 120 s
            if apply.poll() is not None or version_served(endpoint) == "2":
                break
            time.sleep(0.1)
        assert apply.poll() is None, "apply stopped when its reader left"
        assert version_served(endpoint) == "2"
        time.sleep(0.5)  # a few more polls, each free to print
        assert apply.poll() is None
        apply.send_signal(signal.SIGTERM)
        assert apply.wait(60) == 0
    finally:
        if apply.poll() is None:
            apply.kill()
            apply.wait(60)


def test_apply_dry_run_prints_the_kubernetes_objects_and_starts_nothing(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml = pytest.importorskip("yaml")
    spec = tmp_path / "deployment.yaml"
    spec.write_text(
        "deployment:\n"
        "  strategy: blue-green\n"
        "  containers:\n"
        "    - name: model-service\n"
        "      image: ai-model:${VERSION}\n"
        "      resources: {limits: {memory: 4Gi, cpu: '2'}}\n"
    )
    code = main(
        ["apply", registry, "fraud", "2", "--spec", str(spec), "--dry-run", "--slot", "green"]
    )
    assert code == 0
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ai-model:2"
    assert container["resources"]["limits"]["memory"] == "4Gi"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "2"
    assert ms.open_registry(registry).aliases("fraud") == {}  # nothing moved


def test_apply_dry_run_without_spec_or_image_exits_2(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", registry, "fraud", "2", "--dry-run"]) == 2
    assert "image" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "wanted"),
    [
        ("--poll", "0", "> 0"),  # polled the registry without pause, and --for never ended
        ("--poll", "-1", "> 0"),
        ("--poll", "nan", "> 0"),
        ("--for", "-1", ">= 0"),
        ("--for", "nan", ">= 0"),  # never reached: served until a signal
        ("--for", "soon", ">= 0"),
    ],
)
def test_apply_refuses_waits_that_are_not_seconds_before_starting_anything(
    registry: str, capsys: pytest.CaptureFixture[str], option: str, value: str, wanted: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["apply", registry, "fraud", "1", option, value])
    assert exited.value.code == 2
    assert f"argument {option}: {value!r} is not a number of seconds {wanted}" in (
        capsys.readouterr().err
    )
    assert ms.open_registry(registry).aliases("fraud") == {}
