"""The conformance suites fail a broken store or deployer clearly, instead of hanging or
blaming the wrong contract (review 55f).

Each broken implementation here breaks one promise; each test runs the suite's check
that must catch it, directly, and looks for the message naming that promise. A correct
store (MemoryStore) passes the same checks.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pytest

from modelship import deploy as md
from modelship.testing import (
    DeployerConformance,
    Fault,
    FaultEffect,
    InMemoryDeployer,
    MemoryStore,
    StoreConformance,
)
from modelship.testing import _deployer_suite as deployer_suite
from modelship.testing import _store_suite as store_suite
from modelship.testing._store_suite import _Reader

ROOT = Path(__file__).resolve().parents[1]
Failed = pytest.fail.Exception
MIB = 1 << 20


# --- stores ---------------------------------------------------------------------------


class TruncatedRead(MemoryStore):
    """read answers one 1 MiB response chunk only."""

    def read(self, key: str) -> bytes:
        return super().read(key)[:MIB]


class TruncatedBlob(MemoryStore):
    """open_blob's stream stops after 1 MiB (a dropped download read as EOF)."""

    def open_blob(self, key: str) -> IO[bytes]:
        with super().open_blob(key) as f:
            return io.BytesIO(f.read(MIB))


class FlippedByte(MemoryStore):
    """read answers every byte, one of them wrong."""

    def read(self, key: str) -> bytes:
        data = bytearray(super().read(key))
        if len(data) > MIB:
            data[MIB] ^= 0xFF
        return bytes(data)


class KeyErrorMissing(MemoryStore):
    """every read of a missing key raises KeyError (a dict-backed client)."""

    def read(self, key: str) -> bytes:
        if not self.exists(key):
            raise KeyError(key)
        return super().read(key)

    def open_blob(self, key: str) -> IO[bytes]:
        if not self.exists(key):
            raise KeyError(key)
        return super().open_blob(key)

    def size(self, key: str) -> int:
        if not self.exists(key):
            raise KeyError(key)
        return super().size(key)

    def modified(self, key: str) -> float:
        if not self.exists(key):
            raise KeyError(key)
        return super().modified(key)


class KeyErrorSize(MemoryStore):
    """only size() of a missing key raises KeyError."""

    def size(self, key: str) -> int:
        try:
            return super().size(key)
        except FileNotFoundError:
            raise KeyError(key) from None


class Lagging(MemoryStore):
    """A key reads as missing until 50 ms after a read first found it there, and reads
    answer 1 MiB of it: a race that deletes each key at once never reads one."""

    def __init__(self) -> None:
        super().__init__()
        self._since: dict[str, float] = {}

    def _visible(self, key: str) -> None:
        if not self.exists(key):
            raise FileNotFoundError(key)
        since = self._since.setdefault(key, time.monotonic())
        if time.monotonic() - since < 0.05:
            raise FileNotFoundError(key)

    def delete(self, key: str) -> None:
        super().delete(key)
        self._since.pop(key, None)

    def read(self, key: str) -> bytes:
        self._visible(key)
        return super().read(key)[:MIB]

    def open_blob(self, key: str) -> IO[bytes]:
        self._visible(key)
        with super().open_blob(key) as f:
            return io.BytesIO(f.read(MIB))


SUITE = StoreConformance()


@pytest.mark.parametrize(
    ("store", "message"),
    [
        (TruncatedRead(), r"after create of 4194304 bytes, read\('whole/document'\) answered "),
        (TruncatedBlob(), r"open_blob\('whole/document'\) answered 1048576 of 4194304 bytes"),
        (FlippedByte(), r"read\('whole/document'\) answered different bytes .*at byte 1048576"),
    ],
    ids=["truncated-read", "truncated-blob", "flipped-byte"],
)
def test_a_value_that_reads_back_short_or_wrong_fails_plainly(store: Any, message: str) -> None:
    with pytest.raises(Failed, match=message):
        SUITE.test_a_value_of_several_mib_reads_back_whole(store)


def test_a_value_of_several_mib_reads_back_whole_from_a_correct_store() -> None:
    SUITE.test_a_value_of_several_mib_reads_back_whole(MemoryStore())


NOT_KEY_ERROR = "a missing key must raise FileNotFoundError, not KeyError"


