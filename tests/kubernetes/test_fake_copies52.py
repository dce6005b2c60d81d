"""The fake API server's copies: ``json_copy`` is ``copy.deepcopy`` for what the fake
stores, and stopping the fake does not wait for a poll interval.

``json_copy`` is new (the fake used ``copy.deepcopy``): on the old code these tests fail
at the import. The shutdown test fails on the old code's poll (socketserver's loop).
"""

from __future__ import annotations

import copy
import datetime
import json
import random
import threading
import time
import urllib.request
from collections import OrderedDict
from typing import Any

import pytest

from modelship.testing.fake_kube import FakeKube
from modelship.testing.fake_kube._fields import json_copy
from modelship.testing.fake_kube._server import _Handler, _Server

_ATOMS: tuple[Any, ...] = (
    "",
    "text",
    "ünïcode",
    0,
    -7,
    2**70,
    1.5,
    -0.0,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
)


def _tree(rng: random.Random, depth: int, pool: list[Any]) -> Any:
    """A random JSON-like value; containers already made are sometimes reused (shared)."""
    roll = rng.random()
    if pool and roll < 0.15:
        return rng.choice(pool)  # the same dict or list held twice
    if depth <= 0 or roll < 0.4:
        return rng.choice(_ATOMS)
    if roll < 0.7:
        made: Any = {
            rng.choice(["a", "b", "metadata", "labels", str(i)]): _tree(rng, depth - 1, pool)
            for i in range(rng.randrange(5))
        }
    else:
        made = [_tree(rng, depth - 1, pool) for _ in range(rng.randrange(5))]
    pool.append(made)
    return made


def _shape(value: Any) -> list[tuple[str, Any]]:
    """Every node in order: its type and atom (by repr: True is not 1, 1.0 is not 1), or
    for a dict or list the index of its first appearance (so sharing shows)."""
    seen: dict[int, int] = {}
    out: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, (dict, list)):
            if id(node) in seen:  # held again: its inside is already listed
                out.append((type(node).__name__, ("again", seen[id(node)])))
                return
            seen[id(node)] = len(seen)
            out.append((type(node).__name__, ("first", seen[id(node)])))
            items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            for key, inner in items:
                out.append(("key", repr(key)))
                walk(inner)
        else:
            out.append((type(node).__name__, repr(node)))

    walk(value)
    return out


def _containers(value: Any, found: dict[int, Any] | None = None) -> dict[int, Any]:
    found = {} if found is None else found
    if isinstance(value, (dict, list)) and id(value) not in found:
        found[id(value)] = value
        for inner in value.values() if isinstance(value, dict) else value:
            _containers(inner, found)
    return found


@pytest.mark.parametrize("seed", range(300))
def test_json_copy_is_deepcopy_on_random_trees(seed: int) -> None:
    rng = random.Random(seed)
    pool: list[Any] = []
    tree = {"root": _tree(rng, 6, pool), "again": rng.choice(pool) if pool else None}
    before = _shape(tree)
    ours, theirs = json_copy(tree), copy.deepcopy(tree)
    assert _shape(ours) == _shape(theirs) == before  # same values, same sharing
    assert json.dumps(ours, sort_keys=True) == json.dumps(tree, sort_keys=True)
    original = _containers(tree)
    copied = _containers(ours)
    assert not set(original) & set(copied)  # no dict or list of the original in the copy
    for node in copied.values():  # changing every part of the copy leaves the original
        if isinstance(node, dict):
            node["changed"] = 1
        else:
            node.append("changed")
    assert _shape(tree) == before


def test_json_copy_keeps_sharing_within_one_copy() -> None:
    """The controller's ReplicaSet holds one labels map three times: a copy holds one copy
    of it three times, as deepcopy's does, so a change through one place shows in all."""
    labels = {"app": "a", "pod-template-hash": "h"}
    rs = {
        "metadata": {"labels": labels},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}},
    }
    out = json_copy(rs)
    assert out["metadata"]["labels"] is out["spec"]["selector"]["matchLabels"]
    assert out["metadata"]["labels"] is out["spec"]["template"]["metadata"]["labels"]
    assert out["metadata"]["labels"] is not labels
    out["metadata"]["labels"]["x"] = "y"
    assert labels == {"app": "a", "pod-template-hash": "h"}


def test_json_copy_of_a_cycle_and_of_other_types_is_deepcopys() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    out = json_copy(loop)
    assert out is not loop
    assert out[1] is out
    assert out[0] == 1

    inner = [1, 2]
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    odd = {
        "tuple": (inner, "x"),
        "same": inner,
        "ordered": OrderedDict(a=[1]),
        "when": when,
        "set": {1, 2},
    }
    ours, theirs = json_copy(odd), copy.deepcopy(odd)
    assert ours == theirs
    assert type(ours["ordered"]) is OrderedDict
    assert type(ours["tuple"]) is tuple
    assert ours["tuple"][0] is ours["same"] is not inner  # one memo across both ways
    assert theirs["tuple"][0] is theirs["same"]
    assert ours["ordered"]["a"] is not odd["ordered"]["a"]
    for atom in _ATOMS:
        assert json_copy(atom) is atom


def test_shutdown_wakes_the_serve_loop_at_once() -> None:
    """socketserver's loop looks for a shutdown every ``poll_interval`` (the fake's was
    20 ms, waited out by every stop); the fake's loop is woken by shutdown at once."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeKube()
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 3.0})
    loop.start()
    try:
        time.sleep(0.05)  # the loop is waiting
        began = time.perf_counter()
        server.shutdown()
        waited = time.perf_counter() - began
    finally:
        loop.join(timeout=5)
        server.server_close()
    assert not loop.is_alive()
    assert waited < 1.0, waited  # 2.95 s when shutdown waits out the poll


def test_fake_kube_stops_at_once_and_twice() -> None:
    for _ in range(3):
        kube = FakeKube().start()
        with urllib.request.urlopen(kube.url + "/api/v1/namespaces/default/pods") as answer:
            assert json.load(answer)["kind"] == "PodList"
        began = time.perf_counter()
        kube.stop()
        assert time.perf_counter() - began < 1.0
        kube.stop()  # a second stop changes nothing and does not hang
