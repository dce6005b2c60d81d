"""The Store conformance suite: what the registry relies on from any storage back end.

Most checks are exact. Those of "readers see old or new, never a mix" (and of "no key
or the whole value" for a create) are races: a thread reads a key of several MiB over and
over while the test writes it, and fails on any read that is neither whole value. They
cannot prove a store atomic, but a store that writes in place, copies into place or
deletes before it writes is caught in nearly every run (each leaves a window of
milliseconds in every write), and an atomic store never fails them. Each is bounded by a
count of writes and a deadline.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import multiprocessing
import os
import pickle
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from modelship.errors import ConfigError, RegistryNotFound, StoreError
from modelship.registry import (
    AbortsUploads,
    KnowsLocation,
    LocalBlobs,
    Registry,
    ReplacesBlobs,
    Store,
)

__all__ = ["StoreConformance"]

# How far a store's times may be from this machine's clock. S3 refuses a request signed
# more than 15 minutes away from its own clock (RequestTimeTooSkewed), so a client that
# can write at all is within that of the server; gc's grace period (an hour by default)
# is far longer. A time off by hours (a UTC time read as local time) is caught.
_SKEW = 15 * 60.0

# The value raced over: 4 MiB, and the writes raced. Measured on stores written to break
# the promise: a reader finds a replace that writes in place in 2 of 3 writes, a delete
# then publish in 49 of 50, a copy into place (64 KiB at a time) in 1 of 6 (1 MiB: fewer
# still); 40 writes caught each in 30 runs of 30. On a local disk a correct store's test
# takes about a second; on a slow store the deadline ends it sooner.
_BIG = 4 * 1024 * 1024
_WRITES = 40  # writes raced against the reader in one test, at most
_RACE_SECONDS = 3.0  # and no longer than this, on a slow store
_SWITCH = 1e-4  # seconds between thread switches while racing (Python's default is 5 ms)
# How long a race test keeps a key it wrote in place for the reader to find it whole: a
# race whose reader never read the key (each key gone before a read began) checks nothing.
_SEEN_SECONDS = 30.0


# The chunk written from one reused buffer (the registry's are 8 MiB; any size shows it).
_PART = 64 * 1024

# Children of one folder listed at once: the page size of a listing (the list_page_size
# fixture; S3's, 1,000, by default) and these more.
_PAST_THE_PAGE = 10
_CREATE_THREADS = 8  # keys of that test created at once (the network's latency, not the store's)
# Keys every racing process creates in turn, all starting each key together (and no new
# key after _RACE_SECONDS). A store that checks, then writes, under a lock of its own
# process only gave two winners for about 1 key in 50 on a loaded 2-core machine (one key
# raced let it pass in 3 runs of 10); 500 keys take about a second on a local disk.
_PROCESS_RACE_KEYS = 500


def _create_all(store: Store, keys: list[str] | dict[str, bytes]) -> None:
    """Create each of ``keys`` holding ``b"1"``, or each key of a dict holding its value (a
    few at once, for a store over a network)."""
    items = keys.items() if isinstance(keys, dict) else [(key, b"1") for key in keys]
    with concurrent.futures.ThreadPoolExecutor(_CREATE_THREADS) as pool:
        for done in pool.map(lambda item: store.create(*item), items):
            del done


def _value(letter: bytes) -> bytes:
    """A value of :data:`_BIG` bytes; any part of one, or mix of two, is neither."""
    return letter * _BIG


def _blob_bytes(store: Store, key: str) -> bytes:
    """Every byte ``store.open_blob(key)`` streams."""
    with store.open_blob(key) as f:
        data: bytes = f.read()
    return data


def _reads_back(store: Store, key: str, value: bytes, written: str) -> None:
    """Fail the test unless ``read`` and ``open_blob`` of ``key`` answer ``value`` whole
    (``written`` says how it was written)."""
    for how, read in (("read", store.read), ("open_blob", functools.partial(_blob_bytes, store))):
        got = read(key)
        # One comparison, asserted as a truth value: pytest would diff MiB of bytes.
        same = type(got) is bytes and got == value
        if same:
            continue
        if len(got) != len(value):
            pytest.fail(
                f"after {written}, {how}({key!r}) answered {len(got)} of {len(value)} bytes: "
                "a read answers every byte of the value (a read of one response chunk, or a "
                "stream stopped early, loses the rest); the registry reports the version "
                "damaged"
            )
        if got == value:
            pytest.fail(
                f"after {written}, {how}({key!r}) answered a {type(got).__name__}, not bytes: "
                "a read answers bytes"
            )
        differs = next(i for i, (a, b) in enumerate(zip(got, value, strict=True)) if a != b)
        pytest.fail(
            f"after {written}, {how}({key!r}) answered different bytes ({len(value)} of them, "
            f"the first differing at byte {differs}): a read answers the bytes written"
        )


def _raises_file_not_found(call: Callable[[str], Any], key: str) -> None:
    """Fail the test unless ``call(key)``, of a key that does not exist, raises
    FileNotFoundError."""
    name = getattr(call, "__name__", repr(call))
    try:
        got = call(key)
    except FileNotFoundError:
        return
    except Exception as exc:
        pytest.fail(
            f"{name}({key!r}) of a key that does not exist raised {type(exc).__name__}: "
            f"{exc}; a missing key must raise FileNotFoundError, not {type(exc).__name__} "
            "(the registry reads a missing document as not there, and any other exception "
            "as a failing store): map your client's not-found error to FileNotFoundError"
        )
    with contextlib.suppress(Exception):
        got.close()
    pytest.fail(
        f"{name}({key!r}) of a key that does not exist answered {got!r}; a missing key "
        "must raise FileNotFoundError"
    )


class _Reader:
    """A thread reading one key over and over while a test writes it.

    It keeps a note of every read that is not one of the ``whole`` values (a key that is
    missing reads as None, allowed only where ``missing_ok``), and of any exception. Where
    ``missing`` is given (whether the key is missing now), an exception other than
    FileNotFoundError from a read of a missing key is reported as that, not as a read of
    part of a value.
    """

    def __init__(
        self,
        read: Callable[[], bytes],
        *whole: bytes,
        missing_ok: bool = False,
        missing: Callable[[], bool] | None = None,
    ) -> None:
        self._read = read
        self._whole = whole
        self._missing_ok = missing_ok
        self._missing = missing
        self.reads = 0
        self.found = 0  # reads that found the key (whole or not)
        self.wrong: list[str] = []
        self.contract: str | None = None  # a broken promise other than atomicity
        self.caught = threading.Event()
        self._first = threading.Event()
        self._stop = threading.Event()
        self._noted = threading.Condition()
        self._begun = 0  # reads begun
        self._found_from = -1  # the number of the last read begun that found the key
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._noted:
                    number = self._begun
                    self._begun += 1
                try:
                    got: bytes | None = self._read()
                except FileNotFoundError:
                    got = None
                except Exception as exc:
                    self._raised(exc)
                    return
                self._note(number, got)
        except BaseException as exc:  # a read that fails is a wrong read too
            self._raised(exc)

    def _note(self, number: int, got: bytes | None) -> None:
        with self._noted:
            self.reads += 1
            if got is not None:
                self.found += 1
                self._found_from = max(self._found_from, number)
            if not self._fine(got):
                self.wrong.append(self._describe(got))
                self.caught.set()
            self._noted.notify_all()
        self._first.set()

    def _raised(self, exc: BaseException) -> None:
        """Note the read that raised ``exc`` (counted first: it is a read too)."""
        missing = False
        if self._missing is not None:
            with contextlib.suppress(Exception):
                missing = self._missing()
        with self._noted:
            self.reads += 1
            if missing:
                self.contract = (
                    f"a read of a missing key raised {type(exc).__name__}: {exc}: a missing "
                    "key must raise FileNotFoundError (the registry reads a missing document "
                    "as not there, and any other exception as a failing store)"
                )
            self.wrong.append(f"a read raised {type(exc).__name__}: {exc}")
            self.caught.set()
            self._noted.notify_all()
        self._first.set()

    def _fine(self, got: bytes | None) -> bool:
        if got is None:
            return self._missing_ok
        return type(got) is bytes and any(got == value for value in self._whole)

    def _describe(self, got: bytes | None) -> str:
        if got is None:
            return "the key missing"
        if type(got) is not bytes:
            return f"a {type(got).__name__}, not bytes"
        return f"{len(got)} bytes that are no whole value (each has {len(self._whole[0])})"

    @contextlib.contextmanager
    def running(self) -> Iterator[_Reader]:
        """Read in the thread, with threads switching often, until the block ends."""
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, _SWITCH))
        self._thread.start()
        try:
            self._first.wait(timeout=60)
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=120)
            sys.setswitchinterval(switch)

    def rounds(self) -> Iterator[int]:
        """:data:`_WRITES` write rounds; fewer once a wrong read is seen or past the deadline."""
        deadline = time.monotonic() + _RACE_SECONDS
        for i in range(_WRITES):
            if self.caught.is_set() or (i > 1 and time.monotonic() > deadline):
                return
            yield i

    def sees(self, what: str) -> None:
        """Wait until a read begun from now finds the key (``what`` wrote it and keeps it
        in place), or a wrong read is seen; fail the test after :data:`_SEEN_SECONDS`."""
        with self._noted:
            since = self._begun
            seen = self._noted.wait_for(
                lambda: self._found_from >= since or self.caught.is_set() or self._stop.is_set(),
                timeout=_SEEN_SECONDS,
            )
            reads, found, begun = self.reads, self.found, self._begun - since
        if not seen and self._thread.is_alive():
            pytest.fail(
                f"{what}, yet no read begun after it found the key within "
                f"{_SEEN_SECONDS:g} s (time for the read in flight then to end and a new "
                f"one to find the key): {begun} reads begun since, none found it; "
                f"{found} of all {reads} reads that ended found the key, the rest answered "
                "FileNotFoundError. A key written must be readable at once (the registry "
                "reads what it wrote); a store whose one read takes more than "
                f"{_SEEN_SECONDS / 2:g} s is too slow for this check"
            )

    def verdict(self, what: str) -> str:
        if self.contract is not None:
            return self.contract
        return f"{what}: a reader saw {self.wrong[0]} ({len(self.wrong)} of {self.reads} reads)"


def _shipped(store: Store) -> Any:
    """What hands ``store`` to a forked process: its pickle where it has one (an fsspec
    file system refuses to be used after a fork, "not fork-safe"; one unpickled in the
    child is made anew), else the store itself, which the child uses as forked (a lock,
    an open connection: no pickle)."""
    try:
        return pickle.dumps(store)
    except Exception:
        return store


def _opened(shipped: Any) -> Store:
    """In a forked process: the store :func:`_shipped` handed it."""
    store: Store = pickle.loads(shipped) if isinstance(shipped, bytes) else shipped
    return store


def _race_create(  # noqa: PLR0913, PLR0917 - what the forked process is handed
    store: Any, keys: list[str], data: bytes, barrier: Any, going: Any, conn: Any
) -> None:
    """In a forked process: create each of ``keys`` in turn, each once the barrier lets
    every racer go (else the first process runs ahead and the others only find its keys),
    until ``going`` is cleared; sends what each create got ("won" or "lost"), or one
    "failed: ..." line. ``store`` is what :func:`_shipped` made of the store.
    """
    outcomes: list[str] = []
    try:
        mine = _opened(store)
        for key in keys:
            barrier.wait(timeout=60)
            if not going.value:  # set by the barrier's action: every racer stops here
                break
            try:
                mine.create(key, data)
                outcomes.append("won")
            except FileExistsError:
                outcomes.append("lost")
        conn.send(outcomes)
    except BaseException as exc:
        conn.send([f"failed: {type(exc).__name__}: {exc}"])


# A write another handle makes: a Store method's name, a key, and the bytes of a create or
# a replace.
_Write = tuple[str, str] | tuple[str, str, bytes]


def _make(store: Store, writes: list[_Write]) -> None:
    """Make each of ``writes`` through ``store``, in turn."""
    for method, *args in writes:
        getattr(store, method)(*args)


def _write_in_turn(handle: Callable[[], Store], writes: list[_Write], conn: Any) -> None:
    """In a forked process: make ``writes`` through the handle ``handle()`` opens there;
    sends ``["done"]``, or one "failed: ..." line."""
    try:
        _make(handle(), writes)
        conn.send(["done"])
    except BaseException as exc:
        conn.send([f"failed: {type(exc).__name__}: {exc}"])


def _forked(ctx: Any, runs: list[tuple[Callable[..., None], tuple[Any, ...]]]) -> list[list[str]]:
    """What each ``target(*args, conn)`` of ``runs`` sent, each run in a forked process
    of its own (all started, then each answer awaited)."""
    pipes = [ctx.Pipe(duplex=False) for _ in runs]
    processes = [
        ctx.Process(target=target, args=(*args, send))
        for (target, args), (_, send) in zip(runs, pipes, strict=True)
    ]
    with warnings.catch_warnings():
        # Python 3.12+ warns that a fork of a process with threads may deadlock: the
        # child only writes keys, and is killed if it does not end.
        warnings.simplefilter("ignore", DeprecationWarning)
        for process in processes:
            process.start()
    answers: list[list[str]] = []
    for process, (receive, send) in zip(processes, pipes, strict=True):
        send.close()
        answers.append(receive.recv() if receive.poll(120) else ["failed: no answer in 120 s"])
        receive.close()
        process.join(timeout=10)
        if process.is_alive():  # pragma: no cover - a child that hangs
            process.kill()
            process.join()
    return answers


def _in_processes(
    store: Store, keys: list[str], racers: int, seconds: float = 60.0
) -> list[list[str]]:
    """What each of ``racers`` forked processes got from creating each of ``keys``, all
    processes starting on each key together; no new key is begun after ``seconds``, so
    each process's list may be shorter than ``keys`` (all as long)."""
    shipped = _shipped(store)
    ctx = multiprocessing.get_context("fork")
    going = ctx.Value("b", 1)
    deadline = time.monotonic() + seconds  # one clock for every process of this machine

    def decide() -> None:
        # Run by one racer while all wait at the barrier: they all see one answer.
        if time.monotonic() > deadline:
            going.value = 0

    barrier = ctx.Barrier(racers, action=decide)
    return _forked(
        ctx,
        [(_race_create, (shipped, keys, str(i).encode(), barrier, going)) for i in range(racers)],
    )


