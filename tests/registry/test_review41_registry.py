"""Review 41: what a writer without the key leaves is never acted on as the key holder's.

gc takes a purge marker for a finished purge, and turns a slot into a signed tombstone,
only once it passes the registry's check; a read (its caches) never records a signing
policy; a refused copy writes nothing; an unknown alias points at the aliases there are.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main
from modelship.errors import RepairWarning
from modelship.registry._layout import SIGNING_POLICY, blob_key, folder, slot_key, state_key
from modelship.registry._signing import Signer
from modelship.testing import HookStore

KEY = b"k" * 32
_OLD = "2020-01-01T00:00:00+00:00"


def _age(root: Path, seconds: float = 86400) -> None:
    """Make every file under ``root`` look ``seconds`` old (as time would)."""
    then = time.time() - seconds
    for folder_, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(folder_, name), (then, then))


def _overwrite(reg: ms.Registry, key: str, doc: dict[str, object]) -> None:
    """What a writer without the key does: overwrite one key with an unsigned document."""
    reg.store.replace(key, json.dumps(doc).encode())


def _forge_purge(reg: ms.Registry, version: str) -> None:
    """A writer without the key creates an unsigned purge marker, long ago."""
    reg.store.create(state_key("m", "purged", version), b'{"by": "mallory", "at": "2026"}')


def _two_versions(url: str, key: bytes | None) -> tuple[ms.Registry, ms.ModelVersion]:
    reg = ms.open_registry(url, signing_key=key)
    reg.register(model_name="m", model=b"model one", serializer="bytes")
    two = reg.register(model_name="m", model=b"model two", serializer="bytes")
    reg.set_alias("m", "production", "2")
    return reg, two


# --- 1. gc and purge markers -------------------------------------------------------------


def test_gc_keeps_the_bytes_of_a_live_version_under_an_unsigned_purge_marker(
    tmp_path: Path,
) -> None:
    reg, two = _two_versions(str(tmp_path / "r"), KEY)
    _forge_purge(reg, "2")
    _age(tmp_path)
    with pytest.warns(RepairWarning, match=r"purged/2\.json is not signed.*keeps its bytes"):
        report = ms.open_registry(str(tmp_path / "r"), signing_key=KEY).gc()
    assert report.blobs == ()
    assert reg.store.exists(blob_key(two.artifact.digest))
    reg.store.delete(state_key("m", "purged", "2"))  # the operator removes the forgery
    assert ms.open_registry(str(tmp_path / "r"), signing_key=KEY).load("m", "@production") == (
        b"model two"
    )


def test_gc_with_a_key_checks_purge_markers_even_when_reading_unchecked(tmp_path: Path) -> None:
    reg, two = _two_versions(str(tmp_path / "r"), KEY)
    _forge_purge(reg, "2")
    _age(tmp_path)
    unchecked = ms.open_registry(str(tmp_path / "r"), signing_key=KEY, verify_signatures=False)
    with pytest.warns(RepairWarning):
        assert unchecked.gc().blobs == ()
    assert reg.store.exists(blob_key(two.artifact.digest))


def test_gc_takes_no_unsigned_purge_marker_alone_in_a_signing_registry(tmp_path: Path) -> None:
    # Was: a purge marker without an archive marker never counted, even unsigned. A purge
    # that went on while a restore raced it leaves exactly that (the restore deleted the
    # archive marker), and its bytes were never collected: the signature is what stops a
    # forged one (in a registry that does not sign, anyone may write any marker).
    reg, two = _two_versions(str(tmp_path / "r"), KEY)
    reg.remove_alias("m", "production")
    _forge_purge(reg, "2")
    _age(tmp_path)
    with pytest.warns(RepairWarning, match=r"purged/2\.json is not signed"):
        assert ms.open_registry(str(tmp_path / "r"), signing_key=KEY).gc().blobs == ()
    assert reg.store.exists(blob_key(two.artifact.digest))


def _purge_raced_by_restore(url: str, key: bytes | None) -> str:
    """Versions 1 and 2 of ``m`` share their bytes; 1 is purged, then a purge of 2 goes on
    while a restore of 2 races it (the documented interleaving the purge wins: the restore
    deletes the archive marker after the purge found it). The blob's key."""
    reg = ms.open_registry(url, signing_key=key)
    for _ in range(2):
        mv = reg.register(model_name="m", model=b"shared", serializer="bytes")
    reg.delete("m", "1")
    reg.purge("m", "1")  # keeps the bytes: version 2 uses them
    reg.delete("m", "2")
    archived = state_key("m", "archived", "2")

    def purge_first(op: str, key_: str) -> None:
        if (
            op == "delete"
            and key_ == archived
            and not reg.store.exists(state_key("m", "purged", "2"))
        ):
            ms.open_registry(url, signing_key=key).purge("m", "2")

    with pytest.raises(ms.Conflict, match="purge of m version 2 was under way"):
        ms.Registry(HookStore(reg.store, before=purge_first), signing_key=key).restore("m", "2")
    assert not reg.store.exists(archived)
    assert reg.store.exists(state_key("m", "purged", "2"))
    return blob_key(mv.artifact.digest)


