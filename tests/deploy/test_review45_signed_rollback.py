"""Stop 45: in a signed registry, a rollback moves an alias back only along a move its
signed history records. Rollout records are not signed: a writer without the key could
store one naming any version as the one before, and the key holder's `deploy rollback` (or
`monitor watch --registry`) signed the move it chose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _local_fixtures import served_registry  # noqa: F401 - a fixture

import modelship as ms
from modelship.cli import main
from modelship.deploy import BlueGreen
from modelship.deploy._cli import roll_alias_back
from modelship.testing import InMemoryDeployer

KEY = "k" * 32
FORGED_ID = "29991231T000000000000Z-deadbeef"


def _signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, versions: int) -> tuple[str, Any]:
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY)
    root = str(tmp_path / "reg")
    reg = ms.open_registry(root, signing_key=KEY.encode())
    for i in range(versions):
        reg.register(model_name="fraud", model=f"w{i}".encode(), serializer="bytes")
    return root, reg


def _forge(root: str, *, version: str, previous: str) -> None:
    """What a writer with store access and no key can do: store a rollout record, dated
    after every other so that it is taken as the last."""
    at = "2999-12-31T00:00:00+00:00"
    record = {
        "schema": 1, "id": FORGED_ID, "model": "fraud", "version": version,
        "strategy": "blue-green", "status": "succeeded", "slot": "green",
        "previous_version": previous, "previous_slot": "blue", "started_at": at,
        "undo_until": None,
        "events": [{"at": at, "kind": "started", "message": "x", "data": {"alias": "production"}}],
    }  # fmt: skip
    folder = Path(root) / "deployments" / "fraud"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{FORGED_ID}.json").write_text(json.dumps(record))


def test_a_forged_record_does_not_choose_where_deploy_rollback_moves_a_signed_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, reg = _signed(tmp_path, monkeypatch, 3)
    reg.set_alias("fraud", "production", "3")
    _forge(root, version="3", previous="1")

    answer = roll_alias_back(root, "fraud", "production")

    assert isinstance(answer, str)
    assert f"the rollout record {FORGED_ID} says the alias production" in answer
    assert "does not show it naming 1 before it came to 3" in answer
    assert reg.aliases("fraud") == {"production": "3"}  # before: moved to the forger's 1


def test_deploy_rollback_of_a_real_rollout_in_a_signed_registry_still_moves_the_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, reg = _signed(tmp_path, monkeypatch, 2)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    assert reg.aliases("fraud") == {"production": "2"}

    moved = roll_alias_back(root, "fraud", "production")

    assert isinstance(moved, dict)
    assert (moved["from"], moved["to"]) == ("2", "1")
    assert reg.aliases("fraud") == {"production": "1"}


def test_watch_does_not_follow_a_forged_record_in_a_signed_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, reg = _signed(tmp_path, monkeypatch, 3)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")
    _forge(root, version="2", previous="3")

    code = main(
        [
            "monitor", "watch", "http://127.0.0.1:9", "-c", "p95(inference_latency_seconds) > 0.2",
            "--interval", "0.01", "--duration", "60", "--timeout", "1",
            "--registry", root, "--model", "fraud",
        ]
    )  # fmt: skip

    captured = capsys.readouterr()
    printed = [json.loads(line) for line in captured.out.splitlines() if line]
    assert code == 2, captured.err
    assert printed, captured.err
    assert printed[-1]["event"] == "error"
    assert "does not show it naming 3 before it came to 2" in printed[-1]["message"]
    assert reg.aliases("fraud") == {"production": "2"}  # before: moved to the forger's 3


# --- the local deployer's servers read no key from the environment when it has none --------


def test_local_servers_of_a_keyless_registry_ignore_the_environments_signing_key(
    served_registry: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelship.deploy import LocalDeployer

    # Set for another registry (the way the command line is given a key): the servers
    # inherit this environment, and read it as the key of this unsigned one, refusing it.
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY)
    reg = ms.open_registry(str(served_registry))
    with LocalDeployer(registry=reg) as dep:
        rollout = BlueGreen(dep).deploy("fraud", "1")
        assert rollout.status.value == "succeeded"
        assert [(s.version, s.weight) for s in dep.state().slots] == [("1", 100)]


def test_a_local_deployer_refuses_signing_key_env_in_server_args(
    served_registry: Path,  # noqa: F811
) -> None:
    from modelship.deploy import LocalDeployer

    reg = ms.open_registry(str(served_registry))
    with pytest.raises(ms.ConfigError, match="sets --signing-key-env, which the LocalDeployer"):
        LocalDeployer(registry=reg, server_args=["--signing-key-env", "OTHER"])


def test_a_signed_registry_read_unchecked_is_refused_unless_its_servers_read_it_so(
    tmp_path: Path,
) -> None:
    from modelship.deploy import LocalDeployer

    root = str(tmp_path / "signed")
    signed = ms.open_registry(root, signing_key=KEY.encode())
    signed.register(model_name="fraud", model=b"w", serializer="bytes")
    unchecked = ms.open_registry(root, verify_signatures=False)
    # Before: accepted, and every server exited refusing the signed registry without its
    # key (each rollout an abort of a good version).
    with pytest.raises(ms.ConfigError, match="verify_signatures=False and no signing key"):
        LocalDeployer(registry=unchecked)
    LocalDeployer(registry=unchecked, server_args=["--option", "verify_signatures=false"]).close()
    # An unsigned registry read unchecked is served as its servers read it: no refusal.
    plain = str(tmp_path / "plain")
    ms.open_registry(plain).register(model_name="fraud", model=b"w", serializer="bytes")
    LocalDeployer(registry=ms.open_registry(plain, verify_signatures=False)).close()


def _moved_twice(reg: Any, dep: InMemoryDeployer) -> None:
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    reg.set_alias("fraud", "production", "2")  # `registry alias` twice before the
    reg.set_alias("fraud", "production", "3")  # deployer follows: it never served 2
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "3")


def _removed(reg: Any, dep: InMemoryDeployer) -> None:
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    reg.remove_alias("fraud", "production")
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")


def _rolled_back_before(reg: Any, dep: InMemoryDeployer) -> None:
    for version in "123":
        BlueGreen(dep, clock=dep.clock).deploy("fraud", version)
    moved = roll_alias_back(reg.url, "fraud", "production")  # 3 is bad: back to 2
    assert isinstance(moved, dict), moved  # then 2 is bad too: the alias came back to it


@pytest.mark.parametrize(
    ("flow", "moved"),
    [(_moved_twice, ("3", "1")), (_removed, ("2", "1")), (_rolled_back_before, ("2", "1"))],
    ids=["alias-moved-twice", "alias-removed", "after-a-return"],
)
def test_a_real_rollback_after_the_alias_took_several_steps_still_moves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flow: Any, moved: tuple[str, str]
) -> None:
    # The record's previous version is what the deployer served, which is not always
    # where the alias came straight from: the first check refused these rollbacks.
    root, reg = _signed(tmp_path, monkeypatch, 3)
    flow(reg, InMemoryDeployer(registry=reg))

    answer = roll_alias_back(root, "fraud", "production")

    assert isinstance(answer, dict), answer
    assert (answer["from"], answer["to"]) == moved
    assert reg.aliases("fraud") == {"production": moved[1]}
