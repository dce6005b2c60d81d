"""``modelship parity ...``: capture an environment in one place, check it in another.

Exit codes, as for ``modelship check``: 0 pass, 1 a blocking difference (with
``--strict``, any difference), 2 the comparison could not be made (a missing file, a
version without a stored snapshot). Reports are written even on an error, so the CI page
shows why: ``--report`` then holds one blocking finding, ``comparison``, saying why. A
``--report`` that cannot be written is removed, so none of an earlier run remains, only
when it is a regular file (not a symbolic link) this run may write; anything else (a
link, a device such as ``/dev/stdout``, a read-only file) is left as it is, and the exit
code says the run failed. A report path that is the same file as an input (``--snapshot``,
``--against``, ``--requirements``) is refused before anything is read or written.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from modelship import _cli_parity
from modelship._cli_common import (
    STDOUT,
    for_the_command_line,
    open_cli_registry,
    say,
    storage_options,
    write_output,
)
from modelship._shown import hide_credentials, printable
from modelship.checks import CheckResult, Severity, Status, SuiteResult
from modelship.checks._cli_common import (
    given,
    on_stdout,
    print_text,
    refused_paths,
    said_on_the_command_line,
    same_file,
    shared_stdout,
    unreadable,
    write_report,
)
from modelship.errors import ConfigError, ModelshipError
from modelship.parity._compare import compare
from modelship.parity._findings import Finding, ParityReport
from modelship.parity._json import JsonDocument
from modelship.parity._pins import marker_environment, read_pins
from modelship.parity._requirements import (
    Requirements,
    check_requirements,
    requirements_txt,
    resolve_requirements,
)
from modelship.parity._resources import ResourceRequest
from modelship.parity._scan import scan_artifact
from modelship.parity._snapshot import DEFAULT_ENV_ALLOWLIST, EnvironmentSnapshot
from modelship.report import Report, render_text

__all__ = [
    "add_commands",
    "cmd_capture",
    "cmd_check",
    "cmd_requirements",
    "main",
]

# A requirements file's byte order mark names its encoding, as pip reads it (its
# auto_decode): PowerShell's `pip freeze > requirements.txt` writes UTF-16 with one. UTF-32's
# come first, as UTF-32-LE's begins with UTF-16-LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _refuse_paths(inputs: dict[str, str | None], outputs: dict[str, str | None]) -> None:
    """Raise ConfigError for an output that cannot be written as asked (an empty path, the
    same file as an input: see :func:`~modelship.checks._cli_common.refused_paths`)."""
    refused = refused_paths(inputs, outputs)
    if refused:
        raise ConfigError(next(iter(refused.values())))


def cmd_capture(args: argparse.Namespace) -> int:
    """Run ``modelship parity capture``: write this environment's snapshot (Python,
    platform, installed distributions, the allowed environment variables) to
    ``--output``; return 0. An ``--output`` that cannot be written raises.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.cli import build_parser
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "env.json"
    >>> cmd_capture(build_parser().parse_args(["parity", "capture", "-o", str(path)]))
    wrote the environment snapshot (...) to .../env.json
    0
    """
    _refuse_paths({}, {"--output": args.output})
    # --allow-env's entries first: an error names a refused entry by its position, which
    # is then its position among them.
    allow = [*(args.allow_env or ()), *DEFAULT_ENV_ALLOWLIST]
    snapshot = EnvironmentSnapshot.capture(env_allowlist=allow)
    write_output(args.output, snapshot.to_json() + "\n")
    # print_text: a path the console's encoding cannot hold (数据.json on cp1252) is
    # written escaped; print would raise after the snapshot was written, and exit 2.
    print_text(
        printable(
            f"wrote the environment snapshot ({snapshot.python_version}, {snapshot.machine}, "
            f"{len(snapshot.packages)} distributions) to {args.output}"
        )
        + "\n",
        sys.stderr if args.output == STDOUT else sys.stdout,
    )
    return 0


def cmd_requirements(args: argparse.Namespace) -> int:
    """Run ``modelship parity requirements``: write the distributions a model artifact
    needs, as a requirements file, to ``--output`` (standard output by default); return 0.
    An artifact that cannot be read raises.

    Examples
    --------
    >>> import pickle, tempfile, pathlib
    >>> import numpy as np
    >>> from modelship.cli import build_parser
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.pkl"
    >>> _ = path.write_bytes(pickle.dumps(np.zeros(2)))
    >>> cmd_requirements(build_parser().parse_args(["parity", "requirements", str(path)]))
    # written by modelship: the distributions this model needs, and what they depend on
    numpy==...
    0
    """
    # Before the artifact is read: -o over it would replace the model with its requirements.
    _refuse_paths({"the artifact": args.artifact}, {"--output": args.output})
    text = requirements_txt(resolve_requirements(scan_artifact(args.artifact)))
    write_output(STDOUT if args.output is None else args.output, text)
    return 0


def _read_text(path: str, what: str, *, boms: bool = False) -> str:
    """The text of ``path``: UTF-8, or (with ``boms``) in the encoding its byte order mark
    names, the mark dropped; ConfigError when it is not text in that encoding, or cannot
    be read (missing, a folder, denied), worded as ``check drift`` words it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from exc
    encoding, skip = "utf-8", 0
    for bom, name in _BOMS if boms else ():
        if data.startswith(bom):
            encoding, skip = name, len(bom)
            break
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not {encoding.upper()} text ({exc.reason} at byte {skip + exc.start}): "
            f"give the {what} as modelship or pip writes it, in UTF-8"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it