@pytest.mark.parametrize(
    ("store", "check"),
    [
        (KeyErrorMissing(), "test_missing_key_reads_raise_file_not_found"),
        (KeyErrorMissing(), "test_a_folder_is_no_document"),
        (KeyErrorMissing(), "test_a_reader_sees_a_created_document_missing_or_whole_never_part"),
        (KeyErrorMissing(), "test_a_reader_never_sees_part_of_a_blob_being_published"),
        (KeyErrorSize(), "test_missing_key_reads_raise_file_not_found"),
        (KeyErrorSize(), "test_size_and_modified_of_a_key"),
    ],
)
def test_a_missing_key_that_raises_key_error_is_named_so(store: Any, check: str) -> None:
    with pytest.raises(Failed, match=NOT_KEY_ERROR):
        getattr(SUITE, check)(store)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            "test_a_reader_sees_a_created_document_missing_or_whole_never_part",
            "create is not all at once: a reader saw 1048576 bytes",
        ),
        (
            "test_a_reader_never_sees_part_of_a_blob_being_published",
            "publish is not all at once: a reader saw 1048576 bytes",
        ),
    ],
)
def test_a_race_keeps_each_key_until_a_read_found_it(check: str, message: str) -> None:
    # Lagging deletes nothing early, but its keys read as missing at first: a race that
    # deleted each key at once passed it having read no key at all.
    with pytest.raises(AssertionError, match=message):
        getattr(SUITE, check)(Lagging())


@pytest.mark.parametrize(
    "check",
    [
        "test_missing_key_reads_raise_file_not_found",
        "test_size_and_modified_of_a_key",
        "test_a_folder_is_no_document",
        "test_a_reader_sees_a_created_document_missing_or_whole_never_part",
        "test_a_reader_never_sees_part_of_a_blob_being_published",
    ],
)
def test_a_correct_store_passes_the_checks(check: str) -> None:
    getattr(SUITE, check)(MemoryStore())


def _raise_key_error() -> bytes:
    raise KeyError("created/0")


def test_a_reader_counts_the_read_that_raised() -> None:
    reader = _Reader(_raise_key_error, b"x", missing_ok=True)
    with reader.running():
        pass
    assert reader.verdict("create is not all at once") == (
        "create is not all at once: a reader saw a read raised KeyError: 'created/0' (1 of 1 reads)"
    )


def test_a_reader_names_a_missing_key_that_raised_something_else() -> None:
    reader = _Reader(_raise_key_error, b"x", missing_ok=True, missing=lambda: True)
    with reader.running():
        pass
    verdict = reader.verdict("create is not all at once")
    assert verdict.startswith("a read of a missing key raised KeyError: 'created/0': a missing")
    assert "must raise FileNotFoundError" in verdict
    assert "all at once" not in verdict


def test_a_reader_that_found_the_key_says_so_when_it_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slow store: its first read found the key, the read in flight when create returned
    # outlasts the bound. The failure must not say every read answered FileNotFoundError.
    monkeypatch.setattr(store_suite, "_SEEN_SECONDS", 0.3)
    answers = iter([b"x"])

    def read() -> bytes:
        try:
            return next(answers)
        except StopIteration:
            time.sleep(0.5)
            raise FileNotFoundError("created/0") from None

    reader = _Reader(read, b"x", missing_ok=True)
    with reader.running(), pytest.raises(Failed) as failed:
        reader.sees("create('created/0') returned")
    message = str(failed.value)
    assert "each answered FileNotFoundError" not in message
    assert "1 of all 1 reads that ended found the key" in message
    assert "within 0.3 s (time for the read in flight then to end and a new one" in message


# --- deployers ------------------------------------------------------------------------


class Stuck:
    """A deployer whose wait_ready (or apply) ignores its timeout: it waits 15 s (or
    until ``release``, set when the test ends), then answers False."""

    capabilities = md.DeployerCapabilities(exact_weights=True, max_slots=2)
    registry = None

    def __init__(self, stuck: str, raises: BaseException | None = None) -> None:
        self.stuck = stuck
        self.raises = raises
        self.release = threading.Event()
        self.slots: dict[str, tuple[str, str]] = {}

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        if self.stuck == "apply":
            self.release.wait(15)
        if self.raises is not None and self.stuck == "apply-raises":
            raise self.raises
        self.slots[slot] = (model, version)

    def wait_ready(self, slot: str, timeout: float) -> bool:
        if self.stuck == "wait_ready":
            self.release.wait(15)
        if self.raises is not None and self.stuck == "wait-raises":
            raise self.raises
        return False

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        raise NotImplementedError

    def health(self, slot: str) -> md.SlotHealth:
        return md.SlotHealth(False, "never ready")

    def remove(self, slot: str) -> None:
        self.slots.pop(slot, None)

    def state(self) -> md.DeployerState:
        return md.DeployerState(
            tuple(md.SlotState(s, m, v, 0, False) for s, (m, v) in sorted(self.slots.items()))
        )


@pytest.fixture
def short_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deployer_suite, "_NOT_READY_OVERRUN", 0.5)
    # (raising=False: a suite without a limit on apply has no such name, and hangs.)
    monkeypatch.setattr(deployer_suite, "_APPLY_LIMIT", 0.5, raising=False)


