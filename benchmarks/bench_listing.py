"""Paged listings: the newest 100 versions of a model with 1,000 to 100,000 versions.

Usage::

    python benchmarks/bench_listing.py                 # 1k, 10k, 100k local; 1k, 10k on S3
    python benchmarks/bench_listing.py --quick         # a smoke run of a few seconds
    python benchmarks/bench_listing.py --no-s3 --versions 1000,100000

Registering 100,000 versions through ``register`` takes over an hour here (each commit
fsyncs three documents), so the fixture is built through the documented layout helpers
(:mod:`modelship.registry._layout`): one version is registered for real, then for each
further sequence number its slot (``slot_key``) and a copy of its manifest with that
version, sequence and registration id (``manifest_key``) are written as plain files (on S3,
as objects in batches), and the slot hint (``head_key``) is set. What a page reads is
then exactly what a registry of that many registrations holds.

For each size, in one process:

* ``page, first call``: ``versions(name, limit=100, order="newest")`` in a fresh process
  (imports done, the registry opened, nothing read yet), with no listing chunks stored
  yet (it reads the slots one by one and writes the chunks). Beside it, in the same fresh
  process just before, the first read of the baseline file below (``JSON file, first``;
  on S3 it also pays for starting the process's client).
* ``page, warm``: the same call again in this process, best of ``--rounds`` rounds.
* baselines, measured interleaved with the warm page in every round (best of each):
  ``sorted(os.listdir)`` of the ``versions/`` folder (the least a listing that starts
  from the folder must do; on S3, ``fs.ls`` of it), and reading and ``json.loads`` of one
  file holding 100 manifests (the least a page of 100 records can cost; a local file, or
  an object on S3, read through the registry's store as a page reads its chunks).
* ``versions(name)``, the full listing, warm (after the snapshot its first call writes),
  up to 10,000 versions.

Target (issue 11): the newest 100 in under 5 ms at 100,000 versions on the local disk.
The machine is shared with other jobs while this runs: absolute times are noisy, the
ratios to the baselines of the same round much less so.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_registry import moto_server, table

import modelship as ms
from modelship._json import canonical_json
from modelship.registry._layout import head_key, manifest_key, slot_key
from modelship.testing import HookStore

NAME = "m"
PAGE = 100
TARGET_MS = 5.0


def build(reg: ms.Registry, count: int, put_many: Callable[[dict[str, bytes]], None]) -> None:
    """Give ``reg`` ``count`` versions of NAME: one registered, the rest laid out directly."""
    first = reg.register(
        model_name=NAME, model=b"weights", serializer="bytes", metrics={"auc": 0.5}, lineage={}
    )
    batch: dict[str, bytes] = {}
    for seq in range(2, count + 1):
        registration = uuid.uuid4().hex
        mv = attrs.evolve(
            first,
            version=str(seq),
            sequence=seq,
            registration=registration,
            metrics={"auc": seq / count},
        )
        slot = {"version": mv.version, "registration": registration, "at": mv.created_at}
        batch[slot_key(NAME, seq)] = canonical_json({**slot, "at": slot["at"].isoformat()})
        batch[manifest_key(NAME, mv.version)] = mv.to_json().encode()
        if len(batch) >= 2000:
            put_many(batch)
            batch = {}
    put_many(batch)
    reg.store.replace(head_key(NAME), canonical_json({"n": count}))


def local_put_many(root: Path) -> Callable[[dict[str, bytes]], None]:
    def put(batch: dict[str, bytes]) -> None:
        for key, data in batch.items():
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    return put


def s3_put_many(fs: Any, root: str) -> Callable[[dict[str, bytes]], None]:
    def put(batch: dict[str, bytes]) -> None:
        if batch:
            fs.pipe({f"{root}/{key}": data for key, data in batch.items()})

    return put


def best_of(rounds: int, steps: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Run every step once per round, interleaved; the best time of each, in ms."""
    best = {label: float("inf") for label in steps}
    for _ in range(rounds):
        for label, step in steps.items():
            start = time.perf_counter()
            step()
            best[label] = min(best[label], (time.perf_counter() - start) * 1e3)
    return best


BASELINE_KEY = "bench-baseline/page-of-100.json"


def first_calls(url: str, options: dict[str, Any], count: int) -> None:
    """In a fresh process: time the first read of the baseline file, then the first page."""
    reg = ms.open_registry(url, **options)
    start = time.perf_counter()
    json.loads(reg.store.read(BASELINE_KEY))
    baseline = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    page = reg.versions(NAME, limit=PAGE, order="newest")
    first = (time.perf_counter() - start) * 1e3
    assert [mv.version for mv in page] == [str(n) for n in range(count, count - PAGE, -1)]
    print(json.dumps({"page, first call": first, "JSON file, first": baseline}))


