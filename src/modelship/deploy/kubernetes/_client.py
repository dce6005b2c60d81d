"""Requests to the API server through the official ``kubernetes`` client, with retries.

Configuration (kubeconfig contexts, client certificates, CA data, exec credential
plugins, token refresh, the in-cluster service account) is the official client's; this
module only decides which loader to call, and does so at the first request, never at
construction. Every request is retried with capped, jittered exponential backoff on 409
(except field-manager conflicts and "already exists"), 429 and 5xx (honouring a
``Retry-After`` that is a finite number of seconds >= 0, capped at the policy's ``cap``),
timeouts and dropped connections, a bounded number of times, and never past a caller's
deadline (a request stopped by it raises :class:`OutOfTime`). A redirect (3xx) is
final: it is reported, never followed. An answer must arrive whole within the request
timeout and be at most :data:`MAX_ANSWER_BYTES`; a watch event line at most
:data:`MAX_EVENT_BYTES`. A watch that answers 410 Gone (as a status
or as an ``ERROR`` event) raises :class:`Gone`, and callers relist. A successful answer
must be shaped as the API server's (a JSON object; a list with ``items`` and
``metadata.resourceVersion``), or it is an error, not retried: a URL that answers JSON but
is no API server fails at the request, not as a ``KeyError`` in a caller. Errors carry
the API's ``Status`` message, redacted; never the request's headers.

The client also keeps the API server's clock as its answers' ``Date`` headers tell it
(:meth:`KubeClient.server_now`), so times written into objects other clients compare
(a Lease's ``renewTime``) come from one clock, not from each machine's.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import attrs

from modelship._params import Constraints, Interval, check_parameters
from modelship.deploy._errors import DeployError
from modelship.deploy.kubernetes._redact import (
    forget_secrets,
    install_log_filter,
    redact,
    remember_secrets,
)
from modelship.errors import ConfigError, MissingDependency

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_ATTEMPTS",
    "MAX_EVENT_BYTES",
    "MAX_REQUEST_TIMEOUT",
    "Gone",
    "KubeClient",
    "KubernetesError",
    "OutOfTime",
    "Retry",
    "load_configuration",
]

_log = logging.getLogger("modelship.deploy.kubernetes")

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_RETRY_STATUS = frozenset({409, 429, 500, 502, 503, 504})
#: The ``type`` of a watch event (``watch.EventType`` of apimachinery).
_EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})
#: The largest answer read (a list of every object of a kind in a namespace): 64 MiB, 32
#: times the API server's default limit on one request body (3 MiB) and far above what a
#: few slots' objects take; a larger answer is an error, not a slow out-of-memory.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: The largest watch event line: one object, which etcd caps at 1.5 MiB by default.
MAX_EVENT_BYTES = 16 * 1024 * 1024
#: The longest request timeout (and backoff) allowed, in seconds: one day; longer ones
#: overflow the platform's timers.
MAX_REQUEST_TIMEOUT = 86400.0
#: The most attempts a request may be given.
MAX_ATTEMPTS = 100
#: A ``Date`` header further than this from the local clock is ignored (garbled, or a
#: clock so wrong that neither can be trusted); the client remembers that it saw one
#: (:meth:`KubeClient.refused_clock_offset`), so nothing falls back to the local clock.
MAX_CLOCK_SKEW = timedelta(days=1)
# An HTTP Date names a whole second.
_DATE_RESOLUTION = timedelta(seconds=1)


class KubernetesError(DeployError):
    """The API server refused a request, or could not be reached after the retries.

    ``status`` is the HTTP status (0 when no answer came); ``reason`` the Status reason.
    ``retryable`` is True when every attempt failed in a way a later one may not (no
    answer, a TLS connection the peer closed included, or 429, 5xx or a conflict worth
    retrying) and the client gave up after its attempts or at its deadline: asking again
    later may succeed. It is False for an answer that will not change (403, 404, a
    redirect, a TLS failure such as a certificate not verified or a handshake alert, an
    answer not shaped as the API server's). The message is redacted: no token or key
    ever appears in it.

    Examples
    --------
    >>> err = KubernetesError("GET /api: 401 Unauthorized (Authorization: Bearer abc123)", 401)
    >>> str(err), err.status, err.retryable
    ('GET /api: 401 Unauthorized (Authorization: <redacted>)', 401, False)
    """

    def __init__(
        self, message: str, status: int = 0, reason: str = "", *, retryable: bool = False
    ) -> None:
        super().__init__(redact(message))
        self.status = status
        self.reason = reason
        self.retryable = retryable


class Gone(KubernetesError):
    """A watch's resourceVersion is too old (410): list again and watch from there.

    Examples
    --------
    >>> isinstance(Gone("WATCH /pods: 410: too old resource version", 410), KubernetesError)
    True
    """


class OutOfTime(KubernetesError):
    """A request stopped at its deadline: the deadline had passed, or the next attempt
    (after the backoff, or the ``Retry-After`` the server asked for) would start after it.

    Not an answer from the API server: a caller waiting until that deadline treats it as
    "not done in time", not as a failure. ``unsent`` is True when no attempt was made (the
    deadline had passed before the first): such a request saw nothing at all.

    Examples
    --------
    >>> isinstance(OutOfTime("GET /api: 429 (gave up after 1 attempts)", 429), KubernetesError)
    True
    """

    unsent: bool = False


@attrs.frozen
class Retry:
    """How requests are retried: up to ``attempts`` tries, backoff doubling from ``base``.

    Examples
    --------
    >>> [round(Retry(base=0.1, cap=1.0).delay(n, jitter=1.0), 2) for n in range(6)]
    [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    >>> Retry(base=-1)
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: base=-1 is not allowed; base must be a float in [0, 86400]
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "attempts": Interval(int, 1, MAX_ATTEMPTS),
        "base": Interval(float, 0, MAX_REQUEST_TIMEOUT),
        "cap": Interval(float, 0, MAX_REQUEST_TIMEOUT),
    }
    __attrs_pre_init__ = check_parameters

    attempts: int = 6
    base: float = 0.1
    cap: float = 5.0

    def delay(self, attempt: int, jitter: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based), jittered into [50%, 100%]."""
        j = jitter if jitter is not None else random.uniform(0.5, 1.0)
        # The exponent is capped: 2**64 times any base > 0 already passes any cap allowed.
        return float(min(self.cap, self.base * 2 ** min(max(attempt, 0), 64)) * j)


def _client_module() -> Any:
    try:
        import kubernetes
    except ImportError as exc:
        raise MissingDependency(
            "the Kubernetes deployer needs the official client: pip install 'modelship[kubernetes]'"
        ) from exc
    return kubernetes


def load_configuration(  # noqa: PLR0913 - keyword-only sources of cluster credentials, tried in a documented order
    *,
    server: str | None,
    token: str | None,
    kubeconfig: str | os.PathLike[str] | None,
    context: str | None,
    ca_cert: str | os.PathLike[str] | None,
    verify_ssl: bool,
    service_account_dir: str | os.PathLike[str],
) -> Any:
    """A ``kubernetes.client.Configuration`` from the first source that applies.

    ``server`` (with ``token`` and ``ca_cert``); else ``kubeconfig`` (or ``context``
    of the default kubeconfig); else the in-cluster service account (token re-read as it
    rotates); else the default kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``).
    """
    k8s = _client_module()
    import yaml  # the official client's own dependency

    # A kubeconfig that is not YAML, not text, or not shaped as one (``users: 5``) makes
    # the official client raise whatever its parsing meets, not only ConfigException.
    unusable = (k8s.config.ConfigException, OSError, yaml.YAMLError, ValueError, TypeError,
                AttributeError, KeyError, IndexError)  # fmt: skip
    cfg = k8s.client.Configuration()
    if server is not None:
        cfg.host = server.rstrip("/")
        if token is not None:
            cfg.api_key = {"BearerToken": token}
            cfg.api_key_prefix = {"BearerToken": "Bearer"}
        if ca_cert is not None:
            cfg.ssl_ca_cert = os.fspath(ca_cert)
        cfg.verify_ssl = verify_ssl
        return cfg
    if kubeconfig is not None or context is not None:
        path = _default_kubeconfig() if kubeconfig is None else os.fspath(kubeconfig)
        try:
            k8s.config.load_kube_config(
                config_file=path, context=context, client_configuration=cfg, persist_config=False
            )
        except unusable as exc:
            raise ConfigError(
                f"the kubeconfig {path}"
                + (f" (context {context!r})" if context is not None else "")
                + f" cannot be used: {_config_problem(exc)}; fix it, or pick another with "
                "kubeconfig= and context="
            ) from None
        return cfg
    sa = Path(service_account_dir)
    loader: Any = k8s.config.incluster_config.InClusterConfigLoader
    try:
        loader(token_filename=str(sa / "token"), cert_filename=str(sa / "ca.crt")).load_and_set(cfg)
        return cfg
    except k8s.config.ConfigException as in_cluster:
        try:
            k8s.config.load_kube_config(
                config_file=_default_kubeconfig(), client_configuration=cfg, persist_config=False
            )
        except unusable as exc:
            raise ConfigError(
                "no Kubernetes credentials found: not in a cluster "
                f"({redact(str(in_cluster))}) and no usable kubeconfig ({_config_problem(exc)}); "
                "pass server= and token=, or kubeconfig= and context="
            ) from None
    return cfg


def _config_problem(exc: BaseException) -> str:
    """What is wrong with a kubeconfig, redacted; the exception's type when its own
    message would not say (``KeyError: 'name'``)."""
    text = str(exc)
    if not isinstance(exc, OSError) and type(exc).__name__ != "ConfigException":
        text = f"{type(exc).__name__}: {text}"
    return redact(text)


def _default_kubeconfig() -> str:
    """``$KUBECONFIG`` (one path or several, ``:``-separated) as set now, or ``~/.kube/config``.

    Read at each call: the official client reads ``$KUBECONFIG`` once, when it is
    imported, so a value set later (in a notebook, a test) would otherwise be ignored.
    """
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


class KubeClient:
    """JSON requests to the API server, configured lazily and retried (see the module doc)."""

    def __init__(
        self,
        configure: Callable[[], Any],
        *,
        retry: Retry,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._configure = configure
        self.retry = retry
        self.timeout = timeout
        self._sleep = sleep
        self._api: Any = None
        self._cfg: Any = None
        self._lock = threading.Lock()
        # The latest answer's Date header and the monotonic time it arrived (one tuple,
        # replaced whole, so threads sharing the client read a consistent pair).
        self._server_clock: tuple[datetime, float] | None = None
        self._clock_lock = threading.Lock()  # a read, compare and replace of _server_clock
        # How far the latest Date refused as too far from the local clock was from it.
        self._refused_offset: timedelta | None = None
        self._answered = False  # whether any request got an HTTP answer (see answered())

    def server_now(self) -> datetime | None:
        """The API server's time now: the ``Date`` of its latest answer plus the time
        elapsed since it arrived (None before any answer with a ``Date`` header).

        ``Date`` has a resolution of one second, so this may be up to a second behind; it
        never steps back because a later answer's ``Date`` was cut to a lower second (it
        does follow a server clock set back by more than a second).
        """
        clock = self._server_clock
        if clock is None:
            return None
        date, at = clock
        return date + timedelta(seconds=time.monotonic() - at)

    def answered(self) -> bool:
        """Whether the server at the configured URL has answered any request of this
        client yet, with any status (a 429 or 5xx too): it is there. Until it has, a
        request that got no answer more likely names a wrong URL, host name or scheme
        than a server restarting."""
        return self._answered

    def refused_clock_offset(self) -> timedelta | None:
        """How far the API server's clock (an answer's ``Date``) was from the local one,
        when a ``Date`` was refused for being more than :data:`MAX_CLOCK_SKEW` off; None
        if none was. Then neither clock can be trusted for times others compare: the
        local clock must not stand in for the server's (see ``_lease``)."""
        return self._refused_offset

    def _note_date(self, path: str, response: Any) -> None:
        """Keep the answer's ``Date`` as the API server's clock. Not from an answer relayed
        by a proxy (``/proxy/`` paths: the Date is the backend pod's), nor a Date that is
        not one, nor one more than :data:`MAX_CLOCK_SKEW` from the local clock (logged, and
        remembered: see :meth:`refused_clock_offset`)."""
        if "/proxy/" in path:
            return
        value = (response.headers or {}).get("Date")
        if not value:
            return
        try:
            date = email.utils.parsedate_to_datetime(value)
            if date.tzinfo is None:  # an HTTP date is GMT by definition
                date = date.replace(tzinfo=timezone.utc)
            skew = abs(date - datetime.now(timezone.utc))
        except (TypeError, ValueError, OverflowError, IndexError):
            return
        if skew > MAX_CLOCK_SKEW:
            _log.warning(
                "%s: the API server's Date header %r is %s from the local clock; ignored",
                path,
                str(value)[:80],
                skew,
            )
            self._refused_offset = date - datetime.now(timezone.utc)
            return
        at = time.monotonic()
        with self._clock_lock:
            clock = self._server_clock
            if clock is not None:
                # Date is cut to whole seconds: an answer arriving at 10.9 s says 10 s, and
                # one that arrived at 10.0 s, plus 0.9 s since, says 10.9 s. Keep the later
                # reading, so the clock never steps back within that second; a Date more
                # than a second behind is the server's clock set back, and is followed.
                kept = clock[0] + timedelta(seconds=at - clock[1])
                if timedelta(0) < kept - date <= _DATE_RESOLUTION:
                    return
            self._server_clock = (date, at)

    def api(self) -> Any:
        """The ``ApiClient``, made at first use (nothing is contacted before)."""
        with self._lock:
            if self._api is None:
                k8s = _client_module()
                install_log_filter()
                cfg = self._configure()
                # One retry layer, ours: urllib3 would otherwise retry on its own too.
                import urllib3

                cfg.retries = urllib3.util.Retry(total=0, connect=0, read=0, redirect=0)
                cfg.debug = False
                self._remember(cfg)
                self._cfg = cfg
                self._api = k8s.client.ApiClient(configuration=cfg)
            return self._api

    def _remember(self, cfg: Any) -> None:
        secrets = [*cfg.api_key.values(), cfg.password]
        remember_secrets(secrets)
        remember_secrets(s.split(" ", 1)[-1] for s in secrets if isinstance(s, str))

    def close(self) -> None:
        """Release the connection pool and forget the secrets registered for redaction."""
        with self._lock:
            if self._api is not None:
                self._api.close()
                forget_secrets([*self._cfg.api_key.values(), self._cfg.password])
            self._api = None

    # --- requests -------------------------------------------------------------------------

    def request(  # noqa: PLR0913 - method and path plus the keyword-only request options of the one HTTP entry point
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        missing_ok: bool = False,
        attempts: int | None = None,
        deadline: float | None = None,
        before_attempt: Callable[[], None] = lambda: None,
    ) -> Any:
        """Send a request; the decoded JSON answer (None for a 404 when ``missing_ok``).

        ``deadline`` (a :func:`time.monotonic` time) caps each attempt's timeout, the
        backoff between attempts and so their number: no attempt starts after it.
        ``before_attempt`` is called before each attempt is sent, retries included, and
        what it raises ends the request (a rollout's write checks its Lease there: a retry
        may go out long after the first attempt).

        Raises
        ------
        OutOfTime
            The deadline passed, or the next attempt would start after it (the backoff,
            or the ``Retry-After`` the server asked for, is longer than the time left);
            it carries the last attempt's error, if one was sent (``retryable`` True).
        KubernetesError
            A non-retryable error (a redirect, an answer too large, or not shaped as the
            API server's: see :func:`_checked`), or the last retryable one after the
            attempts (``retryable`` True: asking again later may succeed).
        """
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        payload = None if body is None else json.dumps(body).encode()
        tries = attempts if attempts is not None else self.retry.attempts
        last: KubernetesError | None = None
        sent = 0
        for attempt in range(tries):
            timeout = self.timeout
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    raise _out_of_time(method, path, last, sent) from None
            before_attempt()
            wait: float | None = None
            sent += 1
            until = time.monotonic() + timeout  # the attempt's end, headers and body in all
            try:
                response = self._send(
                    method, path, query, headers, payload, timeout=timeout, preload=False
                )
                data = self._read(method, path, response, until, timeout)
            except KubernetesError:
                raise  # the answer is too large: the same request gets the same answer
            except Exception as exc:  # urllib3 timeouts, dropped connections, TLS
                if not _transport_error(exc):
                    raise
                error = _no_answer(method, path, exc)
            else:
                if 200 <= response.status < 300:
                    return _checked(method, path, _decode(method, path, data))
                if response.status == 404 and missing_ok:
                    return None
                error = self._retryable_error(method, path, response, data)
                wait = self._retry_after(response)
            last = error
            if attempt + 1 < tries:
                delay = wait if wait is not None else self.retry.delay(attempt)
                left = math.inf if deadline is None else deadline - time.monotonic()
                if delay >= left:  # the next attempt would start after the deadline
                    raise _out_of_time(
                        method, path, error, sent, (delay, left, wait is not None)
                    ) from None
                _log.info("%s; retry %d of %d in %.2f s", error, attempt + 1, tries - 1, delay)
                self._sleep(delay)
        # A request given its own attempts (a health check's) did not use the budget.
        budget = self.retry if attempts is None else None
        raise _gave_up(method, path, last, sent, budget) from None

    def _retryable_error(
        self, method: str, path: str, response: Any, data: bytes
    ) -> KubernetesError:
        """The error of an answer that is not a success, if another attempt may succeed;
        else it is raised."""
        if 300 <= response.status < 400:
            raise _redirect_error(method, path, response)
        error = self._api_error(method, path, response, data)
        if not self._retryable(response, data) or (
            method in ("PUT", "DELETE") and response.status == 409
        ):
            # A PUT carries the resourceVersion it was read at, a DELETE its preconditions:
            # after a 409 the same request can never succeed, so the caller reads again.
            raise error
        return error

    def _read(self, method: str, path: str, response: Any, until: float, timeout: float) -> bytes:
        """The whole body of ``response``, by ``until`` (a :func:`time.monotonic` time: the
        attempt's end, fixed before the request was sent; ``timeout`` is its length).

        Raises ``TimeoutError`` (a transport failure, retried) when it trickles in slower,
        and :class:`KubernetesError` when it is larger than :data:`MAX_ANSWER_BYTES`. The
        connection goes back to the pool only after a whole answer.
        """
        too_slow = f"the answer took longer than {timeout:g} s to arrive"
        chunks: list[bytes] = []
        size = 0
        whole = False
        try:
            self._note_date(path, response)
            while True:
                _shorten_read_timeout(response, until)
                try:
                    chunk = response.read1(65536, decode_content=True)
                except Exception as exc:
                    if _transport_error(exc) and time.monotonic() >= until:
                        raise TimeoutError(too_slow) from None
                    raise
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise KubernetesError(
                        f"{method} {path}: the answer is larger than {MAX_ANSWER_BYTES} bytes; "
                        "list fewer objects (a label selector), or is the server URL an API "
                        "server?",
                        response.status,
                    )
                chunks.append(chunk)
                if time.monotonic() > until:
                    raise TimeoutError(too_slow)
            whole = True
        finally:
            if not whole:
                response.close()  # a half-read connection must not be reused
            response.release_conn()
        return b"".join(chunks)

    def _send(  # noqa: PLR0913 - one HTTP exchange: the request's parts and how to read the answer
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        headers: dict[str, str],
        payload: bytes | None,
        *,
        timeout: float | tuple[float, float],
        preload: bool,
    ) -> Any:
        """One HTTP exchange through the official client's configured connection pool.

        The pool carries what the configuration says about TLS (CA, client certificate,
        server name, proxy); the bearer token comes from ``auth_settings()``, which runs
        the configuration's refresh hook (exec plugins, rotated in-cluster tokens). Only
        these long-stable parts of the client are used, never its generated request
        methods, whose signatures change between client majors.
        """
        import urllib3

        api = self.api()
        cfg = self._cfg
        url = cfg.host + path
        if query:
            url += "?" + urlencode([(k, _query_value(v)) for k, v in query.items()])
        sent = dict(headers)
        for auth in cfg.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                sent[auth["key"]] = auth["value"]
        self._remember(cfg)  # a token the client refreshed is redacted too
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        response = api.rest_client.pool_manager.request(
            method,
            url,
            body=payload,
            headers=sent,
            preload_content=preload,
            redirect=False,  # reported by the caller, never followed (with the token)
            timeout=urllib3.Timeout(connect=connect, read=read),
        )
        self._answered = True
        return response

    def _retry_after(self, response: Any) -> float | None:
        """Seconds a 429 or 5xx asks to wait, capped at the policy's ``cap``; None (the
        usual backoff) when absent or not a finite number of seconds >= 0 (an HTTP date
        is not read: the API server sends seconds)."""
        if response.status != 429 and response.status < 500:
            return None
        value = (response.headers or {}).get("Retry-After")
        try:
            seconds = float(value) if value is not None else math.nan
        except ValueError:
            return None
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return min(seconds, self.retry.cap)

    @staticmethod
    def _status(data: bytes) -> dict[str, Any]:
        try:
            body = json.loads(data) if data else {}
        except (TypeError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    def _retryable(self, response: Any, data: bytes) -> bool:
        if response.status not in _RETRY_STATUS:
            return False
        if response.status == 409:
            status = self._status(data)
            causes = (status.get("details") or {}).get("causes") or []
            if status.get("reason") == "AlreadyExists" or any(
                c.get("reason") == "FieldManagerConflict" for c in causes
            ):
                return False
        return True

    def _api_error(self, method: str, path: str, response: Any, data: bytes) -> KubernetesError:
        status = self._status(data)
        message = status.get("message") or response.reason or "no message"
        reason = status.get("reason") or ""
        code = response.status
        cls = Gone if code == 410 else KubernetesError
        return cls(f"{method} {path}: {code} {reason}: {message}", code, reason)

    # --- watch ----------------------------------------------------------------------------

    def watch(
        self,
        path: str,
        *,
        query: Mapping[str, Any],
        resource_version: str,
        timeout: float,
        deadline: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The events of a watch from ``resource_version`` for up to ``timeout`` seconds.

        With ``deadline`` (a :func:`time.monotonic` time), waiting for the server never
        outlasts it. Raises :class:`Gone` when the server answers 410 either way, and
        :class:`KubernetesError` for an error answer (its body read until the deadline at
        most), a stream that is not JSON watch events (each line an object whose ``type``
        is ``ADDED``, ``MODIFIED``, ``DELETED``, ``BOOKMARK`` or ``ERROR``) or has a line
        longer than :data:`MAX_EVENT_BYTES`.
        """
        params = {
            **query,
            "watch": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": max(1, int(timeout)),
        }
        connect, read = self.timeout, timeout + self.timeout
        if deadline is not None:
            remaining = max(0.001, deadline - time.monotonic())
            connect, read = min(connect, remaining), min(read, remaining)
        try:
            response = self._send(
                "GET",
                path,
                params,
                {"Accept": "application/json"},
                None,
                timeout=(connect, read),
                preload=False,
            )
        except Exception as exc:
            if not _transport_error(exc):
                raise
            raise KubernetesError(f"WATCH {path}: {_describe(exc)}") from None
        if not 200 <= response.status < 300:
            # The error's body is read within the request timeout and the deadline: one
            # that trickles in must not hold a wait past its deadline.
            until = min(time.monotonic() + self.timeout, deadline or math.inf)
            try:
                data = self._read(
                    "WATCH", path, response, until, max(0.0, until - time.monotonic())
                )
            except Exception as exc:
                if not _transport_error(exc):
                    raise
                data = b""
            if 300 <= response.status < 400:
                raise _redirect_error("WATCH", path, response) from None
            raise self._api_error("WATCH", path, response, data) from None
        self._note_date(path, response)
        # Each read waits at most until the watch should have ended, and the deadline.
        until = min(time.monotonic() + timeout + self.timeout, deadline or math.inf)
        whole = False
        try:
            whole = yield from self._events(path, response, until)
        except (KubernetesError, GeneratorExit):
            raise
        except Exception as exc:
            if not _transport_error(exc):
                raise
            raise KubernetesError(f"WATCH {path}: {_describe(exc)}") from None
        finally:
            if not whole:
                response.close()  # a stream left mid-way must not be reused
            response.release_conn()

    @staticmethod
    def _events(path: str, response: Any, until: float) -> Generator[dict[str, Any], None, bool]:
        """The events of a watch's stream until it ends (True) or ``until`` passes (False:
        the stream is left mid-way). Each chunk is searched once for line ends, so a long
        line costs time linear in its length."""
        parts: list[bytes] = []  # the line still to come, in pieces
        pending = 0
        while True:
            if time.monotonic() >= until:
                return False
            _shorten_read_timeout(response, until)
            try:
                chunk = response.read1(65536, decode_content=True)
            except Exception as exc:
                if _transport_error(exc) and time.monotonic() >= until:
                    return False
                raise
            if not chunk:
                return True
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                parts.append(chunk[start:end])
                line = b"".join(parts)
                parts, pending = [], 0
                start = end + 1
                _check_event_size(path, len(line))
                if line.strip():
                    yield _event(path, line)
            if start < len(chunk):
                parts.append(chunk[start:])
                pending += len(chunk) - start
                _check_event_size(path, pending)


def _check_event_size(path: str, size: int) -> None:
    if size > MAX_EVENT_BYTES:
        raise KubernetesError(
            f"WATCH {path}: an event line is longer than {MAX_EVENT_BYTES} bytes; "
            "is the server URL an API server?"
        )


def _event(path: str, line: bytes) -> dict[str, Any]:
    """One watch event, or the error it carries (:class:`Gone` for a 410).

    A JSON object that is no event (no ``type`` among :data:`_EVENT_TYPES`: a ``Status``
    a proxy sent in the stream, ``{}``) is an error, as a line that is not JSON is: taken
    for a change, it would have a wait list again at once, in a loop.
    """
    try:
        event = json.loads(line)
    except ValueError:
        event = None
    kind = event.get("type") if isinstance(event, dict) else None
    if (
        not isinstance(event, dict)
        or not isinstance(kind, str)
        or kind not in _EVENT_TYPES
        or not isinstance(event.get("object") or {}, dict)
    ):
        raise KubernetesError(
            f"WATCH {path}: the API server sent something that is not a watch event "
            f"({line[:80]!r}); is the server URL an API server, or a proxy in between?"
        )
    obj = event.get("object") or {}
    if kind == "ERROR":
        code = obj.get("code", 0)
        cls = Gone if code == 410 else KubernetesError
        raise cls(
            f"WATCH {path}: {code}: {obj.get('message')}", code if isinstance(code, int) else 0
        )
    return event


def _no_answer(method: str, path: str, exc: BaseException) -> KubernetesError:
    """The error of an attempt that got no answer; raised at once for a TLS failure (the
    certificate will not change on a retry: see :func:`_tls_failure`)."""
    error = KubernetesError(f"{method} {path}: no answer from the API server ({_describe(exc)})")
    if _tls_failure(exc):
        raise error from None
    return error


def _gave_up(
    method: str, path: str, last: KubernetesError | None, sent: int, retry: Retry | None = None
) -> KubernetesError:
    """The error of a request whose every attempt failed (``last`` is None only when
    none was allowed: ``attempts=0``); after a 429 it says what to do.

    A 429 is the API server throttling (API Priority and Fairness, a proxy's rate limit),
    or, through the services proxy (``/proxy/`` paths), maybe the pod's own server. The
    advice to raise the deployer's retry budget is given only when the request used it
    (``retry``; None: the request was given its own attempts, as a health check's, and
    made all ``sent`` of them, which no budget raises).

    Examples
    --------
    >>> last = KubernetesError("GET /api: 429 TooManyRequests: slow down", 429)
    >>> print(_gave_up("GET", "/api", last, 6, Retry()))  # doctest: +NORMALIZE_WHITESPACE
    GET /api: 429 TooManyRequests: slow down (gave up after 6 attempts); the API server is
    throttling requests (429 Too Many Requests): try again later, or give the deployer a
    larger retry budget, KubernetesDeployer(retry=Retry(attempts=..., cap=...)) (now
    attempts=6, cap=5 s)
    >>> last = KubernetesError("GET /x/proxy/health: 429 TooManyRequests", 429)
    >>> print(_gave_up("GET", "/x/proxy/health", last, 2))
    ... # doctest: +NORMALIZE_WHITESPACE
    GET /x/proxy/health: 429 TooManyRequests (gave up after 2 attempts); 429 Too Many
    Requests through the services proxy: the pod's server, or the API server, is
    throttling requests: try again later (this request makes at most 2 attempts, whatever
    the deployer's retry budget)
    """
    if last is None:
        return KubernetesError(f"{method} {path}: not sent (no attempt allowed)")
    advice = ""
    if last.status == 429:
        who = (
            "; 429 Too Many Requests through the services proxy: the pod's server, or the "
            "API server, is throttling requests"
            if "/proxy/" in path
            else "; the API server is throttling requests (429 Too Many Requests)"
        )
        if retry is None:
            advice = (
                f"{who}: try again later (this request makes at most {sent} attempts, "
                "whatever the deployer's retry budget)"
            )
        else:
            budget = f" (now attempts={retry.attempts}, cap={retry.cap:g} s)"
            advice = (
                f"{who}: try again later, or give the deployer a larger retry budget, "
                f"KubernetesDeployer(retry=Retry(attempts=..., cap=...)){budget}"
            )
    return KubernetesError(
        f"{last} (gave up after {sent} attempts){advice}",
        last.status,
        last.reason,
        retryable=True,
    )


def _out_of_time(
    method: str,
    path: str,
    last: KubernetesError | None,
    sent: int,
    next_retry: tuple[float, float, bool] | None = None,
) -> OutOfTime:
    """The error of a request stopped at its deadline: it had passed (``next_retry``
    None), or the next retry, ``(delay, time left, whether the server asked for the
    delay)``, would start after it."""
    if last is None:
        unsent = OutOfTime(
            f"{method} {path}: not sent, its deadline had passed; allow the operation more time",
            retryable=True,
        )
        unsent.unsent = True
        return unsent
    if next_retry is None:
        why = "its deadline passed"
    else:
        delay, left, asked = next_retry
        how = "as the server asked (Retry-After)" if asked else "after the backoff"
        why = (
            f"{max(left, 0.0):.2f} s before its deadline passed: the next retry, {delay:.2f} s "
            f"from now {how}, would start after it"
        )
    return OutOfTime(
        f"{last} (gave up after {sent} attempts, {why})", last.status, last.reason, retryable=True
    )


def _redirect_error(method: str, path: str, response: Any) -> KubernetesError:
    location = (response.headers or {}).get("Location") or "nowhere"
    return KubernetesError(
        f"{method} {path}: the API server answered {response.status} redirecting to "
        f"{location}; redirects are not followed (the request carries credentials): set "
        "server= (or the kubeconfig's server) to the URL the API server answers at",
        response.status,
    )


def _shorten_read_timeout(response: Any, until: float) -> None:
    """Make the socket's next read end by ``until`` at the latest: urllib3's read timeout
    bounds each read, not a whole answer that trickles in."""
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None) if connection else None
    if sock is not None:
        current = sock.gettimeout()
        left = max(0.001, until - time.monotonic())
        sock.settimeout(left if current is None else min(current, left))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _decode(method: str, path: str, data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        raise KubernetesError(
            f"{method} {path}: the API server answered with something that is not JSON "
            f"({data[:80]!r}); is the server URL an API server?"
        ) from None


def _resource_parts(path: str) -> list[str] | None:
    """The parts of a resource path after its group and version (and namespace), or
    None for a path that names no resource (``/version``, discovery at ``/api/v1``).

    One part is a collection (``deployments``); more, one object or its subresource
    (``deployments/x``, ``deployments/x/status``; ``namespaces/ns`` is a Namespace).

    Examples
    --------
    >>> _resource_parts("/apis/apps/v1/namespaces/ns/deployments")
    ['deployments']
    >>> _resource_parts("/api/v1/namespaces/ns/services/fraud"), _resource_parts("/version")
    (['services', 'fraud'], None)
    """
    parts = [part for part in path.split("?", 1)[0].split("/") if part]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return None
    if len(rest) > 2 and rest[0] == "namespaces":  # "namespaces", its name
        rest = rest[2:]
    return rest or None


def _checked(method: str, path: str, answer: Any) -> Any:
    """``answer`` if it is shaped as the API server's answer to ``method`` ``path``: a JSON
    object; for a list (a ``GET`` of a collection, or a ``kind`` ending in ``List``),
    ``items`` a list of objects that each have ``metadata``, and ``metadata`` an object
    with a ``resourceVersion`` (what a watch starts from); an object's ``metadata``, when
    present, an object; and no list for one object. Else a JSON answer from something
    that is not an API server (a proxy's health page, an ingress's default backend) would
    surface as a ``KeyError`` far from the request: it is a :class:`KubernetesError`.

    What the services proxy relays (``/proxy/`` paths) is the pod's own answer: any JSON.
    """
    problem = _shape_problem(method, path, answer)
    if problem is not None:
        raise KubernetesError(
            f"{method} {path}: the server answered {problem}; is the server URL an API server?"
        )
    return answer


def _shape_problem(method: str, path: str, answer: Any) -> str | None:
    """What is wrong with ``answer`` (see :func:`_checked`), or None."""
    if "/proxy/" in path:
        return None
    if not isinstance(answer, dict):
        shown = "nothing" if answer is None else f"a JSON {type(answer).__name__}"
        return f"{shown}, not an object"
    parts = _resource_parts(path) or []
    kind = answer.get("kind")
    listed = bool(parts) and (
        (isinstance(kind, str) and kind.endswith("List")) or "items" in answer
    )
    if listed or (len(parts) == 1 and method == "GET"):
        return _list_problem(answer, one_object=len(parts) > 1)
    if not isinstance(answer.get("metadata", {}), dict):
        return "an object whose metadata is not an object"
    return None


def _list_problem(answer: Mapping[str, Any], *, one_object: bool) -> str | None:
    """What is wrong with a list answer, or None."""
    items, meta = answer.get("items"), answer.get("metadata")
    if one_object:
        return "a list for one object"
    if not isinstance(items, list) or not isinstance(meta, dict):
        return "a list without items and metadata"
    if not isinstance(meta.get("resourceVersion"), str):
        return "a list without a resourceVersion"
    if not all(isinstance(i, dict) and isinstance(i.get("metadata"), dict) for i in items):
        return "a list whose items are not objects with metadata"
    return None


def _transport_error(exc: BaseException) -> bool:
    import urllib3

    return isinstance(exc, (urllib3.exceptions.HTTPError, OSError, TimeoutError))


def _tls_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps: urllib3's ``reason``, the cause chain) is a TLS
    failure that a retry will meet again: a certificate not verified, a handshake alert,
    a protocol mismatch (``https://`` to a plain HTTP port).

    A peer that closed the connection in the middle of TLS (``SSLEOFError``: a TCP load
    balancer in front of an API server restarting accepts, then closes) or ended it
    cleanly (``SSLZeroReturnError``) is no such failure: a dropped connection, retried.

    Examples
    --------
    >>> import ssl
    >>> _tls_failure(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    True
    >>> _tls_failure(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    False
    """
    import ssl

    import urllib3

    chain = _wrapped(exc)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return True
    if any(isinstance(e, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) for e in chain):
        return False
    return any(isinstance(e, (urllib3.exceptions.SSLError, ssl.SSLError)) for e in chain)


def _wrapped(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it wraps: urllib3's ``reason``, exceptions among the
    arguments (urllib3's ``SSLError(error)``), ``__cause__`` and ``__context__`` (each
    once; at most 16)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 16:  # far deeper than any real chain
        current = todo.pop(0)
        if any(current is e for e in seen):
            continue
        seen.append(current)
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__]
        todo += [e for e in [*inner, *current.args] if isinstance(e, BaseException)]
    return seen


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return redact(f"{type(exc).__name__}: {reason if reason is not None else exc}")