@pytest.mark.parametrize("key", [KEY, None], ids=["signed", "unsigned"])
def test_gc_collects_the_bytes_of_a_version_purged_while_a_restore_raced_it(
    tmp_path: Path, key: bytes | None
) -> None:
    url = str(tmp_path / "r")
    blob = _purge_raced_by_restore(url, key)
    assert (tmp_path / "r" / blob).exists()  # every purge kept it: the other's may give way
    _age(tmp_path, 7 * 86400)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)
        report = ms.open_registry(url, signing_key=key).gc(grace_seconds=0)
    assert blob in report.blobs
    assert not (tmp_path / "r" / blob).exists()


def test_gc_keeps_the_bytes_of_a_signed_purge_beside_an_unsigned_archive_marker(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url, signing_key=KEY)
    mv = reg.register(model_name="m", model=b"x", serializer="bytes")
    reg.delete("m", "1")
    reg.purge("m", "1")
    reg.store.create(blob_key(mv.artifact.digest), b"x")  # as if the purge had kept them
    _overwrite(reg, state_key("m", "archived", "1"), {"by": "mallory", "at": "2026"})
    _age(tmp_path, 7 * 86400)
    with pytest.warns(RepairWarning, match=r"archived/1\.json is not signed"):
        assert ms.open_registry(url, signing_key=KEY).gc(grace_seconds=0).blobs == ()


def test_gc_collects_bytes_only_versions_purged_for_good_share(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url, signing_key=KEY)
    for _ in range(3):
        mv = reg.register(model_name="m", model=b"shared", serializer="bytes")
    for version in ("1", "2"):
        reg.delete("m", version)
        reg.purge("m", version)  # each keeps the bytes: version 3 (and the other) use them
    reg.delete("m", "3")
    reg.purge("m", "3")  # keeps them too: the others' purges may yet give way
    assert reg.store.exists(blob_key(mv.artifact.digest))
    _age(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)
        report = ms.open_registry(url, signing_key=KEY).gc()
    assert blob_key(mv.artifact.digest) in report.blobs  # (with the shared attachments')


# --- 2. gc and forged slots --------------------------------------------------------------


def test_gc_leaves_a_forged_slot_of_a_committed_version_alone(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url, signing_key=KEY)
    for i in range(3):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes")
    key = slot_key("m", 3)
    _overwrite(reg, key, {"version": "3", "registration": "forged", "at": _OLD})
    forged = reg.store.read(key)
    with pytest.warns(RepairWarning, match=r"000000000003\.json is not signed.*leaves it alone"):
        report = ms.open_registry(url, signing_key=KEY).gc()
    assert report.dead_slots == ()
    assert reg.store.read(key) == forged
    # Still refused (damage to repair), never rolled back to version 2 with valid signatures.
    with pytest.raises(ms.SignatureError):
        ms.open_registry(url, signing_key=KEY).get("m")


def test_gc_with_a_key_checks_slots_even_when_reading_unchecked(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url, signing_key=KEY)
    for i in range(2):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes")
    _overwrite(reg, slot_key("m", 2), {"version": "2", "registration": "forged", "at": _OLD})
    unchecked = ms.open_registry(url, signing_key=KEY, verify_signatures=False)
    with pytest.warns(RepairWarning):
        assert unchecked.gc().dead_slots == ()


def test_gc_does_not_declare_dead_a_slot_whose_number_its_versions_manifest_holds(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url)
    for i in range(3):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes")
    key = slot_key("m", 3)
    _overwrite(reg, key, {"version": "3", "registration": "forged", "at": _OLD})
    with pytest.warns(RepairWarning, match="whose manifest holds this number"):
        assert ms.open_registry(url).gc().dead_slots == ()
    assert json.loads(reg.store.read(key))["registration"] == "forged"


def _age_key(root: Path, key: str) -> None:
    """Make ``key`` two hours old in the store (gc ages a slot by its time there)."""
    then = time.time() - 7200
    os.utime(root / key, (then, then))


def test_gc_still_turns_a_signed_slot_of_a_registration_that_died_dead(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url, signing_key=KEY)
    reg.register(model_name="m", model=b"x", serializer="bytes")
    key = slot_key("m", 2)
    died = {"version": "9", "registration": "died", "at": _OLD}
    reg.store.create(key, Signer(KEY).seal_bytes(died, key))
    _age_key(tmp_path / "r", key)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)
        assert ms.open_registry(url, signing_key=KEY).gc().dead_slots == (key,)
    assert json.loads(reg.store.read(key))["dead"] is True


