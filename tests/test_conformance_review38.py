"""Review 38 of the seams: implementations that passed the conformance suites, though the
registry, the strategies or canary analysis then went wrong on them, now fail them; the
built-in ones still pass. Each broken implementation breaks one promise, as the
reviewer's did; each test runs the suite's own check against it (as users' CI does).

Also: copy_registry refuses to commit a blob the destination stored wrong, and the
``modelship.registries`` entry points can neither take over modelship's own schemes nor
fail with a bare exception.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import modelship as ms
from modelship import deploy as md
from modelship.monitor import InMemorySource, NoData, Samples
from modelship.registry import Store
from modelship.testing import (
    DeployerConformance,
    InMemoryDeployer,
    MemoryStore,
    MetricSourceConformance,
    RegistryConformance,
    SourceCase,
    StoreConformance,
)
from modelship.testing._doubles import _MemoryBlobWriter

NEVER = "3"  # the version whose server crashes at start
VERSIONS = ("fraud", "1", "2")
deployers = DeployerConformance()
stores = StoreConformance()
registries = RegistryConformance()
sources = MetricSourceConformance()


# --- deployers ----------------------------------------------------------------------------


class Honest:
    """Keeps every rule of the Deployer protocol; version 3 never becomes ready."""

    capabilities = md.DeployerCapabilities(exact_weights=True, max_slots=2)
    registry = None

    def __init__(self) -> None:
        self.slots: dict[str, tuple[str, str]] = {}
        self.traffic: dict[str, int] = {}
        self.ready: dict[str, bool] = {}
        self.lock = threading.Lock()

    def get(self, slot: str) -> tuple[str, str]:
        if slot not in self.slots:
            raise md.SlotNotFound(f"no slot {slot!r}")
        return self.slots[slot]

    def readiness_after_apply(self, slot: str, version: str) -> bool:
        return version != NEVER

    def check_room(self, slot: str) -> None:
        if slot not in self.slots and len(self.slots) >= self.capabilities.max_slots:
            raise ms.ConfigError(f"slots {sorted(self.slots)} run; remove one first")

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        with self.lock:
            if self.traffic.get(slot, 0) > 0:
                raise md.SlotInUse(f"slot {slot!r} receives traffic; move it first")
            self.check_room(slot)
            self.ready[slot] = self.readiness_after_apply(slot, version)
            self.slots[slot] = (model, version)
            self.traffic[slot] = 0

    def wait_ready(self, slot: str, timeout: float) -> bool:
        self.get(slot)
        return self.ready[slot]

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        checked = md.check_weights(weights)
        with self.lock:
            for slot in checked:
                self.get(slot)
            self.traffic = {slot: checked.get(slot, 0) for slot in self.slots}

    def health(self, slot: str) -> md.SlotHealth:
        self.get(slot)
        return md.SlotHealth(self.ready[slot], "ok" if self.ready[slot] else "crashed")

    def remove(self, slot: str) -> None:
        with self.lock:
            if self.traffic.get(slot, 0) > 0:
                raise md.SlotInUse(f"slot {slot!r} receives traffic; move it first")
            for kept in (self.slots, self.traffic, self.ready):
                kept.pop(slot, None)

    def state(self) -> md.DeployerState:
        with self.lock:
            return md.DeployerState(
                tuple(
                    md.SlotState(s, m, v, self.traffic.get(s, 0), self.ready[s])
                    for s, (m, v) in sorted(self.slots.items())
                )
            )


class StaleReadiness(Honest):
    """ "Ready" is "some pod of the slot is ready": during an in-place rolling update the
    old version's pod still is, so a slot once ready stays ready across apply."""

    def readiness_after_apply(self, slot: str, version: str) -> bool:
        return self.ready.get(slot, False) or version != NEVER


class NoSlotLimit(Honest):
    """Declares max_slots=2 and starts any number of slots."""

    def check_room(self, slot: str) -> None:
        pass


def test_a_never_ready_version_over_a_ready_one_fails_a_deployer_whose_readiness_carries_over() -> (
    None
):
    with pytest.raises(AssertionError, match="carried over"):
        deployers.test_a_version_that_never_becomes_ready_over_a_ready_one_is_not_ready(
            StaleReadiness(), VERSIONS, 5.0, NEVER
        )
    deployers.test_a_version_that_never_becomes_ready_over_a_ready_one_is_not_ready(
        Honest(), VERSIONS, 5.0, NEVER
    )


def test_blue_green_into_a_slot_that_was_ready_fails_a_deployer_whose_readiness_carries_over() -> (
    None
):
    check = deployers.test_blue_green_to_a_version_that_never_becomes_ready_aborts_and_keeps_serving
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        check(StaleReadiness(), VERSIONS, 5.0, NEVER, 2)
    check(Honest(), VERSIONS, 5.0, NEVER, 2)
    with pytest.raises(pytest.skip.Exception, match="never_ready fixture"):
        check(Honest(), VERSIONS, 5.0, None, 2)


