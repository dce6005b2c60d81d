"""Review 42 of the conformance suites: implementations that broke a documented promise
yet passed the suite users run against their own back ends now fail it, and the doubles
answer as the real store does. Each test runs the suite's own check against the broken
implementation (as users' CI does) and against sound ones.

1. A store whose handles in one process share a cache that only this process's writes
   clear (fsspec's listings cache is so): the other handle wrote from this process.
2. A deployer that loses the serving slot's traffic when an idle slot takes a new version.
3. A store listing names sorted without regard to case.
4. A HookStore over a store with capabilities did not pickle (the "another handle" check
   was skipped on it, saying the store does not pickle).
5. MemoryStore and CaseFoldingStore took keys with a ``..`` segment, which FsspecStore
   refuses.
6. The source suite's check of time stamps said only ``assert np.False_``.
"""

from __future__ import annotations

import builtins
import os
import pickle
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from modelship import deploy as md
from modelship.errors import StoreError
from modelship.monitor import NoData, Outcome, Samples
from modelship.registry import FsspecStore, LocalBlobs, Store
from modelship.testing import (
    CaseFoldingStore,
    DeployerConformance,
    HookStore,
    InMemoryDeployer,
    MemoryStore,
    MetricSourceConformance,
    SourceCase,
    StoreConformance,
)

# The suite's default reopen: not a public name, imported here, where it is tested.
from modelship.testing._store_suite import _unpickled

stores = StoreConformance()
deployers = DeployerConformance()
sources = MetricSourceConformance()
VERSIONS = ("fraud", "1", "2")
TIMEOUT = 5.0


def _local(tmp_path: Path, name: str = "store") -> FsspecStore:
    return FsspecStore.from_url(str(tmp_path / name))


def _where_another_handle_writes(store: Store) -> str:
    """Where the suite makes the writes of a second handle (the store's pickle) on the
    location of ``store``: "in another process", or in this one and why."""
    # Not a public name: imported here, where it is tested (and only by the tests of it).
    from modelship.testing._store_suite import _writer

    return _writer(store, _unpickled(store), _unpickled)[1]


# --- 1. a cache every handle of a process shares --------------------------------------------

# (location, what, key): the answer. A copy of it is in each forked process.
_PROCESS_CACHE: dict[tuple[str, str, str], Any] = {}


