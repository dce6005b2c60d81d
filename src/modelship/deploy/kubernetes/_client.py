"""Requests to the API server through the official ``kubernetes`` client, with retries.

Configuration (kubeconfig contexts, client certificates, CA data, exec credential
plugins, token refresh, the in-cluster service account) is the official client's; this
module only decides which loader to call, and does so at the first request, never at
construction. Every request is retried with capped, jittered exponential backoff on 409
(except field-manager conflicts and "already exists"), 429 (honouring ``Retry-After``),
5xx, timeouts and dropped connections, a bounded number of times. A watch that answers
410 Gone (as a status or as an ``ERROR`` event) raises :class:`Gone`, and callers relist.
Errors carry the API's ``Status`` message, redacted; never the request's headers.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import attrs

from modelship.deploy._errors import DeployError
from modelship.deploy.kubernetes._redact import (
    forget_secrets,
    install_log_filter,
    redact,
    remember_secrets,
)
from modelship.errors import ConfigError, MissingDependency

__all__ = ["Gone", "KubeClient", "KubernetesError", "Retry", "load_configuration"]

_log = logging.getLogger("modelship.deploy.kubernetes")

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_RETRY_STATUS = frozenset({409, 429, 500, 502, 503, 504})


class KubernetesError(DeployError):
    """The API server refused a request, or could not be reached after the retries.

    ``status`` is the HTTP status (0 when no answer came); ``reason`` the Status reason.
    The message is redacted: no token or key ever appears in it.

    Examples
    --------
    >>> err = KubernetesError("GET /api: 401 Unauthorized (Authorization: Bearer abc123)", 401)
    >>> str(err), err.status
    ('GET /api: 401 Unauthorized (Authorization: <redacted>)', 401)
    """

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(redact(message))
        self.status = status
        self.reason = reason


class Gone(KubernetesError):
    """A watch's resourceVersion is too old (410): list again and watch from there.

    Examples
    --------
    >>> isinstance(Gone("WATCH /pods: 410: too old resource version", 410), KubernetesError)
    True
    """


@attrs.frozen
class Retry:
    """How requests are retried: up to ``attempts`` tries, backoff doubling from ``base``.

    Examples
    --------
    >>> [round(Retry(base=0.1, cap=1.0).delay(n, jitter=1.0), 2) for n in range(6)]
    [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    """

    attempts: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    base: float = 0.1
    cap: float = 5.0

    def delay(self, attempt: int, jitter: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based), jittered into [50%, 100%]."""
        j = jitter if jitter is not None else random.uniform(0.5, 1.0)
        return float(min(self.cap, self.base * 2**attempt) * j)


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
        except (k8s.config.ConfigException, OSError) as exc:
            raise ConfigError(
                f"the kubeconfig {path}"
                + (f" (context {context!r})" if context is not None else "")
                + f" cannot be used: {redact(str(exc))}; fix it, or pick another with "
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
        except (k8s.config.ConfigException, OSError) as exc:
            raise ConfigError(
                "no Kubernetes credentials found: not in a cluster "
                f"({redact(str(in_cluster))}) and no usable kubeconfig ({redact(str(exc))}); "
                "pass server= and token=, or kubeconfig= and context="
            ) from None
    return cfg


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
    ) -> Any:
        """Send a request; the decoded JSON answer (None for a 404 when ``missing_ok``).

        Raises
        ------
        KubernetesError
            A non-retryable error, or the last retryable one after the attempts.
        """
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        payload = None if body is None else json.dumps(body).encode()
        tries = attempts if attempts is not None else self.retry.attempts
        last: KubernetesError | None = None
        for attempt in range(tries):
            wait: float | None = None
            try:
                response = self._send(
                    method, path, query, headers, payload, timeout=self.timeout, preload=True
                )
            except Exception as exc:  # urllib3 timeouts, dropped connections, TLS
                if not _transport_error(exc):
                    raise
                error = KubernetesError(
                    f"{method} {path}: no answer from the API server ({_describe(exc)})"
                )
                if _tls_failure(exc):
                    raise error from None
            else:
                if 200 <= response.status < 300:
                    return _decode(method, path, response.data)
                if response.status == 404 and missing_ok:
                    return None
                error = self._api_error(method, path, response)
                if not self._retryable(response) or (method == "PUT" and response.status == 409):
                    # A PUT carries the resourceVersion it was read at: after a 409 the same
                    # body can never succeed, so the caller reads again instead.
                    raise error from None
                wait = self._retry_after(response)
            last = error
            if attempt + 1 < tries:
                delay = wait if wait is not None else self.retry.delay(attempt)
                _log.info("%s; retry %d of %d in %.2f s", error, attempt + 1, tries - 1, delay)
                self._sleep(delay)
        assert last is not None
        raise KubernetesError(
            f"{last} (gave up after {tries} attempts)", last.status, last.reason
        ) from None

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
        return api.rest_client.pool_manager.request(
            method,
            url,
            body=payload,
            headers=sent,
            preload_content=preload,
            timeout=urllib3.Timeout(connect=connect, read=read),
        )

    def _retry_after(self, response: Any) -> float | None:
        value = (response.headers or {}).get("Retry-After") if response.status == 429 else None
        try:
            return min(float(value), self.retry.cap) if value is not None else None
        except ValueError:
            return None

    @staticmethod
    def _status(response: Any) -> dict[str, Any]:
        try:
            body = json.loads(response.data) if response.data else {}
        except (TypeError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    def _retryable(self, response: Any) -> bool:
        if response.status not in _RETRY_STATUS:
            return False
        if response.status == 409:
            status = self._status(response)
            causes = (status.get("details") or {}).get("causes") or []
            if status.get("reason") == "AlreadyExists" or any(
                c.get("reason") == "FieldManagerConflict" for c in causes
            ):
                return False
        return True

    def _api_error(self, method: str, path: str, response: Any) -> KubernetesError:
        status = self._status(response)
        message = status.get("message") or response.reason or "no message"
        reason = status.get("reason") or ""
        code = response.status
        cls = Gone if code == 410 else KubernetesError
        return cls(f"{method} {path}: {code} {reason}: {message}", code, reason)

    # --- watch ----------------------------------------------------------------------------

    def watch(
        self, path: str, *, query: Mapping[str, Any], resource_version: str, timeout: float
    ) -> Iterator[dict[str, Any]]:
        """The events of a watch from ``resource_version`` for up to ``timeout`` seconds.

        Raises :class:`Gone` when the server answers 410 either way.
        """
        params = {
            **query,
            "watch": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": max(1, int(timeout)),
        }
        try:
            response = self._send(
                "GET",
                path,
                params,
                {"Accept": "application/json"},
                None,
                timeout=(self.timeout, timeout + self.timeout),
                preload=False,
            )
        except Exception as exc:
            if not _transport_error(exc):
                raise
            raise KubernetesError(f"WATCH {path}: {_describe(exc)}") from None
        if not 200 <= response.status < 300:
            try:
                response.read()
            finally:
                response.release_conn()
            raise self._api_error("WATCH", path, response) from None
        buffer = b""
        try:
            for chunk in response.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        event = json.loads(line)
                        obj = event.get("object") or {}
                        if event.get("type") == "ERROR":
                            code = obj.get("code", 0)
                            cls = Gone if code == 410 else KubernetesError
                            raise cls(f"WATCH {path}: {code}: {obj.get('message')}", code)
                        yield event
        except (KubernetesError, GeneratorExit):
            raise
        except Exception as exc:
            if not _transport_error(exc):
                raise
            raise KubernetesError(f"WATCH {path}: {_describe(exc)}") from None
        finally:
            response.release_conn()


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


def _transport_error(exc: BaseException) -> bool:
    import urllib3

    return isinstance(exc, (urllib3.exceptions.HTTPError, OSError, TimeoutError))


def _tls_failure(exc: BaseException) -> bool:
    import ssl

    import urllib3

    reason = getattr(exc, "reason", None)
    return isinstance(exc, (urllib3.exceptions.SSLError, ssl.SSLError)) or isinstance(
        reason, (urllib3.exceptions.SSLError, ssl.SSLError)
    )


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return redact(f"{type(exc).__name__}: {reason if reason is not None else exc}")