def test_a_slot_beyond_max_slots_fails_a_deployer_that_starts_it() -> None:
    check = deployers.test_a_slot_beyond_max_slots_is_refused_with_a_config_error
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        check(NoSlotLimit(), VERSIONS)
    check(Honest(), VERSIONS)
    check(InMemoryDeployer(), VERSIONS)


def test_the_example_deployer_refuses_a_third_slot(tmp_path: Path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "custom_deployer.py"
    spec = importlib.util.spec_from_file_location("custom_deployer_review38", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register(model_name="scorer", model=np.array([1.0, 0.0]))
    dep = module.InProcessDeployer(reg)
    dep.apply("blue", "scorer", "1")
    dep.apply("green", "scorer", "1")
    with pytest.raises(ms.ConfigError, match="remove one"):
        dep.apply("third", "scorer", "1")
    dep.apply("blue", "scorer", "1")  # a slot that runs takes a version again
    assert [s.slot for s in dep.state().slots] == ["blue", "green"]


# --- stores -------------------------------------------------------------------------------


class _KeepingWriter(_MemoryBlobWriter):
    """Keeps the buffers it is handed (no copy) and joins them at publish."""

    def __init__(self, store: MemoryStore, callback: Any) -> None:
        super().__init__(store, callback)
        self._parts: list[bytes | memoryview] = []

    def write(self, data: bytes | memoryview) -> int:
        self._staged()
        self._parts.append(data)
        return len(data)

    def publish(self, key: str) -> bool:
        self._buffer = bytearray(b"".join(self._parts))
        self._parts = []
        return super().publish(key)


class KeepsChunks(MemoryStore):
    def blob_writer(self, callback: Any = None) -> Any:
        return _KeepingWriter(self, callback)


class ReadManyTwice(MemoryStore):
    """Walks ``keys`` twice: fine for a list, {} for a generator."""

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        present = {k for k in keys if self.exists(k)}
        return {k: self.read(k) for k in keys if k in present}


class _ReplacingWriter(_MemoryBlobWriter):
    def publish_over(self, key: str) -> None:
        data = bytes(self._staged())
        self._buffer = None
        with self._store._lock:
            self._store._put(key, data)


class ReplacingStore(MemoryStore):
    """A MemoryStore whose blob writers can publish over a blob in one step."""

    def blob_writer(self, callback: Any = None) -> Any:
        return _ReplacingWriter(self, callback)


class StaleOpenBlob(ReplacingStore):
    """open_blob caches blobs (content-addressed, after all); publish_over never
    invalidates the cache."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[str, bytes] = {}

    def open_blob(self, key: str) -> Any:
        if key not in self._cache:
            self._cache[key] = self.read(key)
        return io.BytesIO(self._cache[key])


class _InPlaceWriter(_MemoryBlobWriter):
    def publish(self, key: str) -> bool:
        data = bytes(self._staged())
        self._buffer = None
        store = self._store
        with store._lock:
            if key not in store._data:
                store._put(key, data)
                return True
            store._data[key] = (b"", time.time())  # an existing key: truncated, then ...
        for i in range(0, len(data), 1 << 20):  # ... written again 1 MiB at a time
            with store._lock:
                old = store._data[key][0]
                store._data[key] = (old + data[i : i + (1 << 20)], time.time())
            time.sleep(0.001)
        return False


class PublishInPlace(MemoryStore):
    def blob_writer(self, callback: Any = None) -> Any:
        return _InPlaceWriter(self, callback)


def test_a_blob_writer_that_keeps_its_buffers_fails_the_store_suite() -> None:
    check = stores.test_a_blob_writer_takes_the_bytes_of_a_buffer_reused_after_each_write
    with pytest.raises(AssertionError, match="kept the buffer"):
        check(KeepsChunks())
    check(MemoryStore())


def test_a_blob_writer_that_keeps_its_buffers_fails_the_registry_suite() -> None:
    def make(store: Callable[[], Store]) -> Callable[..., ms.Registry]:
        return lambda **options: ms.Registry(store(), **options)

    check = registries.test_copy_registry_stores_each_chunk_of_a_large_artifact
    with pytest.raises(pytest.fail.Exception, match="did not store the bytes it was given"):
        check(make(KeepsChunks))
    check(make(MemoryStore))


def test_copy_registry_commits_nothing_whose_blob_the_destination_stored_wrong() -> None:
    src = ms.open_registry("memory://review38-keeps-chunks-src")
    model = np.arange(3_000_000, dtype=np.float64)  # ~24 MB: three chunks
    src.register(model_name="m", model=model)
    dst = ms.Registry(KeepsChunks())
    with pytest.raises(ms.IntegrityError, match="did not store the bytes it was given"):
        ms.copy_registry(src, dst)
    assert dst.models() == []
    good = ms.Registry(MemoryStore())
    ms.copy_registry(src, good)
    np.testing.assert_array_equal(good.load("m"), model)


def test_read_many_walking_its_keys_twice_fails_the_store_suite() -> None:
    with pytest.raises(AssertionError, match="generator"):
        stores.test_read_many_takes_keys_from_a_generator(ReadManyTwice())
    stores.test_read_many_takes_keys_from_a_generator(MemoryStore())


def test_an_open_blob_cache_that_outlives_publish_over_fails_the_store_suite() -> None:
    check = stores.test_a_writer_that_replaces_blobs_puts_its_bytes_over_the_stored_ones
    with pytest.raises(AssertionError, match="must not outlive publish_over"):
        check(StaleOpenBlob())
    check(ReplacingStore())


def test_a_publish_that_rewrites_an_existing_key_in_place_fails_the_store_suite() -> None:
    check = stores.test_a_reader_of_a_blob_sees_it_whole_while_it_is_published_again
    with pytest.raises(AssertionError, match="rewrote it"):
        check(PublishInPlace())
    check(MemoryStore())


class _Folder:
    """The part of a store the process race uses: a folder, created by a link."""

    exclusive_creates = True

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()

    def _path(self, key: str) -> Path:
        return self.root / key.replace("/", "__")

    def _aside(self, data: bytes) -> Path:
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.write_bytes(data)
        return tmp

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def create(self, key: str, data: bytes) -> None:
        tmp = self._aside(data)
        try:
            os.link(tmp, self._path(key))
        finally:
            tmp.unlink()


class _ThreadLockedFolder(_Folder):
    """create checks, then writes, under a lock of this process only: atomic among its
    threads, not against other processes."""

    _lock = threading.Lock()

    def create(self, key: str, data: bytes) -> None:
        with self._lock:
            if self.exists(key):
                raise FileExistsError(key)
            os.replace(self._aside(data), self._path(key))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the process race forks (POSIX)")
def test_a_store_atomic_only_among_threads_fails_the_process_race(tmp_path: Path) -> None:
    check: Any = stores.test_creates_racing_from_processes_have_exactly_one_winner
    with pytest.raises(AssertionError, match="not atomic against other processes"):
        check(_ThreadLockedFolder(tmp_path / "broken"), True, 8)
    check(_Folder(tmp_path / "sound"), True, 8)


# --- metric sources -----------------------------------------------------------------------


def _backing() -> InMemorySource:
    src = InMemorySource(now=1000.0)
    src.add(
        "kpi",
        slot="canary",
        values=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        timestamps=[10, 20, 30, 40, 50, 60],
    )
    src.add("kpi", slot="stable", values=[100.0, 200.0, 300.0], timestamps=[15, 25, 35])
    return src


class CacheIgnoringSlot:
    """Caches answers by (metric, start, end), leaving the slot out of the key."""

    def __init__(self, inner: InMemorySource) -> None:
        self.inner, self.cache = inner, {}  # type: ignore[var-annotated]

    def now(self) -> float:
        return self.inner.now()

    def fetch(self, metric: str, *, slot: str, start: float, end: float, stat: Any = None) -> Any:
        key = (metric, start, end)
        if key not in self.cache:
            self.cache[key] = self.inner.fetch(metric, slot=slot, start=start, end=end, stat=stat)
        return attrs.evolve(self.cache[key], slot=slot)


class CacheByStart:
    """Caches the first answer by (metric, slot, start) and cuts it to each later end."""

    def __init__(self, inner: InMemorySource) -> None:
        self.inner, self.cache = inner, {}  # type: ignore[var-annotated]

    def now(self) -> float:
        return self.inner.now()

    def fetch(self, metric: str, *, slot: str, start: float, end: float, stat: Any = None) -> Any:
        key = (metric, slot, start)
        if key not in self.cache:
            self.cache[key] = self.inner.fetch(metric, slot=slot, start=start, end=end, stat=stat)
        out = self.cache[key]
        if not isinstance(out, Samples):
            return attrs.evolve(out, end=end)
        keep = out.timestamps <= end
        if not keep.any():
            return NoData(metric, slot, start=start, end=end, reason="no values")
        return attrs.evolve(out, values=out.values[keep], timestamps=out.timestamps[keep], end=end)


def _case(source: Any) -> SourceCase:
    return SourceCase(source, "kpi", "canary", start=0.0, end=60.0, real_clock=False)


def test_a_source_whose_cache_ignores_the_slot_fails_the_source_suite() -> None:
    check = (
        sources.test_after_the_cases_answer_an_empty_slot_and_an_unknown_metric_are_still_no_data
    )
    with pytest.raises(AssertionError, match="slot left out of a cache"):
        check(_case(CacheIgnoringSlot(_backing())))
    check(_case(_backing()))


def test_a_source_whose_cache_is_keyed_by_the_start_fails_the_source_suite() -> None:
    check = sources.test_a_longer_window_with_the_same_start_holds_the_values_after_the_shorter
    with pytest.raises(AssertionError, match="keyed by the window's start"):
        check(_case(CacheByStart(_backing())))
    check(_case(_backing()))


# --- registry plugins ---------------------------------------------------------------------


def _run_with_plugins(tmp_path: Path, entry_points: str, module: str, code: str) -> str:
    """Run ``code`` in a new interpreter that has a package ``review38plug`` installed."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "review38_mod.py").write_text(textwrap.dedent(module))
    info = site / "review38plug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: review38plug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    env = dict(os.environ)
    # The modelship this test imported first, then the package, then the rest.
    here = str(Path(ms.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([here, str(site), *sys.path])
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


_PLUGINS = """
    [modelship.registries]
    file = review38_mod:open_store
    memory = review38_mod:open_store
    s3 = review38_mod:open_store
    boom = review38_mod:raises_value_error
    diskfail = review38_mod:raises_os_error
    refuses = review38_mod:raises_config_error
    echo = review38_mod:echoes_options
"""
_MODULE = """
    import modelship as ms
    from modelship.testing import MemoryStore

    def open_store(url, **options):
        return MemoryStore("hijacked://" + url)

    def raises_value_error(url, **options):
        raise ValueError("cannot parse " + url + " (tried https://svc:hunter2@api.example)")

    def raises_os_error(url, **options):
        raise PermissionError(13, "Permission denied", url)

    def raises_config_error(url, **options):
        raise ms.ConfigError("the plugin's own message")

    def echoes_options(url, **options):
        raise ValueError(f"login refused for {options}")
"""


def test_a_plugin_cannot_take_over_modelships_own_schemes(tmp_path: Path) -> None:
    out = _run_with_plugins(
        tmp_path,
        _PLUGINS,
        _MODULE,
        f"""
        import modelship as ms
        for url in ({str(tmp_path / "reg")!r}, "file://{tmp_path}/reg2", "memory://r38"):
            print(type(ms.open_registry(url).store).__name__)
        """,
    )
    assert "MemoryStore" not in out.split("Warning")[-1]
    assert out.count("FsspecStore") == 3, out
    assert "entry point 'file' ('review38_mod:open_store' from review38plug) is ignored" in out
    assert "entry point 'memory' ('review38_mod:open_store' from review38plug) is ignored" in out


def test_a_plugin_that_raises_is_an_error_naming_it(tmp_path: Path) -> None:
    out = _run_with_plugins(
        tmp_path,
        _PLUGINS,
        _MODULE,
        """
        import modelship as ms
        for url in ("boom://x", "diskfail://x", "refuses://x", "echo://x"):
            try:
                options = {"password": "hunter2", "client_kwargs": {"token": "s3cr3t-t0k"}}
                ms.open_registry(url, **(options if url == "echo://x" else {}))
            except Exception as exc:
                print(url, "|", type(exc).__name__, type(exc.__cause__).__name__, "|", exc)
        """,
    )
    lines = dict(line.split(" | ", 1) for line in out.splitlines() if " | " in line)
    # The plugin's exception held a credential, so it is not chained (a traceback would
    # print it): the message names its type.
    assert lines["boom://x"].startswith(
        "ConfigError NoneType | the 'modelship.registries' entry point 'boom' "
        "('review38_mod:raises_value_error' from review38plug) failed to open boom://x"
    )
    assert "cannot parse boom://x" in lines["boom://x"]
    # The plugin's own text goes through the same masking as the URL: no password shown.
    assert "hunter2" not in lines["boom://x"]
    assert "https://***@api.example" in lines["boom://x"]
    assert lines["diskfail://x"].startswith("StoreError PermissionError | ")
    assert "'diskfail' ('review38_mod:raises_os_error' from review38plug)" in lines["diskfail://x"]
    assert "Permission denied" in lines["diskfail://x"]
    # A modelship error the plugin raises is its own word: passed unchanged.
    assert lines["refuses://x"] == "ConfigError NoneType | the plugin's own message"
    # Option values the plugin echoes are masked too, nested ones (client_kwargs) included,
    # and the cause holding them is not chained; a cause that hid nothing stays chained
    # (diskfail's PermissionError above).
    assert lines["echo://x"].startswith("ConfigError NoneType | ")
    assert "hunter2" not in lines["echo://x"]
    assert "s3cr3t-t0k" not in lines["echo://x"]
    assert "ValueError: login refused for {'password': '***'" in lines["echo://x"]
    assert lines["diskfail://x"].startswith("StoreError PermissionError | ")
