"""Review 43: signing starts only in an empty registry; any legal file name downloads; a
stray slot cannot make ``latest`` walk billions of numbers; yes/no and size options are
checked.
"""

from __future__ import annotations

import errno
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import modelship as ms
from modelship.errors import SigningKeyRequired
from modelship.registry import FsspecStore, Registry
from modelship.registry import _download as download_module
from modelship.registry._hints import highest_present, read_hint
from modelship.registry._layout import SIGNING_POLICY, blob_key, head_key, slot_key
from modelship.testing import HookStore, MemoryStore

KEY = b"k" * 32


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _unsigned(url: str) -> None:
    """An unsigned registry: versions 1 to 3 of ``fraud``, 1 archived, @production at 2."""
    reg = ms.open_registry(url)
    for i in range(3):
        reg.register(model_name="fraud", model=b"w%d" % i, serializer="bytes")
    reg.set_alias("fraud", "production", "2")
    reg.delete("fraud", "1")


# --- 1. a keyed handle does not start signing a registry of unsigned models ---------------

_FIRST_SIGNED_WRITES: dict[str, Callable[[ms.Registry], object]] = {
    "register": lambda r: r.register(model_name="fraud", model=b"new", serializer="bytes"),
    "register_another_model": lambda r: r.register(
        model_name="other", model=b"new", serializer="bytes"
    ),
    "check_writable": lambda r: r.check_writable(),
}


@pytest.mark.parametrize("write", sorted(_FIRST_SIGNED_WRITES))
def test_a_keyed_write_into_an_unsigned_registry_with_models_is_refused_and_writes_nothing(
    tmp_path: Path, write: str
) -> None:
    url = str(tmp_path / "r")
    _unsigned(url)
    before = _files(tmp_path / "r")
    keyed = ms.open_registry(url, signing_key=KEY)
    with pytest.raises(ms.ConfigError) as refused:
        _FIRST_SIGNED_WRITES[write](keyed)
    message = str(refused.value)
    assert "holds models and does not sign" in message
    assert "Open it without the key" in message
    assert "open a new registry with the key" in message
    assert not (tmp_path / "r" / SIGNING_POLICY).exists()
    assert _files(tmp_path / "r") == before
    keyless = ms.open_registry(url)
    assert keyless.load("fraud", "@production") == b"w1"
    assert [v.version for v in keyless.versions("fraud")] == ["2", "3"]


_OTHER_WRITES: dict[str, Callable[[ms.Registry], object]] = {
    "set_alias": lambda r: r.set_alias("fraud", "staging", "3"),
    "remove_alias": lambda r: r.remove_alias("fraud", "production"),
    "set_tag": lambda r: r.set_tag("fraud", "3", "team", "risk"),
    "delete": lambda r: r.delete("fraud", "3"),
    "restore": lambda r: r.restore("fraud", "1"),
    "purge": lambda r: r.purge("fraud", "1"),
}


@pytest.mark.parametrize("write", sorted(_OTHER_WRITES))
def test_no_keyed_write_records_a_policy_in_an_unsigned_registry_with_models(
    tmp_path: Path, write: str
) -> None:
    # These read an unsigned version or alias entry first, which a keyed handle refuses;
    # whichever refusal comes first, nothing is written and keyless readers keep reading.
    url = str(tmp_path / "r")
    _unsigned(url)
    before = _files(tmp_path / "r")
    with pytest.raises((ms.ConfigError, ms.SignatureError)):
        _OTHER_WRITES[write](ms.open_registry(url, signing_key=KEY))
    assert _files(tmp_path / "r") == before
    assert ms.open_registry(url).get("fraud", "@production").version == "2"