@pytest.fixture
def stuck_on(request: pytest.FixtureRequest) -> Iterator[Stuck]:
    dep = Stuck(request.param)
    yield dep
    dep.release.set()


@pytest.mark.usefixtures("short_limits")
@pytest.mark.parametrize(
    ("stuck_on", "message"),
    [
        (
            "wait_ready",
            r"wait_ready\('blue', timeout=1\) did not return within 1 \+ 0.5 s: it must "
            "answer False in time for a version that never becomes ready",
        ),
        (
            "apply",
            r"apply\('blue', 'fraud', '3'\) of a version that never becomes ready did not "
            r"return within 0.5 s: apply must start the version and return",
        ),
    ],
    indirect=["stuck_on"],
)
def test_a_call_that_ignores_its_timeout_fails_the_suite_in_time(
    stuck_on: Stuck, message: str
) -> None:
    began = time.monotonic()
    with pytest.raises(Failed, match=message):
        DeployerConformance.start_never_ready_timed(stuck_on, "blue", "fraud", "3")
    assert time.monotonic() - began < 10, "the suite waited out the stuck call"


@pytest.mark.usefixtures("short_limits")
def test_a_call_that_raises_still_raises_through_the_suite() -> None:
    dep = Stuck("apply-raises", md.SlotInUse("blue receives traffic"))
    with pytest.raises(md.SlotInUse, match="blue receives traffic"):
        DeployerConformance.start_never_ready_timed(dep, "blue", "fraud", "3")
    dep = Stuck("wait-raises", TimeoutError("blue not ready"))
    dep.apply("blue", "fraud", "3")
    with pytest.raises(Failed, match=r"raised TimeoutError: blue not ready; a slot not ready"):
        DeployerConformance.timed_wait(dep, "blue", 0.1)
    assert DeployerConformance.timed_wait(Stuck("nothing"), "blue", 0.1)[0] is False


class ThreadAffine(InMemoryDeployer):
    """A correct deployer bound to the thread that made it (a SIGALRM deadline, an
    sqlite connection): apply and wait_ready note their thread and insist on it."""

    def __init__(self) -> None:
        never = Fault("apply", FaultEffect.KILL, version="3", times=None)
        super().__init__(faults=(never,), startup_seconds=1.0)
        self.owner = threading.get_ident()
        self.threads: list[int] = []

    def _mine(self) -> None:
        self.threads.append(threading.get_ident())
        assert threading.get_ident() == self.owner, "called on another thread"

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        self._mine()
        super().apply(slot, model, version, spec)

    def wait_ready(self, slot: str, timeout: float) -> bool:
        self._mine()
        return super().wait_ready(slot, timeout)


@pytest.mark.parametrize(
    "check",
    [
        "test_wait_ready_answers_false_in_time_for_a_version_that_never_becomes_ready",
        "test_a_version_that_never_becomes_ready_is_not_healthy",
        "test_a_version_that_never_becomes_ready_is_not_ready_in_the_state",
        "test_a_version_that_never_becomes_ready_over_a_ready_one_is_not_ready",
    ],
)
def test_a_thread_affine_deployer_passes_the_never_ready_checks(check: str) -> None:
    dep = ThreadAffine()
    params = {"versions": ("fraud", "1", "2"), "ready_timeout": 60.0, "never_ready": "3"}
    method = getattr(DeployerConformance(), check)
    wanted = method.__code__.co_varnames[1 : method.__code__.co_argcount]
    method(dep, **{name: params[name] for name in wanted if name != "deployer"})
    assert dep.threads, "the check never called apply or wait_ready"
    assert set(dep.threads) == {threading.get_ident()}, "a call ran on another thread"


class CleansUp(Stuck):
    """A Stuck deployer whose stuck apply sleeps (interruptibly) in a try/finally that
    stops what it started, as apply of a server does when it is interrupted."""

    def __init__(self) -> None:
        super().__init__("apply")
        self.running = False
        self.cleaned_up = False
        self.calls: list[int] = []

    def apply(self, slot: str, model: str, version: str, spec: Any = None) -> None:
        self.calls.append(threading.get_ident())
        self.running = True
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not self.release.is_set():
                time.sleep(0.01)
            self.slots[slot] = (model, version)
        finally:
            self.cleaned_up = True
            self.running = False


@pytest.mark.usefixtures("short_limits")
def test_an_overrunning_call_is_interrupted_and_its_clean_up_runs() -> None:
    dep = CleansUp()
    try:
        with pytest.raises(Failed, match=r"apply\('blue', 'fraud', '3'\) .* did not return"):
            DeployerConformance.start_never_ready_timed(dep, "blue", "fraud", "3")
        # At the failure the call has ended, its finally run, on the test's thread: no
        # call is left to land in the next test, or to outlive a Ctrl-C.
        assert (dep.running, dep.cleaned_up) == (False, True), "the call still runs"
        assert dep.calls == [threading.get_ident()]
        assert dep.slots == {}, "the interrupted apply started the slot"
        time.sleep(0.3)  # the watchdog's interrupt was taken: none comes later
    finally:
        dep.release.set()