def _read_requirements(path: str, prod: EnvironmentSnapshot | None) -> Mapping[str, str]:

    text = _read_text(path, "requirements", boms=True)
    if text.lstrip().startswith("{"):
        document = JsonDocument.parse(text, f"requirements in {path}").doc
        if "schema_version" not in document and all(
            isinstance(version, str) for version in document.values()
        ):
            # A plain object of distribution to version, as compare(requirements=) takes.
            return check_requirements(dict(document), f"the requirements in {path}")
        if "schema_version" not in document:
            raise ConfigError(
                f"{path}: a requirements JSON is either what modelship writes "
                "(Requirements.to_json: schema_version, packages...) or a plain object of "
                'distribution to version ({"numpy": "2.4.6"}); this one is neither'
            )
        return Requirements.from_json(text)  # its markers are compare()'s to evaluate
    return read_pins(text, path, marker_environment(prod))


def _comparison(args: argparse.Namespace) -> ParityReport:
    """Build and run the comparison; every failure to do so is raised to the caller."""

    requirements: Mapping[str, str] | None = None
    model_size = args.model_size
    if args.snapshot:
        if args.target:
            raise ConfigError("give either --snapshot FILE or REGISTRY MODEL [REF], not both")
        train = EnvironmentSnapshot.from_json(_read_text(args.snapshot, "snapshot", boms=True))
    elif len(args.target) in (2, 3):
        url, model = args.target[0], args.target[1]
        ref = args.target[2] if len(args.target) == 3 else "latest"
        registry = open_cli_registry(url, **storage_options(args.option))
        # Said with the command listing the versions.
        with said_on_the_command_line(lambda exc: for_the_command_line(exc, url, model)):
            version = registry.get(model, ref)
        stored = version.environment
        if stored is None:
            raise ConfigError(
                f"{model} {version.version} has no stored environment snapshot: register it "
                "with the environment captured, or pass --snapshot FILE"
            )
        train = stored
        needed = version.requirements
        requirements = needed  # a Requirements: compare() applies its markers
        if model_size is None:
            model_size = version.artifact.size
    else:
        raise ConfigError("give --snapshot FILE, or REGISTRY MODEL [REF]")
    prod = (
        EnvironmentSnapshot.from_json(_read_text(args.against, "snapshot", boms=True))
        if args.against
        else None
    )
    if args.requirements:  # markers are evaluated where the model is to run
        requirements = _read_requirements(args.requirements, prod)
    resources = None
    if args.memory is not None or args.cpus is not None or model_size is not None:
        resources = ResourceRequest(memory=args.memory, cpus=args.cpus, model_size=model_size)
    return compare(train, prod, requirements=requirements, resources=resources)


_OUTPUTS = ("json", "junit", "markdown", "report")


def _refuse_shared_stdout(args: argparse.Namespace) -> None:
    """Refuse two reports to standard output (``-``, ``/dev/stdout``, the file it is
    redirected to: see :func:`~modelship.checks._cli_common.on_stdout`): the two would run
    into one stream."""
    refused = shared_stdout(args, _OUTPUTS)
    if refused is not None:
        raise ConfigError(refused)


