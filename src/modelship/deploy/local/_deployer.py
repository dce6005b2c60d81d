"""LocalDeployer: slots are real ``modelship serve`` processes on 127.0.0.1 behind a router.

Nothing it starts outlives it: ``close()`` (or leaving the ``with`` block) drains and
stops every server, a finaliser kills them if the deployer is dropped unclosed, and the
kernel kills them if the Python process dies (``PR_SET_PDEATHSIG``; Linux). Processes are
started from one long-lived thread of the deployer, because the kernel ties that signal
to the thread that forked the child, not to the process.

No secret is put on a server's command line, which every local user can read in
``/proc/PID/cmdline``: the registry URL is shown there with its credentials as ``***``
and given whole in the server's environment (``MODELSHIP_REGISTRY_URL``), as is a spec's
``env``; the registry's signing key is read by the server from a pipe (any bytes, which
an environment variable, ending at a NUL byte, could not carry).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import re
import reprlib
import sys
import threading
import time
import urllib.parse
import weakref
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import attrs

from modelship._cli_common import storage_options
from modelship._names import check_model_name, check_version
from modelship._params import Constraints, Interval, check, check_parameters
from modelship._shown import brief, hide_credentials
from modelship.deploy._errors import DeployError, SlotInUse, SlotNotFound
from modelship.deploy._lock import ProcessRolloutLock
from modelship.deploy._protocol import (
    DeployerCapabilities,
    DeployerState,
    SlotHealth,
    SlotState,
    check_weights,
)
from modelship.deploy._spec import DeploymentSpec
from modelship.deploy.local._process import (
    MAX_KEY,
    PATH_SAFE,
    ServerProcess,
    Spawner,
    kill_all,
    stop_all,
)
from modelship.deploy.local._router import Router
from modelship.deploy.serve._cli import REGISTRY_URL_ENV, fingerprint_key_from_env
from modelship.deploy.serve._config import FINAL_FLUSH_SECONDS, ServeConfig
from modelship.deploy.serve._log import fingerprint_key_bytes
from modelship.errors import ConfigError, MissingDependency, ModelshipError
from modelship.registry import FsspecStore, Registry
from modelship.registry._layout import SIGNING_POLICY
from modelship.registry._open import storage_options_only
from modelship.registry._registry import signer_of, signing_key_of

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LocalDeployer"]

_SLOTS = ("blue", "green")  # one service, as a Kubernetes app: max_slots=2 by name
_POLL = 0.05  # seconds between readiness probes: a server turns ready in ~1 s
#: The most probes one wait_ready makes: the deadline ends it first (a clock that stood
#: still would not); timeout / _POLL overflows an int for a timeout of 1e307.
_MAX_POLLS = 1e12
_TIMEOUT = Interval(float, None, None)  # wait_ready's, as the InMemoryDeployer's: finite
#: Seconds a server takes to exit once its shutdown is done (uvicorn's last steps, the
#: interpreter's teardown): 0.4 to 0.7 s here for an idle one; 3 s leaves a loaded
#: machine four times that before the SIGKILL.
_EXIT_SECONDS = 3.0
#: Seconds a server never seen ready and given no traffic has between SIGTERM and SIGKILL
#: (at most graceful_seconds): it answered no prediction, so it has none to finish or log.
_UNREADY_SECONDS = 5.0

# The flags the deployer passes to every server itself, with what to use instead. argparse
# reads any unambiguous prefix of a flag as the flag, so "--sl" is refused as "--slot" is.
_MANAGED_FLAGS = {
    "--host": "servers listen on 127.0.0.1 behind the router; send requests to .endpoint",
    "--port": "the deployer hands each server a socket on a free port (--fd)",
    "--fd": "the deployer hands each server its socket",
    "--slot": "the deployer names each server's slot in apply()",
    "--graceful-seconds": "pass LocalDeployer(graceful_seconds=...)",
    "--signing-key-fd": "the deployer hands each server the key the registry was opened with",
    "--signing-key-env": (
        "the deployer hands each server the key the registry was opened with, and none "
        "(not the environment's MODELSHIP_SIGNING_KEY) when it was opened without one"
    ),
}


#: What ``modelship serve`` answers a GET of a path it does not route (405: a POST-only
#: route): its routes are fixed when it starts, so the answer never changes.
_NO_ROUTE = (404, 405)
#: The GET routes of ``modelship serve`` a healthcheck can probe (serve/_app.py, _build);
#: ``{name}`` and ``{version}`` are the model and version the slot serves.
_HEALTH_ROUTES = (
    "/health",
    "/ready",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/{name}/ready",
    "/v2/models/{name}/versions/{version}/ready",
)


@attrs.define(eq=False)
class _Spawn:
    """One server start handed to the spawner thread, and whether its caller still waits.

    Both threads change it under the deployer's lock, so the server is either tracked
    (its pid kept for ``close()``) or stopped, whenever the caller is interrupted.
    """

    proc: ServerProcess | None = None
    abandoned: bool = False


@attrs.define(eq=False)
class _Slot:
    model: str
    version: str
    proc: ServerProcess
    weight: int = 0
    ready: bool = False
    health_path: str | None = None  # the spec's healthcheck.path; None: no spec given


#: A v2 model readiness path: ``/v2/models/{name}/ready`` or its ``/versions/{version}`` form.
_V2_MODEL_READY = re.compile(r"/v2/models/([^/?#]+)(?:/versions/([^/?#]+))?/ready")
#: Bytes of a refusal's body read for its reason (ours is a one-line JSON object).
_REASON_BYTES = 4096


def _no_route_message(slot: str, s: _Slot, path: str, status: int) -> str:
    """Why the spec's ``healthcheck.path`` will never turn ready on ``slot``'s server, with
    the reason the server gave and what to probe instead."""
    said = _refusal_reason(s.proc, path)
    head = (
        f"the spec's healthcheck.path {brief(path)} answers {status} on {slot}'s "
        f"modelship serve{f' ({said})' if said else ''}, and always will"
    )
    v2 = _V2_MODEL_READY.fullmatch(path.partition("?")[0])
    if status == 404 and v2 is not None:
        name = urllib.parse.unquote(v2.group(1))
        version = v2.group(2)
        if name != s.model or (version is not None and urllib.parse.unquote(version) != s.version):
            pinned = " (a path naming one version fails every rollout of another)"
            return (
                f"{head}: this server serves model {brief(s.model)} version "
                f"{brief(s.version)}{pinned if version is not None else ''}; probe "
                f"/v2/models/{{name}}/ready (here {brief(f'/v2/models/{s.model}/ready')}), "
                "which answers for whatever version the slot serves, or /v2/health/ready"
            )
    return f"{head}: it is no GET route of the server; use one of {', '.join(_HEALTH_ROUTES)}"


def _refusal_reason(proc: ServerProcess, path: str) -> str:
    """``said 'reason'``: the ``"error"`` of the server's answer to ``GET path`` (one more
    GET, bounded: 2 s, :data:`_REASON_BYTES` bytes, the reason shown cut), or ``""`` if
    it gives none (it stopped, or the body is not ours)."""
    conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=2.0)
    try:
        conn.request("GET", urllib.parse.quote(path, safe=PATH_SAFE))
        body = conn.getresponse().read(_REASON_BYTES)
        reason = json.loads(body.decode("utf-8")).get("error")
    except Exception:  # no reason to give: the message says what it knows without one
        return ""
    finally:
        conn.close()
    return f"it said {brief(reason)}" if isinstance(reason, str) and reason else ""


def _carried(text: str) -> bool:
    """Whether a process argument or environment variable can carry ``text`` (no NUL, and
    encodable as the system encodes them: a lone surrogate such as ``'\\ud800'`` is not)."""
    if "\x00" in text:
        return False
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True


#: The modules a server imports from the ``serve`` extra.
_SERVE_MODULES = ("uvicorn", "starlette", "orjson", "prometheus_client")


def _importable(name: str) -> bool:
    """Whether the module ``name`` can be imported here: one already imported counts, even
    one ``find_spec`` cannot look at (a module set in ``sys.modules`` with no ``__spec__``
    makes it raise ValueError).

    Examples
    --------
    >>> _importable("json"), _importable("modelship_no_such_module")
    (True, False)
    """
    if sys.modules.get(name) is not None:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent that is no package; a spec-less module
        return False


def _check_serve_extra() -> None:
    """Raise :class:`MissingDependency` unless this interpreter, which runs the servers
    (``python -m modelship.deploy.serve``), has the ``serve`` extra: without it each server
    dies at start, and every rollout would abort and be recorded as if the version were
    broken.

    Examples
    --------
    >>> _check_serve_extra()  # the serve extra is installed here
    """
    missing = [name for name in _SERVE_MODULES if not _importable(name)]
    if missing:
        raise MissingDependency(
            f"the LocalDeployer's servers need the 'serve' extra ({', '.join(missing)} "
            "missing): pip install 'modelship[serve]'"
        )


def _check_server_arg(
    i: int, arg: object, what: str = "server_args", written: object = None
) -> None:
    """Refuse what ``modelship serve`` cannot be given, before any server starts; shown
    as ``written`` if given (a spec's argument before ``$(NAME)`` was expanded in it: a
    variable may hold a secret)."""
    if not isinstance(arg, str):
        raise ConfigError(f"{what}[{i}] must be a string, got {type(arg).__name__} (quote it)")
    shown = reprlib.repr(arg if written is None else written)
    if not _carried(arg):
        raise ConfigError(
            f"{what}[{i}] {shown} holds a NUL character or text that cannot be "
            "encoded, which no process argument can carry; remove it"
        )
    flag = arg.partition("=")[0]
    if flag.startswith("--") and len(flag) > 2:
        for managed, instead in _MANAGED_FLAGS.items():
            if managed.startswith(flag):
                raise ConfigError(
                    f"{what}[{i}] {shown} sets {managed}, which the "
                    f"LocalDeployer sets for every server itself: {instead}"
                )


def _serve_args(
    url: str,
    server_args: Sequence[str],
    what: str = "server_args",
    stops: str = "every server",
    *,
    written: Sequence[object] | None = None,
) -> tuple[argparse.Namespace, ServeConfig]:
    """What a server will run with, read from ``server_args`` as ``modelship serve``
    reads them: its parsed arguments and its configuration; anything it would refuse is
    refused here, before any server starts, but for the variable
    ``--log-fingerprint-key-env`` names, which a spec's ``env`` may set: :meth:`apply`
    checks it (:func:`_check_fingerprint_key`). A refusal shows the arguments as
    ``written`` (default: ``server_args``)."""
    from modelship.deploy.serve._cli import add_arguments, config_from_args

    shown = reprlib.repr(list(server_args if written is None else written))

    def refused(message: str) -> ConfigError:
        return ConfigError(f"{what} {shown} would stop {stops}: {message}")

    class Refusing(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            raise refused(f"modelship serve says {message}; see `modelship serve --help`")

    parser = Refusing(prog="modelship serve", add_help=False)
    add_arguments(parser)
    # With the version the deployer gives every server: a stray positional is refused.
    args = parser.parse_args([url, "model", "1", *server_args])  # Refusing names them
    # Read as the server reads them, so every spelling is found (-o k=v, -ok=v,
    # --option=k=v); the value is a secret and is not shown.
    if any(option.partition("=")[0] == "signing_key" for option in args.option):
        raise ConfigError(
            f"{what} give the servers a signing key (-o signing_key=...): the LocalDeployer "
            "hands each server the key its registry was opened with itself (a server given "
            "a key both ways exits at start), and no secret goes on a command line, which "
            "every local user can read; remove it and open the deployer's registry with "
            "the key: ms.open_registry(url, signing_key=...)"
        )
    try:
        return args, config_from_args(args)
    except ConfigError as exc:
        raise refused(str(exc)) from None


def _refused_as_written(
    url: str,
    server_args: Sequence[str],
    written: Sequence[str],
    expanded: Sequence[str],
    uses: Sequence[Sequence[str]],
) -> ConfigError:
    """Why ``modelship serve`` refuses a spec's args ``expanded`` from ``written`` (arg
    ``i`` expands the variables ``uses[i]``), in words that hold no variable's value (it
    may be a secret): never what the server says of the expanded args, where a value may
    appear in any form (quoted, escaped, or as a short text that other words hold too).

    The args are checked again as written, each ``$(NAME)`` unexpanded, and that check's
    refusal is shown; if it passes, the refusal comes from a value: the arg it is in is
    named, as written.

    Examples
    --------
    >>> written, expanded = ["--log-option", "$(K)=v"], ["--log-option", "=v"]
    >>> print(_refused_as_written("reg", [], written, expanded, [[], ["K"]]))
    ... # doctest: +NORMALIZE_WHITESPACE
    deployment.containers[0].args[1] '$(K)=v' (the value of --log-option) would stop the
    server once $(K) is expanded in it: modelship serve refuses what it becomes (not shown:
    a variable may hold a secret); check the value of $(K) in deployment.containers[0].env
    """
    what = "deployment.containers[0].args"
    try:
        _serve_args(
            url,
            [*server_args, *written],
            what,
            "the server (checked as written, each $(NAME) unexpanded: no variable's value "
            "is shown)",
        )
    except ConfigError as exc:
        return exc

    def refused(args: Sequence[str]) -> bool:
        try:
            _serve_args(url, [*server_args, *args], what)
        except ConfigError:
            return True
        return False

    varied = [i for i, names in enumerate(uses) if names]
    # The first arg refused with only its own variables expanded; else every arg that
    # uses one (the values are refused together).
    alone = [i for i in varied if refused([*written[:i], expanded[i], *written[i + 1 :]])]
    culprits = alone[:1] or varied
    names = " and ".join(dict.fromkeys(f"$({n})" for i in culprits for n in uses[i]))
    if len(culprits) == 1:
        i = culprits[0]
        flag = written[i - 1] if i > 0 and not written[i].startswith("-") else ""
        of = f" (the value of {flag})" if flag.startswith("-") else ""
        shown = f"{what}[{i}] {reprlib.repr(written[i])}{of}"
    else:
        shown = f"{what} {reprlib.repr(list(written))}"
    return ConfigError(
        f"{shown} would stop the server once {names} is expanded in it: modelship serve "
        "refuses what it becomes (not shown: a variable may hold a secret); check the "
        f"value of {names} in deployment.containers[0].env"
    )


def _expand(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with each ``$(NAME)`` replaced by ``variables[NAME]``, as the kubelet
    expands a container's ``env`` values and ``args``.

    Its rules (``third_party/forked/golang/expansion``): a name not in ``variables`` leaves
    the reference as written; ``$$`` is a literal ``$`` (so ``$$(NAME)`` is the text
    ``$(NAME)``); a ``$`` before anything else, or a ``$(`` never closed, stays as it is.

    Examples
    --------
    >>> _expand("$(A)/b $(NONE) $$(A) $$ $x $(", {"A": "a"})
    'a/b $(NONE) $(A) $ $x $('
    """
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:  # bounded: every turn moves i forward
        dollar = text.find("$", i)
        if dollar < 0 or dollar + 1 >= n:  # no $ left, or one at the very end: as is
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        after = text[dollar + 1]
        if after == "$":
            out.append("$")
            i = dollar + 2
        elif after == "(":
            close = text.find(")", dollar + 2)
            if close < 0:  # never closed: "$(" as is, the rest read on
                out.append("$(")
                i = dollar + 2
            else:
                name = text[dollar + 2 : close]
                out.append(variables.get(name, f"$({name})"))
                i = close + 1
        else:  # "$x": both as they are
            out.append("$" + after)
            i = dollar + 2
    return "".join(out)


