"""``run``: serve one registry version with uvicorn until SIGTERM, then drain and exit.

Shutdown is uvicorn's graceful one: on SIGTERM (or SIGINT) the listening socket is closed
first, so no new connection is accepted; requests in flight are finished (for at most
``ServeConfig.graceful_seconds``); idle keep-alive connections are closed; then the app's
lifespan ends, which flushes the prediction log. That is what Kubernetes needs for a
rollout without failed requests.

A watchdog thread started at the signal ends the process (``os._exit``) once
``graceful_seconds`` + :data:`~modelship.deploy.serve._config.FINAL_FLUSH_SECONDS` have
passed, whatever holds the event loop (a model called inline that hangs): the process
exits within the bound the docs promise, with the status a graceful stop has.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from modelship.deploy.serve._app import ModelServer, _already_open
from modelship.deploy.serve._config import FINAL_FLUSH_SECONDS, ServeConfig
from modelship.errors import ConfigError, MissingDependency

__all__ = ["run"]

BACKLOG = 2048
"""Pending-connection queue of the listening socket (uvicorn's own default)."""


def _listening_socket(host: str, port: int, fd: int | None) -> socket.socket:
    if fd is not None:
        try:
            sock = socket.socket(fileno=fd)
        except (OSError, ValueError, OverflowError) as exc:  # -1; past the C int range
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"--fd {fd} is not an open socket ({reason}); pass the descriptor of a "
                "listening socket this process inherited, or leave --fd out"
            ) from None
        if sock.type != socket.SOCK_STREAM:
            sock.detach()
            raise ConfigError(f"--fd {fd} is not a stream socket")
        family = sock.family
        if family not in (socket.AF_INET, socket.AF_INET6):
            # A Unix socket has no host and port to announce or to reach the server at.
            sock.detach()
            name = family.name if isinstance(family, socket.AddressFamily) else family
            raise ConfigError(
                f"--fd {fd} is an {name} socket; the server needs a TCP socket "
                "(AF_INET or AF_INET6) bound to a host and port"
            )
        if sock.getsockname()[1] == 0:
            # Not bound: listen() would bind it to every interface (0.0.0.0 or ::) on a
            # port the kernel picks, not the host the server is meant to be reached at.
            sock.detach()
            raise ConfigError(
                f"--fd {fd} is a socket bound to no address (its port is 0): listening on "
                "it would bind it to every interface on a random port; bind it to the host "
                "and port to serve on before handing it over "
                "(sock.bind(('127.0.0.1', 8080))), or leave --fd out"
            )
        try:
            sock.listen(BACKLOG)
        except OSError as exc:
            sock.detach()
            raise ConfigError(f"--fd {fd} cannot listen: {exc.strerror}") from None
        return sock
    if not 0 <= port <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _log_to_stderr(level: str) -> None:
    log = logging.getLogger("modelship.serve")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("modelship serve: %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())


WATCHDOG_FLUSH_SECONDS = 1.0
"""Of the bound the watchdog keeps (``graceful_seconds`` + ``FINAL_FLUSH_SECONDS``), the
last second is its own flush of the prediction log, when the lifespan's did not begin."""


def _watchdog(
    server: ModelServer, stopped: threading.Event, status: Callable[[], int], grace: float
) -> None:
    """On its own thread from the first SIGTERM or SIGINT: if the process has not stopped
    (``stopped``) within ``grace`` + ``FINAL_FLUSH_SECONDS`` seconds, flush what can be
    flushed and end it with ``status()``. The event loop may be held (a model called
    inline that hangs), so nothing here waits for it."""
    began = time.monotonic()
    first = max(grace, grace + FINAL_FLUSH_SECONDS - WATCHDOG_FLUSH_SECONDS)
    if stopped.wait(first):
        return
    logger = logging.getLogger("modelship.serve")
    logger.error(
        "the server did not stop within --graceful-seconds %g + %g s of the signal "
        "(something holds its event loop: a model call made inline that does not "
        "return); exiting now",
        grace,
        FINAL_FLUSH_SECONDS,
    )
    # close() does nothing when the lifespan's close began (that flush is bounded
    # already: it is given the rest of the bound to end the process itself). Its answer,
    # taken under its lock, says which: no read of the flag before it could race it.
    flushing = False  # whether the lifespan's own close is under way
    left = grace + FINAL_FLUSH_SECONDS - (time.monotonic() - began)
    try:
        flushing = not server.close(max(0.0, min(WATCHDOG_FLUSH_SECONDS, left)))
    except Exception:  # the exit must happen whatever the flush does
        logger.exception("the final flush of the prediction log failed")
    if flushing and stopped.wait(
        max(0.0, grace + FINAL_FLUSH_SECONDS - (time.monotonic() - began))
    ):
        return  # the lifespan's own flush finished in time: the process exits itself
    for stream in [*logger.handlers, sys.stdout, sys.stderr]:
        with contextlib.suppress(Exception):  # one that cannot flush must not stop the exit
            stream.flush()
    os._exit(status())


def _watched(
    uvicorn: Any, uv_config: Any, server: ModelServer, status: Callable[[], int]
) -> tuple[Any, threading.Event]:
    """A ``uvicorn.Server`` whose first SIGTERM or SIGINT also starts :func:`_watchdog`,
    and the event that tells the watchdog the process is stopping by itself."""
    stopped = threading.Event()
    grace = server.config.graceful_seconds
    watching: list[threading.Thread] = []

    class _Server(uvicorn.Server):  # type: ignore[misc]
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # In the main thread, as a signal handler: start the watchdog at the first
            # signal (starting a thread does not wait for the event loop).
            if not watching:
                watchdog = threading.Thread(
                    target=_watchdog,
                    args=(server, stopped, status, grace),
                    name="modelship-exit-watchdog",
                    daemon=True,
                )
                watching.append(watchdog)
                watchdog.start()
            super().handle_exit(sig, frame)

    return _Server(uv_config), stopped


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the signal it caught once it has drained; landing here turns
    # that into a normal return, so a graceful stop exits with status 0.
    raise SystemExit(0)


def run(  # noqa: PLR0913 - public entry point of the serve command: one keyword-only option per CLI flag
    registry: Any,
    name: str,
    ref: str = "latest",
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    fd: int | None = None,
    config: ServeConfig | None = None,
    storage_options: dict[str, Any] | None = None,
    signing_key: bytes | str | None = None,
    log_level: str = "warning",
    announce: TextIO | None = None,
) -> int:
    """Serve ``name`` at ``ref`` from ``registry`` over HTTP until stopped; the exit status.

    ``ref`` is resolved to one version before the socket opens, so a missing version
    fails at once. The artifact is then loaded and verified on a worker thread while the
    server already answers liveness; it turns ready after the warm-up. If loading or the
    warm-up fails, the server stops and returns 2. A SIGTERM drains in-flight requests
    and returns 0.

    Parameters
    ----------
    registry : str or Registry
        A registry URL (any fsspec URL) or an open registry.
    name, ref : str
        The model and the version reference (``"3"``, ``"latest"``, ``"@production"``).
    host, port : str, int
        Where to listen; port 0 picks a free port.
    fd : int, optional
        Serve on this already bound socket (inherited from a parent that chose the
        port), instead of binding ``host:port``; no port race. An unbound one is a
        ConfigError (listening would bind it to every interface).
    config : ServeConfig, optional
        Body limit, warm-up, prediction log, grace period.
    storage_options : dict, optional
        What :func:`~modelship.open_registry` is given besides a registry URL.
    signing_key : bytes or str, optional
        The registry's signing key for a registry URL; given here and as
        ``storage_options["signing_key"]`` too, a ConfigError.
    announce : text stream, optional
        Receives one JSON line once listening: ``{"event": "listening", "url": ...}``.

    Examples
    --------
    >>> from modelship.deploy.serve import run
    >>> run("memory://run-doc-empty", "fraud", "1")
    Traceback (most recent call last):
    ...
    modelship.errors.ModelNotFound: ...
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the serve extra installs it
        raise MissingDependency(
            "modelship serve needs uvicorn: pip install 'modelship[serve]'"
        ) from exc
    import modelship as ms

    config = config if config is not None else ServeConfig()
    _log_to_stderr(log_level)
    if isinstance(registry, str) or hasattr(registry, "__fspath__"):
        options = dict(storage_options or {})
        if signing_key is not None:
            if "signing_key" in options:
                raise ConfigError(
                    "signing_key is given both as run(signing_key=...) and in "
                    "storage_options; give one"
                )
            options["signing_key"] = signing_key
        registry = ms.open_registry(registry, **options)
    elif signing_key is not None or storage_options:
        raise ConfigError(_already_open(signing_key, storage_options))
    mv = registry.get(name, ref)
    failures: list[BaseException] = []
    uv_server: Any = None

    def stop(exc: BaseException) -> None:
        failures.append(exc)
        if uv_server is not None:
            uv_server.should_exit = True

    server = ModelServer(
        lambda: registry.load(name, mv.version),
        name=name,
        version=mv.version,
        config=config,
        digest=mv.artifact.digest,
        on_failure=stop,
    )
    sock = _listening_socket(host, port, fd)
    bound_host, bound_port = sock.getsockname()[:2]
    uv_config = uvicorn.Config(
        server.app,
        lifespan="on",
        access_log=False,
        log_level=log_level,
        # uvicorn's annotation says int, but it waits with asyncio.timeout, which takes
        # seconds as a float: 0.2 s stays 0.2 s, 2.5 s is not cut to 2.
        timeout_graceful_shutdown=config.graceful_seconds,  # type: ignore[arg-type]
    )
    # stopped is set once run() is returning: the watchdog then has no work.
    uv_server, stopped = _watched(uvicorn, uv_config, server, lambda: 2 if failures else 0)
    if announce is not None:
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        line = {
            "event": "listening",
            "url": f"http://{url_host}:{bound_port}",
            "model": name,
            "version": mv.version,
        }
        announce.write(json.dumps(line) + "\n")
        announce.flush()
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        uv_server.run(sockets=[sock])
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the SIGINT it drained on; the stop was graceful
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
        sock.close()
        stopped.set()
    return 2 if failures else 0
