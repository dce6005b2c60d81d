"""Deploying locally: the router's added latency, and how fast a switch takes effect.

Two measurements, each with its baseline from the same run:

1. Latency and throughput with wrk (Debian's ``wrk``; 1 thread, 8 connections, one-row
   ``POST /predict``) on one ``modelship serve`` process directly (the baseline) and
   through the LocalDeployer's router in front of it, in interleaved rounds (medians).
   The router's cost is the p50 difference (target: under 1 ms).
2. Blue-green switch under continuous traffic (4 client threads): the time from the
   ``set_traffic`` call that switches to the completion of the last request the old
   version served ("all traffic on the new version"), over repeated switches back and
   forth, and the failed requests (target: none). After each switch the benchmark waits
   until the old slot is drained (every client has had an answer from the new version to
   a request sent after the switch, so each earlier request, however slow, has ended; at
   most 30 s, and a switch that took longer is counted) before reading the answers. The
   baseline is one request's own duration through the router, measured in the same
   traffic.

Run: ``python benchmarks/bench_deploy.py [--seconds 10] [--switches 20] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROW_FEATURES = 20
DRAIN_SECONDS = 30.0  # how long a switch may take to drain the old slot before it counts
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body!r}
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, script: Path, seconds: float) -> dict[str, float]:
    """Requests per second, p50/p99 in ms and failed requests, from wrk's report."""
    cmd = ["wrk", "-t1", "-c8", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script), url]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and p50 and p99):
        raise RuntimeError(f"cannot read wrk's report:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in errors.groups()) if errors else 0
    )
    return {
        "rps": float(rps.group(1)),
        "p50": _ms(p50.group(1)),
        "p99": _ms(p99.group(1)),
        "failed": failed,
    }