def _expand_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with ``$(NAME)`` expanded in each value from the variables listed before it,
    in order, as the kubelet does (a later one, or the name itself, is left as written)."""
    expanded: dict[str, str] = {}
    for name, value in env.items():
        expanded[name] = _expand(value, expanded)
    return expanded


def _spec_argv(
    spec: object, url: str, server_args: Sequence[str], max_body: int
) -> tuple[list[str], dict[str, str], str | None]:
    """The first container's ``args`` and ``env`` of ``spec``, ``$(NAME)`` expanded as the
    kubelet expands them and checked as ``server_args`` are, before any server starts: what
    the LocalDeployer cannot honour is refused. Third, the variable the server's
    ``--log-fingerprint-key-env`` names, if given (in ``server_args`` or the args)."""
    if not isinstance(spec, DeploymentSpec):
        raise ConfigError(
            f"spec must be a DeploymentSpec (DeploymentSpec.from_file('deploy.yaml')) or None, "
            f"got {type(spec).__name__} {reprlib.repr(spec)}"
        )
    container = spec.containers[0]  # the model server; other containers are Kubernetes'
    for name, value in container.env.items():
        if not _carried(value):
            raise ConfigError(
                f"deployment.containers[0].env.{name} holds a NUL character or text that "
                "cannot be encoded, which no environment variable can carry; remove it"
            )
    # As on Kubernetes: a value sees the variables listed before it, the args all of them
    # (the container's env only: the kubelet does not read the node's environment).
    env = _expand_env(container.env)
    args: list[str] = []
    what = "deployment.containers[0].args"
    # A refusal shows the args as written, never what the server says of them expanded:
    # a variable's value may be a secret (see _refused_as_written).
    written: list[str] = []
    uses: list[list[str]] = []  # the variables each arg expands
    for i, arg in enumerate(container.args):
        if not isinstance(arg, str):
            _check_server_arg(i, arg, what)  # refused: no string to expand
        written.append(arg)
        uses.append([name for name in env if f"$({name})" in arg])
        # Checked expanded: a flag the deployer sets can come from a variable.
        args.append(_expand(arg, env))
        _check_server_arg(i, args[-1], what, written=arg)
    # Read after server_args, as the server reads them: a flag given in both takes the spec's.
    all_written = [*server_args, *written]
    try:
        parsed, config = _serve_args(
            url, [*server_args, *args], what, "the server", written=all_written
        )
    except ConfigError:
        if not any(uses):
            raise  # no variable's value in what it says
        raise _refused_as_written(url, server_args, written, args, uses) from None
    if config.max_body_bytes > max_body:
        # The number is not shown if a variable may have given it.
        given = (
            f"{reprlib.repr(all_written)} set --max-body-bytes"
            if any(uses)
            else (f"set --max-body-bytes {config.max_body_bytes}")
        )
        raise ConfigError(
            f"{what} {given}, over the "
            f"{max_body} bytes the LocalDeployer's router holds for every slot; raise it "
            "for the router too: LocalDeployer(server_args=['--max-body-bytes', ...])"
        )
    return args, env, parsed.log_fingerprint_key_env


def _check_fingerprint_key(name: str, spec_env: Mapping[str, str]) -> None:
    """Refuse a ``--log-fingerprint-key-env name`` the server would exit on at start:
    ``name`` unset, empty or too short in the environment the LocalDeployer hands its
    servers (this process's, a spec's ``env`` over it), checked as ``modelship serve``
    checks it. The variable is named, its value never shown."""
    try:
        if name in spec_env:
            fingerprint_key_bytes(
                os.fsencode(spec_env[name]),
                f"--log-fingerprint-key-env {name}: deployment.containers[0].env.{name}",
            )
        else:
            fingerprint_key_from_env(name)  # read from this process's environment, as the server's
    except ConfigError as exc:
        raise ConfigError(
            f"the server would exit at start: {exc} (the LocalDeployer's servers get this "
            "process's environment, with deployment.containers[0].env over it)"
        ) from None


def _effective(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` as a file system takes them, told apart only where it would: an S3
    endpoint given at the top level (``endpoint_url=``, which s3fs puts first) or in
    ``client_kwargs`` (where the environment's goes) is one endpoint, kept at the top.

    Examples
    --------
    >>> _effective({"client_kwargs": {"endpoint_url": "http://s3:1"}})
    {'endpoint_url': 'http://s3:1'}
    >>> _effective({"endpoint_url": "http://s3:1/", "client_kwargs": {"region_name": "x"}})
    {'endpoint_url': 'http://s3:1', 'client_kwargs': {'region_name': 'x'}}
    """
    out = dict(options)
    client = out.get("client_kwargs")
    if isinstance(client, Mapping) and "endpoint_url" in client:
        client = dict(client)
        nested = client.pop("endpoint_url")
        if out.get("endpoint_url") is None:
            out["endpoint_url"] = nested
        if client:
            out["client_kwargs"] = client
        else:
            del out["client_kwargs"]
    endpoint = out.get("endpoint_url")
    if isinstance(endpoint, str):  # http://s3:9000/ and http://s3:9000 are one endpoint
        out["endpoint_url"] = endpoint.rstrip("/")
    return out


