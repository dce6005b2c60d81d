"""Signing: an HMAC-SHA256 over a manifest, made and checked with the registry's key.

A manifest names its artifact and attachments by digest, so signing the manifest signs
every byte stored with the version.
"""

from __future__ import annotations

import hmac

import attrs

from modelship.errors import ConfigError, SignatureError
from modelship.version import ModelVersion, canonical_json

__all__ = ["Signer"]


class Signer:
    """Signs and checks manifests with ``key`` (or does nothing without one).

    Examples
    --------
    >>> Signer(None).key is None
    True
    >>> Signer(b"short")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: signing_key must be at least 16 bytes; ...
    """

    def __init__(self, key: bytes | str | None) -> None:
        if isinstance(key, str):
            key = key.encode()
        if key is not None and len(key) < 16:
            raise ConfigError("signing_key must be at least 16 bytes; use secrets.token_bytes(32)")
        self.key = key

    def _mac(self, mv: ModelVersion) -> str:
        assert self.key is not None
        mac = hmac.new(self.key, canonical_json(mv.to_dict(signed=False)), "sha256")
        return "hmac-sha256:" + mac.hexdigest()

    def sign(self, mv: ModelVersion) -> ModelVersion:
        """``mv`` with its signature (unchanged without a key)."""
        return mv if self.key is None else attrs.evolve(mv, signature=self._mac(mv))

    def check(self, mv: ModelVersion) -> None:
        """Raise :class:`~modelship.SignatureError` unless ``mv`` is signed with this key."""
        if self.key is None:
            return
        if not mv.signature:
            raise SignatureError(
                f"{mv.name} version {mv.version} is not signed, and this registry was opened "
                "with a signing key; refusing to load it"
            )
        if not hmac.compare_digest(self._mac(mv), mv.signature):
            raise SignatureError(
                f"{mv.name} version {mv.version} has a signature that this key did not make: "
                "its manifest was changed or signed by someone else; refusing to load it"
            )
