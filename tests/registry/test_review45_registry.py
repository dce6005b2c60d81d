"""Review 45: gc never collects a committed version whose manifest was lost, and a handle
that may not write is refused as such before any write reads a version.

A version named by its model's alias history, tag logs or archive marker is committed: a
slot of it that no manifest owns is damage (a manifest lost, perhaps restorable from a
backup), never a registration that died. A handle with the wrong key, or with a key on a
registry of unsigned models, gets ``SigningKeyRequired`` / ``ConfigError`` from every
writing method, not the ``SignatureError`` of the read it would otherwise make first.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

import modelship as ms
from modelship.errors import RepairWarning, SigningKeyRequired
from modelship.registry._layout import blob_key, manifest_key, slot_key, state_key
from modelship.registry._signing import Signer

KEY = b"k" * 32
OTHER = b"z" * 32
_OLD = "2020-01-01T00:00:00+00:00"


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by path, with its bytes."""
    found = {}
    for where, _, names in os.walk(root):
        for name in names:
            path = Path(where, name)
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def _two_versions(url: str, key: bytes | None) -> tuple[ms.Registry, ms.ModelVersion]:
    reg = ms.open_registry(url, signing_key=key)
    reg.register(model_name="m", model=b"model one", serializer="bytes")
    two = reg.register(model_name="m", model=b"model two", serializer="bytes")
    return reg, two


# --- 1. gc and a lost manifest ------------------------------------------------------------

_COMMITTING: dict[str, Callable[[ms.Registry], None]] = {
    "alias": lambda reg: reg.set_alias("m", "production", "2"),
    "tag": lambda reg: reg.set_tag("m", "2", "stage", "prod"),
    "archive": lambda reg: reg.delete("m", "2"),
}


@pytest.mark.parametrize("key", [None, KEY], ids=["unsigned", "signed"])
@pytest.mark.parametrize("named_by", list(_COMMITTING))
def test_gc_keeps_the_slot_and_bytes_of_a_committed_version_whose_manifest_was_lost(
    tmp_path: Path, named_by: str, key: bytes | None
) -> None:
    url = str(tmp_path / "r")
    reg, two = _two_versions(url, key)
    _COMMITTING[named_by](reg)
    (tmp_path / "r" / manifest_key("m", "2")).unlink()

    with pytest.warns(RepairWarning, match=r"version '2'.*is committed.*manifest was lost"):
        report = ms.open_registry(url, signing_key=key).gc(grace_seconds=0)

    assert report.dead_slots == ()
    assert report.blobs == ()
    assert reg.store.exists(blob_key(two.artifact.digest))
    assert "dead" not in json.loads(reg.store.read(slot_key("m", 2)))


def test_a_lost_manifest_put_back_after_gc_verifies_under_its_alias(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg, two = _two_versions(url, None)
    reg.set_alias("m", "production", "2")
    manifest = tmp_path / "r" / manifest_key("m", "2")
    backup = manifest.read_bytes()
    manifest.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)  # said above; here, what is left
        ms.open_registry(url).gc(grace_seconds=0)

    manifest.write_bytes(backup)
    assert ms.open_registry(url).verify("m", "@production").artifact == two.artifact


def test_gc_keeps_a_lost_versions_slot_when_a_marker_naming_versions_fails_its_check(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "r")
    reg, two = _two_versions(url, KEY)
    reg.set_alias("m", "production", "1")  # version 2 is named by nothing checkable
    # A writer without the key leaves an unsigned marker: what it names cannot be told.
    reg.store.create(state_key("m", "archived", "2"), b'{"by": "mallory"}')
    (tmp_path / "r" / manifest_key("m", "2")).unlink()

    with pytest.warns(RepairWarning, match=r"not signed.*cannot tell whether version '2'"):
        report = ms.open_registry(url, signing_key=KEY).gc(grace_seconds=0)

    assert report.dead_slots == ()
    assert report.blobs == ()
    assert reg.store.exists(blob_key(two.artifact.digest))