def _check_storage_options(registry: Registry, url: str, server_options: Sequence[str]) -> None:
    """Refuse a registry opened with storage options its servers would not open it with.

    A server opens the registry from its URL, its environment and ``server_options``
    (``server_args``' ``--option NAME=VALUE``) alone; other options given to
    ``open_registry`` (``key=``, ``secret=``, ``endpoint_url=``) could reach it only on its
    command line, where every local user can read them. Only names are shown.
    """
    store = registry.store
    if not isinstance(store, FsspecStore):
        return
    given = _effective(store.fs.storage_options)
    if not given:  # the usual case: nothing to compare, nothing opened
        return
    # What the server will get: the same URL opened with its --option's, but for those
    # open_registry keeps for the Registry (single_writer, user, ...), which never reach
    # the file system (the environment's S3 endpoint and modelship's own defaults are
    # added there as here).
    options = storage_options_only(storage_options(server_options))
    try:
        served = _effective(FsspecStore.from_url(url, **options).fs.storage_options)
    except ModelshipError:
        raise
    except Exception as exc:  # an fsspec back end refusing an option: a TypeError, say
        raise ConfigError(
            f"server_args' --option {list(server_options)} cannot open the registry as its "
            f"servers would: {type(exc).__name__}: {exc}"
        ) from None
    differ = sorted(
        name for name in given.keys() | served.keys() if given.get(name) != served.get(name)
    )
    if differ:
        raise ConfigError(
            f"the registry was opened with storage options {differ} that its servers would "
            "not be opened with: a server opens the registry from its URL, the environment "
            "it inherits and server_args' --option NAME=VALUE only, and no secret goes on "
            "its command line, which every local user can read. Set a secret one in the "
            "environment the servers inherit instead (for S3: AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_ENDPOINT_URL or "
            "MODELSHIP_S3_ENDPOINT_URL) and open the registry without it; pass one that is "
            "no secret to the servers too, as server_args=['--option', 'NAME=VALUE'], with "
            "the value it was opened with"
        )


