"""``modelship deploy apply|status|rollback|history``: deploying locally from a shell.

``apply`` runs the embedded :class:`~modelship.deploy.LocalDeployer` in the foreground:
it deploys the version, prints the endpoint as a JSON line, then keeps serving and
*follows the registry alias*: when the alias moves (``modelship deploy rollback``, or
``modelship registry alias set``) it rolls back (one traffic switch, within the undo
window) or deploys the version the alias now names, with the ``--spec`` file (as read
when ``apply`` started) and ``${VERSION}`` set to that version. The registry is thus the one place
that says what should serve, and every rollout is recorded there (``history``). Once it
serves, ``apply`` never stops for the registry: a poll that fails is reported on stderr
and the next one tries again. Following starts from the version the first rollout
deployed: an alias moved after that rollout promoted it, even before the first poll, is
followed. Once a rollout's undo window has closed, the previous version's server is
stopped (:meth:`Rollout.finish`).

Each slot's own server (blue and green, or stable and canary) has its own address, which
Prometheus scrapes for the metrics of one version (``modelship monitor watch``, canary
analysis): ``apply`` says it on stderr once the slot is ready, and again whenever that
slot's server changes or stops (a line such as ``slot blue: http://127.0.0.1:PORT
(version 2)``), during a rollout as well, so a canary's address is known while it is
analysed. Each ``serving`` JSON line has them too, under ``slots`` (each ready slot's
:class:`~modelship.deploy.SlotState` fields and its ``url``).

SIGINT or SIGTERM between rollouts stops serving, exit 0; during a rollout it cuts that
rollout short: the strategy aborts it as it would a failure, and ``apply`` exits 1 (0 only
if the rollout had succeeded as the signal came). A signal while ``apply`` stops (its
servers draining) kills every server at once. ``--for N`` ends as SIGTERM would, N seconds
after ``apply`` started (the first deploy included): a rollout running then is aborted,
exit 1; between rollouts, exit 0. A rollout already aborting on its own then (a progress
deadline) ends its abort, and ``apply`` stops as after any abort. ``--for 0`` deploys,
looks at the alias once and stops. ``apply`` runs in the main thread only (elsewhere, a
:class:`~modelship.ConfigError`): it handles signals.

A spec whose ``monitoring`` section gives conditions (an enabled rollback policy) gates a
canary only with ``--prometheus URL``: each canary step's analysis then evaluates the
conditions on the new slot against that Prometheus (:func:`modelship.monitor.policy_gate`;
a condition that holds fails the step, see :func:`_canary_gate` for the window and the
limits). Without ``--prometheus``, or with another strategy (a blue-green slot has no
traffic before its switch for a metric gate to judge), the conditions are not evaluated
by ``apply``: it says so once on stderr before the first rollout, and each ``serving``
JSON line has the same sentence under ``monitoring``. ``--prometheus`` without such a
section is refused (it would judge nothing).

Each option of ``apply`` is read by one way of running it, and refused (a
:class:`~modelship.ConfigError`, exit 2) by the others, where it would be ignored:
serving locally reads ``--alias``, ``--strategy``, ``--undo-window``,
``--progress-deadline``, ``--for``, ``--poll`` and ``--prometheus``; ``--dry-run`` reads
``--slot``, ``--namespace``, ``--app`` and ``--image`` (with no ``--spec``: a spec names its
images);
``--dry-run=server`` also ``--kubeconfig`` and ``--context``. ``--alias`` is checked as
the registry checks an alias (a usage error, exit 2).

Exit codes: 0 success, 1 a rollout aborted or cut short by a signal (or nothing to roll
back), 2 an error (a damaged or changed registry file too, and a ``rollback`` refused
while the rollout of the version the alias names still runs).
Machine-readable output is JSON on stdout; messages go to stderr.

Examples
--------
>>> import modelship as ms
>>> from modelship.deploy._cli import main
>>> reg = ms.open_registry("memory://deploy-cli-doc")
>>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
>>> main(["history", "memory://deploy-cli-doc", "fraud"])
[]
0
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

import attrs

import modelship as ms
from modelship import _json
from modelship._cli_common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    SIGNING_KEY_ENV,
    add_signing_key_option,
    alias_name,
    exit_2_without_key,
    for_the_command_line,
    open_cli_registry,
    positive_seconds,
    reopen_closed_stdio,
    say,
    seconds,
    silence_stdout,
)
from modelship._names import check_alias
from modelship._rollback._policy import RollbackPolicy
from modelship._shown import hide_credentials, printable
from modelship.deploy._errors import DeployError, RollbackUnavailable, RolloutInProgress
from modelship.deploy._gates import MAX_SECONDS, Gate, GatePolicy
from modelship.deploy._history import DeploymentHistory, RegistryHistory
from modelship.deploy._lock import runner_gone
from modelship.deploy._protocol import Deployer
from modelship.deploy._rollout import (
    EventKind,
    Rollout,
    RolloutAborted,
    RolloutEvent,
    RolloutRecord,
    RolloutStatus,
    condemning_rollout,
    moved_from_another,
    same_alias,
)
from modelship.deploy._spec import DeploymentSpec, SpecFile, Strategy
from modelship.deploy._strategies import (
    ABORT_CUT_SHORT,
    SLOTS,
    BlueGreen,
    Canary,
    Recreate,
    from_spec,
)
from modelship.deploy.local import LocalDeployer
from modelship.errors import (
    ConfigError,
    Conflict,
    IntegrityError,
    ModelshipError,
    SigningKeyRequired,
)
from modelship.registry._registry import signing_key_of

__all__ = ["add_commands", "build_parser", "main", "roll_alias_back"]

_log = logging.getLogger("modelship.deploy")

_T = TypeVar("_T")


def _print_json(data: Any) -> None:
    """Strict JSON whatever a stored record holds: a non-finite float is ``null``."""
    sys.stdout.write(_json.pretty(data) + "\n")
    sys.stdout.flush()


# Which way of running ``apply`` reads each of its options (dest, and the default it has
# there). Each is None unless given, so that one given where it would be ignored is told
# from one left out, and refused (it used to be accepted and ignored: --namespace on a
# local deploy, --poll with --dry-run, --kubeconfig with a client-side dry run).
_SERVING_OPTIONS: dict[str, tuple[str, Any]] = {
    "--alias": ("alias", "production"),
    "--strategy": ("strategy", None),
    "--undo-window": ("undo_window", 600.0),
    "--progress-deadline": ("progress_deadline", 600.0),
    "--for": ("for_seconds", None),
    "--poll": ("poll", 1.0),
    "--prometheus": ("prometheus", None),
}
_DRY_RUN_OPTIONS: dict[str, tuple[str, Any]] = {
    "--slot": ("slot", None),  # None: see _dry_run_slot
    "--namespace": ("namespace", "default"),
    "--app": ("app", None),
    "--image": ("image", None),
}
_SERVER_OPTIONS: dict[str, tuple[str, Any]] = {
    "--kubeconfig": ("kubeconfig", None),
    "--context": ("context", None),
}


def _apply_options(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` of ``apply`` with the defaults of the way it runs filled in.

    Raises :class:`~modelship.ConfigError` for options that way does not read, naming
    them and where they apply.
    """
    read = (
        _SERVING_OPTIONS
        if args.dry_run is None
        else {**_DRY_RUN_OPTIONS, **(_SERVER_OPTIONS if args.dry_run == "server" else {})}
    )
    unread = [
        option
        for table in (_SERVING_OPTIONS, _DRY_RUN_OPTIONS, _SERVER_OPTIONS)
        for option, (dest, _) in table.items()
        if option not in read and getattr(args, dest) is not None
    ]
    server_only = [o for o in unread if o in _SERVER_OPTIONS]
    named = ", ".join(unread)
    they = "it" if len(unread) == 1 else "them"
    if args.dry_run is None and unread:
        also = " (--kubeconfig and --context with --dry-run=server)" if server_only else ""
        raise ConfigError(
            f"{named}: for the Kubernetes objects --dry-run prints{also}; without "
            f"--dry-run, `deploy apply` serves locally, which reads no such option: drop "
            f"{they}, or add --dry-run"
        )
    if server_only:
        raise ConfigError(
            f"{', '.join(server_only)}: for --dry-run=server only (the client-side dry run "
            f"asks no cluster): drop {'it' if len(server_only) == 1 else 'them'}, or use "
            "--dry-run=server"
        )
    if unread:
        raise ConfigError(
            f"{named}: for a deployment that serves, without --dry-run; --dry-run starts "
            "nothing and prints the objects the rollout would leave, which "
            f"{'this option does' if len(unread) == 1 else 'these options do'} not "
            f"change: drop {they}"
        )
    if args.dry_run is not None and args.image is not None and args.spec is not None:
        raise ConfigError(
            "--image gives the image when there is no --spec; the containers of the "
            "spec name their own images: drop --image, or set the image in the spec"
        )
    return argparse.Namespace(
        **{
            **vars(args),
            **{dest: default for dest, default in read.values() if getattr(args, dest) is None},
        }
    )


