"""Review 37 of the strategies, rollouts and the local router: a changed spec for the
serving version is applied (it was "already serves; nothing changed"), a rollback never
goes to a version that was itself rolled back, and the router neither pools a connection
holding bytes past an answer nor takes an interim 1xx answer for the final one."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

import modelship as ms
from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    Container,
    DeployerCapabilities,
    DeploymentSpec,
    EventKind,
    InMemoryHistory,
    Recreate,
    RollbackUnavailable,
    RolloutStatus,
    from_spec,
)
from modelship.deploy._history import RegistryHistory
from modelship.deploy._record import RolloutRecord
from modelship.deploy.local import Router
from modelship.testing._deployer_double import InMemoryDeployer, ManualClock

STEPS = [CanaryStep(10, pause=30), CanaryStep(50, pause=30)]
KINDS: dict[str, Callable[..., Any]] = {
    "blue-green": lambda dep, spec=None, **kw: BlueGreen(dep, spec, clock=dep.clock, **kw),
    "canary": lambda dep, spec=None, **kw: Canary(dep, spec, steps=STEPS, clock=dep.clock, **kw),
    "recreate": lambda dep, spec=None, **kw: Recreate(dep, spec, clock=dep.clock, **kw),
}


def spec(threads: str) -> DeploymentSpec:
    env = {"THREADS": threads}
    return DeploymentSpec(containers=[Container(name="m", image="m:1", port=9000, env=env)])


def registry(name: str, versions: int) -> ms.Registry:
    reg = ms.open_registry(f"memory://review37-strategies-{name}")
    for n in range(1, versions + 1):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    return reg


class SpecDeployer(InMemoryDeployer):
    """The double, keeping (version, the spec's THREADS) of every apply that succeeded."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.applied: list[tuple[str, str | None]] = []

    def apply(
        self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
    ) -> None:
        super().apply(slot, model, version, spec)
        self.applied.append((version, None if spec is None else spec.containers[0].env["THREADS"]))


def deployer(kind: str, **kw: Any) -> SpecDeployer:
    if kind == "recreate":
        kw.setdefault("capabilities", DeployerCapabilities(max_slots=1))
    return SpecDeployer(**kw)


def weights(dep: InMemoryDeployer) -> dict[str, tuple[str, int]]:
    return {s.slot: (s.version, s.weight) for s in InMemoryDeployer.state(dep).slots}


class UnreadableHistory(InMemoryHistory):
    """A history that keeps records but cannot read them back (a store down)."""

    def records(self, model: str) -> list[RolloutRecord]:
        raise OSError("history store down")


# --- 1. a changed spec for the serving version ----------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_serving_version_deployed_with_another_spec_is_applied_with_it(kind: str) -> None:
    # It was "1 already serves ...; nothing changed", apply called once: the new spec
    # (THREADS=8; on Kubernetes new resources) was silently dropped.
    reg = registry(f"respec-{kind}", 1)
    dep = deployer(kind, registry=reg)
    KINDS[kind](dep, spec("1")).deploy("fraud", "1")
    dep.clock.sleep(1)
    rollout = KINDS[kind](dep, spec("8")).deploy("fraud", "1")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert dep.applied == [("1", "1"), ("1", "8")]
    assert not any("nothing changed" in e.message for e in rollout.history)
    assert "another spec" in rollout.history[0].message
    assert dep.state().serving().version == "1"
    assert reg.aliases("fraud") == {"production": "1"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_serving_version_deployed_with_its_own_spec_again_is_unchanged(kind: str) -> None:
    # A re-run of the same deploy (a fresh strategy, as in CI): no apply, and a healthy
    # Recreate is not restarted.
    reg = registry(f"same-spec-{kind}", 1)
    dep = deployer(kind, registry=reg)
    KINDS[kind](dep, spec("1")).deploy("fraud", "1")
    dep.clock.sleep(1)
    served = weights(dep)
    before = len(dep.calls)
    rollout = KINDS[kind](dep, spec("1")).deploy("fraud", "1")
    assert rollout.status is RolloutStatus.SUCCEEDED
    assert "nothing changed" in rollout.history[-1].message
    assert [c.op for c in dep.calls[before:] if c.op != "state"] == ["health"]
    assert dep.applied == [("1", "1")]
    assert weights(dep) == served


def test_a_spec_changed_back_and_forth_is_applied_each_time_and_only_then() -> None:
    # (Second look: with a registry alias. Without one nothing tells this service's
    # records from another's, and the version is left as it is: see below.)
    dep = SpecDeployer(registry=registry("back-and-forth", 1))
    for threads in ("1", "8", "8", "1", "1"):
        BlueGreen(dep, spec(threads), clock=dep.clock).deploy("fraud", "1")
        dep.clock.sleep(1)
    assert dep.applied == [("1", "1"), ("1", "8"), ("1", "1")]


def test_a_spec_changing_only_how_versions_roll_out_leaves_the_serving_version() -> None:
    # The strategy and the canary steps are not what runs: no restart for them.
    reg = registry("respec-strategy", 1)
    dep = SpecDeployer(registry=reg)
    BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(1)
    canary = attrs.evolve(spec("1"), strategy="canary", steps=STEPS)
    rollout = from_spec(dep, canary, clock=dep.clock).deploy("fraud", "1")
    assert "nothing changed" in rollout.history[-1].message
    assert dep.applied == [("1", "1")]


def test_a_spec_the_history_cannot_tell_leaves_the_serving_version_and_says_so() -> None:
    # (Second look: it was deployed again, a restart for Recreate, on every re-run with
    # the history down.) Unknown is not a change: the version is left as it is.
    reg = registry("respec-unreadable", 1)
    dep = SpecDeployer(registry=reg)
    BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "1")
    rollout = BlueGreen(dep, spec("8"), clock=dep.clock, history=UnreadableHistory()).deploy(
        "fraud", "1"
    )
    assert dep.applied == [("1", "1")]
    assert "could not be read" in rollout.history[-1].message
    assert "nothing changed" in rollout.history[-1].message


def test_an_apply_records_the_digest_of_its_spec() -> None:
    from modelship.deploy._strategies import spec_digest

    dep = InMemoryDeployer()
    rollout = BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "1")
    (event,) = [e for e in rollout.history if e.kind is EventKind.APPLIED]
    assert event.data["spec_digest"] == spec_digest(spec("1")) != spec_digest(spec("8"))