def test_a_keyed_handle_reading_unchecked_is_refused_as_before(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    _unsigned(url)
    migrator = ms.open_registry(url, signing_key=KEY, verify_signatures=False)
    with pytest.raises(ms.ConfigError, match=r"reads unchecked.*Open it without the key"):
        migrator.set_alias("fraud", "staging", "3")
    assert not (tmp_path / "r" / SIGNING_POLICY).exists()


def test_the_advised_retry_without_the_key_writes(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    _unsigned(url)
    with pytest.raises(ms.ConfigError):
        ms.open_registry(url, signing_key=KEY).register(
            model_name="fraud", model=b"new", serializer="bytes"
        )
    assert (
        ms.open_registry(url).register(model_name="fraud", model=b"new", serializer="bytes").version
        == "4"
    )


def test_a_keyed_handle_still_starts_signing_an_empty_registry(tmp_path: Path) -> None:
    url = str(tmp_path / "r")
    keyed = ms.open_registry(url, signing_key=KEY)
    keyed.register(model_name="m", model=b"x", serializer="bytes")
    keyed.register(model_name="m", model=b"y", serializer="bytes")
    assert (tmp_path / "r" / SIGNING_POLICY).exists()
    assert ms.open_registry(url, signing_key=KEY).load("m") == b"y"
    with pytest.raises(SigningKeyRequired):
        ms.open_registry(url).get("m")


def test_a_keyless_first_model_racing_the_policy_is_refused_never_trusted() -> None:
    # The race the code comment describes: a keyless writer adds the first model of an
    # EMPTY registry after the keyed handle found none and before it records its policy.
    inner = MemoryStore()
    keyless = Registry(inner)

    def keyless_first(key: str) -> None:
        if key == SIGNING_POLICY and not inner.list("models"):
            keyless.register(model_name="plain", model=b"p", serializer="bytes")

    keyed = Registry(HookStore(inner, before_create=keyless_first), signing_key=KEY)
    keyed.register(model_name="signed", model=b"s", serializer="bytes")
    assert inner.exists(SIGNING_POLICY)
    reader = Registry(inner, signing_key=KEY)
    assert reader.load("signed") == b"s"
    with pytest.raises(ms.SignatureError, match="not signed"):
        reader.get("plain")
    with pytest.raises(SigningKeyRequired):
        Registry(inner).get("plain")


# --- 2 and 3. download: any legal file name; a NUL is a ConfigError -------------------------


@pytest.fixture
def registry() -> ms.Registry:
    reg = ms.open_registry(f"memory://review43-download-{uuid.uuid4().hex}")
    reg.register(model_name="m", model=b"weights", serializer="bytes")
    return reg


@pytest.mark.parametrize("name", ["m" * 250, "m" * 255, "é" * 127], ids=["250", "255", "utf8"])
def test_download_to_a_file_name_up_to_name_max_works(
    registry: ms.Registry, tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    registry.download("m", "1", out)
    assert out.read_bytes() == b"weights"
    assert _files(tmp_path) == [name]  # no temporary file left


def test_a_failed_cleanup_never_hides_why_the_download_failed(
    registry: ms.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mv = registry.get("m", "1")
    registry.store.replace(blob_key(mv.artifact.digest), b"tampered")

    def refused(path: object) -> None:
        raise OSError(errno.ENAMETOOLONG, "File name too long", str(path))

    monkeypatch.setattr(download_module.os, "unlink", refused)
    with pytest.raises(ms.IntegrityError):
        registry.download("m", "1", tmp_path / "model.bin")
    monkeypatch.undo()
    assert not (tmp_path / "model.bin").exists()


def test_download_to_a_path_with_a_nul_raises_config_error(
    registry: ms.Registry, tmp_path: Path
) -> None:
    with pytest.raises(ms.ConfigError, match="NUL"):
        registry.download("m", "1", str(tmp_path / "a\x00b"))
    assert _files(tmp_path) == []


# --- 4. a stray slot far above the top --------------------------------------------------------


def _counting(versions: int) -> tuple[MemoryStore, ms.Registry, list[str]]:
    inner = MemoryStore()
    reg = Registry(inner)
    for i in range(versions):
        reg.register(model_name="m", model=b"x%d" % i, serializer="bytes")
    calls: list[str] = []
    counted = Registry(HookStore(inner, before=lambda op, key: calls.append(key)))
    return inner, counted, calls


def _plant(inner: MemoryStore, number: int, hint: int) -> None:
    inner.create(slot_key("m", number), b'{"dead": true}')
    inner.replace(head_key("m"), json.dumps({"n": hint}).encode())


def test_a_stray_slot_below_a_hint_past_it_is_not_taken_for_the_top() -> None:
    inner, counted, calls = _counting(3)
    _plant(inner, 20_000, 20_001)
    assert counted.get("m", "latest").version == "3"
    assert len(calls) < 100
    assert read_hint(inner, head_key("m")) == 3  # the next reader starts right
    calls.clear()
    newest = counted.versions("m", limit=2, order="newest")
    assert [v.version for v in newest] == ["3", "2"]
    assert len(calls) < 100


def test_a_stray_slot_the_hint_names_makes_latest_raise_integrity_error() -> None:
    inner, counted, calls = _counting(3)
    _plant(inner, 20_000, 20_000)
    with pytest.raises(ms.IntegrityError) as caught:
        counted.get("m", "latest")
    assert slot_key("m", 20_000) in str(caught.value)
    assert "delete it" in str(caught.value)
    assert len(calls) < 400  # one read per missing slot up to the bound, not 20,000


def test_a_short_hole_in_the_slots_is_skipped_as_before() -> None:
    # Registries from before gc kept dead slots as tombstones: a few missing slots.
    inner, counted, _ = _counting(6)
    counted.delete("m", "6")
    for number in (4, 5):
        inner.delete(slot_key("m", number))
    assert counted.get("m", "latest").version == "3"


def test_highest_present_ignores_a_hint_that_ran_ahead_onto_a_stray_key() -> None:
    probed: list[int] = []

    def exists(n: int) -> bool:
        probed.append(n)
        return n <= 3 or n == 200_000

    assert highest_present(exists, 200_001) == 3
    assert len(probed) < 10


# --- 5. yes/no and size options ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["no", 0, 1, "False"])
def test_exclusive_creates_must_be_a_bool_or_none(value: object) -> None:
    with pytest.raises(ms.ConfigError, match="exclusive_creates must be True, False or None"):
        ms.open_registry("memory://review43-exclusive", exclusive_creates=value)  # type: ignore[arg-type]


def test_an_fsspec_store_refuses_a_non_bool_exclusive_creates() -> None:
    import fsspec

    with pytest.raises(ms.ConfigError, match="exclusive_creates"):
        FsspecStore(fsspec.filesystem("memory"), "/x", url="memory://x", exclusive_creates="no")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [2**53 + 1, 2**70, 10**5000], ids=["2**53+1", "2**70", "10**5000"]
)
def test_checkpoint_every_past_any_artifact_size_is_refused(value: int) -> None:
    with pytest.raises(ms.ConfigError, match=r"checkpoint_every must be .* from 1 to 2\*\*53"):
        ms.open_registry("memory://review43-checkpoints", checkpoint_every=value)


def test_the_largest_checkpoint_interval_registers_and_loads() -> None:
    reg = ms.open_registry("memory://review43-largest", checkpoint_every=2**53)
    mv = reg.register(model_name="m", model=b"x" * 100, serializer="bytes")
    assert mv.artifact.checkpoint_every == 2**53
    assert ms.open_registry("memory://review43-largest").load("m") == b"x" * 100


# --- second look ------------------------------------------------------------------------


def test_a_keyed_handle_writes_into_a_registry_whose_models_folder_holds_only_a_stray_file(
    tmp_path: Path,
) -> None:
    """``models()`` is empty: there is no unsigned model to lock readers out of."""
    url = str(tmp_path / "r")
    (tmp_path / "r" / "models").mkdir(parents=True)
    (tmp_path / "r" / "models" / ".DS_Store").write_bytes(b"\0")
    keyed = ms.open_registry(url, signing_key=KEY)
    assert keyed.register(model_name="m", model=b"x", serializer="bytes").version == "1"
    assert keyed.get("m", "latest").version == "1"


def test_two_keyed_first_writers_racing_on_a_new_registry_both_register() -> None:
    """B read no policy; A then records it and registers its first version before B
    lists the models: B reads the policy again (uncached) and goes on, signing too."""
    memory = MemoryStore()
    a = Registry(memory, signing_key=KEY)
    done: list[int] = []

    def a_goes_first(op: str, key: str) -> None:
        if op == "list" and key == "models" and not done:
            done.append(1)
            a.register(model_name="m", model=b"a", serializer="bytes")

    b = Registry(HookStore(memory, before=a_goes_first), signing_key=KEY)
    assert b.register(model_name="m", model=b"b", serializer="bytes").version == "2"
    assert done, "the interleaving did not happen: the test proves nothing"
    assert [v.version for v in Registry(memory, signing_key=KEY).versions("m")] == ["1", "2"]
