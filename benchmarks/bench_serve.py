"""Serving speed: ``modelship serve`` against the bare stack and MLflow, with wrk.

Usage::

    python benchmarks/bench_serve.py                 # 5 s per measurement, 6 rounds
    python benchmarks/bench_serve.py --quick         # a smoke run of a few seconds
    python benchmarks/bench_serve.py --mlflow /path/to/venv/bin/mlflow

One scikit-learn model (a LogisticRegression on ``--features`` features, 20 by default)
is registered in a registry in a temporary folder and served, each server in its own
process on a free loopback port, by:

* ``modelship serve``: the real server (verification, readiness, metrics, request ids
  and input checks included);
* ``bare uvicorn+starlette``: an app that only reads the body, parses the JSON (orjson,
  as the server does), converts it to numpy, calls ``predict`` and answers JSON: the
  stack's own limit, on the same uvicorn settings;
* ``modelship serve`` behind the LocalDeployer's router (``--no-router`` to skip): the
  version deployed blue-green into a LocalDeployer, requests sent to its endpoint;
* ``mlflow models serve`` on the same fitted model (``--env-manager local``), when an
  ``mlflow`` executable is found (``--mlflow``, ``$MLFLOW``, or on ``PATH``): mlflow is a
  benchmark-only dependency, best installed in a virtualenv of its own, because it pins
  versions of pyarrow and others that the project's environment may not want.

The load generator is wrk (Debian's ``wrk`` package): 1 thread, 8 connections, each
request one row, for ``--seconds`` seconds. All servers are started first and warmed up
(a short wrk run each, not counted); then they are measured in turn, ``--rounds`` times,
so that the machine's drift hits every server alike (on a shared machine, short
alternating runs are fairer than long ones in sequence); each row reports each column's
median over the rounds, and the ratios to the bare stack are the medians of the per-round
ratios (which need not equal the quotient of the medians).
Non-2xx answers or socket errors are reported and make a
row fail. ``predict`` alone (in this process, one row, median of many calls) is printed
for scale. The CPU time each server's processes used per answered request (from
``/proc``, over the same runs) is printed too: on a machine shared with other work,
throughput and tail latency move with the neighbours' load, while CPU per request is the
server's own cost. Targets (issue 14): ``modelship serve`` at >= 0.8x the bare stack's
requests per second, and its p99 within 2x the bare stack's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
THROUGHPUT_TARGET = 0.8
P99_TARGET = 2.0
MODEL = "bench"
SEED = 2026
READY_TIMEOUT = 120.0

BARE_APP = textwrap.dedent(
    """
    import sys

    import joblib
    import numpy as np
    import orjson
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    model = joblib.load(sys.argv[1])


    async def predict(request):
        payload = orjson.loads(await request.body())
        x = np.asarray(payload["instances"], dtype=np.float64)
        body = orjson.dumps({"predictions": model.predict(x).tolist()})
        return Response(body, media_type="application/json")


    async def health(request):
        return Response(b"ok")


    app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health)])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False,
                log_level="warning")
    """
)

MLFLOW_SAVE = textwrap.dedent(
    """
    import sys

    import joblib
    import mlflow.sklearn

    mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2],
                              serialization_format="pickle")
    """
)

WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body!r}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    """Poll ``url`` until it answers 200; fail if the process dies or the deadline passes."""
    import urllib.error
    import urllib.request

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        with (
            suppress(urllib.error.URLError, ConnectionError, TimeoutError, OSError),
            urllib.request.urlopen(url, timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {READY_TIMEOUT} s")


@contextmanager
def server(
    cmd: list[str],
    url: str,
    ready_url: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[tuple[int | None, str]]:
    """Run ``cmd`` in its own process group until the block ends; SIGTERM, then SIGKILL."""
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=env, start_new_session=True)
    try:
        try:
            wait_ready(ready_url, proc, time.monotonic() + READY_TIMEOUT)
        except RuntimeError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log is not None else ""
            raise RuntimeError(f"{' '.join(cmd[:4])}...: {exc}\n{tail}") from None
        yield proc.pid, url  # the process group: the server and any worker it started
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if log is not None:
            out.close()  # type: ignore[union-attr]


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def parse_wrk(out: str) -> dict[str, float]:
    """Requests per second, p50 and p99 (ms), and failed requests from wrk's report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"cannot read wrk's report:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = int(non2xx.group(1)) if non2xx else 0
    if errors:
        failed += sum(int(g) for g in errors.groups())
    return {
        "rps": float(rps.group(1)),
        "p50": _ms(p50.group(1)),
        "p99": _ms(p99.group(1)),
        "failed": failed,
        "requests": int(total.group(1)),
    }


