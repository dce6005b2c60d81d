"""Signing: HMAC-SHA256 over every document that decides what a reference resolves to.

With a key, a registry signs and, when reading, checks:

- manifests (a manifest names its artifact and attachments by digest, so signing it signs
  every byte stored with the version);
- sequence slots (they decide ``latest``), including dead ones;
- alias log entries (they decide ``@alias`` and record who moved what);
- archive and purge markers (they hide versions from ``latest`` and listings).

A document other than a manifest is signed together with the key it is stored at, so a
signed entry copied to another key (an old alias entry replayed as the newest, a slot
moved up) does not verify. Hints (``hint-slots.json``, ``hint-aliases.json``) and
snapshots are not signed: hints only say where to start probing, and each manifest in a
snapshot carries its own signature, checked like any other.

The signing policy is recorded with the registry at the first signed write, as a document
created once and never replaced (:data:`~modelship.registry._layout.SIGNING_POLICY`). A
reader without the key refuses a registry that has it, and any signed document it meets,
unless it opts out with ``verify_signatures=False``, which only reads: a handle writes to a
registry that has it only with the key that signed it (:meth:`Signer.check_writer`, before
every write), so no unsigned or foreign-signed document lands among signed ones. Someone
who can delete keys can still delete the policy (and the newest entries of any log); see
"What signing protects" in ``docs/registry.md``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelship._json import canonical_json
from modelship._model_version import ModelVersion
from modelship._shown import hide_credentials
from modelship.errors import ConfigError, IntegrityError, SignatureError, SigningKeyRequired
from modelship.registry._integrity import parse_json
from modelship.registry._layout import SIGNING_POLICY
from modelship.registry._protocols import Store

__all__ = ["KEY_ENV", "UNCHECKED", "Signer", "damaged_policy"]

KEY_ENV = "MODELSHIP_SIGNING_KEY"
"""The environment variable the command line reads the signing key from."""
_POLICY_FORMAT = 1
_PREFIX = "hmac-sha256:"
_SIGNATURE = re.compile(re.escape(_PREFIX) + "[0-9a-f]{64}")
"""The form of every signature a key makes (:meth:`Signer._hmac`)."""


def _how_to_read(url: str = "...") -> str:
    return (
        f"open it with its key (open_registry({url}, signing_key=...), or set "
        f"{KEY_ENV} for the command line), or pass verify_signatures=False to read it "
        "unchecked if you trust everyone who can write to this store "
        # The same message reaches the command line, which has a flag for the keyword.
        "(--no-verify-signatures on the command line)"
    )


class Signer:
    """Signs and checks a registry's documents with ``key``; without one, only refuses.

    ``verify=False`` turns every check off (a key, if given, still signs what is written).

    Examples
    --------
    >>> Signer(None).key is None
    True
    >>> s = Signer(b"k" * 32)
    >>> doc = s.seal({"version": "1"}, "models/m/slots/000000000001.json")
    >>> s.check_doc(doc, "models/m/slots/000000000001.json", "slot 1 of m")
    >>> s.check_doc(doc, "models/m/slots/000000000002.json", "slot 2 of m")
    Traceback (most recent call last):
    ...
    modelship.errors.SignatureError: slot 2 of m has a signature that this key did not make: ...
    >>> Signer(b"short")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: signing_key must be at least 16 bytes; ...
    """

    def __init__(self, key: bytes | str | None, *, verify: bool = True) -> None:
        if isinstance(key, str):
            try:
                key = key.encode()
            except UnicodeEncodeError as exc:  # lone surrogates: bytes decoded leniently
                raise ConfigError(
                    f"signing_key text cannot be encoded as UTF-8 ({exc.reason} at position "
                    f"{exc.start}); pass the key as bytes (os.environb, or os.fsencode of "
                    "the text)"
                ) from None
        if key is not None and not isinstance(key, (bytes, bytearray)):
            raise ConfigError(
                f"signing_key must be bytes or text, got {type(key).__name__}; use "
                "secrets.token_bytes(32)"
            )
        if key is not None and len(key) < 16:
            raise ConfigError("signing_key must be at least 16 bytes; use secrets.token_bytes(32)")
        if not isinstance(verify, bool):
            raise ConfigError(f"verify_signatures must be True or False, got {verify!r}")
        self.key = None if key is None else bytes(key)
        self.verify = verify
        self._signed_registry = False  # a keyless reader saw the policy: refuse from now on
        self._recorded = False  # a keyed writer recorded (or found) the policy

    # --- making and checking MACs --------------------------------------------------------

    def _hmac(self, payload: bytes) -> str:
        assert self.key is not None
        return _PREFIX + hmac.new(self.key, payload, "sha256").hexdigest()

    def _mac(self, mv: ModelVersion) -> str:
        return self._hmac(canonical_json(mv.to_dict(signed=False)))

    def _doc_mac(self, doc: Mapping[str, Any], key: str) -> str:
        # The key is signed with the document, so a signed entry copied elsewhere fails.
        body = {k: v for k, v in doc.items() if k != "signature"}
        return self._hmac(canonical_json({"document": body, "key": key}))

    def sign(self, mv: ModelVersion) -> ModelVersion:
        """``mv`` with its signature (unchanged without a key)."""
        return mv if self.key is None else attrs.evolve(mv, signature=self._mac(mv))

    def seal(self, doc: dict[str, Any], key: str) -> dict[str, Any]:
        """``doc``, to be stored at ``key``, with its signature (unchanged without a key)."""
        if self.key is None:
            return doc
        return {**doc, "signature": self._doc_mac(doc, key)}

    def seal_bytes(self, doc: dict[str, Any], key: str) -> bytes:
        """The canonical JSON of :meth:`seal`."""
        return canonical_json(self.seal(doc, key))

    def check(self, mv: ModelVersion) -> None:
        """Raise :class:`~modelship.SignatureError` unless ``mv`` may be trusted here.

        With a key: unless it is signed with it. Without one: if it is signed at all
        (a signed version is never read unchecked by accident), with
        :class:`~modelship.errors.SigningKeyRequired`.
        """
        self._check(mv.signature, lambda: self._mac(mv), f"{mv.name} version {mv.version}")

    def check_doc(self, doc: Mapping[str, Any], key: str, what: str) -> None:
        """Raise :class:`~modelship.SignatureError` unless ``doc`` (read at ``key``) is trusted."""
        signature = doc.get("signature")
        self._check(signature, lambda: self._doc_mac(doc, key), what)

    def _check(self, signature: object, expected: Callable[[], str], what: str) -> None:
        if not self.verify:
            return
        if self.key is None:
            if signature:
                raise SigningKeyRequired(
                    f"{what} is signed, and this registry was opened without a signing key; "
                    f"refusing to read it unchecked: {_how_to_read()}"
                )
            return
        if not signature:
            raise SignatureError(
                f"{what} is not signed, and this registry was opened with a signing key; "
                "refusing to trust it. It was written without the key (before signing "
                "began, or by someone who does not hold it); see 'What signing protects' "
                "in docs/registry.md"
            )
        # compare_digest takes ASCII text only: a signature edited to hold other
        # characters is one this key did not make (not a TypeError).
        if (
            not isinstance(signature, str)
            or not signature.isascii()
            or not hmac.compare_digest(_expected(expected, what), signature)
        ):
            raise SignatureError(
                f"{what} has a signature that this key did not make: it was changed, moved "
                "or signed by someone else; refusing to trust it"
            )

    # --- the registry's signing policy ---------------------------------------------------

    def _policy_seen(self, store: Store) -> bool:
        """Whether ``store`` records a signing policy (remembered once seen: it is never
        replaced; until then each call reads it again, so a registry that starts signing
        is noticed)."""
        if not self._signed_registry:
            try:
                store.read(SIGNING_POLICY)
            except FileNotFoundError:
                return False
            self._signed_registry = True
        return True

    def check_policy(self, store: Store) -> None:
        """Refuse a keyless reader of a registry that records a signing policy
        (:class:`~modelship.errors.SigningKeyRequired`).

        A policy once seen is remembered by this handle; until then each call reads it
        again (one small read), so a registry that starts signing is noticed.
        """
        if not self.verify or self.key is not None:
            return
        if self._policy_seen(store):
            raise SigningKeyRequired(
                "the registry at "
                f"{hide_credentials(store.url)} signs its versions ({SIGNING_POLICY}); it is "
                "not read or written without the key: "
                f"{_how_to_read(repr(hide_credentials(store.url)))}"
            )

    def check_writer(self, store: Store) -> None:
        """Refuse, before anything is written, a writer that could not sign for ``store``.

        Without a key, a registry that records a signing policy is refused
        (:class:`~modelship.errors.SigningKeyRequired`) whether or not this handle checks
        signatures: ``verify_signatures=False`` reads unchecked, it never writes unsigned
        documents among signed ones. With a key, a policy another key signed is refused
        (:class:`~modelship.SignatureError`): what this handle signed would not verify for
        the registry's readers; a damaged policy, which no key made (:meth:`policy_damage`),
        is refused as damage (:class:`~modelship.IntegrityError`). Every write of a
        registry calls this first (through ``Registry.check_writable``). A keyed handle
        reads the policy once: it is created once, at the first signed write, and never
        replaced (an exclusive create), so what it says holds for the handle's life.
        Someone who can delete keys can delete it; see "What signing protects" in
        ``docs/registry.md``.
        """
        self.check_policy(store)
        if self.key is None:
            if self._policy_seen(store):
                raise SigningKeyRequired(
                    f"the registry at {hide_credentials(store.url)} signs its versions "
                    f"({SIGNING_POLICY}), and this handle has no signing key: it would write "
                    "unsigned documents that every holder of the key refuses, so it writes "
                    "nothing (verify_signatures=False, --no-verify-signatures on the command "
                    "line, only reads a signed registry unchecked). Open it with its key "
                    f"(signing_key=..., or {KEY_ENV} for the command line) to write"
                )
            return
        if self._recorded:
            return
        try:
            policy = store.read(SIGNING_POLICY)
        except FileNotFoundError:
            return  # not signed yet: record_policy records it at this handle's first write
        self._check_policy_key(store, policy)
        self._recorded = True

    def signs_policy(self, policy: bytes) -> bool:
        """Whether the stored signing policy ``policy`` carries a signature this key made.

        False as well for a damaged policy, which no key made: :meth:`policy_damage`
        tells the two apart.

        Examples
        --------
        >>> from modelship.registry._layout import SIGNING_POLICY
        >>> policy = Signer(b"k" * 32).seal_bytes({"signed": True}, SIGNING_POLICY)
        >>> Signer(b"k" * 32).signs_policy(policy), Signer(b"j" * 32).signs_policy(policy)
        (True, False)
        """
        try:
            doc = parse_json(policy, SIGNING_POLICY)
        except IntegrityError:
            return False
        # Checked whether or not this signer verifies what it reads: it decides a write.
        signature = doc.get("signature") if isinstance(doc, dict) else None
        if self.key is None or not isinstance(signature, str) or not signature.isascii():
            return False
        try:
            expected = self._doc_mac(doc, SIGNING_POLICY)
        except (ConfigError, RecursionError):  # no signed policy holds it: it was changed
            return False
        return hmac.compare_digest(expected, signature)

    @staticmethod
    def policy_damage(policy: bytes) -> str | None:
        """What is wrong with the stored signing policy ``policy`` that no key could have
        made it, or None if it has the form of a policy some key made (this one or not).

        A policy is written once, by :meth:`record_policy`: an object with ``format``,
        ``signed`` (true), ``since`` and a ``signature`` of the form every key makes.
        Anything else (empty, not JSON, not an object, a field missing, no signature or
        one no key makes) was damaged or replaced after it was written.

        Examples
        --------
        >>> from modelship.registry._layout import SIGNING_POLICY
        >>> good = {"format": 1, "signed": True, "since": "2024-01-01T00:00:00+00:00"}
        >>> Signer.policy_damage(Signer(b"j" * 32).seal_bytes(good, SIGNING_POLICY)) is None
        True
        >>> Signer.policy_damage(b"")
        'it is not valid JSON'
        >>> Signer.policy_damage(b"{}")
        'it has no format, signed, since, signature'
        >>> Signer.policy_damage(b'{"format":1,"signed":true,"since":"x","signature":"x"}')
        'its signature is not one a key makes'
        """
        try:
            doc = parse_json(policy, SIGNING_POLICY)
        except IntegrityError as exc:
            return _unreadable(str(exc))
        if not isinstance(doc, dict):
            return f"it holds a JSON {type(doc).__name__}, not an object"
        missing = [f for f in ("format", "signed", "since", "signature") if f not in doc]
        if missing:
            return f"it has no {', '.join(missing)}"
        fmt, signature = doc["format"], doc["signature"]
        if (
            not isinstance(fmt, int)
            or isinstance(fmt, bool)
            or doc["signed"] is not True
            or not isinstance(doc["since"], str)
        ):
            return "its format, signed or since field is not one a registry writes"
        if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
            return "its signature is not one a key makes"
        return None

    def _check_policy_key(self, store: Store, policy: bytes) -> None:
        if self.key is None or self.signs_policy(policy):
            return
        url = hide_credentials(store.url)
        damage = self.policy_damage(policy)
        if damage is not None:
            # No key made it: blaming this handle's key would send its holder looking for
            # another key, when the document is what changed.
            raise damaged_policy(store.url, damage, "this handle writes nothing")
        # The registry's key is required and this is not it: a configuration to fix
        # (exit 2 on the command line), not a document that failed to verify.
        raise SigningKeyRequired(
            f"the registry at {url} signs with another key than this handle's: its signing "
            f"policy ({SIGNING_POLICY}) does not verify with it, so what this handle signed "
            "would be refused by the registry's readers, and it writes nothing. Open it with "
            "the key it was created with"
        )

    def record_policy(self, store: Store, at: str) -> None:
        """With a key, record at the first signed write that this registry signs.

        The policy is created once and never replaced (an exclusive create), so a writer
        without delete rights cannot remove it. One another writer created meanwhile is
        checked as :meth:`check_writer` checks it.
        """
        if self.key is None or self._recorded:
            return
        doc = {"format": _POLICY_FORMAT, "signed": True, "since": at}
        try:
            store.create(SIGNING_POLICY, self.seal_bytes(doc, SIGNING_POLICY))
        except FileExistsError:
            self._check_policy_key(store, store.read(SIGNING_POLICY))
        self._recorded = True


def damaged_policy(url: str, damage: str, done: str) -> IntegrityError:
    """The error for a stored signing policy no key made (:meth:`Signer.policy_damage`
    says ``damage``) in the registry at ``url``, after ``done`` (what was not done).

    Examples
    --------
    >>> print(damaged_policy("/r", "it is not valid JSON", "nothing was copied"))
    the signing policy (signing.json) of the registry at /r is damaged: it is not valid ...
    """
    return IntegrityError(
        f"the signing policy ({SIGNING_POLICY}) of the registry at {hide_credentials(url)} "
        f"is damaged: {damage}. It is written once, at the first signed write, and never "
        f"rewritten, so it was changed or cut short since; {done}. Restore "
        f"{SIGNING_POLICY} from a backup or from a copy of this registry (copy_registry "
        f"copies it unchanged); the {SIGNING_POLICY} of any registry that signs with the "
        "same key also serves. Deleting it does not: a registry holding models and no "
        "policy refuses signed writes. Reading with the key still checks each document on "
        "its own"
    )


def _unreadable(refusal: str) -> str:
    """What :meth:`Signer.policy_damage` says of a policy ``parse_json`` refused."""
    if "not valid JSON" in refusal:
        return "it is not valid JSON"
    if "not finite" in refusal:
        return "it holds a number that is not finite"
    return "it is larger than any policy a registry writes"


def _expected(expected: Callable[[], str], what: str) -> str:
    """The signature ``expected`` computes for ``what``, or :class:`~modelship.SignatureError`
    if what was read cannot be signed at all (a value canonical JSON refuses, such as NaN:
    no signed document holds one, so it was changed after it was signed)."""
    try:
        return expected()
    except (ConfigError, RecursionError) as exc:  # NaN; nesting too deep to write back
        raise SignatureError(
            f"{what} was changed after it was signed: it holds a value no signed document "
            f"holds ({exc}); refusing to trust it"
        ) from exc


#: A signer that checks no signature: for code that reads documents to decide nothing a
#: signature protects (gc finding leftovers) or that carries their bytes on unchanged
#: (copy_registry, whose destination's readers check them), so that a signed registry
#: is handled without its key.
UNCHECKED = Signer(None, verify=False)
