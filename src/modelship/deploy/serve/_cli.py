"""``modelship serve REGISTRY MODEL [REF]`` and ``python -m modelship.deploy.serve``.

Exit codes: 0 after a graceful stop (SIGTERM or SIGINT), 2 when the server cannot start
or its model cannot be loaded, verified or warmed up (the message says why).

A registry URL given with its credentials shown as ``***`` (``https://***@host/models``)
is read whole from ``MODELSHIP_REGISTRY_URL`` when that variable holds it: so a parent
(the LocalDeployer) keeps the password off the command line, which every local user can
read, and a server run by hand takes its URL as given.

Examples
--------
>>> from modelship.deploy.serve._cli import main
>>> main(["memory://serve-cli-doc", "fraud", "1"])
2
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from modelship._cli_common import (
    EXIT_ERROR,
    SIGNING_KEY_ENV,
    add_storage_options,
    for_the_command_line,
    open_cli_registry,
    storage_options,
)
from modelship._endpoints import with_s3_endpoint
from modelship._shown import hide_credentials
from modelship.deploy.serve._config import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_PENDING_BYTES,
    DEFAULT_MAX_QUEUE,
    ServeConfig,
)
from modelship.deploy.serve._log import MIN_FINGERPRINT_KEY_BYTES, fingerprint_key_bytes
from modelship.errors import ConfigError, ModelshipError
from modelship.registry._open import storage_options_only

if TYPE_CHECKING:
    from modelship.registry import Registry

__all__ = [
    "MAX_SIGNING_KEY",
    "REGISTRY_URL_ENV",
    "add_arguments",
    "add_commands",
    "build_parser",
    "config_from_args",
    "main",
    "run_from_args",
]

REGISTRY_URL_ENV = "MODELSHIP_REGISTRY_URL"
"""Where the whole registry URL is read from when REGISTRY is given with ``***`` in it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``serve``'s arguments to ``parser`` (for wiring it as a ``modelship`` command).

    Examples
    --------
    >>> import argparse
    >>> from modelship.deploy.serve._cli import add_arguments
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> parser.parse_args(["./models", "fraud", "@production", "--port", "0"]).port
    0
    """
    parser.add_argument(
        "registry",
        help=f"registry folder or fsspec URL (one shown as scheme://***@host/... is read "
        f"whole from {REGISTRY_URL_ENV})",
    )
    parser.add_argument("model", help="model name")
    parser.add_argument(
        "ref", nargs="?", default="latest", help="version, 'latest' or '@alias' (default latest)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0: a free one)")
    parser.add_argument(
        "--fd", type=int, default=None, help="serve on this inherited, bound socket instead"
    )
    parser.add_argument(
        "--slot",
        default=None,
        help="deployment slot this server fills; adds a slot label to every metric",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest request body accepted (default {DEFAULT_MAX_BODY_BYTES})",
    )
    warm = parser.add_mutually_exclusive_group()
    warm.add_argument(
        "--warmup",
        default=None,
        metavar="JSON",
        help="rows predicted before turning ready, e.g. '[[0.0, 1.5]]' "
        "(default: one row of zeros sized by the model's n_features_in_)",
    )
    warm.add_argument("--no-warmup", action="store_true", help="turn ready without a warm-up")
    parser.add_argument(
        "--allow-nan", action="store_true", help="accept null cells (as NaN) in requests"
    )
    parser.add_argument(
        "--offload-seconds",
        type=float,
        default=ServeConfig().offload_seconds,
        help="a model slower than this per request runs on a worker thread "
        f"(default {ServeConfig().offload_seconds:g})",
    )
    parser.add_argument(
        "--v2-default-outputs",
        default=None,
        metavar="NAMES",
        help="outputs a v2 request naming none gets, e.g. 'predict' or "
        "'predict,predict_proba' (default: every output, as the protocol says)",
    )
    parser.add_argument(
        "--prediction-log",
        default=None,
        metavar="URL",
        help="folder or fsspec URL to log predictions to, in JSON-lines batches",
    )
    parser.add_argument(
        "--log-inputs",
        choices=("full", "fingerprint"),
        default="full",
        help="log each row's features, or only a fingerprint of them: HMAC-SHA-256 under "
        "--log-fingerprint-key-env's key, else a plain SHA-256, which anyone reading the "
        "log can reverse for rows of few possible values (default full)",
    )
    parser.add_argument(
        "--log-fingerprint-key-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the secret key (at least 16 bytes) the "
        "fingerprints of --log-inputs fingerprint are keyed with",
    )
    parser.add_argument(
        "--log-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="storage option for the prediction log (default: the registry's options when "
        "both URLs have the same scheme)",
    )
    parser.add_argument(
        "--log-batch-rows", type=int, default=1000, help="write a batch at this many rows"
    )
    parser.add_argument(
        "--log-flush-seconds", type=float, default=5.0, help="write a batch at least this often"
    )
    parser.add_argument(
        "--log-max-pending-bytes",
        type=int,
        default=DEFAULT_MAX_PENDING_BYTES,
        help="bytes of logged rows that may wait to be written; past it rows are dropped "
        f"and counted (default {DEFAULT_MAX_PENDING_BYTES})",
    )
    parser.add_argument(
        "--graceful-seconds",
        type=float,
        default=30.0,
        help="on SIGTERM, how long in-flight requests may take (default 30)",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=DEFAULT_MAX_QUEUE,
        metavar="N",
        help="inference requests held at once (read, waiting or predicted); past it a 503 "
        f"with Retry-After (default {DEFAULT_MAX_QUEUE})",
    )
    parser.add_argument(
        "--predict-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a request not answered by the model within this gets a 504, and /ready is "
        "503 while a model call runs longer (the call itself cannot be stopped; default: "
        "no deadline)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug"),
    )
    add_storage_options(parser)
    parser.add_argument(
        "--signing-key-env",
        default=SIGNING_KEY_ENV,
        metavar="VAR",
        help=f"environment variable holding the signing key (default {SIGNING_KEY_ENV}; '' "
        "reads none, for an unsigned registry while it is set)",
    )
    parser.add_argument(
        "--signing-key-fd",
        type=int,
        default=None,
        metavar="N",
        help="read the signing key from this inherited descriptor (a pipe, read to its end) "
        "instead: how a parent process hands over a key of any bytes",
    )


def build_parser() -> argparse.ArgumentParser:
    """The stand-alone parser of ``python -m modelship.deploy.serve``."""
    parser = argparse.ArgumentParser(
        prog="modelship serve",
        description="Serve one verified model version over HTTP (/predict, KServe v2, "
        "/health, /ready, /metrics).",
    )
    add_arguments(parser)
    return parser


def _options(pairs: Sequence[str], url: str) -> dict[str, Any]:
    # As the other modelship commands: an S3-compatible endpoint from the environment
    # (MODELSHIP_S3_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL), so a container
    # image needs no extra arguments to reach MinIO or moto.
    return with_s3_endpoint(url, storage_options(pairs))


def registry_url(given: str) -> str:
    """The registry URL to open: ``given``, or the URL in ``MODELSHIP_REGISTRY_URL`` when
    ``given`` is that URL with its credentials shown as ``***``.

    Examples
    --------
    >>> import os
    >>> os.environ[REGISTRY_URL_ENV] = "https://ci:s3cret@models.example.com/r"
    >>> registry_url("https://***@models.example.com/r")
    'https://ci:s3cret@models.example.com/r'
    >>> registry_url("https://***@elsewhere.example.com/r")  # another URL: as given
    'https://***@elsewhere.example.com/r'
    >>> del os.environ[REGISTRY_URL_ENV]
    """
    whole = os.environ.get(REGISTRY_URL_ENV)
    if whole and hide_credentials(whole) == given:
        return whole
    return given


MAX_SIGNING_KEY = 1 << 16
"""Bytes read from ``--signing-key-fd`` at most (a key is 32): more is refused."""
_MAX_FD = 1 << 31  # descriptors are C ints: 0 to 2**31 - 1


def _open(args: argparse.Namespace) -> Registry:
    """The registry to serve, opened as every command opens one
    (:func:`~modelship._cli_common.open_cli_registry`), with its signing key from
    ``-o signing_key=...`` (which wins over the environment), else from
    ``--signing-key-fd``, else from ``--signing-key-env``'s variable; ``-o signing_key=...``
    with ``--signing-key-fd`` or ``--signing-key-env VAR`` is a ConfigError."""
    url = registry_url(args.registry)
    options = _options(args.option, url)
    key_env = args.signing_key_env
    key_from: str | None = None  # an explicit key's origin, for the message refusing another key
    if "signing_key" in options:
        if args.signing_key_fd is not None:
            raise ConfigError(
                "-o signing_key=... and --signing-key-fd both give the signing key; give one"
            )
        if key_env not in (SIGNING_KEY_ENV, ""):
            raise ConfigError(
                f"-o signing_key=... and --signing-key-env {key_env} both give the signing "
                "key; give one"
            )
    elif args.signing_key_fd is not None:
        options["signing_key"] = _key_from_fd(args.signing_key_fd)
        key_env = ""  # the descriptor's key wins over the environment's
        key_from = f"--signing-key-fd {args.signing_key_fd}"
    return open_cli_registry(url, key_env=key_env, key_from=key_from, **options)


def _key_from_fd(fd: int) -> bytes:
    """The signing key read from the inherited descriptor ``fd`` (a pipe, to its end)."""
    if not 0 <= fd < _MAX_FD:  # os.fdopen raises ValueError, OverflowError for these
        raise ConfigError(
            f"--signing-key-fd {fd} is no file descriptor (0 to {_MAX_FD - 1}); pass the "
            "descriptor of a pipe this process inherited, or leave --signing-key-fd out"
        )
    try:
        with os.fdopen(fd, "rb") as pipe:
            key = pipe.read(MAX_SIGNING_KEY + 1)  # to its end, or one byte too many
    except OSError as exc:
        raise ConfigError(
            f"--signing-key-fd {fd} cannot be read ({exc.strerror}); pass the descriptor "
            "of a pipe this process inherited, or leave --signing-key-fd out"
        ) from None
    if len(key) > MAX_SIGNING_KEY:
        raise ConfigError(f"--signing-key-fd {fd} holds over {MAX_SIGNING_KEY} bytes; not a key")
    return key


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    """The :class:`ServeConfig` that parsed ``serve`` arguments describe (ConfigError if a
    value is refused); the LocalDeployer checks its ``server_args`` with it too.

    It reads no environment: ``--log-fingerprint-key-env``'s variable is read by
    :func:`run_from_args` only, in the server's own environment (a LocalDeployer's spec
    sets it for its servers, not for itself), so the config has no ``fingerprint_key``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> config_from_args(parser.parse_args(["./models", "fraud", "--no-warmup"])).warmup
    False
    """
    warmup: Any = None
    if args.no_warmup:
        warmup = False
    elif args.warmup is not None:
        try:
            warmup = json.loads(args.warmup)
        except ValueError as exc:
            raise ConfigError(f"--warmup {args.warmup!r} is not JSON: {exc}") from exc
    key_env = args.log_fingerprint_key_env
    if key_env is not None:
        if not key_env:
            raise ConfigError(
                "--log-fingerprint-key-env is empty; give the name of the environment "
                "variable that holds the fingerprint key"
            )
        if args.log_inputs != "fingerprint":
            raise ConfigError(
                f"--log-fingerprint-key-env {key_env} is given but --log-inputs is "
                f"{args.log_inputs!r}: the rows' features are logged, not fingerprints; add "
                "--log-inputs fingerprint, or leave --log-fingerprint-key-env out"
            )
    if args.max_queue < 1:
        raise ConfigError(
            f"--max-queue must be a whole number >= 1, got {args.max_queue}: the inference "
            "requests the server holds at once"
        )
    timeout = args.predict_timeout
    if timeout is not None and not 0 < timeout < float("inf"):
        raise ConfigError(
            f"--predict-timeout must be a number of seconds > 0, got {timeout:g}; leave it "
            "out for no deadline"
        )
    default_outputs = None
    if args.v2_default_outputs is not None:
        default_outputs = [name.strip() for name in args.v2_default_outputs.split(",")]
    log_url = args.prediction_log or ""
    same_store = bool(log_url) and _scheme(log_url) == _scheme(args.registry)
    if args.log_option or not same_store:
        log_options = _options(args.log_option, log_url)
    else:
        # The registry's storage options only: open_registry's own (single_writer, user,
        # signing_key...) would reach fsspec, which fails on them at every write, and a
        # signing key must not reach a store's client.
        log_options = with_s3_endpoint(log_url, storage_options_only(storage_options(args.option)))
    return ServeConfig(
        log_storage_options=log_options,
        max_body_bytes=args.max_body_bytes,
        warmup=warmup,
        allow_nan=args.allow_nan,
        offload_seconds=args.offload_seconds,
        prediction_log=args.prediction_log,
        log_inputs=args.log_inputs,
        log_batch_rows=args.log_batch_rows,
        log_flush_seconds=args.log_flush_seconds,
        log_max_pending_bytes=args.log_max_pending_bytes,
        graceful_seconds=args.graceful_seconds,
        max_queue=args.max_queue,
        predict_timeout=args.predict_timeout,
        v2_default_outputs=default_outputs,
        slot=args.slot,
    )


def fingerprint_key_from_env(name: str) -> bytes:
    """The fingerprint key in the environment variable ``name`` (its bytes, as the
    environment holds them); unset, empty or too short is a ConfigError naming the
    variable, never showing its value.

    Examples
    --------
    >>> import os
    >>> os.environ["MODELSHIP_DOC_FINGERPRINT_KEY"] = "k" * 16
    >>> fingerprint_key_from_env("MODELSHIP_DOC_FINGERPRINT_KEY")
    b'kkkkkkkkkkkkkkkk'
    >>> del os.environ["MODELSHIP_DOC_FINGERPRINT_KEY"]
    """
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"--log-fingerprint-key-env {name}: the environment variable {name} is unset or "
            f"empty; set it to a secret of at least {MIN_FINGERPRINT_KEY_BYTES} bytes "
            "(python -c 'import secrets; print(secrets.token_hex(32))'), or leave "
            "--log-fingerprint-key-env out"
        )
    try:
        key = fingerprint_key_bytes(os.fsencode(value), f"the environment variable {name}")
    except ConfigError as exc:
        raise ConfigError(f"--log-fingerprint-key-env {name}: {exc}") from None
    assert key is not None  # a non-empty value
    return key


def run_from_args(args: argparse.Namespace) -> int:
    """Run the server from parsed arguments; the exit status (errors printed to stderr)."""
    try:
        # Inside the try: without the serve extra the import raises MissingDependency,
        # which is an exit 2 with its message, not a traceback.
        from modelship.deploy.serve._run import run

        config = config_from_args(args)
        if args.log_fingerprint_key_env is not None:
            key = fingerprint_key_from_env(args.log_fingerprint_key_env)
            config = attrs.evolve(config, fingerprint_key=key)
        return run(
            _open(args),
            args.model,
            args.ref,
            host=args.host,
            port=args.port,
            fd=args.fd,
            config=config,
            log_level=args.log_level,
            announce=sys.stdout,
        )
    except ModelshipError as exc:
        print(f"modelship serve: error: {hide_credentials(_said(exc, args))}", file=sys.stderr)
        return EXIT_ERROR


def _said(exc: ModelshipError, args: argparse.Namespace) -> str:
    """What ``modelship serve`` says of ``exc``: a missing version with the command that
    lists the versions (not the Python call), a port in use with what to do.

    Examples
    --------
    >>> import errno
    >>> from modelship.errors import VersionNotFound
    >>> args = argparse.Namespace(registry="./m", model="fraud", fd=None)
    >>> _said(VersionNotFound("fraud has no version '9'"), args).split("`")[1]
    'modelship registry versions ./m fraud'
    >>> busy = ConfigError("cannot listen on 127.0.0.1:8080: Address already in use")
    >>> busy.__cause__ = OSError(errno.EADDRINUSE, "Address already in use")
    >>> _said(busy, args).endswith("choose another --port (or --port 0 for any free one)")
    True
    """
    said = str(for_the_command_line(exc, args.registry, args.model))
    cause = exc.__cause__
    if (
        isinstance(cause, OSError)
        and cause.errno == errno.EADDRINUSE
        and getattr(args, "fd", None) is None
    ):
        said += "; choose another --port (or --port 0 for any free one)"
    return said


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``modelship serve`` command's hook (see :data:`modelship.cli.COMMANDS`).

    Examples
    --------
    >>> from modelship.cli import build_parser
    >>> build_parser().parse_args(["serve", "/srv/models", "fraud", "@production"]).model
    'fraud'
    """
    parser = subparsers.add_parser(
        "serve",
        help="serve one verified model version over HTTP",
        description="Serve one verified model version over HTTP (/predict, KServe v2, "
        "/health, /ready, /metrics). Needs the 'serve' extra.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run_from_args)


def main(argv: list[str] | None = None) -> int:
    """``modelship serve``'s entry point; returns the exit status (0 after a graceful
    stop, 2 when the server cannot start: the message says why).

    Examples
    --------
    >>> from modelship.deploy.serve import main
    >>> main(["memory://serve-main-doc", "fraud", "--port", "99999"])
    2
    """
    return run_from_args(build_parser().parse_args(argv))