def _in_another_process(handle: Callable[[], Store], writes: list[_Write]) -> str:
    """``"done"`` once a forked process made ``writes`` through the handle ``handle()``
    opens there, or what failed."""
    [answer] = _forked(multiprocessing.get_context("fork"), [(_write_in_turn, (handle, writes))])
    return answer[0]


class StoreConformance:
    """Behaviours every :class:`~modelship.registry.Store` must show. Subclass it.

    Override ``make_store``: a factory of stores on fresh, empty locations, each call a
    new one. Capability fixtures say what to expect and default to what the store
    declares:

    - ``exclusive_creates``: the store's own attribute; when False, the race tests are
      skipped. When True, :meth:`~modelship.registry.Store.create` must be atomic
      against other processes: racers are forked processes sharing the store (skipped
      where the ``fork`` start method is missing, and for a store whose keys another
      process cannot see, such as one in this process's memory), and threads. A store
      tested against moto's S3 server may fail it now and then: moto checks
      ``If-None-Match`` and then writes, so two racers can both win (S3 decides
      atomically); this project's tests serialise moto's object writes
      (``tests/conftest.py``).
    - ``racers``: how many threads, and processes, race for one key (8).
    - ``clock_resolution``: the seconds between two distinct
      :meth:`~modelship.registry.Store.modified` times; 1.0 by default, as S3's object
      times have. A time must also be within 15 minutes of this machine's clock.
    - ``fresh_location_is_absent``: whether a store of ``make_store`` that is a
      :class:`~modelship.registry.KnowsLocation` answers ``location_exists()`` False
      until its first write. True by default for a
      :class:`~modelship.registry.LocalBlobs` store (a folder that is not there yet),
      False otherwise (a prefix in a bucket that exists, or memory, exists already).
      Set it True for a store on a folder that ``make_store`` does not create.
    - ``begin_upload``: for an :class:`~modelship.registry.AbortsUploads` store, a
      function ``begin_upload(key)`` that begins an upload of ``key`` in the store and
      leaves it open (on S3, ``create_multipart_upload`` under the store's root); the
      protocol has no way to begin one. None by default: the tests of ``before`` and of
      aborting an upload twice are skipped, saying so.
    - ``reopen``: a function ``reopen(store)`` that opens a second handle on the location
      of ``store`` (as another process would), to check that each handle sees what the
      other wrote. By default the store's pickle, loaded again; the check is skipped,
      saying so, for a store that does not pickle or whose pickle is a copy rather than a
      handle (keys in this process's memory). Set it None to skip the check. Where a key
      created in a forked process is seen by ``store``, the second handle writes from a
      forked process, so that a cache the handles of one process share is caught too:
      the handle's pickle, loaded there, or else ``reopen(store)`` called there (a
      handle that is not fork-safe, such as an s3fs file system, is never used across
      the fork). Where neither can write there, its writes are made in this process,
      with a warning saying so.

    One class attribute says what to expect too: ``list_page_size``, how many names one
    page of the store's listing holds at most (1000, as S3's, by default; Azure Blob
    Storage's hold 5000). The check that :meth:`~modelship.registry.Store.list` names
    every child lists a folder of that many children and 10 more: it catches a listing
    that reads only its first page where pages are at most that size. Set it (an int
    > 0) to your back end's page size.

    Examples
    --------
    The package's example (:mod:`modelship.testing`) subclasses it with a factory. A store
    whose creates are not atomic across processes, tested with fewer racing threads::

        class TestMyNfsStore(StoreConformance):
            make_store = my_store_factory   # a fixture, as in the package example

            @pytest.fixture
            def exclusive_creates(self):
                return False                # the race tests are skipped, with a reason

            @pytest.fixture
            def racers(self):
                return 2

    The smallest subclass, testing this package's :class:`~modelship.testing.MemoryStore`
    (defining the class runs no check; pytest runs them when it collects the module it
    is in):

    >>> import pytest
    >>> from modelship.testing import MemoryStore, StoreConformance
    >>> class TestMemoryStore(StoreConformance):
    ...     @pytest.fixture
    ...     def make_store(self):
    ...         return MemoryStore  # each call: a new, empty store
    >>> any(name.startswith("test_") for name in dir(TestMemoryStore))
    True

    Needs pytest (``pip install 'modelship[test]'``).
    """

    list_page_size: ClassVar[int] = 1000

    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:  # pragma: no cover - overridden
        raise NotImplementedError("override make_store in your subclass")

    @pytest.fixture
    def store(self, make_store: Callable[[], Store]) -> Store:
        return make_store()

    @pytest.fixture
    def exclusive_creates(self, store: Store) -> bool:
        return store.exclusive_creates

    @pytest.fixture
    def racers(self) -> int:
        return 8

    @pytest.fixture
    def clock_resolution(self) -> float:
        return 1.0

    @pytest.fixture
    def fresh_location_is_absent(self, store: Store) -> bool:
        return isinstance(store, LocalBlobs)

    @pytest.fixture
    def begin_upload(self) -> Callable[[str], None] | None:
        return None

    @pytest.fixture
    def reopen(self) -> Callable[[Store], Store] | None:
        return _unpickled

    # --- documents ----------------------------------------------------------------------

    def test_store_implements_the_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)
        assert isinstance(store.url, str)

    def test_created_document_reads_back(self, store: Store) -> None:
        store.create("a/b.json", b"{}")
        assert store.read("a/b.json") == b"{}"
        assert store.exists("a/b.json")

    def test_a_value_of_several_mib_reads_back_whole(self, store: Store) -> None:
        # Before the races below: a read that answers one response chunk, or a stream
        # that stops early, fails here plainly, not as a race some runs never catch.
        created, replaced, published = (os.urandom(_BIG) for _ in range(3))
        store.create("whole/document", created)
        _reads_back(store, "whole/document", created, f"create of {_BIG} bytes")
        store.replace("whole/document", replaced)
        _reads_back(store, "whole/document", replaced, f"replace with {_BIG} bytes")
        writer = store.blob_writer()
        for start in range(0, _BIG, 3 * _PART):  # in parts, as the registry writes blobs
            writer.write(published[start : start + 3 * _PART])
        assert writer.publish("whole/blob") is True
        _reads_back(store, "whole/blob", published, f"publish of {_BIG} bytes")

    def test_second_create_of_a_key_raises_file_exists_and_keeps_the_first(
        self, store: Store
    ) -> None:
        store.create("k", b"first")
        with pytest.raises(FileExistsError):
            store.create("k", b"second")
        assert store.read("k") == b"first"

    def test_racing_creates_of_one_key_have_exactly_one_winner(
        self, store: Store, exclusive_creates: bool, racers: int
    ) -> None:
        if not exclusive_creates:
            pytest.skip("the store does not promise exclusive creates")
        won: list[int] = []
        lost: list[int] = []
        start = threading.Barrier(racers)

        def race(i: int) -> None:
            start.wait()
            try:
                store.create("race/key", str(i).encode())
                won.append(i)
            except FileExistsError:
                lost.append(i)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(won) == 1
        assert len(lost) == racers - 1
        assert store.read("race/key") == str(won[0]).encode()

    def test_creates_racing_from_processes_have_exactly_one_winner(
        self, store: Store, exclusive_creates: bool, racers: int
    ) -> None:
        # exclusive_creates promises atomic creates against other processes: a lock
        # held only by this process's threads lets every process through.
        if not exclusive_creates:
            pytest.skip("the store does not promise exclusive creates")
        if "fork" not in multiprocessing.get_all_start_methods():
            pytest.skip(
                "racing processes need the 'fork' start method (POSIX): the store made "
                "by make_store is handed to them without importing the test module; "
                "only threads raced here"
            )
        [probe] = _in_processes(store, ["race/seen"], 1)
        assert probe == ["won"], f"a create in another process: {probe}"
        if not store.exists("race/seen"):
            pytest.skip(
                "a key created by another process is not seen here (the store keeps its "
                "keys in this process's memory): no other process can race for one"
            )
        # Many keys, each raced for by every process: one race for one key is lost by a
        # store atomic only among threads in about a third of runs; any of the keys with
        # two winners fails it.
        keys = [f"race/processes/{i:04d}" for i in range(_PROCESS_RACE_KEYS)]
        outcomes = _in_processes(store, keys, racers, _RACE_SECONDS)
        failed = [o[0] for o in outcomes if o and o[0].startswith("failed")]
        assert not failed, f"racing processes failed: {failed}"
        raced = keys[: len(outcomes[0])]
        doubly = []
        for k, key in enumerate(raced):
            winners = [i for i, got in enumerate(outcomes) if got[k] == "won"]
            if len(winners) != 1:
                doubly.append(f"{key}: {len(winners)} winners")
            elif store.read(key) != str(winners[0]).encode():
                doubly.append(f"{key}: won by process {winners[0]}, holds {store.read(key)!r}")
        assert not doubly, (
            f"for {len(doubly)} of {len(raced)} keys raced for, not exactly one of {racers} "
            f"processes created one key (the first: {doubly[:3]}): create is not atomic "
            "against other processes, as exclusive_creates=True promises"
        )

    def test_a_reader_sees_a_created_document_missing_or_whole_never_part(
        self, store: Store
    ) -> None:
        # Every sequence slot, manifest and claim is written by create, and read by other
        # processes as soon as it is there: a create that opens the key exclusively and
        # then writes into it (open(path, "x"), then write) lets a reader find it with
        # part of its bytes, and the registry reports the document damaged.
        # Each key is kept until a read has found it: a reader that only ever found the
        # keys missing would pass having checked nothing.
        value = _value(b"c")
        current = ["created/0"]
        _raises_file_not_found(store.read, current[0])
        reader = _Reader(
            lambda: store.read(current[0]),
            value,
            missing_ok=True,
            missing=lambda: not store.exists(current[0]),
        )
        with reader.running():
            for i in reader.rounds():
                current[0] = key = f"created/{i}"
                store.create(key, value)
                reader.sees(f"create({key!r}) returned")
                store.delete(key)
        assert not reader.wrong, reader.verdict("create is not all at once")
        assert reader.found, f"the reader never found a created key in {reader.reads} reads"

    def test_replace_overwrites_whole(self, store: Store) -> None:
        store.replace("hint", b"1")
        store.replace("hint", b"22")
        assert store.read("hint") == b"22"

    def test_a_reader_sees_a_replaced_document_old_or_new_never_a_mix(self, store: Store) -> None:
        # A store that truncates, then writes, lets a reader find an empty or half
        # written document; readers of a hint must see the old one or the new one.
        old, new = _value(b"o"), _value(b"n")
        store.create("hint", old)
        reader = _Reader(lambda: store.read("hint"), old, new)
        with reader.running():
            for i in reader.rounds():
                store.replace("hint", new if i % 2 == 0 else old)
        assert not reader.wrong, reader.verdict("replace is not whole")

    def test_a_read_after_a_replace_or_a_delete_sees_it(self, store: Store) -> None:
        # A read cache must not outlive the write: the registry rereads what it wrote.
        store.replace("cached", b"1")
        assert store.read("cached") == b"1"
        store.replace("cached", b"2")
        assert store.read("cached") == b"2"
        assert store.read_many(["cached"]) == {"cached": b"2"}
        store.delete("cached")
        with pytest.raises(FileNotFoundError):
            store.read("cached")
        assert store.read_many(["cached"]) == {}
        store.create("cached", b"3")
        assert store.read("cached") == b"3"

    def test_a_handle_sees_what_another_handle_on_its_location_wrote(
        self, store: Store, reopen: Callable[[Store], Store] | None
    ) -> None:
        # Registries in two processes share a location: a serving process must see the
        # version and the alias move a CI job wrote, so no answer (a read, an existence,
        # a listing) may be kept past another handle's write. The other handle writes
        # from another process where one sees the store's keys: a cache that every
        # handle of a process shares, cleared by their writes (as fsspec's listings
        # cache is), is stale after another process's.
        other = _second_handle(store, reopen)
        assert reopen is not None  # _second_handle skipped the test without one
        write, where = _writer(store, other, reopen)
        keys = ["shared/kept", "shared/gone", "shared/new"]
        store.create("shared/kept", b"old")
        store.create("shared/gone", b"old")
        before = {"shared/kept": b"old", "shared/gone": b"old"}
        assert _answers(store, keys) == _expected(keys, before)
        write(
            [
                ("replace", "shared/kept", b"new"),
                ("delete", "shared/gone"),
                ("create", "shared/new", b"made"),
            ]
        )
        after = {"shared/kept": b"new", "shared/new": b"made"}
        got, expected = _answers(store, keys), _expected(keys, after)
        stale = {what: got[what] for what in expected if got[what] != expected[what]}
        wanted = {what: expected[what] for what in stale}
        assert not stale, (
            f"after another handle on the location ({where}) replaced shared/kept, deleted "
            f"shared/gone and created shared/new, this handle answers {stale}, not "
            f"{wanted}: a cache outlived the other handle's writes"
        )

    def test_reads_answer_bytes(self, store: Store) -> None:
        # Not a memoryview or a bytearray: the registry hashes, parses and hands them on,
        # and a mutable or borrowed buffer can change under it.
        store.create("typed", b"abc")
        assert type(store.read("typed")) is bytes
        answer = store.read_many(["typed"])
        assert {key: type(value) for key, value in answer.items()} == {"typed": bytes}

    def test_missing_key_reads_raise_file_not_found(self, store: Store) -> None:
        for call in (store.read, store.open_blob, store.size, store.modified):
            _raises_file_not_found(call, "nowhere")
        assert not store.exists("nowhere")

    def test_read_many_leaves_out_missing_keys(self, store: Store) -> None:
        store.create("x/1", b"one")
        assert store.read_many(["x/1", "x/2"]) == {"x/1": b"one"}
        assert store.read_many([]) == {}

    def test_read_many_takes_keys_from_a_generator(self, store: Store) -> None:
        # gc and the listings pass generators: a store that walks ``keys`` twice finds
        # the second walk empty and answers {}, and gc takes every manifest for missing.
        store.create("g/1", b"one")
        store.create("g/3", b"three")
        answer = store.read_many(f"g/{i}" for i in range(4))
        assert answer == {"g/1": b"one", "g/3": b"three"}, (
            f"read_many of a generator of keys answered {answer}: Store.read_many takes "
            "any iterable of keys; walk it once (or make a list of it first)"
        )

    def test_read_many_answers_every_key_of_a_batch_larger_than_any_page(
        self, store: Store
    ) -> None:
        # gc reads a model's manifests with one read_many: a key left out of the answer
        # reads as missing, and the blobs only it references are deleted. 1,340 keys
        # asked, 1,005 of them there, are past the page sizes of object stores' batch
        # calls (1,000 for S3) whether a page counts the keys asked or those found.
        written = {f"many/{i:04d}": str(i).encode() for i in range(1340) if i % 4}
        _create_all(store, written)
        asked = [f"many/{i:04d}" for i in reversed(range(1340))]  # every fourth is missing
        answer = store.read_many(asked)
        assert len(answer) == len(written), f"{len(answer)} of {len(written)} keys answered"
        assert answer == written

    def test_list_names_direct_children_sorted(self, store: Store) -> None:
        # Store.list promises its names sorted as Python sorts strings (the registry shows
        # and walks them in that order): capitals before "_" before small letters, which
        # a listing sorted without regard to case puts elsewhere. No two names differ only
        # in case (a case-insensitive store holds one of them). The names are checked
        # first, then their order.
        children = ["B", "_x", "a.json", "b.json", "sub"]
        for key in ("f/b.json", "f/_x", "f/a.json", "f/B", "f/sub/c.json"):
            store.create(key, b"1")
        names = store.list("f")
        assert sorted(names) == children, (
            f"list('f') named {names}; its children are {children[:-1]} and the folder 'sub'"
        )
        assert _listing(store, "f") == children
        assert store.list("f/sub") == ["c.json"]
        assert store.list("no/such/folder") == []

    def test_list_names_every_child_of_a_folder_larger_than_any_page(self, store: Store) -> None:
        # Object stores answer a listing in pages (S3: 1,000 names a page); a store that
        # forgets the continuation token lists the first page only, and the registry
        # loses every model or version after it. A page and 10 children more (1,010 by
        # default), some of them folders.
        list_page_size = self.list_page_size
        if type(list_page_size) is not int or list_page_size < 1:
            raise ConfigError(
                f"{type(self).__name__}.list_page_size is {list_page_size!r}; set it to the "
                "number of names one page of the store's listing holds at most (an int > 0)"
            )
        expected = [f"{i:04d}" for i in range(list_page_size + _PAST_THE_PAGE)]
        folders = {name for i, name in enumerate(expected) if i % 101 == 100}
        _create_all(store, [f"paged/{n}/x" if n in folders else f"paged/{n}" for n in expected])
        names = store.list("paged")
        missing = sorted(set(expected) - set(names))
        assert not missing, (
            f"list() named {len(set(names))} of {len(expected)} children; the first missing: "
            f"{missing[:3]} (a listing answered in pages, only the first read?)"
        )
        twice = sorted({name for name in names if names.count(name) > 1})
        assert not twice, f"list() named these children more than once: {twice[:3]}"
        assert len(names) == len(expected), f"list() named {len(names)} of {len(expected)}"

    def test_list_names_each_child_once(self, store: Store) -> None:
        for key in ("once/sub/a", "once/sub/b", "once/sub/deeper/c", "once/x"):
            store.create(key, b"1")
        assert _listing(store, "once") == ["sub", "x"]

    def test_list_of_a_folder_leaves_out_names_that_only_begin_with_it(self, store: Store) -> None:
        # "a/b" is a folder, not the start of a name: "a/bc" and "a/b.json" are not in it.
        for key in ("a/b/x", "a/bc/y", "a/b.json", "a/b2"):
            store.create(key, b"1")
        assert store.list("a/b") == ["x"]
        assert _listing(store, "a") == ["b", "b.json", "b2", "bc"]

    def test_delete_removes_and_a_missing_key_is_not_an_error(self, store: Store) -> None:
        store.create("d", b"1")
        store.delete("d")
        store.delete("d")
        assert not store.exists("d")
        store.create("d", b"2")  # the key is free again
        assert store.read("d") == b"2"

    def test_a_deleted_key_is_no_longer_listed(self, store: Store) -> None:
        for key in ("l/a.json", "l/b.json"):
            store.create(key, b"1")
        assert _listing(store, "l") == ["a.json", "b.json"]
        store.delete("l/a.json")
        assert store.list("l") == ["b.json"]
        store.create("l/a.json", b"2")  # a restore lists it again
        assert _listing(store, "l") == ["a.json", "b.json"]

    def test_size_and_modified_of_a_key(self, store: Store) -> None:
        store.create("s", b"12345")
        assert store.size("s") == 5
        assert store.modified("s") > 0
        _raises_file_not_found(store.size, "missing")
        _raises_file_not_found(store.modified, "missing")

    def test_modified_is_the_time_of_the_last_write(
        self, store: Store, clock_resolution: float
    ) -> None:
        # gc compares modified() with time.time() for its grace period, and for whether
        # another gc is running: a time that is not the write's (a UTC time read as local
        # time is hours off) makes gc delete blobs of registrations still in flight.
        written = time.time()
        store.create("t", b"1")
        created = store.modified("t")
        assert abs(created - written) < _SKEW + clock_resolution, (
            f"modified() gave {created!r}, not now: the write was at {written!r} by this "
            f"machine's clock, {created - written:+.0f} s away"
        )
        deadline = time.monotonic() + 2 * clock_resolution + 1.0
        rewritten = created
        while rewritten <= created and time.monotonic() < deadline:
            time.sleep(min(0.05, clock_resolution))
            written = time.time()
            store.replace("t", b"2")
            rewritten = store.modified("t")
        assert rewritten > created, "a rewrite did not move modified() forward"
        assert abs(rewritten - written) < _SKEW + clock_resolution, (
            f"modified() gave {rewritten!r} after a rewrite at {written!r}, not now"
        )

    def test_modified_stays_put_while_nothing_writes_the_key(
        self, store: Store, clock_resolution: float
    ) -> None:
        # gc marks itself running with a document and lets the mark age out by its
        # modified(): a store that answers the time of the call (or of the last read)
        # keeps the mark young forever, and every registration is refused as racing gc.
        store.create("still", b"1")
        first = store.modified("still")
        time.sleep(clock_resolution * 1.1)  # past the next tick of the store's clock
        assert store.read("still") == b"1"
        assert store.exists("still")
        assert store.read_many(["still"]) == {"still": b"1"}
        assert store.size("still") == 1
        again = store.modified("still")
        assert again == first, (
            f"modified() moved from {first!r} to {again!r} ({again - first:+.3f} s) with no "
            "write in between: it must be the time of the last write, not of the call"
        )

    def test_a_key_under_a_document_is_created_or_refused_but_never_called_taken(
        self, store: Store
    ) -> None:
        # A file where a folder belongs: "taken" (FileExistsError) would make writers move
        # on to the next number forever. Creating it, or a StoreError, are both fine.
        store.create("models/m/slots", b"a stray file")
        for key in ("models/m/slots/000000000001.json", "models/m/slots/000000000002.json"):
            try:
                store.create(key, b"{}")
            except FileExistsError:  # pragma: no cover - the failure being tested
                pytest.fail(f"creating {key} under a document raised FileExistsError")
            except StoreError:
                pass

    def test_a_document_over_a_folder_is_created_or_refused_but_never_called_taken(
        self, store: Store
    ) -> None:
        # The other way round: a folder where a document belongs (S3 keeps both, a disk
        # refuses). "Taken" would again send writers to the next number forever.
        store.create("models/m/slots/000000000001.json", b"{}")
        try:
            store.create("models/m/slots", b"a stray file")
        except FileExistsError:  # pragma: no cover - the failure being tested
            pytest.fail("creating a document where a folder is raised FileExistsError")
        except StoreError:
            pass
        assert store.read("models/m/slots/000000000001.json") == b"{}"

    def test_a_folder_is_no_document(self, store: Store) -> None:
        # gc reads the manifests it listed with one read_many: a folder among them is
        # missing, as on S3, not a failure of the whole batch.
        store.create("f/inside", b"1")
        assert not store.exists("f")
        _raises_file_not_found(store.read, "f")
        assert store.read_many(["f", "f/inside"]) == {"f/inside": b"1"}
        # Nor a blob: verify reports a folder where a blob was as damage, not a failure.
        for call in (store.open_blob, store.size, store.modified):
            _raises_file_not_found(call, "f")

    # --- blobs --------------------------------------------------------------------------

    def test_published_blob_reads_back_whole(self, store: Store) -> None:
        writer = store.blob_writer()
        for part in (b"ab", b"", b"cd" * 1000):
            writer.write(part)
        assert not store.exists("blobs/x")
        assert writer.publish("blobs/x") is True
        with store.open_blob("blobs/x") as f:
            assert f.read() == b"ab" + b"cd" * 1000
        assert store.size("blobs/x") == 2002

    def test_a_blob_writer_takes_the_bytes_of_a_buffer_reused_after_each_write(
        self, store: Store
    ) -> None:
        # The registry hands write() views of one buffer that it refills with the next
        # chunk (copy_registry streams every blob so): a writer that keeps the view, not
        # its bytes, publishes the last chunk's bytes in place of the earlier ones.
        buffer = bytearray(_PART)
        view = memoryview(buffer)
        expected = bytearray()
        writer = store.blob_writer()
        for i, size in enumerate((_PART, _PART, _PART // 2)):
            buffer[:] = bytes([ord("a") + i]) * _PART
            assert writer.write(view[:size]) == size
            expected += view[:size]
            buffer[:] = bytes(_PART)  # the caller's next use of its buffer
        assert writer.publish("blobs/reused") is True
        with store.open_blob("blobs/reused") as f:
            stored = f.read()
        differs = next(
            (i for i, (a, b) in enumerate(zip(stored, expected, strict=False)) if a != b), None
        )
        # One comparison, asserted as a truth value: pytest's rewriting would otherwise
        # diff the two byte strings, which took three minutes for these 160 KiB.
        same = stored == expected
        assert same, (
            f"the published blob differs from the {len(expected)} bytes written (it holds "
            f"{len(stored)}, the first differing at {differs}): write() kept the buffer it "
            "was given instead of its bytes; the buffer is the caller's again once write "
            "returns"
        )

    def test_publish_onto_an_existing_key_returns_false_and_keeps_it(self, store: Store) -> None:
        first = store.blob_writer()
        first.write(b"same")
        assert first.publish("blobs/y") is True
        second = store.blob_writer()
        second.write(b"same")
        assert second.publish("blobs/y") is False
        assert store.read("blobs/y") == b"same"

    def test_a_blob_published_over_a_folder_is_never_called_already_stored(
        self, store: Store
    ) -> None:
        # False means "these bytes are stored already": the registry would then commit a
        # version whose artifact is a folder. Storing the blob, or a StoreError, are fine.
        store.create("blobs/f/inside", b"1")
        writer = store.blob_writer()
        writer.write(b"blob")
        try:
            published = writer.publish("blobs/f")
        except StoreError:
            return
        assert published is True, "publish answered 'already stored' where only a folder is"
        with store.open_blob("blobs/f") as f:
            assert f.read() == b"blob"

    def test_discarded_blob_leaves_nothing(self, store: Store) -> None:
        writer = store.blob_writer()
        writer.write(b"never")
        writer.discard()
        writer.discard()
        assert not store.exists("blobs/z")

    def test_a_reader_never_sees_part_of_a_blob_being_published(self, store: Store) -> None:
        # publish makes the blob visible at once: a store that copies the staged bytes
        # into place lets a reader (a load of another version sharing the blob) find
        # part of them, and the registry reports a damaged artifact.
        # Each key is kept until a read has found it, as in the create race above.
        blob = _value(b"b")
        current = ["blobs/whole/0"]
        _raises_file_not_found(store.open_blob, current[0])

        def read() -> bytes:
            with store.open_blob(current[0]) as f:
                return f.read()

        reader = _Reader(read, blob, missing_ok=True, missing=lambda: not store.exists(current[0]))
        with reader.running():
            for i in reader.rounds():
                current[0] = key = f"blobs/whole/{i}"
                writer = store.blob_writer()
                writer.write(blob)
                writer.publish(key)
                reader.sees(f"publish({key!r}) returned")
                store.delete(key)
        assert not reader.wrong, reader.verdict("publish is not all at once")
        assert reader.found, f"the reader never found a published blob in {reader.reads} reads"

    def test_a_reader_of_a_blob_sees_it_whole_while_it_is_published_again(
        self, store: Store
    ) -> None:
        # Two registrations of one artifact publish one key; the second must leave the
        # stored bytes alone (answer False; touching its time is fine), not rewrite them
        # under a load reading them. A race, as the tests above: a rewrite in place is
        # caught in nearly every run, a store that leaves the key alone never fails.
        blob = _value(b"p")
        seed = store.blob_writer()
        seed.write(blob)
        assert seed.publish("blobs/again") is True

        def read() -> bytes:
            with store.open_blob("blobs/again") as f:
                return f.read()

        reader = _Reader(read, blob)
        with reader.running():
            for _ in reader.rounds():
                writer = store.blob_writer()
                writer.write(blob)
                assert writer.publish("blobs/again") is False
        assert not reader.wrong, reader.verdict("publish onto an existing key rewrote it")

    # --- optional capabilities ----------------------------------------------------------

    def test_a_local_blob_is_the_file_at_its_path(self, store: Store) -> None:
        if not isinstance(store, LocalBlobs):
            pytest.skip("the store does not declare LocalBlobs")
        writer = store.blob_writer()
        writer.write(b"local")
        writer.publish("blobs/l")
        with open(store.local_path("blobs/l"), "rb") as f:
            assert f.read() == b"local"

    def test_a_writer_that_replaces_blobs_puts_its_bytes_over_the_stored_ones(
        self, store: Store
    ) -> None:
        writer = store.blob_writer()
        if not isinstance(writer, ReplacesBlobs):
            writer.discard()
            pytest.skip("the store's blob writers do not declare ReplacesBlobs")
        store.create("blobs/r", b"damaged bytes")
        with store.open_blob("blobs/r") as f:  # as the registry reads it, finding damage
            assert f.read() == b"damaged bytes"
        writer.write(b"good")
        writer.publish_over("blobs/r")
        assert store.read("blobs/r") == b"good"
        with store.open_blob("blobs/r") as f:  # loads read blobs so: no stale cache
            replaced = f.read()
        assert replaced == b"good", (
            f"open_blob reads {replaced!r} after publish_over put b'good' there (and read() "
            "reads b'good'): a cache of blobs must not outlive publish_over"
        )
        assert store.size("blobs/r") == 4
        fresh = store.blob_writer()
        assert isinstance(fresh, ReplacesBlobs)
        fresh.write(b"new")
        fresh.publish_over("blobs/new")  # nothing there yet: published all the same
        assert store.read("blobs/new") == b"new"

    def test_a_reader_during_publish_over_sees_old_or_new_never_a_missing_key(
        self, store: Store
    ) -> None:
        # The point of ReplacesBlobs: versions sharing a damaged blob keep finding bytes
        # under its key while it is replaced. A delete, then a publish, leaves a gap.
        probe = store.blob_writer()
        probe.discard()
        if not isinstance(probe, ReplacesBlobs):
            pytest.skip("the store's blob writers do not declare ReplacesBlobs")
        old, new = _value(b"d"), _value(b"g")
        store.create("blobs/over", old)
        reader = _Reader(lambda: store.read("blobs/over"), old, new)
        with reader.running():
            for i in reader.rounds():
                writer = store.blob_writer()
                assert isinstance(writer, ReplacesBlobs)
                writer.write(new if i % 2 == 0 else old)
                writer.publish_over("blobs/over")
        assert not reader.wrong, reader.verdict("publish_over is not one step")

    def test_a_fresh_store_has_no_incomplete_uploads(self, store: Store) -> None:
        if not isinstance(store, AbortsUploads):
            pytest.skip("the store does not declare AbortsUploads")
        assert store.incomplete_uploads(before=0.0) == []

    def test_an_upload_is_listed_only_by_a_cutoff_after_it_began(
        self, store: Store, begin_upload: Callable[[str], None] | None
    ) -> None:
        # gc passes now minus its grace period as ``before``: an upload begun later is a
        # writer's, still running, and aborting it fails that registration.
        uploads, begin = _uploads_of(store, begin_upload)
        began = time.time()
        begin("blobs/open")
        assert uploads.incomplete_uploads(before=began - _SKEW) == [], (
            "incomplete_uploads(before) named an upload begun after `before`"
        )
        assert len(uploads.incomplete_uploads(before=time.time() + _SKEW)) == 1

    def test_aborting_an_upload_that_is_gone_is_not_an_error(
        self, store: Store, begin_upload: Callable[[str], None] | None
    ) -> None:
        # Two gc runs may abort one upload; a writer may complete it in between.
        uploads, begin = _uploads_of(store, begin_upload)
        begin("blobs/abandoned")
        [upload] = uploads.incomplete_uploads(before=time.time() + _SKEW)
        uploads.abort_upload(upload)
        assert uploads.incomplete_uploads(before=time.time() + _SKEW) == []
        uploads.abort_upload(upload)  # gone already: not an error

    def test_a_store_that_knows_its_location_finds_it_once_a_key_is_written(
        self, store: Store
    ) -> None:
        if not isinstance(store, KnowsLocation):
            pytest.skip("the store does not declare KnowsLocation")
        store.create("located", b"1")
        assert store.location_exists() is True

    def test_a_fresh_location_is_absent_until_the_first_write(
        self, store: Store, fresh_location_is_absent: bool
    ) -> None:
        # Nothing is created until the first write: a store that makes its folder when
        # opened (or answers True always) turns a typo in a URL into an empty registry.
        if not isinstance(store, KnowsLocation):
            pytest.skip("the store does not declare KnowsLocation")
        if not fresh_location_is_absent:
            pytest.skip(
                "make_store's locations exist before a write (fresh_location_is_absent is "
                "False: a prefix in a bucket, or memory); set it True for a store on a folder"
            )
        assert store.location_exists() is False, (
            "a store on a fresh location says it exists before any write (set "
            "fresh_location_is_absent to False if make_store creates its locations)"
        )
        assert not store.exists("k")
        assert store.list("") == []
        assert store.read_many(["k"]) == {}
        with pytest.raises(RegistryNotFound):
            Registry(store).models()
        assert store.location_exists() is False, "reading the store created its location"
        store.create("k", b"1")
        assert store.location_exists() is True


def _listing(store: Store, prefix: str) -> list[str]:
    """``store.list(prefix)``, failing the test if its names are not sorted."""
    names = store.list(prefix)
    assert names == sorted(names), (
        f"list({prefix!r}) named {names}, not sorted: Store.list answers its names as "
        "Python's sorted() orders them, by code point (for example 'B' before '_x' before "
        "'a'); the registry shows and walks them in that order"
    )
    return names


def _uploads_of(
    store: Store, begin_upload: Callable[[str], None] | None
) -> tuple[AbortsUploads, Callable[[str], None]]:
    """``store`` as an uploads store and the way to begin one, or the test skipped."""
    if not isinstance(store, AbortsUploads):
        pytest.skip("the store does not declare AbortsUploads")
    if begin_upload is None:
        pytest.skip(
            "the Store protocol cannot begin an upload: override the begin_upload fixture "
            "(a function of a key) to test incomplete_uploads' cutoff and abort_upload"
        )
    return store, begin_upload


def _unpickled(store: Store) -> Store:
    """A second handle on ``store``'s location: its pickle, loaded again."""
    loaded: Store = pickle.loads(pickle.dumps(store))
    return loaded


def _second_handle(store: Store, reopen: Callable[[Store], Store] | None) -> Store:
    """``reopen(store)``, checked to reach the location of ``store``, or the test skipped."""
    if reopen is None:
        pytest.skip("no way to open a second handle on a store's location (reopen is None)")
    try:
        other = reopen(store)
    except Exception as exc:
        if reopen is not _unpickled:
            raise
        pytest.skip(
            f"the store does not pickle ({type(exc).__name__}: {exc}): override the reopen "
            "fixture (a function of a store) to check that a handle sees another's writes"
        )
    store.create("shared/probe", b"1")
    if not other.exists("shared/probe"):
        if reopen is _unpickled:
            pytest.skip(
                "the store's pickle is a copy, not a handle on its location (its keys are "
                "in this process's memory): override the reopen fixture to check that a "
                "handle sees another's writes"
            )
        pytest.fail("reopen(store) gave a handle that does not see a key the store created")
    store.delete("shared/probe")
    return other


def _writer(
    store: Store, other: Store, reopen: Callable[[Store], Store]
) -> tuple[Callable[[list[_Write]], None], str]:
    """How a test makes writes through ``other``, a second handle on the location of
    ``store`` that ``reopen(store)`` opened, and where they run: in a forked process where
    a key that process creates is seen by ``store`` here, else in this process (keys in
    this process's memory, no ``fork`` start method, or no handle that writes there).

    The forked process opens its own handle: ``other``'s pickle, loaded there, or else
    ``reopen`` of the store as forked. ``other`` itself is never used across the fork: a
    handle that holds a lock, a connection or an event loop (an s3fs file system refuses,
    "not fork-safe") is no handle there.
    """

    def here(writes: list[_Write]) -> None:
        _make(other, writes)

    if "fork" not in multiprocessing.get_all_start_methods():
        return here, "in this process: no 'fork' start method"
    handles: list[tuple[str, Callable[[], Store]]] = []
    with contextlib.suppress(Exception):  # a lock, an open connection: reopened there
        handles.append(("its pickle", functools.partial(_loaded, pickle.dumps(other))))
    handles.append(("reopen(store)", lambda: reopen(store)))
    failures = []
    for i, (how, handle) in enumerate(handles):
        # A key neither handle has read, in a folder neither has listed: nothing cached yet.
        probe = f"another-process/probe-{i}"
        done = _in_another_process(handle, [("create", probe, b"1")])
        if done == "done":
            break
        failures.append(f"{how}: {done}")
    else:
        where = "in this process: no second handle could write from a forked process"
        _say(
            f"the store suite made the second handle's writes {where} ({'; '.join(failures)}),"
            " so a cache that the handles of one process share is not caught: give the store"
            " a pickle, or the reopen fixture a handle, that opens the location anew in"
            " another process"
        )
        return here, where
    if not store.exists(probe):
        return here, "in this process: another process does not see its keys"
    store.delete(probe)

    def there(writes: list[_Write]) -> None:
        done = _in_another_process(handle, writes)
        assert done == "done", f"the writes of another process ({how}): {done}"

    return there, "in another process"


def _loaded(shipped: bytes) -> Store:
    """In a forked process: the store whose pickle is ``shipped``."""
    store: Store = pickle.loads(shipped)
    return store


def _say(message: str) -> None:
    """Warn ``message``, shown in pytest's warnings summary: what a check could not do,
    which is never a failure (not even where warnings are errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.warn(message, UserWarning, stacklevel=3)


def _answers(store: Store, keys: list[str]) -> dict[str, Any]:
    """What ``store`` answers of ``keys`` (a missing key reads as None), and of their folder."""

    def read(key: str) -> bytes | None:
        try:
            return store.read(key)
        except FileNotFoundError:
            return None

    return {
        **{f"read({key!r})": read(key) for key in keys},
        **{f"exists({key!r})": store.exists(key) for key in keys},
        "read_many": store.read_many(keys),
        "list('shared')": _listing(store, "shared"),
    }


def _expected(keys: list[str], held: dict[str, bytes]) -> dict[str, Any]:
    """What :func:`_answers` must be when the keys hold ``held`` (the others missing)."""
    return {
        **{f"read({key!r})": held.get(key) for key in keys},
        **{f"exists({key!r})": key in held for key in keys},
        "read_many": held,
        "list('shared')": sorted(key.rpartition("/")[2] for key in held),
    }