def _check_unchecked_reads(registry: Registry, server_options: Sequence[str]) -> None:
    """Refuse a registry read unchecked (``verify_signatures=False``, no key) whose
    servers would check: each server opens it from its URL, checking signatures, and
    refuses a signed registry without the key, so every rollout would abort as if the
    version were broken. ``server_args=['--option', 'verify_signatures=false']`` serves
    it unchecked too, as the handle reads it."""
    signer = signer_of(registry)
    if signer.verify or signer.key is not None:
        return
    if storage_options(server_options).get("verify_signatures", True) is False:
        return
    if not registry.store.exists(SIGNING_POLICY):  # not signed: the servers read it alike
        return
    raise ConfigError(
        "the registry was opened with verify_signatures=False and no signing key, but its "
        "servers would open it checking signatures (and refuse a signed registry without "
        "its key, each rollout an abort): open it with its key (signing_key=...), or serve "
        "it unchecked too with server_args=['--option', 'verify_signatures=false']"
    )


def _served_url(registry: Registry) -> str:
    """The URL the servers open ``registry`` at: a local folder as its absolute path.

    A relative path (``"models"``, ``file://./models``) is read from the current folder
    of whoever opens it; the registry's own store resolved it when it was opened, and the
    servers start wherever this process is when :meth:`LocalDeployer.apply` runs (after a
    ``chdir``, another project's registry of the same name). So they are given the folder
    the registry reads, as it reads it.
    """
    store = registry.store
    if isinstance(store, FsspecStore) and store.is_local:
        return store.root
    return store.url


