"""Stop 37: every command that opens a registry reads MODELSHIP_SIGNING_KEY (deploy and
monitor watch opened a signed registry without it, so it could not be used from them)."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelship as ms
from modelship.deploy._cli import main as deploy_main
from modelship.deploy._cli import roll_alias_back

KEY = "k" * 32


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    root = str(tmp_path / "signed")
    ms.open_registry(root, signing_key=KEY).register(
        model_name="fraud", model=b"w", serializer="bytes"
    )
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY)
    return root


def test_deploy_status_reads_a_signed_registry_with_the_key_in_the_environment(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy_main(["status", signed, "fraud"]) == 0, capsys.readouterr().err


def test_deploy_history_reads_a_signed_registry_with_the_key_in_the_environment(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy_main(["history", signed, "fraud"]) == 0, capsys.readouterr().err


def test_roll_alias_back_reads_a_signed_registry_with_the_key_in_the_environment(
    signed: str,
) -> None:
    assert "names no version" in roll_alias_back(signed, "fraud", "production")


def test_without_the_key_a_signed_registry_is_still_refused(
    signed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY")
    assert deploy_main(["status", signed, "fraud"]) != 0
    assert "key" in capsys.readouterr().err


def test_an_unsigned_registry_is_read_with_signing_key_env_empty_while_the_key_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The variable set for another registry made an unsigned one unusable from deploy and
    # monitor (second look): --signing-key-env '' reads no key, as `registry` allows.
    root = str(tmp_path / "plain")
    plain = ms.open_registry(root)
    plain.register(model_name="fraud", model=b"w", serializer="bytes")
    plain.set_alias("fraud", "production", "1")
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY)
    assert deploy_main(["rollback", root, "fraud"]) == 2  # the alias log is not signed
    assert "not signed" in capsys.readouterr().err
    assert deploy_main(["rollback", root, "fraud", "--signing-key-env", ""]) == 1  # read
    assert "nothing to roll back" in capsys.readouterr().err


def test_a_signing_key_env_that_is_not_set_is_refused(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy_main(["status", signed, "fraud", "--signing-key-env", "NO_SUCH_VAR_37"]) == 2
    assert "NO_SUCH_VAR_37" in capsys.readouterr().err


def test_parity_check_reads_a_signed_registry_with_the_key_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelship.parity._cli import main as parity_main

    root = str(tmp_path / "signed-env")
    ms.open_registry(root, signing_key=KEY).register(
        model_name="fraud", model=b"w", serializer="bytes", capture_environment=True
    )
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY)
    assert parity_main(["check", root, "fraud"]) == 0, capsys.readouterr().out