class ProcessCached(HookStore):
    """A local folder whose reads, existence answers and listings are cached for every
    handle of this process on its location, and forgotten on this process's writes only."""

    def _cached(self, what: str, key: str, answer: Callable[[], Any]) -> Any:
        entry = (self.url, what, key)
        if entry not in _PROCESS_CACHE:
            _PROCESS_CACHE[entry] = answer()
        return _PROCESS_CACHE[entry]

    def _forget(self) -> None:
        for entry in [entry for entry in _PROCESS_CACHE if entry[0] == self.url]:
            del _PROCESS_CACHE[entry]

    def _read_or_none(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                return self.inner.read(key)
            except FileNotFoundError:
                return None

        got: bytes | None = self._cached("read", key, read)
        return got

    def read(self, key: str) -> bytes:
        got = self._read_or_none(key)
        if got is None:
            raise FileNotFoundError(key)
        return got

    def exists(self, key: str) -> bool:
        return self._read_or_none(key) is not None

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        found = {key: self._read_or_none(key) for key in keys}
        return {key: value for key, value in found.items() if value is not None}

    def list(self, prefix: str) -> builtins.list[str]:
        names: builtins.list[str] = self._cached("list", prefix, lambda: self.inner.list(prefix))
        return builtins.list(names)

    def create(self, key: str, data: bytes) -> None:
        self._forget()
        super().create(key, data)

    def replace(self, key: str, data: bytes) -> None:
        self._forget()
        super().replace(key, data)

    def delete(self, key: str) -> None:
        self._forget()
        super().delete(key)


def test_a_cache_the_handles_of_a_process_share_fails_the_another_handle_check(
    tmp_path: Path,
) -> None:
    check = stores.test_a_handle_sees_what_another_handle_on_its_location_wrote
    store = ProcessCached(_local(tmp_path))
    with pytest.raises(AssertionError, match=r"\(in another process\).*a cache outlived"):
        check(store, lambda store: ProcessCached(FsspecStore.from_url(store.url)))


def test_a_cache_the_handles_of_a_process_share_fails_with_the_default_reopen(
    tmp_path: Path,
) -> None:
    check = stores.test_a_handle_sees_what_another_handle_on_its_location_wrote
    with pytest.raises(AssertionError, match="a cache outlived the other handle's writes"):
        check(ProcessCached(_local(tmp_path)), _unpickled)


def test_the_other_handle_writes_from_another_process_where_one_sees_the_keys(
    tmp_path: Path,
) -> None:
    local = _local(tmp_path)
    assert _where_another_handle_writes(local) == "in another process"
    stores.test_a_handle_sees_what_another_handle_on_its_location_wrote(local, _unpickled)


def test_the_other_handle_writes_here_where_no_other_process_sees_the_keys(
    tmp_path: Path,
) -> None:
    memory = FsspecStore.from_url(f"memory://review42-{tmp_path.name}")
    where = _where_another_handle_writes(memory)
    assert where == "in this process: another process does not see its keys"
    stores.test_a_handle_sees_what_another_handle_on_its_location_wrote(memory, _unpickled)
    stores.test_a_handle_sees_what_another_handle_on_its_location_wrote(MemoryStore(), HookStore)


@pytest.mark.s3
def test_the_other_handle_of_a_store_on_s3_writes_from_another_process(
    s3_bucket: dict[str, Any],
) -> None:
    store = FsspecStore.from_url(f"{s3_bucket['url']}review42", **s3_bucket["options"])
    assert _where_another_handle_writes(store) == "in another process"


# --- 1b. a second handle that neither pickles nor survives a fork (an s3fs store) ---------


def _refused_after_a_fork() -> Callable[[str, str], None]:
    """A hook that refuses every call from another process than the one that made it, as
    an s3fs file system does ("not fork-safe"); a closure, so its store does not pickle."""
    made_in = os.getpid()

    def hook(operation: str, key: str) -> None:
        if os.getpid() != made_in:
            raise RuntimeError("This class is not fork-safe")

    return hook


def _fork_unsafe(store: Store) -> HookStore:
    """A handle on the location of ``store`` that does not pickle and that a forked
    process cannot use: what a user's s3fs-backed store with a lock is."""
    return HookStore(FsspecStore.from_url(store.url), before=_refused_after_a_fork())


def test_a_handle_that_neither_pickles_nor_survives_a_fork_is_reopened_in_the_other_process(
    tmp_path: Path,
) -> None:
    check = stores.test_a_handle_sees_what_another_handle_on_its_location_wrote
    store = _fork_unsafe(_local(tmp_path))
    check(store, _fork_unsafe)  # before: "could not create a key in a forked process"


def test_a_process_cache_behind_a_handle_that_does_not_survive_a_fork_is_still_caught(
    tmp_path: Path,
) -> None:
    check = stores.test_a_handle_sees_what_another_handle_on_its_location_wrote

    def reopen(store: Store) -> Store:
        return ProcessCached(FsspecStore.from_url(store.url), before=_refused_after_a_fork())

    store = reopen(_local(tmp_path))
    with pytest.raises(AssertionError, match=r"\(in another process\).*a cache outlived"):
        check(store, reopen)


def test_writes_are_made_here_saying_so_where_no_handle_can_write_from_a_fork(
    tmp_path: Path,
) -> None:
    check = stores.test_a_handle_sees_what_another_handle_on_its_location_wrote
    store = _fork_unsafe(_local(tmp_path))
    with pytest.warns(UserWarning, match=r"no second handle could write from a forked process"):
        check(store, lambda same: same)  # the handle itself: refused after the fork


@pytest.mark.s3
def test_an_s3_store_with_a_lock_is_reopened_in_the_other_process(
    s3_bucket: dict[str, Any],
) -> None:
    class Locked(HookStore):
        def __init__(self, url: str) -> None:
            super().__init__(FsspecStore.from_url(url, **s3_bucket["options"]))
            self.lock = threading.Lock()  # no pickle: the forked process reopens it

    check = stores.test_a_handle_sees_what_another_handle_on_its_location_wrote
    check(Locked(f"{s3_bucket['url']}review42-locked"), lambda store: Locked(store.url))


# --- 2. replacing an idle slot --------------------------------------------------------------


class RestartsItsRouter(InMemoryDeployer):
    """Replacing a slot's version restarts the router, whose routing table comes back empty."""

    def apply(
        self, slot: str, model: str, version: str, spec: md.DeploymentSpec | None = None
    ) -> None:
        replacing = self.state().slot(slot) is not None
        super().apply(slot, model, version, spec)
        if replacing:
            self.set_traffic({})


class ForgetsRoutesOnceReady(InMemoryDeployer):
    """A replaced slot, once ready, is added to the router by rewriting its table, empty."""

    def __init__(self) -> None:
        super().__init__()
        self.replaced: set[str] = set()

    def apply(
        self, slot: str, model: str, version: str, spec: md.DeploymentSpec | None = None
    ) -> None:
        if self.state().slot(slot) is not None:
            self.replaced.add(slot)
        super().apply(slot, model, version, spec)

    def wait_ready(self, slot: str, timeout: float) -> bool:
        ready = super().wait_ready(slot, timeout)
        if ready and slot in self.replaced:
            self.set_traffic({})
        return ready


def test_a_deployer_that_drops_traffic_when_an_idle_slot_is_replaced_fails() -> None:
    check = deployers.test_replacing_an_idle_slot_leaves_the_traffic_of_the_others_unchanged
    with pytest.raises(AssertionError, match="replacing idle blue's 1 with 2 moved traffic"):
        check(RestartsItsRouter(), VERSIONS, TIMEOUT)


def test_a_deployer_that_drops_traffic_once_the_replaced_slot_is_ready_fails() -> None:
    check = deployers.test_replacing_an_idle_slot_leaves_the_traffic_of_the_others_unchanged
    with pytest.raises(AssertionError, match=r"once blue \(2, replacing 1\) was ready"):
        check(ForgetsRoutesOnceReady(), VERSIONS, TIMEOUT)


def test_the_in_memory_deployer_keeps_the_traffic_when_an_idle_slot_is_replaced() -> None:
    check = deployers.test_replacing_an_idle_slot_leaves_the_traffic_of_the_others_unchanged
    check(InMemoryDeployer(startup_seconds=1.0), VERSIONS, TIMEOUT)


# --- 3. names sorted as Python sorts strings ------------------------------------------------


class SortsIgnoringCase(MemoryStore):
    """list() sorts its names without regard to case: "_x", "a.json", "B"."""

    def list(self, prefix: str) -> builtins.list[str]:
        return sorted(super().list(prefix), key=str.lower)


def test_a_listing_sorted_without_regard_to_case_fails() -> None:
    with pytest.raises(AssertionError, match=r"not sorted.*by code point"):
        stores.test_list_names_direct_children_sorted(SortsIgnoringCase())


@pytest.mark.parametrize("make", [MemoryStore, CaseFoldingStore], ids=lambda m: m.__name__)
def test_the_doubles_list_names_sorted_as_python_sorts_strings(make: Callable[[], Store]) -> None:
    stores.test_list_names_direct_children_sorted(make())


def test_a_local_folder_lists_names_sorted_as_python_sorts_strings(tmp_path: Path) -> None:
    stores.test_list_names_direct_children_sorted(_local(tmp_path))


# --- 4. a HookStore pickles -----------------------------------------------------------------


def _count(operation: str, key: str) -> None:
    """A hook that pickles (a function at a module's top level)."""


def test_a_hook_store_over_a_store_with_capabilities_pickles_with_its_hooks(
    tmp_path: Path,
) -> None:
    store = HookStore(_local(tmp_path), before=_count)
    store.create("k", b"1")
    again = pickle.loads(pickle.dumps(store))
    assert type(again) is type(store)
    assert isinstance(again, LocalBlobs)
    assert (again.url, again.before, again.before_create) == (store.url, _count, None)
    assert again.read("k") == b"1"
    subclassed = ProcessCached(_local(tmp_path))  # a subclass pickles too
    cached = pickle.loads(pickle.dumps(subclassed))
    assert type(cached) is type(subclassed)
    assert isinstance(cached, ProcessCached)
    assert isinstance(cached, LocalBlobs)
    assert cached.read("k") == b"1"


def test_a_hook_store_whose_hook_does_not_pickle_says_which_hook() -> None:
    store = HookStore(FsspecStore.from_url("memory://review42-hook"), before_create=print)
    pickle.loads(pickle.dumps(store))  # a builtin pickles
    store.before = lambda operation, key: None
    with pytest.raises(pickle.PicklingError, match="its hook before=<function"):
        pickle.dumps(store)


def test_the_another_handle_check_runs_on_a_hook_store_over_a_local_folder(
    tmp_path: Path,
) -> None:
    check = stores.test_a_handle_sees_what_another_handle_on_its_location_wrote
    try:
        check(HookStore(_local(tmp_path)), _unpickled)
    except pytest.skip.Exception as exc:
        pytest.fail(f"the check was skipped: {exc}")


# --- 5. keys with a ".." segment --------------------------------------------------------------


def _calls(store: Store, key: str) -> dict[str, Callable[[], object]]:
    def publish() -> object:
        writer = store.blob_writer()
        writer.write(b"blob")
        return writer.publish(key)

    return {
        "read": lambda: store.read(key),
        "read_many": lambda: store.read_many(["ok", key]),
        "exists": lambda: store.exists(key),
        "create": lambda: store.create(key, b"1"),
        "replace": lambda: store.replace(key, b"1"),
        "delete": lambda: store.delete(key),
        "list": lambda: store.list(key),
        "open_blob": lambda: store.open_blob(key),
        "size": lambda: store.size(key),
        "modified": lambda: store.modified(key),
        "publish": publish,
    }


@pytest.mark.parametrize("key", ["../x", "a/../b", "a/..", ".."])
@pytest.mark.parametrize(
    "make",
    [MemoryStore, CaseFoldingStore, lambda: HookStore(MemoryStore()), "local"],
    ids=["MemoryStore", "CaseFoldingStore", "HookStore", "FsspecStore-local"],
)
def test_a_key_with_a_dot_dot_segment_is_refused_as_fsspec_store_refuses_it(
    make: Callable[[], Store] | str, key: str, tmp_path: Path
) -> None:
    store = _local(tmp_path) if make == "local" else make()  # type: ignore[operator]
    answered, refused = {}, {}
    for name, call in _calls(store, key).items():
        try:
            answered[name] = repr(call())
        except StoreError as exc:
            refused[name] = str(exc)
    assert not answered, f"{type(store).__name__} took {key!r}: {answered}"
    unclear = {name: why for name, why in refused.items() if "'..' segment" not in why}
    assert not unclear, f"refused {key!r} without naming its '..' segment: {unclear}"


@pytest.mark.parametrize("make", [MemoryStore, CaseFoldingStore], ids=lambda m: m.__name__)
def test_a_name_that_only_begins_with_two_dots_is_a_key(make: Callable[[], Store]) -> None:
    store = make()
    store.create("a/..b", b"1")
    assert store.read("a/..b") == b"1"
    assert store.list("a") == ["..b"]


# --- 6. the time stamps of samples --------------------------------------------------------


class Backwards:
    """Answers kpi for canary at 10, 20 and 30 s, newest first, or ``stamps`` as given."""

    def __init__(self, stamps: tuple[float, ...] = (30.0, 20.0, 10.0)) -> None:
        self.stamps = stamps

    def now(self) -> float:
        return 100.0

    def fetch(
        self, metric: str, *, slot: str, start: float, end: float, stat: str | None = None
    ) -> Outcome:
        if (metric, slot) != ("kpi", "canary"):
            return NoData(metric, slot, start=start, end=end, stat=stat, reason="none stored")
        values = [1.0] * len(self.stamps)
        return Samples(metric, slot, values, list(self.stamps), start=start, end=end)


def _case(source: Backwards) -> SourceCase:
    return SourceCase(source, "kpi", "canary", start=0.0, end=60.0, real_clock=False)


def test_time_stamps_out_of_order_fail_saying_so() -> None:
    with pytest.raises(AssertionError, match=r"not ascending: 30.0 comes before 20.0"):
        sources.test_timestamps_are_ascending_and_inside_the_window(_case(Backwards()))


@pytest.mark.parametrize("stamps", [(0.0, 10.0), (10.0, 61.0)], ids=["at-start", "after-end"])
def test_time_stamps_outside_the_window_fail_saying_so(stamps: tuple[float, ...]) -> None:
    with pytest.raises(AssertionError, match=r"outside the window \(0.0, 60.0\]"):
        sources.test_timestamps_are_ascending_and_inside_the_window(_case(Backwards(stamps)))


def test_time_stamps_ascending_inside_the_window_pass() -> None:
    sources.test_timestamps_are_ascending_and_inside_the_window(_case(Backwards((10.0, 60.0))))
