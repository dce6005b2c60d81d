"""Keep credentials out of messages: tokens, keys and certificates become ``<redacted>``.

Every error the adapter raises and every line it logs passes through :func:`redact`;
the secrets of live clients are registered, and patterns catch what was never
registered (a refreshed token, a bearer header echoed by a proxy, a PEM block, the
user information of a URL, ``user:password@`` or ``TOKEN@``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from modelship._shown import hide_credentials

__all__ = ["RedactingFilter", "forget_secrets", "redact", "remember_secrets"]

_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S),
    # Spaces or tabs only: text given here can be several lines (a manifest, a body), and
    # a line that is just the word (an env value "basic") must not mask the next line.
    re.compile(r"(?i)\b(bearer|basic)[ \t]+[A-Za-z0-9._~+/=:-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)((?:token|password|client-key-data|client-certificate-data|authorization)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',})]+"
    ),
)
_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "<redacted>"


def remember_secrets(values: Iterable[str | None]) -> None:
    """Redact these exact strings from now on (too short ones, under 6 characters, are not)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 6)


def forget_secrets(values: Iterable[str | None]) -> None:
    """Stop redacting these strings."""
    with _lock:
        _secrets.difference_update(v for v in values if v)


def redact(text: str) -> str:
    """``text`` with every known secret and every credential-looking part masked.

    Examples
    --------
    >>> redact("401: header was Authorization: Bearer abc.def-123")
    '401: header was Authorization: <redacted>'
    >>> redact("token=s3cr3t-value, user=ann")
    'token=<redacted>, user=ann'
    >>> redact("key: -----BEGIN EC PRIVATE KEY-----\\nMHcCAQEE\\n-----END EC PRIVATE KEY-----")
    'key: <redacted>'
    >>> redact("no answer from https://ci:S3cret@10.0.0.1:6443/api")
    'no answer from https://<redacted>@10.0.0.1:6443/api'
    """
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        # A secret can straddle a mask it was next to ("x" + "x<redacted>"): repeat, bounded.
        for _ in range(8):
            if secret not in text:
                break
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS[:3]:
        text = pattern.sub(MASK, text)
    text = hide_credentials(text, MASK)  # a URL's password, or a token as its user name
    return _PATTERNS[3].sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts a record's message (installed on the client's loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, redacted; never drops a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging
            return True
        record.msg = redact(message)
        record.args = None
        return True


def install_log_filter() -> None:
    """Redact what the ``kubernetes`` and ``urllib3`` clients log (idempotent)."""
    for name in ("kubernetes", "kubernetes.client.rest", "urllib3.connectionpool"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
