"""Seams a review found open: stores, sources and plugins that passed the suites or broke
the command line.

Each broken double here breaks one promise as a store, source or plugin did in the review;
each test shows that the suite (or the command line, or a notebook display) now catches it.
"""

from __future__ import annotations

import builtins
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import modelship as ms
from modelship import cli
from modelship.checks import CheckResult
from modelship.monitor import InMemorySource, Samples
from modelship.registry import FsspecStore, Store
from modelship.testing import MemoryStore, MetricSourceConformance, SourceCase, StoreConformance

suite = StoreConformance()
source_suite = MetricSourceConformance()


# --- 1. a listing of more than one page -------------------------------------------------


class FirstPageOnly(MemoryStore):
    """list() answers S3's first page only: a forgotten continuation token."""

    def list(self, prefix: str) -> builtins.list[str]:
        return super().list(prefix)[:1000]


class NamesTwice(MemoryStore):
    """list() names the children of a second page again (a page read twice)."""

    def list(self, prefix: str) -> builtins.list[str]:
        names = super().list(prefix)
        return sorted(names + names[1000:1001])


def test_a_listing_that_stops_at_the_first_page_fails_the_suite() -> None:
    with pytest.raises(AssertionError, match="1000 of 1010 children"):
        suite.test_list_names_every_child_of_a_folder_larger_than_any_page(FirstPageOnly())


def test_a_listing_that_names_a_child_twice_fails_the_suite() -> None:
    with pytest.raises(AssertionError, match="more than once"):
        suite.test_list_names_every_child_of_a_folder_larger_than_any_page(NamesTwice())


def test_a_store_that_lists_every_page_passes_the_paged_listing(tmp_path: Path) -> None:
    suite.test_list_names_every_child_of_a_folder_larger_than_any_page(MemoryStore())
    local = FsspecStore.from_url(str(tmp_path / "local"))
    started = time.monotonic()
    suite.test_list_names_every_child_of_a_folder_larger_than_any_page(local)
    assert time.monotonic() - started < 20  # a few tenths of a second on a local disk


def test_a_registry_on_a_first_page_store_would_lose_models() -> None:
    # Why the test matters: the registry trusts list() for its models.
    store = FirstPageOnly()
    for i in range(1001):
        store.create(f"models/m{i:04d}/versions/000000000001.json", b"{}")
    assert len(store.list("models")) == 1000


# --- 2. a create that a reader can see half written -------------------------------------