# --- 2. a rollback to a version that was rolled back ----------------------------------------


def _rolled_back_by_redeploy(name: str) -> tuple[ms.Registry, InMemoryDeployer, Any]:
    """1 deployed, 2 deployed and rolled back after its undo window (1 redeployed): the
    rollout now serving, whose previous version is 2."""
    reg = registry(name, 3)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(1)
    second = BlueGreen(dep, clock=dep.clock, undo_window=10.0).deploy("fraud", "2")
    dep.clock.sleep(100.0)  # the undo window is over
    third = second.rollback()
    assert (third.version, third.previous_version) == ("1", "2")
    return reg, dep, third


@pytest.mark.parametrize("window", ["open", "closed"])
def test_a_rollback_never_goes_back_to_a_version_that_was_rolled_back(window: str) -> None:
    # The rollback that redeployed 1 made 2 its previous version: rolling that one back
    # served 2 again, and moved the alias to it.
    reg, dep, third = _rolled_back_by_redeploy(f"condemned-{window}")
    if window == "closed":
        dep.clock.sleep(1000.0)
    else:
        assert third.undo_window_open
    served, calls = weights(dep), len(dep.calls)
    with pytest.raises(RollbackUnavailable, match="was itself rolled back"):
        third.rollback()
    assert weights(dep) == served
    assert {c.op for c in dep.calls[calls:]} <= {"state"}
    assert reg.aliases("fraud") == {"production": "1"}
    assert third.status is RolloutStatus.SUCCEEDED


