"""``modelship monitor watch|status|replay``: rollback policies from a shell.

* ``watch URL`` evaluates a policy against Prometheus every ``--interval`` seconds for
  ``--duration`` seconds, prints one JSON line per evaluation, and writes the decision
  log (``--log``). With ``--registry`` and ``--model`` it watches the slot of the
  succeeded rollout of the version the alias names (the LocalDeployer of ``modelship
  deploy apply`` labels each slot's series with it), reads no sample from before that
  rollout's start (``--since`` gives that time otherwise, in seconds since the epoch;
  ``--model`` also adds ``model=<model>`` to every query, as the model server labels its
  series: every model's slots are named blue/green;
  with ``--slot`` and no ``--since`` every window is whole), and, when the policy says
  rollback, moves the alias back as ``modelship deploy rollback`` does (and records the
  rollback in the deployment history as it does, so no later rollback moves the alias
  back onto that version until it succeeds again), but from the
  version it named when the watch started, and only if it still names it (an alias
  another job moved meanwhile is left alone: an ``error`` event, exit 2); a running
  ``modelship deploy apply`` follows the alias and switches traffic back. ``--slot`` with
  ``--registry`` must be the slot the alias's version was rolled out to, and the alias
  must name a version when the watch starts (a rollback could move it nowhere): a
  ConfigError before anything is evaluated otherwise. ``--alias`` is checked as the
  registry checks an alias (a usage error, exit 2), and refused without ``--registry``
  and ``--model`` (a ConfigError: no alias moves then).
* ``status LOG`` prints the latest decision of a decision log.
* ``replay LOG`` re-runs every decision of a log offline through the in-memory source
  and prints them; exit 1 if any differs from the recorded one.

A ``watch`` of a disabled policy (``monitoring.enabled: false``) evaluates nothing: it
prints one ``"event": "disabled"`` line and exits 0.

Exit codes: 0 ok (no rollback; replay identical), 1 rolled back or a replay differs,
2 an error (a rollback the registry refused, or an alias that moved since the watch
started, is one: ``watch`` prints an ``error`` event, not a ``rollback`` one; so is a
``watch`` in which no evaluation passed or failed, which checked nothing: it ends with an
``error`` event too). Machine-readable output is JSON on stdout; messages go to stderr.

Examples
--------
>>> import argparse
>>> from modelship.monitor._cli import add_commands
>>> parser = argparse.ArgumentParser(prog="modelship")
>>> add_commands(parser.add_subparsers())
>>> args = parser.parse_args(["monitor", "watch", "http://127.0.0.1:9090", "--slot", "green",
...                           "-c", "p95(inference_latency_seconds) > 0.2"])
>>> args.slot, args.condition, args.interval
('green', ['p95(inference_latency_seconds) > 0.2'], 60.0)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from modelship import _cli_monitor
from modelship._cli_common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    for_the_command_line,
    open_cli_registry,
    silence_stdout,
)
from modelship._rollback._policy import Decision, DecisionLog, RollbackPolicy, Step, replay
from modelship.errors import ConfigError, Conflict, ModelshipError
from modelship.monitor._loop import check_run, run_policy
from modelship.monitor._prometheus import MODEL_LABEL, PrometheusSource
from modelship.monitor._watch import _JsonlWriter

if TYPE_CHECKING:
    from modelship.deploy._record import RolloutRecord
    from modelship.registry._registry import Registry

__all__ = ["add_commands", "cmd_replay", "cmd_status", "cmd_watch"]


def _line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, sort_keys=True, allow_nan=False) + "\n")
    sys.stdout.flush()


def _watch_line(data: Any) -> None:
    """:func:`_line` for a watch: a reader that has gone (``watch ... | head``, a log
    shipper restarted) must not stop the watch, which still rolls back a bad version and
    answers for it in its exit code; what it would print then goes nowhere."""
    try:
        _line(data)
    except BrokenPipeError:
        silence_stdout()


def _entry(index: int, decision: Decision, step: Step) -> dict[str, Any]:
    return {
        "index": index,
        "at": decision.at,
        "slot": decision.slot,
        "verdict": decision.verdict,
        "action": step.action,
        "reason": step.reason,
        "reasons": list(decision.reasons),
    }


def _read_log(path: str) -> DecisionLog:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the decision log {path}: {exc}") from exc
    except UnicodeDecodeError as exc:  # a decision log is UTF-8 JSON Lines, written whole
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not a decision log: line {line} is not UTF-8 text (byte "
            f"{exc.object[exc.start : exc.start + 1]!r} at offset {exc.start})"
        ) from None
    try:
        return DecisionLog.from_jsonl(text)
    except ConfigError as exc:  # says what is wrong, and where
        raise ConfigError(f"{path} is not a decision log: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path} is not a decision log: {exc!r}") from exc


def cmd_status(args: argparse.Namespace) -> int:
    log = _read_log(args.log)
    if not log.entries:
        _line({"log": args.log, "evaluations": 0, "latest": None})
        return EXIT_OK
    decision, step = log.entries[-1]
    _line(
        {
            "log": args.log,
            "evaluations": len(log.entries),
            "latest": _entry(len(log.entries) - 1, decision, step),
        }
    )
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    log = _read_log(args.log)
    result = replay(log)
    rows = list(enumerate(zip(log.entries, result.decisions, result.steps, strict=True)))
    same = [
        again.to_json() == recorded.to_json() and step == recorded_step
        for _, ((recorded, recorded_step), again, step) in rows
    ]
    differ = same.count(False)
    # Known before the first line: main's exit code if the reader goes early (`| head`).
    args.exit_code_so_far = EXIT_FAILED if differ else EXIT_OK
    for index, ((recorded, recorded_step), again, step) in rows:
        entry = _entry(index, again, step)
        entry["recorded_verdict"] = recorded.verdict
        entry["recorded_action"] = recorded_step.action
        entry["same"] = same[index]
        _line(entry)
    if differ:
        print(
            f"modelship monitor: {differ} of {len(log.entries)} decisions differ from the "
            f"recorded ones (first at index {result.first_difference})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--label {pair!r}: write NAME=VALUE (e.g. model=fraud)")
        labels[name] = value
    return labels


def _source_labels(args: argparse.Namespace) -> dict[str, str]:
    """``--label`` matchers, plus ``model=<--model>`` when ``--model`` is given: the model
    server labels its series with the model's name (``MODEL_LABEL``), and the
    LocalDeployer names every model's slots blue/green, so a slot's name alone also
    selects another model's traffic in a slot of the same name (its healthy requests
    would dilute the watched version's errors, or its errors condemn a healthy one).

    Raises :class:`~modelship.ConfigError` for ``--label model=X`` with another ``--model``.
    """
    labels = _labels(args.label)
    if args.model is None:
        return labels
    given = labels.get(MODEL_LABEL)
    if given is not None and given != args.model:
        raise ConfigError(
            f"--label {MODEL_LABEL}={given} contradicts --model {args.model}: the watch judges "
            f"the series of {args.model} (the model server labels them {MODEL_LABEL}="
            f"{args.model}); drop --label {MODEL_LABEL}=..., or give the --model it names"
        )
    return {**labels, MODEL_LABEL: args.model}


def _policy(args: argparse.Namespace) -> RollbackPolicy:
    if args.policy is not None and args.condition:
        raise ConfigError("give --policy FILE or --condition, not both")
    if args.policy is not None:
        return RollbackPolicy.from_yaml(Path(args.policy))
    if not args.condition:
        raise ConfigError(
            "no condition: give --condition 'p95(inference_latency_seconds) > 0.2' "
            "(repeatable) or --policy FILE"
        )
    return RollbackPolicy(conditions=args.condition)


@attrs.frozen
class _Watched:
    """What a watch judges: the slot, the time before which no window looks, and, with
    ``--registry``/``--model``, the version the alias named when the watch started and the
    succeeded rollout that put it there (None if none is recorded): a rollback moves the
    alias from that very version to that rollout's previous one, or not at all."""

    slot: str
    since: float | None
    version: str | None = None
    rollout: RolloutRecord | None = None


