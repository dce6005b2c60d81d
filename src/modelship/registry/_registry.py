"""The :class:`Registry` facade: versions, aliases and artifacts over a :class:`Store`.

Layout of a registry (keys in the store)::

    registry.json                         format marker
    blobs/sha256/<hh>/<hex>               artifacts, content-addressed, immutable
    models/<name>/slots/<seq:012d>.json   sequence slot claims {version, registration}
    models/<name>/versions/<v>.json       manifests: the commit point of a version
    models/<name>/HEAD                    hint: highest slot seen (may lag, never trusted)
    models/<name>/aliases/<rev:012d>.json alias log: each move and the state after it
    models/<name>/ALIASES                 hint: highest alias revision seen
    models/<name>/archived/<v>.json       soft deletes;  purged/<v>.json: purges
    models/<name>/index/<n:012d>.json     cache: a snapshot of n manifests, for versions()

Every change is an exclusive create of a new key, so the only atomic primitive a store
must offer is "create if absent". Registering uploads the artifact under its digest, claims
the next sequence slot, then commits the manifest with one exclusive create; a version is
visible exactly when its manifest exists. Moving an alias is the exclusive create of the
next alias log entry, which makes it a compare-and-swap. Hints only save work: readers
probe forward from them and never depend on them being current. A snapshot is only a
cache of manifests, which never change once committed: the listing of ``versions/`` still
decides which versions exist, and anything wrong with a snapshot makes readers ignore it.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import io
import json
import os
import queue
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import IO, Any

import attrs

from modelship._names import check_alias, check_model_name, check_version
from modelship.errors import (
    ArchivedVersion,
    ConfigError,
    Conflict,
    IntegrityError,
    InvalidReference,
    ModelNotFound,
    ModelshipError,
    SerializationError,
    SignatureError,
    StoreError,
    UnsafeStore,
    VersionExists,
    VersionNotFound,
)
from modelship.fingerprint import fingerprint
from modelship.registry._progress import make_callback
from modelship.registry._serializers import BytesSerializer, Serializer, get_serializer
from modelship.registry._store import Store, _AbortsUploads
from modelship.registry._verify import VerifiedStream, _read_into
from modelship.version import ArtifactRef, Lineage, ModelVersion, canonical_json

__all__ = ["AliasMove", "GcReport", "Registry"]

REGISTRY_FORMAT = 1
SNAPSHOT_FORMAT = 1
_CHUNK = 8 * 2**20
_ANY: Any = object()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _default_user() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # getuser raises several types when no name is known
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _git_lineage(cwd: str | None = None) -> tuple[str | None, bool | None]:
    """The commit and dirty flag of the git working tree around ``cwd``, if any."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return commit.stdout.strip(), dirty


@attrs.frozen
class AliasMove:
    """One entry of an alias history: ``alias`` went from ``from_version`` to ``to_version``.

    ``to_version`` is None when the alias was removed, ``from_version`` None when it was new.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://aliasmove-doc")
    >>> _ = reg.register(model_name="m", model=b"a", serializer="bytes")
    >>> reg.set_alias("m", "production", "1")
    >>> move = reg.history("m")[-1]
    >>> (move.alias, move.from_version, move.to_version)
    ('production', None, '1')
    """

    revision: int
    alias: str
    from_version: str | None
    to_version: str | None
    by: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this record."""
        return {
            "revision": self.revision,
            "alias": self.alias,
            "from": self.from_version,
            "to": self.to_version,
            "by": self.by,
            "at": self.at.isoformat(),
        }


@attrs.frozen
class GcReport:
    """What :meth:`Registry.gc` removed (or, with ``dry_run``, would remove).

    ``staging``, ``dead_slots`` and ``blobs`` are keys in the store; ``uploads`` are
    multipart uploads that never completed (S3), each named ``<key>?uploadId=<id>``, that
    were (or would be) aborted.

    Examples
    --------
    >>> import modelship as ms
    >>> report = ms.open_registry("memory://gc-doc").gc()
    >>> report.removed, report.uploads
    (0, ())
    """

    staging: tuple[str, ...] = ()
    dead_slots: tuple[str, ...] = ()
    blobs: tuple[str, ...] = ()
    uploads: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def removed(self) -> int:
        """How many keys were (or would be) removed and uploads aborted."""
        return len(self.staging) + len(self.dead_slots) + len(self.blobs) + len(self.uploads)


class _HashingWriter:
    """A write-only binary stream that hashes and counts what passes into a blob writer.

    Hashing runs on a worker thread while the caller's thread writes the same chunk to the
    staging file: hashlib and file writes both release the GIL, so the two overlap and a
    large artifact costs about max(hash, write) instead of their sum. Small writes (pickle
    opcodes) are coalesced into 1 MiB chunks first. At most two chunks wait for the hasher,
    which bounds the extra memory.
    """

    _COALESCE = 2**20

    def __init__(self, target: Any, checkpoint_every: int = 0) -> None:
        self._target = target
        self._hash = hashlib.sha256()
        self._every = checkpoint_every
        self._hashed = 0
        self.checkpoints: list[str] = []
        self._pending = bytearray()
        self._queue: queue.Queue[memoryview | None] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._hash_loop, name="modelship-hash", daemon=True)
        self._thread.start()
        self._closed = False
        self.size = 0

    def _hash_loop(self) -> None:
        while (chunk := self._queue.get()) is not None:
            try:
                self._update(chunk)
            except BaseException as exc:  # pragma: no cover - hashlib does not fail
                self._failure = exc
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _update(self, chunk: memoryview) -> None:
        """Hash ``chunk``, noting the digest of every prefix that ends on a checkpoint."""
        every = self._every
        while every and self._hashed // every != (self._hashed + len(chunk)) // every:
            take = every - self._hashed % every
            self._hash.update(chunk[:take])
            self._hashed += take
            chunk = chunk[take:]
            # A checkpoint is recorded only for a prefix shorter than the artifact; the last
            # one is dropped in close() if the artifact ends exactly on it.
            self.checkpoints.append(self._hash.copy().hexdigest()[:32])
        self._hash.update(chunk)
        self._hashed += len(chunk)

    def _emit(self, chunk: memoryview) -> None:
        self._queue.put(chunk)
        self._target.write(chunk)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        if n < self._COALESCE:
            self._pending += view
            if len(self._pending) >= self._COALESCE:
                block, self._pending = self._pending, bytearray()
                self._emit(memoryview(block))
        else:
            if self._pending:
                block, self._pending = self._pending, bytearray()
                self._emit(memoryview(block))
            # The caller's buffer is hashed and written as it is, without a copy, the two at
            # once; it may be reused once write() returns, so wait for the hasher here.
            self._emit(view)
            self._queue.join()
        self.size += n
        return n

    def close(self) -> None:
        """Flush what is pending and wait for the hasher; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._pending:
            block, self._pending = self._pending, bytearray()
            self._emit(memoryview(block))
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        if self._every and self.checkpoints and self._hashed % self._every == 0:
            self.checkpoints.pop()  # the whole artifact: its digest covers it

    def flush(self) -> None:
        """Nothing to flush before :meth:`close`: the blob writer owns the file."""

    def tell(self) -> int:
        return self.size

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def digest(self) -> str:
        self.close()
        return "sha256:" + self._hash.hexdigest()