def test_a_version_deployed_again_after_its_rollback_may_be_rolled_back_to() -> None:
    reg, dep, _ = _rolled_back_by_redeploy("condemned-cleared")
    dep.clock.sleep(1)
    BlueGreen(dep, clock=dep.clock).deploy("fraud", "2")  # deployed again: it may serve
    dep.clock.sleep(1)
    fourth = BlueGreen(dep, clock=dep.clock).deploy("fraud", "3")
    assert fourth.rollback() is fourth
    assert dep.state().serving().version == "2"
    assert reg.aliases("fraud") == {"production": "2"}


def test_a_spec_change_rolled_back_does_not_condemn_its_version() -> None:
    reg = registry("respec-rolled-back", 2)
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(1)
    respec = BlueGreen(dep, spec("8"), clock=dep.clock).deploy("fraud", "1")
    assert respec.rollback() is respec  # THREADS=8 undone: 1 with THREADS=1 serves
    dep.clock.sleep(1)
    second = BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "2")
    assert second.rollback() is second
    assert dep.state().serving().version == "1"


def test_a_rollback_with_an_unreadable_history_goes_on_and_says_so() -> None:
    # The rollback restores service: a history it cannot read does not stop it.
    dep, history = InMemoryDeployer(), UnreadableHistory()
    BlueGreen(dep, clock=dep.clock, alias=None, history=history).deploy("fraud", "1")
    second = BlueGreen(dep, clock=dep.clock, alias=None, history=history).deploy("fraud", "2")
    assert second.rollback() is second
    assert dep.state().serving().version == "1"
    assert any(
        e.kind is EventKind.ERROR and "could not be checked" in e.message for e in second.history
    )


# --- 3. the router and a misbehaving backend ------------------------------------------------


class ScriptedBackend:
    """A keep-alive backend on a plain socket: each request (a head, no body) is answered
    with ``answer(path)``; ``after`` is sent unasked once the first answer went."""

    def __init__(self, answer: Callable[[bytes], bytes], after: bytes = b"") -> None:
        self.answer, self.after = answer, after
        self.connections = 0
        self.sent_after = threading.Event()
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            for _ in range(100):  # connections in one test
                conn, _ = self.listener.accept()
                self.connections += 1
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            data = b""
            for _ in range(1000):  # requests and reads on one connection
                if b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                    continue
                head, _, data = data.partition(b"\r\n\r\n")
                conn.sendall(self.answer(head.split(b" ")[1]))
                if self.after and not self.sent_after.is_set():
                    conn.sendall(self.after)
                    self.sent_after.set()
            self.stop.wait(30)

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


