"""Registry speed: one big artifact, and look-ups among many versions; local disk and S3.

Usage::

    python benchmarks/bench_registry.py               # 1 GiB artifact, 10,000 versions
    python benchmarks/bench_registry.py --quick       # a smoke run: one round, small sizes (~25 s)
    python benchmarks/bench_registry.py --size 256MiB --no-s3
    python benchmarks/bench_registry.py --byte-path   # only the byte path (issue 11)

Everything is measured in one run and printed as tables, with issue 2's targets marked
PASS or MISS:

* register, then load+verify, one artifact (a float64 numpy array with the ``joblib``
  serializer, and the same bytes with ``bytes``): time and throughput against ``cp`` of a
  file of the same size, ``cp`` followed by an fsync of the copy (register fsyncs), 8 MiB
  writes from Python plus fsync, and ``hashlib.sha256`` of the file; target: register
  within 1.5x of ``max(cp, sha256)``. The steps run in ``--rounds`` rounds (7): each
  round measures every baseline once and then every step once, each step in a child
  process that holds the model (or nothing, to load). The ratio to the reference is
  taken within each round, so that the machine's drift over minutes hits both sides
  alike, and the median of the per-round ratios is judged. Peak RSS growth during a
  step is measured in its child (the peak is reset just before through
  ``/proc/self/clear_refs``), and the largest over the rounds is reported; for loads,
  the growth beyond the loaded object's own size. Target: under 64 MiB whatever the
  size. Like the file the ``sha256`` baseline hashes, a local blob is in the page cache
  before a load; one more load per round starts without it, against ``sha256`` of a
  file that is not cached either. Each load (and deserialising alone) is also timed as
  the 4th of four in one process: this VM's host takes back memory a process freed
  within a second or two, and a fresh process that touches 1 GiB gradually (as a load
  that hashes while it deserialises does) pays 1-2 s for it, where a process that has
  loaded before does not. Beside the loads, each round also times "touch": a fresh
  process reading the cached source file (the artifact's size, 1 GiB by default) into a
  new object, the machine's price for the memory a load must fill.
* with 100, 1,000 and 10,000 versions of one model, all made with ``register``:
  ``get(name, "latest")``, ``get(name, "@production")``, ``versions(name)`` and
  registering one more (median and p95). Target: latest and alias under 2 ms on a local
  disk, and all but ``versions`` flat in the number of versions.
* the same on moto's S3 server (started by this script in its own process), smaller.
  There register is compared with ``max(s3fs put, sha256)``, and load+verify and verify
  alone with ``max(s3fs get, sha256)``.

Every timed step starts with a warm page cache and after ``os.sync()``, so that no earlier
step's write-back runs during the next one.

``--byte-path`` measures only the byte path, in one process, each subject interleaved
with its plain-Python baseline (the order alternates each round; the best of at least 5
rounds is kept for each, and the ratio is best / best): ``register`` against
``pickle.dump`` to a file then sha256 of it (and the same with an fsync); ``verify``
against ``hashlib.file_digest`` of the blob; ``load`` (joblib) against ``hashlib.file_digest``
of the file then ``joblib.load(path)`` (what a careful user writes; reading the file into
``bytes`` first would hold a second copy), and ``load`` (bytes) against reading the file
and hashing those bytes. Reads run with the file in the page cache (warm) and with its
pages dropped by fsync and ``posix_fadvise(DONTNEED)`` just before (fresh). Beside them,
"touch 1 GiB" (read 1 GiB of a cached file into a new object) shows what this machine
charges for memory a load must fill, and "copy 1 GiB" (into one reused buffer) its memory
bandwidth.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

MiB = 2**20
GiB = 2**30
CHUNK = 8 * MiB
MEMORY_TARGET = 64 * MiB
TIME_FACTOR = 1.5
LOOKUP_TARGET_MS = 2.0
NAME = "bench"
SERIALIZERS = ("joblib", "bytes")
COLD = "not in page cache"
COLD_SHA = f"sha256, {COLD}"
TOUCH_FRESH = "touch: read the cached source into a new object, fresh process"
DESERIALISE = "deserialise alone, no check"
REPEATED = "4th in one process"
#: Steps that read the artifact: on S3 they are compared with max(s3fs get, sha256).
READS = ("load+verify", "verify alone", "s3fs get", DESERIALISE, "touch")
SEED = 20260


def parse_size(text: str) -> int:
    """``"1GiB"``, ``"64MiB"``, ``"512k"`` or a plain number of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1GiB, 64MiB, 4096)")
    number, unit = float(match.group(1)), match.group(2)
    return int(number * 1024 ** " kmgt".index(unit or " "))


def human(n: float) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


# --- child processes: one step each, so that its memory is its own ------------------------


