"""Review 44: stored documents holding non-finite numbers are damage, a pinned serializer is
compared before the manifest's is looked up (and is itself the codec), a duck-typed
serializer's ``loads_without_code`` survives its wrapper, and attachment roles read back
from a manifest are checked as on input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, ClassVar

import pytest

import modelship as ms
from modelship.cli import main
from modelship.errors import IntegrityError, SignatureError
from modelship.registry import RefusedSerializer, Serializer
from modelship.registry import _serializers as serializers_module
from modelship.registry._layout import SIGNING_POLICY
from modelship.registry._signing import Signer

KEY = b"k" * 32
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999"]


def _signed(root: Path) -> ms.Registry:
    """A signed registry: versions 1 to 3 of ``m``, @prod at 2, version 1 archived."""
    reg = ms.open_registry(str(root), signing_key=KEY)
    for i in range(3):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes")
    reg.set_alias("m", "prod", "2")
    reg.delete("m", "1")
    return reg


def _inject(path: Path, value: str) -> None:
    """Add a field holding ``value`` (JSON text) to the stored document at ``path``."""
    text = path.read_text()
    assert text.startswith("{")
    path.write_text('{"x":' + value + "," + text[1:])


# --- 1. non-finite numbers in stored documents -------------------------------------------


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize(
    ("document", "read"),
    [
        ("models/m/slots/000000000003.json", lambda r: r.get("m")),
        ("models/m/archived/1.json", lambda r: r.get("m", "1", include_archived=True)),
        ("models/m/aliases/000000000001.json", lambda r: r.get("m", "@prod")),
        ("models/m/versions/2.json", lambda r: r.get("m", "2")),
    ],
    ids=["slot", "archive-marker", "alias-entry", "manifest"],
)
def test_a_signed_document_holding_a_non_finite_number_is_damage_naming_it(
    tmp_path: Path, document: str, read: Any, value: str
) -> None:
    _signed(tmp_path / "r")
    _inject(tmp_path / "r" / document, value)
    with pytest.raises(IntegrityError, match="not finite") as refused:
        read(ms.open_registry(str(tmp_path / "r"), signing_key=KEY))
    assert document in str(refused.value)


def test_verify_all_reports_a_marker_holding_nan_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed(tmp_path / "r")
    _inject(tmp_path / "r" / "models/m/archived/1.json", "NaN")
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    assert main(["registry", "verify", str(tmp_path / "r"), "m", "--all"]) == 1
    out, err = capsys.readouterr()
    assert "ok   m 2" in out
    assert "ok   m 3" in out
    assert "FAIL m 1: marker models/m/archived/1.json holds the number NaN" in err


def test_a_signing_policy_holding_nan_is_not_this_keys_policy(tmp_path: Path) -> None:
    _signed(tmp_path / "r")
    _inject(tmp_path / "r" / SIGNING_POLICY, "NaN")
    with pytest.raises(IntegrityError, match=SIGNING_POLICY):
        ms.open_registry(str(tmp_path / "r"), signing_key=KEY).register(
            model_name="m", model=b"z", serializer="bytes"
        )


def test_a_document_that_cannot_be_canonicalised_fails_its_signature_check() -> None:
    signer = Signer(KEY)
    doc = signer.seal({"at": "now"}, "k")
    with pytest.raises(SignatureError, match="was changed"):
        signer.check_doc({**doc, "x": float("nan")}, "k", "document k")


# --- 2. load(serializer=pinned) ------------------------------------------------------------


class _Text:
    """Text as UTF-8: the methods of the serializers below."""

    def dump(self, obj: Any, fp: IO[bytes]) -> None:
        fp.write(obj.encode())

    def load(self, fp: IO[bytes]) -> Any:
        return fp.read().decode()

    def library_versions(self) -> dict[str, str]:
        return {}


class _Utf8(_Text, Serializer):
    name = "utf8-review44"
    media_type = "text/plain"


def test_a_pinned_unregistered_serializer_instance_loads_what_it_wrote(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "r"))
    reg.register(model_name="m", model="hello", serializer=_Utf8())
    assert reg.load("m", "1", serializer=_Utf8()) == "hello"


def test_a_manifest_naming_an_unknown_serializer_is_refused_by_the_pin_unlooked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = ms.open_registry(str(tmp_path / "r"))
    reg.register(model_name="n", model=b"x", serializer="bytes")
    path = tmp_path / "r" / "models/n/versions/1.json"
    doc = json.loads(path.read_text())
    doc["artifact"]["serializer"] = "evil-format"
    path.write_text(json.dumps(doc))

    def no_entry_points(*args: object, **kwargs: object) -> None:
        raise AssertionError("an entry point was looked up for the manifest's serializer")

    monkeypatch.setattr(serializers_module, "plugin", no_entry_points)
    with pytest.raises(RefusedSerializer, match="'evil-format', not the 'bytes' this load"):
        ms.open_registry(str(tmp_path / "r")).load("n", "1", serializer="bytes")


# --- 3. loads_without_code of a duck-typed serializer ------------------------------------


class _DuckText(_Text):  # no Serializer base: duck-typed
    name = "duck-text-review44"
    media_type = "text/plain"
    loads_without_code: ClassVar[bool] = True


def test_a_duck_typed_serializer_declaring_loads_without_code_loads_without_pickle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        serializers_module._REGISTERED,
        _DuckText.name,
        serializers_module._declared(_DuckText(), "duck"),
    )
    reg = ms.open_registry(str(tmp_path / "r"))
    reg.register(model_name="m", model="hello", serializer=_DuckText.name)
    assert reg.load("m", allow_pickle=False) == "hello"


# --- 4. attachment roles read back ---------------------------------------------------------


@pytest.mark.parametrize("role", ["../../x", "model", "9lives"])
def test_a_manifest_with_an_attachment_role_input_would_refuse_is_damage(
    tmp_path: Path, role: str
) -> None:
    reg = ms.open_registry(str(tmp_path / "r"))
    reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"notes": "hi"})
    path = tmp_path / "r" / "models/m/versions/1.json"
    doc = json.loads(path.read_text())
    doc["attachments"][role] = doc["attachments"].pop("notes")
    path.write_text(json.dumps(doc))
    fresh = ms.open_registry(str(tmp_path / "r"))
    with pytest.raises(IntegrityError, match="attachment role"):
        fresh.verify("m", "1")


def test_a_document_nested_too_deep_to_write_back_fails_its_signature_check() -> None:
    """Read (the parser goes a few levels deeper than the writer), then too deep to be
    written back to check its signature: changed after signing, never a RecursionError."""
    from modelship.registry._signing import _expected

    def too_deep() -> str:
        raise RecursionError("maximum recursion depth exceeded while encoding a JSON object")

    with pytest.raises(ms.SignatureError, match="changed after it was signed"):
        _expected(too_deep, "tag log entry models/m/tags/1/000000000001.json")