def measure(
    url: str, options: dict[str, Any], count: int, rounds: int, listing: Callable[[], list[str]]
) -> dict[str, float]:
    reg = ms.open_registry(url, **options)
    one_file = json.dumps([json.loads(reg.store.read(manifest_key(NAME, "1")))] * PAGE).encode()
    reg.store.replace(BASELINE_KEY, one_file)  # a file (an object on S3), read from there
    done = subprocess.run(
        [sys.executable, __file__, "--first-call", url, json.dumps(options), str(count)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"the first call failed:\n{done.stderr}")
    first = json.loads(done.stdout.strip().splitlines()[-1])
    figures = best_of(
        rounds,
        {
            "page, warm": lambda: reg.versions(NAME, limit=PAGE, order="newest"),
            "list versions/ (sorted)": listing,
            "one JSON file of 100 manifests": lambda: json.loads(reg.store.read(BASELINE_KEY)),
        },
    )
    figures.update(first)
    # What a warm page asks of the store, one request each on S3 (a LIST with a prefix
    # there is served from S3's index; moto's server walks every key of the bucket).
    calls: collections.Counter[str] = collections.Counter()
    counted = ms.Registry(HookStore(reg.store, before=lambda op, key: calls.update([op])))
    counted.versions(NAME, limit=PAGE, order="newest")
    CALLS[(url, count)] = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    if count <= 10_000:
        reg.versions(NAME)  # its first call writes the snapshot the next ones read
        figures["versions(name), all, warm"] = best_of(
            max(1, rounds // 3), {"all": lambda: reg.versions(NAME)}
        )["all"]
    return figures


COLUMNS = [
    "page, first call",
    "JSON file, first",
    "page, warm",
    "list versions/ (sorted)",
    "one JSON file of 100 manifests",
    "versions(name), all, warm",
]


CALLS: dict[tuple[str, int], str] = {}


def row(store: str, url: str, count: int, figures: dict[str, float]) -> list[str]:
    cells = [f"{figures[c]:.2f}" if c in figures else "-" for c in COLUMNS]
    ratio = figures["page, warm"] / figures["list versions/ (sorted)"]
    return [store, f"{count:,}", *cells, f"{ratio:.3g}x", CALLS.get((url, count), "-")]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default="1000,10000,100000", help="local sizes")
    parser.add_argument("--s3-versions", default="1000,10000", help="sizes on moto's S3")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-s3", action="store_true", help="skip moto's S3 server")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--dir", default=None, help="work folder (default: a temp folder)")
    parser.add_argument("--first-call", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_call:
        url, options, count = args.first_call
        first_calls(url, json.loads(options), int(count))
        return 0
    if args.quick:
        args.versions, args.s3_versions, args.rounds = "300", "150", 3
    sizes = [int(n) for n in args.versions.split(",") if n]
    s3_sizes = [] if args.no_s3 else [int(n) for n in args.s3_versions.split(",") if n]
    work = Path(tempfile.mkdtemp(prefix="bench-listing-", dir=args.dir))
    rows = []
    try:
        for count in sizes:
            root = work / f"local-{count}"
            build(ms.open_registry(str(root)), count, local_put_many(root))
            versions = root / "models" / NAME / "versions"
            figures = measure(
                str(root), {}, count, args.rounds, lambda v=versions: sorted(os.listdir(v))
            )
            rows.append(row("local", str(root), count, figures))
            print(f"local {count}: {figures}", file=sys.stderr)
        if s3_sizes:
            with moto_server() as options:
                import s3fs

                fs = s3fs.S3FileSystem(**options, use_listings_cache=False)
                for count in s3_sizes:
                    url = f"s3://modelship-bench/listing-{count}"
                    build(ms.open_registry(url, **options), count, s3_put_many(fs, url[5:]))
                    folder = f"{url[5:]}/models/{NAME}/versions"
                    figures = measure(
                        url,
                        options,
                        count,
                        args.rounds,
                        lambda f=folder: sorted(fs.ls(f, detail=False, refresh=True)),
                    )
                    rows.append(row("s3 (moto)", url, count, figures))
                    print(f"s3 {count}: {figures}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        table(
            f"Newest {PAGE} versions (ms, best of {args.rounds}; baselines interleaved)",
            ["store", "versions", *COLUMNS, "page / listing", "store calls (warm page)"],
            rows,
        )
    )
    local = [r for r in rows if r[0] == "local"]
    if local:
        biggest = local[-1]
        warm = float(biggest[2 + COLUMNS.index("page, warm")])
        verdict = "PASS" if warm < TARGET_MS else "MISS"
        print("### Targets\n")
        print(
            f"newest {PAGE} of {biggest[1]} versions on local disk under {TARGET_MS} ms: "
            f"{verdict} ({warm:.2f} ms)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
