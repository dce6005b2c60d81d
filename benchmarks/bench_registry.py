"""Registry speed: one big artifact, and look-ups among many versions; local disk and S3.

Usage::

    python benchmarks/bench_registry.py               # 1 GiB artifact, 10,000 versions
    python benchmarks/bench_registry.py --quick       # a smoke run of a few seconds
    python benchmarks/bench_registry.py --size 256MiB --no-s3

Everything is measured in one run and printed as tables, with issue 2's targets marked
PASS or MISS:

* register, then load+verify, one artifact (a float64 numpy array with the ``joblib``
  serializer, and the same bytes with ``bytes``): time and throughput against ``cp`` of a
  file of the same size, ``cp`` followed by an fsync of the copy (register fsyncs), 8 MiB
  writes from Python plus fsync, and ``hashlib.sha256`` of the file; target: register
  within 1.5x of ``max(cp, sha256)``. Each step runs in a child process that holds the
  model (or nothing, to load) before the step; its peak RSS growth during the step is
  measured (the peak is reset just before through ``/proc/self/clear_refs``). For loads,
  the growth beyond the loaded object's own size is reported. Target: under 64 MiB
  whatever the size.
* with 100, 1,000 and 10,000 versions of one model, all made with ``register``:
  ``get(name, "latest")``, ``get(name, "@production")``, ``versions(name)`` and
  registering one more (median and p95). Target: latest and alias under 2 ms on a local
  disk, and all but ``versions`` flat in the number of versions.
* the same on moto's S3 server (started by this script in its own process), smaller.

Every figure is the median of ``--repeat`` runs (3), each with a warm page cache and
after ``os.sync()``, so that no earlier step's write-back runs during the next one.
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


def _array(size: int) -> Any:
    import numpy as np

    array = np.empty(size // 8)
    np.random.default_rng(SEED).random(out=array)  # in place: no temporary copy
    return array


def child(args: argparse.Namespace) -> None:
    """Run one step ``repeat`` times; print its median seconds and peak RSS growth as JSON.

    Before each repetition dirty pages are written back (``os.sync``); a register
    repetition changes the model's first value, so that each stores new bytes.
    """
    if args.child == "moto":
        serve_moto(args.port)
        return
    import modelship as ms

    reg = ms.open_registry(args.url, **json.loads(args.options))
    array = _array(args.size) if args.child == "register" else None
    result: dict[str, Any] = {"object_size": 0}
    seconds = []
    stored: list[str] = []
    before, _ = _memory()
    _reset_peak()
    for _ in range(args.repeat):
        if stored:
            # As the cp baseline does: drop the previous output before writing again (see
            # baselines()). This breaks the previous version, which nothing reads again.
            reg.store.delete(stored.pop())
        os.sync()
        started = time.perf_counter()
        if args.child == "register":
            assert array is not None
            model = array if args.serializer == "joblib" else memoryview(array).cast("B")
            mv = reg.register(
                model_name=NAME, model=model, serializer=args.serializer, lineage={}, progress=False
            )
            result["version"] = mv.version
            stored.append(f"blobs/sha256/{mv.artifact.hexdigest[:2]}/{mv.artifact.hexdigest}")
            array[0] += 1.0
        elif args.child == "load":
            obj = reg.load(NAME, args.version, progress=False)
            result["object_size"] = obj.nbytes if hasattr(obj, "nbytes") else len(obj)
            del obj
        else:
            reg.verify(NAME, args.version)
        seconds.append(time.perf_counter() - started)
    _, peak = _memory()
    result["seconds"] = statistics.median(seconds)
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


def timed(fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] = lambda: None) -> float:
    """Median seconds of ``fn`` over ``repeat`` calls, each after ``setup`` and ``os.sync()``."""
    seconds = []
    for _ in range(repeat):
        setup()
        os.sync()
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


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


def baselines(store: Store, size: int, work: Path, repeat: int) -> dict[str, float]:
    """Median seconds to hash and to copy a file of ``size``: cp locally, s3fs on S3.

    Each copy first deletes the previous one, as the register step deletes the artifact
    it stored before: every writer then fills page-cache memory that was just freed. On
    VMs that hand freed memory back to the host, writing into memory that was never
    touched is several times slower (here up to ~2.5 s per GiB instead of ~0.25 s), and
    the figures would measure that instead of the code.
    """
    src, dst = work / "source.bin", work / "copy.bin"
    write_source(src, size)
    sha256_file(src)  # warm the page cache, as the model is in memory for register

    def fresh() -> None:
        dst.unlink(missing_ok=True)

    def cp(fsync: bool = False) -> None:
        subprocess.run(["cp", str(src), str(dst)], check=True)
        if fsync:
            fsync_file(dst)

    out = {"sha256": timed(lambda: sha256_file(src), repeat)}
    if store.label == "local":
        out["cp"] = timed(cp, repeat, fresh)
        out["cp + fsync"] = timed(lambda: cp(fsync=True), repeat, fresh)
        out["write + fsync (Python)"] = timed(lambda: write_and_fsync(dst, size), repeat, fresh)
    else:
        import s3fs

        fs = s3fs.S3FileSystem(**store.options)
        remote = f"{store.url.removeprefix('s3://')}/baseline.bin"
        out["s3fs put"] = timed(lambda: fs.put_file(str(src), remote), repeat)
        out["s3fs get"] = timed(lambda: fs.get_file(remote, str(dst)), repeat, fresh)
        fs.rm_file(remote)
    dst.unlink(missing_ok=True)
    src.unlink()
    return out


def bench_artifact(
    store: Store, size: int, work: Path, repeat: int
) -> tuple[list[list[str]], list[str]]:
    """Rows of the artifact table, and the verdicts on the targets (local only)."""
    base = baselines(store, size, work, repeat)
    copy = "cp" if store.label == "local" else "s3fs put"
    reference = max(base[copy], base["sha256"])
    rows, verdicts = [], []
    for label, seconds in base.items():
        rows.append([store.label, label, f"{seconds:.3f}", f"{size / seconds / MiB:,.0f}"])
        rows[-1] += ["", "", ""]
    for serializer in ("joblib", "bytes"):
        reg = store.sub(f"artifact-{serializer}")
        registered = run_child("register", reg, size=size, serializer=serializer, repeat=repeat)
        version = registered["version"]
        steps = [
            ("register", registered),
            ("load+verify", run_child("load", reg, version=version, repeat=repeat)),
            ("verify alone", run_child("verify", reg, version=version, repeat=repeat)),
        ]
        for step, got in steps:
            ratio = got["seconds"] / reference
            memory = "PASS" if got["growth"] < MEMORY_TARGET else "MISS"
            speed = ""
            if step == "register" and store.label == "local":
                speed = "PASS" if ratio <= TIME_FACTOR else "MISS"
                verdicts.append(
                    f"local register ({serializer}, {human(size)}) within {TIME_FACTOR}x "
                    f"max(cp, sha256): {speed} ({ratio:.2f}x)"
                )
            if step != "verify alone":
                verdicts.append(
                    f"{store.label} {step} ({serializer}) peak RSS growth under "
                    f"{human(MEMORY_TARGET)}: {memory} ({human(got['growth'])})"
                )
            rows.append(
                [
                    store.label,
                    f"{step} ({serializer})",
                    f"{got['seconds']:.3f}",
                    f"{size / got['seconds'] / MiB:,.0f}",
                    f"{ratio:.2f}x {speed}".strip(),
                    human(got["growth"]),
                    memory,
                ]
            )
    return rows, verdicts


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
    parser.add_argument("--repeat", type=int, default=3, help="runs per artifact figure")
    parser.add_argument("--s3-size", type=parse_size, default=64 * MiB)
    parser.add_argument("--s3-versions", default="100,1000")
    parser.add_argument("--no-s3", action="store_true", help="skip moto's S3 server")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--dir", default=None, help="work folder (default: a temp folder)")
    for hidden in ("--child", "--url", "--options", "--serializer", "--version", "--port"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.port = int(args.port or 0)
        child(args)
        return 0
    if args.quick:
        args.size, args.s3_size = 8 * MiB, 4 * MiB
        args.versions, args.s3_versions, args.calls, args.repeat = "10,40", "10,20", 20, 1
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
        rows, v = bench_artifact(local, args.size, work, args.repeat)
        artifact_rows += rows
        verdicts += v
        rows, n, v = bench_lookups(local, levels, args.calls)
        lookup_rows += rows
        notes += n
        verdicts += v
        if not args.no_s3:
            with moto_server() as options:
                s3 = Store("s3", "s3://modelship-bench/registry", options)
                rows, v = bench_artifact(s3, args.s3_size, work, args.repeat)
                artifact_rows += rows
                verdicts += v
                rows, n, v = bench_lookups(s3, s3_levels, max(10, args.calls // 3))
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
            ["store", "step", "seconds", "MiB/s", "vs reference", "peak RSS growth", "< 64 MiB"],
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
        "- reference: max(cp, sha256) of the same size locally (the target applies there), "
        "max(s3fs put, sha256) on S3"
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


if __name__ == "__main__":
    sys.exit(main())
