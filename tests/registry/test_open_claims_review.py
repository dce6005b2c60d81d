"""Review fixes: a plugin's ready Registry refuses open_registry's options instead of
dropping them, and name claims survive a writer of another spelling that claims and
un-claims the name of a model registered without a claim.

Interleavings are made exact with :class:`~modelship.testing.HookStore`: the hook of one
writer runs the other (or does the other's store call), so no test sleeps or hopes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelship as ms
from modelship.errors import Conflict, InvalidName, ModelshipError
from modelship.registry import FsspecStore
from modelship.testing import HookStore

# -- A. a plugin that returns a whole Registry ------------------------------------------

_PLUGIN = """
import modelship as ms
from modelship.testing import MemoryStore

_stores = {}

def ready_registry(url, **options):
    return ms.Registry(_stores.setdefault(url, MemoryStore()))

def store_only(url, **options):
    return _stores.setdefault(url, MemoryStore())
"""

_PROGRAM = """
import json
import modelship as ms
out = {}
reg = ms.open_registry("readyreg://a")
out["plain"] = reg.register(model_name="m", model=b"w", serializer="bytes").version
key = b"k" * 32
asks = {
    "signing_key": {"signing_key": key},
    "verify_signatures": {"verify_signatures": False},
    "single_writer": {"single_writer": True},
    "user": {"user": "ana@ci"},
    "checkpoint_every": {"checkpoint_every": 1024},
    "exclusive_creates": {"exclusive_creates": True},
    "two": {"signing_key": key, "user": "ana@ci"},
}
for label, options in asks.items():
    try:
        ms.open_registry("readyreg://a", **options)
    except ms.ConfigError as exc:
        out[label] = str(exc)
    else:
        out[label] = None
signed = ms.open_registry("storeonly://b", signing_key=key, user="ana@ci")
mv = signed.register(model_name="m", model=b"w", serializer="bytes")
out["store_signed"] = mv.signature is not None
out["store_user"] = mv.created_by
for vouch in (True, False):
    try:
        ms.open_registry("storeonly://b", exclusive_creates=vouch)
    except ms.ConfigError as exc:
        out[f"store_exclusive_{vouch}"] = str(exc)
    else:
        out[f"store_exclusive_{vouch}"] = None
try:
    ms.open_registry("brokenplug://c")
except ms.ConfigError as exc:
    out["broken"] = str(exc)