def _spec(
    args: argparse.Namespace, version: str, file: SpecFile | None = None, *, notes: bool = True
) -> DeploymentSpec:
    """The spec file (``${VERSION}`` filled in; ``file``: as read already), or a default
    one; ``--strategy`` wins.

    Overridden to canary, a spec without canary steps gets the library's default ones
    (:attr:`Canary.DEFAULT_STEPS`); overridden away from canary, the spec's steps are
    left out. Either is said on stderr (with ``notes``): neither is in the file.
    """
    if args.spec is not None:
        file = file if file is not None else SpecFile.read(args.spec)
        spec = file.spec(variables={"VERSION": version})
    else:
        spec = DeploymentSpec.from_dict(
            {"deployment": {"containers": [{"name": "model-service", "image": "modelship"}]}}
        )
    if args.strategy is None or Strategy(args.strategy) is spec.strategy:
        return spec
    strategy = Strategy(args.strategy)
    steps = spec.steps
    note = None
    if strategy is Strategy.CANARY and not steps:
        steps = Canary.DEFAULT_STEPS
        shown = ", ".join(f"{s.weight}% for {s.pause:g} s" for s in steps)
        note = (
            f"--strategy canary: no canary steps given; using the default steps ({shown}); "
            "set canary.steps in a --spec file for others"
        )
    elif strategy is not Strategy.CANARY and steps:
        steps = ()
        note = f"--strategy {strategy.value}: the canary steps of the spec are not used"
    if note is not None and notes:
        print(f"modelship deploy: {note}", file=sys.stderr)
    return attrs.evolve(spec, strategy=strategy, steps=steps)


#: The shortest window of a canary gate (and its re-evaluation interval when every step
#: pauses 0 s): Prometheus answers no rate or quantile over a window holding fewer than
#: two scrapes, so a gate over a 0.2 s pause would hold on no data until its deadline.
_GATE_WINDOW = 60.0
#: The longest interval between two evaluations of a canary gate that holds.
_GATE_INTERVAL = 30.0


@attrs.frozen
class _Monitoring:
    """What ``apply`` does with the spec's monitoring conditions.

    ``gate`` and ``policy`` go to the strategy (None: the canary steps are not gated);
    ``note`` is the sentence said on stderr before the first rollout and put in each
    ``serving`` line, when the conditions are not evaluated (None: nothing to say);
    ``gated`` the one said on stderr instead when they are; ``close`` closes the metric
    source.
    """

    gate: Gate | None = None
    policy: GatePolicy | None = None
    note: str | None = None
    gated: str | None = None
    close: Callable[[], None] = lambda: None


def _gate_policy(policy: RollbackPolicy, pause: float) -> GatePolicy:
    """The :class:`GatePolicy` that applies ``policy``'s limits to a canary analysis.

    A rollback policy's limits count what is *tolerated* (``failure_limit: 0``, the first
    failure rolls back); a gate policy's, what aborts: one more. Its ``deadline`` is the
    analysis deadline (``null``, hold forever, is the gate policy's default 600 s: a canary
    held forever would never end its rollout). A gate that holds is asked again every
    ``pause`` seconds (the longest step's), at most every 30 s.
    """
    deadline = policy.deadline if policy.deadline is not None else GatePolicy().deadline
    return GatePolicy(
        interval=min(pause, _GATE_INTERVAL),
        deadline=min(deadline, MAX_SECONDS),
        max_consecutive_errors=policy.error_limit + 1,
        failure_limit=None if policy.failure_limit is None else policy.failure_limit + 1,
    )


def _canary_gate(args: argparse.Namespace, spec: DeploymentSpec) -> _Monitoring:
    """The gate of ``apply``'s rollouts from the spec's monitoring conditions and
    ``--prometheus``, or the note that they are not evaluated (see the module's text).

    With ``--prometheus URL``, a canary is gated by
    :func:`~modelship.monitor.policy_gate` over a
    :class:`~modelship.monitor.PrometheusSource` of that URL (5 s timeout, as ``monitor
    watch``'s default) reading only the model's series (``model="<name>"``), looking back
    the longest canary step pause (60 s when every pause is 0; never past the rollout's
    start), with the limits of :func:`_gate_policy`.

    Raises :class:`~modelship.ConfigError` for ``--prometheus`` with no enabled
    monitoring conditions in the spec, a URL that is not one, or a condition the source
    cannot ask about.
    """
    policy = spec.monitoring.policy
    url = args.prometheus
    if policy is None or not policy.enabled:
        if url is not None:
            why = (
                "its monitoring section says enabled: false"
                if policy is not None
                else "it gives no monitoring conditions"
                if args.spec is not None
                else "there is no --spec"
            )
            raise ConfigError(
                f"--prometheus {hide_credentials(url)}: gates a canary by the monitoring "
                "conditions of the "
                f"--spec file, and {why}, so nothing would be judged: drop --prometheus, "
                "or give a --spec whose monitoring section has conditions"
            )
        return _Monitoring()
    after = "or run `modelship monitor watch` beside it to roll back after promotion"
    if spec.strategy is Strategy.BLUE_GREEN:
        return _Monitoring(
            note=(
                "the spec's monitoring conditions are not evaluated by `deploy apply` for a "
                "blue-green rollout"
                + (", and --prometheus is not used" if url is not None else "")
                + ": a metric gate cannot judge a slot without traffic, and a blue-green "
                "slot has none before its switch (docs/monitor.md, Monitoring as a canary "
                "gate); to judge the new version before promotion use --strategy canary "
                f"with --prometheus URL, {after}"
            )
        )
    if spec.strategy is not Strategy.CANARY:
        return _Monitoring(
            note=(
                f"the spec's monitoring conditions are not evaluated by `deploy apply` for a "
                f"{spec.strategy.value} rollout"
                + (", and --prometheus is not used" if url is not None else "")
                + ": a metric gate judges a canary's share of the traffic, and a "
                f"{spec.strategy.value} rollout has none (the previous version is stopped "
                f"first); to judge the new version before promotion use --strategy canary "
                f"with --prometheus URL, {after}"
            )
        )
    if url is None:
        return _Monitoring(
            note=(
                "the spec's monitoring conditions are not evaluated by `deploy apply` "
                "without a metric source, so the canary steps are not gated (each step "
                "pauses, then goes on): give --prometheus URL to judge each step by them, "
                f"{after}"
            )
        )
    from modelship.monitor import PrometheusSource, policy_gate

    if policy.consecutive_failure_limit is not None:
        # A canary gate counts failures in a row across no_data and inconclusive answers
        # too (GatePolicy), where the policy counts them since the last pass: mapped, a
        # gate would promote a canary the policy rolls back (fail, no_data, fail, pass).
        raise ConfigError(
            "--prometheus: the spec's monitoring section gives consecutive_failure_limit, "
            "which a canary gate cannot apply as the policy does (the gate starts counting "
            "again at an answer without data, the policy only at a pass); give "
            "failure_limit instead, or run `modelship monitor watch` beside apply"
        )
    steps = spec.steps or Canary.DEFAULT_STEPS
    pause = max((step.pause for step in steps), default=0.0) or _GATE_WINDOW
    window = max(pause, _GATE_WINDOW)
    # Only this model's series: the LocalDeployer names every model's slots blue and
    # green, so another model's traffic in a slot of that name would be judged too. The
    # gate reads the rollout's model (args.model) only, as policy_gate does for any
    # PrometheusSource (its copy for the model shares this one's session).
    source = PrometheusSource(url, timeout=5.0)
    try:
        gate = policy_gate(source, policy, window=window)
        limits = _gate_policy(policy, pause)
    except BaseException:
        source.close()
        raise
    gated = (
        f"each canary step is judged by the spec's monitoring conditions against "
        f"Prometheus at {hide_credentials(source.url)}: over the last {window:g} s (never "
        f"before the rollout's start), asked again every {limits.interval:g} s while it "
        f"holds, aborted after {limits.deadline:g} s without a pass"
    )
    return _Monitoring(gate=gate, policy=limits, gated=gated, close=source.close)


def _event(data: dict[str, Any]) -> None:
    """One JSON line on stdout (for a supervisor reading the foreground process).

    A reader that has gone (``deploy apply ... | head -1``, a log shipper restarted), a
    write that fails otherwise, or no standard output at all (``>&-``) does not stop the
    deployment: ``apply`` is a server, and it goes on serving and following its alias;
    what it would print then goes nowhere.
    """
    out = sys.stdout
    if out is None:  # started without a standard output (``>&-``): nothing reads it
        return
    try:
        out.write(json.dumps(data, sort_keys=True) + "\n")
        out.flush()
    except (OSError, ValueError):  # BrokenPipeError, any failed write, a closed stream
        silence_stdout()


@runtime_checkable
class _AddressesSlots(Protocol):
    """A deployer whose slots each answer at an address of their own (the local one)."""

    def state(self) -> Any: ...

    def slot_url(self, slot: str) -> str: ...