class HalfVisibleCreate(MemoryStore):
    """create is exclusive, but the key is there with half its bytes for 2 ms."""

    def create(self, key: str, data: bytes, *, allow_empty: bool = False) -> None:
        super().create(key, data[: len(data) // 2], allow_empty=allow_empty)
        time.sleep(0.002)
        self.replace(key, data)


class InPlaceCreateOnDisk(FsspecStore):
    """create opens the file with open(path, "xb") and writes into it, as the protocol's
    old words ("exactly as Python's own open(..., 'x')") invited: a 2 ms gap halfway."""

    def create(self, key: str, data: bytes) -> None:
        path = self._local(key)  # the file of ``key`` on this disk
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "xb") as f:
            half = len(data) // 2
            f.write(data[:half])
            f.flush()
            time.sleep(0.002)
            f.write(data[half:])


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_a_create_a_reader_can_see_half_written_fails_the_suite(kind: str, tmp_path: Path) -> None:
    store: Store = (
        HalfVisibleCreate() if kind == "memory" else InPlaceCreateOnDisk.from_url(str(tmp_path))
    )
    with pytest.raises(AssertionError, match="create is not all at once"):
        suite.test_a_reader_sees_a_created_document_missing_or_whole_never_part(store)


def test_an_atomic_create_passes_the_create_race(tmp_path: Path) -> None:
    suite.test_a_reader_sees_a_created_document_missing_or_whole_never_part(MemoryStore())
    suite.test_a_reader_sees_a_created_document_missing_or_whole_never_part(
        FsspecStore.from_url(str(tmp_path))
    )


def test_the_protocol_says_a_created_key_is_never_seen_part_written() -> None:
    doc = " ".join((Store.create.__doc__ or "").split())
    assert "a reader sees no key, or the whole of ``data``" in doc
    module = " ".join(
        (importlib.import_module("modelship.registry._protocols").__doc__ or "").split()
    )
    assert "exactly as Python's own" not in module
    assert "never seen half written" in module


# --- 3. modified() that answers the time of the call ------------------------------------


class ModifiedIsNow(MemoryStore):
    """modified() answers the time of the call, not of the last write."""

    def modified(self, key: str) -> float:
        super().modified(key)  # FileNotFoundError for a missing key
        return time.time()


def test_a_modified_that_is_the_time_of_the_call_fails_the_suite() -> None:
    with pytest.raises(AssertionError, match="with no write in between"):
        suite.test_modified_stays_put_while_nothing_writes_the_key(
            ModifiedIsNow(), clock_resolution=0.05
        )


def test_a_modified_that_is_the_time_of_the_write_stays_put() -> None:
    suite.test_modified_stays_put_while_nothing_writes_the_key(MemoryStore(), clock_resolution=0.05)


def test_the_wait_is_past_the_declared_clock_resolution() -> None:
    started = time.monotonic()
    suite.test_modified_stays_put_while_nothing_writes_the_key(MemoryStore(), clock_resolution=0.2)
    assert time.monotonic() - started >= 0.2


# --- 4. a source that answers a sub-window with the whole window -------------------------


def _source() -> InMemorySource:
    src = InMemorySource(now=1000.0)
    src.add("latency", slot="canary", values=[1.0, 2.0, 3.0, 4.0], timestamps=[10, 20, 30, 40])
    return src


class CachingSource:
    """Caches answers by (metric, slot, start, stat): forgets ``end``."""

    def __init__(self) -> None:
        self._inner = _source()
        self._cache: dict[Any, Any] = {}

    def now(self) -> float:
        return self._inner.now()

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Any:
        key = (metric, slot, start, stat)
        if key not in self._cache:
            self._cache[key] = self._inner.fetch(metric, slot=slot, start=start, end=end, stat=stat)
        return self._cache[key]


class LeakyEnd:
    """Answers (start, end] with the right window but every value after ``start``."""

    def __init__(self) -> None:
        self._inner = _source()

    def now(self) -> float:
        return self._inner.now()

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Any:
        out = self._inner.fetch(metric, slot=slot, start=start, end=1000.0, stat=stat)
        return attrs.evolve(out, end=end) if isinstance(out, Samples) else out


class LeakyStart:
    """Answers (start, end] with the right window but values from before ``start`` too."""

    def __init__(self) -> None:
        self._inner = _source()

    def now(self) -> float:
        return self._inner.now()

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Any:
        out = self._inner.fetch(metric, slot=slot, start=0.0, end=end, stat=stat)
        if isinstance(out, Samples) and start > 0.0:
            # keep the value at start out (the old check), but not the ones before it
            keep = out.timestamps != start
            return attrs.evolve(
                out, start=start, values=out.values[keep], timestamps=out.timestamps[keep]
            )
        return out


def _case(source: Any) -> SourceCase:
    return SourceCase(source, "latency", "canary", start=0.0, end=50.0, missing=0, real_clock=False)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (CachingSource(), r"asked \(0.0, 30.0\], the answer is about \(0.0, 50.0\]"),
        (LeakyEnd(), r"holds values after its end"),
        (LeakyStart(), r"holds values at or before"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else "",
)
def test_a_source_that_answers_another_window_fails_the_suite(source: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        source_suite.test_a_window_holds_values_after_its_start_up_to_its_end(_case(source))


def test_a_source_that_answers_the_window_asked_passes() -> None:
    source_suite.test_a_window_holds_values_after_its_start_up_to_its_end(_case(_source()))
    upto = _source().fetch("latency", slot="canary", start=0.0, end=20.0)
    assert isinstance(upto, Samples)
    assert np.array_equal(upto.timestamps, [10.0, 20.0])


# --- 5. the suites' asserts show their values -------------------------------------------


class ListsNoFolders(MemoryStore):
    """list() leaves out folders."""

    def list(self, prefix: str) -> builtins.list[str]:
        names = super().list(prefix)
        base = f"{prefix}/" if prefix else ""
        return [n for n in names if not any(k.startswith(f"{base}{n}/") for k in self._data)]


def test_a_failing_suite_assert_shows_the_values_compared() -> None:
    with pytest.raises(AssertionError) as caught:
        suite.test_list_names_each_child_once(ListsNoFolders())
    assert "['x'] == ['sub', 'x']" in str(caught.value)


def test_importing_modelship_testing_does_not_import_pytest() -> None:
    script = (
        "import sys, modelship.testing; "
        "print('pytest' in sys.modules, 'modelship.testing.suites' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_the_suites_load_without_a_warning_when_pytest_runs_first() -> None:
    # As under pytest: pytest imported, then the package, then a suite module directly
    # (as some tests import modelship.testing._deployer_suite), then the public module.
    script = (
        "import pytest, warnings; warnings.simplefilter('error'); "
        "import modelship.testing._deployer_suite; import modelship.testing.suites; "
        "from modelship.testing import StoreConformance; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True
    )
    assert done.stdout.strip() == "ok", done.stderr


# --- 6. list() order --------------------------------------------------------------------


class ReverseList(MemoryStore):
    """list() answers its names in reverse order."""

    def list(self, prefix: str) -> builtins.list[str]:
        return sorted(super().list(prefix), reverse=True)


def test_registry_models_are_sorted_whatever_order_the_store_lists() -> None:
    reg = ms.Registry(ReverseList())
    for name in ("alpha", "gamma", "beta"):
        reg.register(model_name=name, model=b"x", serializer="bytes")
    assert reg.models() == ["alpha", "beta", "gamma"]


def test_the_protocol_says_list_answers_sorted_names() -> None:
    assert "sorted" in (Store.list.__doc__ or "")


def test_an_unsorted_listing_fails_the_suite_saying_it_is_the_order() -> None:
    for check in (
        suite.test_list_names_direct_children_sorted,
        suite.test_list_names_each_child_once,
        suite.test_list_of_a_folder_leaves_out_names_that_only_begin_with_it,
        suite.test_a_deleted_key_is_no_longer_listed,
    ):
        with pytest.raises(AssertionError, match="not sorted"):
            check(ReverseList())


# --- 7. a broken plugin on the command line ----------------------------------------------


class _EntryPoint:
    def __init__(self, name: str, hook: Any) -> None:
        self.name = name
        self.value = f"plugin:{name}"
        self._hook = hook

    def load(self) -> Any:
        return self._hook


def _with_plugins(monkeypatch: pytest.MonkeyPatch, *plugins: _EntryPoint) -> None:
    monkeypatch.setattr(cli, "_plugin_commands", lambda: list(plugins))


def _kaboom_hook(subparsers: Any) -> None:
    def run(args: Any) -> int:
        raise RuntimeError("plugin handler failed\nsecond line")

    subparsers.add_parser("kaboom").set_defaults(func=run)


def test_an_unexpected_exception_is_exit_2_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MODELSHIP_TRACEBACK", raising=False)
    _with_plugins(monkeypatch, _EntryPoint("kaboom", _kaboom_hook))
    assert cli.main(["kaboom"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "RuntimeError: plugin handler failed second line" in err
    assert "Traceback" not in err


def test_the_traceback_of_an_unexpected_exception_can_be_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELSHIP_TRACEBACK", "1")
    _with_plugins(monkeypatch, _EntryPoint("kaboom", _kaboom_hook))
    # The traceback on stderr, and still exit 2 (an error), never 1 (a verdict).
    assert cli.main(["kaboom"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: plugin handler failed" in err


def test_a_broken_registries_plugin_is_not_exit_1_for_verify(tmp_path: Path) -> None:
    # Exit 1 means "an artifact was changed" for verify: a plugin that cannot be imported
    # must not read as that. (The group's own error handling is _open.py's; whatever it
    # raises, the command line answers 2.)
    site = tmp_path / "site"
    dist = site / "brokenreg-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenreg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[modelship.registries]\nbrokenreg = no_such_module_xyz_35:open_store\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env.pop("MODELSHIP_TRACEBACK", None)
    done = subprocess.run(
        [sys.executable, "-m", "modelship", "registry", "verify", "brokenreg:///x", "fraud"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == cli.EXIT_ERROR, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_interrupted_is_still_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def hook(subparsers: Any) -> None:
        def run(args: Any) -> int:
            raise KeyboardInterrupt

        subparsers.add_parser("stop").set_defaults(func=run)

    _with_plugins(monkeypatch, _EntryPoint("stop", hook))
    assert cli.main(["stop"]) == cli.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "modelship: interrupted\n"


class NotADocument:
    """A class with neither to_json nor from_json."""


def test_a_documents_entry_point_that_is_no_document_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    from modelship import _documents

    class _Dist:
        name = "weirdpkg"

    ep = importlib.metadata.EntryPoint(
        "weirddoc35", f"{__name__}:NotADocument", "modelship.documents"
    )
    found = _EntryPointWithDist(ep, _Dist())
    monkeypatch.setattr(
        _documents, "plugin", lambda group, name: found if name == "weirddoc35" else None
    )
    monkeypatch.setattr(_documents, "load_plugin", lambda e: NotADocument)
    monkeypatch.setattr(_documents, "_FROM_ENTRY_POINTS", {})
    with pytest.raises(ms.ConfigError, match=r"'weirddoc35'.*from weirdpkg.*not a document"):
        _documents.document_kind("weirddoc35")


class _EntryPointWithDist:
    def __init__(self, ep: Any, dist: Any) -> None:
        self.name, self.value, self.group = ep.name, ep.value, ep.group
        self.dist = dist


# --- 8. an ignored plugin's commands do not run ------------------------------------------


def _other_hook(subparsers: Any) -> None:
    subparsers.add_parser("other").set_defaults(func=lambda args: print("RAN") or 0)


def _two_commands_hook(subparsers: Any) -> None:
    subparsers.add_parser("mine").set_defaults(func=lambda args: 0)
    subparsers.add_parser("extra").set_defaults(func=lambda args: print("RAN") or 0)


def test_a_refused_plugin_adds_no_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_plugins(monkeypatch, _EntryPoint("named", _other_hook))
    with pytest.raises(SystemExit):
        cli.main(["other"])
    captured = capsys.readouterr()
    assert "RAN" not in captured.out
    assert "did not add the command 'named'" in captured.err


def test_a_plugin_keeps_only_the_command_it_is_registered_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_plugins(monkeypatch, _EntryPoint("mine", _two_commands_hook))
    assert cli.main(["mine"]) == 0
    with pytest.raises(SystemExit):
        cli.main(["extra"])
    captured = capsys.readouterr()
    assert "RAN" not in captured.out
    assert "'extra'" in captured.err


def test_a_kept_plugin_command_is_listed_in_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def hook(subparsers: Any) -> None:
        subparsers.add_parser("hello", help="say hello").set_defaults(func=lambda args: 0)

    _with_plugins(monkeypatch, _EntryPoint("hello", hook))
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "say hello" in out
    with pytest.raises(SystemExit):
        cli.main(["hello", "--help"])
    assert "usage: modelship hello" in capsys.readouterr().out


def test_a_kept_plugin_commands_aliases_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An alias was taken for another command and dropped: `--help` named it, the command
    # line refused it.
    def hook(subparsers: Any) -> None:
        hello = subparsers.add_parser("hello", aliases=["hi"], help="say hello")
        hello.set_defaults(func=lambda args: print("HELLO") or 0)

    _with_plugins(monkeypatch, _EntryPoint("hello", hook))
    assert cli.main(["hi"]) == 0
    captured = capsys.readouterr()
    assert "HELLO" in captured.out
    assert "ignoring" not in captured.err


# --- 9. notebook HTML of a bounded size ---------------------------------------------------


def test_a_version_html_is_bounded_and_counts_what_it_leaves_out() -> None:
    reg = ms.open_registry("memory://stop35-html")
    mv = reg.register(
        model_name="fraud",
        model=b"w",
        serializer="bytes",
        metrics={f"m{i:05d}": float(i) for i in range(20_000)},
        tags={f"t{i:04d}": "v" * 200 for i in range(2000)},
        description="d" * 1_000_000,
    )
    html = mv._repr_html_()
    assert len(html) < 30_000, len(html)
    assert "+19980 more (mv.metrics)" in html
    assert "+1980 more (mv.tags)" in html
    assert "m00019=19" in html
    assert "m00020=" not in html


def test_a_version_html_cuts_long_values() -> None:
    reg = ms.open_registry("memory://stop35-html-long")
    mv = reg.register(
        model_name="fraud",
        model=b"w",
        serializer="bytes",
        tags={"note": "n" * 4000},
        metrics={"k" * 5000: 1.0},
        description="<" * 5000,
    )
    html = mv._repr_html_()
    assert len(html) < 8_000, len(html)
    assert "…" in html
    assert "<<" not in html  # still escaped after the cut


def test_a_check_result_html_is_bounded() -> None:
    big = CheckResult(name="n" * 100_000, status="fail", reason="r" * 5_000_000)
    html = big._repr_html_()
    assert len(html) < 5_000, len(html)
    assert "…" in html


def test_a_cut_never_splits_an_escape() -> None:
    result = CheckResult(name="x", status="fail", reason="&" * 10_000)
    html = result._repr_html_()
    assert "&amp;&amp;" in html
    assert "&am…" not in html
    assert "&a…" not in html
    assert "&…" not in html
