"""Signing: what a key holder wrote is what every reader resolves, or the read is refused.

The attacker in these tests can write to the store (``reg.store``) but holds no key. With
a key, every document that decides what a reference resolves to (manifests, sequence
slots, alias log entries, archive markers) is signed together with the key it is stored
at; without a key, a signed registry is refused unless the reader opts out explicitly.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.cli import main
from modelship.registry import Registry
from modelship.registry._layout import (
    SIGNING_POLICY,
    alias_hint_key,
    alias_key,
    head_key,
    manifest_key,
    slot_key,
    state_key,
)
from modelship.testing import HookStore

KEY = b"k" * 32


@pytest.fixture
def url(tmp_path: Path) -> str:
    return str(tmp_path / "registry")


@pytest.fixture
def signed(url: str) -> ms.Registry:
    """A signed registry with versions 1 and 2 of ``m`` and ``@production`` at 2."""
    reg = ms.open_registry(url, signing_key=KEY)
    reg.register(model_name="m", model=b"one", serializer="bytes", attachments={"notes": "a"})
    reg.register(model_name="m", model=b"two", serializer="bytes")
    reg.set_alias("m", "production", "1")
    reg.set_alias("m", "production", "2")
    return reg


def _write(reg: ms.Registry, key: str, doc: Any) -> None:
    """What an attacker with write access and no key does: put any document anywhere."""
    data = json.dumps(doc).encode() if not isinstance(doc, bytes) else doc
    if reg.store.exists(key):
        reg.store.replace(key, data)
    else:
        reg.store.create(key, data)


def _doc(reg: ms.Registry, key: str) -> Any:
    return json.loads(reg.store.read(key))


# --- item 7: a reader without the key never reads a signed registry silently -------------


@pytest.mark.parametrize(
    "read",
    [
        lambda r: r.load("m", "1"),
        lambda r: r.get("m", "latest"),
        lambda r: r.get("m", "@production"),
        lambda r: r.versions("m"),
        lambda r: r.aliases("m"),
        lambda r: r.history("m"),
        lambda r: r.models(),
    ],
    ids=["load", "get-latest", "get-alias", "versions", "aliases", "history", "models"],
)
def test_reader_without_key_refuses_a_signed_registry_and_says_how_to_read_it(
    signed: ms.Registry, url: str, read: Any
) -> None:
    keyless = ms.open_registry(url)
    with pytest.raises(ms.SignatureError) as info:
        read(keyless)
    message = str(info.value)
    assert "signing_key=" in message
    assert "MODELSHIP_SIGNING_KEY" in message
    assert "verify_signatures=False" in message


def test_reader_without_key_refuses_a_signed_version_even_if_the_policy_was_deleted(
    signed: ms.Registry, url: str
) -> None:
    signed.store.delete(SIGNING_POLICY)
    with pytest.raises(ms.SignatureError, match="is signed"):
        ms.open_registry(url).load("m", "1")


def test_writer_without_key_cannot_register_into_a_signed_registry(
    signed: ms.Registry, url: str
) -> None:
    with pytest.raises(ms.SignatureError, match="signs its versions"):
        ms.open_registry(url).register(model_name="m", model=b"evil", serializer="bytes")
    assert [mv.version for mv in signed.versions("m")] == ["1", "2"]


def test_verify_signatures_false_reads_a_signed_registry_unchecked(
    signed: ms.Registry, url: str
) -> None:
    unchecked = ms.open_registry(url, verify_signatures=False)
    assert unchecked.load("m", "@production") == b"two"


def test_signing_policy_is_recorded_at_the_first_signed_write_only(url: str) -> None:
    plain = ms.open_registry(url)
    assert not plain.store.exists(SIGNING_POLICY)
    ms.open_registry(url, signing_key=KEY).register(model_name="n", model=b"y", serializer="bytes")
    assert _doc(plain, SIGNING_POLICY)["signed"] is True
    with pytest.raises(ms.SignatureError, match="signs its versions"):
        ms.open_registry(url).get("n", "1")


def test_verify_signatures_must_be_a_bool(url: str) -> None:
    with pytest.raises(ms.ConfigError, match="verify_signatures"):
        ms.open_registry(url, verify_signatures="no")  # type: ignore[arg-type]


def test_cli_without_signing_key_refuses_a_signed_registry(
    signed: ms.Registry, url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    # No key is a configuration error (2), not a verification that failed (1).
    assert main(["registry", "verify", url, "m", "1"]) == 2
    assert "MODELSHIP_SIGNING_KEY" in capsys.readouterr().err
    assert main(["registry", "verify", url, "m", "1", "--no-verify-signatures"]) == 0
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    assert main(["registry", "verify", url, "m", "1"]) == 0


def test_a_text_key_that_utf8_cannot_encode_raises_config_error(url: str) -> None:
    with pytest.raises(ms.ConfigError, match=r"cannot be encoded as UTF-8.*pass the key as bytes"):
        ms.open_registry(url, signing_key="k\udcff" * 16)


@pytest.mark.skipif(not os.supports_bytes_environ, reason="the environment is text here")
def test_cli_reads_a_signing_key_of_any_bytes_from_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    key = bytes(range(128, 160))  # not UTF-8: Python decodes it with lone surrogates
    ms.open_registry(url, signing_key=key).register(model_name="m", model=b"w", serializer="bytes")
    monkeypatch.setitem(os.environb, b"MODELSHIP_SIGNING_KEY", key)
    assert main(["registry", "models", url]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out == "m\n"


# --- item 8: every document that decides a resolution is signed and checked ---------------


def test_get_checks_the_signature_not_only_load(signed: ms.Registry) -> None:
    key = manifest_key("m", "2")
    doc = _doc(signed, key)
    doc["metrics"] = {"auc": 0.99}
    _write(signed, key, doc)
    with pytest.raises(ms.SignatureError, match="did not make"):
        signed.get("m", "2")
    with pytest.raises(ms.SignatureError):
        signed.versions("m")


def test_an_unsigned_alias_entry_cannot_move_production_back(signed: ms.Registry) -> None:
    entry = _doc(signed, alias_key("m", 2))
    del entry["signature"]
    entry.update(revision=3, aliases={"production": "1"})
    _write(signed, alias_key("m", 3), entry)
    with pytest.raises(ms.SignatureError, match="not signed"):
        signed.get("m", "@production")
    with pytest.raises(ms.SignatureError):
        signed.history("m")


def test_a_signed_alias_entry_replayed_as_the_newest_is_refused(signed: ms.Registry) -> None:
    _write(signed, alias_key("m", 3), signed.store.read(alias_key("m", 1)))
    with pytest.raises(ms.SignatureError, match="did not make"):
        signed.get("m", "@production")


def test_a_forged_slot_cannot_make_an_old_version_latest(signed: ms.Registry) -> None:
    old = signed.get("m", "1")
    _write(signed, slot_key("m", 3), {"version": "1", "registration": old.registration})
    with pytest.raises(ms.SignatureError, match="not signed"):
        signed.get("m", "latest")


def test_a_signed_slot_replayed_higher_is_refused(signed: ms.Registry) -> None:
    _write(signed, slot_key("m", 3), signed.store.read(slot_key("m", 1)))
    with pytest.raises(ms.SignatureError, match="did not make"):
        signed.get("m", "latest")


def test_a_slot_turned_dead_without_the_key_is_refused(signed: ms.Registry) -> None:
    _write(signed, slot_key("m", 2), {"dead": True, "at": "2026-01-01T00:00:00+00:00"})
    with pytest.raises(ms.SignatureError, match="not signed"):
        signed.get("m", "latest")


def test_a_forged_archive_marker_cannot_hide_the_latest_version(signed: ms.Registry) -> None:
    signed.set_alias("m", "production", "1")
    _write(signed, state_key("m", "archived", "2"), {"by": "mallory", "at": "", "reason": ""})
    with pytest.raises(ms.SignatureError, match="not signed"):
        signed.get("m", "latest")
    with pytest.raises(ms.SignatureError):
        signed.versions("m")


def test_archive_markers_written_with_the_key_verify(signed: ms.Registry) -> None:
    signed.set_alias("m", "production", "1")
    signed.delete("m", "2")
    assert signed.get("m", "latest").version == "1"
    assert [mv.version for mv in signed.versions("m")] == ["1"]
    signed.purge("m", "2")
    assert [mv.version for mv in signed.versions("m", include_archived=True)] == ["1"]


def test_dead_slots_written_by_gc_with_the_key_verify(url: str) -> None:
    reg = ms.open_registry(url, signing_key=KEY)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    orphan = {"version": "9", "registration": "x" * 32, "at": "2000-01-01T00:00:00+00:00"}
    reg.store.create(slot_key("m", 2), reg._signer.seal_bytes(orphan, slot_key("m", 2)))
    reg.register(model_name="m", model=b"three", serializer="bytes")
    assert reg.gc(grace_seconds=0).dead_slots == (slot_key("m", 2),)
    assert reg.get("m", "latest").version == "3"
    reg.delete("m", "3")
    assert reg.get("m", "latest").version == "1"


@pytest.mark.parametrize("hint", [0, 1, 10**6])
def test_hints_cannot_change_what_a_reference_resolves_to(signed: ms.Registry, hint: int) -> None:
    for key in (head_key("m"), alias_hint_key("m")):
        _write(signed, key, {"n": hint})
    assert signed.get("m", "latest").version == "2"
    assert signed.get("m", "@production").version == "2"


def test_versions_never_returns_a_tampered_snapshot_entry(
    signed: ms.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Registry, "_SNAPSHOT_AFTER", 2)
    signed.versions("m")  # writes the snapshot
    index = "models/m/index"
    (name,) = signed.store.list(index)
    snapshot = _doc(signed, f"{index}/{name}")
    snapshot["manifests"]["1.json"]["metrics"] = {"auc": 0.99}
    _write(signed, f"{index}/{name}", snapshot)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = signed.versions("m")
    assert [mv.metrics for mv in found] == [{}, {}]
    assert any("did not make" in str(w.message) for w in caught)


def test_a_signed_handle_refuses_entries_written_before_signing_began(url: str) -> None:
    plain = ms.open_registry(url)
    plain.register(model_name="m", model=b"x", serializer="bytes")
    plain.set_alias("m", "production", "1")
    signed = ms.open_registry(url, signing_key=KEY)
    for read in (lambda: signed.get("m", "@production"), lambda: signed.get("m", "latest")):
        with pytest.raises(ms.SignatureError, match="not signed"):
            read()


# --- item 18: each field of a signed manifest is covered by its signature ----------------


def _rewrites(reg: ms.Registry) -> dict[str, Any]:
    other = _doc(reg, manifest_key("m", "2"))
    return {
        "name": "n",
        "version": "3",
        "sequence": 7,
        "artifact": other["artifact"],
        "created_at": "2020-01-01T00:00:00+00:00",
        "created_by": "mallory",
        "metrics": {"auc": 0.99},
        "params": {"lr": 1},
        "tags": {"team": "x"},
        "lineage": {"git_commit": "f" * 40, "git_dirty": False, "data": {}, "extra": {}},
        "description": "forged",
        "attachments": {},
        "registration": "0" * 32,
    }


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "version",
        "sequence",
        "artifact",
        "artifact.size",
        "artifact.serializer",
        "created_at",
        "created_by",
        "metrics",
        "params",
        "tags",
        "lineage",
        "description",
        "attachments",
        "registration",
    ],
)
def test_rewriting_any_field_of_a_signed_manifest_is_refused(
    signed: ms.Registry, field: str
) -> None:
    key = manifest_key("m", "1")
    doc = _doc(signed, key)
    if field == "artifact.size":
        doc["artifact"] = {**doc["artifact"], "size": doc["artifact"]["size"] + 1}
    elif field == "artifact.serializer":
        doc["artifact"] = {**doc["artifact"], "serializer": "joblib"}
    else:
        forged = _rewrites(signed)[field]
        assert doc[field] != forged
        doc[field] = forged
    _write(signed, key, doc)
    expected = ms.IntegrityError if field in ("name", "version") else ms.SignatureError
    with pytest.raises(expected):
        signed.load("m", "1")
    with pytest.raises(expected):
        signed.verify("m", "1")


def test_a_copy_of_a_signed_registry_stays_signed(signed: ms.Registry, tmp_path: Path) -> None:
    copy = ms.open_registry(tmp_path / "copy", signing_key=KEY)
    ms.copy_registry(signed, copy)
    assert copy.load("m", "@production") == b"two"
    ms.copy_registry(signed, ms.open_registry(tmp_path / "copy2"))  # copied without a key
    with pytest.raises(ms.SignatureError, match="signs its versions"):
        ms.open_registry(tmp_path / "copy2").get("m", "latest")


def test_a_slot_left_dead_by_a_registration_refused_during_gc_is_signed(url: str) -> None:
    reg = ms.open_registry(url, signing_key=KEY)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    reg.store.create(".gc/run.json", b"{}")
    with pytest.raises(ms.Conflict, match="garbage collection"):
        reg.register(model_name="m", model=b"two", serializer="bytes")
    # latest walks down through the dead slot 2: it verifies only if it was signed.
    assert reg.get("m", "latest").version == "1"


def test_a_set_alias_undone_by_a_racing_delete_is_a_signed_move(url: str) -> None:
    other = ms.open_registry(url, signing_key=KEY)
    for _ in range(2):
        other.register(model_name="m", model=b"x", serializer="bytes")
    other.set_alias("m", "production", "1")

    def delete_first(operation: str, key: str) -> None:
        if operation == "create" and key == alias_key("m", 2):
            other.delete("m", "2")

    mover = Registry(HookStore(other.store, before=delete_first), signing_key=KEY)
    with pytest.raises(ms.ArchivedVersion, match="undone"):
        mover.set_alias("m", "production", "2")
    assert other.get("m", "@production").version == "1"
    assert [(m.from_version, m.to_version) for m in other.history("m")][-1] == ("2", "1")