class _SlotAddresses:
    """The address of each ready slot's own server, said on stderr when it changes.

    :meth:`look` compares the ready slots with what it said last: a slot newly ready, or
    whose server changed (another process, another version), gets a ``slot NAME: URL
    (version V)`` line; a slot said before and no longer ready, a ``stopped`` one. A
    deployer without addresses of its own (no ``slot_url``) is never asked.
    """

    def __init__(self, dep: object) -> None:
        self._dep = dep if isinstance(dep, _AddressesSlots) else None
        self._said: dict[str, tuple[str, str]] = {}  # slot -> (url, version)

    def look(self) -> list[dict[str, Any]] | None:
        """Each ready slot (its state and ``url``), after saying what changed; None for a
        deployer without slot addresses, or one whose state cannot be read now."""
        if self._dep is None:
            return None
        try:
            states = self._dep.state().slots
        except (OSError, ModelshipError):  # said at the next look that reads it
            return None
        now: dict[str, tuple[str, str]] = {}
        slots: list[dict[str, Any]] = []
        for state in states:
            if not state.ready:
                continue
            try:
                url = self._dep.slot_url(state.slot)
            except ModelshipError:  # removed since state() was read: gone
                continue
            now[state.slot] = (url, state.version)
            slots.append({**state.to_dict(), "url": url})
        for slot in sorted(self._said.keys() | now.keys()):
            before, after = self._said.get(slot), now.get(slot)
            if after is not None and after != before:
                self._say(f"slot {slot}: {after[0]} (version {after[1]})")
            elif after is None and before is not None:
                self._say(f"slot {slot}: stopped (version {before[1]} at {before[0]})")
        self._said = now
        return slots

    def _say(self, line: str) -> None:
        """One line on stderr (:func:`~modelship._cli_common.say`): for a person watching;
        ``apply`` is a server, and a reader gone (``apply ... 2>&1 | head -n 1``) or a
        stream closed stops neither it nor the rollout saved after a look."""
        say(f"modelship deploy: {line}")


def _serving_event(data: dict[str, Any], addresses: _SlotAddresses) -> None:
    """The ``serving`` line (:func:`_event`), with each ready slot's address if known."""
    slots = addresses.look()
    _event(data if slots is None else {**data, "slots": slots})


def _noted(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` of a ``serving`` line, with the sentence saying that the spec's monitoring
    conditions are not evaluated (:func:`_canary_gate`) under ``monitoring``, if any."""
    note = getattr(args, "monitoring_note", None)
    return data if note is None else {**data, "monitoring": note}


class _Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM during a rollout of ``apply``: raised by :class:`_Signals`.

    A :class:`KeyboardInterrupt`, so that SIGTERM cuts a rollout short exactly as Ctrl-C
    does (a strategy aborts a deploy cut short by any exception, and nothing that records
    a deployer call's ``Exception`` takes it for a failed call). ``started`` is False when
    the signal came before the rollout began: nothing was started then.
    """

    def __init__(self, signum: int, *, started: bool = True) -> None:
        super().__init__(_signal_name(signum))
        self.signum = signum
        self.started = started


# Named after the signal: a strategy records a deploy cut short as "interrupted: <the
# exception's class name>", so its record says which signal it was.
class SIGINT(_Interrupted):
    """Ctrl-C (SIGINT) during a rollout of ``apply``."""


class SIGTERM(_Interrupted):
    """SIGTERM during a rollout of ``apply``."""


class ForEnded(_Interrupted):
    """``--for`` ended during a rollout of ``apply`` (the SIGALRM it arms for that)."""


def _interrupted(signum: int, *, started: bool = True) -> _Interrupted:
    kinds: dict[int, type[_Interrupted]] = {signal.SIGTERM: SIGTERM, signal.SIGALRM: ForEnded}
    return kinds.get(signum, SIGINT)(signum, started=started)


def _signal_name(signum: int | None) -> str:
    if signum is None:
        return "a signal"
    if signum == signal.SIGALRM:
        return "the end of --for"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _never() -> bool:
    return False


class _Signals:
    """SIGINT and SIGTERM while ``apply`` runs.

    Between rollouts a signal only sets :attr:`stop`, and ``apply`` stops serving at its
    next look (exit 0). While a rollout runs (:meth:`during`: a deploy, or a rollback the
    follower does), it raises :class:`_Interrupted` in it, so the rollout is cut short at
    once (a canary's pause, a wait for readiness) and its strategy aborts it, leaving the
    previous version serving; it used to run on to the end, and a canary was promoted
    minutes after the Ctrl-C. A second signal during that abort cuts the abort short too.

    While ``apply`` stops (:meth:`closing`: the deployer drains and stops its servers),
    the first signal that comes raises :class:`_Interrupted` there, which the deployer's
    ``close()`` takes as a Ctrl-C: every server is killed at once. It used to be noted
    and ignored, and a second Ctrl-C waited out the drain and the servers' grace.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.first: int | None = None
        self.rolling_out = False
        # Whether the rollout running is aborting, for failing on its own (see deadline):
        # its strategy says so while the abort runs, and `aborted` once it is recorded.
        self._aborting: Callable[[], bool] = _never
        self._aborted = False
        self._closing = False  # apply is stopping: the next signal cuts that short, once
        self._closing_cut = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.first is None:
            self.first = signum
        self.stop.set()
        if self.rolling_out:
            raise _interrupted(signum)
        if self._closing and not self._closing_cut:
            self._closing_cut = True
            raise _interrupted(signum)

    def deadline(self, signum: int, frame: FrameType | None) -> None:
        """``--for`` ended (:func:`_for_deadline`): what a first SIGTERM does, cutting a
        rollout short (exit 1) or stopping ``apply`` between rollouts (exit 0). After a
        signal, or once ``apply`` stops, it does nothing: it never cuts an abort or a
        stop short, as a second signal does. During a rollout that is aborting for a
        failure of its own (a progress deadline; its abort drains the new slot) it only
        sets :attr:`stop`: the abort runs to its end, and ``apply`` stops at its next
        look, as between rollouts; cut short, the rollout was aborted a second time, as
        interrupted, and the alias left on the version that failed."""
        if self.stop.is_set() or self._closing:
            return
        if self.rolling_out and (self._aborted or self._aborting()):
            self.first = signum
            self.stop.set()
            return
        self.handle(signum, frame)

    def aborted(self) -> None:
        """The rollout running was recorded aborted (see :meth:`deadline`)."""
        self._aborted = True

    def closing(self, close: Callable[[], None]) -> None:
        """``close()`` (the deployer's), which the next signal cuts short: raised in it,
        once (a third signal is only noted, so the deployer's own clean-up after a
        Ctrl-C, killing every server, runs to its end), and said on stderr."""
        self._closing = True
        try:
            close()
        except _Interrupted as exc:
            print(
                f"modelship deploy: {_signal_name(exc.signum)} while stopping: every server "
                "was killed at once, without waiting for its requests",
                file=sys.stderr,
            )

    def during(self, rollout: Callable[[], _T], *, aborting: Callable[[], bool] = _never) -> _T:
        """``rollout()``, which a signal cuts short (:class:`_Interrupted`, ``started``
        False if the signal came before it began). ``aborting`` says whether its strategy
        is aborting it (see :meth:`deadline`)."""
        self._aborted = False  # before rolling_out: no deadline reads them until then
        self._aborting = aborting
        try:
            self.rolling_out = True  # set inside the try: it is always unset again
            if self.stop.is_set():
                raise _interrupted(self.first or signal.SIGINT, started=False)
            return rollout()
        finally:
            self.rolling_out = False
            self._aborting = _never


def _cut_short(  # noqa: PLR0913 - what the message says, each needed
    dep: LocalDeployer,
    signals: _Signals,
    model: str,
    version: str,
    *,
    completed: bool,
    what: str = "rollout",
    last: tuple[RolloutRecord, bool] | None = None,
) -> int:
    """Say what a signal during the ``what`` of ``model`` ``version`` left serving; the
    exit code: 1, unless the rollout had ``completed`` (succeeded, or rolled back for a
    rollback: the signal came as it ended), 0.

    Whether it completed is the rollout's status, never read from what serves: a first
    rollout cut short after its switch is aborted with its version still serving all the
    traffic (there is nothing to send it back to), and the alias was not moved to it.
    ``last`` is the rollout's record as last saved and whether that save stored it (see
    :meth:`_Witness.last`): what is said of a deploy cut short is what it says (aborted,
    its abort cut short by a second signal, or still in progress), not assumed.
    """
    name = _signal_name(signals.first)
    try:
        now = dep.state().serving()
    except Exception:  # only said; apply stops either way
        now = None
    if completed:
        print(
            f"modelship deploy: {name} came as the {what} of {model} {version} ended: "
            "it serves; stopping",
            file=sys.stderr,
        )
        return EXIT_OK
    where = f"{now.version} was serving" if now is not None else "nothing ready was serving"
    # A deploy cut short is aborted by its strategy; a rollback's switch back just stops.
    outcome, recorded = "it did not complete", "`modelship deploy history` has its record"
    if what == "rollout":
        outcome, recorded = _abort_outcome(last)
    print(
        f"modelship deploy: {name} cut the {what} of {model} {version} short: {outcome} "
        f"({where}); stopping. {recorded}",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _abort_outcome(last: tuple[RolloutRecord, bool] | None) -> tuple[str, str]:
    """What became of a deploy a signal cut short, as its record says (``last``: see
    :func:`_cut_short`), and where that is recorded."""
    history = "`modelship deploy history` has its record"
    if last is None:
        return "it was aborted", history
    record, stored = last
    if record.status is RolloutStatus.IN_PROGRESS:
        outcome = (
            f"its abort was cut short (by a second signal) before it was recorded, so the "
            f"record of rollout {record.id} still says in_progress; traffic and slots are as "
            "the abort left them: check `modelship deploy status`, and deploy again or move "
            "the alias with `modelship registry alias`"
        )
    elif record.status is not RolloutStatus.ABORTED:
        outcome = f"rollout {record.id} is recorded {record.status.value}"
    else:
        ended = [e for e in record.events if e.kind is EventKind.ABORTED]
        said = ended[-1].message if ended else ""
        outcome = (
            f"it was aborted, but {ABORT_CUT_SHORT}{said.split(ABORT_CUT_SHORT, 1)[1]}"
            if ABORT_CUT_SHORT in said
            else "it was aborted"
        )
    if not stored:
        history = (
            f"its last record could not be saved (see the warnings above): `modelship deploy "
            f"history` may still show rollout {record.id} as it was before"
        )
    return outcome, history