def sequential_ms(url: str, body: bytes, n: int) -> list[float]:
    """Milliseconds of ``n`` one-row requests sent one after another on one connection.

    Each request leaves in one write (as wrk sends it): http.client writes head and
    body separately, which lets TCP's small-packet delays into a direct measurement.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    request = (
        f"POST {parts.path} HTTP/1.1\r\nhost: {parts.netloc}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    times = []
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rb")
        for _ in range(n):
            start = time.perf_counter()
            sock.sendall(request)
            status = stream.readline()
            length = 0
            for line in iter(stream.readline, b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            stream.read(length)
            times.append((time.perf_counter() - start) * 1e3)
            if b" 200 " not in status:
                raise RuntimeError(f"{url} answered {status!r}")
    return times


def table(title: str, headers: list[str], rows: list[list[str]]) -> str:
    lines = [
        f"### {title}",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class Clients:
    """Threads posting one-row requests; each answer kept as (start, end, version, thread)."""

    def __init__(self, url: str, body: bytes, threads: int = 4) -> None:
        self.url, self.body = url + "/predict", body
        self.answers: list[tuple[float, float, str, int]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def moved(self, since: float, version: str) -> bool:
        """Whether every client has had an answer from ``version`` to a request it sent
        after ``since``: each client sends one request at a time, so all it sent before,
        to the old version too, has been answered (or has failed)."""
        done = {t for start, _, v, t in list(self.answers) if v == version and start >= since}
        return len(done) == len(self._threads)

    def _run(self, thread: int) -> None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                conn.request(
                    "POST", parts.path, body=self.body, headers={"content-type": "application/json"}
                )
                response = conn.getresponse()
                doc = json.loads(response.read())
                if response.status != 200:
                    self.failures.append(f"HTTP {response.status}")
                    continue
                self.answers.append((start, time.monotonic(), str(doc["version"]), thread))
            except (OSError, ValueError) as exc:
                self.failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def __enter__(self) -> Clients:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per run")
    parser.add_argument("--switches", type=int, default=20, help="blue-green switches timed")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per target (medians)")
    parser.add_argument("--quick", action="store_true", help="2 s wrk runs, 4 switches")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.switches, args.rounds = 2.0, 4, 1
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    from sklearn.linear_model import LogisticRegression

    import modelship as ms
    from modelship.deploy import BlueGreen, InMemoryHistory
    from modelship.deploy.local import LocalDeployer

    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, ROW_FEATURES))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    reg = ms.open_registry(str(work / "registry"))
    for _ in range(2):
        reg.register(model_name="fraud", model=LogisticRegression().fit(x, y))
    body = json.dumps({"instances": [x[0].round(4).tolist()]})
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=body))

    out: list[str] = []
    with LocalDeployer(registry=reg) as dep:
        BlueGreen(dep, history=InMemoryHistory(), alias=None, undo_window=3600).deploy("fraud", "1")
        direct, routed = dep.slot_url("blue") + "/predict", dep.endpoint + "/predict"
        for url in (direct, routed):
            run_wrk(url, script, min(2.0, args.seconds))  # warm-up, not counted
        rows = []
        targets = (
            ("modelship serve, direct (baseline)", direct),
            ("through the LocalDeployer's router", routed),
        )
        runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in targets}
        for _ in range(args.rounds):  # interleaved, so load from elsewhere hits both alike
            for name, url in targets:
                runs[name].append(run_wrk(url, script, args.seconds))
        results = {
            name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
            | {"failed": sum(r["failed"] for r in rs)}
            for name, rs in runs.items()
        }
        for name, r in results.items():
            rows.append(
                [
                    name,
                    f"{r['rps']:,.0f}",
                    f"{r['p50']:.2f}",
                    f"{r['p99']:.2f}",
                    str(int(r["failed"])),
                ]
            )
        base, via = results.values()
        rows.append(
            [
                "router adds",
                f"{via['rps'] - base['rps']:+,.0f}",
                f"{via['p50'] - base['p50']:+.2f}",
                f"{via['p99'] - base['p99']:+.2f}",
                "",
            ]
        )
        out.append(
            table(
                f"Router overhead (wrk 1 thread, 8 connections, one-row requests, "
                f"{ROW_FEATURES}-feature LogisticRegression; medians of {args.rounds} "
                f"interleaved {args.seconds:g} s runs)",
                ["target", "req/s", "p50 ms", "p99 ms", "failed"],
                rows,
            )
        )

        # One connection, one request at a time: the added hop without queueing in it.
        seq: dict[str, list[float]] = {name: [] for name, _ in targets}
        for _ in range(10 * args.rounds):  # interleaved blocks of 100
            for name, url in targets:
                seq[name] += sequential_ms(url, body.encode(), 100)
        p50 = {name: statistics.median(t) for name, t in seq.items()}
        p90 = {name: statistics.quantiles(t, n=10)[-1] for name, t in seq.items()}
        seq_rows = [[name, f"{p50[name]:.3f}", f"{p90[name]:.3f}"] for name, _ in targets]
        (b, r) = (name for name, _ in targets)
        seq_rows.append(["router adds", f"{p50[r] - p50[b]:+.3f}", f"{p90[r] - p90[b]:+.3f}"])
        out.append(
            table(
                f"Router overhead, one connection, sequential requests "
                f"({len(seq[b]):,} per target, interleaved blocks of 100)",
                ["target", "p50 ms", "p90 ms"],
                seq_rows,
            )
        )

        # Switch timing: the second version waits ready in the idle slot, then traffic moves.
        dep.apply("green", "fraud", "2")
        assert dep.wait_ready("green", 120)
        slots = {"blue": "1", "green": "2"}
        took: list[float] = []
        first_new: list[float] = []
        undrained = 0
        with Clients(dep.endpoint, body.encode()) as clients:
            time.sleep(0.5)
            current = "blue"
            for _ in range(args.switches):
                target = "green" if current == "blue" else "blue"
                old_version = slots[current]
                t0 = time.monotonic()
                dep.set_traffic({target: 100})
                # Until the old slot is drained: every client has moved to the new version,
                # so every request it sent before (a slow old answer too) has ended.
                deadline = t0 + DRAIN_SECONDS
                while not clients.moved(t0, slots[target]) and time.monotonic() < deadline:
                    time.sleep(0.01)
                if not clients.moved(t0, slots[target]):
                    undrained += 1
                # Switches at least 0.3 s apart, as before: traffic on each version between.
                time.sleep(max(0.0, t0 + 0.3 - time.monotonic()))
                ended_old = [
                    end
                    for start, end, v, _ in list(clients.answers)
                    if v == old_version and end >= t0
                ]
                new = [
                    end
                    for start, end, v, _ in list(clients.answers)
                    if v == slots[target] and end >= t0
                ]
                took.append((max(ended_old) - t0) * 1e3 if ended_old else 0.0)
                first_new.append((min(new) - t0) * 1e3 if new else float("nan"))
                current = target
        durations = [(end - start) * 1e3 for start, end, _, _ in clients.answers]
        out.append(
            table(
                f"Blue-green switch under continuous traffic (4 clients, {args.switches} switches, "
                f"{len(clients.answers):,} requests)",
                ["measure", "median ms", "max ms"],
                [
                    [
                        "switch -> all traffic on the new version (last old answer done)",
                        f"{statistics.median(took):.2f}",
                        f"{max(took):.2f}",
                    ],
                    [
                        "switch -> first answer from the new version",
                        f"{statistics.median(first_new):.2f}",
                        f"{max(first_new):.2f}",
                    ],
                    [
                        "one request through the router (baseline)",
                        f"{statistics.median(durations):.2f}",
                        f"{max(durations):.2f}",
                    ],
                    ["failed requests", str(len(clients.failures)), ""],
                    [
                        f"switches not drained within {DRAIN_SECONDS:g} s (counted up to then)",
                        str(undrained),
                        "",
                    ],
                ],
            )
        )
    shutil.rmtree(work, ignore_errors=True)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
