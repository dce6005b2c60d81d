"""A signed registry opened without its key: one exit code, 2, in every command.

It was 1 from ``registry ...`` and ``deploy ...`` (main read the refusal, a
``SignatureError``, as a verification that failed) and 2 from ``parity check``,
``monitor watch --registry`` and ``serve``; and ``deploy rollback``'s exit 1 also means
"nothing to roll back", so a CI step could not tell the two apart. The refusal is now
:class:`~modelship.errors.SigningKeyRequired` (a ``SignatureError``), exit 2 everywhere;
a signature that does not match stays a failed verification, exit 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main
from modelship.registry._layout import manifest_key
from modelship.registry._signing import Signer

KEY = b"0123456789abcdef0123"
OTHER_KEY = "another-key-0123456789"


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A signed registry: fraud 1 (alias production) and 2; no key in the environment."""
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    url = str(tmp_path / "signed")
    reg = ms.open_registry(url, signing_key=KEY)
    first = reg.register(model_name="fraud", model=b"w1", serializer="bytes")
    reg.register(model_name="fraud", model=b"w2", serializer="bytes")
    reg.set_alias("fraud", "production", first.version)
    return url


#: Every command that opens a registry, with {url} and {tmp} to fill in.
COMMANDS = [
    ["registry", "models", "{url}"],
    ["registry", "versions", "{url}", "fraud"],
    ["registry", "show", "{url}", "fraud"],
    ["registry", "alias", "{url}", "fraud", "production", "2"],
    ["registry", "unalias", "{url}", "fraud", "production"],
    ["registry", "history", "{url}", "fraud"],
    ["registry", "tag", "set", "{url}", "fraud", "1", "team", "risk"],
    ["registry", "tag", "remove", "{url}", "fraud", "1", "team"],
    ["registry", "tag", "show", "{url}", "fraud", "1"],
    ["registry", "tag", "history", "{url}", "fraud", "1"],
    ["registry", "verify", "{url}", "fraud", "1"],
    ["registry", "verify", "{url}", "fraud", "--all"],
    ["registry", "download", "{url}", "fraud", "1", "-o", "{tmp}/model.bin"],
    ["registry", "delete", "{url}", "fraud", "2"],
    ["registry", "restore", "{url}", "fraud", "2"],
    ["registry", "purge", "{url}", "fraud", "2"],
    ["registry", "copy", "{url}", "{tmp}/copy"],
    ["deploy", "apply", "{url}", "fraud", "1", "--for", "0"],
    ["deploy", "status", "{url}", "fraud"],
    ["deploy", "rollback", "{url}", "fraud"],
    ["parity", "check", "{url}", "fraud"],
    [
        "monitor",
        "watch",
        "http://127.0.0.1:1",
        "--registry",
        "{url}",
        "--model",
        "fraud",
        "-c",
        "error_rate > 1%",
        "--interval",
        "1",
        "--duration",
        "1",
    ],
    ["serve", "{url}", "fraud", "--port", "0"],
]


def _filled(argv: list[str], url: str, tmp: Path) -> list[str]:
    return [a.format(url=url, tmp=tmp) for a in argv]


def _id(argv: list[str]) -> str:
    words = [w for w in argv if not w.startswith(("{", "http", "-"))]
    return " ".join(words[:3] + (["--all"] if "--all" in argv else []))


@pytest.mark.parametrize("argv", COMMANDS, ids=[_id(c) for c in COMMANDS])
def test_a_signed_registry_without_its_key_exits_2_in_every_command(
    signed: str, tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_filled(argv, signed, tmp_path))
    out, err = capsys.readouterr()
    said = out + err if argv[0] == "parity" else err  # parity's summary is on stdout
    assert code == 2, said
    assert "signs its versions" in said
    assert "MODELSHIP_SIGNING_KEY" in said  # says how to pass the key
    if argv[0] != "serve":  # serve says "error:", its own style
        assert "SigningKeyRequired" in said
    assert "FAIL " not in out + err  # not reported as a version that failed to verify


def test_the_refusal_is_a_signature_error_of_its_own(signed: str) -> None:
    from modelship.errors import SigningKeyRequired

    reg = ms.open_registry(signed)
    with pytest.raises(SigningKeyRequired, match="signs its versions") as info:
        reg.get("fraud", "latest")
    # Code written against SignatureError (or IntegrityError) still catches it.
    assert isinstance(info.value, ms.SignatureError)
    assert isinstance(info.value, ms.IntegrityError)


