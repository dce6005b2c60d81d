"""Review 37: a credential after ``--flag=``, short flags after ``sudo -u``, and two
reports to standard output spelled differently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelship
from modelship.cli import main as cli
from modelship.deploy import Container, DeploymentSpec
from modelship.deploy.kubernetes._dry_run import dry_run
from modelship.deploy.kubernetes._redact import MASK
from modelship.parity import EnvironmentSnapshot, is_secret
from modelship.parity._cli import main

# --- 1. what a --flag= gives is read as if given alone ----------------------------------

# (value, the credential in it)
GIVEN_AFTER_A_FLAG = [
    ('--config={"api_key": "sk-live-abc123"}', "sk-live-abc123"),
    ("--header=Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
    ("--header=X-Api-Key: sk-live-abc123", "sk-live-abc123"),
    ('--header="X-Api-Key: abc123"', "abc123"),
    ("--header='Authorization: Basic dXNlcjpwYXNz'", "dXNlcjpwYXNz"),
    ('--data=\'{"password": "hunter2"}\'', "hunter2"),
    ('-H="PRIVATE-TOKEN: glpat-x1y2z3"', "glpat-x1y2z3"),
    ("--extra-headers=X-Auth-Token: abc987", "abc987"),
    ("--conf=spark.x.password= hunter2", "hunter2"),
    ('--config={\\"api_key\\": \\"sk-live-abc123\\"}', "sk-live-abc123"),
]


@pytest.mark.parametrize(("value", "secret"), GIVEN_AFTER_A_FLAG)
def test_a_credential_given_after_a_flag_and_equals_is_a_secret(value: str, secret: str) -> None:
    assert is_secret("X", value)


@pytest.mark.parametrize(("value", "secret"), GIVEN_AFTER_A_FLAG)
def test_the_same_credential_without_the_flag_is_a_secret_too(value: str, secret: str) -> None:
    assert is_secret("X", value.partition("=")[2])


@pytest.mark.parametrize(("value", "secret"), GIVEN_AFTER_A_FLAG)
def test_capture_does_not_record_a_credential_after_a_flag(
    value: str, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAIN_ARGS", value)
    snapshot = EnvironmentSnapshot.capture(env_allowlist=["TRAIN_ARGS"])
    assert "TRAIN_ARGS" not in snapshot.env
    assert secret not in snapshot.to_json()


def _deployment_container(text: str) -> dict[str, Any]:
    (deployment,) = [o for o in yaml.safe_load_all(text) if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


@pytest.mark.parametrize(("value", "secret"), GIVEN_AFTER_A_FLAG)
def test_the_dry_run_masks_an_environment_variable_holding_a_credential_after_a_flag(
    value: str, secret: str
) -> None:
    spec = DeploymentSpec(
        containers=[Container(name="m", image="m:1", port=9000, env={"TRAIN_ARGS": value})]
    )
    text = dry_run("fraud", "2", spec, image="m:1", registry_url="s3://m", app="fraud")
    assert secret not in text
    env = {item["name"]: item["value"] for item in _deployment_container(text)["env"]}
    assert env["TRAIN_ARGS"] == MASK


# What a --flag= gives that names no credential, or none holding a value.
KEPT_AFTER_A_FLAG = [
    "--upstream=auth-service:8080",
    "--app=auth.main:app",
    '--config={"max_new_tokens":128}',
    '--config={"max_new_tokens": 128}',
    '--config={"tokenizer": "bert-base"}',
    '--hps={"epochs": 3, "lr": 0.1}',
    "--log-format=%(name)s: %(message)s",
    "--conf=spark.authenticate.secret.file= /etc/secret",
    "--conf=spark.x.password=",
    "--update-interval=5m --workers 4",
]


@pytest.mark.parametrize("value", KEPT_AFTER_A_FLAG)
def test_a_flag_and_equals_naming_no_credential_is_kept(value: str) -> None:
    assert not is_secret("X", value)


# --- 2. short flags after -p, once a command runner gave the user -----------------------

SHORT_FLAGS_AFTER_SUDO = [
    ["sudo", "-u", "app", "cp", "-pR", "/src", "/dst"],
    ["sudo", "-u", "app", "perl", "-pi", "-e", "s/a/b/", "f.txt"],
    ["sudo", "-u", "app", "ls", "-pla"],
    ["sudo", "-u", "app", "install", "-pD", "a", "b"],
    ["sudo", "-E", "-u", "app", "cp", "-pPR", "a", "b"],
    ["sudo", "--user=app", "cp", "-pR", "a", "b"],
    ["runuser", "-u", "app", "--", "cp", "-pR", "a", "b"],
    ["docker", "exec", "-u", "app", "web", "ls", "-pla"],
]


@pytest.mark.parametrize("args", SHORT_FLAGS_AFTER_SUDO)
def test_short_flags_after_p_under_sudo_are_kept(args: list[str]) -> None:
    assert not is_secret("CMD", " ".join(args))


# The dry-run reads an argument with the two before it too: "--user=app cp -pR" alone
# does not show the runner, so a user glued to sudo's flag still masks -pR there (erring
# on the side of masking).
SHORT_FLAGS_AFTER_SUDO_APART = [args for args in SHORT_FLAGS_AFTER_SUDO if "--user=app" not in args]


@pytest.mark.parametrize("args", SHORT_FLAGS_AFTER_SUDO_APART)
def test_the_dry_run_leaves_short_flags_after_p_under_sudo(args: list[str]) -> None:
    spec = DeploymentSpec(containers=[Container(name="m", image="m:1", port=9000, args=args)])
    text = dry_run("fraud", "2", spec, image="m:1", registry_url="s3://m", app="fraud")
    assert _deployment_container(text)["args"][-len(args) :] == args


# (command line, the password in it)
GLUED_PASSWORDS = [
    (["sudo", "-u", "app", "mysql", "-pab"], "-pab"),  # mysql logs in as the user run as
    (["sudo", "-u", "app", "/usr/bin/mysqldump", "-pR", "-h", "db"], "-pR"),
    (["docker", "exec", "-u", "app", "db", "mariadb", "-pXy"], "-pXy"),
    (["sudo", "-u", "app", "tool", "-pHunter2"], "-pHunter2"),  # more than short flags
    (["sudo", "-u", "app", "sh", "-c", "mysql -uroot -pR"], "-pR"),
    (["-u", "root", "-pv"], "-pv"),  # no command runner: mysql's user, as before
    (["-uroot", "-pX"], "-pX"),
    (["mysql", "-u", "john.doe", "-h", "db", "-pX"], "-pX"),
    (["mysql", "-u", "app", "-pKq/3mZ+8vT1=", "prod"], "-pKq/3mZ+8vT1="),
]


@pytest.mark.parametrize(("args", "password"), GLUED_PASSWORDS)
def test_a_glued_password_with_a_user_is_still_a_secret(args: list[str], password: str) -> None:
    assert is_secret("CMD", " ".join(args))


@pytest.mark.parametrize(("args", "password"), GLUED_PASSWORDS)
def test_the_dry_run_still_masks_a_glued_password_with_a_user(
    args: list[str], password: str
) -> None:
    spec = DeploymentSpec(containers=[Container(name="m", image="m:1", port=9000, args=args)])
    text = dry_run("fraud", "2", spec, image="m:1", registry_url="s3://m", app="fraud")
    shown = _deployment_container(text)["args"][-len(args) :]
    assert password not in shown
    assert not any(password in arg for arg in shown)


# --- 3. two reports to standard output, one of them named by a path ---------------------


# /dev/stdout and its kin name standard output on POSIX systems only.
posix_only = pytest.mark.skipif(os.name != "posix", reason="/dev/stdout is POSIX's")


def _snapshot(tmp_path: Path) -> str:
    path = tmp_path / "train.json"
    path.write_text(EnvironmentSnapshot.capture().to_json(), encoding="utf-8")
    return str(path)


@posix_only
@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_parity_check_refuses_json_to_dash_and_report_to_a_name_of_stdout(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _snapshot(tmp_path)
    argv = ["check", "--snapshot", path, "--against", path, "--json", "-", "--report", name]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"--json and --report {name} each write to standard output" in captured.err


@posix_only
def test_parity_check_refuses_report_to_dash_and_junit_to_dev_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _snapshot(tmp_path)
    argv = ["check", "--snapshot", path, "--report", "-", "--junit", "/dev/stdout"]
    assert main(argv) == 2
    assert capsys.readouterr().out == ""


@posix_only
def test_check_command_refuses_json_to_dash_and_junit_to_dev_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "never-read.csv"
    argv = ["check", "drift", "--reference", str(missing), "--current", str(missing)]
    assert cli([*argv, "--json", "-", "--junit", "/dev/stdout"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--json and --junit /dev/stdout each write to standard output" in captured.err


@posix_only
def test_parity_check_refuses_a_report_to_the_file_stdout_is_redirected_to(
    tmp_path: Path,
) -> None:
    path = _snapshot(tmp_path)
    out = tmp_path / "out.json"
    src = str(Path(modelship.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    argv = ["check", "--snapshot", path, "--against", path, "--json", "-", "--report", str(out)]
    with out.open("w", encoding="utf-8") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "modelship", "parity", *argv],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 2
    assert f"--json and --report {out} each write to standard output" in done.stderr


@posix_only
def test_parity_check_with_only_the_report_on_dev_stdout_prints_the_summary_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _snapshot(tmp_path)
    # The report itself goes to the process's descriptor 1 (a capture here), the
    # summary to standard error, not into the same stream as the report.
    assert main(["check", "--snapshot", path, "--against", path, "--report", "/dev/stdout"]) == 0
    captured = capsys.readouterr()
    assert "environment_parity" not in captured.out
    assert "environment_parity" in captured.err


@pytest.mark.parametrize(
    "value",
    [
        "--sort=key: asc",
        "--order-by=key: desc",
        "--group-by=key: value",
        "--index=key: id",
        "--log-format=auth: %(message)s",
        "--labels=auth: enabled",
        "--set=auth.enabled= true",
        "--set=key= v2",
    ],
)
def test_ordinary_name_value_settings_after_a_flag_are_kept(value: str) -> None:
    # The --flag= reading took every "word:" for a header (second look of stop 37): only
    # a name naming a credential strongly counts there, as for an unquoted name:value.
    assert not is_secret("ARGS", value)