#: The longest timer ``setitimer`` takes here (it refuses 1e10 s: OverflowError); 1e9 s is
#: 31 years, so a longer ``--for`` is one that does not end.
_LONGEST_DEADLINE = 1e9


@contextlib.contextmanager
def _for_deadline(seconds: float | None, signals: _Signals) -> Iterator[None]:
    """Within it, ``seconds`` after it was entered, ``--for`` ends as a SIGTERM would
    (:meth:`_Signals.deadline`): a SIGALRM, so that it reaches the rollout the main thread
    runs (a canary's pause, a wait for readiness) as a signal does; a timer thread could
    only set :attr:`_Signals.stop`, which no rollout reads. None: no deadline; 0: none
    either, ``apply`` deploys, looks at the alias once (see :func:`_follow`) and stops.

    The SIGALRM handler and the timer that were set before (a test runner's timeout) are
    set again on leaving, the timer with what was left of it.
    """
    if not seconds:
        yield
        return
    entered = time.monotonic()
    handler = signal.signal(signal.SIGALRM, signals.deadline)
    delay, interval = signal.setitimer(signal.ITIMER_REAL, min(seconds, _LONGEST_DEADLINE))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
        if delay > 0:  # at least a microsecond: 0 would disarm it, not make it due
            left = max(delay - (time.monotonic() - entered), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, left, interval)


def _cmd_apply(args: argparse.Namespace) -> int:
    reopen_closed_stdio()  # before any file or socket (the router's) takes 0, 1 or 2
    args = _apply_options(args)
    reg = open_cli_registry(args.registry, key_env=args.signing_key_env)
    version = reg.get(args.model, args.ref).version
    # Read once: each version apply deploys, following the alias, runs with the file as
    # it was when apply started (not as a later edit, or a half-written save, has it).
    file = SpecFile.read(args.spec) if args.spec is not None else None
    spec = _spec(args, version, file)
    if args.dry_run:
        return _print_manifests(args, version, spec)
    if threading.current_thread() is not threading.main_thread():
        # Python sets signal handlers in the main thread only (ValueError elsewhere).
        raise ConfigError(
            "deploy apply must run in the main thread: it handles SIGINT and SIGTERM, and "
            "--for ends it with a SIGALRM, and Python lets only the main thread handle "
            "signals; call modelship.cli.main from the main thread, or run `modelship "
            "deploy apply` as a process of its own"
        )
    monitoring = _canary_gate(args, spec)
    try:
        said = monitoring.note if monitoring.note is not None else monitoring.gated
        if said is not None:
            say(f"modelship deploy: {said}")  # a reader gone: apply serves all the same
        args.monitoring_note = monitoring.note
        return _run_apply(args, reg, (file, spec), version, monitoring)
    finally:
        monitoring.close()