def _shown(report: Report) -> Report:
    """``report`` with the names and reasons of its sections fit for a terminal: a version
    string or variable from a snapshot may carry escapes that would rewrite the line."""
    sections = [
        attrs.evolve(
            section,
            head=attrs.evolve(
                section.head,
                name=printable(section.head.name),
                reason=printable(section.head.reason),
            ),
        )
        for section in report.sections
    ]
    return attrs.evolve(report, sections=sections)


def _failed(exc: BaseException) -> CheckResult:
    """The ``error`` result of ``exc``, the user information of any URL in its reason
    hidden: a requirements line's index URL (``-i https://user:token@host``) may carry a
    credential, and the reason reaches the reports and the console."""
    result = CheckResult.from_exception("environment_parity", exc)
    return attrs.evolve(result, reason=hide_credentials(result.reason))


def _error_report(exc: BaseException) -> ParityReport:
    """The parity report of a comparison that could not be made: one blocking finding
    saying why, so that ``--report`` is written (and fails) on an error too."""
    reason = _failed(exc).reason
    return ParityReport(
        [
            Finding(
                check="comparison",
                severity=Severity.BLOCKING,
                message=f"the comparison could not be made: {reason}",
            )
        ]
    )


def _remove_stale(target: str) -> None:
    """Remove the report file ``target`` that could not be written, if it is a regular
    file (not a symbolic link) this run may write: a link (to a volume not mounted yet),
    a device (``/dev/stdout``) or a read-only file is not this run's to delete, and the
    run fails already, saying why."""
    if target == STDOUT:
        return
    with contextlib.suppress(OSError, ValueError):
        if os.path.isfile(target) and not os.path.islink(target) and os.access(target, os.W_OK):
            Path(target).unlink()


_INPUTS = ("snapshot", "against", "requirements")


def _input_named(args: argparse.Namespace, target: str) -> str | None:
    """The input option (``snapshot``, ``against``, ``requirements``) whose file is
    ``target``, or None."""
    for source in _INPUTS:
        path = getattr(args, source, None)
        if path and path != STDOUT and same_file(target, path):
            return source
    return None


def _refused_outputs(args: argparse.Namespace) -> dict[str, str]:
    """The reports (by attribute) that cannot be written as asked, each with why: an
    empty path, one that is the same file as an input (on an error the input would be
    replaced by the report saying so), or as another report (one would replace the other);
    see :func:`~modelship.checks._cli_common.refused_paths`."""
    refused = refused_paths(given(args, _INPUTS), given(args, _OUTPUTS))
    return {output: why for output in _OUTPUTS if (why := refused.get(f"--{output}"))}


def _remove_refused(args: argparse.Namespace, refused: dict[str, str]) -> None:
    """Remove the refused reports an earlier run left (see :func:`_remove_stale`), but an
    input or the file a ``--markdown`` summary is appended to: not this run's to remove."""
    append = args.markdown_mode == "append"
    for output in refused:
        target = getattr(args, output)
        summary = append and bool(args.markdown) and same_file(target, args.markdown)
        if not (_input_named(args, target) is not None or summary):
            _remove_stale(target)


def _write_suite(
    args: argparse.Namespace, suite: SuiteResult, refused: dict[str, str]
) -> list[BaseException]:
    """Write the suite's reports asked for and not refused, each apart: one that cannot
    be written is removed (see :func:`_remove_stale`; not a summary appended to) and why
    is returned, the others are still written. One whose reader has gone (a
    ``BrokenPipeError``, ``--json - | head -1``) is no failure: it is returned too, for
    the caller to raise last, and main ends quietly with the verdict."""
    strict = args.strict
    append = args.markdown_mode == "append"
    texts: dict[str, Callable[[], str]] = {
        "json": lambda: suite.to_json(strict=strict) + "\n",
        "junit": lambda: suite.to_junit(strict=strict),
        "markdown": lambda: suite.to_markdown(strict=strict),
    }
    failures: list[BaseException] = []
    for output, text in texts.items():
        target = getattr(args, output)
        if not target or output in refused:
            continue
        appended = output == "markdown" and append
        try:
            write_report(target, text(), append=appended)
        except BrokenPipeError as exc:  # the reader has what it wanted: nothing to remove
            failures.append(exc)
        except Exception as exc:  # not written, whatever raised: an earlier run's goes
            if not appended:  # what other steps wrote to a summary is not ours
                _remove_stale(target)
            failures.append(exc)
    return failures