def _blob_key(digest: str) -> str:
    hexdigest = digest.partition(":")[2]
    return f"blobs/sha256/{hexdigest[:2]}/{hexdigest}"


def _slot_key(name: str, seq: int) -> str:
    return f"models/{name}/slots/{seq:012d}.json"


def _version_key(name: str, version: str) -> str:
    return f"models/{name}/versions/{version}.json"


def _alias_key(name: str, rev: int) -> str:
    return f"models/{name}/aliases/{rev:012d}.json"


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise IntegrityError(f"{what} is not valid JSON: {exc}") from exc


class Registry:
    """A versioned model registry over any :class:`~modelship.registry.Store`.

    Open one with :func:`modelship.open_registry`. Versions are immutable once committed;
    aliases (``production``, ``staging``) move by compare-and-swap and every move is kept.

    Examples
    --------
    >>> import numpy as np
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://registry-doc")
    >>> w = np.array([0.5, -1.0])
    >>> mv = reg.register(model_name="fraud", model=w, metrics={"auc": 0.91})
    >>> reg.set_alias("fraud", "production", mv.version)
    >>> reg.get("fraud", "@production").metrics
    {'auc': 0.91}
    >>> reg.load("fraud", "@production")
    array([ 0.5, -1. ])
    >>> [v.version for v in reg.versions("fraud")]
    ['1']
    """

    def __init__(
        self,
        store: Store,
        *,
        signing_key: bytes | str | None = None,
        single_writer: bool = False,
        user: str | None = None,
    ) -> None:
        if not isinstance(store, Store):
            raise ConfigError(f"{store!r} does not implement the Store protocol")
        self.store = store
        if isinstance(signing_key, str):
            signing_key = signing_key.encode()
        if signing_key is not None and len(signing_key) < 16:
            raise ConfigError("signing_key must be at least 16 bytes; use secrets.token_bytes(32)")
        self._signing_key = signing_key
        self._single_writer = single_writer
        self._user = user or _default_user()
        self._writable: bool | None = None
        self._snapshots = True  # until writing one fails: then this handle stops trying

    _SNAPSHOT_AFTER = 256
    """versions() writes a snapshot once it has read this many manifests one by one."""
    # Prefix digests every 8 MiB let load() deserialise while it hashes (ArtifactRef); up
    # to 1,024 of them (8 GiB), about 35 KiB of manifest.
    _CHECKPOINT_EVERY = _CHUNK
    _MAX_CHECKPOINTS = 1024

    def __repr__(self) -> str:
        return f"Registry({self.store.url!r})"

    @property
    def url(self) -> str:
        """The URL the registry was opened at."""
        return self.store.url

    # --- writing ------------------------------------------------------------------------

    def _check_writable(self) -> None:
        """Probe once that the store refuses a second exclusive create of one key."""
        if self._writable is None:
            probe = f".probe/{uuid.uuid4().hex}"
            honoured = False
            if self.store.exclusive_creates:
                self.store.create(probe, b"1")
                try:
                    self.store.create(probe, b"2")
                except FileExistsError:
                    honoured = True
                finally:
                    self.store.delete(probe)
            self._writable = honoured
            if honoured:
                with contextlib.suppress(FileExistsError):
                    self.store.create("registry.json", canonical_json({"format": REGISTRY_FORMAT}))
        if not self._writable and not self._single_writer:
            raise UnsafeStore(
                f"the store at {self.store.url} does not guarantee exclusive creates, so two "
                "processes writing at once could overwrite each other. Open it with "
                "single_writer=True if only this process writes, or use a store that "
                "supports it (local disk, S3 with conditional writes)"
            )

    def _sign(self, mv: ModelVersion) -> ModelVersion:
        if self._signing_key is None:
            return mv
        mac = hmac.new(self._signing_key, canonical_json(mv.to_dict(signed=False)), "sha256")
        return attrs.evolve(mv, signature="hmac-sha256:" + mac.hexdigest())

    def _check_signature(self, mv: ModelVersion) -> None:
        if self._signing_key is None:
            return
        if not mv.signature:
            raise SignatureError(
                f"{mv.name} version {mv.version} is not signed, and this registry was opened "
                "with a signing key; refusing to load it"
            )
        expected = self._sign(attrs.evolve(mv, signature=None)).signature
        if not hmac.compare_digest(str(expected), mv.signature):
            raise SignatureError(
                f"{mv.name} version {mv.version} has a signature that this key did not make: "
                "its manifest was changed or signed by someone else; refusing to load it"
            )

    def _store_blob(
        self, obj: Any, serializer: Serializer, progress: Any, what: str
    ) -> ArtifactRef:
        callback = make_callback(progress, desc=f"register {what}")
        writer = self.store.blob_writer(callback)
        hashing = _HashingWriter(writer, self._CHECKPOINT_EVERY)
        try:
            try:
                serializer.dump(obj, hashing)  # type: ignore[arg-type]
            except SerializationError:
                raise
            except Exception as exc:
                raise SerializationError(
                    f"serializer {serializer.name!r} could not write {what}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            writer.publish(_blob_key(hashing.digest))
        except BaseException:
            with contextlib.suppress(BaseException):
                hashing.close()
            writer.discard()
            raise
        finally:
            with contextlib.suppress(Exception):
                callback.close()
        # Past _MAX_CHECKPOINTS the manifest stays small and the artifact loads in two passes.
        kept = len(hashing.checkpoints) <= self._MAX_CHECKPOINTS
        return ArtifactRef(
            digest=hashing.digest,
            size=hashing.size,
            serializer=serializer.name,
            media_type=serializer.media_type,
            library_versions=serializer.library_versions(),
            checkpoint_every=self._CHECKPOINT_EVERY if kept else 0,
            checkpoints=hashing.checkpoints if kept else (),
        )

    def _lineage(
        self, name: str, lineage: Lineage | Mapping[str, Any] | None, data: Mapping[str, Any] | None
    ) -> Lineage:
        if lineage is None:
            commit, dirty = _git_lineage()
            result = Lineage(git_commit=commit, git_dirty=dirty)
        elif isinstance(lineage, Lineage):
            result = lineage
        elif isinstance(lineage, Mapping):
            result = Lineage.from_dict(lineage)
        else:
            raise ConfigError(f"lineage must be a Lineage or a dict, got {type(lineage).__name__}")
        if result.parent is not None:
            parent = check_version(result.parent)
            if not self.store.exists(_version_key(name, parent)):
                raise VersionNotFound(
                    f"lineage parent {parent!r} is not a version of {name!r}; register it first"
                )
            result = attrs.evolve(result, parent=parent)
        if data:
            if not isinstance(data, Mapping):
                raise ConfigError("data must map a role ('train', 'holdout') to the data")
            prints = dict(result.data)
            for role, value in data.items():
                if not isinstance(role, str) or not role:
                    raise ConfigError(f"data roles must be non-empty strings, got {role!r}")
                prints[role] = fingerprint(value)
            result = attrs.evolve(result, data=prints)
        return result

    def register(
        self,
        model_name: str,
        model: Any,
        version: str | int | None = None,
        *,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        lineage: Lineage | Mapping[str, Any] | None = None,
        serializer: str | Serializer = "joblib",
        data: Mapping[str, Any] | None = None,
        description: str = "",
        attachments: Mapping[str, bytes | str] | None = None,
        profile: Any = None,
        schema: Any = None,
        progress: Any = None,
    ) -> ModelVersion:
        """Store ``model`` as a new, immutable version of ``model_name``.

        ``version=None`` takes the next integer (``"1"``, ``"2"``, ...); an explicit
        version (``"2.1.0"``) is validated and raises :class:`~modelship.VersionExists` if
        taken. ``lineage`` defaults to the git commit and dirty flag of the current
        directory; ``data`` maps roles to data sets whose :func:`~modelship.fingerprint`
        goes into the lineage. ``attachments`` stores extra documents by role (bytes, or
        text stored as UTF-8) with the version. ``profile`` stores a
        :class:`~modelship.checks.DriftProfile` (or reference data to build one from) and
        ``schema`` a :class:`~modelship.checks.Schema` (or data to infer it from); a profile
        brings its schema along. Read them back as ``mv.profile`` and ``mv.schema``.
        ``progress``: ``None`` shows a bar in a terminal or notebook when tqdm is
        installed, ``True`` demands one, ``False`` is silent, or pass an fsspec Callback.

        The artifact streams to storage while it is hashed; identical artifacts are
        stored once. Concurrent registrations from many processes each get their own
        number; a process killed at any point leaves no half-visible version.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://register-doc")
        >>> reg.register(model_name="fraud", model={"w": [1, 2]}, version="2.1.0",
        ...              metrics={"auc": 0.9}, tags={"team": "risk"}).version
        '2.1.0'
        >>> reg.register(model_name="fraud", model={"w": [1]}, version="2.1.0")
        Traceback (most recent call last):
        ...
        modelship.errors.VersionExists: fraud version '2.1.0' exists; versions are never ...
        """
        name = check_model_name(model_name)
        explicit = None if version is None else check_version(version)
        codec = get_serializer(serializer)
        started = _now()
        # Validate everything the user gave before any byte is written.
        draft = ModelVersion(
            name=name,
            version=explicit or "0",
            sequence=0,
            artifact=ArtifactRef("sha256:" + "0" * 64, 0, codec.name, codec.media_type),
            created_at=started,
            created_by=self._user,
            metrics=metrics or {},
            params=params or {},
            tags=tags or {},
            description=description,
        )
        if not isinstance(description, str):
            raise ConfigError("description must be a string")
        docs: dict[str, bytes] = {}
        documents: dict[str, bytes | str] = dict(attachments or {})
        documents.update(_check_documents(profile, schema, documents))
        for role, doc in documents.items():
            check_alias(role)
            raw = doc.encode() if isinstance(doc, str) else doc
            if not isinstance(raw, (bytes, bytearray)):
                raise ConfigError(f"attachment {role!r} must be bytes or str")
            docs[role] = bytes(raw)
        self._check_writable()
        if explicit is not None and self.store.exists(_version_key(name, explicit)):
            raise self._exists(name, explicit)
        lin = self._lineage(name, lineage, data)

        artifact = self._store_blob(model, codec, progress, f"{name}")
        attached = {
            role: self._store_blob(doc, get_serializer("bytes"), False, f"{name} {role}")
            for role, doc in docs.items()
        }
        registration = uuid.uuid4().hex
        seq = self._top_slot(name) + 1
        while True:
            candidate = explicit or str(seq)
            if explicit is None and self.store.exists(_version_key(name, candidate)):
                # An explicit version already took this number. Claim the slot anyway, as
                # a dead one: readers probe slots forward and stop at the first hole.
                with contextlib.suppress(FileExistsError):
                    self.store.create(_slot_key(name, seq), _dead_slot())
                seq += 1
                continue
            slot = canonical_json(
                {"version": candidate, "registration": registration, "at": _now().isoformat()}
            )
            try:
                self.store.create(_slot_key(name, seq), slot)
            except FileExistsError:
                seq += 1
                continue
            mv = self._sign(
                attrs.evolve(
                    draft,
                    version=candidate,
                    sequence=seq,
                    artifact=artifact,
                    lineage=lin,
                    attachments=attached,
                    registration=registration,
                    created_at=_now(),
                )
            )
            try:
                self.store.create(_version_key(name, candidate), mv.to_json().encode())
            except FileExistsError:
                self.store.replace(_slot_key(name, seq), _dead_slot())  # never visible; no hole
                if explicit is not None:
                    raise self._exists(name, explicit) from None
                seq += 1
                continue
            self._bump_hint(f"models/{name}/HEAD", seq)
            return mv

    @staticmethod
    def _exists(name: str, version: str) -> VersionExists:
        return VersionExists(
            f"{name} version {version!r} exists; versions are never overwritten. Register "
            "with another version, or version=None for the next number"
        )

    # --- hints --------------------------------------------------------------------------

    def _read_hint(self, key: str) -> int:
        try:
            value = json.loads(self.store.read(key))["n"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0
        return value if isinstance(value, int) and value >= 0 else 0

    def _bump_hint(self, key: str, n: int) -> None:
        # Best effort: a lost race leaves the hint low, which costs readers a probe.
        with contextlib.suppress(Exception):
            if self._read_hint(key) < n:
                self.store.replace(key, canonical_json({"n": n}))

    def _probe_forward(self, hint_key: str, key_of: Any) -> int:
        hint = self._read_hint(hint_key)
        top = hint
        while self.store.exists(key_of(top + 1)):
            top += 1
        while top > 0 and not self.store.exists(key_of(top)):
            top -= 1  # the hint ran ahead of what exists (a copied or cleaned registry)
        if top > hint:
            self._bump_hint(hint_key, top)
        return top

    def _top_slot(self, name: str) -> int:
        return self._probe_forward(f"models/{name}/HEAD", lambda s: _slot_key(name, s))

    # --- reading ------------------------------------------------------------------------

    def models(self) -> list[str]:
        """Names of all models in the registry, sorted.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://models-doc")
        >>> _ = reg.register(model_name="b", model=b"1", serializer="bytes")
        >>> _ = reg.register(model_name="a", model=b"1", serializer="bytes")
        >>> reg.models()
        ['a', 'b']
        """
        return [n for n in self.store.list("models") if self.store.list(f"models/{n}/versions")]

    def _parse(self, name: str, key: str, data: bytes) -> ModelVersion:
        return self._record(name, key, ModelVersion.from_json(data))

    def _record(self, name: str, key: str, mv: ModelVersion) -> ModelVersion:
        """``mv``, read at ``key``, checked to be what the key says and able to read on."""
        expected = key.rsplit("/", 1)[-1].removesuffix(".json")
        if mv.name != name or mv.version != expected:
            raise IntegrityError(
                f"manifest at {key} claims to be {mv.name} version {mv.version}: the registry "
                "was tampered with or damaged"
            )
        # The reader is not part of the record's value; setting it directly avoids running
        # every converter again (versions() returns thousands of records).
        object.__setattr__(mv, "_reader", lambda role: self._read_attachment(mv, role))
        return mv

    def _state(self, name: str, version: str) -> str | None:
        if self.store.exists(f"models/{name}/purged/{version}.json"):
            return "purged"
        if self.store.exists(f"models/{name}/archived/{version}.json"):
            return "archived"
        return None

    def _not_found(self, name: str, what: str) -> VersionNotFound:
        if not self.store.list(f"models/{name}/versions"):
            known = self.models()
            hint = (
                f"; models here: {', '.join(known[:10])}" if known else " (the registry is empty)"
            )
            return ModelNotFound(f"no model named {name!r} in {self.url}{hint}")
        return VersionNotFound(f"{name} has no {what}; see versions({name!r})")

    def _get_version(self, name: str, version: str, include_archived: bool) -> ModelVersion:
        key = _version_key(name, version)
        try:
            data = self.store.read(key)
        except FileNotFoundError:
            raise self._not_found(name, f"version {version!r}") from None
        mv = self._parse(name, key, data)
        state = self._state(name, version)
        if state == "purged" or (state == "archived" and not include_archived):
            raise ArchivedVersion(
                f"{name} version {version!r} was {state}"
                + ("" if state == "purged" else "; pass include_archived=True, or restore() it")
            )
        return mv

    def _latest(self, name: str) -> ModelVersion:
        seq = self._top_slot(name)
        while seq > 0:
            try:
                slot = json.loads(self.store.read(_slot_key(name, seq)))
                key = _version_key(name, slot["version"])
                mv = self._parse(name, key, self.store.read(key))
            except (FileNotFoundError, ValueError, KeyError, TypeError):
                seq -= 1  # an unfinished or dead registration
                continue
            if mv.registration == slot["registration"] and self._state(name, mv.version) is None:
                return mv
            seq -= 1
        raise self._not_found(name, "live versions (all are archived)")

    def get(
        self, name: str, ref: str | int = "latest", *, include_archived: bool = False
    ) -> ModelVersion:
        """The :class:`~modelship.ModelVersion` for ``ref``.

        ``ref`` is a version (``"3"``, ``3``, ``"2.1.0"``), ``"latest"`` (the last
        registered version that is not archived) or ``"@alias"``. Raises
        :class:`~modelship.ModelNotFound`, :class:`~modelship.VersionNotFound` or
        :class:`~modelship.ArchivedVersion`. Latest and alias look-ups read a handful of
        small documents however many versions there are.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://get-doc")
        >>> for i in range(3):
        ...     _ = reg.register(model_name="m", model=bytes([i]), serializer="bytes")
        >>> reg.get("m").version, reg.get("m", 2).version
        ('3', '2')
        """
        name = check_model_name(name)
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = str(ref)
        if not isinstance(ref, str) or not ref:
            raise InvalidReference(f"reference {ref!r} must be a version, 'latest' or '@alias'")
        if ref == "latest":
            return self._latest(name)
        if ref.startswith("@"):
            alias = check_alias(ref)
            target = self.aliases(name).get(alias)
            if target is None:
                raise self._not_found(name, f"alias {alias!r}")
            return self._get_version(name, target, include_archived)
        try:
            version = check_version(ref)
        except Exception as exc:
            raise InvalidReference(
                f"reference {ref!r} is not a version, 'latest' or '@alias': {exc}"
            ) from exc
        return self._get_version(name, version, include_archived)

    def versions(self, name: str, *, include_archived: bool = False) -> list[ModelVersion]:
        """All versions of ``name`` in registration order.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://versions-doc")
        >>> for v in ["1.0", "0.9"]:
        ...     _ = reg.register(model_name="m", model=b"x", version=v, serializer="bytes")
        >>> [mv.version for mv in reg.versions("m")]
        ['1.0', '0.9']
        """
        name = check_model_name(name)
        names = self.store.list(f"models/{name}/versions")
        if not names:
            raise self._not_found(name, "versions")
        found = sorted(self._committed(name, names), key=lambda mv: mv.sequence)
        hidden = {
            n.removesuffix(".json")
            for folder in (("purged",) if include_archived else ("purged", "archived"))
            for n in self.store.list(f"models/{name}/{folder}")
        }
        return [mv for mv in found if mv.version not in hidden]

    def _committed(self, name: str, names: list[str]) -> list[ModelVersion]:
        """The versions whose manifests are ``names``: from a snapshot, then one by one.

        Manifests never change once committed, so a snapshot of them is a safe cache; the
        listing ``names`` still decides which versions exist. Having read many manifests
        one by one, this writes a new snapshot for the next reader (if it may write).
        """
        listed = {n for n in names if n.endswith(".json")}
        cached, snapshots = self._read_snapshot(name, listed)
        missing = [f"models/{name}/versions/{n}" for n in sorted(listed - cached.keys())]
        found = list(cached.values())
        found += [self._parse(name, k, d) for k, d in self.store.read_many(missing).items()]
        if self._snapshots and len(missing) >= self._SNAPSHOT_AFTER:
            self._write_snapshot(name, found, snapshots)
        return found

    def _read_snapshot(
        self, name: str, listed: set[str]
    ) -> tuple[dict[str, ModelVersion], list[str]]:
        """Records of the newest snapshot for the ``listed`` manifests; all snapshot keys."""
        folder = f"models/{name}/index"
        snapshots = sorted(f"{folder}/{n}" for n in self.store.list(folder) if n.endswith(".json"))
        if not snapshots:
            return {}, snapshots
        key = snapshots[-1]
        try:
            doc = json.loads(self.store.read(key))
            if doc.get("format") != SNAPSHOT_FORMAT:
                raise ValueError(f"format {doc.get('format')!r} is not {SNAPSHOT_FORMAT}")
            entries = doc["manifests"]
            cached = {
                n: self._record(
                    name, f"models/{name}/versions/{n}", ModelVersion.from_dict(entries[n])
                )
                for n in listed & entries.keys()
            }
        except FileNotFoundError:
            return {}, snapshots  # replaced by a newer one since the listing
        except (ModelshipError, ValueError, KeyError, TypeError, AttributeError) as exc:
            warnings.warn(
                f"ignoring the damaged manifest snapshot {key} ({exc}); the manifests are "
                "read one by one instead, and the next snapshot replaces it",
                stacklevel=4,
            )
            return {}, snapshots
        return cached, snapshots

    def _write_snapshot(self, name: str, found: list[ModelVersion], older: list[str]) -> None:
        """Store a snapshot of ``found`` and drop ``older`` ones; quietly skip if read-only."""
        key = f"models/{name}/index/{len(found):012d}.json"
        try:
            self._check_writable()  # before serialising thousands of records for nothing
            doc = {
                "format": SNAPSHOT_FORMAT,
                "manifests": {f"{mv.version}.json": mv.to_dict() for mv in found},
            }
            with contextlib.suppress(FileExistsError):
                self.store.create(key, canonical_json(doc))
            for old in older:
                if old < key:
                    self.store.delete(old)
        except (ModelshipError, OSError):
            # A cache: a reader without write access (or on a store that cannot guarantee
            # exclusive creates) lists versions all the same, only without the speed-up.
            self._snapshots = False

    # --- artifacts ----------------------------------------------------------------------

    def _open_blob(self, ref: ArtifactRef, what: str) -> IO[bytes]:
        try:
            return self.store.open_blob(_blob_key(ref.digest))
        except FileNotFoundError:
            raise IntegrityError(
                f"the artifact of {what} ({ref.digest}) is missing from the store"
            ) from None

    @contextlib.contextmanager
    def _verified_blob(self, ref: ArtifactRef, what: str, progress: Any) -> Any:
        """Yield a readable file of the blob's bytes, checked against ``ref`` first."""
        callback = make_callback(progress, desc=f"load {what}", total=ref.size)
        src = self._open_blob(ref, what)
        spool: IO[bytes] | None = None
        try:
            local = _is_local_file(src)
            if not local:
                # Remote: copy to a private temporary file while hashing, then read that,
                # so the bytes deserialised are exactly the bytes checked.
                spool = tempfile.TemporaryFile(prefix="modelship-")  # noqa: SIM115
            h = hashlib.sha256()
            size = 0
            buffer = memoryview(bytearray(_CHUNK))  # one buffer, not a new bytes per chunk
            while n := _read_into(src, buffer):
                chunk = buffer[:n]
                h.update(chunk)
                size += n
                if spool is not None:
                    spool.write(chunk)
                callback.relative_update(n)
            if "sha256:" + h.hexdigest() != ref.digest or size != ref.size:
                raise _mismatch(what, ref, h.hexdigest(), size)
            target = spool if spool is not None else src
            target.seek(0)
            yield target
        finally:
            src.close()
            if spool is not None:
                spool.close()
            with contextlib.suppress(Exception):
                callback.close()

    def verify(self, name: str, ref: str | int = "latest") -> ModelVersion:
        """Check a version's signature (with a key) and each artifact's digests and size.

        Returns the version; raises :class:`~modelship.IntegrityError` (or its subclass
        :class:`~modelship.SignatureError`) if anything does not match.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://verify-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.verify("m", "1").version
        '1'
        """
        mv = self.get(name, ref, include_archived=True)
        self._check_signature(mv)
        for role, art in [("model", mv.artifact), *sorted(mv.attachments.items())]:
            what = f"{mv.name} {mv.version} {role}"
            if art.checkpoint_every:
                # The checkpoints too, so that what verify passes, load reads.
                with self._checked_stream(art, what, False) as stream:
                    stream.finish()
            else:
                with self._verified_blob(art, what, False):
                    pass
        return mv

    def load(self, name: str, ref: str | int = "latest", *, progress: Any = None) -> Any:
        """Verify a version's artifact, then deserialise and return the model.

        The digest (and, with a signing key, the signature) is checked before a single
        byte is deserialised; a mismatch raises :class:`~modelship.IntegrityError`.
        Unpickling (the joblib serializer) runs code: load only from registries you trust,
        or open them with a ``signing_key``.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://load-doc")
        >>> _ = reg.register(model_name="m", model={"coef": [1.5]})
        >>> reg.load("m", "latest")
        {'coef': [1.5]}
        """
        mv = self.get(name, ref)
        self._check_signature(mv)
        codec = get_serializer(mv.artifact.serializer)
        what = f"{mv.name} {mv.version}"
        if mv.artifact.checkpoint_every and getattr(codec, "reads_sequentially", False):
            return self._load_streaming(codec, mv.artifact, what, progress)
        local = getattr(self.store, "is_local", False) is True and hasattr(os, "pread")
        if isinstance(codec, BytesSerializer) and local:
            return self._load_local_bytes(mv.artifact, what, progress)
        with self._verified_blob(mv.artifact, what, progress) as f:
            try:
                return codec.load(f)
            except Exception as exc:
                raise _unreadable(codec, what, exc) from exc

    def _load_local_bytes(self, ref: ArtifactRef, what: str, progress: Any) -> bytes:
        """Read raw bytes from a local blob while a worker thread hashes the same file.

        Raw bytes run no code, so nothing is at stake in reading them before the check
        ends; the result is returned only if the check passes. The file is read twice, side
        by side, just as the check-then-read passes read it twice one after the other.
        """
        callback = make_callback(progress, desc=f"load {what}", total=ref.size)
        src = self._open_blob(ref, what)
        found: list[tuple[str, int]] = []
        failed: list[BaseException] = []

        def check() -> None:
            try:
                found.append(_hash_fd(src.fileno(), callback))
            except BaseException as exc:
                failed.append(exc)

        worker = threading.Thread(target=check, name="modelship-verify", daemon=True)
        try:
            worker.start()
            # One object, filled in place; one byte more than expected finds a longer file.
            data = src.read(ref.size + 1)
        finally:
            worker.join()
            src.close()
            with contextlib.suppress(Exception):
                callback.close()
        if failed:
            raise StoreError(f"could not read the artifact of {what}: {failed[0]}") from failed[0]
        hexdigest, size = found[0]
        if "sha256:" + hexdigest != ref.digest or size != ref.size or len(data) != ref.size:
            raise _mismatch(what, ref, hexdigest, max(size, len(data)))
        return data

    def _load_streaming(self, codec: Serializer, ref: ArtifactRef, what: str, progress: Any) -> Any:
        """Deserialise piece by piece, each piece only once its prefix digest is checked."""
        with self._checked_stream(ref, what, progress) as stream:
            try:
                model = codec.load(io.BufferedReader(stream))
            except Exception as exc:
                # A damaged artifact is reported as such, wherever the deserialiser stopped.
                stream.finish()
                raise _unreadable(codec, what, exc) from exc
            stream.finish()
            return model

    @contextlib.contextmanager
    def _checked_stream(
        self, ref: ArtifactRef, what: str, progress: Any
    ) -> Iterator[VerifiedStream]:
        """A :class:`VerifiedStream` over the blob of ``ref``; its worker ends on exit."""
        callback = make_callback(progress, desc=f"load {what}", total=ref.size)
        src = self._open_blob(ref, what)
        stream: VerifiedStream | None = None
        try:
            stream = VerifiedStream(src, ref, what, callback)
            yield stream
        finally:
            if stream is not None:
                stream.stop()
            src.close()
            with contextlib.suppress(Exception):
                callback.close()

    def attachment(self, name: str, ref: str | int, role: str) -> bytes:
        """The verified bytes of the document stored with a version under ``role``.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://attachment-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                  attachments={"schema": '{"cols": []}'})
        >>> reg.attachment("m", "1", "schema")
        b'{"cols": []}'
        """
        return self.get(name, ref, include_archived=True).attachment(role)

    def _read_attachment(self, mv: ModelVersion, role: str) -> bytes:
        self._check_signature(mv)
        art = mv.attachments[role]
        with self._verified_blob(art, f"{mv.name} {mv.version} {role}", False) as f:
            data: bytes = f.read()
            return data

    # --- aliases ------------------------------------------------------------------------

    def _alias_state(self, name: str) -> tuple[int, dict[str, str]]:
        rev = self._probe_forward(f"models/{name}/ALIASES", lambda r: _alias_key(name, r))
        if rev == 0:
            return 0, {}
        doc = _json(self.store.read(_alias_key(name, rev)), f"alias log entry {rev} of {name}")
        return rev, dict(doc["aliases"])

    def aliases(self, name: str) -> dict[str, str]:
        """The current aliases of ``name``: alias to version.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://aliases-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.set_alias("m", "staging", "1")
        >>> reg.aliases("m")
        {'staging': '1'}
        """
        return self._alias_state(check_model_name(name))[1]

    def _move_alias(self, name: str, alias: str, to: str | None, expected: Any) -> None:
        self._check_writable()
        seen: Any = _ANY
        while True:
            rev, current = self._alias_state(name)
            frm = current.get(alias)
            if expected is not _ANY and frm != expected:
                raise Conflict(
                    f"alias {alias!r} of {name} points to {frm!r}, not the expected "
                    f"{expected!r}; re-read it and decide again"
                )
            if seen is not _ANY and frm != seen:
                raise Conflict(
                    f"alias {alias!r} of {name} was moved from {seen!r} to {frm!r} by another "
                    "writer while this move was being made; re-read it and retry if still wanted"
                )
            seen = frm
            state = dict(current)
            if to is None:
                state.pop(alias, None)
            else:
                state[alias] = to
            entry = {
                "revision": rev + 1,
                "aliases": state,
                "move": {
                    "alias": alias,
                    "from": frm,
                    "to": to,
                    "by": self._user,
                    "at": _now().isoformat(),
                },
            }
            try:
                self.store.create(_alias_key(name, rev + 1), canonical_json(entry))
            except FileExistsError:
                continue  # someone moved some alias; retry unless it was this one
            self._bump_hint(f"models/{name}/ALIASES", rev + 1)
            return

    def set_alias(
        self, name: str, alias: str, version: str | int, *, expected: str | None = _ANY
    ) -> None:
        """Point ``alias`` (``"production"``) at ``version``.

        The move is a compare-and-swap: if another writer moves the same alias at the same
        time, one of the two wins and the other raises :class:`~modelship.Conflict`. With
        ``expected``, the move happens only if the alias now points there (``None``: only
        if it is unset). Every move is recorded in :meth:`history`.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://set-alias-doc")
        >>> for _ in range(2):
        ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.set_alias("m", "production", "1")
        >>> reg.set_alias("m", "production", "2", expected="1")
        >>> reg.set_alias("m", "production", "1", expected="1")
        Traceback (most recent call last):
        ...
        modelship.errors.Conflict: alias 'production' of m points to '2', not the expected '1'; ...
        """
        name = check_model_name(name)
        alias = check_alias(alias)
        target = self.get(name, check_version(version)).version
        self._move_alias(name, alias, target, expected)

    def remove_alias(self, name: str, alias: str, *, expected: str | None = _ANY) -> None:
        """Remove ``alias``; the removal is recorded in :meth:`history`.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://remove-alias-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.set_alias("m", "staging", "1"); reg.remove_alias("m", "staging")
        >>> reg.aliases("m")
        {}
        """
        name = check_model_name(name)
        alias = check_alias(alias)
        if alias not in self.aliases(name):
            raise self._not_found(name, f"alias {alias!r}")
        self._move_alias(name, alias, None, expected)

    def history(self, name: str) -> list[AliasMove]:
        """Every alias move of ``name``, oldest first (append-only).

        Examples
        --------
        See :class:`AliasMove`.
        """
        name = check_model_name(name)
        keys = [f"models/{name}/aliases/{n}" for n in self.store.list(f"models/{name}/aliases")]
        moves = []
        for key, data in sorted(self.store.read_many(keys).items()):
            doc = _json(data, key)
            move = doc["move"]
            moves.append(
                AliasMove(
                    revision=doc["revision"],
                    alias=move["alias"],
                    from_version=move["from"],
                    to_version=move["to"],
                    by=move["by"],
                    at=datetime.fromisoformat(move["at"]),
                )
            )
        return moves

    # --- deleting -----------------------------------------------------------------------

    def delete(self, name: str, version: str | int, *, reason: str = "") -> None:
        """Archive a version (a soft delete): it disappears from ``latest`` and listings.

        A version an alias points to cannot be archived; move the alias first. Archived
        versions can be read with ``include_archived=True``, brought back with
        :meth:`restore`, and removed for good with :meth:`purge`.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://delete-doc")
        >>> for _ in range(2):
        ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.delete("m", "2", reason="leaks labels")
        >>> reg.get("m").version
        '1'
        """
        mv = self.get(name, version, include_archived=True)
        holders = sorted(a for a, v in self.aliases(mv.name).items() if v == mv.version)
        if holders:
            raise Conflict(
                f"{mv.name} version {mv.version} is aliased as {', '.join(holders)}; move or "
                "remove those aliases before deleting it"
            )
        self._check_writable()
        marker = canonical_json({"by": self._user, "at": _now().isoformat(), "reason": reason})
        with contextlib.suppress(FileExistsError):
            self.store.create(f"models/{mv.name}/archived/{mv.version}.json", marker)

    def restore(self, name: str, version: str | int) -> None:
        """Bring back an archived (not purged) version.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://restore-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.delete("m", "1"); reg.restore("m", "1"); reg.get("m").version
        '1'
        """
        mv = self.get(name, version, include_archived=True)
        self._check_writable()
        self.store.delete(f"models/{mv.name}/archived/{mv.version}.json")

    def _referenced_digests(self) -> set[str]:
        used: set[str] = set()
        for model in self.store.list("models"):
            purged = {n.removesuffix(".json") for n in self.store.list(f"models/{model}/purged")}
            keys = [
                f"models/{model}/versions/{n}"
                for n in self.store.list(f"models/{model}/versions")
                if n.removesuffix(".json") not in purged
            ]
            for data in self.store.read_many(keys).values():
                doc = _json(data, f"a manifest of {model}")
                used.add(doc["artifact"]["digest"])
                used.update(a["digest"] for a in doc.get("attachments", {}).values())
        return used

    def purge(self, name: str, version: str | int) -> None:
        """Remove an archived version for good: its artifact bytes are deleted.

        The version's number stays taken (its manifest remains as a tombstone), so a
        purged version number is never reused. An artifact that another version shares is
        kept. Do not purge while registering the same artifact elsewhere.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://purge-doc")
        >>> _ = reg.register(model_name="m", model=b"secret", serializer="bytes")
        >>> reg.delete("m", "1"); reg.purge("m", "1")
        >>> reg.get("m", "1", include_archived=True)
        Traceback (most recent call last):
        ...
        modelship.errors.ArchivedVersion: m version '1' was purged
        """
        mv = self.get(name, version, include_archived=True)
        if self._state(mv.name, mv.version) != "archived":
            raise Conflict(
                f"{mv.name} version {mv.version} is live; archive it with delete() before purge()"
            )
        self._check_writable()
        marker = canonical_json({"by": self._user, "at": _now().isoformat()})
        with contextlib.suppress(FileExistsError):
            self.store.create(f"models/{mv.name}/purged/{mv.version}.json", marker)
        used = self._referenced_digests()
        for art in [mv.artifact, *mv.attachments.values()]:
            if art.digest not in used:
                self.store.delete(_blob_key(art.digest))

    def gc(self, *, grace_seconds: float = 3600.0, dry_run: bool = False) -> GcReport:
        """Clean up what writers that died left behind; never touches committed versions.

        Removes staging files, sequence slots whose registration never committed, and
        artifacts no manifest refers to, and aborts multipart uploads that never completed
        (on S3, where a writer killed mid-upload leaves stored, billed parts), each only
        when older than ``grace_seconds`` (so registrations in flight are left alone).
        Uploads are found only on stores that can list them (see ``docs/extending.md``).

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://gc-method-doc")
        >>> reg.gc(grace_seconds=0, dry_run=True).removed
        0
        """
        if grace_seconds < 0:
            raise ConfigError(f"grace_seconds must be >= 0, got {grace_seconds}")
        cutoff = time.time() - grace_seconds
        # Staged artifacts and documents, and writability probes of writers that died.
        staging = tuple(
            key
            for folder in (".staging", ".probe")
            for key in (f"{folder}/{n}" for n in self.store.list(folder))
            if _older(self.store, key, cutoff)
        )
        dead: list[str] = []
        tops: dict[str, int] = {}
        for model in self.store.list("models"):
            slot_names = self.store.list(f"models/{model}/slots")
            slots = self.store.read_many(f"models/{model}/slots/{n}" for n in slot_names)
            committed = {
                k: json.loads(v)
                for k, v in self.store.read_many(
                    f"models/{model}/versions/{n}"
                    for n in self.store.list(f"models/{model}/versions")
                ).items()
            }
            owners = {doc["registration"] for doc in committed.values()}
            # The highest slot taken, committed or still in flight: a dead slot below it
            # must stay as a tombstone, or readers probing forward would stop at the hole.
            tops[model] = max((int(n.removesuffix(".json")) for n in slot_names), default=0)
            for key, data in slots.items():
                slot = json.loads(data)
                if slot.get("dead"):
                    continue
                at = datetime.fromisoformat(slot["at"]).timestamp()
                if slot["registration"] not in owners and at < cutoff:
                    dead.append(key)
        used = self._referenced_digests()
        blobs = []
        for prefix in self.store.list("blobs/sha256"):
            for hexdigest in self.store.list(f"blobs/sha256/{prefix}"):
                key = f"blobs/sha256/{prefix}/{hexdigest}"
                if f"sha256:{hexdigest}" not in used and _older(self.store, key, cutoff):
                    blobs.append(key)
        uploads = (
            self.store.incomplete_uploads(cutoff) if isinstance(self.store, _AbortsUploads) else []
        )
        report = GcReport(
            staging=tuple(staging),
            dead_slots=tuple(dead),
            blobs=tuple(blobs),
            uploads=tuple(uploads),
            dry_run=dry_run,
        )
        if not dry_run and report.removed:
            self._check_writable()
            for key in [*staging, *blobs]:
                self.store.delete(key)
            if isinstance(self.store, _AbortsUploads):
                for upload in uploads:
                    self.store.abort_upload(upload)
            # Readers probe slots forward from a hint that may lag, so a hole below a
            # committed slot would stop them early: such a dead slot becomes a tombstone.
            for key in dead:
                model, seq = key.split("/")[1], int(key.rsplit("/", 1)[1].removesuffix(".json"))
                if seq >= tops.get(model, 0):
                    self.store.delete(key)
                else:
                    self.store.replace(key, _dead_slot())
        return report


def _check_documents(profile: Any, schema: Any, given: Mapping[str, Any]) -> dict[str, str]:
    """JSON documents for ``profile`` and ``schema`` (objects, or data to build them from)."""
    out: dict[str, str] = {}
    if profile is None and schema is None:
        return out
    from modelship.checks import DriftProfile, Schema

    for role, value in (("profile", profile), ("schema", schema)):
        if value is not None and role in given:
            raise ConfigError(f"pass {role!r} as a keyword or in attachments, not both")
    if profile is not None:
        prof = profile if isinstance(profile, DriftProfile) else DriftProfile.from_data(profile)
        out["profile"] = prof.to_json()
        if schema is None:
            schema = prof.schema
    if schema is not None:
        sch = schema if isinstance(schema, Schema) else Schema.infer(schema)
        out["schema"] = sch.to_json()
    return out


def _dead_slot() -> bytes:
    """A slot whose number no version will have: kept so that slots have no holes."""
    return canonical_json({"dead": True, "at": _now().isoformat()})


def _older(store: Store, key: str, cutoff: float) -> bool:
    try:
        return store.modified(key) < cutoff
    except FileNotFoundError:
        return False


def _pread_into(fd: int, view: memoryview, position: int) -> int:
    if hasattr(os, "preadv"):  # Linux and the BSDs: straight into the buffer
        return os.preadv(fd, [view], position)
    chunk = os.pread(fd, len(view), position)  # pragma: no cover - macOS
    view[: len(chunk)] = chunk  # pragma: no cover
    return len(chunk)  # pragma: no cover


def _hash_fd(fd: int, callback: Any) -> tuple[str, int]:
    """The sha256 hex digest and size of an open file, read with ``pread`` (no seek)."""
    h = hashlib.sha256()
    view = memoryview(bytearray(_CHUNK))
    position = 0
    while n := _pread_into(fd, view, position):
        h.update(view[:n])
        position += n
        callback.relative_update(n)
    return h.hexdigest(), position


def _mismatch(what: str, ref: ArtifactRef, hexdigest: str, size: int) -> IntegrityError:
    return IntegrityError(
        f"the artifact of {what} does not match its manifest: expected {ref.digest} "
        f"({ref.size} bytes), found sha256:{hexdigest} ({size} bytes). It was changed or "
        "damaged in storage; do not load it"
    )


def _unreadable(codec: Serializer, what: str, exc: Exception) -> SerializationError:
    return SerializationError(
        f"serializer {codec.name!r} could not read {what}: {type(exc).__name__}: {exc}"
    )


def _is_local_file(f: Any) -> bool:
    """Whether ``f`` reads a regular file on this machine (no need to spool it)."""
    name = getattr(f, "name", None)
    return isinstance(name, str) and os.path.isfile(name)
