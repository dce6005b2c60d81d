"""``copy_registry``: move models between registries with everything intact.

A copy reads a model's history in the reverse of the order writers create it (alias logs
and markers, then tag logs, then manifests, then slots), so each document it read names only
documents created before it, which it read too: an alias never names a version the copy
did not take (checked again before anything is written). It writes in the order a
registration does, and takes part in gc's handshake as one (:func:`~._gc.copying`): the
blobs first; then, holding a copy mark, it checks that no gc is running and its blobs are
all there, and creates the slots, then the markers and manifests (the commit points); then
it removes the mark and creates the alias and tag logs. (Before any of it, and again before
the mark, it compares those logs with the destination's: a model whose logs diverged there
is refused before anything of it is written, see :func:`copy_registry`.) Each case is
atomic because:

- registration vs copy, in the destination: a slot is created exclusively, so each
  number has one owner. A registration that finds a copied slot takes the next number; a
  copy that finds a registration's slot raises :class:`~modelship.Conflict` (diverged)
  before it creates any manifest. No one ever meets the other's manifest at a slot it
  owns.
- gc vs copy, in the destination: a gc lists copy marks after creating its own mark and
  before slots and blobs. One that sees the copy mark deletes no blob and declares no slot
  dead (a copied slot has no manifest until the copy creates it, after all of the model's
  slots, and one a copy stopped before waits for the next copy). One that does not see it
  listed copy marks, so created its own, before the copy created its mark and checked for
  gc marks: the copy raises ``Conflict`` if that gc mark is still there; if it is gone,
  that gc listed slots before the copy created any, and made every delete before the copy
  checked its blobs, which sees them.
- copy killed, then gc: a copy that stops between its first slot and its last manifest
  leaves its mark, so a gc within the grace period declares none of its slots dead and
  copying again resumes. After the grace period, gc removes the mark and declares those
  slots dead; a dead slot is never revived, so the model can then only be copied into
  an empty registry. Copy again soon after a copy fails.

A slot claimed in the source by a registration that has not committed (in flight, or
died and not yet declared dead by the source's gc) is not copied: above the model's last
settled slot it is left for a later copy; below one, the copy raises
:class:`~modelship.Conflict` (a dead slot is never revived, and the destination's gc
would declare that one dead before the source commits it).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from modelship._endpoints import s3_endpoint
from modelship._hashing import hash_stream
from modelship._model_version import ModelVersion
from modelship._names import check_model_name
from modelship._shown import brief, hide_credentials
from modelship.errors import (
    ConfigError,
    Conflict,
    IntegrityError,
    InvalidName,
    ModelshipError,
    StoreError,
)
from modelship.registry._claims import claim_name, confirm_claim
from modelship.registry._gc import (
    PURGE_SETTLE,
    add_note,
    copying,
    in_flight,
    refuse_during_gc,
)
from modelship.registry._hints import top_alias, top_slot
from modelship.registry._integrity import parse_json, stored_damage
from modelship.registry._layout import (
    MODELS,
    SIGNING_POLICY,
    blob_key,
    folder,
    is_document,
    manifest_key,
    name_claim_key,
    number_in,
    number_of,
    state_key,
)
from modelship.registry._manifests import parse_manifest
from modelship.registry._protocols import ReplacesBlobs, Store
from modelship.registry._registry import Registry, signer_of, signing_key_of
from modelship.registry._signing import KEY_ENV, UNCHECKED, Signer, damaged_policy
from modelship.registry._slots import check_slot
from modelship.registry._states import check_marker
from modelship.registry._store import FsspecStore
from modelship.registry._tags import tag_log_keys

__all__ = ["CopyReport", "copy_registry"]


@attrs.frozen
class CopyReport:
    """What :func:`copy_registry` did.

    Examples
    --------
    >>> CopyReport().blobs_copied
    0
    """

    models: tuple[str, ...] = ()
    versions: int = 0
    blobs_copied: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    blobs_repaired: int = 0
    """Blobs the destination held damaged (wrong size or digest), replaced by good copies."""


class _MissingInSource(IntegrityError):
    """A blob a version of the source names is not there (or went while it was read)."""


@attrs.frozen
class _Whose:
    """Whose blob a copy streams, for its errors: ``role`` (``"artifact"``, ``"attachment
    'notes'"``) of ``name`` version ``version``."""

    name: str
    version: str
    role: str

    def __str__(self) -> str:
        return f"the {self.role} of {self.name} version {self.version}"


def _copy_blob(
    src: Store, dst: Store, digest: str, size: int | None, whose: _Whose
) -> tuple[int, bool]:
    """Stream one blob, checking its digest on the way: (bytes copied, whether it repaired).

    A blob ``dst`` already holds is trusted only once its size and digest are checked; a
    damaged one is copied again over it: in one step by a writer that
    :class:`~modelship.registry.ReplacesBlobs`, else deleted once the copy is staged. A
    store's failure to read or write it (an ``OSError``) is a
    :class:`~modelship.StoreError` naming the blob and the store.
    """
    try:
        return _stream_blob(src, dst, digest, size, whose)
    except ModelshipError:
        raise
    except OSError as exc:
        raise StoreError(
            f"could not copy blob {digest} ({whose}) from {hide_credentials(src.url)} to "
            f"{hide_credentials(dst.url)}: {exc}"
        ) from exc


def _stream_blob(
    src: Store, dst: Store, digest: str, size: int | None, whose: _Whose
) -> tuple[int, bool]:
    """:func:`_copy_blob`, letting a store's ``OSError`` through."""
    key = blob_key(digest)
    repaired = False
    if dst.exists(key):
        if stored_damage(dst, digest, size) is None:
            return 0, False
        repaired = True
    try:
        source = src.open_blob(key)
    except FileNotFoundError:
        raise _MissingInSource(
            f"blob {digest} ({whose}) is missing from the source "
            f"{hide_credentials(src.url)}: the source registry is damaged. "
            f"{_damaged_source_advice(src, whose.name)}"
        ) from None
    writer = dst.blob_writer()
    try:
        with source as f:
            limit = None if size is None else size + 1
            try:
                hexdigest, copied = hash_stream(f, sink=writer.write, limit=limit)
            except FileNotFoundError:
                # Deleted while it was read (a gc or purge of the source meanwhile).
                raise _MissingInSource(
                    f"blob {digest} ({whose}) was deleted from the source "
                    f"{hide_credentials(src.url)} while it was "
                    "copied (a gc or purge there); copy again once it has ended"
                ) from None
        if "sha256:" + hexdigest != digest:
            raise IntegrityError(
                f"blob {digest} ({whose}) in the source {hide_credentials(src.url)} does "
                f"not match its digest (read {copied} bytes): the source's copy is damaged, "
                f"so it was not copied and no version of {whose.name} was committed by this "
                f"copy (models copied before it were, except any refused, named below). "
                f"{_damaged_source_advice(src, whose.name)}"
            )
        if repaired and isinstance(writer, ReplacesBlobs):
            writer.publish_over(key)
        else:
            if repaired:
                dst.delete(key)
            if not writer.publish(key):  # stored already (by another writer): checked here
                if stored_damage(dst, digest, size) is not None:
                    raise IntegrityError(
                        f"blob {digest} ({whose}) in the destination "
                        f"{hide_credentials(dst.url)} is damaged and could not be replaced "
                        "(another writer stored it first); copy again"
                    )
                return copied, repaired
    except BaseException:
        writer.discard()
        raise
    # Read back what was published before any document names it: the chunks handed to
    # the writer are views of one reused buffer, and a writer that keeps them instead of
    # their bytes (or a store that damages what it stores) would have the copy commit a
    # version whose artifact does not match its manifest. The price: each copied blob is
    # read and hashed once more, from the destination (a 200 MB copy between local
    # folders took 0.81 s, not 0.35 s; on S3, one more download of it).
    damage = stored_damage(dst, digest, size)
    if damage is not None:
        raise IntegrityError(
            f"blob {digest} ({whose}) was copied to {hide_credentials(dst.url)} but {damage}: the "
            "destination store did not store the bytes it was given (a BlobWriter must "
            "copy each buffer during write). Nothing of this version was committed; fix "
            "the store, then copy again"
        )
    return copied, repaired


def _damaged_source_advice(src: Store, name: str) -> str:
    """What to do about a blob of ``name`` missing or damaged in the source ``src``."""
    url = shlex.quote(hide_credentials(src.url))
    return (
        f"Run `modelship registry verify {url} {shlex.quote(name)} --all` to find every "
        "damaged version there, restore the blob from a backup (or a copy of the registry), "
        f"then copy again; or copy only other models (models=[...] without {name!r}; on the "
        "command line, one --model NAME per model)"
    )


def _copy_doc(src: Store, dst: Store, key: str, data: bytes) -> None:
    try:
        dst.create(key, data)
    except FileExistsError:
        if dst.read(key) != data:
            raise Conflict(
                f"{key} exists in the destination with other content; the registries have "
                "diverged, so copying would overwrite history. Copy into an empty registry, "
                "or copy only other models"
            ) from None


_LOGS = ("aliases", "tags")
"""The parts of a model's history that are logs (:mod:`._aliases`, :mod:`._tags`)."""


class _Diverged(Conflict):
    """A model's alias or tag log in the destination differs from the source's: the model is
    reported, and :func:`copy_registry` goes on with the other models."""

    def __init__(self, src: Registry, dst: Registry, name: str, lines: list[str], *, late: bool):
        self.name, self.lines, self.late = name, lines, late
        super().__init__(
            f"{name} was not copied whole: {_diverged_state(src, dst, self)}. "
            f"{_diverged_advice([name])}"
        )


def _diverged_state(src: Registry, dst: Registry, exc: _Diverged) -> str:
    """What a :class:`_Diverged` left in the destination and what differs, for its message."""
    s, d = hide_credentials(src.url), hide_credentials(dst.url)
    written = (
        f"its versions were committed in {d}, but a writer there moved an alias or set a tag "
        "after the copy compared their logs (each log that differs was copied up to the "
        "entry that differs, the other logs whole)"
        if exc.late
        else f"nothing of it was committed in {d} by this copy"
    )
    return f"{written}; its history there diverged from the source {s}: {'; '.join(exc.lines)}"


def _diverged_advice(names: Sequence[str]) -> str:
    these = ", ".join(repr(n) for n in names)
    return (
        "Alias and tag log entries are never rewritten, so moving the alias (or setting the "
        "tag) in either registry does not make the logs agree again: copy only the other "
        f"models (models=[...] without {these}; on the command line, one --model NAME per "
        f"model), or copy {these} into an empty registry"
    )


def _log_difference(key: str, ours: bytes, there: bytes) -> str:
    """What differs between the log entry at ``key`` in the source (``ours``) and in the
    destination (``there``): each alias (or tag) whose target (or value) differs in the
    states the two entries hold, with both. The bytes are parsed as JSON unchecked, only to
    be shown (each name and value cut by :func:`~modelship._shown.brief`).

    Examples
    --------
    >>> _log_difference(
    ...     "models/m/aliases/000000000004.json",
    ...     b'{"aliases": {"prod": "5"}}',
    ...     b'{"aliases": {"prod": "3"}}',
    ... )
    "alias 'prod' names version '5' in the source and '3' in the destination (alias log entry 4)"
    """
    parts = key.split("/")  # models/<name>/aliases/<rev> or models/<name>/tags/<v>/<rev>
    rev = number_in(key)
    if parts[2] == "aliases":
        field, where, unset = "aliases", f"alias log entry {rev}", "no version"
    else:
        field, where, unset = "tags", f"entry {rev} of the tag log of version {parts[3]}", "unset"
    a, b = _logged_state(ours, key, field), _logged_state(there, key, field)
    if a is None or b is None:
        return f"{where} differs (not readable in the {'source' if a is None else 'destination'})"
    shown = []
    for k in sorted(set(a) | set(b), key=str):
        if a.get(k) != b.get(k):
            first, second = (unset if v is None else brief(v) for v in (a.get(k), b.get(k)))
            what = f"alias {brief(k)} names version" if field == "aliases" else f"tag {brief(k)} is"
            shown.append(f"{what} {first} in the source and {second} in the destination")
    if not shown:
        return f"{where} differs (it holds the same {field}, set at another time or by another)"
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    return f"{', '.join(shown[:3])}{more} ({where})"


def _logged_state(data: bytes, key: str, field: str) -> dict[Any, Any] | None:
    """The ``aliases`` (or ``tags``) a log entry holds, unchecked; None if it holds none."""
    try:
        doc = parse_json(data, key)
    except IntegrityError:
        return None
    state = doc.get(field) if isinstance(doc, dict) else None
    return state if isinstance(state, dict) else None


def _diverged_logs(dst: Registry, docs: Mapping[str, Mapping[str, bytes]]) -> list[str]:
    """One line per alias or tag log of ``docs`` (a model's history as read from the source)
    whose entry at some key differs in ``dst``, saying what differs at its first such entry
    (:func:`_log_difference`); none: every entry the destination holds is the source's.

    Only bytes are compared: the source's as :func:`_read_history` read them (the bytes the
    copy writes), the destination's read here. Neither side's signature is checked: equal
    bytes are what :func:`_copy_logs` skips and different ones what it refuses, whatever
    they hold; the destination's readers check its entries.
    """
    ours = {k: v for part in _LOGS for k, v in docs[part].items()}
    # Only the entries the destination lists are read (into an empty one, none): one
    # created after this listing is caught by _copy_logs, as one created after the read.
    d = dst.store
    names = {k.rpartition("/")[0] for k in ours}
    listed = {f"{log}/{n}" for log in sorted(names) for n in d.list(log) if is_document(n)}
    theirs = d.read_many(sorted(set(ours) & listed))
    found: dict[str, str] = {}
    for key in sorted(ours):
        log = key.rpartition("/")[0]
        there = theirs.get(key)
        if there is not None and there != ours[key] and log not in found:
            found[log] = _log_difference(key, ours[key], there)
    return list(found.values())


def _refuse_diverged(
    src: Registry, dst: Registry, name: str, docs: Mapping[str, Mapping[str, bytes]]
) -> None:
    """Raise :class:`_Diverged` for ``name`` if :func:`_diverged_logs` finds any."""
    lines = _diverged_logs(dst, docs)
    if lines:
        raise _Diverged(src, dst, name, lines, late=False)


def _copy_logs(
    src: Registry, dst: Registry, name: str, docs: Mapping[str, Mapping[str, bytes]]
) -> None:
    """Create the alias and tag log entries of ``docs`` in ``dst`` (each if absent, else
    compared), after the versions they name were committed. A log whose entry differs
    there (an entry a writer created after :func:`_refuse_diverged` compared them) is
    copied up to that entry only, never the source's later ones on top of another
    history; the other logs are copied whole; then :class:`_Diverged` says which."""
    d = dst.store
    diverged: dict[str, str] = {}
    for part in _LOGS:  # tag logs: after the versions they annotate
        for key, data in sorted(docs[part].items()):
            log = key.rpartition("/")[0]
            if log in diverged:
                continue
            try:
                d.create(key, data)
            except FileExistsError:
                there = d.read(key)
                if there != data:
                    diverged[log] = _log_difference(key, data, there)
    if diverged:
        raise _Diverged(src, dst, name, list(diverged.values()), late=True)


def _not_nested(src: Store, dst: Store) -> None:
    """Refuse two registries of which one lies inside the other (or both are one place):
    copying into a folder of the source would make that folder part of the source."""
    if not (isinstance(src, FsspecStore) and isinstance(dst, FsspecStore)):
        return
    # Beyond the local disk, one place needs one endpoint: two S3 endpoints may hold
    # buckets of the same name. (Each S3 registry has an s3fs object of its own, so the
    # objects cannot tell: an S3 registry was copied into itself.)
    if src.protocol != dst.protocol or not (src.is_local or _one_endpoint(src, dst)):
        return
    a, b = (os.path.realpath(s.root) if s.is_local else s.root for s in (src, dst))
    if a == b or b.startswith(a.rstrip("/") + "/") or a.startswith(b.rstrip("/") + "/"):
        raise ConfigError(
            f"cannot copy {hide_credentials(src.url)} to {hide_credentials(dst.url)}: one "
            "registry lies inside the other; copy to a location outside the source"
        )


def _one_endpoint(src: FsspecStore, dst: FsspecStore) -> bool:
    """Whether two stores of one protocol reach one endpoint: one filesystem object, or,
    for S3, the same ``endpoint_url`` (none: AWS's own)."""
    if src.fs is dst.fs:
        return True
    if src.protocol not in ("s3", "s3a"):
        return False

    def endpoint(store: FsspecStore) -> str | None:
        options = getattr(store.fs, "storage_options", None) or {}
        client = options.get("client_kwargs") or {}
        given = options.get("endpoint_url") or client.get("endpoint_url")
        if given is None:
            # An s3fs made without one (not by open_registry, which writes the
            # environment's in): botocore reads the AWS variables itself.
            found = s3_endpoint({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
            given = found[1] if found is not None else None
        return None if given is None else _endpoint_form(str(given))

    return endpoint(src) == endpoint(dst)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _endpoint_form(url: str) -> str:
    """``url`` spelled so that two spellings of one endpoint are equal: the scheme and
    host in lower case, the scheme's default port written out, no trailing ``/``.

    Examples
    --------
    >>> _endpoint_form("HTTP://127.0.0.1:9000/") == _endpoint_form("http://127.0.0.1:9000")
    True
    >>> _endpoint_form("https://S3.example.com")
    'https://s3.example.com:443'
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a port number: compared as written
        return url.strip()
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address, bracketed in a URL
        host = f"[{host}]"
    where = f"{host}:{port}" if port is not None else host
    return urlunsplit((scheme, where, parts.path.rstrip("/"), parts.query, ""))


def _refuse_restored_since(
    src: Registry, dst: Registry, name: str, archived: list[str], purged: set[str]
) -> None:
    """Refuse a copy of ``name`` if the destination holds an archive mark the source no
    longer does: the version was restored in the source since the last copy. Archive
    marks are only copied, never taken back, so the destination would keep it hidden while
    the source's aliases name it; its history differs, refused before anything is written.
    """
    there = [n for n in dst.store.list(folder(name, "archived")) if is_document(n)]
    restored = sorted(
        n.removesuffix(".json")
        for n in set(there) - set(archived)
        if n.removesuffix(".json") not in purged
    )
    if restored:
        raise Conflict(
            f"{name} version {restored[0]} is archived in "
            f"{hide_credentials(dst.url)} but not in {hide_credentials(src.url)} "
            "(restored there since the last copy); nothing of it was copied. Restore it "
            f"in the destination (restore({name!r}, {restored[0]!r})), then copy again"
        )


def _refuse_missing(src: Registry, names: Sequence[str]) -> None:
    """Raise :class:`~modelship.errors.ModelNotFound` for a model given by name that the
    source has no version of, before anything is written (as :func:`_copy_model` would,
    after the destination was made)."""
    for name in names:  # bounded: the names given
        if not any(is_document(n) for n in src.store.list(folder(name, "versions"))):
            src.versions(name)  # raises ModelNotFound, naming the models there are


def _source_policy(src: Registry) -> bytes | None:
    """The signing policy of ``src`` (None: it does not sign), read once: every check of
    the copy and the destination's copy of it use these bytes, so a policy changed in the
    source meanwhile is never recorded in the destination unchecked. A damaged one (no key
    made it) is refused: recorded there, it would lock the destination's writers out."""
    try:
        policy = src.store.read(SIGNING_POLICY)
    except FileNotFoundError:
        return None
    damage = Signer.policy_damage(policy)
    if damage is not None:
        raise damaged_policy(src.url, damage, "nothing was copied")
    return policy


def _destination_policy(dst: Registry) -> bytes | None:
    """The signing policy ``dst`` records (None: none yet), read once for every check of
    the copy, so that they all judge one state of it."""
    try:
        return dst.store.read(SIGNING_POLICY)
    except FileNotFoundError:
        return None


def _keyless_copy_of_signed(dst: Registry, policy: bytes | None, theirs: bytes | None) -> bool:
    """Whether ``dst`` holds no key and receives a signed source (its ``policy``) whose
    policy it has (``theirs``), or has none yet (it then gets the source's): what is
    copied is signed bytes only."""
    if signing_key_of(dst) is not None or policy is None:
        return False
    return theirs is None or theirs == policy


def _refuse_other_key(
    src: Registry, dst: Registry, policy: bytes | None, theirs: bytes | None
) -> None:
    """Refuse, before anything is written (before ``dst`` records its own policy), a copy
    of a signed registry (``policy``: its signing policy, checked undamaged) into one that
    signs with another key (``theirs``: its policy): its readers could not read the copied
    versions (and the source's policy would not be recorded there). A damaged destination
    policy is no key's: the error names that registry instead."""
    if policy is None or not _other_key(src, dst, policy, theirs):
        return
    damage = None if theirs is None else Signer.policy_damage(theirs)
    if damage is not None:
        raise damaged_policy(dst.url, damage, "nothing was copied")
    raise ConfigError(
        f"{hide_credentials(src.url)} and {hide_credentials(dst.url)} sign with different "
        f"keys: the destination's key does not accept the source's signatures "
        f"({SIGNING_POLICY}), so the copied versions could not be read there; nothing was "
        "copied. Copy into a registry that signs with the same key, or into an empty one "
        "opened without a key or with the source's"
    )


def _other_key(src: Registry, dst: Registry, policy: bytes, theirs: bytes | None) -> bool:
    """Whether ``dst`` signs with another key than signed ``src``, as far as a key held
    by either handle tells: the source's ``policy`` checked with the destination's key, or
    the destination's (``theirs``) with the source's. (A policy is signed with its
    registry's key; neither handle holding one, the policies themselves cannot tell.)"""
    checks = [(signing_key_of(dst), policy), (signing_key_of(src), theirs)]
    return any(
        key is not None and doc is not None and not Signer(key).signs_policy(doc)
        for key, doc in checks
    )


def _refuse_other_signing(src: Registry, dst: Registry, signed: bool, dst_signed: bool) -> None:
    """Refuse, before anything is written, a copy whose documents the destination could
    not read back: signed ones into a registry of unsigned models (its policy would make
    them unreadable without a key, and them unreadable with one), or unsigned ones into a
    signing registry (they have no signatures to check). A destination opened with a key
    signs: its first write records its policy, so whether it has a key or not, a signed
    source is refused while the destination records no policy and holds models.
    ``signed``, ``dst_signed``: whether the source, the destination records a signing
    policy."""
    s, d = hide_credentials(src.url), hide_credentials(dst.url)
    if signed and not dst_signed and dst.store.list(MODELS):
        raise ConfigError(
            f"{s} signs its versions ({SIGNING_POLICY}) and {d} holds unsigned models; "
            "copying would record a signing policy there, and its own models could be read "
            "neither without a key nor with one. Copy into an empty registry, or into one "
            "that signs with the same key"
        )
    if signed == (signing_key_of(dst) is not None or dst_signed):
        return
    if not signed and not dst_signed:
        raise ConfigError(
            f"{d} is opened with a signing key and {s} does not sign its versions: the "
            "copied versions would carry no signatures, which readers with the key refuse; "
            "nothing was copied. Open the destination without a key to copy them unsigned "
            f"(on the command line, --signing-key-env '' while {KEY_ENV} is set), or "
            "register the models into the signing registry"
        )
    if signed:
        return  # an empty destination: its policy is copied with the first model
    raise ConfigError(
        f"{d} signs its versions ({SIGNING_POLICY}) and {s} does not; the copied versions "
        "would carry no signatures and could not be read there. Copy into a registry that "
        "does not sign (an empty one), or register the models into the signing one"
    )


def _other_spelling(dst: Store, name: str, listed: Mapping[str, str]) -> str | None:
    """The model of ``dst`` whose name differs from ``name`` only in case, if any."""
    other = listed.get(name.casefold())
    if other is not None and other != name:
        return other
    try:
        doc = parse_json(dst.read(name_claim_key(name)), name_claim_key(name))
    except FileNotFoundError:
        return None
    holder = doc.get("name") if isinstance(doc, dict) else None
    return holder if isinstance(holder, str) and holder != name else None


def _spelling_taken(name: str, other: str, dst: Registry) -> InvalidName:
    return InvalidName(
        f"cannot copy model {name!r}: {hide_credentials(dst.url)} holds the model "
        f"{other!r}, whose name differs only in case (on case-insensitive storage they "
        "would share one folder); nothing of it was copied. Rename one of them, or copy "
        "only other models"
    )


def _refuse_other_spellings(dst: Registry, names: list[str]) -> None:
    """Refuse, before anything is written, a model whose name another spelling holds in
    the destination (or that is copied twice under two spellings)."""
    listed = {m.casefold(): m for m in dst.store.list(MODELS)}
    seen: dict[str, str] = {}
    for name in names:
        other = seen.get(name.casefold()) or _other_spelling(dst.store, name, listed)
        if other is not None and other != name:
            raise _spelling_taken(name, other, dst)
        seen[name.casefold()] = name


@attrs.frozen
class _History:
    """One model's documents as read from the source, by folder (``tags`` for tag logs)."""

    docs: dict[str, dict[str, bytes]]
    manifests: dict[str, ModelVersion]
    """Each manifest's key to its version record (:func:`parse_manifest`)."""
    purged: set[str]
    """Versions whose purge marker was read (a purge done, or one still deciding)."""
    archived: list[str]
    settled: set[str]
    """Versions purged for good: their marker older than ``PURGE_SETTLE``."""


_LISTINGS = 3
"""Readings of a model's history before a copy gives up finding one consistent. Listing in
the reverse of the write order makes the first consistent; the check after it guards
against a store whose listings lag, for which reading again is the remedy."""


def _read_history(src: Registry, dst: Registry, name: str) -> _History:
    """The history of ``name`` in ``src``, listed so that every alias and tag log entry and
    every marker names a version whose manifest was listed (or that ``dst`` holds)."""
    s = src.store
    missing: list[str] = []
    before: dict[str, dict[str, bytes]] | None = None
    for _ in range(_LISTINGS):
        # The reverse of the order writers create them: an alias or tag log entry or a
        # marker is created after the manifest it names, a manifest after its slot.
        listed: dict[str, list[str]] = {}
        for part in ("aliases", "archived", "purged", "tags", "versions", "slots"):
            listed[part] = (
                tag_log_keys(s, name)
                if part == "tags"
                else [
                    f"{folder(name, part)}/{n}"
                    for n in s.list(folder(name, part))
                    if is_document(n)
                ]
            )
        if not listed["versions"]:
            src.versions(name)  # raises ModelNotFound, naming the models there are
        docs = {part: s.read_many(keys) for part, keys in listed.items()}
        # Checked as any reader checks a manifest (a damaged one, or one copied to another
        # key, is an IntegrityError), but not its signature: its bytes are copied as they
        # are, so a signature travels with them to be checked there.
        manifests = {k: parse_manifest(k, v, UNCHECKED) for k, v in docs["versions"].items()}
        have = {mv.version for mv in manifests.values()}
        named = _named_versions(docs)
        missing = sorted(v for v in named - have if not dst.store.exists(manifest_key(name, v)))
        # An alias log whose newest entry names a version whose marker was read may have
        # been read before a release moved the alias and then archived the version it
        # left: read again. Copied, the destination's alias would name an archived
        # version, a state the source never had. Two readings that agree are a state the
        # source holds (an alias left on an archived version, by a set_alias whose undo
        # failed): it is copied as it is.
        marks = {part: dict(docs[part]) for part in ("aliases", "archived", "purged")}
        settled_state = marks == before
        before = marks
        if not missing and (settled_state or not _aliased_marked(docs)):
            # The markers as read, not as listed: one taken back in between (a purge that
            # gave way to a restore or an alias) is not there.
            archived = [k.rpartition("/")[2] for k in docs["archived"]]
            purged = {number_of(k) for k in docs["purged"]}
            return _History(
                docs, manifests, purged, archived, _settled_purges(s, docs, signer_of(src))
            )
    if not missing:
        raise Conflict(
            f"{name} in {hide_credentials(src.url)}: its aliases named an archived version "
            f"and moved between each two readings of its history ({_LISTINGS} readings; "
            "releases under way there); nothing of it was copied. Copy again once they "
            "have ended"
        )
    raise Conflict(
        f"{name} in {hide_credentials(src.url)}: its aliases, tags or markers name version "
        f"{missing[0]}, whose manifest is in neither registry (read {_LISTINGS} times); "
        "nothing of it was copied. The source's listings lag or it is damaged: copy again "
        f"later, or check it (verify {name!r} {missing[0]!r} there)"
    )


def _aliased_marked(docs: Mapping[str, Mapping[str, bytes]]) -> bool:
    """Whether the newest alias log entry read names a version whose archive or purge
    marker was read (set_alias refuses that, so the two were read at different times)."""
    if not docs["aliases"]:
        return False
    key = max(docs["aliases"])  # zero-padded revisions: the newest sorts last
    try:
        doc = parse_json(docs["aliases"][key], key)
    except IntegrityError:
        return False  # damaged: copied as it is, and refused by its readers there
    aliases = doc.get("aliases") if isinstance(doc, dict) else None
    if not isinstance(aliases, dict):
        return False
    marked = {number_of(k) for part in ("archived", "purged") for k in docs[part]}
    return any(v in marked for v in aliases.values() if isinstance(v, str))


def _settled_purges(s: Store, docs: Mapping[str, Mapping[str, bytes]], signer: Signer) -> set[str]:
    """The versions whose purge marker read is older than ``PURGE_SETTLE`` in ``s``'s own
    time (as gc ages them: never by the time written in it, which the purging machine's
    clock set), still the marker read, and signed where ``signer`` has a key: purged for
    good. A younger one may belong to a purge still deciding, which takes its marker back
    when it gives way to a restore or an alias."""
    cutoff = time.time() - PURGE_SETTLE
    settled = set()
    for key, data in docs["purged"].items():
        try:
            if s.modified(key) < cutoff and _still(s, key, data, signer):
                settled.add(number_of(key))
        except FileNotFoundError:
            continue  # taken back since it was read: that purge gave way
    return settled


def _still(s: Store, key: str, data: bytes, signer: Signer) -> bool:
    """Whether the marker at ``key`` is still ``data`` (not taken back and made again by
    another purge since it was read), and signed where ``signer`` has a key (an unsigned
    marker in a signed registry is never a purge, as gc takes it)."""
    try:
        if s.read(key) != data:
            return False
    except FileNotFoundError:
        return False
    if signer.key is None:
        return True  # copied as it is: the destination's readers check its signature
    try:
        check_marker(key, data, signer)
    except IntegrityError:
        return False
    return True


def _purges_with_bytes_gone(s: Store, history: _History, signer: Signer) -> set[str]:
    """The versions of ``history`` whose purge marker was read, not settled, still the
    marker read, and one of whose blobs is gone from ``s``: a purge deletes bytes only
    once it has decided (and never takes its marker back then), so those are purged for
    good."""
    young = history.purged - history.settled
    gone = set()
    for mv in history.manifests.values():
        if mv.version in young and any(
            not s.exists(blob_key(ref.digest)) for ref in [mv.artifact, *mv.attachments.values()]
        ):
            key = state_key(mv.name, "purged", mv.version)
            if _still(s, key, history.docs["purged"].get(key, b""), signer):
                gone.add(mv.version)
    return gone


def _named_versions(docs: Mapping[str, Mapping[str, bytes]]) -> set[str]:
    """The versions named by the alias log entries, tag logs and markers in ``docs``."""
    named: set[str] = set()
    for key, data in docs["aliases"].items():
        try:
            doc = parse_json(data, key)
        except IntegrityError:
            continue  # damaged: copied as it is, and refused by its readers there
        aliases = doc.get("aliases") if isinstance(doc, dict) else None
        if isinstance(aliases, dict):
            named.update(v for v in aliases.values() if isinstance(v, str))
    for part in ("archived", "purged"):
        named.update(k.rpartition("/")[2].removesuffix(".json") for k in docs[part])
    named.update(k.split("/")[3] for k in docs["tags"])  # models/<name>/tags/<v>/<rev>
    return named


def _slots_to_copy(name: str, history: _History) -> dict[str, bytes]:
    """The settled slots of ``history`` (dead, or naming a listed manifest's registration).

    A slot in flight above the last settled one is left for a later copy; one below it
    raises :class:`~modelship.Conflict`: copied, the destination's gc would declare it dead
    (its time is the source's) and the version could never follow it there; left out, it
    would be a hole, where readers probing slots forward stop.
    """
    owners = {mv.registration for mv in history.manifests.values()}
    settled: dict[str, bytes] = {}
    in_flight: list[str] = []
    for key, data in sorted(history.docs["slots"].items()):
        slot = check_slot(data, key, UNCHECKED)
        if slot.get("dead") or slot.get("registration") in owners:
            settled[key] = data
        else:
            in_flight.append(key)
    top = max(settled, default="")
    below = [key for key in in_flight if key < top]
    if below:
        raise Conflict(
            f"{name}: slot {number_in(below[0])} in the source is claimed by a registration "
            "that has not committed (in flight, or died), below a committed version; nothing "
            "of the model was copied. Copy again once it has committed, or once gc on the "
            "source has declared it dead (gc() there, after its grace period)"
        )
    return settled


def _copy_blobs_of(
    s: Store, d: Store, manifest: ModelVersion, history: _History, counts: list[int]
) -> list[str] | None:
    """Copy the blobs of one version, adding to ``counts`` (blobs copied, skipped, bytes
    copied, repaired): the digests copied, or None if its purge went on meanwhile.

    A version whose purge marker was read but is younger than ``PURGE_SETTLE`` is copied
    archived, with its bytes: that purge may yet give way (and the version be restored).
    Its purge marker is left for a later copy, unless its bytes are gone: a purge deletes
    bytes only once it has decided, and never takes its marker back then.
    """
    name = manifest.name
    digests: list[str] = []
    roles = ["artifact", *(f"attachment {a!r}" for a in manifest.attachments)]
    for role, ref in zip(roles, [manifest.artifact, *manifest.attachments.values()], strict=True):
        try:
            n, fixed = _copy_blob(s, d, ref.digest, ref.size, _Whose(name, manifest.version, role))
        except _MissingInSource:
            if not s.exists(state_key(name, "purged", manifest.version)):
                raise
            if manifest.version in history.purged:
                return None
            raise Conflict(
                f"{name} version {manifest.version} was purged in "
                f"{hide_credentials(s.url)} during the copy (its blob "
                f"{ref.digest} went); the source changed while it was copied. "
                "Copy again: the copy resumes"
            ) from None
        counts[0] += n > 0 or fixed
        counts[1] += n == 0 and not fixed
        counts[2] += n
        counts[3] += fixed
        digests.append(ref.digest)
    return digests


def _refuse_undecided_purges(src: Registry, name: str, history: _History, gone: set[str]) -> None:
    """Refuse, before anything is written, a version whose purge marker was read alone
    (no archive marker), is younger than ``PURGE_SETTLE`` and whose bytes are all there
    (not in ``gone``): a restore met that purge, which either went on (the version is
    purged) or gives way (it is live), and which one is not decided yet. Copied either
    way, the destination could hold what the source does not."""
    archived = {number_of(k) for k in history.archived}
    undecided = sorted(history.purged - history.settled - archived - gone)
    if undecided:
        raise Conflict(
            f"{name} version {undecided[0]} in {hide_credentials(src.url)} is being purged "
            "while a restore of it runs, and which of the two wins is not decided yet; "
            "nothing of the model was copied. Copy again once that purge has ended "
            f"(get({name!r}, {undecided[0]!r}, include_archived=True) there tells)"
        )


def _copy_slot(dst: Store, key: str, data: bytes, name: str) -> None:
    """Create slot ``key`` in ``dst``, or accept the one there if the slots agree.

    A slot only changes from in flight to dead (gc), so a slot ``dst`` holds in flight
    (written by an older copy) whose source slot is dead now takes the dead one, once it
    is older than gc's default grace period; a slot dead in both says the same thing
    whatever its time. It is old only if both its time in ``dst`` (when the store last
    wrote it) and the time written in it (the registering machine's clock) are, as gc
    ages slots: either clock behind by more than the grace period would have a
    registration in flight there take the dead slot, then commit over it. Any other
    difference is a diverged history.
    """
    try:
        dst.create(key, data)
        return
    except FileExistsError:
        there = dst.read(key)
    if there == data:
        return
    ours, theirs = check_slot(data, key, UNCHECKED), check_slot(there, key, UNCHECKED)
    if ours.get("dead") and theirs.get("dead"):
        return
    if ours.get("dead") and not _committed(dst, name, theirs):
        if _in_flight(dst, key, theirs):
            raise Conflict(
                f"{key} is dead in the source and claimed in {hide_credentials(dst.url)} "
                "by a registration that has not committed, written there less than "
                f"{_IN_FLIGHT_FOR:.0f} s ago by the store's time or by its writer's clock "
                "(one there, or a copy by an older modelship); it is not taken for dead yet. "
                "Copy again later, or after gc on the destination"
            )
        dst.replace(key, data)  # gc's own transition, made in the source
        return
    if theirs.get("dead"):
        raise Conflict(
            f"{key} is dead in {hide_credentials(dst.url)} but holds version "
            f"{ours.get('version')!r} in the source (a gc there declared dead a slot an "
            "interrupted copy by an older modelship had left without its manifest); a dead "
            "slot is never revived, so the model cannot be copied on top. Copy it into an "
            "empty registry"
        )
    raise Conflict(
        f"{key} exists in the destination with other content; the registries have "
        "diverged, so copying would overwrite history. Copy into an empty registry, "
        "or copy only other models"
    )


_IN_FLIGHT_FOR = 3600.0
"""Seconds after which a slot the destination holds in flight, whose source slot is dead,
takes the source's tombstone: gc's default grace period, counted as gc counts it (by both
the store's time, :meth:`~modelship.registry.Store.modified`, and the writer's clock in
the slot: younger by either is in flight). A younger one may be a registration in the
destination still on its way to commit (its history diverged)."""


def _in_flight(dst: Store, key: str, slot: Mapping[str, Any]) -> bool:
    """Whether slot ``key`` (holding ``slot``) was claimed in ``dst`` less than
    :data:`_IN_FLIGHT_FOR` ago by the store's time or by the time its writer wrote in it,
    as gc ages slots (:func:`~modelship.registry._gc.in_flight`); a slot gone since it was
    read counts as in flight (never taken for dead on a guess)."""
    return in_flight(dst, key, slot, time.time() - _IN_FLIGHT_FOR)


def _committed(dst: Store, name: str, slot: Mapping[str, Any]) -> bool:
    """Whether ``dst`` holds the manifest of the registration that claimed ``slot``."""
    version = slot.get("version")
    if not isinstance(version, str):
        return False
    key = manifest_key(name, version)
    try:
        data = dst.read(key)
    except FileNotFoundError:
        return False
    return parse_manifest(key, data, UNCHECKED).registration == slot.get("registration")


def _claim_for_copy(d: Store, name: str) -> bool:
    """:func:`~._claims.claim_name` for a copy of ``name`` into ``d``, its refusal saying
    it was the copy's."""
    try:
        return claim_name(d, name)
    except InvalidName as exc:
        raise InvalidName(
            f"cannot copy model {name!r} into {hide_credentials(d.url)}: {exc}"
        ) from None


def _confirm_for_copy(d: Store, name: str) -> None:
    """:func:`~._claims.confirm_claim` after a copy created ``name``'s slots in ``d``, as a
    registration checks before its manifest (a gc that ran before the copy's mark was made
    may have removed the claim), its refusal saying what a copy's user does."""
    try:
        confirm_claim(d, name)
    except Conflict as exc:
        raise Conflict(
            f"{name} was not copied: its name claim in {hide_credentials(d.url)} was removed "
            "while the copy ran (a gc took it for a stopped registration's), and no version "
            "was committed. Copy again soon: the copy resumes where it stopped (its slots "
            "are kept for the destination gc's grace period); do not register "
            f"{name!r} in the destination meanwhile, which would make its history diverge "
            "from the source's"
        ) from exc


def _copy_model(src: Registry, dst: Registry, name: str) -> tuple[int, int, int, int, int]:
    """Copy one model: (versions, blobs copied, blobs skipped, bytes copied, repaired)."""
    s, d = src.store, dst.store
    history = _read_history(src, dst, name)
    _refuse_restored_since(src, dst, name, history.archived, history.purged)
    gone = _purges_with_bytes_gone(s, history, signer_of(src))  # before dst's blobs
    _refuse_undecided_purges(src, name, history, gone)
    slots = _slots_to_copy(name, history)
    # Refused before anything of the model is written (its blobs, the copy mark, slots,
    # manifests): an alias or tag log entry the destination holds at one of the source's
    # keys with other bytes (an alias moved, a tag set there since the last copy). Checked
    # again right before the copy mark, after the blobs, which may take long. Safe against
    # a writer of the destination meanwhile because log entries are only ever created
    # exclusively, never replaced or deleted: an entry found equal stays equal, and one
    # found different stays different. All a writer can do is create an entry the check
    # found absent; :func:`_copy_logs` (create if absent, else compare) is the final
    # guard, and raises after the versions are committed, saying so.
    _refuse_diverged(src, dst, name, history.docs)
    counts = [0, 0, 0, 0]  # blobs copied, skipped, bytes copied, repaired
    digests: list[str] = []
    final = history.settled | gone
    for manifest in sorted(history.manifests.values(), key=lambda mv: mv.sequence):
        if manifest.version in final:
            continue
        theirs = _copy_blobs_of(s, d, manifest, history, counts)
        if theirs is None:
            final.add(manifest.version)  # its purge went on: it is done
        else:
            digests.extend(theirs)
    docs = dict(history.docs)
    docs["purged"] = {k: v for k, v in docs["purged"].items() if number_of(k) in final}
    _refuse_diverged(src, dst, name, docs)
    with copying(d) as mark:
        try:
            refuse_during_gc(d, digests)
        except Conflict as exc:
            raise Conflict(
                f"{name} was not copied: a garbage collection on {hide_credentials(d.url)} "
                "is running, or removed a blob the copy stored or reuses. Copy again when "
                f"it has ended: the copy resumes ({exc})"
            ) from exc
        # The name is claimed once the blobs are copied, inside the copy's mark (a gc that
        # sees the mark removes no claim), as a registration claims it right before its
        # slot: a copy that fails or is stopped while it copies blobs holds no name.
        claimed = _claim_for_copy(d, name)
        # The slots first, as a registration claims its slot before it commits: a
        # registration in the destination meanwhile finds each copied slot taken and takes
        # the next number, and never meets a copied manifest at the slot it claimed. Then
        # deletion markers, then manifests (the commit points): a version is never seen
        # live before its markers, nor before its bytes. Until the last manifest, the mark
        # keeps the destination's gc from declaring a copied slot dead (its manifest comes
        # after every slot of the model), and stays if the copy stops here.
        mark.keep = True
        for key, data in sorted(slots.items()):
            _copy_slot(d, key, data, name)
        if claimed:
            _confirm_for_copy(d, name)
        for part in ("archived", "purged", "versions"):
            for key, data in sorted(docs[part].items()):
                _copy_doc(s, d, key, data)
        mark.keep = False
    diverged = None
    try:
        _copy_logs(src, dst, name, docs)
    except _Diverged as exc:  # raised once the hints are moved: the versions are there
        diverged = exc
    # Reading the top slot and the alias state probes forward and moves both hints.
    top_slot(d, name)
    top_alias(d, name)
    if diverged is not None:
        raise diverged
    copied, skipped, nbytes, repaired = counts
    return len(docs["versions"]), copied, skipped, nbytes, repaired


def copy_registry(
    src: Registry, dst: Registry, *, models: Iterable[str] | None = None
) -> CopyReport:
    """Copy models from ``src`` to ``dst`` with their versions, aliases, tags, history and digests.

    Artifacts already in ``dst`` (by digest) are not uploaded again once their size and
    digest check out there (a damaged one is replaced and counted in ``blobs_repaired``);
    every copied artifact is verified against its digest as it is read, and read back from
    ``dst`` once published (a blob ``dst`` stored wrong is an
    :class:`~modelship.IntegrityError` before the version is committed). Copying again is
    a no-op, and a
    copy that was interrupted resumes; a destination whose history differs raises
    :class:`~modelship.Conflict` rather than rewrite it.

    A copy may run while the source registers and moves aliases (it copies a consistent
    state of each model; a registration not yet committed is left for the next copy) and
    while ``dst`` runs :meth:`~Registry.gc`: a gc running when a model's versions are about
    to be committed makes the copy raise :class:`~modelship.Conflict` (copy again when it
    has ended), and one that starts later collects nothing the copy uses. A version purged
    in ``src`` during the copy makes it raise :class:`~modelship.Conflict` (copy again). A
    copy that stops between a model's slots and manifests resumes if copied again within
    ``dst``'s gc grace period (see the module docstring).

    A model whose alias or tag log in ``dst`` holds, at an entry the source's log also
    holds, other bytes (an alias moved or a tag set in ``dst`` since the last copy, such as
    a rollback done in the new registry during a migration) has a history that diverged,
    and log entries are never rewritten: nothing of that model is written (found before
    its blobs, and again before its versions are committed). The other models are still
    copied; then one :class:`~modelship.Conflict` names every such model, each alias (or
    tag) that differs with its target (or value) in each registry, which models were
    copied, and what to do: copy only the other models (``models=[...]``; ``--model
    NAME`` on the command line), or copy that model into an empty registry. A writer of
    ``dst`` that moves an alias after the second check may still leave the model's
    versions committed and its diverged log copied up to the entry that differs (each
    entry is created only if absent, else compared): the ``Conflict`` then says so. Any
    other error stops the copy at once, with a note naming each model refused as diverged
    before it.

    ``models`` names the models to copy (all of ``src``'s by default; anything but an
    iterable of names, a single string included, is a :class:`~modelship.ConfigError`); a
    name given twice is copied once.

    Raises :class:`~modelship.ConfigError` before anything is written if one registry
    signs its versions and the other does not (unless ``dst`` holds no models and
    ``src`` signs: the copy signs then; ``dst`` opened with a key signs) or the two sign
    with different keys (as far as
    the key either handle was opened with tells), and :class:`~modelship.InvalidName` if ``dst``
    holds a model whose name differs only in case from one copied. A store's failure to
    read or write a blob is a :class:`~modelship.StoreError`. A damaged signing policy in
    ``src`` (one no key made) is an :class:`~modelship.IntegrityError` before anything is
    written: the policy is read once, and the bytes checked are the bytes ``dst`` records.

    Examples
    --------
    >>> import modelship as ms
    >>> a = ms.open_registry("memory://copy-doc-a")
    >>> _ = a.register(model_name="m", model=b"w", serializer="bytes")
    >>> a.set_alias("m", "production", "1")
    >>> b = ms.open_registry("memory://copy-doc-b")
    >>> ms.copy_registry(a, b).versions
    1
    >>> b.get("m", "@production") == a.get("m", "@production")
    True
    """
    for what, given in (("src", src), ("dst", dst)):
        if not isinstance(given, Registry):
            raise ConfigError(
                f"{what} must be a Registry (ms.open_registry(url)), got {type(given).__name__}"
            )
    if isinstance(models, (str, bytes)):
        raise ConfigError(f"models must be a list of model names, got the string {models!r}")
    if models is not None:
        try:
            models = iter(models)
        except TypeError:
            raise ConfigError(
                f"models must be a list of model names (or None for all of src's), got "
                f"{type(models).__name__}: {models!r:.80}"
            ) from None
    _not_nested(src.store, dst.store)
    # A name given twice is copied (and counted in the report) once: in order, first kept.
    names = (
        list(src.models())
        if models is None
        else list(dict.fromkeys(check_model_name(m) for m in models))
    )
    if models is not None:  # before the destination is written (check_writable probes it)
        _refuse_missing(src, names)
    # Refusals first: check_writable writes (its probe, and the policy of a destination
    # opened with a key), and a refused copy writes nothing.
    policy = _source_policy(src)  # read once: the bytes checked are the bytes copied
    theirs = _destination_policy(dst)  # read once: every check judges one state
    _refuse_other_key(src, dst, policy, theirs)
    _refuse_other_signing(src, dst, policy is not None, theirs is not None)
    _refuse_other_spellings(dst, names)
    # A keyless copy of a signed registry writes only the source's signed bytes, its
    # policy included: into a registry that has no policy or the same one, it needs no key.
    dst.check_writable(_signed_bytes_only=_keyless_copy_of_signed(dst, policy, theirs))
    if policy is not None:
        # A copy of a signed registry stays one: keyless readers refuse it there too.
        with contextlib.suppress(FileExistsError):
            dst.store.create(SIGNING_POLICY, policy)
    counts, diverged = _copy_models(src, dst, names)
    if diverged:
        raise _all_diverged(src, dst, names, diverged)
    return CopyReport(tuple(names), *counts)


def _copy_models(
    src: Registry, dst: Registry, names: Sequence[str]
) -> tuple[list[int], list[_Diverged]]:
    """Copy each of ``names``: the report's counts (versions, blobs copied, skipped, bytes,
    repaired), and the models refused as diverged (the others are copied all the same).
    Any other error stops the copy, with a note naming each model refused before it."""
    counts = [0] * 5  # versions, blobs copied, skipped, bytes, repaired
    diverged: list[_Diverged] = []
    for name in names:
        try:
            done = _copy_model(src, dst, name)
        except _Diverged as exc:  # reported at the end: the other models are copied
            diverged.append(exc)
            continue
        except BaseException as exc:
            # Any other error stops the copy: it still names the models refused so far.
            for refused in diverged:
                add_note(exc, f"{refused} (refused before this error)")
            raise
        for i, n in enumerate(done):
            counts[i] += n
    return counts, diverged


def _all_diverged(
    src: Registry, dst: Registry, names: Sequence[str], diverged: Sequence[_Diverged]
) -> Conflict:
    """The one :class:`~modelship.Conflict` :func:`copy_registry` raises once it has copied
    every other model: each model whose history diverged, what differs, what to do."""
    if len(diverged) == 1 and len(names) == 1:
        return Conflict(str(diverged[0]))
    bad = [exc.name for exc in diverged]
    others = [n for n in names if n not in bad]
    shown = ", ".join(others[:10]) + (f" and {len(others) - 10} more" if len(others) > 10 else "")
    return Conflict(
        f"{len(bad)} of the {len(names)} models were not copied whole: "
        + "; ".join(f"{exc.name}: {_diverged_state(src, dst, exc)}" for exc in diverged)
        + (f". The other models were copied ({shown})" if others else "")
        + f". {_diverged_advice(bad)}"
    )