def _watched(args: argparse.Namespace) -> _Watched:
    """The slot to watch and the time (seconds since the epoch, Prometheus's clock)
    before which no evaluation looks: ``--since``, else the start of the rollout
    ``--registry``/``--model`` name, else None (whole windows); with a registry, the
    version watched and its rollout, read once, now."""
    if (args.registry is None) != (args.model is None):
        given, missing = (
            ("--registry", "--model") if args.model is None else ("--model", "--registry")
        )
        raise ConfigError(
            f"--registry and --model go together: {given} was given without {missing}, and "
            f"a rollback would move no alias; give both (the alias {args.alias} of that "
            "model is moved back on a rollback), or neither to only watch --slot"
        )
    if args.registry is None or args.model is None:
        if args.slot is None:
            raise ConfigError(
                "give --slot, or --registry and --model to watch the last rollout's slot"
            )
        return _Watched(str(args.slot), args.since)
    from modelship.deploy._history import RegistryHistory
    from modelship.deploy._rollout import RolloutStatus, moved_from_another, same_alias

    reg = open_cli_registry(args.registry, key_env=args.signing_key_env)
    aliases = reg.aliases(args.model)
    current = aliases.get(args.alias)
    if current is None:
        # A typo ('prod') used to be watched for the whole --duration in silence, and only
        # the rollback found that it could move nothing. With --slot the slot is still
        # watched (a watch started beside a first deploy, before it moves the alias, is a
        # gate too), saying so at once; without it there is no slot to watch.
        named = ", ".join(f"{a} -> {v}" for a, v in sorted(aliases.items())) or "none"
        why = (
            f"the alias {args.alias} of {args.model} names no version (its aliases: "
            f"{named}), so a rollback could move it nowhere"
        )
        if args.slot is None:
            raise ConfigError(
                f"{why}: give --alias the alias of the version served, --slot to watch a "
                "slot, or leave out --registry and --model to only watch --slot"
            )
        print(
            f"modelship monitor watch: {why}; --slot {args.slot} is watched, and a "
            "failure is reported without moving the alias",
            file=sys.stderr,
        )
        # No version to judge the slot's rollouts against, none to move back to: the
        # slot's records (another version once put there) have nothing to say.
        return _Watched(str(args.slot), args.since, None, None)
    # Only this alias's rollouts (or records that do not say which alias they moved):
    # another environment's rollout of the same version, on a registry they share, is in
    # another slot of another deployment, and its previous version is not this alias's.
    succeeded = [
        r
        for r in RegistryHistory(reg).records(args.model)
        if r.status is RolloutStatus.SUCCEEDED and same_alias(r, args.alias) is not False
    ]
    done = [r for r in succeeded if r.version == current]
    if args.slot is None:
        if not done:
            raise ConfigError(
                f"no succeeded rollout of {args.model} {current} (alias {args.alias}) is "
                "recorded; give --slot"
            )
        # The slot and the first time to judge: the last rollout that applied the version
        # (a re-run that changed nothing applied none: judging from it would look at the
        # version's traffic late). The version to go back to: the last rollout that moved
        # the alias from another version (a spec change of the same version, or such a
        # re-run, has none: the alias moved "back" from 2 to 2).
        placed = [r for r in done if _applied(r)] or done
        since = placed[-1].started_at.timestamp() if args.since is None else args.since
        return _Watched(placed[-1].slot, since, current, moved_from_another(done) or placed[-1])
    slot = str(args.slot)
    into_slot = [r for r in succeeded if r.slot == slot]
    if into_slot and into_slot[-1].version != current:
        raise ConfigError(
            f"--slot {slot} does not serve the version watched: its last succeeded rollout "
            f"({into_slot[-1].id}) put {args.model} {into_slot[-1].version} there, and the "
            f"alias {args.alias} names {current}; a rollback would move the alias back from "
            f"{current} on the evidence of another version. Leave out --slot to watch the "
            "slot of the alias's version"
        )
    if not into_slot and done:
        raise ConfigError(
            f"--slot {slot} does not serve the version watched: the succeeded rollout "
            f"{done[-1].id} put {args.model} {current} (alias {args.alias}) into "
            f"{done[-1].slot}. Leave out --slot to watch that slot"
        )
    # No succeeded rollout of the version into any slot is recorded: nothing tells which
    # slot serves it, and a rollback has no previous version to move the alias to. The
    # version to go back to is the one without --slot: the last rollout of the version
    # watched that moved the alias from another version, in whichever slot (a spec change
    # of that version into this slot moved it from no other). Rollouts of other versions
    # into this slot are not searched: undoing one would skip the version in between.
    return _Watched(
        slot,
        args.since,
        current,
        (moved_from_another(done) or into_slot[-1]) if into_slot else None,
    )