def _server_grace(graceful_seconds: float) -> float:
    """Seconds from a server's SIGTERM to its SIGKILL: what ``modelship serve
    --graceful-seconds graceful_seconds`` may take to stop by itself (its requests' grace
    period, then the prediction log's final flush) and :data:`_EXIT_SECONDS` to exit."""
    return graceful_seconds + min(graceful_seconds, FINAL_FLUSH_SECONDS) + _EXIT_SECONDS


def _stop_at_once(proc: ServerProcess) -> None:
    """Stop a server no slot holds, with no grace: nothing was sent to it. Never raises."""
    with contextlib.suppress(Exception):
        proc.stop(grace=0)
    kill_all([proc])  # one whose stop timed out; a reaped one is not signalled again


def _release(procs: list[ServerProcess], router: Router, spawner: Spawner) -> None:
    """What a LocalDeployer dropped without ``close()`` leaves: its servers, its router
    (thread, loop, listening socket) and its spawner thread. A finaliser: it never raises."""
    kill_all(procs)
    spawner.shutdown(wait=False)  # its thread ends once it reads the sentinel
    if threading.current_thread() is not router.thread:  # never join itself
        with contextlib.suppress(Exception):
            router.close()


class LocalDeployer:
    """A :class:`~modelship.deploy.Deployer` of local server processes behind a router.

    Parameters
    ----------
    registry
        Where versions are loaded from. Its store must be reachable from other processes
        (a folder, ``file://`` or ``s3://`` URL; not ``memory://``).
    drain_timeout
        Seconds a removed slot's in-flight requests may take before it is stopped.
    graceful_seconds
        Seconds a server may take to finish its requests after SIGTERM (its
        ``--graceful-seconds``; more than 0). It is sent SIGKILL only once it has had
        them, the 5 s (at most) of its prediction log's final flush and 3 s to exit.
    server_args
        Extra arguments for every ``modelship serve`` process (``["--no-warmup"]``).
        The flags the deployer sets itself (``--host``, ``--port``, ``--fd``, ``--slot``,
        ``--graceful-seconds``, ``--signing-key-fd``) are refused, and so is ``-o
        signing_key=...`` (open the registry with the key instead) and an argument
        holding a NUL character. With ``--log-fingerprint-key-env VAR``, :meth:`apply`
        refuses a ``VAR`` that is unset, empty or too short in the servers' environment.

    Examples
    --------
    >>> import modelship as ms
    >>> with LocalDeployer(registry=ms.open_registry("memory://local-doc")) as dep:
    ...     pass
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: the LocalDeployer's servers are other processes and cannot ...
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "drain_timeout": Interval(float, 0, None),
        # > 0, as `modelship serve --graceful-seconds` takes it: with 0 every server
        # exited at start, and every rollout aborted as if its version were broken.
        "graceful_seconds": Interval(float, 0, None, closed="neither"),
    }

    def __init__(
        self,
        registry: Registry,
        *,
        drain_timeout: float = 30.0,
        graceful_seconds: float = 30.0,
        server_args: Sequence[str] = (),
    ) -> None:
        check_parameters(self, drain_timeout=drain_timeout, graceful_seconds=graceful_seconds)
        if not isinstance(registry, Registry):
            raise ConfigError(
                f"registry must be a Registry, got {type(registry).__name__}; for a folder or "
                "URL, pass ms.open_registry(path)"
            )
        if isinstance(server_args, (str, bytes)) or not isinstance(server_args, Sequence):
            raise ConfigError(
                f"server_args must be a list of strings, such as ['--no-warmup'], got "
                f"{type(server_args).__name__}"
            )
        for i, arg in enumerate(server_args):
            _check_server_arg(i, arg)
        url = _served_url(registry)
        if url.startswith("memory:"):
            raise ConfigError(
                "the LocalDeployer's servers are other processes and cannot see a memory:// "
                "registry; open the registry on a folder, file:// or s3:// URL"
            )
        _check_serve_extra()
        args, config = _serve_args(url, server_args)
        _check_storage_options(registry, url, args.option)
        _check_unchecked_reads(registry, args.option)
        self.registry: Registry | None = registry
        self.capabilities = DeployerCapabilities(exact_weights=True, max_slots=2)
        self._url = url
        self._signing_key = signing_key_of(registry)
        if self._signing_key is not None and len(self._signing_key) > MAX_KEY:
            raise ConfigError(
                f"the registry's signing key is {len(self._signing_key)} bytes, over the "
                f"{MAX_KEY} the LocalDeployer can hand its servers; use a shorter key "
                "(secrets.token_bytes(32))"
            )
        self._drain_timeout = drain_timeout
        self._stop_grace = _server_grace(graceful_seconds)
        # A server never seen ready and given no traffic answered no prediction: nothing
        # to finish or log. It may be loading, which its shutdown would wait for up to
        # graceful_seconds (leaving the with-block after a version that never loaded).
        self._unready_grace = min(graceful_seconds, _UNREADY_SECONDS)
        self._server_args = [*server_args, "--graceful-seconds", str(graceful_seconds)]
        # Checked at each apply(): a spec's env may set the variable.
        self._key_env: str | None = args.log_fingerprint_key_env
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.RLock()
        # The servers of slots a remove() is draining and stopping, out of the table by
        # then, each with the event set once remove() is done with it: close() waits
        # for them rather than kill them mid-drain.
        self._removing: dict[ServerProcess, threading.Event] = {}
        # Every server started and not yet reaped: what close() and the finaliser kill.
        self._procs: list[ServerProcess] = []
        # Its thread starts now, not at the first apply(), and lives until close() (or
        # the finaliser), however the thread that made the deployer ends.
        self._spawner = Spawner()
        # The router holds each request whole, so it refuses what the servers would.
        self._max_body = config.max_body_bytes
        self._router = Router(max_body=self._max_body)
        self._finalizer = weakref.finalize(self, _release, self._procs, self._router, self._spawner)
        self._closed = False
        self._rollouts = ProcessRolloutLock(f"the LocalDeployer at {self._router.url}")

    def __repr__(self) -> str:
        return f"LocalDeployer({hide_credentials(self._url)!r}, endpoint={self.endpoint!r})"

    @property
    def _pids(self) -> list[int]:
        """The process ids of the servers not reaped yet (for tests)."""
        with self._lock:
            return [proc.pid for proc in self._procs]

    @property
    def endpoint(self) -> str:
        """The router's URL, ``http://127.0.0.1:PORT``: send requests here."""
        return self._router.url

    def __enter__(self) -> LocalDeployer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop routing new requests, let those in flight finish (up to ``drain_timeout``),
        stop every server (each drains first), then close the router; idempotent.

        Requests arriving meanwhile are answered ``503`` by the router, saying the
        deployment is shutting down. The servers stop side by side, as :meth:`remove`
        stops one: SIGKILL only after ``graceful_seconds`` and the server's own final
        flush, so a request that outlived the drain is answered ``503`` by its server and
        the predictions answered are logged. A slot a :meth:`remove` in another thread is
        still draining is waited for within the same time (and stopped by it).
        So it takes at most ``drain_timeout`` + ``graceful_seconds`` + 8 s, and as long
        only when a request outlives the drain: idle servers exit in under a second. A
        server never seen ready and given no traffic (a version still loading) answered
        no prediction: it gets at most 5 s (``graceful_seconds`` if shorter).
        A Ctrl-C meanwhile SIGKILLs every server at once.
        """
        with self._lock:  # marking closed and taking the slots are one step: no call
            if self._closed:  # installs or routes to a slot close() does not stop
                return
            self._closed = True
            slots, self._slots = dict(self._slots), {}
            removing = list(self._removing.values())
        # remove() drains one slot within drain_timeout of its start, earlier than now.
        drained_by = time.monotonic() + self._drain_timeout
        try:
            with contextlib.suppress(Exception):  # a router that failed: stop them all the same
                self._drain_all(slots, drained_by)
            stop_all(
                [slot.proc for slot in slots.values()],
                [self._grace_of(slot) for slot in slots.values()],
            )
            for done in removing:  # bounded: one wait each, all within the one deadline
                done.wait(max(0.0, drained_by + self._stop_grace - time.monotonic()))
        finally:  # a Ctrl-C in the drain or a stop still stops every server
            # Anything still there (a stop that timed out, a server being abandoned): only
            # groups whose server is not reaped are signalled (no process id reused).
            kill_all(self._procs)
            self._procs.clear()
            self._router.close()  # its client connections are closed only now
            self._spawner.shutdown(wait=True)
            self._finalizer.detach()

    def _grace_of(self, slot: _Slot) -> float:
        """Seconds from the SIGTERM of ``slot``'s server to its SIGKILL."""
        return self._stop_grace if slot.ready or slot.weight > 0 else self._unready_grace

    def _drain_all(self, slots: Mapping[str, _Slot], deadline: float) -> None:
        """No new request goes to any slot, and those in flight finish, by ``deadline``
        (``time.monotonic()``) for all the slots together."""
        # Every slot stops getting requests at once, so they drain side by side.
        self._router.stop_routing()
        for name in slots:  # bounded: one wait per slot, all within the one deadline
            self._router.drain(name, max(0.0, deadline - time.monotonic()))

    def rollout_lock(self, holder: str) -> AbstractContextManager[None]:
        """One rollout at a time (:class:`~modelship.deploy.LocksRollouts`): its servers
        live in this process, so the lock does too."""
        return self._rollouts.hold(holder)

    def _check_open(self) -> None:
        if self._closed:
            raise DeployError("this LocalDeployer is closed; create a new one")

    def _get(self, slot: str) -> _Slot:
        found = self._slots.get(slot) if isinstance(slot, str) else None
        if found is not None:
            return found
        raise self._not_found(slot)

    def _not_found(self, slot: object) -> SlotNotFound:
        # A name apply() refuses is never a slot: say which names are.
        named = isinstance(slot, str) and slot in _SLOTS
        known = "" if named else f" (a LocalDeployer's slots are {' and '.join(_SLOTS)})"
        return SlotNotFound(f"no slot {reprlib.repr(slot)}; slots: {sorted(self._slots)}{known}")

    # --- the protocol -------------------------------------------------------------------

    def apply(
        self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
    ) -> None:
        """Start a server for ``version`` in ``slot`` (the slot's old server stops first).

        Of ``spec``, the first container's ``args`` are added to the server's flags (checked
        as ``server_args`` are) and its ``env`` to its environment, ``$(NAME)`` expanded in
        both as the kubelet expands it (an ``env`` value from the variables listed before
        it, ``args`` from the whole ``env``; an unknown name is left as written, ``$$`` is
        ``$``); ``healthcheck.path``
        must answer 200 for the slot to be ready, and is what :meth:`health` probes. The
        rest (image, ports, resources, replicas, other containers, probe timings) is for
        Kubernetes and has no local meaning.

        A ``--log-fingerprint-key-env VAR`` (of ``server_args`` or the spec's args) whose
        ``VAR`` is unset, empty or shorter than 16 bytes in the environment the server
        gets (this process's, the spec's ``env`` over it) is a
        :class:`~modelship.errors.ConfigError` naming ``VAR`` (never its value), raised
        before the slot's old server stops.

        Raises :class:`~modelship.deploy.SlotInUse` if the slot receives traffic, or if
        another ``apply`` filled it while this one started its server, and
        :class:`~modelship.errors.ConfigError` for a slot other than ``"blue"`` and
        ``"green"`` (a LocalDeployer is one service of two slots: ``max_slots=2``).
        """
        self._check_open()
        if not isinstance(slot, str) or slot not in _SLOTS:  # before any server stops
            raise ConfigError(
                f"slot must be one of {_SLOTS} (a LocalDeployer is one service with these "
                f"two), got {slot!r}"
            )
        # As the registry names them (InvalidName otherwise), before any server stops.
        model = check_model_name(model)
        version = check_version(version)
        spec_args, env = self._checked(spec)  # refused before any server stops or starts
        with self._lock:
            old = self._slots.get(slot)
            if old is not None and old.weight > 0:
                raise SlotInUse(
                    f"slot {slot!r} receives {old.weight}% of traffic; move its "
                    "traffic before replacing its version"
                )
        if old is not None:
            self.remove(slot)  # checks the weight again, atomically with the removal
        argv = [
            sys.executable,
            "-m",
            "modelship.deploy.serve",
            hide_credentials(self._url),  # the server reads it whole from its environment
            model,
            version,
            "--host",
            "127.0.0.1",
            "--slot",
            slot,
            # Without a key the server reads none: it inherits this process's environment,
            # whose MODELSHIP_SIGNING_KEY may be another registry's (and would make it
            # refuse every version of an unsigned one, each rollout an abort).
            *(("--signing-key-env", "") if self._signing_key is None else ()),
            *self._server_args,
            *spec_args,  # after server_args: a flag given in both takes the spec's
        ]
        secrets = self._secrets(env)
        health_path = spec.healthcheck.path if spec is not None else None
        spawn = _Spawn()
        try:
            # A DeployError once close() shut the spawner down since the check above.
            proc = self._spawner.submit(self._start, spawn, argv, secrets).result()
            with self._lock:  # the install and both checks are one lock hold
                closed = self._closed
                other = self._slots.get(slot)
                if not closed and other is None:
                    self._slots[slot] = _Slot(model, version, proc, health_path=health_path)
        except BaseException:
            # Ctrl-C (or any exception raised in this thread), wherever it came: the
            # spawner thread may still start the server, and no slot would hold it.
            self._abandon(spawn)
            raise
        if closed:
            # close() ran while the server was starting, and could not see it: stop it
            # here, or nothing would.
            self._abandon(spawn)
            self._check_open()
        if other is not None:
            # Another apply() to this slot passed the idle check beside this one and
            # installed first: replacing its server would leave it running in no slot.
            self._abandon(spawn)
            raise SlotInUse(
                f"slot {slot!r} was filled with {other.model} {other.version} by another "
                "apply() while this one started its server; apply to an idle slot"
            )

    def check_spec(self, spec: DeploymentSpec) -> None:
        """Refuse, with a :class:`~modelship.errors.ConfigError` saying why, a ``spec``
        :meth:`apply` would refuse (its first container's ``args`` and ``env``, checked as
        ``server_args`` are, and a ``--log-fingerprint-key-env`` variable its servers could
        not read): call it where a spec is first read, before a rollout starts, so a
        mistake in it is told at once rather than recorded as a failed rollout. Starts,
        stops and records nothing.

        Examples
        --------
        >>> import tempfile, modelship as ms
        >>> from modelship.deploy import DeploymentSpec, LocalDeployer
        >>> spec = DeploymentSpec.from_dict({"deployment": {"containers": [
        ...     {"name": "m", "image": "m:1", "args": ["--port", "8080"]}]}})
        >>> with LocalDeployer(registry=ms.open_registry(tempfile.mkdtemp())) as dep:
        ...     dep.check_spec(spec)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: deployment.containers[0].args[0] '--port' sets --port, ...
        """
        self._check_open()
        self._checked(spec)

    def _checked(self, spec: DeploymentSpec | None) -> tuple[list[str], dict[str, str]]:
        """The spec's args and env for a server (see :func:`_spec_argv`), the fingerprint
        key its server reads at start checked; ConfigError for anything refused."""
        spec_args: list[str] = []
        env: dict[str, str] = {}
        key_env = self._key_env
        if spec is not None:
            spec_args, env, key_env = _spec_argv(spec, self._url, self._server_args, self._max_body)
        if key_env is not None:  # the key the server reads at start, checked here
            _check_fingerprint_key(key_env, env)
        return spec_args, env

    def _secrets(self, spec_env: Mapping[str, str]) -> dict[str, Any]:
        """What a server is handed besides its command line (never on it), as keywords of
        :meth:`ServerProcess.start`: its environment (this process's, the spec's ``env``
        over it, then the whole registry URL if the command line shows it with ``***``)
        and the registry's signing key. Nothing when there is nothing to hand over."""
        handed: dict[str, Any] = {}
        hidden = hide_credentials(self._url) != self._url
        if spec_env or hidden:
            env = dict(os.environb)
            env.update((os.fsencode(k), os.fsencode(v)) for k, v in spec_env.items())
            if hidden:
                env[os.fsencode(REGISTRY_URL_ENV)] = os.fsencode(self._url)
            handed["env"] = env
        if self._signing_key is not None:
            handed["signing_key"] = self._signing_key
        return handed

    def _start(self, spawn: _Spawn, argv: list[str], secrets: dict[str, Any]) -> ServerProcess:
        """Start a server (on the spawner thread): tracked from its first moment, or
        stopped at once if the :meth:`apply` that asked for it has given up."""
        proc = ServerProcess.start(argv, **secrets)
        with self._lock:
            if not spawn.abandoned:
                spawn.proc = proc
                self._procs.append(proc)
                return proc
        _stop_at_once(proc)
        return proc

    def _abandon(self, spawn: _Spawn) -> None:
        """Stop the server of an :meth:`apply` cut short, unless a slot holds it; one not
        started yet is stopped by :meth:`_start` when it is."""
        with self._lock:
            spawn.abandoned = True
            proc = spawn.proc
            if proc is None or any(s.proc is proc for s in self._slots.values()):
                return
            with contextlib.suppress(ValueError):
                self._procs.remove(proc)
        _stop_at_once(proc)

    def wait_ready(self, slot: str, timeout: float) -> bool:
        """Poll the server's ``/ready`` (and the spec's ``healthcheck.path``) until both
        answer 200, it exits, or ``timeout`` seconds (a finite number; below 0 is 0).

        Raises :class:`~modelship.errors.ConfigError` at once if the server answers the
        ``healthcheck.path`` 404 or 405 (a path it does not route for GET, such as a typo):
        its routes never change, so waiting out ``timeout`` would only delay the abort. The
        message shows the path, the reason the server gave, and for a
        ``/v2/models/{name}[/versions/{version}]/ready`` of another model or version, the
        model and version the slot serves and the paths to probe instead."""
        check("timeout", timeout, _TIMEOUT)
        s = self._get(slot)
        timeout = max(0.0, float(timeout))
        deadline = time.monotonic() + timeout
        bound = int(min(timeout / _POLL, _MAX_POLLS)) + 2
        for _ in range(bound):
            if not s.proc.alive():
                return False
            answers = [
                (path, s.proc.get(path, timeout=max(0.1, min(2.0, deadline - time.monotonic()))))
                for path in ("/ready", s.health_path)
                if path is not None
            ]
            if all(status == 200 for _, status in answers):
                s.ready = True
                return True
            for path, status in answers[1:]:  # the spec's; /ready is always routed
                if status in _NO_ROUTE:
                    # The server's own route table: it will answer so until it stops.
                    raise ConfigError(_no_route_message(slot, s, path, status))
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
        return False

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        """Route each slot its percentage; applied to the next request when this returns.

        If it raises, nothing changed (the router routes as :meth:`state` says).
        """
        checked = check_weights(weights)
        with self._lock:  # close() takes the slots under it: checked and changed at once
            self._check_open()
            for name in checked:
                self._get(name)
            before = {name: s.weight for name, s in self._slots.items()}
            try:
                # With each server's exit status: the router sends nothing to one that has
                # exited (a 502 says how it ended; its freed port may be another's by then).
                self._router.set_backends(
                    {
                        n: (s.proc.port, checked.get(n, 0), s.proc.exit_status)
                        for n, s in self._slots.items()
                    }
                )
                for name, s in self._slots.items():
                    s.weight = checked.get(name, 0)
            except BaseException:
                # Wherever it came (a Ctrl-C raised between two lines of the copy above
                # too), the slots get their weights back and the router is told them.
                for name, s in self._slots.items():
                    s.weight = before[name]
                self._restore_routes()
                raise

    def _restore_routes(self) -> None:
        """After a ``set_backends`` cut short (Ctrl-C, the router's 30 s timeout): the change
        may be applied on the router's loop still. The loop runs changes in the order they
        were sent, so sending the recorded weights again makes them its last word, and
        waiting for that (bounded by the router's timeout) waits for the change before it.
        Holding the lock, so no other change comes between."""
        with contextlib.suppress(Exception):  # a second Ctrl-C goes on; the restore is sent
            self._router.set_backends(
                {n: (s.proc.port, s.weight, s.proc.exit_status) for n, s in self._slots.items()}
            )

    def health(self, slot: str) -> SlotHealth:
        """``GET /health`` (or the spec's ``healthcheck.path``) on the slot's server (2 s
        timeout)."""
        s = self._get(slot)
        if not s.proc.alive():
            return SlotHealth(
                False,
                f"process {s.proc.pid} exited with {s.proc.exit_status()}: {s.proc.tail()}",
            )
        path = s.health_path or "/health"
        status = s.proc.get(path, timeout=2.0)
        if status == 200:
            return SlotHealth(True, f"GET {path}: 200")
        return SlotHealth(False, f"GET {path}: {status or 'no answer'}")

    def remove(self, slot: str) -> None:
        """Drain the slot's in-flight requests (up to ``drain_timeout``), then stop its
        server: SIGTERM, and SIGKILL only once it had ``graceful_seconds`` to finish its
        requests, 5 s (at most) to flush its prediction log and 3 s to exit.

        A slot that does not exist is not an error; ``slot`` not being text is a
        :class:`~modelship.deploy.SlotNotFound`, and one with traffic a
        :class:`~modelship.deploy.SlotInUse`.
        """
        if not isinstance(slot, str):
            raise self._not_found(slot)
        removed: _Slot | None = None
        try:
            # The weight check, taking the slot out of the table and taking its backend
            # off the router are one lock hold: no set_traffic can give it traffic in
            # between (it would raise SlotNotFound), and the drain waits on exactly this
            # backend, never on one an apply() sets under the same name once the lock is
            # free (the router keys backends by name).
            with self._lock:
                s = self._slots.get(slot)
                if s is None:
                    return
                if s.weight > 0:
                    raise SlotInUse(
                        f"slot {slot!r} still receives {s.weight}% of traffic; move "
                        "its traffic before removing it"
                    )
                del self._slots[slot]
                removed = s
                self._removing[s.proc] = threading.Event()
                draining = self._router.begin_drain(slot)
            draining.wait(self._drain_timeout)
        finally:  # a router that failed (or was closed meanwhile) still stops the server
            if removed is not None:
                try:
                    removed.proc.stop(grace=self._grace_of(removed))
                finally:
                    with self._lock:
                        self._removing.pop(removed.proc).set()
                        # Kept for close() if it is not reaped (a stop that timed out).
                        if removed.proc.reaped:
                            with contextlib.suppress(ValueError):
                                self._procs.remove(removed.proc)

    def state(self) -> DeployerState:
        """Every slot: version, traffic share, and ready (answered ``/ready``, still alive)."""
        with self._lock:
            items = sorted(self._slots.items())
        return DeployerState(
            tuple(
                SlotState(n, s.model, s.version, s.weight, s.ready and s.proc.alive())
                for n, s in items
            )
        )

    # --- for tests and benchmarks --------------------------------------------------------

    def pids(self) -> dict[str, int]:
        """The server process id of each slot."""
        with self._lock:
            return {n: s.proc.pid for n, s in self._slots.items()}

    def slot_url(self, slot: str) -> str:
        """The URL of ``slot``'s own server, bypassing the router."""
        return f"http://127.0.0.1:{self._get(slot).proc.port}"
