"""A signature edited to hold non-ASCII text is refused as any wrong signature is (it was a
TypeError out of hmac.compare_digest: a stored document trusted to hold ASCII)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.registry._layout import SIGNING_POLICY, manifest_key

KEY = b"k" * 32


@pytest.fixture
def signed(tmp_path: Path) -> ms.Registry:
    reg = ms.open_registry(str(tmp_path / "registry"), signing_key=KEY)
    reg.register(model_name="m", model=b"one", serializer="bytes")
    return reg


def _edit(reg: ms.Registry, key: str, signature: str) -> None:
    doc: dict[str, Any] = json.loads(reg.store.read(key))
    doc["signature"] = signature
    reg.store.replace(key, json.dumps(doc).encode())


@pytest.mark.parametrize("signature", ["é" * 64, "a" * 63 + "\uff11", "\u2019"])
def test_a_manifest_signature_with_non_ascii_text_is_a_signature_error(
    signed: ms.Registry, signature: str
) -> None:
    _edit(signed, manifest_key("m", "1"), signature)
    with pytest.raises(ms.SignatureError, match="this key did not make"):
        signed.load("m", "1")
    with pytest.raises(ms.SignatureError, match="this key did not make"):
        signed.verify("m", "1")


def test_a_policy_signature_with_non_ascii_text_is_read_as_a_wrong_one(
    signed: ms.Registry, tmp_path: Path
) -> None:
    url = str(tmp_path / "registry")
    outcomes = []
    for signature in ("0" * 64, "é" * 64):
        _edit(signed, SIGNING_POLICY, signature)
        reader = ms.open_registry(url, signing_key=KEY)
        try:
            reader.register(model_name="m", model=b"two", serializer="bytes")
            outcomes.append("registered")
        except ms.ModelshipError as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]