# --- 3. reading with a key records no policy ---------------------------------------------


def _unsigned(url: str, count: int) -> ms.Registry:
    reg = ms.open_registry(url)
    for i in range(count):
        reg.register(
            model_name="m", model=bytes([i]), serializer="bytes", capture_environment=False
        )
    return reg


def test_reading_an_unsigned_registry_with_a_key_unchecked_records_no_policy(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "old")
    _unsigned(url, 20)  # more than a listing chunk (16)
    migrator = ms.open_registry(url, signing_key=KEY, verify_signatures=False)
    assert len(migrator.versions("m", limit=10)) == 10
    assert len(migrator.versions("m")) == 20
    assert not (tmp_path / "old" / SIGNING_POLICY).exists()
    assert not (tmp_path / "old" / folder("m", "listing")).exists()  # no key-signed chunk
    assert ms.open_registry(url).get("m").version == "20"  # keyless readers still read it


def test_a_snapshot_written_by_a_reader_with_a_key_records_no_policy(tmp_path: Path) -> None:
    url = str(tmp_path / "old")
    _unsigned(url, 3)
    migrator = ms.open_registry(url, signing_key=KEY, verify_signatures=False)
    migrator._SNAPSHOT_AFTER = 2  # a snapshot is due after this many manifests
    assert len(migrator.versions("m")) == 3
    assert not (tmp_path / "old" / SIGNING_POLICY).exists()
    assert ms.open_registry(url).get("m").version == "3"


def test_a_reader_with_a_key_unchecked_signs_no_listing_chunk(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    reg = ms.open_registry(url, signing_key=KEY)
    for i in range(20):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes")
    unchecked = ms.open_registry(url, signing_key=KEY, verify_signatures=False)
    assert len(unchecked.versions("m", limit=20)) == 20
    # It read the slots unchecked: a chunk it signed would vouch for what it did not check.
    assert not (tmp_path / "r" / folder("m", "listing")).exists()


def _unsigned_purged(url: str) -> str:
    """An unsigned registry whose three versions share their bytes, all purged; the blob's key."""
    reg = _unsigned(url, 0)
    for _ in range(3):
        mv = reg.register(model_name="m", model=b"same", serializer="bytes")
    for version in ("1", "2", "3"):
        reg.delete("m", version)
        reg.purge("m", version)
    return blob_key(mv.artifact.digest)


@pytest.mark.parametrize("verify", [True, False], ids=["checking", "unchecked"])
def test_gc_with_a_key_of_a_registry_that_does_not_sign_collects_as_keyless_gc(
    tmp_path: Path, verify: bool
) -> None:
    url = str(tmp_path / "old")
    blob = _unsigned_purged(url)
    _age(tmp_path, 7 * 86400)
    keyed = ms.open_registry(url, signing_key=KEY, verify_signatures=verify)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RepairWarning)  # its markers were never signed
        assert blob in keyed.gc(grace_seconds=0).blobs
    assert not (tmp_path / "old" / SIGNING_POLICY).exists()
    assert ms.open_registry(url).models() == ["m"]  # keyless readers still read it


def test_gc_with_a_key_turns_an_unsigned_registrys_dead_slot_into_an_unsigned_tombstone(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "old")
    reg = _unsigned(url, 1)
    key = slot_key("m", 2)
    reg.store.create(key, json.dumps({"version": "9", "registration": "died", "at": _OLD}).encode())
    _age_key(tmp_path / "old", key)
    assert ms.open_registry(url, signing_key=KEY).gc().dead_slots == (key,)
    assert "signature" not in json.loads(reg.store.read(key))
    assert not (tmp_path / "old" / SIGNING_POLICY).exists()
    assert ms.open_registry(url).get("m").version == "1"


def test_cli_gc_with_the_key_variable_set_records_no_policy_in_an_unsigned_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(tmp_path / "r")
    _unsigned(url, 1)
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())  # set for another registry
    assert main(["registry", "gc", url]) == 0
    assert not (tmp_path / "r" / SIGNING_POLICY).exists()
    assert ms.open_registry(url).get("m").version == "1"


_WRITES = {
    "register": lambda r: r.register(model_name="m", model=b"new", serializer="bytes"),
    "set_alias": lambda r: r.set_alias("m", "production", "1"),
    "set_tag": lambda r: r.set_tag("m", "1", "stage", "new"),
    "delete": lambda r: r.delete("m", "1"),
}


