"""Review 45: a ``modelship.cli`` command that two packages declare is refused, naming
both, never settled by the order of sys.path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from modelship import _plugins, cli


def _package(site: Path, letter: str) -> None:
    info = site / f"plug_{letter}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: plug-{letter}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[modelship.cli]\nshadow45 = plug45_{letter}:add_commands\n"
    )
    (site / f"plug45_{letter}.py").write_text(
        textwrap.dedent(
            f"""
            def add_commands(sub):
                p = sub.add_parser("shadow45", help="plugin {letter}")
                p.set_defaults(func=lambda args: print("I am plugin {letter}") or 0)
            """
        )
    )


@pytest.fixture
def two_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for letter in "ab":
        _package(tmp_path / letter, letter)
        monkeypatch.syspath_prepend(str(tmp_path / letter))
    monkeypatch.setattr(_plugins, "_GROUPS", {})  # read the group afresh, and forget it after


def test_a_command_two_packages_declare_exits_2_naming_both(
    two_packages: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["shadow45", "--flag"]) == cli.EXIT_ERROR
    captured = capsys.readouterr()
    assert "I am plugin" not in captured.out
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("modelship: ConfigError: ")
    assert "from plug-a" in last
    assert "from plug-b" in last


def test_a_command_two_packages_declare_is_left_out_with_a_message_and_others_work(
    two_packages: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    captured = capsys.readouterr()
    assert "shadow45" not in captured.out
    assert "modelship: ignoring entry point 'shadow45'" in captured.err
    assert "from plug-a" in captured.err
    assert "from plug-b" in captured.err
    assert cli.main(["registry", "models", "memory://review45-plugins"]) == cli.EXIT_OK