def cmd_check(args: argparse.Namespace) -> int:
    """Compare, write the reports asked for (each the verdict of this run, ``--strict``
    or not), print the summary, return the exit code.

    A report that is the same file as an input or as another report is refused (exit 2):
    the others are written saying so, and a refused one that is not an input is removed
    as one that cannot be written is, so none of an earlier run remains. Each report is
    written apart: one that cannot be written is removed (see :func:`_remove_stale`),
    the others are written, and the run then exits 2 saying why.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.cli import build_parser
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "env.json"
    >>> _ = path.write_text(EnvironmentSnapshot.capture().to_json())
    >>> args = build_parser().parse_args(
    ...     ["parity", "check", "--snapshot", str(path), "--against", str(path)]
    ... )
    >>> cmd_check(args)
    PASS  environment_parity: the environments match on every rule
    passed (1 check: 1 pass)
    0
    """
    _refuse_shared_stdout(args)
    refused = _refused_outputs(args)
    refusal = ConfigError(next(iter(refused.values()))) if refused else None
    if refusal is not None:
        result, report = _failed(refusal), _error_report(refusal)
    else:
        try:
            report = _comparison(args)
            result = report.to_check_result()
        # Whatever raised (a bug too), as `modelship check` makes an error result of it:
        # the reports are written saying why, so none of an earlier run remains.
        except Exception as exc:
            result = _failed(exc)
            report = _error_report(exc)
    _remove_refused(args, refused)
    strict = args.strict
    # What main returns if a reader closes stdout early, from here on: the verdict.
    args.exit_code_so_far = SuiteResult([result]).exit_code(strict=strict)
    reader_gone: list[BaseException] = []
    if args.report and "report" not in refused:
        try:
            write_report(args.report, report.to_json(strict=strict) + "\n")
        except BrokenPipeError as exc:  # `--report - | true`: the verdict stands
            reader_gone.append(exc)
        except Exception as exc:  # not written, whatever raised: an earlier run's goes
            _remove_stale(args.report)  # a report of an earlier run must not remain
            if result.status is not Status.ERROR:
                result = _failed(exc)
    suite = SuiteResult([result])
    code = suite.exit_code(strict=strict)
    args.exit_code_so_far = code  # a report that could not be written changed it
    written = _write_suite(args, suite, refused)
    reader_gone += [exc for exc in written if isinstance(exc, BrokenPipeError)]
    failures = [exc for exc in written if not isinstance(exc, BrokenPipeError)]
    if refusal is not None:
        raise refusal
    if failures:
        raise failures[0]
    # The summary goes where no report does: standard error when one is on standard output.
    out = sys.stderr if any(on_stdout(getattr(args, name)) for name in _OUTPUTS) else sys.stdout
    # print_text: what the console's encoding cannot hold (a path, a name) is written
    # escaped, never a UnicodeEncodeError after the reports are written.
    lines = [render_text(_shown(suite.to_report(strict=strict)))]
    for column in result.columns.values():
        status = column.status.value.upper()
        lines.append(f"  {status:<5} {printable(column.name)}: {printable(column.reason)}")
    print_text("\n".join(lines) + "\n", out)
    if reader_gone:
        raise reader_gone[0]  # main silences stdout and returns exit_code_so_far
    return code


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``parity capture|check|requirements`` (:func:`modelship._cli_parity.add_commands`)
    with the handlers of this module: what :func:`main` and a program building its own
    parser call.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> add_commands(parser.add_subparsers())
    >>> args = parser.parse_args(["parity", "check", "--snapshot", "train.json"])
    >>> args.func is cmd_check, args.snapshot, args.strict
    (True, 'train.json', False)
    """
    handlers = {"capture": cmd_capture, "check": cmd_check, "requirements": cmd_requirements}
    _cli_parity.add_commands(subparsers, handlers)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``modelship parity`` with ``argv`` (the arguments after ``parity``).

    Returns the exit code: 0 pass, 1 a blocking difference, 2 an error.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from modelship.parity._cli import main
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "env.json"
    >>> main(["capture", "-o", str(path)])
    wrote the environment snapshot (...) to .../env.json
    0
    >>> main(["check", "--snapshot", str(path), "--against", str(path)])
    PASS  environment_parity: the environments match on every rule
    passed (1 check: 1 pass)
    0
    """
    parser = argparse.ArgumentParser(prog="modelship")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["parity", *(sys.argv[1:] if argv is None else argv)])
    try:
        code: int = args.func(args)
    except (ModelshipError, OSError) as exc:
        say(printable(hide_credentials(f"modelship parity: {type(exc).__name__}: {exc}")))
        return 2
    return code
