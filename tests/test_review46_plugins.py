"""Review 46: a plugin command's alias cannot take another command's name; a registry
plugin's secret does not leak through the exception it chains; a metric function whose
values all miss the window is told apart from one that returned none."""

from __future__ import annotations

import sys
import textwrap
import time
import traceback
from pathlib import Path

import pytest

import modelship as ms
from modelship import _plugins, cli


def _package(site: Path, dist: str, group: str, name: str, module: str, code: str) -> None:
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}:hook\n")
    (site / f"{module}.py").write_text(textwrap.dedent(code))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_plugins, "_GROUPS", {})  # read the groups afresh, and forget them after
    return tmp_path


@pytest.fixture
def alias_thief(site: Path) -> None:
    """Package a46 declares ``aaa46`` with the aliases of another package's command and of
    a built-in; package b46 declares ``zzz46``."""
    _package(
        site,
        "a46",
        "modelship.cli",
        "aaa46",
        "clia46",
        """
        def hook(sub):
            p = sub.add_parser("aaa46", aliases=["zzz46", "registry", "own46"], help="a46's")
            p.add_argument("rest", nargs="*")
            p.set_defaults(func=lambda args: print("a46 ran as", args.command) or 0)
        """,
    )
    _package(
        site,
        "b46",
        "modelship.cli",
        "zzz46",
        "clib46",
        """
        def hook(sub):
            p = sub.add_parser("zzz46", help="b46's")
            p.set_defaults(func=lambda args: print("b46 ran") or 0)
        """,
    )


def test_a_plugin_alias_cannot_take_the_command_another_package_declares(
    alias_thief: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["zzz46"]) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == "b46 ran\n"
    assert "ignoring the aliases ['zzz46', 'registry'] entry point 'aaa46'" in captured.err


def test_a_plugin_alias_cannot_take_a_built_in_command(alias_thief: None) -> None:
    args = cli.build_parser().parse_args(["registry", "models", "memory://review46"])
    assert args.func.__module__ == "modelship.registry._cli"


def test_a_plugin_keeps_an_alias_no_other_command_has(
    alias_thief: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["own46"]) == cli.EXIT_OK
    assert capsys.readouterr().out == "a46 ran as own46\n"
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listed = capsys.readouterr().out
    assert "aaa46 (own46)" in listed
    assert "registry)" not in listed


@pytest.fixture
def chaining_registry(site: Path) -> None:
    """A registry factory that raises its own error from a driver's error quoting a DSN."""
    _package(
        site,
        "sec46",
        "modelship.registries",
        "sec46",
        "sec46",
        """
        def hook(url, password=None, **options):
            try:
                said = f"no login for postgresql://svc:{password}@db/m" if password else "refused"
                raise ConnectionRefusedError(said)
            except OSError as exc:
                raise RuntimeError("could not log in to the model database") from exc
        """,
    )


def test_a_registry_plugin_secret_in_a_chained_exception_is_not_chained(
    chaining_registry: None,
) -> None:
    with pytest.raises(ms.ConfigError) as raised:
        ms.open_registry("sec46://models", password="S3cretPassw0rd46")
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    shown = "".join(traceback.format_exception(raised.value))
    assert "S3cretPassw0rd46" not in shown.replace('password="S3cretPassw0rd46"', "")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is Python 3.11's")
def test_a_registry_plugin_secret_in_an_exception_groups_member_is_not_chained(
    site: Path,
) -> None:
    # A driver trying several hosts (or asyncio.TaskGroup) raises a group: its members
    # print in every traceback, as a cause does (the second look at stop 46's fix).
    _package(
        site,
        "grp46",
        "modelship.registries",
        "grp46",
        "grp46",
        """
        def hook(url, password=None, **options):
            raise ExceptionGroup(  # noqa: F821 - Python 3.11's
                "could not log in to any model database",
                [ConnectionRefusedError(f"no login for postgresql://svc:{password}@db{i}/m")
                 for i in (1, 2)],
            )
        """,
    )
    with pytest.raises(ms.ConfigError) as raised:
        ms.open_registry("grp46://models", password="S3cretPassw0rd46")
    assert raised.value.__cause__ is None
    shown = "".join(traceback.format_exception(raised.value))
    assert "S3cretPassw0rd46" not in shown.replace('password="S3cretPassw0rd46"', "")


def test_a_registry_plugin_error_with_no_secret_stays_chained(chaining_registry: None) -> None:
    with pytest.raises(ms.ConfigError) as raised:
        ms.open_registry("sec46://models")
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_a_function_whose_values_all_miss_the_window_says_so_not_none() -> None:
    now = time.time()

    def in_milliseconds(metric: str, slot: str, start: float, end: float) -> object:
        return [10.0, 12.0, 11.0], [(now - 30) * 1000, (now - 20) * 1000, (now - 10) * 1000]

    out = ms.monitor.CallableSource(in_milliseconds).fetch(
        "revenue", slot="canary", start=now - 60, end=now
    )
    assert isinstance(out, ms.monitor.NoData)
    assert out.reason == (
        f"the function returned 3 values, all outside ({now - 60:.3f}, {now:.3f}]"
    )


def test_a_function_whose_timestamps_are_nan_is_told_so() -> None:
    src = ms.monitor.CallableSource(lambda m, s, a, b: ([1.0, 2.0], [float("nan"), 1e12]))
    out = src.fetch("kpi", slot="canary", start=0.0, end=60.0)
    assert isinstance(out, ms.monitor.NoData)
    assert out.reason.endswith("all outside (0.000, 60.000]; 1 has a NaN timestamp")


def test_a_function_that_returned_nothing_still_says_none() -> None:
    out = ms.monitor.CallableSource(lambda m, s, a, b: ([], [])).fetch(
        "kpi", slot="canary", start=0.0, end=60.0
    )
    assert isinstance(out, ms.monitor.NoData)
    assert out.reason == "the function returned none"


def test_samples_all_outside_the_window_name_bounds_that_tell_start_from_end() -> None:
    now = 1_796_592_930.25

    def samples(metric: str, slot: str, start: float, end: float) -> object:
        return ms.monitor.Samples(metric, slot, [1.0], [end * 1000], start=start, end=end * 1000)

    out = ms.monitor.CallableSource(samples).fetch("kpi", slot="canary", start=now - 60, end=now)
    assert isinstance(out, ms.monitor.NoData)
    assert "all outside (1796592870.250, 1796592930.250]" in out.reason


def test_a_cycle_of_chained_exceptions_is_read_once() -> None:
    from modelship.registry import _open

    first, second = RuntimeError("could not log in"), OSError("refused")
    first.__context__, second.__context__ = second, first
    assert _open._holds_secret(first, {"password": "S3cretPassw0rd46"}) is False
    second.add_note("tried postgresql://svc:S3cretPassw0rd46@db/m")
    assert _open._holds_secret(first, {}) is True