def _memory() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) of this process, in bytes."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak *= 1 if sys.platform == "darwin" else 1024
        return peak, peak
    kib = {k: int(v.split()[0]) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.+)$", status, re.M)}
    return kib["VmRSS"] * 1024, kib["VmHWM"] * 1024


def _reset_peak() -> None:
    # Linux >= 4.0: writing 5 resets the peak RSS to the current RSS. Elsewhere the peak
    # keeps what the set-up touched, which is why the model is built without temporaries.
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _array(size: int, round_: int) -> Any:
    import numpy as np

    array = np.empty(size // 8)
    np.random.default_rng(SEED).random(out=array)  # in place: no temporary copy
    array[0] = round_  # new bytes each round: nothing is deduplicated
    return array


def set_cached(path: Path, cached: bool) -> None:
    """Bring a local file into the page cache, or drop it from there."""
    with open(path, "rb") as f:
        if cached:
            while f.read(CHUNK):
                pass
        else:
            # DONTNEED drops only clean pages: write the dirty ones back first, or a file
            # just written stays cached and the "not in page cache" figure reads memory.
            os.fsync(f.fileno())
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def child(args: argparse.Namespace) -> None:
    """Run one step once; print its seconds and peak RSS growth as JSON.

    The step runs in a process of its own, so its memory is its own. Unless ``--cold``,
    the process first does the same kind of work on something tiny (registers a small
    artifact, or reads the version's record), so that what is measured is the step and
    not a one-off start-up cost: an S3 client, the writability probe, imports. Dirty pages
    are written back first (``os.sync``), and ``--drop`` names the previous round's blob,
    removed before writing again as the ``cp`` baseline removes its previous copy (see
    baselines()). ``--cache warm`` or ``cold`` puts a local blob in the page cache before a
    load, as the baseline's file is, or drops it from there.
    """
    if args.child == "moto":
        serve_moto(args.port)
        return
    if args.child == "touch":
        # The machine's price for memory a load must fill: read a cached file of the
        # artifact's size into a new object, in a fresh process as each load runs.
        set_cached(Path(args.url), True)
        before, _ = _memory()
        _reset_peak()
        started = time.perf_counter()
        with open(args.url, "rb") as f:
            data = f.read()
        seconds = time.perf_counter() - started
        _, peak = _memory()
        print(json.dumps({"seconds": seconds, "growth": peak - before - len(data)}))
        return
    import modelship as ms

    reg = ms.open_registry(args.url, **json.loads(args.options))
    array = _array(args.size, args.round) if args.child == "register" else None
    if not args.cold:
        if args.child == "register":
            reg.register(model_name="warm-up", model=b"w", serializer="bytes", lineage={})
        else:
            reg.get(NAME, args.version)
    if args.drop:
        reg.store.delete(args.drop)
    blob_path: Path | None = None
    if args.cache:
        blob = reg.get(NAME, args.version).artifact.hexdigest
        blob_path = Path(args.url, "blobs", "sha256", blob[:2], blob)
        set_cached(blob_path, args.cache == "warm")
    result: dict[str, Any] = {"object_size": 0}
    os.sync()
    before, _ = _memory()
    _reset_peak()
    started = time.perf_counter()
    if args.child == "register":
        assert array is not None
        model = array if args.serializer == "joblib" else memoryview(array).cast("B")
        mv = reg.register(
            model_name=NAME, model=model, serializer=args.serializer, lineage={}, progress=False
        )
        result["version"] = mv.version
        result["blob"] = f"blobs/sha256/{mv.artifact.hexdigest[:2]}/{mv.artifact.hexdigest}"
    elif args.child in ("load", "deserialise"):
        # With --repeat N, the step runs N times in this process and the last is timed:
        # a serving process that loads again, its memory no longer fresh to it.
        for _ in range(max(args.repeat, 1)):
            started = time.perf_counter()
            if args.child == "load":
                obj = reg.load(NAME, args.version, progress=False)
            else:  # what any loader of the file pays, without checking it first
                assert blob_path is not None, "deserialise needs --cache and a local registry"
                with open(blob_path, "rb") as f:
                    obj = ms.registry.get_serializer(args.serializer).load(f)
            result["object_size"] = obj.nbytes if hasattr(obj, "nbytes") else len(obj)
            del obj
    else:
        reg.verify(NAME, args.version)
    result["seconds"] = time.perf_counter() - started
    _, peak = _memory()
    result["growth"] = peak - before - result["object_size"]
    print(json.dumps(result))


def run_child(step: str, store: Store, **extra: Any) -> dict[str, Any]:
    os.sync()
    command = [sys.executable, __file__, "--child", step, "--url", store.url]
    command += ["--options", json.dumps(store.options)]
    for key, value in extra.items():
        command += [f"--{key}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark step {step} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- moto's S3 server, in its own process so that it does not share our GIL ----------------


def serve_moto(port: int) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    sys.stdin.readline()  # until the parent closes our stdin
    server.stop()


@contextmanager
def moto_server() -> Iterator[dict[str, Any]]:
    """Start moto's S3 server; yield s3fs storage options for a fresh bucket."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "moto", "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("moto's S3 server did not start")
        options = {
            "key": "bench",
            "secret": "bench",
            "client_kwargs": {
                "endpoint_url": f"http://127.0.0.1:{port}",
                "region_name": "us-east-1",
            },
        }
        import boto3

        boto3.client(
            "s3",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            **options["client_kwargs"],
        ).create_bucket(Bucket="modelship-bench")
        yield options
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=30)


class Store:
    """Where a benchmark registry lives."""

    def __init__(self, label: str, url: str, options: dict[str, Any]) -> None:
        self.label, self.url, self.options = label, url, options

    def sub(self, name: str) -> Store:
        return Store(self.label, f"{self.url.rstrip('/')}/{name}", self.options)


# --- part 1: one big artifact ---------------------------------------------------------------


def once(fn: Callable[[], Any], setup: Callable[[], Any] = lambda: None) -> float:
    """Seconds of one call of ``fn``, after ``setup`` and ``os.sync()``."""
    setup()
    os.sync()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def write_source(path: Path, size: int) -> None:
    import numpy as np

    rng = np.random.default_rng(SEED)
    with open(path, "wb") as f:
        for start in range(0, size, CHUNK):
            f.write(rng.bytes(min(CHUNK, size - start)))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_and_fsync(dst: Path, size: int) -> None:
    """What any writer in Python pays: ``size`` bytes in 8 MiB writes to a new file, fsync."""
    block = os.urandom(CHUNK)
    with open(dst, "wb") as f:
        for start in range(0, size, CHUNK):
            f.write(block[: min(CHUNK, size - start)])
        f.flush()
        os.fsync(f.fileno())


class Baselines:
    """The reference steps on a file of ``size``: hash it, and copy it (cp locally, s3fs on S3).

    Each copy first deletes the previous one, as each register round deletes the artifact
    stored the round before: every writer then fills page-cache memory that was just
    freed. On VMs that hand freed memory back to the host, writing into memory that was
    never touched is several times slower (here up to ~2.5 s per GiB instead of ~0.25 s),
    and the figures would measure that instead of the code.
    """

    def __init__(self, store: Store, size: int, work: Path) -> None:
        self.store = store
        self.src, self.dst = work / "source.bin", work / "copy.bin"
        self.size = size
        write_source(self.src, size)
        sha256_file(self.src)  # warm the page cache, as the model is in memory for register
        self.fs: Any = None
        if store.label != "local":
            import s3fs

            self.fs = s3fs.S3FileSystem(**store.options)
            self.remote = f"{store.url.removeprefix('s3://')}/baseline.bin"

    def fresh(self) -> None:
        self.dst.unlink(missing_ok=True)

    def cp(self, fsync: bool = False) -> None:
        subprocess.run(["cp", str(self.src), str(self.dst)], check=True)
        if fsync:
            fsync_file(self.dst)

    def round(self) -> dict[str, float]:
        """Seconds of each reference step, once."""
        out = {}
        if self.fs is None:
            set_cached(self.src, False)
            out[COLD_SHA] = once(lambda: sha256_file(self.src))
        out["sha256"] = once(lambda: sha256_file(self.src))
        if self.fs is None:
            out["cp"] = once(self.cp, self.fresh)
            out["cp + fsync"] = once(lambda: self.cp(fsync=True), self.fresh)
            out["write + fsync (Python)"] = once(
                lambda: write_and_fsync(self.dst, self.size), self.fresh
            )
        else:
            out["s3fs put"] = once(lambda: self.fs.put_file(str(self.src), self.remote))
            out["s3fs get"] = once(lambda: self.fs.get_file(self.remote, str(self.dst)), self.fresh)
        out[TOUCH_FRESH] = run_child("touch", Store("touch", str(self.src), {}))["seconds"]
        return out

    def close(self) -> None:
        if self.fs is not None:
            self.fs.rm_file(self.remote)
        self.dst.unlink(missing_ok=True)
        self.src.unlink()


def load_both_ways(
    reg: Store, version: str, serializer: str, round_: int, repeat: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A cached local blob loaded by ``load`` (verified) and by its serializer alone.

    Which of two processes in a row finds memory the previous one just freed is luck on
    this kind of VM, and a 1 GiB object costs 0.15 s or 2 s to allocate accordingly: the
    two go first in turn, round by round. With ``repeat``, each is the last of that many
    in one process.
    """
    extra = {"repeat": repeat} if repeat else {}
    steps = {
        "load": lambda: run_child("load", reg, version=version, cache="warm", **extra),
        "deserialise": lambda: run_child(
            "deserialise", reg, version=version, cache="warm", serializer=serializer, **extra
        ),
    }
    order = ["load", "deserialise"] if round_ % 2 == 0 else ["deserialise", "load"]
    got = {step: steps[step]() for step in order}
    return got["load"], got["deserialise"]


def seconds_text(value: float) -> str:
    """Seconds with three decimals, or five for what a quick run makes that short."""
    return f"{value:.3f}" if value >= 0.01 else f"{value:.5f}"


def spread(values: Sequence[float]) -> str:
    """``median (min to max)`` of ratios."""
    return f"{statistics.median(values):.2f}x ({min(values):.2f} to {max(values):.2f})"


def bench_artifact(
    store: Store, size: int, work: Path, rounds: int, serializers: Sequence[str] = SERIALIZERS
) -> tuple[list[list[str]], list[str], list[str]]:
    """Rows of the artifact table, notes, and the verdicts on the targets.

    The steps are interleaved: each round measures every baseline once, then registers,
    loads and verifies with each serializer, each step in a fresh process. The machine's
    speed drifts over minutes (page cache, the host's memory), so a ratio is taken within
    each round, against that round's reference, and the median of the per-round ratios
    is judged; the table also shows their range and the median and fastest seconds.
    """
    base = Baselines(store, size, work)
    copy = "cp" if store.label == "local" else "s3fs put"
    read_copy = "cp" if store.label == "local" else "s3fs get"
    seconds: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    growth: dict[str, int] = {}
    regs = {serializer: store.sub(f"artifact-{serializer}") for serializer in serializers}
    blobs: dict[str, str] = {}
    # load+verify against checking then deserialising one after the other (the sum), and
    # against the two overlapped perfectly (the larger of the two)
    floors: dict[tuple[str, str], dict[str, list[float]]] = {}
    try:
        for round_ in range(rounds):
            measured = base.round()
            reference = max(measured[copy], measured["sha256"])
            cold_reference = max(measured[copy], measured.get(COLD_SHA, 0.0))
            # On S3 a load or a verify downloads: its reference is the download, not the upload.
            read_reference = max(measured[read_copy], measured["sha256"])
            for serializer, reg in regs.items():
                registered = run_child(
                    "register",
                    reg,
                    size=size,
                    serializer=serializer,
                    round=round_,
                    drop=blobs.get(serializer, ""),
                )
                blobs[serializer] = registered["blob"]
                version = registered["version"]
                measured[f"register ({serializer})"] = registered["seconds"]
                if store.label == "local":
                    loaded, alone = load_both_ways(reg, version, serializer, round_)
                    measured[f"{DESERIALISE} ({serializer})"] = alone["seconds"]
                    measured[f"load+verify ({serializer})"] = loaded["seconds"]
                    again, again_alone = load_both_ways(reg, version, serializer, round_, 4)
                    measured[f"{DESERIALISE} ({serializer}, {REPEATED})"] = again_alone["seconds"]
                    measured[f"load+verify ({serializer}, {REPEATED})"] = again["seconds"]
                    for label, one, other in (("", loaded, alone), (REPEATED, again, again_alone)):
                        parts = (measured["sha256"], other["seconds"])
                        floor = floors.setdefault((serializer, label), {"sum": [], "max": []})
                        floor["sum"].append(one["seconds"] / sum(parts))
                        floor["max"].append(one["seconds"] / max(parts))
                else:
                    loaded = run_child("load", reg, version=version)
                cache = "warm" if store.label == "local" else ""
                verified = run_child("verify", reg, version=version, cache=cache)
                for step, got in (("load+verify", loaded), ("verify alone", verified)):
                    measured[f"{step} ({serializer})"] = got["seconds"]
                if store.label == "local":
                    uncached = run_child("load", reg, version=version, cache="cold")
                    measured[f"load+verify ({serializer}, {COLD})"] = uncached["seconds"]
                for step, got in (("register", registered), ("load+verify", loaded)):
                    key = f"{step} ({serializer})"
                    growth[key] = max(growth.get(key, 0), got["growth"])
            for step, value in measured.items():
                seconds.setdefault(step, []).append(value)
                if COLD in step:
                    base_time = cold_reference
                elif step.startswith(READS):
                    base_time = read_reference
                else:
                    base_time = reference
                ratios.setdefault(step, []).append(value / base_time)
        # A process's first registration also sets up what later ones reuse.
        cold = run_child(
            "register", regs["bytes"], size=size, serializer="bytes", round=rounds, cold=1
        )
    finally:
        base.close()

    rows, notes, verdicts = [], [], []
    for step, values in seconds.items():
        median = statistics.median(values)
        row = [store.label, step, seconds_text(median), seconds_text(min(values))]
        row += [f"{size / median / MiB:,.0f}", spread(ratios[step])]
        if step in growth:
            fits = growth[step] < MEMORY_TARGET
            row += [human(growth[step]), "PASS" if fits else "MISS"]
            verdicts.append(
                f"{store.label} {step} peak RSS growth under {human(MEMORY_TARGET)} (largest "
                f"of {rounds} rounds): {'PASS' if fits else 'MISS'} ({human(growth[step])})"
            )
        else:
            row += ["", ""]
        rows.append(row)
        if step.startswith(("register", "load+verify")) and store.label == "local":
            ratio = statistics.median(ratios[step])
            reference_name = f"max(cp, {COLD_SHA})" if COLD in step else "max(cp, sha256)"
            verdicts.append(
                f"local {step}, {human(size)}, within {TIME_FACTOR}x {reference_name} (median "
                f"of {rounds} per-round ratios): {'PASS' if ratio <= TIME_FACTOR else 'MISS'} "
                f"({ratio:.2f}x)"
            )
    for (serializer, label), values in floors.items():
        which = f"{serializer}, {label}" if label else serializer
        notes.append(
            f"{store.label}: load+verify ({which}) took {spread(values['sum'])} of sha256 "
            f"plus deserialising alone (checking, then deserialising) and "
            f"{spread(values['max'])} of the larger of the two (both at once), per round"
        )
    notes.append(
        f"{store.label}: the first registration in a fresh process (no warm-up) grew the "
        f"peak RSS by {human(cold['growth'])} and took {cold['seconds']:.3f} s; the table's "
        "figures are for a process that has registered once before"
    )
    return rows, notes, verdicts


# --- part 2: look-ups among many versions ---------------------------------------------------


def latencies(fn: Callable[[], Any], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def median_p95(ms: Sequence[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f}"


def bench_lookups(
    store: Store, levels: Sequence[int], calls: int
) -> tuple[list[list[str]], list[str], list[str]]:
    import modelship as ms

    reg = ms.open_registry(store.sub("lookups").url, **store.options)
    made = 0
    counter = iter(range(10**9))

    def register_one() -> None:
        n = next(counter)
        reg.register(
            model_name=NAME,
            model=f"tiny model {n}".encode(),
            serializer="bytes",
            metrics={"n": n},
            lineage={},
            progress=False,
        )

    rows, notes, verdicts = [], [], []
    medians: dict[str, list[float]] = {"latest": [], "alias": [], "register": []}
    creating, created = 0.0, 0
    for level in levels:
        started = time.perf_counter()
        while made < level:
            register_one()
            made += 1
            created += 1
        creating += time.perf_counter() - started
        reg.set_alias(NAME, "production", str(level // 2))
        latest = latencies(lambda: reg.get(NAME, "latest"), calls)
        alias = latencies(lambda: reg.get(NAME, "@production"), calls)
        listing = latencies(lambda: reg.versions(NAME), max(3, min(calls, 20_000 // level)))
        more = latencies(register_one, max(5, calls // 15))
        made += len(more)
        medians["latest"].append(statistics.median(latest))
        medians["alias"].append(statistics.median(alias))
        medians["register"].append(statistics.median(more))
        rows.append(
            [
                store.label,
                f"{level:,}",
                median_p95(latest),
                median_p95(alias),
                median_p95(listing),
                median_p95(more),
            ]
        )
    notes.append(
        f"{store.label}: made {created:,} versions with register() in a loop in "
        f"{creating:.1f} s ({creating / created * 1000:.2f} ms each)"
    )
    for what, values in medians.items():
        ratio = values[-1] / values[0]
        flat = ratio <= 2.0
        verdicts.append(
            f"{store.label} {what} flat from {levels[0]:,} to {levels[-1]:,} versions "
            f"(median ratio <= 2): {'PASS' if flat else 'MISS'} ({ratio:.2f}x)"
        )
    if store.label == "local":
        for what in ("latest", "alias"):
            worst = max(medians[what])
            verdicts.append(
                f"local {what} under {LOOKUP_TARGET_MS} ms at every size (median): "
                f"{'PASS' if worst < LOOKUP_TARGET_MS else 'MISS'} ({worst:.2f} ms)"
            )
    return rows, notes, verdicts


# --- part 3: the byte path, subject and baseline interleaved in one process (issue 11) ------

BYTE_PATH_TARGETS = {"verify": 1.05, "load": 1.1, "register": 1.3}
FRESH, WARM = "fresh", "warm"


def drop_cache(path: Path) -> None:
    """Drop a file's pages from the page cache: fsync (DONTNEED drops only clean pages), then
    ``posix_fadvise(DONTNEED)``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm_cache(path: Path) -> None:
    buffer = bytearray(2**18)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buffer):
            pass


def file_sha256(path: Path) -> str:
    """Plain hashlib: ``hashlib.file_digest`` of the file (3.11+), else an 8 MiB loop."""
    with open(path, "rb") as f:
        if hasattr(hashlib, "file_digest"):
            return hashlib.file_digest(f, "sha256").hexdigest()
    return sha256_file(path)


def by_hand_load(path: Path) -> bytes:
    """Raw bytes, checked by hand: read the file once and hash those bytes."""
    with open(path, "rb") as f:
        data = f.read()
    hashlib.sha256(data).hexdigest()
    return data


def check_then_load(path: Path, loader: Callable[[Path], Any]) -> Any:
    """What a careful user writes: ``hashlib.file_digest`` of the file, then load the path.

    No second copy of the file in memory (reading it into ``bytes`` and unpickling from a
    ``BytesIO`` would hold one, and be slower for it).
    """
    file_sha256(path)
    return loader(path)


def dump_and_hash(model: Any, path: Path, *, fsync: bool) -> str:
    """``pickle.dump`` to a new file (optionally fsynced), then sha256 of that file."""
    import pickle

    path.unlink(missing_ok=True)
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    return file_sha256(path)


class _BytePath:
    """One model size: a registry, the model, and the best seconds of every step."""

    def __init__(self, work: Path, size: int, probe: Path) -> None:
        import modelship as ms

        self.size, self.work, self.probe = size, work, probe
        self.reg = ms.open_registry(str(work / f"byte-path-{size}"))
        self.array = _array(size, 0)
        self.pickled = work / "by-hand.pkl"
        self.best: dict[str, float] = {}
        self.versions: dict[str, str] = {}
        self.blobs: dict[str, Path] = {}

    def timed(self, label: str, fn: Callable[[], Any], setup: Callable[[], Any]) -> None:
        import gc

        setup()
        gc.collect()
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        del result
        self.best[label] = min(self.best.get(label, float("inf")), elapsed)

    def _blob(self, mv: Any) -> Path:
        digest = mv.artifact.hexdigest
        return Path(self.reg.url, "blobs", "sha256", digest[:2], digest)

    def register(self) -> Any:
        mv = self.reg.register(model_name=NAME, model=self.array, lineage={}, progress=False)
        self.versions["joblib"], self.blobs["joblib"] = mv.version, self._blob(mv)
        return mv

    def register_bytes(self) -> None:
        raw = memoryview(self.array).cast("B")
        mv = self.reg.register(
            model_name=f"{NAME}-bytes", model=raw, serializer="bytes", lineage={}, progress=False
        )
        self.versions["bytes"], self.blobs["bytes"] = mv.version, self._blob(mv)

    def forget_blob(self) -> None:
        """Remove the last round's blob, as the baseline removes its last file."""
        if "joblib" in self.blobs:
            self.blobs["joblib"].unlink(missing_ok=True)
        os.sync()

    def forget_pickle(self) -> None:
        self.pickled.unlink(missing_ok=True)
        os.sync()

    def touch_gib(self) -> bytes:
        with open(self.probe, "rb") as f:
            return f.read()

    def round(self, round_: int) -> None:
        self.array[0] = round_ + 1  # new bytes each round: register never deduplicates
        writes: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            ("register", self.register, self.forget_blob),
            (
                "pickle.dump + sha256 of the file",
                lambda: dump_and_hash(self.array, self.pickled, fsync=False),
                self.forget_pickle,
            ),
            (
                "pickle.dump + fsync + sha256",
                lambda: dump_and_hash(self.array, self.pickled, fsync=True),
                self.forget_pickle,
            ),
        ]
        for label, fn, setup in writes if round_ % 2 == 0 else writes[::-1]:
            self.timed(label, fn, setup)
        if "bytes" not in self.versions:
            self.register_bytes()
        for cache in (WARM, FRESH):
            self._reads(cache, round_)
        self.timed(TOUCH, self.touch_gib, lambda: warm_cache(self.probe))
        self.timed(COPY, lambda: warm_cache(self.probe), lambda: None)

    def _reads(self, cache: str, round_: int) -> None:
        """verify and load, against their baselines, with the page cache ``cache``."""
        import joblib

        blob, raw = self.blobs["joblib"], self.blobs["bytes"]
        reg, versions = self.reg, self.versions
        put = warm_cache if cache == WARM else drop_cache
        steps: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            (f"verify, {cache}", lambda: reg.verify(NAME, versions["joblib"]), lambda: put(blob)),
            (f"{SHA}, {cache}", lambda: file_sha256(blob), lambda: put(blob)),
            (
                f"{LOAD}, {cache}",
                lambda: reg.load(NAME, versions["joblib"], progress=False),
                lambda: put(blob),
            ),
            (f"{BY_HAND}, {cache}", lambda: check_then_load(blob, joblib.load), lambda: put(blob)),
            (f"{ALONE}, {cache}", lambda: joblib.load(blob), lambda: put(blob)),
            (
                f"{LOAD_BYTES}, {cache}",
                lambda: reg.load(f"{NAME}-bytes", versions["bytes"], progress=False),
                lambda: put(raw),
            ),
            (f"{BY_HAND_BYTES}, {cache}", lambda: by_hand_load(raw), lambda: put(raw)),
        ]
        for label, fn, setup in steps if round_ % 2 == 0 else steps[::-1]:
            self.timed(label, fn, setup)

    def close(self) -> None:
        self.pickled.unlink(missing_ok=True)
        shutil.rmtree(self.reg.url, ignore_errors=True)


SHA = "hashlib sha256 of the file"
LOAD = "load (joblib)"
BY_HAND = "file sha256, then joblib.load(path)"
ALONE = "joblib.load(path) alone"
LOAD_BYTES = "load (bytes)"
BY_HAND_BYTES = "read + sha256 (bytes)"
DUMP = "pickle.dump + sha256 of the file"
TOUCH = "touch 1 GiB (read a cached file into a new object)"
COPY = "copy 1 GiB (read a cached file into one reused buffer)"


def bench_byte_path(
    sizes: Sequence[int], rounds: int, work: Path
) -> tuple[list[list[str]], list[str], list[str]]:
    """Register, verify and load against plain-Python baselines, interleaved in one process.

    Each round runs every subject and its baseline once, alternating which goes first,
    with the page cache warm (the file was just read) or fresh (``posix_fadvise(DONTNEED)``
    on the file, just before). The best of the rounds is kept for each, and the ratio is
    best subject / best baseline. Beside them, "touch 1 GiB" reads 1 GiB of a cached file
    into a new object (what the machine charges for memory a load must fill) and "copy
    1 GiB" reads it into one reused buffer (its memory bandwidth).
    """
    rows: list[list[str]] = []
    notes: list[str] = []
    verdicts: list[str] = []
    probe = work / "touch.bin"
    write_source(probe, GiB)
    judged = [
        ("register", "register", DUMP),
        *[("verify", f"verify, {c}", f"{SHA}, {c}") for c in (WARM, FRESH)],
        *[("load", f"{LOAD}, {c}", f"{BY_HAND}, {c}") for c in (WARM, FRESH)],
        *[("load", f"{LOAD_BYTES}, {c}", f"{BY_HAND_BYTES}, {c}") for c in (WARM, FRESH)],
    ]
    against = {subject: baseline for _, subject, baseline in judged}
    for size in sizes:
        one = _BytePath(work, size, probe)
        try:
            for round_ in range(rounds):
                one.round(round_)
        finally:
            one.close()
        best = one.best
        del one
        for label, seconds in best.items():
            baseline = against.get(label)
            shown = f"{seconds / best[baseline]:.2f}x {baseline}" if baseline else ""
            moved = GiB if label in (TOUCH, COPY) else size
            rows.append(
                [human(size), label, seconds_text(seconds), f"{moved / seconds / MiB:,.0f}", shown]
            )
        for kind, subject, baseline in judged:
            limit = BYTE_PATH_TARGETS[kind]
            got = best[subject] / best[baseline]
            verdicts.append(
                f"{human(size)} {subject} <= {limit}x {baseline}: "
                f"{'PASS' if got <= limit else 'MISS'} ({got:.2f}x)"
            )
        for cache in (WARM, FRESH):
            floor = max(best[f"{SHA}, {cache}"], best[f"{ALONE}, {cache}"])
            notes.append(
                f"{human(size)} {cache}: {LOAD} is {best[f'{LOAD}, {cache}'] / floor:.2f}x "
                f"max({SHA}, {ALONE}), the floor of hashing and deserialising at once "
                "(issue 11's reference)"
            )
        durable = best["register"] / best["pickle.dump + fsync + sha256"]
        notes.append(
            f"{human(size)}: register is {durable:.2f}x pickle.dump + fsync + sha256 (register "
            "makes the blob durable before it commits)"
        )
    probe.unlink()
    return rows, notes, verdicts


# --- output ---------------------------------------------------------------------------------


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([f"### {title}", "", line(headers), rule, *map(line, rows), ""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=GiB, help="artifact size (1GiB)")
    parser.add_argument("--versions", default="100,1000,10000", help="version counts")
    parser.add_argument("--calls", type=int, default=300, help="calls per look-up figure")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the artifact steps")
    parser.add_argument("--s3-size", type=parse_size, default=64 * MiB)
    parser.add_argument("--s3-versions", default="100,1000")
    parser.add_argument("--no-s3", action="store_true", help="skip moto's S3 server")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--dir", default=None, help="work folder (default: a temp folder)")
    parser.add_argument(
        "--byte-path",
        action="store_true",
        help="only the byte path: register, verify, load against plain Python, in one process",
    )
    parser.add_argument(
        "--byte-path-sizes", default="64MiB,256MiB,1GiB", help="model sizes for the byte path"
    )
    for hidden in (
        "--child",
        "--url",
        "--options",
        "--serializer",
        "--version",
        "--drop",
        "--cache",
    ):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    for hidden in ("--port", "--round", "--cold", "--repeat"):
        parser.add_argument(hidden, type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.quick:
        # A smoke run: every table and verdict of the full run, at sizes that only show
        # that each step runs (a few versions and calls; moto's server answers ~20
        # requests a second under a loaded CI, and each S3 look-up takes several). On S3
        # only the bytes serializer: a serializer runs the same store calls whichever it
        # is, and joblib's steps run on the local disk; each S3 step is a fresh process
        # (~2 s each of imports and requests: joblib's three there were a fifth of the run).
        args.size, args.s3_size = 8 * MiB, 1 * MiB
        args.versions, args.s3_versions, args.calls, args.rounds = "4,8", "2,4", 5, 1
    if args.byte_path:
        return byte_path_main(args)
    levels = [int(v) for v in args.versions.split(",")]
    s3_levels = [int(v) for v in args.s3_versions.split(",")]

    started, load_before = time.perf_counter(), os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="modelship-bench-", dir=args.dir))
    artifact_rows: list[list[str]] = []
    lookup_rows: list[list[str]] = []
    notes: list[str] = []
    verdicts: list[str] = []
    try:
        local = Store("local", str(work / "registry"), {})
        rows, n, v = bench_artifact(local, args.size, work, args.rounds)
        artifact_rows += rows
        notes += n
        verdicts += v
        rows, n, v = bench_lookups(local, levels, args.calls)
        lookup_rows += rows
        notes += n
        verdicts += v
        if not args.no_s3:
            with moto_server() as options:
                s3 = Store("s3", "s3://modelship-bench/registry", options)
                serializers = ("bytes",) if args.quick else SERIALIZERS
                rows, n, v = bench_artifact(s3, args.s3_size, work, args.rounds, serializers)
                artifact_rows += rows
                notes += n
                verdicts += v
                s3_calls = 3 if args.quick else max(10, args.calls // 3)
                rows, n, v = bench_lookups(s3, s3_levels, s3_calls)
                lookup_rows += rows
                notes += n
                verdicts += v
    finally:
        shutil.rmtree(work, ignore_errors=True)

    sizes = human(args.size)
    if not args.no_s3:
        sizes += f" local, {human(args.s3_size)} on S3; S3 is moto's server on 127.0.0.1"
    print(
        table(
            f"One artifact ({sizes})",
            [
                "store",
                "step",
                "median s",
                "fastest s",
                "MiB/s",
                "vs reference, per round: median (range)",
                "peak RSS growth",
                "< 64 MiB",
            ],
            artifact_rows,
        )
    )
    print(
        table(
            "Look-ups among many versions: median / p95 in ms",
            ["store", "versions", "get latest", "get @production", "versions()", "register one"],
            lookup_rows,
        )
    )
    print(
        "- reference: max(cp, sha256) of the same size locally (the target applies there); "
        "on S3, max(s3fs put, sha256) for register and s3fs put, and max(s3fs get, sha256) "
        "for load+verify, verify alone, s3fs get and touch"
    )
    print(
        "- touch: a fresh process reads the cached source file (the artifact's size) into a "
        "new object: what this machine charges for the memory a load must fill, beside the "
        "load figures"
    )
    print(
        "- peak RSS growth: the step's peak minus the process's RSS just before it (holding "
        "the model to register); for load+verify, beyond the loaded object's own size"
    )
    for note in notes:
        print(f"- {note}")
    print(
        f"- platform: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}; "
        f"1-minute load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at "
        "the end (other work on the machine slows every figure)"
    )
    print(f"- whole run: {time.perf_counter() - started:.1f} s")
    print()
    print("### Targets")
    for verdict in verdicts:
        print(f"- {verdict}")
    return 0


def byte_path_main(args: argparse.Namespace) -> int:
    """Run and print only the byte-path section."""
    sizes = [8 * MiB] if args.quick else [parse_size(v) for v in args.byte_path_sizes.split(",")]
    rounds = 2 if args.quick else max(args.rounds, 5)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="modelship-bench-", dir=args.dir))
    try:
        rows, notes, verdicts = bench_byte_path(sizes, rounds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        table(
            f"The byte path, one process, subject and baseline interleaved (best of {rounds})",
            ["model", "step", "best s", "MiB/s", "vs baseline (best / best)"],
            rows,
        )
    )
    print(
        "- warm: the file was just read (in the page cache); fresh: its pages were dropped "
        "with posix_fadvise(DONTNEED) just before. The model is a float64 numpy array, "
        "registered with joblib (and the same bytes with the bytes serializer)"
    )
    for note in notes:
        print(f"- {note}")
    print(
        f"- platform: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}; "
        f"1-minute load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at "
        "the end (other work on the machine slows every figure; ratios are within one run)"
    )
    print(f"- whole run: {time.perf_counter() - started:.1f} s")
    print()
    print("### Targets (issue 11)")
    for verdict in verdicts:
        print(f"- {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
