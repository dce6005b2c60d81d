"""Signing: the key rules, the signature format, and what each refusal says.

A signature is part of what is stored: the same key must verify what any release signed,
so its exact form is pinned here. A refusal must say what was refused and how to read the
registry. Written after mutation testing (``nox -s mutation``) showed the format, the
boundaries and the messages were not pinned by any test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

import modelship as ms
from modelship._json import canonical_json
from modelship.errors import ConfigError, SignatureError
from modelship.registry._layout import SIGNING_POLICY
from modelship.registry._signing import Signer
from modelship.testing import HookStore, MemoryStore

KEY = b"k" * 32
SLOT = "models/m/slots/000000000001.json"
HOW_TO_READ = (
    "open it with its key (open_registry({url}, signing_key=...), or set "
    "MODELSHIP_SIGNING_KEY for the command line), or pass verify_signatures=False to read "
    "it unchecked if you trust everyone who can write to this store "
    "(--no-verify-signatures on the command line)"
)


def mac(payload: Any) -> str:
    return "hmac-sha256:" + hmac.new(KEY, canonical_json(payload), hashlib.sha256).hexdigest()


def refusal(check: Any) -> str:
    with pytest.raises(SignatureError) as caught:
        check()
    return str(caught.value)


# --- the key ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"k" * 16, "k" * 16], ids=["bytes", "str"])
def test_a_key_of_exactly_sixteen_bytes_is_accepted_and_a_string_is_encoded(
    key: bytes | str,
) -> None:
    assert Signer(key).key == b"k" * 16


@pytest.mark.parametrize("key", [b"k" * 15, "k" * 15, b""], ids=["bytes", "str", "empty"])
def test_a_key_shorter_than_sixteen_bytes_is_refused_saying_how_to_make_one(
    key: bytes | str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        Signer(key)
    assert str(caught.value) == (
        "signing_key must be at least 16 bytes; use secrets.token_bytes(32)"
    )


@pytest.mark.parametrize("verify", ["no", 1, None])
def test_verify_signatures_that_is_not_a_bool_is_refused_naming_the_value(verify: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        Signer(KEY, verify=verify)
    assert str(caught.value) == f"verify_signatures must be True or False, got {verify!r}"


# --- the signature's form: what any release signed, the same key verifies ----------------------


def test_a_document_is_signed_with_hmac_sha256_over_itself_and_its_key() -> None:
    doc = {"version": "1", "dead": False}
    sealed = Signer(KEY).seal(doc, SLOT)
    assert sealed == {**doc, "signature": mac({"document": doc, "key": SLOT})}
    assert Signer(KEY).seal_bytes(doc, SLOT) == canonical_json(sealed)


def test_sealing_a_sealed_document_again_gives_the_same_signature() -> None:
    signer = Signer(KEY)
    once = signer.seal({"version": "1"}, SLOT)
    assert signer.seal(once, SLOT) == once
    signer.check_doc(once, SLOT, "slot 1 of m")


def test_a_version_is_signed_with_hmac_sha256_over_its_manifest_without_signature() -> None:
    reg = ms.Registry(MemoryStore(), signing_key=KEY)
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    assert mv.signature == mac(mv.to_dict(signed=False))
    stored = json.loads(reg.store.read("models/m/versions/1.json"))
    assert stored["signature"] == mv.signature


def test_without_a_key_nothing_is_signed_or_changed() -> None:
    reg = ms.Registry(MemoryStore())
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    signer = Signer(None)
    assert signer.sign(mv) is mv
    doc = {"version": "1"}
    assert signer.seal(doc, SLOT) is doc
    assert signer.seal_bytes(doc, SLOT) == b'{"version":"1"}'


# --- what each check refuses, and what it says -------------------------------------------------


def test_a_keyless_reader_refuses_a_signed_document_and_says_how_to_read_it() -> None:
    sealed = Signer(KEY).seal({"version": "1"}, SLOT)
    message = refusal(lambda: Signer(None).check_doc(sealed, SLOT, "slot 1 of m"))
    assert message == (
        "slot 1 of m is signed, and this registry was opened without a signing key; "
        "refusing to read it unchecked: " + HOW_TO_READ.format(url="...")
    )


def test_a_keyless_reader_accepts_an_unsigned_document() -> None:
    Signer(None).check_doc({"version": "1"}, SLOT, "slot 1 of m")
    Signer(None).check_doc({"version": "1", "signature": ""}, SLOT, "slot 1 of m")


@pytest.mark.parametrize("signature", [None, ""], ids=["absent", "empty"])
def test_a_keyed_reader_refuses_an_unsigned_document_saying_why(signature: Any) -> None:
    doc = {"version": "1"} if signature is None else {"version": "1", "signature": signature}
    assert refusal(lambda: Signer(KEY).check_doc(doc, SLOT, "slot 1 of m")) == (
        "slot 1 of m is not signed, and this registry was opened with a signing key; "
        "refusing to trust it. It was written without the key (before signing began, or by "
        "someone who does not hold it); see 'What signing protects' in docs/registry.md"
    )


@pytest.mark.parametrize(
    "signature",
    [
        "hmac-sha256:" + "0" * 64,
        mac({"document": {"version": "1"}, "key": SLOT}).upper(),
        12345,
        ["hmac-sha256:"],
    ],
    ids=["other-mac", "other-case", "number", "list"],
)
def test_a_keyed_reader_refuses_a_signature_it_did_not_make(signature: Any) -> None:
    doc = {"version": "1", "signature": signature}
    assert refusal(lambda: Signer(KEY).check_doc(doc, SLOT, "slot 1 of m")) == (
        "slot 1 of m has a signature that this key did not make: it was changed, moved or "
        "signed by someone else; refusing to trust it"
    )


def test_a_signature_made_with_another_key_is_refused() -> None:
    sealed = Signer(b"o" * 32).seal({"version": "1"}, SLOT)
    with pytest.raises(SignatureError, match="did not make"):
        Signer(KEY).check_doc(sealed, SLOT, "slot 1 of m")


def test_a_version_is_checked_by_name_and_version() -> None:
    reg = ms.Registry(MemoryStore(), signing_key=KEY)
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", lineage={})
    Signer(KEY).check(mv)
    assert refusal(lambda: Signer(None).check(mv)).startswith("m version 1 is signed, ")
    assert refusal(lambda: Signer(b"o" * 32).check(mv)).startswith(
        "m version 1 has a signature that this key did not make"
    )


@pytest.mark.parametrize("key", [None, KEY], ids=["keyless", "keyed"])
def test_verify_false_checks_nothing(key: bytes | None) -> None:
    signer = Signer(key, verify=False)
    for doc in ({"version": "1"}, {"version": "1", "signature": "hmac-sha256:" + "0" * 64}):
        signer.check_doc(doc, SLOT, "slot 1 of m")


# --- the registry's signing policy ---------------------------------------------------------------


def recording(store: MemoryStore) -> tuple[HookStore, list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []
    return HookStore(store, before=lambda op, key: calls.append((op, key))), calls


def test_the_policy_is_recorded_once_with_its_format_and_its_signature() -> None:
    store, calls = recording(MemoryStore())
    signer = Signer(KEY)
    signer.record_policy(store, "2026-01-02T03:04:05+00:00")
    signer.record_policy(store, "2026-02-02T00:00:00+00:00")
    doc = {"format": 1, "signed": True, "since": "2026-01-02T03:04:05+00:00"}
    assert json.loads(store.read(SIGNING_POLICY)) == {
        **doc,
        "signature": mac({"document": doc, "key": SIGNING_POLICY}),
    }
    assert calls.count(("create", SIGNING_POLICY)) == 1  # this handle does not try again


def test_a_second_writer_leaves_the_recorded_policy_as_it_is() -> None:
    store = MemoryStore()
    Signer(KEY).record_policy(store, "first")
    before = store.read(SIGNING_POLICY)
    Signer(KEY).record_policy(store, "second")
    assert store.read(SIGNING_POLICY) == before


def test_a_keyless_writer_records_no_policy() -> None:
    store = MemoryStore()
    Signer(None).record_policy(store, "now")
    Signer(None, verify=False).record_policy(store, "now")
    assert not store.exists(SIGNING_POLICY)


def test_a_keyless_reader_of_a_signed_registry_is_told_its_url_and_how_to_read_it() -> None:
    store = MemoryStore("test-memory://signed")
    Signer(KEY).record_policy(store, "now")
    message = refusal(lambda: Signer(None).check_policy(store))
    assert message == (
        "the registry at test-memory://signed signs its versions (signing.json); it is not "
        "read or written without the key: " + HOW_TO_READ.format(url="'test-memory://signed'")
    )


def test_a_keyless_reader_looks_for_the_policy_until_it_finds_it_then_remembers() -> None:
    store, calls = recording(MemoryStore())
    signer = Signer(None)
    signer.check_policy(store)
    signer.check_policy(store)
    assert calls == [("read", SIGNING_POLICY)] * 2  # a registry may start signing any time
    Signer(KEY).record_policy(store.inner, "now")
    with pytest.raises(SignatureError, match="signs its versions"):
        signer.check_policy(store)
    store.inner.delete(SIGNING_POLICY)
    calls.clear()
    with pytest.raises(SignatureError, match="signs its versions"):
        signer.check_policy(store)  # seen once: refused without reading it again
    assert calls == []


@pytest.mark.parametrize(
    "signer", [Signer(KEY), Signer(None, verify=False)], ids=["keyed", "unchecked"]
)
def test_a_reader_with_the_key_or_checking_nothing_does_not_read_the_policy(
    signer: Signer,
) -> None:
    store, calls = recording(MemoryStore())
    Signer(KEY).record_policy(store.inner, "now")
    signer.check_policy(store)
    assert calls == []
