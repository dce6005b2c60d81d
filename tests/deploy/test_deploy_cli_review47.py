"""``deploy apply`` says each slot's own address, which Prometheus scrapes per version.

The router's endpoint mixes the versions; ``monitor watch`` and canary analysis need the
metrics of one version, from the server of its slot. ``apply`` used to print only the
endpoint, so a CLI user could not find the slots' servers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture
from test_deploy_cli import registry, version_served  # noqa: F401 - a fixture, a helper
from test_review_stop34_cli import CODE, next_event, start_apply, stop, wait_for_event

import modelship as ms
from modelship.deploy import RegistryHistory

SLOT_LINE = re.compile(
    r"^modelship deploy: slot (\w+): (http://127\.0\.0\.1:\d+) \(version (\w+)\)$"
)


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


def said_slots(err: str) -> list[tuple[str, str, str]]:
    """The ``slot NAME: URL (version V)`` lines of ``err``: (slot, url, version)."""
    found = (SLOT_LINE.match(line) for line in err.splitlines())
    return [(m[1], m[2], m[3]) for m in found if m is not None]


def stderr_so_far(apply: subprocess.Popen[str]) -> str:
    """What ``apply`` wrote on stderr up to now, without waiting for more."""
    assert apply.stderr is not None
    fd = apply.stderr.fileno()
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    while True:  # bounded: what is in the pipe now
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.set_blocking(fd, True)
    return b"".join(chunks).decode()


def slots_of(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "slots" in event, f"the serving line has no slots: {event}"
    return {s["slot"]: s for s in event["slots"]}


@pytest.mark.slow
def test_apply_prints_each_slot_url_and_the_slot_answers_health_and_metrics(
    registry: str,  # noqa: F811
) -> None:
    apply = start_apply(registry)
    try:
        first = next_event(apply)
        blue = slots_of(first)["blue"]
        assert (blue["version"], blue["weight"], blue["ready"]) == ("1", 100, True)
        assert blue["url"] != first["endpoint"]  # the slot's own server, not the router
        assert get(blue["url"] + "/health")[0] == 200
        status, metrics = get(blue["url"] + "/metrics")
        assert status == 200
        assert 'slot="blue"' in metrics  # the label `monitor watch --slot` selects
        # The alias moves: the serving line of 2 names both slots, each its own version.
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        second = next_event(apply)
        assert second["version"] == "2"
        slots = slots_of(second)
        assert (slots["green"]["version"], slots["green"]["weight"]) == ("2", 100)
        assert (slots["blue"]["version"], slots["blue"]["weight"]) == ("1", 0)  # undo window
        assert slots["blue"]["url"] == blue["url"]
        assert version_served(slots["green"]["url"]) == "2"
        assert version_served(slots["blue"]["url"]) == "1"  # no traffic, still its own server
        assert version_served(str(first["endpoint"])) == "2"
        apply.send_signal(signal.SIGTERM)
        _, err = apply.communicate(timeout=60)
    finally:
        stop(apply)
    assert apply.returncode == 0
    # The human lines, each said once, in the order the slots came up.
    assert said_slots(err) == [
        ("blue", blue["url"], "1"),
        ("green", slots["green"]["url"], "2"),
    ]


@pytest.mark.slow
def test_apply_says_a_slot_stopped_once_the_undo_window_closed(registry: str) -> None:  # noqa: F811
    apply = start_apply(registry, "--undo-window", "1")
    try:
        blue = slots_of(next_event(apply))["blue"]["url"]
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        assert next_event(apply)["version"] == "2"
        assert wait_for_event(registry, "2", "scaled_down", "undo window closed", 20)
        # Said right after the scaled-down decision is saved (a look follows each save).
        line = f"modelship deploy: slot blue: stopped (version 1 at {blue})"
        err = stderr_so_far(apply)
        deadline = time.monotonic() + 20
        while line not in err.splitlines() and time.monotonic() < deadline:
            time.sleep(0.1)
            err += stderr_so_far(apply)
    finally:
        stop(apply)
    assert line in err.splitlines()


@pytest.mark.slow
def test_apply_says_the_canary_slot_url_while_the_canary_is_analysed(
    registry: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    spec = tmp_path / "canary.json"
    spec.write_text(
        json.dumps(
            {
                "deployment": {
                    "containers": [{"name": "m", "image": "m:1"}],
                    "strategy": "canary",
                    "canary": {"steps": [{"weight": 50, "pause": 600}]},
                }
            }
        )
    )
    apply = start_apply(registry, "--spec", str(spec))
    try:
        assert next_event(apply)["version"] == "1"  # a first rollout serves at once
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        # The canary's pause: no serving line for 2 yet, its slot's address is said.
        assert wait_for_event(registry, "2", "pause", "", 60)
        canary = [s for s in said_slots(stderr_so_far(apply)) if s[2] == "2"]
        assert len(canary) == 1, canary
        _, url, _ = canary[0]
        assert get(url + "/health")[0] == 200
        assert get(url + "/metrics")[0] == 200
        assert version_served(url) == "2"
    finally:
        stop(apply)


@pytest.mark.slow
def test_apply_with_stderr_reader_gone_still_serves_and_records_its_rollouts(
    registry: str,  # noqa: F811
) -> None:
    # `apply ... 2>&1 | head -n 1`: saying a slot's address on a stderr whose reader has
    # gone raised BrokenPipeError out of the rollout's own save; nothing after `applied`
    # was recorded, and apply exited 0 at once, serving nothing.
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before apply writes anything
    try:
        apply = subprocess.Popen(
            [sys.executable, "-c", CODE, "apply", registry, "fraud", "1", "--poll", "0.1"],
            stdout=subprocess.PIPE,
            stderr=write_end,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    finally:
        os.close(write_end)
    try:
        first = next_event(apply)
        assert first["version"] == "1"
        assert version_served(str(first["endpoint"])) == "1"
        ms.open_registry(registry).set_alias("fraud", "production", "2", expected="1")
        second = next_event(apply)
        assert second["version"] == "2"
        assert version_served(str(first["endpoint"])) == "2"
        apply.send_signal(signal.SIGTERM)
        apply.communicate(timeout=60)
    finally:
        stop(apply)
    assert apply.returncode == 0
    records = RegistryHistory(ms.open_registry(registry)).records("fraud")
    assert [(r.version, r.status.value) for r in records] == [
        ("1", "succeeded"),
        ("2", "succeeded"),
    ]