def test_a_signed_document_read_without_the_key_and_without_the_policy_exits_2(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # signing.json deleted (by someone who can delete keys): each signed document a
    # keyless reader meets is still refused, the same way.
    from modelship.errors import SigningKeyRequired

    (Path(signed) / "signing.json").unlink()
    with pytest.raises(SigningKeyRequired, match="is signed, and this registry was opened"):
        ms.open_registry(signed).get("fraud", "1")
    assert main(["registry", "show", signed, "fraud", "1"]) == 2
    err = capsys.readouterr().err
    assert "SigningKeyRequired" in err
    assert "is signed" in err
    assert main(["deploy", "rollback", signed, "fraud"]) == 2


def test_a_signature_that_does_not_match_is_still_a_failed_verification(
    signed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Version 1 signed with another key, in a registry that signs with this one. (The
    # whole registry opened with another key is a configuration error, exit 2: see
    # tests/test_review42_cli.py.)
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    mv = ms.open_registry(signed, signing_key=KEY).get("fraud", "1")
    forged = Signer(OTHER_KEY.encode()).sign(mv).signature
    assert mv.signature
    assert forged != mv.signature
    manifest = Path(signed) / manifest_key("fraud", "1")
    manifest.write_text(manifest.read_text().replace(mv.signature, forged))
    assert main(["registry", "verify", signed, "fraud", "1"]) == 1
    err = capsys.readouterr().err
    assert "FAIL fraud 1" in err
    assert "did not make" in err
    assert main(["registry", "verify", signed, "fraud", "--all"]) == 1


def test_a_changed_artifact_is_still_a_failed_verification(
    signed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    blob = ms.open_registry(signed, signing_key=KEY).get("fraud", "1").artifact.digest
    hexdigest = blob.removeprefix("sha256:")
    (path,) = (Path(signed) / "blobs").rglob(hexdigest)
    path.write_bytes(b"tampered")
    assert main(["registry", "verify", signed, "fraud", "1"]) == 1
    assert "FAIL fraud 1" in capsys.readouterr().err


def test_with_the_key_the_same_commands_read_the_registry(
    signed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    assert main(["registry", "versions", signed, "fraud"]) == 0
    assert main(["registry", "verify", signed, "fraud", "--all"]) == 0
    assert main(["deploy", "status", signed, "fraud"]) == 0
    # Exit 1 here means "nothing to roll back", never a missing key.
    assert main(["deploy", "rollback", signed, "fraud"]) == 1
    assert "nothing to roll back" in capsys.readouterr().err


def test_commands_that_read_nothing_signed_work_without_the_key(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # As docs/cli.md says: gc --dry-run reads leftovers, deploy history the (unsigned)
    # records; gc itself writes signed markers, so it needs the key (exit 2 without).
    assert main(["registry", "gc", signed, "--dry-run"]) == 0
    assert main(["deploy", "history", signed, "fraud"]) == 0
    capsys.readouterr()
    assert main(["registry", "gc", signed]) == 2
    assert "SigningKeyRequired" in capsys.readouterr().err
    assert ms.open_registry(signed, signing_key=KEY).get("fraud", "2").version == "2"


def test_no_verify_signatures_still_reads_it_unchecked(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "versions", signed, "fraud", "--no-verify-signatures"]) == 0
    assert "1" in capsys.readouterr().out


def test_the_deploy_entry_point_of_its_own_exits_2_too(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelship.deploy._cli import main as deploy_main

    assert deploy_main(["rollback", signed, "fraud"]) == 2
    assert "SigningKeyRequired" in capsys.readouterr().err


def test_serve_signing_key_env_empty_reads_no_key(
    signed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/cli.md: `--signing-key-env ''` reads none (for an unsigned registry while the
    # variable is set for another). serve refused '' as "that environment variable is not
    # set"; it now reads no key, so this signed registry is refused for want of one.
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    assert main(["serve", signed, "fraud", "--port", "0", "--signing-key-env", ""]) == 2
    err = capsys.readouterr().err
    assert "signs its versions" in err
    assert "is not set" not in err
