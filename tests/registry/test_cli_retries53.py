"""Stop 53: the registry CLI as CI scripts use it.

``verify --all`` checks every version one damaged manifest used to hide, and flags an
alias left on an archived version; ``show`` says whether a version is archived; a
promotion step (``alias ... --expected``, ``tag set ... --expected-unset``) retried after
it succeeded succeeds again and writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main
from modelship.registry._layout import manifest_key, state_key
from modelship.registry._registry import signer_of
from modelship.registry._states import mark


@pytest.fixture
def url(tmp_path: Path) -> str:
    return str(tmp_path / "registry")


@pytest.fixture
def reg(url: str) -> ms.Registry:
    registry = ms.open_registry(url)
    for i in range(4):
        registry.register(model_name="m", model=bytes([i]) * 100, serializer="bytes")
    return registry


def _damage(path: Path, data: bytes) -> None:
    path.chmod(0o644)
    path.write_bytes(data)


def test_verify_all_checks_every_version_past_a_damaged_manifest(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(url)
    _damage(root / manifest_key("m", "2"), b'{"garbage": ')
    blob = reg.get("m", "4").artifact.hexdigest
    _damage(root / "blobs" / "sha256" / blob[:2] / blob, b"tampered")
    assert main(["registry", "verify", url, "m", "--all"]) == 1
    out, err = capsys.readouterr()
    assert [line.split()[:3] for line in out.splitlines()] == [["ok", "m", "1"], ["ok", "m", "3"]]
    fails = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert [line.split(":")[0] for line in fails] == ["FAIL m 2", "FAIL m 4"]
    assert "not valid JSON" in fails[0]
    assert "does not match its manifest" in fails[1]


def test_verify_all_past_a_damaged_manifest_skips_a_purged_version(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reg.delete("m", "3")
    reg.purge("m", "3")
    _damage(Path(url) / manifest_key("m", "2"), b"[")
    assert main(["registry", "verify", url, "m", "--all"]) == 1
    out, err = capsys.readouterr()
    assert [line.split()[2] for line in out.splitlines()] == ["1", "4"]
    assert [line.split(":")[0] for line in err.splitlines()] == ["FAIL m 2"]


def test_show_says_whether_a_version_is_archived(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reg.delete("m", "2")
    assert main(["registry", "show", url, "m", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["archived"] is True
    assert main(["registry", "show", url, "m", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["archived"] is False


def test_a_retried_alias_move_succeeds_and_writes_nothing(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "alias", url, "m", "prod", "1", "--expected-unset"]) == 0
    assert main(["registry", "alias", url, "m", "prod", "2", "--expected", "1"]) == 0
    capsys.readouterr()
    for retry in (["--expected", "1"], [], ["--expected-unset"]):
        assert main(["registry", "alias", url, "m", "prod", "2", *retry]) == 0
        assert "prod already names 2" in capsys.readouterr().err
    assert [(h.from_version, h.to_version) for h in reg.history("m")] == [(None, "1"), ("1", "2")]
    # Compare-and-swap otherwise: the alias at a third version is still a conflict.
    assert main(["registry", "alias", url, "m", "prod", "3", "--expected", "1"]) == 2
    assert "Conflict" in capsys.readouterr().err
    assert reg.aliases("m") == {"prod": "2"}


def test_set_alias_is_idempotent_with_a_stale_expectation(reg: ms.Registry) -> None:
    reg.set_alias("m", "prod", "2")
    reg.set_alias("m", "prod", "2", expected="1")
    reg.set_alias("m", "prod", "2")
    assert len(reg.history("m")) == 1
    with pytest.raises(ms.Conflict, match="not the expected '1'"):
        reg.set_alias("m", "prod", "3", expected="1")


def test_a_retried_tag_set_succeeds_and_writes_nothing(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tag_set = ["registry", "tag", "set", url, "m", "1", "stage"]
    for _ in range(2):
        assert main([*tag_set, "ok", "--expected-unset"]) == 0
    assert len(reg.tag_history("m", "1")) == 1
    reg.set_tag("m", "1", "stage", "ok", expected="staging")  # stale, and already so
    assert len(reg.tag_history("m", "1")) == 1
    capsys.readouterr()
    assert main([*tag_set, "no", "--expected-unset"]) == 2
    assert "Conflict" in capsys.readouterr().err
    assert reg.tags("m", "1") == {"stage": "ok"}


def test_verify_flags_an_alias_left_on_an_archived_version(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reg.set_alias("m", "prod", "2")
    reg.set_alias("m", "stage", "3")
    # What a delete killed between its marker and its look at the aliases leaves behind.
    mark(reg.store, state_key("m", "archived", "2"), {"by": "x"}, signer_of(reg))
    assert main(["registry", "verify", url, "m", "--all"]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 4  # every version's own check passed
    (line,) = err.splitlines()
    assert line.startswith("FAIL m @prod: the alias points at version 2, which is archived")
    assert f"modelship registry alias {url} m prod VERSION --expected 2" in line
    assert main(["registry", "verify", url, "m", "@prod"]) == 1
    assert "FAIL m @prod" in capsys.readouterr().err
    assert main(["registry", "verify", url, "m", "@stage"]) == 0
    assert main(["registry", "verify", url, "m", "2"]) == 0


def test_verify_of_an_alias_on_a_purged_or_missing_version_is_its_fail_line(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reg.set_alias("m", "gone", "2")
    reg.set_alias("m", "lost", "3")
    # What a delete and purge killed before their look at the aliases leave behind.
    mark(reg.store, state_key("m", "archived", "2"), {"by": "x"}, signer_of(reg))
    mark(reg.store, state_key("m", "purged", "2"), {"by": "x"}, signer_of(reg))
    (Path(url) / manifest_key("m", "3")).unlink()  # a manifest lost
    for alias, state in (("gone", "purged"), ("lost", "missing (it has no manifest)")):
        assert main(["registry", "verify", url, "m", f"@{alias}"]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        (line,) = err.splitlines()
        assert line.startswith(f"FAIL m @{alias}: the alias points at version"), line
        assert f"which is {state}; move it" in line, line
    # An alias that is not set is an error, as before (exit 2), not a FAIL line.
    assert main(["registry", "verify", url, "m", "@nope"]) == 2


def test_a_stray_file_in_the_versions_folder_is_named_as_the_file(
    reg: ms.Registry, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _damage(Path(url) / manifest_key("m", "2"), b"[")
    (Path(url) / "models" / "m" / "versions" / "@prod.json").write_bytes(b"{}")
    assert main(["registry", "verify", url, "m", "--all"]) == 1
    fails = [line.split(":")[0] for line in capsys.readouterr().err.splitlines()]
    assert fails == ["FAIL m 2", "FAIL m versions/@prod.json"]