def _run_apply(
    args: argparse.Namespace,
    reg: ms.Registry,
    specs: tuple[SpecFile | None, DeploymentSpec],
    version: str,
    monitoring: _Monitoring,
) -> int:
    """``apply`` serving: the signal handlers, ``--for``, the deployer, then :func:`_serve`."""
    signals = _Signals()
    previous = {s: signal.signal(s, signals.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _for_deadline(args.for_seconds, signals):
            dep = LocalDeployer(registry=reg)
            try:
                return _serve(
                    args, reg, specs, version, dep=dep, signals=signals, monitoring=monitoring
                )
            finally:
                # Not a `with`: a signal cutting the stop short must not replace the exit
                # code already decided (a stop between rollouts is 0).
                signals.closing(dep.close)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _serve(  # noqa: PLR0913 - apply's parts, each needed
    args: argparse.Namespace,
    reg: ms.Registry,
    specs: tuple[SpecFile | None, DeploymentSpec],
    version: str,
    *,
    dep: LocalDeployer,
    signals: _Signals,
    monitoring: _Monitoring,
) -> int:
    """Deploy ``version`` on ``dep`` with ``specs`` (the ``--spec`` file read, and its
    spec for ``version``), then follow the alias (see :func:`_follow`); the exit code.

    ``monitoring``: the canary gate and its limits, if any (:func:`_canary_gate`)."""
    file, spec = specs
    # What the deployer would refuse in the spec is refused here, before a rollout is
    # recorded (exit 2 with the reason), not as an aborted rollout (exit 1). A stand-in
    # deployer without the check (a test's double) has nothing to refuse up front.
    check_spec = getattr(dep, "check_spec", None)
    if check_spec is not None:
        check_spec(spec)
    addresses = _SlotAddresses(dep)
    # Each decision of a rollout is saved: a look then says a slot newly ready (a canary
    # under analysis) before the rollout ends.
    history = _Witness(RegistryHistory(reg), on_save=addresses.look, on_aborted=signals.aborted)
    strategy = from_spec(
        dep,
        spec,
        alias=args.alias,
        undo_window=args.undo_window,
        progress_deadline=args.progress_deadline,
        history=history,
        gate=monitoring.gate,
        policy=monitoring.policy,
    )
    try:
        rollout = signals.during(
            lambda: strategy.deploy(args.model, version), aborting=lambda: strategy.aborting
        )
    except RolloutAborted as exc:
        print(f"modelship deploy: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except _Interrupted as exc:
        if not exc.started:
            print(
                f"modelship deploy: {_signal_name(signals.first)} before the rollout "
                f"of {args.model} {version} began: nothing was deployed",
                file=sys.stderr,
            )
            return EXIT_FAILED
        completed = history.succeeded(version)
        return _cut_short(
            dep, signals, args.model, version, completed=completed, last=history.last(version)
        )
    _serving_event(
        _noted(
            args,
            {
                "event": "serving",
                "endpoint": dep.endpoint,
                "rollout": rollout.id,
                "model": args.model,
                "version": rollout.version,
            },
        ),
        addresses,
    )
    return _follow(
        args,
        reg,
        strategy,
        rollout,
        dep=dep,
        signals=signals,
        history=history,
        file=file,
        addresses=addresses,
    )


class _Witness:
    """The deployment history ``apply``'s strategy records its rollouts in (a
    :class:`~modelship.deploy.DeploymentHistory` over ``history``), noting the status each
    rollout was last saved with, whether the save succeeded or not.

    After a signal cut a deploy short, the strategy raises the signal's exception, not
    the rollout: whether that rollout succeeded is read here (:meth:`succeeded`), as the
    rollout itself said it, not guessed from what serves.
    """

    def __init__(
        self,
        history: DeploymentHistory,
        *,
        on_save: Callable[[], object] | None = None,
        on_aborted: Callable[[], object] | None = None,
    ) -> None:
        self._history = history
        # Called when a record saved says its rollout aborted, before it is saved.
        self._on_aborted = on_aborted
        # Called after each save, whether the save succeeds or not; informational: what it
        # raises is not the rollout's failure, and never stops a save.
        self._on_save = on_save
        # Rollout id -> (version, status), since the last look: in the order the rollouts
        # were first saved, so the last one of a version is the one begun last.
        self._statuses: dict[str, tuple[str, RolloutStatus]] = {}
        # Rollout id -> its record as last saved, and whether that save stored it.
        self._last: dict[str, tuple[RolloutRecord, bool]] = {}

    def save(self, record: RolloutRecord) -> None:
        """Note ``record``'s status (calling ``on_aborted`` if it aborted), save it, then
        call ``on_save``.

        The record is saved first: a failure of ``on_save`` (it says slot addresses on
        stderr, whose reader may have gone) never leaves a rollout unrecorded, and is
        not raised.
        """
        self._statuses[record.id] = (record.version, record.status)
        self._last[record.id] = (record, False)
        if record.status is RolloutStatus.ABORTED and self._on_aborted is not None:
            self._on_aborted()
        try:
            self._history.save(record)
            self._last[record.id] = (record, True)
        finally:
            self._look()

    def _look(self) -> None:
        if self._on_save is None:
            return
        try:
            self._on_save()
        except Exception:  # informational: the rollout and its record do not depend on it
            _log.warning("saying the slots' addresses failed", exc_info=True)

    def records(self, model: str) -> list[RolloutRecord]:
        """The history's records of ``model``."""
        return self._history.records(model)

    def forget(self) -> None:
        """Forget the statuses noted: called before each deploy :meth:`succeeded` asks about."""
        self._statuses.clear()
        self._last.clear()

    def last(self, version: str) -> tuple[RolloutRecord, bool] | None:
        """The record of the last rollout of ``version`` saved since :meth:`forget`, as it
        was last saved, and whether that save stored it; None if none was saved."""
        found = [kept for kept in self._last.values() if kept[0].version == version]
        return found[-1] if found else None

    def succeeded(self, version: str) -> bool:
        """Whether the last rollout of ``version`` saved since :meth:`forget` succeeded."""
        statuses = [status for v, status in self._statuses.values() if v == version]
        return bool(statuses) and statuses[-1] is RolloutStatus.SUCCEEDED


#: While the registry keeps failing, one line a minute says so (with the count), not one a
#: poll: ``apply`` is a server that runs for days, and a store down for an hour would
#: otherwise print 3,600 lines at the default ``--poll`` of 1 s.
_FAILURE_REPORT_SECONDS = 60.0


class _RegistryFailures:
    """Failed polls of the registry while ``apply`` follows the alias, reported on stderr.

    The first failure of a run is reported at once, then one line a minute while they go
    on, and one line when the registry answers again.
    """

    def __init__(self, poll: float) -> None:
        self._poll = poll
        self._in_a_row = 0
        self._reported_at: float | None = None

    def failed(self, what: str, exc: BaseException, serving: str) -> None:
        self._in_a_row += 1
        now = time.monotonic()
        if self._reported_at is not None and now - self._reported_at < _FAILURE_REPORT_SECONDS:
            return
        self._reported_at = now
        count = f" ({self._in_a_row} times in a row)" if self._in_a_row > 1 else ""
        print(
            f"modelship deploy: {what} failed{count}: {type(exc).__name__}: {exc}; "
            f"{serving} keeps serving, trying again every {self._poll:g} s",
            file=sys.stderr,
        )

    def answered(self) -> None:
        if self._in_a_row:
            failures = "1 failure" if self._in_a_row == 1 else f"{self._in_a_row} failures"
            print(f"modelship deploy: the registry answers again after {failures}", file=sys.stderr)
        self._in_a_row = 0
        self._reported_at = None


class _AliasFollower:
    """What ``apply`` knows of the alias it follows, and one poll of it.

    A poll that cannot read the registry (or move the alias back) changes nothing: the
    version serving keeps serving, and the next poll tries again. Every registry call of
    a poll is in one ``try``, so a store that is down costs one failed call per poll.
    """

    def __init__(  # noqa: PLR0913 - the parts of apply a poll uses, each needed
        self,
        args: argparse.Namespace,
        reg: ms.Registry,
        strategy: BlueGreen | Canary | Recreate,
        rollout: Rollout,
        *,
        dep: LocalDeployer,
        signals: _Signals,
        history: _Witness,
        file: SpecFile | None,
        addresses: _SlotAddresses,
    ) -> None:
        self._args = args
        self._addresses = addresses
        self._file = file
        self._reg = reg
        self._strategy = strategy
        self._rollout = rollout
        self._dep = dep
        self._signals = signals
        self._history = history
        # How apply rolls out, from its first spec: a spec read for a later version must
        # not change it (see _spec_for).
        self._how = (strategy.spec.strategy, strategy.spec.steps) if strategy.spec else None
        self._serving = rollout.version
        # What the alias named when this process last acted: only a *move* is followed. It
        # starts as the version serving: the rollout moved the alias to it (a rollout whose
        # alias cannot be moved aborts, and apply exits then), so a first read naming
        # another version is a move made since the promotion, and it is followed. A first
        # read that fails is a failed read like any other: the next poll compares again.
        self._seen: str | None = rollout.version
        # A version whose rollout aborted and which the alias still names: the alias is
        # moved back from it to the version serving, again at each poll until it is.
        self._undo: str | None = None
        self._failures = _RegistryFailures(args.poll)

    @property
    def rollout(self) -> Rollout:
        """The rollout of the version serving."""
        return self._rollout

    def poll(self) -> int | None:
        """One look at the alias, and the rollout it asks for; None, or the exit code when
        a signal cut that rollout short (``apply`` stops then)."""
        args = self._args
        try:
            wanted = self._reg.aliases(args.model).get(args.alias)
        except (OSError, ModelshipError) as exc:
            self._failed(exc, moving_back=False)
            return None
        if self._undo is not None and wanted == self._undo:
            try:
                self._move_back()
            except (OSError, ModelshipError) as exc:
                self._failed(exc, moving_back=True)
                return None
            self._failures.answered()
            return None
        # Someone moved the alias since a move back first failed: theirs is followed
        # (the alias is read first, so a move back that keeps failing never stops the
        # following).
        self._undo = None
        self._failures.answered()
        if wanted is not None and wanted != self._seen:
            self._seen = wanted
            if wanted != self._serving:
                return self._go_to(wanted)
        return None

    def _go_to(self, wanted: str) -> int | None:
        args, rollout = self._args, self._rollout
        # One traffic switch back while the undo window is open. Once it has closed, the
        # version the alias names is deployed as any other: a rollback would only
        # redeploy it too, and after a rollback made past the window the rollout serving
        # has the version rolled back as its previous one, which rollback() refuses
        # (RollbackUnavailable): an explicit move back to it was undone.
        switching_back = (
            wanted == rollout.previous_version
            and rollout.status is RolloutStatus.SUCCEEDED
            and rollout.undo_window_open
        )
        what = "rollback" if switching_back else "rollout"

        def roll() -> Rollout:
            nonlocal what
            if switching_back:
                try:
                    return rollout.rollback()
                except RollbackUnavailable as exc:
                    print(
                        f"modelship deploy: {exc}; deploying {args.model} {wanted}, which the "
                        f"alias {args.alias} names",
                        file=sys.stderr,
                    )
                    what = "rollout"
            self._history.forget()
            return self._strategy.deploy(args.model, wanted)

        try:
            # A deploy (the rollback's redeploy too) runs with the spec of the version it
            # deploys: ${VERSION} is filled in again for each.
            self._strategy.spec = self._spec_for(wanted)
            strategy = self._strategy
            rollout = self._signals.during(roll, aborting=lambda: strategy.aborting)
        except _Interrupted as exc:
            # Stopped: the alias is left as it is (a stop is no verdict on that version;
            # the next `apply @alias` deploys it). Before the rollout began, nothing was
            # cut short: a stop between rollouts.
            if not exc.started:
                return EXIT_OK
            completed = (
                self._rollout.status is RolloutStatus.ROLLED_BACK
                if what == "rollback"
                else self._history.succeeded(wanted)
            )
            return _cut_short(
                self._dep,
                self._signals,
                args.model,
                wanted,
                completed=completed,
                what=what,
                last=self._history.last(wanted),
            )
        except RolloutAborted as exc:
            print(f"modelship deploy: {exc}", file=sys.stderr)
            self._give_up(wanted)
            return None
        except (OSError, ModelshipError) as exc:
            # Cut short (a registry read that failed, say): a strategy aborts a rollout cut
            # short as it would a failure, so the previous version serves, and stopping the
            # process would stop it too.
            said = for_the_command_line(exc, args.registry, args.model)
            print(
                f"modelship deploy: following the alias {args.alias} to {wanted} failed: "
                f"{type(said).__name__}: {said}; {self._serving} keeps serving",
                file=sys.stderr,
            )
            self._give_up(wanted)
            return None
        self._rollout, self._serving = rollout, wanted
        _serving_event(
            _noted(
                args,
                {"event": "serving", "rollout": rollout.id, "model": args.model, "version": wanted},
            ),
            self._addresses,
        )
        return None

    def _spec_for(self, version: str) -> DeploymentSpec:
        """The spec ``version`` is deployed with: the ``--spec`` file, as read when
        ``apply`` started, with ``${VERSION}`` set to it (its notes on ``--strategy`` were
        said then).

        Raises :class:`~modelship.ConfigError` if that is no spec for ``version`` (a
        value ``${VERSION}`` makes invalid), or if it names another strategy or other
        canary steps than ``apply`` started with: the strategy rolling out is built once.
        """
        spec = _spec(self._args, version, self._file, notes=False)
        if self._how is not None and (spec.strategy, spec.steps) != self._how:
            strategy, steps = self._how
            raise ConfigError(
                f"{self._args.spec}: for {self._args.model} {version} the spec names strategy "
                f"{spec.strategy.value} with canary steps {list(spec.steps)}, but apply rolls "
                f"out with {strategy.value} and {list(steps)}, read when it started; restart "
                "apply to change how it rolls out"
            )
        return spec

    def _give_up(self, wanted: str) -> None:
        """Not retried until the alias moves again; the alias is moved back to the version
        serving, so the registry keeps telling which version serves."""
        self._undo = wanted
        try:
            self._move_back()
        except (OSError, ModelshipError) as exc:
            self._failed(exc, moving_back=True)

    def _failed(self, exc: BaseException, *, moving_back: bool) -> None:
        alias = f"the alias {self._args.alias} of {self._args.model}"
        what = f"moving {alias} back" if moving_back else f"reading {alias}"
        self._failures.failed(what, exc, self._serving)

    def _move_back(self) -> None:
        args = self._args
        try:
            self._reg.set_alias(args.model, args.alias, self._serving, expected=self._undo)
        except Conflict:  # someone moved it again: follow that next
            self._undo = None
            return
        self._seen, self._undo = self._serving, None


class _UndoWindow:
    """Closes the undo window of the rollout serving once it is due (:meth:`Rollout.finish`).

    ``--undo-window`` is how long the previous version's server stays at full size, so a
    rollback is one switch; after it, that server is stopped (it used to run until the
    next deploy, two model servers for good) and a rollback redeploys the version.
    """

    def __init__(self) -> None:
        self._closed: Rollout | None = None
        self._reported: Rollout | None = None

    def close_if_due(self, rollout: Rollout) -> None:
        if (
            rollout is self._closed
            or rollout.status is not RolloutStatus.SUCCEEDED
            or rollout.undo_until is None
            or rollout.previous_version is None
            or rollout.undo_window_open
        ):
            return
        try:
            rollout.finish()
        except (OSError, ModelshipError) as exc:
            if self._reported is not rollout:  # said once; tried again at each poll
                self._reported = rollout
                print(
                    f"modelship deploy: closing the undo window of {rollout.model} "
                    f"{rollout.version} failed: {type(exc).__name__}: {exc}; trying again",
                    file=sys.stderr,
                )
            return
        self._closed = rollout
        print(
            f"modelship deploy: the undo window of {rollout.model} {rollout.version} closed: "
            f"{rollout.previous_version} in {rollout.previous_slot} is stopped, and a "
            "rollback now redeploys it",
            file=sys.stderr,
        )


def _follow(  # noqa: PLR0913 - apply's parts, each needed
    args: argparse.Namespace,
    reg: ms.Registry,
    strategy: BlueGreen | Canary | Recreate,
    rollout: Rollout,
    *,
    dep: LocalDeployer,
    signals: _Signals,
    history: _Witness,
    file: SpecFile | None,
    addresses: _SlotAddresses,
) -> int:
    """Serve until a signal or the end of ``--for`` (:func:`_for_deadline`: counted from
    the start of ``apply``, the first deploy included), following the registry alias.

    A version whose rollout aborts is not retried until the alias moves again; the
    alias is moved back to the version still serving, so the registry keeps telling
    which version serves. A registry that fails never stops the service: each failed
    poll is reported (see :class:`_RegistryFailures`) and the next one tries again, so
    the retries are one per ``--poll`` seconds, until ``--for`` or a signal ends it.
    The undo window of the rollout serving is closed at the first look after its end.
    A signal (or the end of ``--for``) between rollouts ends the loop (exit 0); one during
    a rollout cuts it short (see :class:`_Signals`), and its exit code is returned. Each
    look also says a slot whose server changed or stopped (see :class:`_SlotAddresses`).
    """
    follower = (
        _AliasFollower(
            args,
            reg,
            strategy,
            rollout,
            dep=dep,
            signals=signals,
            history=history,
            file=file,
            addresses=addresses,
        )
        if args.alias is not None
        else None
    )
    window = _UndoWindow()
    # Bounded by a signal, or by --for, whose end sets stop (see _for_deadline); --for 0
    # is one look.
    for n in range(10**9):
        if n > 0 and (args.for_seconds == 0 or signals.stop.wait(args.poll)):
            break
        if follower is not None:
            code = follower.poll()
            if code is not None:
                return code
            rollout = follower.rollout
        if signals.stop.is_set():
            break
        window.close_if_due(rollout)
        addresses.look()
    return EXIT_OK


def _records(args: argparse.Namespace) -> list[RolloutRecord]:
    return RegistryHistory(open_cli_registry(args.registry, key_env=args.signing_key_env)).records(
        args.model
    )


def _cmd_history(args: argparse.Namespace) -> int:
    records = _records(args)
    _print_json([r.to_dict() if args.events else _summary(r) for r in records])
    return EXIT_OK


def _summary(record: RolloutRecord) -> dict[str, Any]:
    last = record.events[-1].message if record.events else ""
    summary = {
        "id": record.id,
        "version": record.version,
        "strategy": record.strategy,
        "status": record.status.value,
        "previous_version": record.previous_version,
        "started_at": record.started_at.isoformat(),
        "last": last,
    }
    if record.status is RolloutStatus.IN_PROGRESS:
        summary["process"] = _process_of(record)
    return summary


def _process_of(record: RolloutRecord) -> str:
    """Whether the process running an in-progress rollout still runs: ``"running"``,
    ``"gone"`` (killed: SIGKILL, a lost machine; nothing of it runs, and the record stays
    in progress for ever) or ``"unknown"`` (another host, another machine with this host
    name, or a record that does not say: see :func:`~modelship.deploy._lock.runner_gone`)."""
    started = [e for e in record.events if e.kind is EventKind.STARTED]
    gone = runner_gone(started[0].data.get("runner")) if started else None
    return "unknown" if gone is None else "gone" if gone else "running"


def _cmd_status(args: argparse.Namespace) -> int:
    reg = open_cli_registry(args.registry, key_env=args.signing_key_env)
    # The last rollout of this alias (or of a record that does not say which alias it
    # moved, written before rollouts recorded it), as `rollback` reads them: on a
    # registry shared with staging, staging's rollout says nothing of production's.
    records = [
        r
        for r in RegistryHistory(reg).records(args.model)
        if same_alias(r, args.alias) is not False
    ]
    _print_json(
        {
            "model": args.model,
            "alias": args.alias,
            "version": reg.aliases(args.model).get(args.alias),
            "last_rollout": _summary(records[-1]) if records else None,
        }
    )
    return EXIT_OK


def _abandoned(records: Sequence[RolloutRecord], model: str, version: str, alias: str) -> str:
    """What to add to "nothing to roll back to" when the last rollout of ``version`` is
    recorded in progress: its process is gone (killed: it never finished), or this host
    cannot tell whether it runs (another host).

    Raises :class:`RolloutInProgress` when that process still runs: the rollout is under
    way (a canary in its pause), and there is no succeeded rollout to roll back *yet*; the
    refusal names its runner and what to do, and is an error (exit 2), not "nothing to
    roll back" (exit 1), which a CI step reads as a settled state.
    """
    mine = [r for r in records if r.version == version and same_alias(r, alias) is not False]
    if not mine or mine[-1].status is not RolloutStatus.IN_PROGRESS:
        return ""
    last = mine[-1]
    process = _process_of(last)
    before = last.previous_version
    by_hand = (
        f"`modelship registry alias REGISTRY {model} {alias} {before}`"
        if before is not None
        else None
    )
    if process == "running":
        undo = (
            f"; or move the alias back now with {by_hand}: that rollout then aborts when it "
            "comes to move the alias (it finds it moved: a Conflict), or, had it promoted "
            f"already, the `deploy apply` following the alias rolls it back; {before} serves"
            if by_hand is not None
            else ""
        )
        raise RolloutInProgress(
            f"the alias {alias} of {model} names {version}, whose rollout {last.id} is still "
            f"running ({_runner_said(last)}), so there is no succeeded rollout of it to roll "
            f"back yet; nothing moved. Stop that job (SIGTERM or Ctrl-C: it aborts the rollout "
            f"and the previous version keeps serving){undo}"
        )
    if process == "gone":
        move = (
            f"; move the alias yourself ({by_hand}) or deploy again"
            if by_hand is not None
            else "; deploy again"
        )
        return (
            f" (its last rollout, {last.id}, is recorded in progress, but the process that "
            f"ran it is gone: it was killed before it finished{move})"
        )
    move = f": if it runs, stop it or move the alias with {by_hand}" if by_hand else ""
    return (
        f" (its last rollout, {last.id}, is recorded in progress, by {_runner_said(last)}, "
        f"which this host cannot tell is still running{move})"
    )


def _runner_said(record: RolloutRecord) -> str:
    """Who runs ``record``'s rollout, as its ``started`` event names it: ``pid P on HOST
    since T`` (as much of it as the record holds)."""
    started = [e for e in record.events if e.kind is EventKind.STARTED]
    recorded = started[0].data.get("runner") if started else None
    since = record.started_at.isoformat(timespec="seconds")
    if not isinstance(recorded, dict):
        return f"a process not recorded, since {since}"
    pid, host = recorded.get("pid"), recorded.get("host")
    shown = printable(host[:80]) if isinstance(host, str) else "an unknown host"
    return f"pid {pid if type(pid) is int else '?'} on {shown}, since {since}"


def roll_alias_back(
    registry: str, model: str, alias: str, *, key_env: str = SIGNING_KEY_ENV
) -> dict[str, Any] | str:
    """Move ``alias`` of ``model`` back to the version its last succeeded rollout replaced.

    What ``modelship deploy rollback`` does: it rolls back whatever the alias names now.
    The move is a compare-and-swap from the version read here, so an alias another job
    moved between that read and the move is left alone (:class:`~modelship.Conflict`);
    one another rollback moved to the same version meanwhile is a success that moved and
    recorded nothing (``already`` in the JSON says so, without ``from``).
    (``monitor watch --registry`` moves back only from the version it watched, read when
    the watch started.)

    The rollback is recorded as :meth:`Rollout.rollback() <modelship.deploy.Rollout.
    rollback>` records its own: the alias's succeeded rollouts of the version moved away
    from (the one that put it there and any later one, such as a spec change) are saved
    as rolled back, with a ``rollback`` and an ``alias`` event. So that version is
    condemned for this alias (see :func:`~modelship.deploy._rollout.condemning_rollout`)
    until a rollout of it succeeds again: a second rollback does not move the alias back
    onto it. If that record cannot be saved, the alias has still moved (service first)
    and the move's JSON says why under ``not_recorded``.

    Returns the move as JSON data (``model``, ``alias``, ``from``, ``to``, ``rollout``), or
    the reason there is nothing to roll back to. Raises a
    :class:`~modelship.ModelshipError` when the registry refuses (an
    :class:`~modelship.InvalidName` for an alias no alias can be named).

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://roll-alias-back-doc")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> print(roll_alias_back("memory://roll-alias-back-doc", "fraud", "production"))
    the alias production of fraud names no version; nothing to roll back
    """
    alias = check_alias(alias)
    reg = open_cli_registry(registry, key_env=key_env)
    current = reg.aliases(model).get(alias)
    if current is None:
        return f"the alias {alias} of {model} names no version; nothing to roll back"
    records = RegistryHistory(reg).records(model)
    # Another environment's rollout of the same version (staging's, on a registry shared
    # with production) says nothing of what this alias served before: only rollouts of
    # this alias, or records that do not say which alias they moved (written before
    # rollouts recorded it), are read.
    last = moved_from_another(
        [
            r
            for r in records
            if r.status is RolloutStatus.SUCCEEDED
            and r.version == current
            and same_alias(r, alias) is not False
        ]
    )
    if last is None:
        return (
            f"no succeeded rollout of {model} {current} with a previous version is "
            "recorded; nothing to roll back to" + _abandoned(records, model, current, alias)
        )
    target = last.previous_version
    assert target is not None
    assert target != current
    # A rollback after the undo window redeploys the previous version as a new rollout,
    # whose previous version is the one just rolled back: never move back onto it. Only
    # this alias's rollbacks count: another environment's must not block this one's.
    condemned = condemning_rollout(records, target, alias=alias)
    if condemned is not None:
        return (
            f"{model} {target}, where the alias {alias} would go back to, was rolled back "
            f"by rollout {condemned.id} and has not been deployed successfully since; "
            f"nothing moved: point the alias at a good version with `modelship registry "
            f"alias` (the alias names {current})"
        )
    unproven = unproven_move_back(reg, model, alias, last)
    if unproven is not None:
        return unproven
    if reg.set_alias(model, alias, target, expected=current) == target:
        # Another rollback moved it there between the read and the move: nothing moved
        # here, and the rollback is that one's to record (recording it again would credit
        # this command).
        return {
            "model": model,
            "alias": alias,
            "to": target,
            "rollout": last.id,
            "already": (
                f"the alias {alias} named {target} already: another rollback moved it there "
                "meanwhile; nothing moved or recorded"
            ),
        }
    moved: dict[str, Any] = {
        "model": model,
        "alias": alias,
        "from": current,
        "to": target,
        "rollout": last.id,
    }
    not_recorded = record_alias_rollback(
        reg, records, last, alias=alias, by="`modelship deploy rollback`"
    )
    if not_recorded is not None:
        moved["not_recorded"] = not_recorded
    return moved


def unproven_move_back(
    reg: ms.Registry, model: str, alias: str, rollout: RolloutRecord
) -> str | None:
    """Why moving ``alias`` back from ``rollout``'s version to its previous version is not
    proven by the alias's own history, in a signed registry; None if it is (or the
    registry is not signed).

    Rollout records are not signed: a writer without the key can store one saying any
    version came before. A signed registry's alias history is, so there a move back is
    made only to a version the alias named before its latest move to the version it
    names now (the ``from_version`` of an :class:`AliasMove` up to that move). The alias
    may have passed through several versions (``registry alias`` twice before a deploy
    followed it), been removed between, or come back by an earlier rollback; a forged
    record can only name a version the key holders once put the alias on, never another.
    """
    if signing_key_of(reg) is None:
        return None
    back, on = rollout.previous_version, rollout.version
    moves = [m for m in reg.history(model) if m.alias == alias]
    into = [i for i, m in enumerate(moves) if m.to_version == on]
    if into and any(m.from_version == back for m in moves[: into[-1] + 1]):
        return None
    return (
        f"the rollout record {rollout.id} says the alias {alias} of {model} served {back} "
        f"before {on}, but the alias's signed history does not show it naming {back} "
        f"before it came to {on}; rollout records are not signed, so in a signed registry the "
        "alias is moved back only along its signed history, and nothing moved. If "
        f"{back} is the version to serve, move the alias yourself: `modelship registry "
        f"alias URL {model} {alias} {back} --expected {on}`"
    )


def record_alias_rollback(
    reg: ms.Registry,
    records: Sequence[RolloutRecord],
    undone: RolloutRecord,
    *,
    alias: str,
    by: str,
) -> str | None:
    """Record that ``alias`` was moved back from ``undone``'s version to its previous one
    (by the command ``by``), as :meth:`Rollout.rollback() <modelship.deploy.Rollout.rollback>`
    records a rollback: ``undone`` and every later succeeded rollout of its version for
    that alias in ``records`` (the model's history, oldest first) are saved as rolled back.

    Only then is the version condemned for the alias (see
    :func:`~modelship.deploy._rollout.condemning_rollout`) until a rollout of it succeeds
    again. Called after the alias moved: the answer is None, or why the history could not
    be saved (the alias has moved all the same; service comes first).
    """
    to = undone.previous_version
    assert to is not None  # the callers moved the alias to it
    ids = [r.id for r in records]
    if undone.id not in ids:
        return (
            f"the rollback was not recorded in the deployment history: its rollout "
            f"{undone.id} is no longer there; a later rollback may move the alias back onto "
            f"{undone.version}"
        )
    # From the rollout undone on: a later succeeded rollout of the same version (a spec
    # change) left as succeeded would clear the condemnation (condemning_rollout reads the
    # latest rollout of the version).
    marked = [
        r
        for r in records[ids.index(undone.id) :]
        if r.status is RolloutStatus.SUCCEEDED
        and r.version == undone.version
        # Only a record that says it moved this alias: one that does not say (written
        # before rollouts recorded their alias) may be another alias's, and marking it
        # would block that alias's own rollback (staging's rollback condemned
        # production's version). Such old records are left as they are.
        and same_alias(r, alias) is True
    ]
    try:
        for record in marked:  # bounded: the alias's rollouts of one version
            RegistryHistory(reg).save(_rolled_back(record, alias=alias, to=to, by=by))
    except (OSError, ModelshipError) as exc:
        return (
            f"the rollback was not recorded in the deployment history ({type(exc).__name__}: "
            f"{exc}): a later rollback may move the alias back onto {undone.version}"
        )
    return None


def _rolled_back(record: RolloutRecord, *, alias: str, to: str, by: str) -> RolloutRecord:
    """``record`` as :meth:`Rollout.rollback` leaves a rollout it undoes: rolled back, its
    undo window closed, with the rollback and the alias move as its last events.

    The ``alias`` event names the alias even in a record written before rollouts recorded
    it in their ``started`` event: else that record would condemn nothing for the alias
    (see :func:`~modelship.deploy._rollout.same_alias`).
    """
    now = datetime.now(timezone.utc)
    how = f"by {by}"
    return attrs.evolve(
        record,
        status=RolloutStatus.ROLLED_BACK,
        undo_until=None if record.undo_until is None else min(record.undo_until, now),
        events=(
            *record.events,
            RolloutEvent(
                now,
                EventKind.ROLLBACK,
                f"rolled back to {to} {how} (the alias moved; slots were left as they were)",
                {"version": to},
            ),
            RolloutEvent(
                now,
                EventKind.ALIAS,
                f"alias {alias!r} moved back to {to} {how}",
                {"alias": alias, "to": to, "expected": record.version},
            ),
        ),
    )


def _cmd_rollback(args: argparse.Namespace) -> int:
    moved = roll_alias_back(args.registry, args.model, args.alias, key_env=args.signing_key_env)
    if isinstance(moved, str):
        print(f"modelship deploy: {moved}", file=sys.stderr)
        return EXIT_FAILED
    for note in ("already", "not_recorded"):
        if note in moved:
            print(f"modelship deploy: {moved[note]}", file=sys.stderr)
    _print_json(moved)
    return EXIT_OK


def _dry_run_slot(dep: Deployer, model: str) -> str:
    """The slot a blue-green deploy of ``model`` would write now: the idle one (blue for a
    first deploy), chosen by :meth:`BlueGreen.idle_slot`; over a traffic split, a
    ConfigError asking for ``--slot``."""
    try:
        return BlueGreen(dep).idle_slot(model)
    except DeployError as exc:
        # Traffic split between the slots (a canary left behind): which one is stable
        # takes the alias a deploy moves, which a dry run does not.
        raise ConfigError(
            f"cannot tell which slot a deploy would write ({exc}); give --slot"
        ) from None


def _print_manifests(args: argparse.Namespace, version: str, spec: DeploymentSpec | None) -> int:
    """``apply --dry-run[=client|server]``: the objects a Kubernetes deployment applies.

    ``client``: :func:`modelship.deploy.kubernetes.render`'s, no cluster needed;
    ``server``: sent with ``dryRun=All`` through the kubeconfig (or in-cluster account),
    printed as the API server would store them; nothing is persisted. A relative
    registry path is refused (ConfigError): the pods are given it to serve from.
    """
    from modelship.deploy.kubernetes import KubernetesDeployer, dry_run

    url = urlsplit(args.registry)
    # A file URL names a path (file:/abs, file:///abs); so does text with no "://" (a
    # path may hold a colon); any other URL is for the pods to reach.
    local = url.scheme in ("file", "local") or "://" not in args.registry
    path = url.path if url.scheme in ("file", "local") else args.registry
    # file://reg/x is read as the relative path reg/x (the first part is no host here);
    # file://localhost/abs is /abs (RFC 8089), as the registry reads it.
    if local and (url.netloc.lower() not in ("", "localhost") or not Path(path).is_absolute()):
        # The pods are given the registry to serve from: a path relative to this
        # process's directory means nothing there (an absolute one may be a volume).
        raise ConfigError(
            f"registry {args.registry!r} is a relative path, which the pods cannot read: "
            "for the Kubernetes manifests give the absolute path where it is mounted in "
            "the pods, or a URL they can reach (s3://bucket/models, gs://..., https://...)"
        )
    options: dict[str, Any] = {
        "app": args.app if args.app is not None else args.model,
        "namespace": args.namespace,
        "registry_url": args.registry,
        "image": args.image,
    }
    chosen = spec if args.spec else None
    if args.dry_run == "server":
        with KubernetesDeployer(kubeconfig=args.kubeconfig, context=args.context, **options) as dep:
            slot = args.slot if args.slot is not None else _dry_run_slot(dep, args.model)
            text = dry_run(args.model, version, chosen, slot=slot, deployer=dep, server_side=True)
    else:
        # No cluster to ask which slot is idle: the slot a first deploy writes.
        slot = args.slot if args.slot is not None else SLOTS[0]
        text = dry_run(args.model, version, chosen, slot=slot, **options)
    print(text, end="")
    return EXIT_OK


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``deploy apply|status|rollback|history`` to a ``modelship`` parser.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> add_commands(parser.add_subparsers())
    >>> args = parser.parse_args(["deploy", "apply", "./models", "fraud", "2", "--for", "5"])
    >>> args.ref, args.for_seconds, args.undo_window  # None: not given (the default: 600)
    ('2', 5.0, None)
    >>> parser.parse_args(["deploy", "status", "./models", "fraud", "--alias", "@staging"]).alias
    'staging'
    """
    deploy = subparsers.add_parser(
        "deploy",
        help="deploy a registered model locally, roll back, show rollouts",
        description="Deploy with the embedded LocalDeployer. Exit 0 ok, 1 a rollout "
        "aborted (also one cut short by SIGINT/SIGTERM) or nothing to roll back, 2 error "
        "(also a signed registry without its key, a damaged or changed registry file, "
        "and a rollback refused while a rollout of the model runs).",
    )
    commands = deploy.add_subparsers(dest="deploy_command", required=True, metavar="ACTION")

    def command(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help, description=help)
        p.add_argument("registry", help="registry folder or fsspec URL")
        p.add_argument("model", help="model name")
        add_signing_key_option(p)
        p.set_defaults(func=_damage_exits_2(func))
        return p

    apply = command(
        "apply",
        _cmd_apply,
        "deploy a version and serve it in the foreground, following the registry alias",
    )
    apply.add_argument(
        "ref", nargs="?", default="latest", help="version, 'latest' or '@alias' (default latest)"
    )
    apply.add_argument("--spec", default=None, help="deployment file (YAML, JSON or TOML)")
    apply.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        default=None,
        help="overrides the spec's strategy (default blue-green); canary without "
        "canary.steps uses the default steps (10, 25, 50%%, 60 s pauses)",
    )
    apply.add_argument(
        "--alias",
        type=alias_name,
        default=None,
        help="registry alias moved after the switch and followed (default production)",
    )
    apply.add_argument(
        "--undo-window",
        type=float,
        default=None,
        help="seconds the previous slot stays at full size, for a rollback by one "
        "switch; then it is stopped (default 600)",
    )
    apply.add_argument(
        "--progress-deadline",
        type=float,
        default=None,
        help="seconds a new slot may take to become ready (default 600)",
    )
    apply.add_argument(
        "--for",
        dest="for_seconds",
        type=seconds,
        default=None,
        help="stop this many seconds after starting, the first deploy included, as "
        "SIGTERM would: a rollout still running then is aborted, exit 1 (default: until "
        "SIGINT/SIGTERM; a signal during a rollout aborts it, exit 1; 0: deploy, look at "
        "the alias once, stop)",
    )
    apply.add_argument(
        "--poll",
        type=positive_seconds,
        default=None,
        help="seconds between reads of the alias (default 1)",
    )
    apply.add_argument(
        "--prometheus",
        default=None,
        metavar="URL",
        help="Prometheus base URL (http://127.0.0.1:9090): a canary's steps are judged by "
        "the --spec file's monitoring conditions there (a condition that holds fails the "
        "step, and the canary is aborted as its limits say); needs a spec with monitoring "
        "conditions. Without it those conditions are not evaluated by apply (it says so)",
    )
    apply.add_argument(
        "--dry-run",
        nargs="?",
        const="client",
        default=None,
        choices=("client", "server"),
        help="print the Kubernetes objects this deployment would apply (YAML) and change "
        "nothing; --dry-run=server sends them to the cluster with dryRun=All and prints "
        "what it would store; needs the 'kubernetes' extra. The options of serving "
        "(--alias, --strategy, --undo-window, --progress-deadline, --for, --poll, "
        "--prometheus) are "
        "refused with it, as the --dry-run ones are without it",
    )
    apply.add_argument(
        "--kubeconfig",
        default=None,
        help="with --dry-run=server: the kubeconfig (default $KUBECONFIG, ~/.kube/config, "
        "or the in-cluster account)",
    )
    apply.add_argument(
        "--context", default=None, help="with --dry-run=server: the kubeconfig context"
    )
    apply.add_argument(
        "--slot",
        default=None,
        help="with --dry-run: the slot to render (default: with =server the idle slot a "
        "blue-green deploy would write, blue for a first deploy; else blue)",
    )
    apply.add_argument(
        "--namespace", default=None, help="with --dry-run: the namespace (default default)"
    )
    apply.add_argument(
        "--image",
        default=None,
        help="with --dry-run and no --spec: the model-server image to run",
    )
    apply.add_argument(
        "--app",
        default=None,
        help="with --dry-run: the app, which names the Service clients call and prefixes "
        "every object (default: the model name)",
    )

    status = command("status", _cmd_status, "the version the alias names and the last rollout")
    status.add_argument("--alias", type=alias_name, default="production")
    rollback = command(
        "rollback",
        _cmd_rollback,
        "move the alias back to the version the last rollout replaced (a running `apply` follows)",
    )
    rollback.add_argument("--alias", type=alias_name, default="production")
    history = command("history", _cmd_history, "every recorded rollout, oldest first")
    history.add_argument("--events", action="store_true", help="print every decision too")
    # Without the key of a signed registry: exit 2 (an error), never 1, which here means
    # a rollout aborted or nothing to roll back.
    exit_2_without_key(deploy)


def _damage_exits_2(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """``handler``, which exits 2 (an error) for a damaged or changed registry file
    (:class:`~modelship.IntegrityError`), saying which file and what to do.

    ``modelship``'s main reads an IntegrityError as a verification that failed (exit 1),
    and 1 here means a rollout aborted or nothing to roll back: a CI step would take a
    damaged alias log for a verdict on the version. A missing key
    (:class:`~modelship.SigningKeyRequired`) goes on to :func:`exit_2_without_key`.
    """

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except SigningKeyRequired:
            raise
        except IntegrityError as exc:
            say(f"modelship deploy: IntegrityError: {_damaged(exc, args.registry, args.model)}")
            return EXIT_ERROR

    return run


def _damaged(exc: IntegrityError, registry: str, model: str) -> str:
    """The message of a damaged or changed registry file, with what to do about it."""
    shown = printable(" ".join(hide_credentials(str(exc)).split()))
    where = printable(hide_credentials(registry))
    return (
        f"{shown}; the registry {where} holds a file that is damaged or was changed (the "
        "path above is under the registry), and nothing repairs it on read: `modelship "
        f"registry verify {where} {printable(model)} --all` lists each such file; restore "
        "it from a backup or a copy of the registry, then run this command again"
    )


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser with the one command ``deploy``.

    Examples
    --------
    >>> build_parser().parse_args(["deploy", "status", "./models", "fraud"]).alias
    'production'
    """
    parser = argparse.ArgumentParser(prog="modelship")
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``modelship deploy ARGS``; return the exit code (0 ok, 1 failed, 2 error)."""
    args = build_parser().parse_args(["deploy", *(argv if argv is not None else sys.argv[1:])])
    try:
        code: int = args.func(args)
    except ModelshipError as exc:
        said = for_the_command_line(exc, args.registry, args.model)
        print(f"modelship deploy: {type(said).__name__}: {said}", file=sys.stderr)
        return EXIT_ERROR
    return code