def run_wrk(url: str, script: Path, seconds: float, connections: int = 8) -> dict[str, float]:
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk(done.stdout)


def predict_alone(model: Any, row: np.ndarray[Any, Any], calls: int) -> float:
    """Median milliseconds of ``model.predict`` on one row, in this process."""
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        model.predict(row)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e3


def find_mlflow(given: str | None) -> str | None:
    for candidate in (given, os.environ.get("MLFLOW"), shutil.which("mlflow")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _or_na(value: float, form: str) -> str:
    return "n/a" if math.isnan(value) else form.format(value)


def table(title: str, headers: list[str], rows: list[list[str]]) -> str:
    line = "| " + " | ".join(headers) + " |"
    rule = "|" + "|".join("---" for _ in headers) + "|"
    body = ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join([f"### {title}", "", line, rule, *body, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=6, help="rounds over all servers")
    parser.add_argument("--features", type=int, default=20, help="model features")
    parser.add_argument("--mlflow", default=None, help="path of an mlflow executable")
    parser.add_argument("--no-mlflow", action="store_true", help="skip mlflow models serve")
    parser.add_argument(
        "--no-router", action="store_true", help="skip the LocalDeployer's router row"
    )
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke run")
    parser.add_argument("--dir", default=None, help="work folder (default: a temp folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    sys.path.insert(0, str(SRC))
    import joblib
    from sklearn.linear_model import LogisticRegression

    import modelship as ms

    work = Path(tempfile.mkdtemp(prefix="bench-serve-", dir=args.dir))
    try:
        return _run(args, work, joblib, LogisticRegression, ms)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path, joblib: Any, lr: Any, ms: Any) -> int:
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(2000, args.features))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    model = lr(max_iter=1000).fit(x, y)
    row = x[:1]
    body = json.dumps({"instances": row.round(6).tolist()})
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=body))
    model_file = work / "model.joblib"
    joblib.dump(model, model_file)
    registry = work / "registry"
    ms.open_registry(str(registry)).register(model_name=MODEL, model=model)
    bare_file = work / "bare_app.py"
    bare_file.write_text(BARE_APP)

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    servers: dict[str, Callable[[], Any]] = {}  # each returns a context yielding (pgid, url)

    def modelship_serve() -> Any:
        port = free_port()
        cmd = [sys.executable, "-m", "modelship.deploy.serve", str(registry), MODEL, "1"]
        cmd += ["--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        return server(cmd, f"{url}/predict", f"{url}/ready", env, work / "modelship.log")

    def bare() -> Any:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, str(bare_file), str(model_file), str(port)]
        return server(cmd, f"{url}/predict", f"{url}/health", env, work / "bare.log")

    @contextmanager
    def routed() -> Iterator[tuple[int | None, str]]:
        # The LocalDeployer's router runs in this process, in front of one modelship
        # serve process per slot; its CPU is not separable from wrk's parent, so none is
        # reported for this row.
        from modelship.deploy import BlueGreen, InMemoryHistory
        from modelship.deploy.local import LocalDeployer

        with LocalDeployer(registry=ms.open_registry(str(registry))) as dep:
            BlueGreen(dep, history=InMemoryHistory(), alias=None).deploy(MODEL, "1")
            yield None, f"{dep.endpoint}/predict"

    servers["modelship serve"] = modelship_serve
    servers["bare uvicorn+starlette"] = bare
    if not args.no_router:
        servers["modelship serve behind the LocalDeployer's router"] = routed
    notes: list[str] = []
    mlflow = None if args.no_mlflow else find_mlflow(args.mlflow)
    if mlflow is not None:
        mlflow_python = str(Path(mlflow).parent / "python")
        mlflow_model = work / "mlflow-model"
        saved = subprocess.run(
            [mlflow_python, "-c", MLFLOW_SAVE, str(model_file), str(mlflow_model)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if saved.returncode != 0:
            notes.append(f"mlflow models serve: not run, saving the model failed: {saved.stderr}")
            mlflow = None
    elif not args.no_mlflow:
        notes.append(
            "mlflow models serve: not run, no mlflow executable found (--mlflow PATH, "
            "$MLFLOW, or on PATH)"
        )

    if mlflow is not None:

        def mlflow_serve() -> Any:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cmd = [mlflow, "models", "serve", "-m", str(mlflow_model), "-p", str(port)]
            cmd += ["--host", "127.0.0.1", "--env-manager", "local"]
            # mlflow starts its scoring server through a shell, by name: its own bin first.
            mlflow_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            mlflow_env["PATH"] = os.pathsep.join([str(Path(mlflow).parent), os.environ["PATH"]])
            return server(cmd, f"{url}/invocations", f"{url}/ping", mlflow_env, work / "mlflow.log")

        servers["mlflow models serve"] = mlflow_serve

    results: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    with ExitStack() as running:
        urls, groups = {}, {}
        for name, start in servers.items():
            groups[name], urls[name] = running.enter_context(start())
        for url in urls.values():
            run_wrk(url, script, min(2.0, args.seconds))  # warm-up, not counted
        for _ in range(args.rounds):
            for name, url in urls.items():
                group = groups[name]
                cpu = group_cpu_seconds(group) if group is not None else math.nan
                result = run_wrk(url, script, args.seconds)
                if group is not None:
                    cpu = group_cpu_seconds(group) - cpu
                result["cpu_us"] = cpu / max(1, result["requests"]) * 1e6
                results[name].append(result)

    bare_rounds = results["bare uvicorn+starlette"]
    rows = []
    ratios: dict[str, tuple[float, float]] = {}
    for name, rounds in results.items():
        rps_ratio = statistics.median(
            r["rps"] / b["rps"] for r, b in zip(rounds, bare_rounds, strict=True)
        )
        p99_ratios = [r["p99"] / b["p99"] for r, b in zip(rounds, bare_rounds, strict=True)]
        p99_ratio = statistics.median(p99_ratios)
        cpu_ratio = statistics.median(
            r["cpu_us"] / b["cpu_us"] for r, b in zip(rounds, bare_rounds, strict=True)
        )
        ratios[name] = (rps_ratio, p99_ratio)
        # Each column's own median over the rounds (not one round's figures).
        median = {k: statistics.median(r[k] for r in rounds) for k in ("rps", "p50", "p99")}
        failed = sum(int(r["failed"]) for r in rounds)
        rows.append(
            [
                name,
                f"{median['rps']:,.0f}",
                f"{median['p50']:.2f}",
                f"{median['p99']:.2f}",
                f"{rps_ratio:.2f}x",
                f"{p99_ratio:.2f}x ({min(p99_ratios):.2f} to {max(p99_ratios):.2f})",
                _or_na(statistics.median(r["cpu_us"] for r in rounds), "{:,.0f}"),
                _or_na(cpu_ratio, "{:.2f}x"),
                str(failed),
            ]
        )
    alone = predict_alone(model, row, 200 if args.quick else 2000)
    rows.append(["predict alone (in process)", "", f"{alone:.3f}", "", "", "", "", "", ""])

    print(
        f"wrk 1 thread, 8 connections, one-row requests, {args.features} features, "
        f"{args.seconds:g} s x {args.rounds} round(s); req/s, p50 and p99 are each "
        "the median of that column over the rounds; ratios to the bare stack are medians of "
        "per-round ratios (p99's range in brackets), so they need not equal the quotient of "
        "the medians\n"
    )
    headers = [
        "server",
        "req/s",
        "p50 ms",
        "p99 ms",
        "req/s vs bare",
        "p99 vs bare",
        "server CPU us/req",
        "CPU vs bare",
        "failed",
    ]
    print(table("Serving speed", headers, rows))
    for note in notes:
        print(f"- {note}")
    if notes:
        print()
    rps_ratio, p99_ratio = ratios["modelship serve"]
    failures = sum(int(r["failed"]) for rounds in results.values() for r in rounds)
    print("### Targets")
    print(
        f"modelship serve throughput >= {THROUGHPUT_TARGET}x the bare stack: "
        f"{'PASS' if rps_ratio >= THROUGHPUT_TARGET else 'MISS'} ({rps_ratio:.2f}x)"
    )
    print(
        f"modelship serve p99 within {P99_TARGET}x the bare stack: "
        f"{'PASS' if p99_ratio <= P99_TARGET else 'MISS'} ({p99_ratio:.2f}x)"
    )
    print(f"no failed requests: {'PASS' if failures == 0 else 'MISS'} ({failures} failed)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