def _applied(record: RolloutRecord) -> bool:
    """Whether the rollout applied its version (a deploy that changed nothing did not)."""
    from modelship.deploy._record import EventKind

    return any(e.kind is EventKind.APPLIED for e in record.events)  # bounded: its events


def _with_alias(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with ``--alias`` filled in (``production`` when not given).

    Raises :class:`~modelship.ConfigError` for ``--alias`` without ``--registry`` and
    ``--model``: no alias is moved then, and the option would be ignored.
    """
    if args.alias is not None and args.registry is None and args.model is None:
        raise ConfigError(
            f"--alias {args.alias}: the alias a rollback moves back, which needs --registry "
            "and --model; without them no alias moves: drop --alias, or give --registry "
            "and --model"
        )
    return argparse.Namespace(**{**vars(args), "alias": args.alias or "production"})


def cmd_watch(args: argparse.Namespace) -> int:
    policy = _policy(args)
    args = _with_alias(args)
    watched = _watched(args)
    slot, since = watched.slot, watched.since
    window = args.window if args.window is not None else args.interval
    labels = _source_labels(args)
    with PrometheusSource(args.url, labels=labels, timeout=args.timeout) as source:
        # Refused before the log file is created (a condition without a query template too):
        # a refused call leaves nothing behind.
        check_run(
            policy,
            baseline=args.baseline,
            window=window,
            interval=args.interval,
            duration=args.duration,
            slot=slot,
            source=source,
            since=since,
            probe=True,
        )
        if not policy.enabled:
            # Switched off on purpose: nothing to judge, and no Prometheus to ask.
            message = f"not watching {slot}: the policy is disabled (monitoring.enabled: false)"
            print(f"modelship monitor: {message}", file=sys.stderr)
            _watch_line({"event": "disabled", "slot": slot, "message": message})
            return EXIT_OK
        rolled_back: list[Step] = []
        # The rollback's event line, printed after the line of the step that rolled back.
        events: list[dict[str, Any]] = []

        def on_rollback(step: Step) -> None:
            rolled_back.append(step)
            if args.registry is not None and args.model is not None:
                events.append(_move_alias_back(args, watched, step))

        log = DecisionLog(policy, started_at=source.now())
        writer = _JsonlWriter(Path(args.log), log) if args.log is not None else None

        def on_step(step: Step) -> None:
            nonlocal writer
            decision, _ = log.entries[-1]
            index = len(log.entries) - 1
            if writer is not None:
                try:
                    writer.append(decision, step)
                except ConfigError as exc:
                    # As watch(): the watch goes on (it still rolls back); the file keeps
                    # whole lines up to the evaluation before this one.
                    writer = None
                    message = f"the decision log stops before evaluation {index}: {exc}"
                    print(f"modelship monitor: {message}", file=sys.stderr)
                    _watch_line({"event": "log_error", "log": args.log, "message": message})
            _watch_line(_entry(index, decision, step))

        try:
            run_policy(
                source,
                policy,
                slot=slot,
                baseline=args.baseline,
                window=window,
                interval=args.interval,
                duration=args.duration,
                on_rollback=on_rollback,
                on_step=on_step,
                log=log,
                since=since,
            )
        except ConfigError as exc:
            # A query mistake found during the watch (a template Prometheus cannot parse,
            # one answering several series): no outage, no rollback; exit 2.
            _watch_line({"event": "error", "reason": "query", "message": str(exc), "alias": None})
            raise
        finally:
            for event in events:
                _watch_line(event)
    if any(event["event"] == "error" for event in events):
        return EXIT_ERROR
    if rolled_back:
        return EXIT_FAILED
    unjudged = _nothing_judged(log, slot)
    if unjudged is not None:
        # A run that checked nothing (Prometheus unreachable, a slot without series, too
        # few samples) is no "ok": a CI gate would pass a release nobody looked at.
        print(f"modelship monitor: {unjudged}", file=sys.stderr)
        reason = log.entries[-1][1].reason if log.entries else ""
        _watch_line({"event": "error", "reason": reason, "message": unjudged, "alias": None})
        return EXIT_ERROR
    return EXIT_OK


def _nothing_judged(log: DecisionLog, slot: str) -> str | None:
    """Why no evaluation of the run judged ``slot`` (none passed or failed), or None."""
    verdicts = [decision.verdict for decision, _ in log.entries]
    if any(verdict in ("pass", "fail") for verdict in verdicts):
        return None
    count = {v: verdicts.count(v) for v in ("error", "no_data", "inconclusive")}
    told = f"{count['error']} error{'' if count['error'] == 1 else 's'}, "
    told += f"{count['no_data']} without data"
    if count["inconclusive"]:
        told += f", {count['inconclusive']} with too few samples"
    last_error = next(
        (
            f"{c.condition}: {c.reason}"
            for decision, _ in reversed(log.entries)
            for c in decision.conditions
            if c.verdict == "error"
        ),
        None,
    )
    if last_error is not None:
        told += f"; last error: {last_error}"
    return (
        f"no evaluation judged the slot {slot}: {told}; nothing was checked: fix the source "
        "(the URL, --slot, --label) or send the slot traffic, then watch again"
    )


def _move_alias_back(args: argparse.Namespace, watched: _Watched, step: Step) -> dict[str, Any]:
    """Move the alias back from the version watched to the previous version of the
    rollout that put it there, as ``modelship deploy rollback`` does, but only if the alias
    still names the version watched (a compare-and-swap): its JSON as a ``rollback``
    event, or an ``error`` event saying why nothing moved.

    The alias may have moved since the watch started (another job promoted a newer
    version): the policy judged the version watched, not that one, and moving the alias
    "back" from it would undo that job's rollout, possibly onto the very version the
    policy condemned."""

    model, alias, version, rollout = args.model, args.alias, watched.version, watched.rollout
    if version is None:
        why = f"the alias {alias} of {model} named no version when the watch started"
    elif rollout is None or rollout.previous_version in (None, version):
        # A rollout whose previous version is the version itself (a spec change, or a
        # re-run) moved the alias from no other version: "back" would be where it is.
        why = (
            f"no succeeded rollout that moved the alias {alias} of {model} from another "
            f"version to {version} is recorded; nothing to roll back to"
        )
    else:
        reg = open_cli_registry(args.registry, key_env=args.signing_key_env)
        try:
            condemned = _rolled_back_since_success(
                reg, model, rollout.previous_version, alias=alias
            )
            if condemned is not None:
                message = (
                    f"the policy rolled back {model} {version} but the alias {alias} was not "
                    f"moved: the version before it, {rollout.previous_version}, was itself "
                    f"rolled back (rollout {condemned.id}) and has not succeeded since; "
                    f"moving the alias there would serve a version already condemned. Choose "
                    f"a good version and point the alias at it: `modelship registry alias "
                    f"{args.registry} {model} {alias} VERSION --expected {version}`"
                )
                print(f"modelship monitor: {message}", file=sys.stderr)
                return {"event": "error", "reason": step.reason, "message": message, "alias": None}
            from modelship.deploy._cli import unproven_move_back

            unproven = unproven_move_back(reg, model, alias, rollout)
            if unproven is not None:
                message = f"the policy rolled back {model} {version} but {unproven}"
                print(f"modelship monitor: {message}", file=sys.stderr)
                return {"event": "error", "reason": step.reason, "message": message, "alias": None}
            # A compare-and-swap: the alias moves only if it still names the version watched.
            before = reg.set_alias(model, alias, rollout.previous_version, expected=version)
        except Conflict as exc:
            try:
                now = f"it names {reg.aliases(model).get(alias)}, not {version}"
            except ModelshipError:
                now = str(exc)
            message = (
                f"the policy rolled back {model} {version} but the alias {alias} was not "
                f"moved: the alias moved since the watch started: {now}; nothing moved back "
                "(the version it names now was not watched: watch it, or roll it back with "
                "`modelship deploy rollback` if it is bad too)"
            )
            print(f"modelship monitor: {message}", file=sys.stderr)
            return {"event": "error", "reason": step.reason, "message": message, "alias": None}
        except ModelshipError as exc:
            said = for_the_command_line(exc, args.registry, model)
            why = f"{type(said).__name__}: {said}"
        else:
            if before == rollout.previous_version:
                # Another job (`deploy rollback`, another watch) moved it back meanwhile:
                # nothing moved here, and the rollback is that job's to record.
                already = (
                    f"the alias {alias} named {before} already: another job rolled it back "
                    "meanwhile; nothing moved or recorded here"
                )
                print(f"modelship monitor: {already}", file=sys.stderr)
                done = {"model": model, "alias": alias, "to": before, "rollout": rollout.id}
                return {
                    "event": "rollback",
                    "reason": step.reason,
                    "alias": done | {"already": already},
                }
            moved: dict[str, Any] = {
                "model": model,
                "alias": alias,
                "from": version,
                "to": rollout.previous_version,
                "rollout": rollout.id,
            }
            # Recorded as `deploy rollback` records it: else the version rolled back is not
            # condemned, and a later rollback (of the version moved to) would move the
            # alias back onto it.
            not_recorded = _record_rollback(reg, rollout, alias=alias)
            if not_recorded is not None:
                print(f"modelship monitor: {not_recorded}", file=sys.stderr)
                moved["not_recorded"] = not_recorded
            return {"event": "rollback", "reason": step.reason, "alias": moved}
    message = (
        f"the policy rolled back but the alias {alias} of {model} was not moved: "
        f"{why}; move it with `modelship deploy rollback` or by hand"
    )
    print(f"modelship monitor: {message}", file=sys.stderr)
    return {"event": "error", "reason": step.reason, "message": message, "alias": None}


def _record_rollback(reg: Registry, rollout: RolloutRecord, *, alias: str) -> str | None:
    """Record in the deployment history that the watch moved ``alias`` back from
    ``rollout``'s version (see :func:`~modelship.deploy._cli.record_alias_rollback`): None,
    or why it could not be recorded (the alias has moved all the same)."""
    from modelship.deploy._cli import record_alias_rollback
    from modelship.deploy._history import RegistryHistory

    try:
        records = RegistryHistory(reg).records(rollout.model)
    except (OSError, ModelshipError) as exc:
        return (
            f"the rollback was not recorded in the deployment history ({type(exc).__name__}: "
            f"{exc}): a later rollback may move the alias back onto {rollout.version}"
        )
    return record_alias_rollback(reg, records, rollout, alias=alias, by="`modelship monitor watch`")


def _rolled_back_since_success(
    reg: Registry, model: str, version: str, *, alias: str
) -> RolloutRecord | None:
    """The rollout that condemns ``version`` where ``alias`` moves (:func:`~modelship.
    deploy._rollout.condemning_rollout`, the rule ``deploy rollback`` and
    ``Rollout.rollback()`` follow: its latest settled rollout of that alias was rolled
    back, a rolled-back spec change of the same version aside; another environment's
    rollbacks do not count), else None.

    Read just before the alias moves, so not atomic with the move; but a rollout of
    ``version`` can only be rolled back while the alias names it, and the move is a
    compare-and-swap from the version watched, so a rollback recorded in between finds the
    alias elsewhere and the move is refused."""
    from modelship.deploy._history import RegistryHistory
    from modelship.deploy._rollout import condemning_rollout

    return condemning_rollout(RegistryHistory(reg).records(model), version, alias=alias)


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``monitor watch|status|replay`` (:func:`modelship._cli_monitor.add_commands`)
    with the handlers of this module: what a program building its own parser calls."""
    handlers = {"watch": cmd_watch, "status": cmd_status, "replay": cmd_replay}
    _cli_monitor.add_commands(subparsers, handlers)
