"""Review 38: what the docs and messages say about the command line and the reports,
checked against what the code does."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship import cli, report
from modelship.checks import CheckResult, SuiteResult
from modelship.deploy import BlueGreen, EventKind, RolloutEvent, RolloutRecord, RolloutStatus
from modelship.errors import ConfigError
from modelship.testing import InMemoryDeployer

ROOT = Path(__file__).resolve().parents[1]


def _doc(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


# --- item 1: MODELSHIP_TRACEBACK keeps exit 2 ---------------------------------------------


class _EntryPoint:
    def __init__(self, name: str, hook: Any) -> None:
        self.name = name
        self.value = f"plugin:{name}"
        self._hook = hook

    def load(self) -> Any:
        return self._hook


def _buggy_hook(subparsers: Any) -> None:
    def run(args: Any) -> int:
        raise RuntimeError("plugin handler failed")

    subparsers.add_parser("buggy38").set_defaults(func=run)


def test_asking_for_the_traceback_of_a_crash_keeps_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Exit 1 reads as a verdict: the traceback a user asks for must not change the code.
    monkeypatch.setenv("MODELSHIP_TRACEBACK", "1")
    monkeypatch.setattr(cli, "_plugin_commands", lambda: [_EntryPoint("buggy38", _buggy_hook)])
    assert cli.main(["buggy38"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):"), err
    assert "RuntimeError: plugin handler failed" in err


# --- item 4: rollout records render as every report does ----------------------------------

WHEN = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def _record(status: str, *events: RolloutEvent) -> RolloutRecord:
    return RolloutRecord(
        id="r38",
        model="fraud",
        version="2",
        strategy="canary",
        status=status,
        slot="green",
        previous_version="1",
        previous_slot="blue",
        started_at=WHEN,
        events=events,
    )


def test_a_rollout_record_is_a_report_of_its_events() -> None:
    record = _record(
        "rolled_back",
        RolloutEvent(WHEN, EventKind.STARTED, "canary: fraud 2 into green", {"alias": "prod"}),
        RolloutEvent(
            WHEN, EventKind.TRAFFIC, "step 1: 10% to green", {"weights": {"blue": 90, "green": 10}}
        ),
        RolloutEvent(
            WHEN, EventKind.GATE, "step 1: fail -> abort", {"decision": "abort", "verdict": "fail"}
        ),
        RolloutEvent(
            WHEN, EventKind.HEALTH, "green unhealthy", {"slot": "green", "healthy": False}
        ),
        RolloutEvent(WHEN, EventKind.ROLLBACK, "rolled back to 1 in blue", {"slot": "blue"}),
        RolloutEvent(WHEN, EventKind.ERROR, "alias not moved back", {"alias": "prod"}),
    )
    built = record.to_report()
    assert isinstance(built, report.Report)
    assert built.title == (
        "rollout r38: fraud 2 by canary into green (was 1 in blue), alias 'prod', rolled back"
    )
    assert built.passed is False
    assert built.item == "event"
    assert built.document == record.to_dict()
    heads = [section.head for section in built.sections]
    # Numbered: events in one second (all of these) must not share a JUnit name.
    assert [h.name for h in heads] == [
        f"{number:03d} 2026-01-01 12:00:00+00:00 {kind}"
        for number, kind in enumerate(
            ("started", "traffic", "gate", "health", "rollback", "error"), start=1
        )
    ]
    assert [h.status for h in heads] == ["pass", "pass", "fail", "fail", "warn", "error"]
    assert heads[1].cells["weight"] == "blue 90, green 10"
    assert heads[3].cells["slot"] == "green"
    assert heads[1].reason == "step 1: 10% to green"


def test_a_rollout_record_displays_in_a_notebook_through_the_report_renderers() -> None:
    reg = ms.open_registry("memory://review38-rollout")
    reg.register(model_name="fraud", model={"a": 1})
    reg.register(model_name="fraud", model={"a": 2})
    deployer = InMemoryDeployer(registry=reg)
    BlueGreen(deployer).deploy("fraud", "1")
    record = BlueGreen(deployer).deploy("fraud", "2").record()
    assert record.status is RolloutStatus.SUCCEEDED
    assert record._repr_html_() == report.render_html(record.to_report())
    assert record._repr_markdown_() == report.render_markdown(record.to_report())
    html = record._repr_html_()
    assert f"rollout {record.id}: fraud 2 by blue-green" in html
    assert "✅ passed" in html
    for event in record.events:  # every event is a row, in order
        assert event.kind.value in html
    markdown = record._repr_markdown_()
    assert "| weight |" in markdown
    assert "| green 100 |" in markdown


# --- item 6: the renderers refuse what is not a report -------------------------------------


@pytest.mark.parametrize("name", sorted(report.RENDERERS))
def test_a_renderer_given_a_result_says_to_pass_its_report(name: str) -> None:
    suite = SuiteResult([CheckResult(name="a", status="pass")])
    with pytest.raises(ConfigError, match=r"not a SuiteResult; .*\.to_report\(\)"):
        report.RENDERERS[name](suite)  # type: ignore[arg-type]


def test_a_renderer_given_nothing_says_what_it_renders() -> None:
    with pytest.raises(ConfigError, match=r"renders a modelship\.report\.Report, not a NoneType"):
        report.render_markdown(None)  # type: ignore[arg-type]


def test_write_text_refuses_what_is_not_text(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="write_text writes a str, not a NoneType"):
        report.write_text(tmp_path / "out.md", None)  # type: ignore[arg-type]
    built = SuiteResult([]).to_report()
    with pytest.raises(ConfigError, match="render the report first"):
        report.write_text(tmp_path / "out.md", built)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a NoneType; give the path of the file"):
        report.write_text(None, "text")  # type: ignore[arg-type]
    assert not (tmp_path / "out.md").exists()


# --- item 7: command-line messages name the command line's flags ---------------------------


def test_an_archived_version_on_the_command_line_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    reg.register(model_name="fraud", model={"a": 1})
    reg.register(model_name="fraud", model={"a": 2})
    reg.delete("fraud", "1")
    code = cli.main(["registry", "download", url, "fraud", "1", "-o", str(tmp_path / "m")])
    assert code == cli.EXIT_ERROR
    assert "--include-archived" in capsys.readouterr().err


def test_a_signed_registry_read_without_its_key_names_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    url = str(tmp_path / "signed")
    ms.open_registry(url, signing_key=b"0123456789abcdef0123").register(
        model_name="fraud", model={"a": 1}
    )
    assert cli.main(["registry", "versions", url, "fraud"]) == cli.EXIT_ERROR
    assert "--no-verify-signatures" in capsys.readouterr().err


# --- items 8 and 9: the docs name the options and commands that exist ----------------------


def _subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every runnable command under ``parser``, as its words (``("registry", "tag", "set")``)."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                below = _subcommands(child, (*path, name))
                found += below or [(*path, name)]
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    found = {o for action in parser._actions for o in action.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _options(child)
    return found


def test_the_cli_page_lists_every_registry_command() -> None:
    page = _doc("cli.md")
    registry = [words for words in _subcommands(cli.build_parser()) if words[0] == "registry"]
    assert ("registry", "tag", "set") in registry
    listed = {" ".join(words) for words in registry}
    missing = sorted(c for c in listed if not re.search(rf"modelship {c}\s", page))
    assert missing == []


def test_the_renderers_docstring_names_only_options_that_exist() -> None:
    from modelship.report import _render

    source = Path(_render.__file__).read_text(encoding="utf-8")
    named = set(re.findall(r"``(--[a-z][a-z-]*)", source))
    options = _options(cli.build_parser())
    assert "--format" not in options
    assert named - {"--format"} <= options
    # --format is named only to say that no command has it.
    text = " ".join(source.split())
    before = re.findall(r"(\S+ \S+ \S+ \S+) ``--format", text)
    assert before == ["No command has a"]