print(json.dumps(out))
"""


def _run_with_plugin(tmp_path: Path) -> dict[str, object]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "review_open_plug.py").write_text(textwrap.dedent(_PLUGIN))
    info = site / "review_open_plug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: review-open-plug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[modelship.registries]\n"
        "readyreg = review_open_plug:ready_registry\n"
        "storeonly = review_open_plug:store_only\n"
        "brokenplug = review_no_such_module:opener\n"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(site)])
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _PROGRAM], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_a_plugin_registry_refuses_the_options_it_cannot_take(tmp_path: Path) -> None:
    out = _run_with_plugin(tmp_path)
    # Without options, the plugin's registry is returned as it is.
    assert out["plain"] == "1"
    for option in (
        "signing_key",
        "verify_signatures",
        "single_writer",
        "user",
        "exclusive_creates",
    ):
        message = out[option]
        assert isinstance(message, str), f"{option} was dropped without a word"
        assert option in message
        assert "'readyreg'" in message
        assert "review_open_plug:ready_registry" in message
        assert "return a Store" in message
        assert "configure them in the plugin" in message
    assert isinstance(out["checkpoint_every"], str)
    assert "checkpoint_every" in out["checkpoint_every"]
    # Every option given is named, and only those; a key is named, never shown.
    two = out["two"]
    assert isinstance(two, str)
    assert "signing_key" in two
    assert "user" in two
    assert "single_writer" not in two
    assert "kkkk" not in two
    # A plugin that returns a Store gets them all.
    assert out["store_signed"] is True
    assert out["store_user"] == "ana@ci"
    # A plugin's Store declares its own exclusive_creates: a caller's vouching, either
    # way, was dropped without a word; it is refused, naming the store's own claim.
    for vouch in (True, False):
        message = out[f"store_exclusive_{vouch}"]
        assert isinstance(message, str), f"exclusive_creates={vouch} was dropped"
        assert "declares its own exclusive_creates (True)" in message
        assert "review_open_plug:store_only" in message
    # A plugin that cannot be imported is a ConfigError naming it (it was the bare
    # ModuleNotFoundError of the plugin's import).
    broken = out["broken"]
    assert isinstance(broken, str)
    assert "'brokenplug'" in broken
    assert "review-open-plug" in broken or "review_open_plug" in broken


# -- B. claims of a model registered without one -----------------------------------------

CLAIM = "names/fraud.json"


def _unclaimed_fraud(tmp_path: Path) -> FsspecStore:
    """A registry holding the model 'fraud' with no names/ claim, as registries written
    before claims hold their models."""
    inner = FsspecStore.from_url(str(tmp_path / "reg"))
    ms.Registry(inner).register(model_name="fraud", model=b"v1", serializer="bytes")
    inner.delete(CLAIM)
    assert not inner.exists(CLAIM)
    return inner


def _register(store: object, name: str) -> str:
    reg = ms.Registry(store)  # type: ignore[arg-type]
    return reg.register(model_name=name, model=b"v", serializer="bytes").version


def _outcome(store: object, name: str) -> object:
    """The version registered, or the exception raised (kept apart from the outer writer's)."""
    try:
        return _register(store, name)
    except Exception as exc:  # the test compares it
        return exc


def test_the_listed_spelling_is_not_refused_for_a_claim_another_spelling_is_deleting(
    tmp_path: Path,
) -> None:
    """A ('Fraud') has created the claim and found 'fraud' listed; before it deletes the
    claim, B registers 'fraud'. B was refused with InvalidName naming 'Fraud', no model."""
    inner = _unclaimed_fraud(tmp_path)
    seen: dict[str, object] = {}

    def a_hook(op: str, key: str) -> None:
        if op == "delete" and key == CLAIM and "b" not in seen:
            seen["b"] = _outcome(inner, "fraud")

    with pytest.raises(InvalidName, match="'fraud'"):
        _register(HookStore(inner, before=a_hook), "Fraud")
    assert seen["b"] == "2"
    assert ms.Registry(inner).versions("fraud")[-1].version == "2"
    assert inner.list("models") == ["fraud"]


def test_a_claim_deleted_between_the_create_and_the_read_is_created_again(
    tmp_path: Path,
) -> None:
    """B's create finds A's claim, A deletes it, then B reads it: a bare FileNotFoundError
    escaped. B now creates the claim again and registers."""
    inner = _unclaimed_fraud(tmp_path)
    seen: dict[str, object] = {}

    def b_hook(op: str, key: str) -> None:
        if op == "read" and key == CLAIM and "deleted" not in seen:
            inner.delete(CLAIM)  # A's delete, between B's create and B's read
            seen["deleted"] = True

    def a_hook(op: str, key: str) -> None:
        if op == "delete" and key == CLAIM and "b" not in seen:
            seen["b"] = _outcome(HookStore(inner, before=b_hook), "fraud")

    with pytest.raises(InvalidName, match="'fraud'"):
        _register(HookStore(inner, before=a_hook), "Fraud")
    assert seen == {"deleted": True, "b": "2"}
    assert ms.Registry(inner).versions("fraud")[-1].version == "2"
    # A's delete took B's new claim with it: 'fraud' is unclaimed again, and still owns
    # its name.
    with pytest.raises(InvalidName, match="from the model 'fraud'"):
        _register(inner, "Fraud")


def test_a_claim_left_by_a_writer_of_another_spelling_does_not_lock_out_the_listed_model(
    tmp_path: Path,
) -> None:
    """A stopped between creating its claim and deleting it: 'fraud' is still registered,
    after a bounded number of tries, not refused for a model that does not exist."""
    inner = _unclaimed_fraud(tmp_path)
    inner.create(CLAIM, b'{"name":"Fraud"}')
    reads: list[str] = []
    counting = HookStore(inner, before=lambda op, key: reads.append(key) if op == "read" else None)
    assert _register(counting, "fraud") == "2"
    assert 1 < reads.count(CLAIM) <= 20  # waited for the claim to go, a bounded number of times
    # A claim of a listed model still refuses another spelling.
    inner.delete(CLAIM)
    inner.create(CLAIM, b'{"name":"fraud"}')
    with pytest.raises(InvalidName, match="from the model 'fraud'"):
        _register(inner, "Fraud")
    # And so does the claim of a spelling being registered when this one is no model either.
    fresh = FsspecStore.from_url(str(tmp_path / "fresh"))
    fresh.create(CLAIM, b'{"name":"Fraud"}')
    with pytest.raises(InvalidName, match="from 'Fraud', which is no model"):
        _register(fresh, "fraud")


def test_a_claim_that_keeps_coming_and_going_raises_conflict_not_a_bare_os_error(
    tmp_path: Path,
) -> None:
    inner = _unclaimed_fraud(tmp_path)

    def flicker(op: str, key: str) -> None:
        if key != CLAIM:
            return
        if op == "create" and not inner.exists(CLAIM):
            inner.create(CLAIM, b'{"name":"Fraud"}')  # another spelling claims first
        elif op == "read":
            inner.delete(CLAIM)  # and deletes its claim before this writer reads it

    with pytest.raises(Conflict, match=r"names/fraud\.json") as caught:
        _register(HookStore(inner, before=flicker), "fraud")
    assert isinstance(caught.value, ModelshipError)