@pytest.mark.parametrize("key", [None, KEY], ids=["unsigned", "signed"])
def test_gc_still_collects_the_slot_of_a_registration_that_died_beside_aliased_versions(
    tmp_path: Path, key: bytes | None
) -> None:
    url = str(tmp_path / "r")
    reg, _ = _two_versions(url, key)
    reg.set_alias("m", "production", "2")
    reg.set_tag("m", "1", "stage", "old")
    reg.delete("m", "1")
    died = slot_key("m", 3)
    doc = {"version": "3", "registration": "died", "at": _OLD}
    reg.store.create(died, Signer(key).seal_bytes(doc, died) if key else json.dumps(doc).encode())
    orphan = blob_key("sha256:" + hashlib.sha256(b"orphan").hexdigest())
    reg.store.create(orphan, b"orphan")

    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)
        report = ms.open_registry(url, signing_key=key).gc(grace_seconds=0)

    assert report.dead_slots == (died,)
    assert report.blobs == (orphan,)
    assert json.loads(reg.store.read(died))["dead"] is True


# --- 2. a handle that may not write is refused before any read ----------------------------

_WRITES: dict[str, Callable[[ms.Registry], object]] = {
    "set_alias": lambda reg: reg.set_alias("m", "staging", "2"),
    "remove_alias": lambda reg: reg.remove_alias("m", "production"),
    "set_tag": lambda reg: reg.set_tag("m", "1", "k", "v"),
    "remove_tag": lambda reg: reg.remove_tag("m", "1", "team"),
    "delete": lambda reg: reg.delete("m", "2"),
    "restore": lambda reg: reg.restore("m", "3"),
    "purge": lambda reg: reg.purge("m", "3"),
    "register": lambda reg: reg.register(model_name="m", model=b"new", serializer="bytes"),
}

# gc records no signing policy: with a key, it collects an unsigned registry as without one.
_WRITES_AND_GC = {**_WRITES, "gc": lambda reg: reg.gc(grace_seconds=0)}


def _writable_registry(url: str, key: bytes | None) -> None:
    """Versions 1 (aliased, tagged), 2 (live) and 3 (archived) of ``m``."""
    reg = ms.open_registry(url, signing_key=key)
    reg.register(model_name="m", model=b"one", serializer="bytes", tags={"team": "risk"})
    reg.register(model_name="m", model=b"two", serializer="bytes")
    reg.register(model_name="m", model=b"three", serializer="bytes")
    reg.set_alias("m", "production", "1")
    reg.delete("m", "3")


@pytest.mark.parametrize("verify", [True, False], ids=["checked", "unchecked"])
@pytest.mark.parametrize("write", list(_WRITES_AND_GC))
def test_every_write_with_another_key_raises_signing_key_required_and_writes_nothing(
    tmp_path: Path, write: str, verify: bool
) -> None:
    root = tmp_path / "r"
    _writable_registry(str(root), KEY)
    before = _files(root)
    handle = ms.open_registry(str(root), signing_key=OTHER, verify_signatures=verify)

    with pytest.raises(SigningKeyRequired, match="signs with another key"):
        _WRITES_AND_GC[write](handle)

    assert _files(root) == before


@pytest.mark.parametrize("verify", [True, False], ids=["checked", "unchecked"])
@pytest.mark.parametrize("write", list(_WRITES))
def test_every_write_with_a_key_to_an_unsigned_registry_raises_config_error_and_writes_nothing(
    tmp_path: Path, write: str, verify: bool
) -> None:
    root = tmp_path / "r"
    _writable_registry(str(root), None)
    before = _files(root)
    handle = ms.open_registry(str(root), signing_key=KEY, verify_signatures=verify)

    with pytest.raises(ms.ConfigError, match="holds models and does not sign"):
        _WRITES[write](handle)

    assert _files(root) == before