def _echo(path: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(path) + path


@pytest.fixture
def router() -> Iterator[Router]:
    r = Router()
    yield r
    r.close()


def _get(router: Router, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_backend_sending_more_than_its_answer_does_not_shift_the_next_answers(
    router: Router,
) -> None:
    # The surplus stayed in the pooled connection's reader: the next client (another
    # one) was answered with it, and every answer after was one behind.
    smuggled = b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nSMUGGLED"
    backend = ScriptedBackend(lambda path: _echo(path) + smuggled)
    try:
        router.set_backends({"blue": (backend.port, 100)})
        assert [_get(router, f"/{c}") for c in "ABC"] == [
            (200, b"/A"),
            (200, b"/B"),
            (200, b"/C"),
        ]
    finally:
        backend.close()


def test_a_pooled_connection_the_backend_sent_bytes_on_while_idle_is_not_used(
    router: Router,
) -> None:
    smuggled = b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nSMUGGLED"
    backend = ScriptedBackend(_echo, after=smuggled)
    try:
        router.set_backends({"blue": (backend.port, 100)})
        assert _get(router, "/A") == (200, b"/A")
        assert backend.sent_after.wait(10)
        assert _get(router, "/B") == (200, b"/B")
        assert backend.connections == 2
    finally:
        backend.close()


def test_a_well_behaved_backend_keeps_its_pooled_connection(router: Router) -> None:
    backend = ScriptedBackend(_echo)
    try:
        router.set_backends({"blue": (backend.port, 100)})
        assert [_get(router, f"/{c}") for c in "AB"] == [(200, b"/A"), (200, b"/B")]
        assert backend.connections == 1
    finally:
        backend.close()


_HINTS = b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n"


@pytest.mark.parametrize("interim", [1, 3], ids=["one", "several"])
def test_interim_answers_before_the_final_one_are_dropped(router: Router, interim: int) -> None:
    # The 103 was taken for the whole answer: its "close-delimited" body was read until
    # the backend closed the idle connection, and the client got status 103, no body.
    backend = ScriptedBackend(
        lambda path: b"HTTP/1.1 100 Continue\r\n\r\n" + _HINTS * (interim - 1) + _echo(path)
    )
    try:
        router.set_backends({"blue": (backend.port, 100)})
        assert _get(router, "/A") == (200, b"/A")
        assert _get(router, "/B") == (200, b"/B")  # the connection was pooled, in step
        assert backend.connections == 1
    finally:
        backend.close()


@pytest.mark.parametrize(
    "interim",
    [_HINTS * 9, b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"],
    ids=["too-many-interim", "switching-protocols"],
)
def test_too_many_interim_answers_or_a_protocol_switch_is_a_502(
    router: Router, interim: bytes
) -> None:
    backend = ScriptedBackend(lambda path: interim + _echo(path))
    try:
        router.set_backends({"blue": (backend.port, 100)})
        status, body = _get(router, "/A")
        assert status == 502
        assert b"slot blue failed" in body
    finally:
        backend.close()


# --- 4. second look: unknown is no change, environments apart, a spec change's rollback ----


def _no_op(dep: SpecDeployer, rollout: Any, before: int) -> bool:
    """Whether ``rollout`` left the serving version as it was (no apply, no traffic move)."""
    ops = [c.op for c in dep.calls[before:] if c.op != "state"]
    return ops == ["health"] and "nothing changed" in rollout.history[-1].message


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("where", ["no registry", "a history of its own"])
def test_an_unchanged_re_run_without_the_first_runs_records_changes_nothing(
    kind: str, where: str
) -> None:
    # A second CI job or script run: a fresh strategy and history. It found no record of
    # the apply and deployed again (Recreate: a restart of a healthy service).
    reg = registry(f"rerun-{kind}-{where}", 1) if where != "no registry" else None
    dep = deployer(kind, registry=reg)
    KINDS[kind](dep, spec("1"), history=InMemoryHistory()).deploy("fraud", "1")
    dep.clock.sleep(1)
    before = len(dep.calls)
    rollout = KINDS[kind](dep, spec("1"), history=InMemoryHistory()).deploy("fraud", "1")
    assert _no_op(dep, rollout, before)
    assert dep.applied == [("1", "1")]


def _as_written_before_digests(reg: ms.Registry) -> None:
    """Rewrite the stored records of fraud as the release before spec digests wrote them:
    no ``spec_digest``, and no alias in the started event."""
    history = RegistryHistory(reg)
    for record in history.records("fraud"):
        events = tuple(
            attrs.evolve(
                e,
                data={
                    k: v
                    for k, v in e.data.items()
                    if k != "spec_digest" and not (e.kind is EventKind.STARTED and k == "alias")
                },
            )
            for e in record.events
        )
        history.save(attrs.evolve(record, events=events))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_records_written_before_spec_digests_leave_the_serving_version(kind: str) -> None:
    # The first unchanged re-run after an upgrade restarted every Recreate service.
    reg = registry(f"upgrade-{kind}", 1)
    dep = deployer(kind, registry=reg)
    KINDS[kind](dep, spec("1")).deploy("fraud", "1")
    dep.clock.sleep(1)
    _as_written_before_digests(reg)
    before = len(dep.calls)
    rollout = KINDS[kind](dep, spec("1")).deploy("fraud", "1")
    assert _no_op(dep, rollout, before)
    assert "not known" in rollout.history[-1].message
    assert dep.applied == [("1", "1")]


def test_the_spec_of_a_deploy_that_changed_nothing_is_the_slots_spec_for_the_next() -> None:
    # Once a re-run left the version (its spec not recorded), its own record holds the
    # spec's digest: a changed spec after it is applied, the same one again is not.
    reg = registry("upgrade-then-change", 1)
    dep = deployer("recreate", registry=reg)
    Recreate(dep, spec("1"), clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(1)
    _as_written_before_digests(reg)
    for threads in ("1", "1", "8", "8"):
        Recreate(dep, spec(threads), clock=dep.clock).deploy("fraud", "1")
        dep.clock.sleep(1)
    assert dep.applied == [("1", "1"), ("1", "8")]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_deploy_that_moves_no_alias_leaves_the_serving_version_whatever_its_spec(
    kind: str,
) -> None:
    # Without an alias, nothing tells this service's records from another's in a shared
    # history: as before spec digests, the healthy version is left, and the record says so.
    dep, history = deployer(kind), InMemoryHistory()
    KINDS[kind](dep, spec("1"), alias=None, history=history).deploy("fraud", "1")
    dep.clock.sleep(1)
    before = len(dep.calls)
    rollout = KINDS[kind](dep, spec("8"), alias=None, history=history).deploy("fraud", "1")
    assert _no_op(dep, rollout, before)
    assert "moves no registry alias" in rollout.history[-1].message
    assert dep.applied == [("1", "1")]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_staging_and_production_sharing_a_registry_re_run_without_restarts(kind: str) -> None:
    # Each environment's re-run read the other's apply (another spec) as its own and
    # deployed again, restarting the other's service at its next run, without end.
    reg, clock = registry(f"two-envs-{kind}", 1), ManualClock()
    envs = [
        (deployer(kind, registry=reg, clock=clock), spec("8"), "production"),
        (deployer(kind, registry=reg, clock=clock), spec("1"), "staging"),
    ]
    for dep, given, alias in envs:
        KINDS[kind](dep, given, alias=alias).deploy("fraud", "1")
        clock.sleep(1)
    for dep, given, alias in envs * 2:
        before = len(dep.calls)
        rollout = KINDS[kind](dep, given, alias=alias).deploy("fraud", "1")
        clock.sleep(1)
        assert _no_op(dep, rollout, before), alias
    assert [dep.applied for dep, _, _ in envs] == [[("1", "8")], [("1", "1")]]


def test_a_spec_change_in_one_environment_is_applied_there_only() -> None:
    reg, clock = registry("two-envs-change", 1), ManualClock()
    prod, staging = (SpecDeployer(registry=reg, clock=clock) for _ in "ps")
    BlueGreen(prod, spec("1"), clock=clock, alias="production").deploy("fraud", "1")
    BlueGreen(staging, spec("1"), clock=clock, alias="staging").deploy("fraud", "1")
    clock.sleep(1)
    BlueGreen(staging, spec("8"), clock=clock, alias="staging").deploy("fraud", "1")
    clock.sleep(1)
    BlueGreen(prod, spec("1"), clock=clock, alias="production").deploy("fraud", "1")
    assert (prod.applied, staging.applied) == ([("1", "1")], [("1", "1"), ("1", "8")])


def test_a_change_of_the_monitoring_policy_only_does_not_restart_the_service() -> None:
    # The rollback policy's conditions are judged by a watch, not run in the slot.
    def watched(threshold: int) -> DeploymentSpec:
        return DeploymentSpec.from_dict(
            {
                "deployment": {
                    "strategy": "recreate",
                    "containers": [{"name": "m", "image": "m:1", "env": {"THREADS": "1"}}],
                    "monitoring": {
                        "enabled": True,
                        "metrics": ["error_rate"],
                        "conditions": [f"error_rate > {threshold}%"],
                    },
                }
            }
        )

    dep = deployer("recreate", registry=registry("monitoring-only", 1))
    Recreate(dep, watched(5), clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(1)
    before = len(dep.calls)
    rollout = Recreate(dep, watched(4), clock=dep.clock).deploy("fraud", "1")
    assert _no_op(dep, rollout, before)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_spec_change_is_not_rolled_back_without_its_switch_back(kind: str) -> None:
    # The rollback redeployed the version with the new spec, found it unchanged, and
    # reported the rollout rolled back: the old spec was not restored.
    reg = registry(f"respec-rollback-{kind}", 1)
    dep = deployer(kind, registry=reg)
    KINDS[kind](dep, spec("1"), undo_window=0).deploy("fraud", "1")
    dep.clock.sleep(1)
    respec = KINDS[kind](dep, spec("8"), undo_window=0).deploy("fraud", "1")
    dep.clock.sleep(1)
    served, calls = weights(dep), len(dep.calls)
    with pytest.raises(RollbackUnavailable, match="its previous version is its own"):
        respec.rollback()
    assert respec.status is RolloutStatus.SUCCEEDED
    assert weights(dep) == served
    assert {c.op for c in dep.calls[calls:]} <= {"state"}
    assert dep.applied == [("1", "1"), ("1", "8")]
    assert respec.history[-1].kind is EventKind.ERROR


def _staging_rolled_back_2(name: str) -> tuple[ms.Registry, SpecDeployer, Any]:
    """Production ran 1 then 2 fine; staging rolled 2 back (one switch); production then
    deployed 3: its rollout, whose previous version is 2."""
    reg, clock = registry(name, 3), ManualClock()
    prod, staging = (SpecDeployer(registry=reg, clock=clock) for _ in "ps")
    for version in ("1", "2"):
        BlueGreen(prod, clock=clock, alias="production").deploy("fraud", version)
        clock.sleep(10)
    BlueGreen(staging, clock=clock, alias="staging").deploy("fraud", "1")
    clock.sleep(10)
    BlueGreen(staging, clock=clock, alias="staging").deploy("fraud", "2").rollback()
    clock.sleep(10)
    third = BlueGreen(prod, clock=clock, alias="production").deploy("fraud", "3")
    assert reg.aliases("fraud") == {"production": "3", "staging": "1"}
    return reg, prod, third


def test_a_rollback_in_another_environment_does_not_block_this_ones() -> None:
    reg, prod, third = _staging_rolled_back_2("rollback-envs")
    assert third.rollback() is third
    assert prod.state().serving().version == "2"
    assert reg.aliases("fraud") == {"production": "2", "staging": "1"}


def test_deploy_rollback_is_not_blocked_by_another_environments_rollback() -> None:
    from modelship.deploy._cli import roll_alias_back

    reg, _, third = _staging_rolled_back_2("rollback-envs-cli")
    moved = roll_alias_back("memory://review37-strategies-rollback-envs-cli", "fraud", "production")
    assert moved == {
        "model": "fraud",
        "alias": "production",
        "from": "3",
        "to": "2",
        "rollout": third.id,
    }
    assert reg.aliases("fraud") == {"production": "2", "staging": "1"}


def test_monitor_watch_judges_a_version_condemned_only_by_its_own_alias() -> None:
    from modelship.monitor._cli import _rolled_back_since_success

    reg, _, _ = _staging_rolled_back_2("rollback-envs-watch")
    assert _rolled_back_since_success(reg, "fraud", "2", alias="production") is None
    condemned = _rolled_back_since_success(reg, "fraud", "2", alias="staging")
    assert condemned is not None
    assert condemned.status is RolloutStatus.ROLLED_BACK


def test_a_record_that_names_no_alias_condemns_nothing_where_an_alias_moves() -> None:
    from modelship.deploy._rollout import condemning_rollout

    history = InMemoryHistory()
    dep = InMemoryDeployer()  # no registry: its records move no alias
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "1")
    BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2").rollback()
    records = history.records("fraud")
    assert condemning_rollout(records, "2") is records[1]  # no alias: every record counts
    assert condemning_rollout(records, "2", alias="production") is None


def test_deploy_rollback_goes_back_to_what_this_alias_served_not_another_environments() -> None:
    # Production ran 1 then 3; staging later ran 2 then 3 (its 3 replaced 2). The alias
    # production must go back to 1: the last succeeded rollout of 3 is staging's.
    reg, clock = registry("rollback-target-envs", 3), ManualClock()
    prod, staging = (SpecDeployer(registry=reg, clock=clock) for _ in "ps")
    for version in ("1", "3"):
        BlueGreen(prod, clock=clock, alias="production").deploy("fraud", version)
        clock.sleep(10)
    for version in ("2", "3"):
        BlueGreen(staging, clock=clock, alias="staging").deploy("fraud", version)
        clock.sleep(10)
    assert reg.aliases("fraud") == {"production": "3", "staging": "3"}
    from modelship.deploy._cli import roll_alias_back

    moved = roll_alias_back(reg.store.url, "fraud", "production")
    assert isinstance(moved, dict)
    assert moved["to"] == "1"
    assert reg.aliases("fraud") == {"production": "1", "staging": "3"}


def test_monitor_watch_judges_the_rollout_of_its_own_alias_not_another_environments() -> None:
    # Production ran 1 then 3 into blue; staging later ran 2 then 3 into another slot.
    # A watch of production must watch production's rollout (its slot, and 1 to go back
    # to), not staging's later one.
    import argparse

    from modelship.monitor._cli import _watched

    reg, clock = registry("watch-target-envs", 3), ManualClock()
    prod, staging = (SpecDeployer(registry=reg, clock=clock) for _ in "ps")
    for version in ("1", "3"):
        BlueGreen(prod, clock=clock, alias="production").deploy("fraud", version)
        clock.sleep(10)
    for version in ("2", "3"):
        BlueGreen(staging, clock=clock, alias="staging").deploy("fraud", version)
        clock.sleep(10)
    args = argparse.Namespace(
        registry=reg.store.url,
        model="fraud",
        alias="production",
        slot=None,
        since=None,
        signing_key_env="",
    )
    watched = _watched(args)
    assert watched.rollout is not None
    assert watched.rollout.previous_version == "1"


def _watch_args(reg: ms.Registry) -> Any:
    import argparse

    return argparse.Namespace(
        registry=reg.store.url,
        model="fraud",
        alias="production",
        slot=None,
        since=None,
        signing_key_env="",
    )


def test_after_a_spec_change_rollbacks_go_back_to_the_version_before_not_from_2_to_2() -> None:
    # deploy rollback and monitor watch took the spec change (2 -> 2) as the rollout to undo
    # and "moved" the alias from 2 to 2, reporting success (third look of stop 37).
    from modelship.deploy._cli import roll_alias_back
    from modelship.monitor._cli import _watched

    reg = registry("spec-change-then-rollback", 2)
    dep = deployer("blue-green", registry=reg)
    BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(10)
    BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "2")
    dep.clock.sleep(10)
    BlueGreen(dep, spec("8"), clock=dep.clock).deploy("fraud", "2")
    dep.clock.sleep(10)
    watched = _watched(_watch_args(reg))
    assert watched.rollout is not None
    assert watched.rollout.previous_version == "1"
    moved = roll_alias_back(reg.store.url, "fraud", "production")
    assert isinstance(moved, dict)
    assert (moved["from"], moved["to"]) == ("2", "1")


def test_after_an_unchanged_re_run_watch_still_knows_the_version_before() -> None:
    # The re-run's rollout changed nothing and has no previous version: the watch took it,
    # had nothing to roll back to, and judged only traffic after the re-run.
    from modelship.monitor._cli import _watched

    reg = registry("rerun-then-watch", 2)
    dep = deployer("blue-green", registry=reg)
    BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "1")
    dep.clock.sleep(10)
    second = BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "2")
    dep.clock.sleep(10)
    BlueGreen(dep, spec("1"), clock=dep.clock).deploy("fraud", "2")
    watched = _watched(_watch_args(reg))
    assert watched.rollout is not None
    assert watched.rollout.previous_version == "1"
    assert watched.since == second.started_at.timestamp()
