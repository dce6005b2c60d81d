"""The command line: registry commands, exit codes, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship import cli
from modelship.cli import main


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for i in range(3):
        reg.register(
            model_name="fraud", model=bytes([i]), serializer="bytes", metrics={"auc": i / 10}
        )
    reg.set_alias("fraud", "production", "2")
    return url


def run(*argv: str) -> int:
    return main(list(argv))


def test_versions_lists_every_version_with_its_aliases(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("registry", "versions", registry, "fraud") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2", "3"]
    assert lines[1].endswith("@production")


def test_show_prints_the_manifest_as_json(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("registry", "show", registry, "fraud", "@production") == 0
    shown = ms.ModelVersion.from_dict(json.loads(capsys.readouterr().out))
    assert shown == ms.open_registry(registry).get("fraud", "2")


def test_alias_moves_with_expected_and_conflicts_when_stale(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("registry", "alias", registry, "fraud", "production", "3", "--expected", "2") == 0
    assert run("registry", "alias", registry, "fraud", "production", "1", "--expected", "2") == 2
    assert "Conflict" in capsys.readouterr().err
    assert ms.open_registry(registry).aliases("fraud") == {"production": "3"}


def test_history_is_json(registry: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("registry", "history", registry, "fraud") == 0
    moves = json.loads(capsys.readouterr().out)
    assert [(m["alias"], m["from"], m["to"]) for m in moves] == [("production", None, "2")]


def test_verify_exits_one_when_an_artifact_was_changed(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("registry", "verify", registry, "fraud", "--all") == 0
    mv = ms.open_registry(registry).get("fraud", "2")
    blob = Path(registry, "blobs", "sha256", mv.artifact.hexdigest[:2], mv.artifact.hexdigest)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"\xff")
    assert run("registry", "verify", registry, "fraud", "--all") == 1
    assert "FAIL fraud 2" in capsys.readouterr().err


def test_unknown_version_exits_two_with_the_reason(
    registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("registry", "show", registry, "fraud", "42") == 2
    assert "VersionNotFound" in capsys.readouterr().err


def test_delete_restore_and_gc(registry: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("registry", "delete", registry, "fraud", "3", "--reason", "bad") == 0
    assert ms.open_registry(registry).get("fraud").version == "2"
    assert run("registry", "restore", registry, "fraud", "3") == 0
    assert run("registry", "gc", registry, "--grace-seconds", "0") == 0
    assert json.loads(capsys.readouterr().out) == {
        "dry_run": False,
        "staging": [],
        "dead_slots": [],
        "blobs": [],
        "uploads": [],
        "name_claims": [],
    }


@pytest.mark.s3
def test_gc_reports_the_multipart_uploads_it_aborts(
    s3_bucket: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    client = s3_bucket["client"]
    key = "registry/blobs/sha256/ab/abc"
    upload_id = client.create_multipart_upload(Bucket=s3_bucket["bucket"], Key=key)["UploadId"]
    options = [a for k, v in s3_bucket["options"].items() for a in ("-o", f"{k}={json.dumps(v)}")]
    gc = ["registry", "gc", s3_bucket["url"], "--grace-seconds", "0", *options]
    reported = [f"blobs/sha256/ab/abc?uploadId={upload_id}"]

    assert run(*gc, "--dry-run") == 0
    assert json.loads(capsys.readouterr().out)["uploads"] == reported
    assert run(*gc) == 0
    assert json.loads(capsys.readouterr().out)["uploads"] == reported
    assert client.list_multipart_uploads(Bucket=s3_bucket["bucket"]).get("Uploads", []) == []


def test_copy_moves_models_between_registries(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dst = str(tmp_path / "copy")
    assert run("registry", "copy", registry, dst) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == 3
    assert ms.open_registry(dst).get("fraud", "@production").version == "2"


def test_storage_options_are_parsed_as_json(s3_bucket: dict[str, Any]) -> None:
    opts = s3_bucket["options"]
    ms.open_registry(s3_bucket["url"], **opts).register(
        model_name="m", model=b"x", serializer="bytes"
    )
    code = run(
        "registry",
        "verify",
        s3_bucket["url"],
        "m",
        "-o",
        f"key={opts['key']}",
        "-o",
        f"secret={opts['secret']}",
        "-o",
        "client_kwargs=" + json.dumps(opts["client_kwargs"]),
    )
    assert code == 0


def test_bad_storage_option_exits_two(registry: str) -> None:
    assert run("registry", "models", registry, "-o", "novalue") == 2


def test_python_dash_m_runs_the_same_command(registry: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "modelship", "registry", "models", registry, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == ["fraud"]


def test_console_script_is_installed(registry: str) -> None:
    exe = Path(sys.executable).with_name("modelship")
    if not exe.exists():
        pytest.fail(f"the modelship console script is not installed beside {sys.executable}")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("modelship ")


# --- one hook per capability -----------------------------------------------------------------


def _hello_hook(subparsers: Any) -> None:
    hello = subparsers.add_parser("hello", help="say hello")
    hello.set_defaults(func=lambda args: 0)


class _FakeEntryPoint:
    def __init__(self, name: str, hook: Any) -> None:
        self.name = name
        self.value = f"plugin:{name}"
        self._hook = hook

    def load(self) -> Any:
        if isinstance(self._hook, Exception):
            raise self._hook
        return self._hook


def _with_plugins(monkeypatch: pytest.MonkeyPatch, *plugins: _FakeEntryPoint) -> None:
    monkeypatch.setattr(cli, "_plugin_commands", lambda: list(plugins))


def test_every_built_in_capability_adds_the_command_it_is_listed_under() -> None:
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert set(cli.COMMANDS) <= set(sub.choices)  # type: ignore[arg-type]


def test_a_plugin_command_comes_in_through_the_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_plugins(monkeypatch, _FakeEntryPoint("hello", _hello_hook))
    assert main(["hello"]) == 0


def test_a_plugin_cannot_replace_a_built_in_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_plugins(monkeypatch, _FakeEntryPoint("registry", _hello_hook))
    parser = cli.build_parser()
    assert "ignoring entry point 'registry'" in capsys.readouterr().err
    assert parser.parse_args(["registry", "models", "memory://x"]).registry_command == "models"


def test_a_broken_plugin_leaves_the_other_commands_working(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_plugins(monkeypatch, _FakeEntryPoint("broken", ImportError("no module named x")))
    assert main(["registry", "models", "memory://cli-broken-plugin"]) == 0
    # A built-in command loads no plugin; the full command list (help, a plugin's command)
    # loads them all and names the broken one.
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit):
        main(["no-such-command"])
    assert "ignoring entry point 'broken'" in capsys.readouterr().err


def _exits(*_: Any) -> None:
    sys.exit(3)


def test_a_plugin_that_exits_while_it_loads_leaves_help_working(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # SystemExit is no Exception: it ended `modelship --help` with exit 3 and no output.
    _with_plugins(monkeypatch, _FakeEntryPoint("boom", _exits))
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out, err = capsys.readouterr()
    assert "registry" in out
    assert "ignoring entry point 'boom'" in err


def test_a_built_in_command_imports_only_its_own_capability(registry: str) -> None:
    # `check` and `monitor` import SciPy (1.5 s of a 2 s start on this machine); a CI script
    # calling `modelship registry ...` or `modelship deploy ...` should not pay for it.
    script = (
        "import sys; from modelship.cli import main; "
        f"main(['registry', 'models', {registry!r}]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy' "
        "or m.startswith(('modelship.checks', 'modelship.monitor'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["fraud", "[]"], done.stderr


def test_a_hook_that_adds_another_command_than_its_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_plugins(monkeypatch, _FakeEntryPoint("greet", _hello_hook))
    cli.build_parser()
    assert "did not add the command 'greet'" in capsys.readouterr().err


def test_the_module_docstring_names_every_built_in_command() -> None:
    doc = cli.__doc__ or ""
    assert all(f"``{name}``" in doc for name in cli.COMMANDS)