@pytest.mark.parametrize("write", list(_WRITES))
def test_every_write_without_a_key_to_an_unsigned_registry_still_writes(
    tmp_path: Path, write: str
) -> None:
    root = tmp_path / "r"
    _writable_registry(str(root), None)
    before = _files(root)
    _WRITES[write](ms.open_registry(str(root), verify_signatures=False))
    assert _files(root) != before


# --- 1b. a version registered again is no lost manifest (second look) ---------------------


@pytest.mark.parametrize("key", [None, KEY], ids=["unsigned", "signed"])
@pytest.mark.parametrize("named_by", ["alias", "tag"])
def test_gc_collects_the_dead_slot_of_an_explicit_version_registered_again(
    tmp_path: Path, named_by: str, key: bytes | None
) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url, signing_key=key)
    # A registration of "1.4.0" that died between its slot and its manifest...
    died = slot_key("m", 1)
    doc = {"version": "1.4.0", "registration": "died", "at": _OLD}
    reg.store.create(died, Signer(key).seal_bytes(doc, died) if key else json.dumps(doc).encode())
    # ... retried, committed at the next slot, then aliased or tagged.
    again = reg.register(model_name="m", model=b"again", serializer="bytes", version="1.4.0")
    assert again.sequence == 2
    if named_by == "alias":
        reg.set_alias("m", "production", "1.4.0")
    else:
        reg.set_tag("m", "1.4.0", "stage", "prod")
    orphan = blob_key("sha256:" + hashlib.sha256(b"orphan").hexdigest())
    reg.store.create(orphan, b"orphan")

    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)  # no "manifest was lost"
        report = ms.open_registry(url, signing_key=key).gc(grace_seconds=0)

    assert report.dead_slots == (died,)
    assert report.blobs == (orphan,)
    assert json.loads(reg.store.read(died))["dead"] is True
    assert ms.open_registry(url, signing_key=key).verify("m", "1.4.0").sequence == 2


def _history_touched(reg: ms.Registry) -> list[str]:
    """Record every key or folder under an alias or tag log that ``reg.store`` lists or
    reads from now on; the list it fills."""
    touched: list[str] = []
    store = reg.store
    logs = ("models/m/aliases", "models/m/tags")

    def note(keys: list[str]) -> None:
        touched.extend(k for k in keys if k.startswith(logs))

    for name in ("list", "read", "read_many", "exists"):
        method = getattr(store, name)

        def counted(first: object, *a: object, _m: Callable[..., object] = method, **k: object):  # type: ignore[no-untyped-def]
            if isinstance(first, str):
                note([first])
                return _m(first, *a, **k)
            keys = list(first)  # type: ignore[call-overload]
            note(keys)
            return _m(keys, *a, **k)

        setattr(store, name, counted)
    return touched


def test_gc_reads_no_alias_or_tag_log_for_a_registration_in_flight(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url)
    for n in range(3):
        mv = reg.register(model_name="m", model=b"v%d" % n, serializer="bytes")
        reg.set_alias("m", "production", mv.version)
        reg.set_tag("m", mv.version, "stage", "x")
    young = slot_key("m", 4)
    at = datetime.now(timezone.utc).isoformat()
    reg.store.create(young, json.dumps({"version": "4", "registration": "busy", "at": at}).encode())

    gc_reg = ms.open_registry(url)
    touched = _history_touched(gc_reg)
    report = gc_reg.gc(grace_seconds=3600, dry_run=True)

    assert report.dead_slots == ()
    assert touched == []


def test_gc_reads_the_history_of_a_model_once_for_its_dead_slots(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    reg.set_alias("m", "production", "1")
    for seq in (2, 3):
        died = slot_key("m", seq)
        reg.store.create(
            died, json.dumps({"version": str(seq), "registration": "d", "at": _OLD}).encode()
        )

    gc_reg = ms.open_registry(url)
    touched = _history_touched(gc_reg)
    report = gc_reg.gc(grace_seconds=0, dry_run=True)

    assert report.dead_slots == (slot_key("m", 2), slot_key("m", 3))
    assert touched.count("models/m/aliases") == 1