def test_a_ctrl_c_during_a_bounded_call_is_raised_after_the_call_cleans_up() -> None:
    dep = CleansUp()
    ctrl_c = threading.Timer(0.2, signal.pthread_kill, (threading.get_ident(), signal.SIGINT))
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            deployer_suite._bounded(lambda: dep.apply("blue", "fraud", "3"), 30, "late")
        assert (dep.running, dep.cleaned_up) == (False, True), "the call still runs"
    finally:
        ctrl_c.cancel()
        dep.release.set()


def _swallow_interrupts() -> str:
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(0.01)
    return "late"


def test_a_call_that_swallows_the_interrupt_still_fails_in_time() -> None:
    with pytest.raises(Failed, match="swallowed"):
        deployer_suite._bounded(_swallow_interrupts, 0.2, "swallowed")
    time.sleep(0.3)  # and no interrupt is left pending
    assert deployer_suite._bounded(lambda: "on time", 5, "late") == "on time"


# --- docs/writing-a-deployer.md -------------------------------------------------------


def _suite_snippet() -> str:
    doc = (ROOT / "docs" / "writing-a-deployer.md").read_text(encoding="utf-8")
    section = doc.split("## Proving it conforms", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "no python block under 'Proving it conforms'"
    return found.group(1)


_IN_PROCESS = """\
from custom_deployer import InProcessDeployer


class MyDeployer(InProcessDeployer):  # the snippet's fixture uses it in a with block
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None
"""
_LOCAL = "from modelship.deploy import LocalDeployer as MyDeployer\n"


# The example loads models in apply (no server to crash): the checks of a version that
# never becomes ready are not for it. LocalDeployer passes the whole snippet, but in
# about 3 minutes (43 checks, most starting servers); these start servers (a ready one, a
# crashing one under the bounded calls, two in a rollout and its rollback) in about 25 s.
@pytest.mark.parametrize(
    ("deployer", "selected"),
    [
        (_IN_PROCESS, "version_3 or started_slot or blue_green_deploys or recreate_stops"),
        (
            _LOCAL,
            "version_3 or started_slot or blue_green_deploys or wait_ready_answers_false"
            " or never_becomes_ready_is_not_ready_in_the_state",
        ),
    ],
    ids=["example-in-process", "local-servers"],
)
def test_the_docs_suite_snippet_runs_as_written(
    tmp_path: Path, deployer: str, selected: str
) -> None:
    # The snippet, with MyDeployer the docs' example deployer or LocalDeployer: its
    # fixtures are all defined (my_registry holds fraud 1, 2 and a 3 no server can load).
    snippet = _suite_snippet()
    assert "from my_deployer import MyDeployer" in snippet, (
        "the snippet no longer imports MyDeployer as this test expects"
    )
    checks = """

def test_version_3_cannot_be_loaded(my_registry):
    my_registry.load("fraud", "2")
    with pytest.raises(Exception, match="cannot be loaded"):
        my_registry.load("fraud", "3")
"""
    (tmp_path / "test_snippet.py").write_text(snippet + checks)
    (tmp_path / "my_deployer.py").write_text(deployer)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "examples")]),
    }
    out = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("-k", selected, str(tmp_path / "test_snippet.py")),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"{selected.count(' or ') + 1} passed" in out.stdout, out.stdout[-3000:]


_SWALLOWS_FOR_GOOD = """\
import signal, time
from modelship.testing import _deployer_suite as suite

signal.signal(signal.SIGINT, signal.default_int_handler)  # as a test runner has it
suite._SWALLOWED_GRACE = 1.0


def poll_forever():
    while True:
        try:
            time.sleep(0.05)
        except:  # noqa: E722 - the sloppy retry loop under test
            pass


suite._bounded(poll_forever, 0.3, "apply overran its timeout")
print("returned")
"""


def test_a_call_that_swallows_every_interrupt_ends_the_process_with_a_message() -> None:
    # Nothing can stop such a call from inside the process; hanging the suite is worse
    # than ending it, saying which call overran and where every thread was.
    began = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", _SWALLOWS_FOR_GOOD],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert out.returncode == 70, (out.returncode, out.stdout, out.stderr[-2000:])
    assert "returned" not in out.stdout
    assert (
        "apply overran its timeout; it caught the interrupt sent to stop it, so nothing can "
        "stop it from here; this process exits" in out.stderr
    ), out.stderr[-2000:]
    assert "poll_forever" in out.stderr, "no stack of the stuck call"
    assert time.monotonic() - began < 15
