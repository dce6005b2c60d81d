"""``modelship registry ...``: inspect and manage a model registry from a shell or a CI job.

Exit codes: 0 success, 1 a verification failed, 2 an error (bad input, missing version,
storage failure, a signed registry opened without its key). Machine-readable output is
JSON on stdout; messages go to stderr.

A command that finds a failure records it in ``args.exit_code_so_far`` before printing, so
a reader that closes stdout early (``verify --all | head -1``) never turns it into a
success; ``verify`` goes on checking every version it was asked for after the reader has
gone. ``delete``, ``restore`` and ``purge`` take a version, never a reference: ``latest``
or an alias moves, and a retried step would act on another version.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from typing import Any, TextIO

from modelship import _json
from modelship._cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    SIGNING_KEY_ENV,
    add_storage_options,
    exit_2_without_key,
    open_cli_registry,
    storage_options,
)
from modelship._model_version import ModelVersion, VersionState
from modelship._names import check_version
from modelship._shown import hide_credentials, printable
from modelship.errors import (
    ArchivedVersion,
    ConfigError,
    IntegrityError,
    InvalidName,
    ModelshipError,
    SigningKeyRequired,
    VersionNotFound,
)
from modelship.registry._cli_tags import (
    add_expected_options,
    add_listing_options,
    add_tag_commands,
    expected_arguments,
    listing_arguments,
)
from modelship.registry._copy import copy_registry
from modelship.registry._layout import folder, is_document, manifest_key, number_of
from modelship.registry._open import storage_options_only, unnest_storage_options
from modelship.registry._registry import Registry, signer_of
from modelship.registry._states import version_state
from modelship.registry._store import expand_home, scheme_of

__all__ = ["add_commands"]


# A URL's scheme, as -o of download would be read if it were one (RFC 3986).
_URL = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*)://")


def _open(
    args: argparse.Namespace, url: str | None = None, options: dict[str, Any] | None = None
) -> Registry:
    """The registry at ``url`` (``args.url``) as every command opens it (see
    :func:`~modelship._cli_common.open_cli_registry`): an explicit ``-o signing_key=...``
    or ``-o verify_signatures=...`` wins over the environment, and one that contradicts
    ``--signing-key-env VAR`` or ``--no-verify-signatures`` is a ConfigError."""
    given = storage_options(args.option) if options is None else dict(options)
    if "signing_key" in given and args.signing_key_env not in (SIGNING_KEY_ENV, ""):
        raise ConfigError(
            f"-o signing_key=... and --signing-key-env {args.signing_key_env} both give the "
            "signing key; give one"
        )
    # Without a key, a signed registry is refused (never read unchecked) unless the
    # caller opts out with --no-verify-signatures (which reads; it never writes).
    if not args.verify_signatures and given.setdefault("verify_signatures", False) is not False:
        raise ConfigError(
            f"--no-verify-signatures and -o verify_signatures={given['verify_signatures']!r} "
            "contradict each other; give one"
        )
    return open_cli_registry(url or args.url, key_env=args.signing_key_env, **given)


def _print_json(data: Any) -> None:
    sys.stdout.write(_json.pretty(data) + "\n")


def _print_text(*fields: str, stderr: bool = False) -> None:
    """Print ``fields`` on one line to stdout (``stderr``: to stderr), tab-separated, each
    shown escaped where it is not printable: a name or version from a store may carry a
    terminal escape, a tab or a newline that would rewrite the line or forge columns and
    rows. What the stream's encoding cannot hold is escaped too, never a crash that exits
    1. A stream Python has none of (started closed, ``2>&-``, where ``modelship``'s main
    has not reopened it) gets nothing: never the other one (a message in the checksum
    ``download`` prints to stdout)."""
    stream: TextIO | None = sys.stderr if stderr else sys.stdout
    if stream is None:
        return
    encoding = stream.encoding or "utf-8"
    line = "\t".join(printable(field) for field in fields).rstrip()
    print(line.encode(encoding, "backslashreplace").decode(encoding), file=stream)


def _cmd_models(args: argparse.Namespace) -> int:
    models = _open(args).models()
    if args.json:
        _print_json(models)
    else:
        for name in models:
            _print_text(name)
    return EXIT_OK


def _cmd_versions(args: argparse.Namespace) -> int:
    reg = _open(args)
    options = listing_arguments(args)
    next_cursor = None
    if args.limit is not None:
        page = reg.versions(
            args.name, include_archived=args.all, limit=args.limit, cursor=args.cursor, **options
        )
        versions, archived, next_cursor = list(page), set(page.archived), page.next_cursor
    else:
        versions = reg.versions(args.name, include_archived=args.all, **options)
        # Two listings, not one snapshot: a version archived or restored between them is
        # marked as the second listing saw it, which is all a listing can promise anyway.
        live = {mv.version for mv in reg.versions(args.name)} if args.all else None
        archived = {mv.version for mv in versions if live is not None and mv.version not in live}
    if next_cursor is not None:
        _print_text(f"more versions: pass --cursor {next_cursor}", stderr=True)
    if args.json:
        documents = [mv.to_dict() for mv in versions]
        if args.all:
            for document in documents:
                document["archived"] = document["version"] in archived
        _print_json(
            documents if args.limit is None else {"versions": documents, "next_cursor": next_cursor}
        )
        return EXIT_OK
    aliases: dict[str, list[str]] = {}
    for alias, version in reg.aliases(args.name).items():
        aliases.setdefault(version, []).append("@" + alias)
    for mv in versions:
        metrics = " ".join(f"{k}={_json.number_text(v)}" for k, v in sorted(mv.metrics.items()))
        marks = " ".join(
            (["archived"] if mv.version in archived else []) + sorted(aliases.get(mv.version, []))
        )
        created = f"{mv.created_at:%Y-%m-%d %H:%M:%S}"
        _print_text(mv.version, created, mv.artifact.digest[:19], metrics, marks)
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    reg = _open(args)
    mv = reg.get(args.name, args.ref, include_archived=True)
    document = mv.to_dict()
    # As `versions --all --json` marks it; a purged version was refused by get() above.
    state = version_state(reg.store, mv.name, mv.version, signer_of(reg))
    document["archived"] = state is not VersionState.LIVE
    _print_json(document)
    return EXIT_OK


def _cmd_alias_set(args: argparse.Namespace) -> int:
    reg = _open(args)
    before = reg.set_alias(args.name, args.alias, args.version, **expected_arguments(args))
    alias = args.alias.lstrip("@")
    if before == check_version(args.version):
        # Nothing was written: the alias named the version already. A retried promotion
        # step (its --expected now stale) is a success, said so.
        _print_text(
            f"{args.name}@{alias} already names {args.version}; nothing changed", stderr=True
        )
    else:
        _print_text(f"{args.name}@{alias} -> {args.version}", stderr=True)
    return EXIT_OK


def _cmd_alias_remove(args: argparse.Namespace) -> int:
    _open(args).remove_alias(args.name, args.alias)
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    _print_json([move.to_dict() for move in _open(args).history(args.name)])
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    if args.all and args.ref is not None:
        # Dropping REF passed a version that does not exist (`verify URL fraud 99 --all`).
        raise ConfigError(
            f"registry verify: give a reference ({printable(args.ref)}) or --all (every "
            "version), not both"
        )
    reg = _open(args)
    refs, listing_failed = _verify_refs(reg, args)
    code = EXIT_OK
    reader_gone: BrokenPipeError | None = None
    unfollowed: ModelshipError | None = None  # `verify m @prod`: the alias's version gone
    for ref in refs:
        try:
            mv = _verify_one(reg, args.name, ref, listed=listing_failed is not None)
        except SigningKeyRequired:
            raise  # no key to check with: an error (exit 2), not a version that failed
        except IntegrityError as exc:
            code = args.exit_code_so_far = EXIT_FAILED  # main's code if the reader has gone
            _print_text(f"FAIL {args.name} {_verified(ref, listing_failed)}: {exc}", stderr=True)
            continue
        except (ArchivedVersion, VersionNotFound) as exc:
            if listing_failed is not None or not ref.startswith("@"):
                raise
            unfollowed = exc  # the alias's own FAIL line below says where it points
            continue
        if mv is None or reader_gone is not None:
            continue
        try:
            _print_text(f"ok   {mv.name} {mv.version} {mv.artifact.digest}")
        except BrokenPipeError as exc:
            # `verify --all | head -1`: the reader has what it wanted, the exit code
            # still answers for every version asked for, so the checking goes on.
            reader_gone = exc
    failures = _alias_failures(reg, args.name, None if args.all else refs[0])
    if listing_failed is not None and code == EXIT_OK:
        # The listing failed on something no version's own check met: still a failure.
        failures.insert(0, f"FAIL {args.name}: {listing_failed}")
    if unfollowed is not None and not failures:
        raise unfollowed  # no such alias: an error (exit 2), as before
    for line in failures:
        code = args.exit_code_so_far = EXIT_FAILED
        _print_text(line, stderr=True)
    if reader_gone is not None:
        raise reader_gone  # main silences stdout and returns exit_code_so_far
    return code


def _verified(ref: str, listing_failed: Exception | None) -> str:
    """``ref`` as a FAIL line of ``verify`` names it: a name from the versions folder
    (the listing failed) that is no version is named as the file it is."""
    if listing_failed is None:
        return ref
    try:
        check_version(ref)
    except InvalidName:
        return f"versions/{ref}.json"
    return ref


def _verify_refs(reg: Registry, args: argparse.Namespace) -> tuple[list[str], Exception | None]:
    """What ``verify`` checks, and why the listing failed (None: it did not).

    ``--all``: every version ``versions(include_archived=True)`` lists, in registration
    order. A listing fails on one damaged document (a manifest that is not JSON, which
    hides every other version from it): then every version the versions folder names is
    checked, each on its own, in version order (numbers as numbers), no manifest trusted.
    """
    if not args.all:
        return ["latest" if args.ref is None else args.ref], None
    try:
        return [mv.version for mv in reg.versions(args.name, include_archived=True)], None
    except SigningKeyRequired:
        raise
    except IntegrityError as exc:
        listed = reg.store.list(folder(args.name, "versions"))

        def order(version: str) -> list[tuple[int, int | str]]:
            return [(0, int(p)) if p.isdecimal() else (1, p) for p in re.split(r"(\d+)", version)]

        return sorted((number_of(n) for n in listed if is_document(n)), key=order), exc


def _verify_one(reg: Registry, name: str, ref: str, *, listed: bool) -> ModelVersion | None:
    """``reg.verify(name, ref)``; IntegrityError for a version that failed. ``listed``: ref
    is a name found in the versions folder, so one that is no version or has gone is a
    failure too (IntegrityError), and a purged version is skipped (None), as a listing
    leaves it out; otherwise those errors are raised as they are (exit 2)."""
    try:
        if listed:
            check_version(ref)  # a stray '@prod.json' or 'latest.json' names no version
        return reg.verify(name, ref)
    except SigningKeyRequired:
        raise  # no key to check with: an error (exit 2), not a version that failed
    except ArchivedVersion:
        if not listed:
            raise  # `verify m 3` of a purged version: an error, as before
        return None  # purged: its bytes are gone by design
    except (VersionNotFound, InvalidName) as exc:
        if not listed:
            raise
        raise IntegrityError(
            f"{exc}, yet its versions folder lists {ref}.json: restore its manifest from a copy, "
            "or remove that stray file"
        ) from None


def _alias_failures(reg: Registry, name: str, ref: str | None) -> list[str]:
    """A FAIL line for each alias of ``name`` (``ref`` an ``@alias``: that one; a version
    or ``latest``: none) that points at a version archived, purged or missing: a process
    killed between a delete and an alias move can leave one, and a deploy that follows
    the alias then fails."""
    if ref is not None and not ref.startswith("@"):
        return []
    try:
        aliases = reg.aliases(name)
    except SigningKeyRequired:
        raise
    except IntegrityError as exc:
        return [f"FAIL {name} aliases: {exc}"]
    if ref is not None:
        aliases = {a: v for a, v in aliases.items() if a == ref[1:]}
    lines: list[str] = []
    for alias, version in sorted(aliases.items()):
        try:
            reg.store.read(manifest_key(name, version))  # exists() would take a folder
        except FileNotFoundError:
            state = "missing (it has no manifest)"
        else:
            try:
                state = version_state(reg.store, name, version, signer_of(reg)).value
            except SigningKeyRequired:
                raise
            except IntegrityError as exc:
                lines.append(f"FAIL {name} @{alias}: {exc}")
                continue
        if state == VersionState.LIVE.value:
            continue
        url = hide_credentials(reg.url)
        lines.append(
            f"FAIL {name} @{alias}: the alias points at version {version}, which is {state}; "
            f"move it to a live version (`modelship registry alias {url} {name} {alias} "
            f"VERSION --expected {version}`) or remove it (`modelship registry unalias "
            f"{url} {name} {alias}`)"
        )
    return lines


def _cmd_download(args: argparse.Namespace) -> int:
    if args.output == "-":
        # The file appears only once its digest matched; bytes written to a pipe could not
        # be taken back from a tampered artifact.
        raise ConfigError(
            "download -o -: the artifact is written to a file only once it is verified, "
            "which stdout cannot do; give a file path (./- for a file named '-')"
        )
    if (url := _URL.match(args.output)) is not None:
        # Registry.download takes any string as a local path: s3://b/m.joblib would become
        # the folders ./s3:/b. A URL is refused, file:// too (its path is what to give).
        raise ConfigError(
            f"download -o {printable(hide_credentials(args.output))}: -o takes a local file "
            f"path, not a {url.group(1)}:// URL; download to a local file and upload it from "
            "there (for file:///x give /x; ./ before a path that really starts so)"
        )
    mv = _open(args).download(
        args.name,
        args.ref,
        args.output,
        overwrite=args.force,
        role=args.role,
        include_archived=args.include_archived,
        progress=False,
    )
    art = mv.artifact if args.role == "model" else mv.attachments[args.role]
    # sha256sum's format on stdout, so `... > model.sha256; sha256sum -c model.sha256` works:
    # the name the file was written under (a quoted '~/x' was expanded, as sha256sum won't).
    _write_bytes(_checksum_line(art.hexdigest, expand_home(args.output, "output")))
    _print_text(
        f"downloaded {mv.name} {mv.version} {args.role} ({art.size} bytes, {art.digest}) "
        f"to {args.output}",
        stderr=True,
    )
    return EXIT_OK


def _checksum_line(hexdigest: str, path: str) -> bytes:
    """The line ``sha256sum`` writes for ``path``, as bytes: ``sha256sum -c`` finds the file
    whatever its name.

    The name is the bytes the file system holds (``os.fsencode`` undoes the decoding of a
    name that is not UTF-8, which no text encoding could print). As GNU ``sha256sum``
    writes it, a backslash, newline or carriage return in the name is escaped and the line
    then starts with a backslash; every other byte is written as it is.

    Examples
    --------
    >>> _checksum_line("ab12", "build/model.bin")
    b'ab12  build/model.bin\\n'
    >>> _checksum_line("ab12", "a\\nb")
    b'\\\\ab12  a\\\\nb\\n'
    """
    name = os.fsencode(path)
    escaped = name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    prefix = b"\\" if escaped != name else b""
    return prefix + hexdigest.encode("ascii") + b"  " + escaped + b"\n"


def _write_bytes(data: bytes) -> None:
    """Write ``data`` to stdout as bytes, after any text written before it."""
    stream = sys.stdout
    if not isinstance(stream, io.TextIOWrapper):  # text only (io.StringIO): decoded leniently
        stream.write(data.decode("utf-8", "backslashreplace"))
        return
    stream.flush()
    stream.buffer.write(data)


def _version(args: argparse.Namespace) -> str:
    """The VERSION argument of delete, restore and purge; a reference is a ConfigError."""
    version: str = args.version
    if version == "latest" or version.startswith("@"):
        # The library refuses it too; this message names the command and its listing.
        raise ConfigError(
            f"registry {args.registry_command} takes a version, not the reference "
            f"{printable(version)!r}, which moves as versions are registered and aliases "
            "move: give the version itself (such as 3), as `modelship registry versions` "
            "lists it"
        )
    return version


def _cmd_delete(args: argparse.Namespace) -> int:
    version = _version(args)
    _open(args).delete(args.name, version, reason=args.reason)
    _print_text(f"archived {args.name} version {version}", stderr=True)
    return EXIT_OK


def _cmd_restore(args: argparse.Namespace) -> int:
    version = _version(args)
    _open(args).restore(args.name, version)
    _print_text(f"restored {args.name} version {version}", stderr=True)
    return EXIT_OK


def _cmd_purge(args: argparse.Namespace) -> int:
    version = _version(args)
    _open(args).purge(args.name, version)
    _print_text(f"purged {args.name} version {version}", stderr=True)
    return EXIT_OK


def _cmd_copy(args: argparse.Namespace) -> int:
    # The -o options are for the store that is not a local folder (copying /srv/models to
    # s3://...); a folder takes none, so they go to each remote side and only there.
    # open_registry's own options (-o signing_key=..., -o single_writer=true) go to both.
    # -o storage_options={...} (as pandas takes them) is unnested first, or it would stay
    # in `own` and reach a local folder too.
    given = unnest_storage_options(storage_options(args.option))
    options = storage_options_only(given)
    own = {k: v for k, v in given.items() if k not in options}
    src_remote, dst_remote = (scheme_of(url) != "file" for url in (args.src, args.dst))
    if options and not (src_remote or dst_remote):
        raise ConfigError(
            f"storage option(s) {sorted(options)} apply to neither side: {args.src} and "
            f"{args.dst} are both local folders; drop the -o options"
        )
    src = _open(args, args.src, {**own, **(options if src_remote else {})})
    dst = _open(args, args.dst, {**own, **(options if dst_remote else {})})
    report = copy_registry(src, dst, models=args.model or None)
    _print_json(
        {
            "models": list(report.models),
            "versions": report.versions,
            "blobs_copied": report.blobs_copied,
            "blobs_skipped": report.blobs_skipped,
            "bytes_copied": report.bytes_copied,
        }
    )
    return EXIT_OK


def _cmd_gc(args: argparse.Namespace) -> int:
    report = _open(args).gc(grace_seconds=args.grace_seconds, dry_run=args.dry_run)
    _print_json(
        {
            "dry_run": report.dry_run,
            "staging": list(report.staging),
            "dead_slots": list(report.dead_slots),
            "blobs": list(report.blobs),
            "uploads": list(report.uploads),
            "name_claims": list(report.name_claims),
        }
    )
    return EXIT_OK


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``modelship registry ...`` (models, versions, show, alias, verify, gc...).

    Each command sets ``func``, a handler taking the parsed arguments and returning the
    exit code: 0 success, 1 a verification failed, 2 an error.

    Examples
    --------
    >>> import argparse
    >>> from modelship.registry._cli import add_commands
    >>> parser = argparse.ArgumentParser(prog="modelship")
    >>> add_commands(parser.add_subparsers())
    >>> parser.parse_args(["registry", "show", "/srv/models", "fraud", "@production"]).ref
    '@production'
    """
    sub = subparsers

    def parent(*, short_option: bool) -> argparse.ArgumentParser:
        common = argparse.ArgumentParser(add_help=False)
        add_storage_options(common, short=short_option)
        common.add_argument(
            "--signing-key-env",
            default="MODELSHIP_SIGNING_KEY",
            metavar="VAR",
            help="environment variable holding the signing key (default MODELSHIP_SIGNING_KEY)",
        )
        common.add_argument(
            "--no-verify-signatures",
            dest="verify_signatures",
            action="store_false",
            help="read a signed registry without its key, checking no signature (trust the "
            "store); a command that writes still needs the key",
        )
        return common

    common = parent(short_option=True)
    reg = sub.add_parser("registry", help="inspect and manage a model registry")
    rsub = reg.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")

    def command(name: str, func: Any, help: str, *positional: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = rsub.add_parser(name, help=help, parents=[common])
        for arg in positional:
            p.add_argument(arg)
        p.set_defaults(func=func)
        return p

    p = command("models", _cmd_models, "list the models", "url")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command("versions", _cmd_versions, "list a model's versions", "url", "name")
    p.add_argument(
        "--all", action="store_true", help="include archived versions, marked 'archived'"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the manifests as JSON (with --all, each with an 'archived' flag)",
    )
    add_listing_options(p)
    add_tag_commands(rsub, common, _open)
    p = command("show", _cmd_show, "print a version's manifest as JSON", "url", "name")
    p.add_argument("ref", nargs="?", default="latest", help="version, latest or @alias")
    p = command("alias", _cmd_alias_set, "point an alias at a version", "url", "name")
    p.add_argument("alias")
    p.add_argument("version")
    add_expected_options(p, "the alias's version")
    command("unalias", _cmd_alias_remove, "remove an alias", "url", "name", "alias")
    command("history", _cmd_history, "print the alias history as JSON", "url", "name")
    p = command("verify", _cmd_verify, "check artifacts against their digests", "url", "name")
    p.add_argument("ref", nargs="?", help="version, latest (the default) or @alias")
    p.add_argument(
        "--all", action="store_true", help="verify every version (instead of a reference)"
    )
    p = rsub.add_parser(
        "download",
        help="write a version's artifact to a file, verified (prints its sha256)",
        parents=[parent(short_option=False)],
        description="Storage options are --option KEY=VALUE here: -o is the output file.",
    )
    for arg in ("url", "name"):
        p.add_argument(arg)
    p.add_argument("ref", help="version, latest or @alias")
    p.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="the file to write (not '-')"
    )
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.add_argument("--role", default="model", help="an attachment to write instead of the model")
    p.add_argument("--include-archived", action="store_true", help="allow an archived version")
    p.set_defaults(func=_cmd_download)
    for name, func, help in (
        ("delete", _cmd_delete, "archive a version (soft delete)"),
        ("restore", _cmd_restore, "bring back an archived version"),
        ("purge", _cmd_purge, "remove an archived version's bytes"),
    ):
        p = command(name, func, help, "url", "name")
        p.add_argument("version", help="the version itself (such as 3): not latest or @alias")
        if name == "delete":
            p.add_argument("--reason", default="")
    p = command(
        "copy",
        _cmd_copy,
        "copy models between registries (-o options go to the side that is not a folder)",
        "src",
        "dst",
    )
    p.add_argument("--model", action="append", help="copy only this model (repeatable)")
    p = command("gc", _cmd_gc, "remove what crashed writers left", "url")
    p.add_argument("--grace-seconds", type=float, default=3600.0)
    p.add_argument("--dry-run", action="store_true")
    # A signed registry opened without its key is an error (exit 2) in every command, not a
    # failed verification (exit 1, which main gives any other IntegrityError).
    exit_2_without_key(reg)