@pytest.mark.parametrize("write", sorted(_WRITES))
def test_a_handle_with_a_key_reading_unchecked_writes_nothing_to_an_unsigned_registry(
    tmp_path: Path, write: str
) -> None:
    url = str(tmp_path / "old")
    _unsigned(url, 1)
    migrator = ms.open_registry(url, signing_key=KEY, verify_signatures=False)
    with pytest.raises(ms.ConfigError, match=r"reads unchecked.*Open it without the key"):
        _WRITES[write](migrator)
    assert not (tmp_path / "old" / SIGNING_POLICY).exists()
    keyless = ms.open_registry(url)
    assert keyless.get("m").version == "1"
    assert keyless.aliases("m") == {}
    _WRITES[write](keyless)  # the retry the message advises succeeds


def test_a_handle_with_the_key_reading_unchecked_still_writes_to_its_signed_registry(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "r")
    ms.open_registry(url, signing_key=KEY).register(model_name="m", model=b"x", serializer="bytes")
    ms.open_registry(url, signing_key=KEY, verify_signatures=False).set_alias("m", "prod", "1")
    assert ms.open_registry(url, signing_key=KEY).get("m", "@prod").version == "1"


def test_a_handle_with_the_key_reading_unchecked_may_start_signing_an_empty_registry(
    tmp_path: Path,
) -> None:
    # No models, so no keyless reader to lock out: the refusal above is for a registry of
    # unsigned models (as the migration away from one). Third look: it refused this too,
    # and with it a copy of a signed registry into a new one under
    # --no-verify-signatures while the key variable was set.
    url = str(tmp_path / "new")
    fresh = ms.open_registry(url, signing_key=KEY, verify_signatures=False)
    fresh.register(model_name="m", model=b"x", serializer="bytes")
    assert (tmp_path / "new" / SIGNING_POLICY).exists()
    assert ms.open_registry(url, signing_key=KEY).get("m").version == "1"


def test_cli_copy_of_a_signed_registry_into_a_new_one_reading_unchecked_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = ms.open_registry(str(tmp_path / "src"), signing_key=KEY)
    src.register(model_name="m", model=b"w", serializer="bytes", version="1")
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    code = main(
        ["registry", "copy", "--no-verify-signatures", str(tmp_path / "src"), str(tmp_path / "dst")]
    )
    assert code == 0, capsys.readouterr().err
    assert ms.open_registry(str(tmp_path / "dst"), signing_key=KEY).load("m", "1") == b"w"


# --- 4. a refused copy writes nothing ----------------------------------------------------


def test_copy_of_an_unsigned_registry_into_a_keyed_handle_is_refused_before_writing(
    tmp_path: Path,
) -> None:
    src = ms.open_registry(str(tmp_path / "src"))
    src.register(model_name="m", model=b"a", serializer="bytes")
    dst_url = str(tmp_path / "dst")
    with pytest.raises(ms.ConfigError) as refused:
        ms.copy_registry(src, ms.open_registry(dst_url, signing_key=KEY))
    assert not (tmp_path / "dst").exists()
    assert "Open the destination without a key" in str(refused.value)
    # The retry the message advises succeeds.
    assert ms.copy_registry(src, ms.open_registry(dst_url)).versions == 1
    assert ms.open_registry(dst_url).load("m") == b"a"


@pytest.mark.parametrize("key", [None, KEY], ids=["keyless", "keyed"])
def test_copy_of_a_signed_registry_into_one_holding_unsigned_models_is_refused(
    tmp_path: Path, key: bytes | None
) -> None:
    src = ms.open_registry(str(tmp_path / "src"), signing_key=KEY)
    src.register(model_name="signed", model=b"s", serializer="bytes")
    dst_url = str(tmp_path / "dst")
    _unsigned(dst_url, 1)
    with pytest.raises(ms.ConfigError, match="holds unsigned models"):
        ms.copy_registry(src, ms.open_registry(dst_url, signing_key=key))
    assert not (tmp_path / "dst" / SIGNING_POLICY).exists()
    assert ms.open_registry(dst_url).models() == ["m"]
    assert ms.open_registry(dst_url).load("m") == bytes([0])


# --- 5. an unknown alias ------------------------------------------------------------------


def test_remove_alias_of_an_unknown_alias_names_the_aliases_there_are(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "r"))
    reg.register(model_name="m", model=b"x", serializer="bytes")
    reg.set_alias("m", "staging", "1")
    shown = r"alias 'nope' \(its aliases: staging\); see aliases\('m'\)"
    with pytest.raises(ms.VersionNotFound, match=shown):
        reg.remove_alias("m", "nope")


def test_cli_unalias_of_an_unknown_alias_points_at_the_aliases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "r")
    ms.open_registry(url).register(model_name="m", model=b"x", serializer="bytes")
    assert main(["registry", "unalias", url, "m", "nope"]) != 0
    err = capsys.readouterr().err
    assert "its aliases: none" in err
    assert "aliases('m')" in err
    assert "versions('m')" not in err
