"""``deploy apply --spec`` with monitoring conditions: a canary is gated, or apply says it is not.

A spec whose ``monitoring.conditions`` always held promoted a canary step by step with no
analysis, and nothing said so: ``apply`` built its strategy without a gate. Now, without a
metric source, ``apply`` says once on stderr (and in each ``serving`` line) that the
conditions are not evaluated; with ``--prometheus URL`` each canary step is judged by
them (a condition that holds aborts the canary, exit 1, the alias not moved).

``apply`` runs in this process on the deployer double (no model server), with version 1
already serving in it, so that deploying 2 is a canary with steps (a first deploy skips
them). Prometheus is a real HTTP server on 127.0.0.1 answering its ``/api/v1/query`` JSON.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

import modelship as ms
from modelship.deploy import BlueGreen, RegistryHistory, RolloutRecord, _cli
from modelship.deploy._clock import SystemClock
from modelship.errors import ConfigError
from modelship.testing import InMemoryDeployer

CONDITIONS = ["error_rate > 1%"]


class FakePrometheus:
    """Answers every instant query: a count (``increase(``) with 100 requests, any other
    with ``value`` (the error rate asked about); records each query."""

    def __init__(self) -> None:
        self.value = "0"
        self.queries: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                query = form.get("query", [""])[0]
                fake.queries.append(query)
                value = "100" if "increase(" in query else fake.value
                at = float(form.get("time", ["0"])[0])
                body = json.dumps(
                    {
                        "status": "success",
                        "data": {
                            "resultType": "vector",
                            "result": [{"metric": {}, "value": [at, value]}],
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``fraud`` 1 and 2; ``apply`` deploys to a double in which 1 already serves, the
    alias production naming it."""
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for weights in (b"1", b"2"):
        reg.register(model_name="fraud", model=weights, serializer="bytes")

    class Double(InMemoryDeployer):
        endpoint = "http://double.invalid"

    def deployer(registry: ms.Registry) -> Double:
        dep = Double(registry, clock=SystemClock())  # type: ignore[arg-type]
        BlueGreen(dep, alias="production").deploy("fraud", "1")
        return dep

    monkeypatch.setattr(_cli, "LocalDeployer", deployer)
    return url


def spec_file(tmp_path: Path, strategy: str = "canary", **monitoring: Any) -> str:
    section = {"conditions": CONDITIONS, **monitoring}
    spec = {
        "deployment": {
            "strategy": strategy,
            "containers": [{"name": "m", "image": "m:1"}],
            "canary": {"steps": [{"weight": 25, "pause": 0.2}, {"weight": 50, "pause": 0.2}]},
            "monitoring": section,
        }
    }
    if strategy != "canary":
        del spec["deployment"]["canary"]
    path = tmp_path / f"{strategy}.json"
    path.write_text(json.dumps(spec))
    return str(path)


def apply(
    registry: str, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, list[dict[str, Any]], str]:
    code = _cli.main(["apply", registry, "fraud", "2", "--for", "0", "--poll", "0.05", *options])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")], err


def gate_events(registry: str, version: str) -> list[dict[str, Any]]:
    history = RegistryHistory(ms.open_registry(registry))
    records: list[RolloutRecord] = [r for r in history.records("fraud") if r.version == version]
    assert records, f"no rollout of {version} recorded"
    return [e.data for e in records[-1].events if e.kind.value == "gate"]


def alias(registry: str) -> str | None:
    return ms.open_registry(registry).aliases("fraud").get("production")


def test_without_a_metric_source_apply_says_the_conditions_are_not_evaluated(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, events, err = apply(registry, capsys, "--spec", spec_file(tmp_path))

    assert code == 0  # the rollout still runs, as before
    said = [line for line in err.splitlines() if "monitoring conditions are not evaluated" in line]
    assert len(said) == 1, err  # once
    assert "without a metric source, so the canary steps are not gated" in said[0]
    assert "--prometheus URL" in said[0]
    assert "modelship monitor watch" in said[0]
    assert err.splitlines()[0] == said[0]  # before the rollout (which says nothing here)
    assert [e["version"] for e in events] == ["2"]
    assert events[0]["monitoring"] == said[0].removeprefix("modelship deploy: ")
    assert alias(registry) == "2"
    assert gate_events(registry, "2") == []  # nothing judged


def test_a_condition_that_holds_aborts_the_canary(
    registry: str,
    tmp_path: Path,
    prometheus: FakePrometheus,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prometheus.value = "0.05"  # 5% errors: error_rate > 1% holds

    spec = spec_file(tmp_path)
    code, events, err = apply(registry, capsys, "--spec", spec, "--prometheus", prometheus.url)

    assert code == 1, err
    assert events == []  # 2 never served
    assert "not evaluated" not in err
    assert f"judged by the spec's monitoring conditions against Prometheus at {prometheus.url}" in (
        err
    )
    assert "analysis at step 1" in err
    assert alias(registry) == "1"  # not moved
    gates = gate_events(registry, "2")
    assert [(g["verdict"], g["decision"]) for g in gates] == [("fail", "abort")]
    assert any('slot="green"' in q for q in prometheus.queries)


def test_a_condition_that_does_not_hold_promotes_the_canary(
    registry: str,
    tmp_path: Path,
    prometheus: FakePrometheus,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prometheus.value = "0"  # no errors

    spec = spec_file(tmp_path)
    code, events, err = apply(registry, capsys, "--spec", spec, "--prometheus", prometheus.url)

    assert code == 0, err
    assert [e["version"] for e in events] == ["2"]
    assert "monitoring" not in events[0]
    assert alias(registry) == "2"
    gates = gate_events(registry, "2")
    assert [(g["verdict"], g["decision"]) for g in gates] == [("pass", "promote")] * 2


def test_the_spec_limits_apply_to_the_gate(
    registry: str,
    tmp_path: Path,
    prometheus: FakePrometheus,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # failure_limit 1 tolerates one failure: the second aborts (each asked 0.2 s apart).
    prometheus.value = "0.05"

    spec = spec_file(tmp_path, failure_limit=1)
    code, _, err = apply(registry, capsys, "--spec", spec, "--prometheus", prometheus.url)

    assert code == 1, err
    gates = gate_events(registry, "2")
    assert [(g["verdict"], g["decision"]) for g in gates] == [("fail", "hold"), ("fail", "abort")]


def test_a_blue_green_rollout_is_not_gated_and_says_why(
    registry: str,
    tmp_path: Path,
    prometheus: FakePrometheus,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prometheus.value = "0.05"
    spec = spec_file(tmp_path, strategy="blue-green")

    code, events, err = apply(registry, capsys, "--spec", spec, "--prometheus", prometheus.url)

    assert code == 0, err
    assert "for a blue-green rollout, and --prometheus is not used" in err
    assert "cannot judge a slot without traffic" in err
    assert prometheus.queries == []
    assert "blue-green rollout" in events[0]["monitoring"]
    assert alias(registry) == "2"


def test_prometheus_is_refused_where_it_would_judge_nothing(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:9"
    code, _, err = apply(registry, capsys, "--prometheus", url)
    assert code == 2
    assert "--prometheus http://127.0.0.1:9: gates a canary" in err
    assert "there is no --spec" in err

    off = spec_file(tmp_path, enabled=False)
    code, _, err = apply(registry, capsys, "--spec", off, "--prometheus", url)
    assert code == 2
    assert "says enabled: false" in err

    # Not with --dry-run, as the other options of serving.
    dry = ["apply", registry, "fraud", "2", "--spec", spec_file(tmp_path), "--dry-run"]
    code = _cli.main([*dry, "--prometheus", url])
    assert code == 2
    assert "--prometheus: for a deployment that serves, without --dry-run" in (
        capsys.readouterr().err
    )
    assert alias(registry) is None  # the double was never built: nothing deployed


def test_prometheus_credentials_are_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate's note printed ``http://ops:s3cret@...`` on stderr (kept in CI logs)."""
    from modelship.deploy._spec import SpecFile

    spec = SpecFile.read(spec_file(tmp_path)).spec(variables={"VERSION": "2"})
    args = argparse.Namespace(
        prometheus="http://ops:s3cret@127.0.0.1:9", spec="x.json", model="fraud"
    )
    monitoring = _cli._canary_gate(args, spec)
    try:
        assert monitoring.gated is not None
        assert "s3cret" not in monitoring.gated
        assert "***@127.0.0.1:9" in monitoring.gated
        # Steps of 0.2 s: the window is 60 s at least (Prometheus answers nothing over a
        # window of fewer than two scrapes), asked again every 0.2 s.
        assert "over the last 60 s" in monitoring.gated
        assert "asked again every 0.2 s" in monitoring.gated
    finally:
        if monitoring.close is not None:
            monitoring.close()


def test_a_consecutive_failure_limit_is_refused_with_prometheus(tmp_path: Path) -> None:
    """A gate counts failures in a row across no_data answers too: mapped, it promoted a
    canary the policy rolls back (fail, no_data, fail, pass with limit 1)."""
    from modelship.deploy._spec import SpecFile

    path = spec_file(tmp_path, failure_limit=None, consecutive_failure_limit=1)
    spec = SpecFile.read(path).spec(variables={"VERSION": "2"})
    args = argparse.Namespace(prometheus="http://127.0.0.1:9", spec=path)
    with pytest.raises(ConfigError, match="consecutive_failure_limit"):
        _cli._canary_gate(args, spec)
