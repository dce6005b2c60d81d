"""The :class:`Registry` front: versions, aliases and artifacts over a :class:`Store`.

A thin front composing one module per idea: where keys live (``_layout``, whose docstring
is the layout diagram), whether the store may be written (``_probe``), hashing while
storing (``_writer``), checking what is read (``_integrity``), signing (``_signing``),
hints (``_hints``), the commit protocol (``_commit``), model name claims under case
folding (``_claims``), manifests read back (``_manifests``), archive and purge markers
(``_states``), sequence slots (``_slots``), the latest live version (``_latest``), full
listings (``_scan``) over index snapshots (``_snapshots``), paged listings
(``_listing``), the alias log (``_aliases``), tags (``_tags``), the load routes
(``_load``), downloads (``_download``), garbage collection (``_gc``) and lineage capture
(``_lineage``). What a version is, is in :mod:`modelship._model_version`; what may be
attached to it, in :mod:`modelship._documents`. The records it returns hold verified
copies of their small documents, read here (:meth:`Registry.get`): a record does no I/O.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, overload

import attrs

from modelship._documents import Document, attachment_bytes, read_document
from modelship._hashing import CHUNK
from modelship._json import canonical_json
from modelship._model_version import (
    ArtifactRef,
    Lineage,
    ModelVersion,
    VersionState,
    held_roles,
    is_text,
    missing_attachment,
)
from modelship._names import RESERVED_REFS, check_alias, check_model_name, check_version
from modelship._shown import brief, hide_credentials
from modelship.errors import (
    ArchivedVersion,
    ConfigError,
    Conflict,
    InvalidName,
    InvalidReference,
    ModelNotFound,
    ModelshipError,
    ModelshipWarning,
    RegistryNotFound,
    UnsafeStore,
    VersionNotFound,
)
from modelship.parity._errors import ArtifactScanError
from modelship.parity._registration import REQUIREMENTS_ROLE
from modelship.parity._scan import StreamingScan
from modelship.parity._stored import RegistrationCapture, check_before_load
from modelship.registry._aliases import ANY, AliasMove, alias_state, history, move_alias
from modelship.registry._claims import claim_name, confirm_claim
from modelship.registry._commit import commit, version_exists
from modelship.registry._download import download_artifact
from modelship.registry._gc import (
    GcReport,
    collect,
    referenced_digests,
    refuse_during_gc,
    refuse_outside_registry,
)
from modelship.registry._guarded import guarded
from modelship.registry._integrity import (
    MAX_DOCUMENT,
    open_blob,
    read_verified,
    verify_blob,
)
from modelship.registry._latest import latest_live
from modelship.registry._layout import (
    MODELS,
    REGISTRY_MARKER,
    SIGNING_POLICY,
    blob_key,
    folder,
    is_document,
    manifest_key,
    state_key,
)
from modelship.registry._lineage import default_user, lineage_for, now
from modelship.registry._listing import Order, Reader, VersionPage, filter_listing, list_page
from modelship.registry._load import load_artifact
from modelship.registry._manifests import parse_manifest
from modelship.registry._probe import REGISTRY_FORMAT, honours_exclusive_creates
from modelship.registry._protocols import KnowsLocation, Store
from modelship.registry._scan import committed_versions, hidden_versions
from modelship.registry._serializers import (
    LoadsWithoutCode,
    Serializer,
    check_allowed,
    get_serializer,
    pinned_codec,
)
from modelship.registry._signing import UNCHECKED, Signer
from modelship.registry._snapshots import write_snapshot
from modelship.registry._states import check_marker, mark, version_state
from modelship.registry._tags import (
    ANY_VALUE,
    TagChange,
    change_tag,
    check_tag_key,
    check_tag_value,
    current_tags,
    tag_history,
)
from modelship.registry._where import Where
from modelship.registry._writer import store_blob

__all__ = ["AliasMove", "GcReport", "Registry", "signer_of", "signing_key_of"]

D = TypeVar("D", bound=Document)


def _valid_model_name(name: str) -> bool:
    try:
        check_model_name(name)
    except InvalidName:
        return False
    return True


def _flag(name: str, value: object) -> None:
    """Refuse a non-bool for a yes/no option: ``"no"`` would be read as yes."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")


_MAX_USER = 256
# A delete's reason is stored in the archive marker, which every listing and read of the
# version checks; a marker past MAX_DOCUMENT would read as damage for good. Bounded as a
# tag value is: a sentence or a ticket, not a file.
_MAX_REASON = 4096


def _checked_user(user: object) -> str:
    """``user`` as recorded in manifests and logs: text of 1 to 256 printable characters
    (the readers refuse any other ``created_by`` or ``by`` as damage)."""
    if not isinstance(user, str) or not user or len(user) > _MAX_USER or not user.isprintable():
        raise ConfigError(
            f"user must be 1 to {_MAX_USER} printable characters (such as 'ana@ci'), got "
            f"{type(user).__name__} {str(user)[:40]!r}"
        )
    return user


def _check_serialisable(draft: ModelVersion) -> None:
    """Refuse, naming the field, a version whose manifest JSON cannot store exactly.

    Run on the manifest-to-be before anything is written: commit() serialises it again
    once it has its number, and what commit() adds (the artifact, number, registration,
    time, signature) is made by the registry and always serialises, so it cannot fail
    there after a version number is used up. A manifest that readers would refuse as
    larger than :data:`MAX_DOCUMENT` is refused here too, for the same reason.
    """
    size = 0
    for field, value in draft.to_dict().items():
        try:
            size += len(canonical_json(value)) + len(field) + 4  # "field":value,
        except ConfigError as exc:
            reason = exc.__cause__ or exc
            raise ConfigError(
                f"{field} of {draft.name} cannot be stored in its manifest ({reason}); give "
                "values JSON carries exactly (ints of at most 4300 digits, or text)"
            ) from exc
    if size > MAX_DOCUMENT - _COMMIT_ROOM:
        raise ConfigError(
            f"the manifest of {draft.name} would hold {size:,} bytes, and a registry reads "
            f"no document larger than {MAX_DOCUMENT:,}: keep large data (tables, reports) "
            "in attachments=, which are stored as blobs of any size"
        )


# Bytes commit() may add to a manifest: the artifact's reference, the number, the
# registration's user and time, the signature (a few hundred bytes; a wide margin).
_COMMIT_ROOM = 64 * 2**10


# The longest checkpoint interval: every artifact is smaller, and it is the largest integer
# every JSON reader holds exactly (it is stored in the manifest). Past it, a manifest could
# fail to serialise after its version number was taken (ints of over 4,300 digits).
_MAX_CHECKPOINT_EVERY = 2**53

# gc's longest grace: a century of seconds, far below where time arithmetic overflows.
_MAX_GRACE = 100 * 365.25 * 86400.0


#: How many of the names a model takes from ``__main__`` its warning lists.
_MAIN_NAMES_SHOWN = 5


def _warn_main_references(scan: StreamingScan, what: str) -> None:
    """Warn when the artifact just stored refers to ``__main__`` (a class defined in the
    notebook or script that registered it).

    It loads in that process only: a model server's ``__main__`` is the server, so every
    deploy of the version would fail to load it. Registering is not refused, as the
    version still loads where it was made (an experiment in a notebook).
    """
    try:
        found = scan.result()
    except ArtifactScanError:  # not a pickle the scanner reads: nothing known to warn of
        return
    names = sorted({name for module, name in found.globals if module.split(".")[0] == "__main__"})
    if not names:
        return
    shown = ", ".join(names[:_MAIN_NAMES_SHOWN])
    if len(names) > _MAIN_NAMES_SHOWN:
        shown += f" and {len(names) - _MAIN_NAMES_SHOWN} more"
    warnings.warn(
        f"{what}: the model refers to classes or functions defined in __main__ ({shown}), "
        "the notebook or script that registered it: a model server cannot import them, so "
        "deploying this version fails. Move them into a module importable on the servers' "
        "PYTHONPATH, import them from there and register again",
        ModelshipWarning,
        stacklevel=3,  # the caller of register()
    )


class Registry:
    """A versioned model registry over any :class:`~modelship.registry.Store`.

    Open one with :func:`modelship.open_registry`. Versions are immutable once committed;
    aliases (``production``, ``staging``) move by compare-and-swap and every move is kept.
    ``signing_key`` and ``verify_signatures`` are as in :func:`~modelship.open_registry`:
    with a key everything written is signed and everything read is checked; without one,
    a signed registry is refused unless ``verify_signatures=False``. ``checkpoint_every``
    is the interval (bytes, default 8 MiB, at most ``2**53``) of the prefix digests stored
    with an artifact it registers, which let ``load`` deserialise one piece while it checks
    the next; a test suite passes a small one to make many pieces of a small artifact.

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

    def __init__(  # noqa: PLR0913 - public constructor: keyword-only options, each documented
        self,
        store: Store,
        *,
        signing_key: bytes | str | None = None,
        single_writer: bool = False,
        user: str | None = None,
        verify_signatures: bool = True,
        checkpoint_every: int = CHUNK,
    ) -> None:
        if not isinstance(store, Store):
            raise ConfigError(f"{store!r} does not implement the Store protocol")
        if isinstance(checkpoint_every, bool) or not (
            isinstance(checkpoint_every, int) and 0 < checkpoint_every <= _MAX_CHECKPOINT_EVERY
        ):
            shown = brief(checkpoint_every)  # an int of 5,000 digits is not shown whole
            raise ConfigError(
                "checkpoint_every must be a number of bytes from 1 to 2**53 (8 PiB; an "
                f"interval past an artifact's size stores no checkpoints), got {shown}"
            )
        if not isinstance(single_writer, bool):
            raise ConfigError(f"single_writer must be True or False, got {single_writer!r}")
        self._CHECKPOINT_EVERY = checkpoint_every
        # A store that is not modelship's own may let an OSError out: the registry's
        # callers get a StoreError naming it instead (FsspecStore raises those itself).
        self.store = guarded(store)
        self._signer = Signer(signing_key, verify=verify_signatures)
        self._single_writer = single_writer
        self._user = default_user() if user is None else _checked_user(user)
        self._writable: bool | None = None
        self._marked = False  # whether this single writer's handle made sure of the marker
        self._snapshots = True  # until writing one fails: then this handle stops trying
        self._policy_seen = False  # whether the store was seen to record a signing policy

    _SNAPSHOT_AFTER = 256
    """versions() writes a snapshot once it has read this many manifests one by one."""
    # Prefix digests every 8 MiB (checkpoint_every) let load() deserialise while it hashes
    # (ArtifactRef); up to 1,024 of them (8 GiB), about 35 KiB of manifest.
    _MAX_CHECKPOINTS = 1024

    def __repr__(self) -> str:
        return f"Registry({hide_credentials(self.store.url)!r})"

    @property
    def url(self) -> str:
        """The URL the registry was opened at."""
        return self.store.url

    # --- writing ------------------------------------------------------------------------

    def check_writable(self, *, _signed_bytes_only: bool = False) -> None:
        """Raise :class:`~modelship.UnsafeStore` unless this handle may write.

        The first call probes that the store refuses a second exclusive create of one key
        (so read-only credentials can open and load); a store that does not is writable
        only with ``single_writer=True``. Every method that writes calls this before its
        first write, and makes the signing checks below before it reads a version.

        In a signed registry (one that records ``signing.json``), a handle without the key
        raises :class:`~modelship.errors.SigningKeyRequired`, ``verify_signatures=False``
        or not (that reads unchecked; it never writes), and so does one whose key did not
        sign the registry, before anything is written.
        (``copy_registry`` alone passes ``_signed_bytes_only``: a copy of a signed registry
        writes the source's signed bytes unchanged and none of its own, so it needs no key.)
        A handle with a key (``verify_signatures=False`` or not) writes only to a registry
        that signs with that key or holds no models yet: it records no signing policy in a
        registry of unsigned models, whose keyless readers it would lock out and whose
        versions its readers with the key would refuse (a signed registry does not mix
        trusted and untrusted history), so there it raises
        :class:`~modelship.ConfigError` before anything is written: open such a registry
        without the key, or start signing in a new registry.

        Examples
        --------
        >>> import modelship as ms
        >>> ms.open_registry("memory://check-writable-doc").check_writable()
        """
        self._check_writable(signed_bytes_only=_signed_bytes_only, record_policy=True)

    def _check_writable(self, *, signed_bytes_only: bool, record_policy: bool) -> None:
        """:meth:`check_writable`; with ``record_policy`` False, a keyed handle's first
        write records no signing policy (a cache is no signed write)."""
        # Before anything is written (the probe below included): a handle without the
        # registry's key, or with another, would leave documents its readers refuse.
        if not signed_bytes_only:
            self._check_signer_writes(record_policy=record_policy)
        if self._writable is None:
            self._writable = honours_exclusive_creates(self.store)
        if not self._writable and not self._single_writer:
            raise UnsafeStore(
                "the store at "
                f"{hide_credentials(self.store.url)} does not guarantee exclusive creates, so two "
                "processes writing at once could overwrite each other. Open it with "
                "single_writer=True if only this process writes, or use a store that "
                "supports it (local disk, S3 with conditional writes)"
            )
        if not self._writable and not self._marked:
            # The probe marks a registry only where it passes: a single writer's registry
            # gets its marker here, or gc would take it for a folder that is not one.
            with contextlib.suppress(FileExistsError):
                self.store.create(REGISTRY_MARKER, canonical_json({"format": REGISTRY_FORMAT}))
            self._marked = True
        if record_policy and self._signer.key is not None:
            self._signer.record_policy(self.store, now().isoformat())
            self._policy_seen = True  # recorded, or found: it is never removed

    def _check_signer_writes(self, *, record_policy: bool = True) -> None:
        """The signing checks of :meth:`check_writable`, which only read: a method that
        writes makes them before it reads a version, as that read, checked with a key
        the registry does not sign with (or unsigned, by a handle with a key), would
        raise a plain :class:`~modelship.SignatureError` where the handle is at fault
        (:class:`~modelship.errors.SigningKeyRequired`, :class:`~modelship.ConfigError`).
        The store's probe (which marks a location as a registry) waits for the first
        write, so a version not found at a mistyped location creates nothing."""
        self._signer.check_writer(self.store)
        if record_policy:
            self._refuse_to_start_signing()

    def _model_names(self) -> Iterator[str]:
        """The models of the registry, lazily, in the store's order: valid names with a
        document among their versions. A folder whose name is not a valid model name was
        not made by a registry (and could point elsewhere, such as ".."), and a stray
        file (``.DS_Store``) or a first registration that died before its manifest is no
        model."""
        for name in self.store.list(MODELS):
            if _valid_model_name(name) and any(
                is_document(v) for v in self.store.list(folder(name, "versions"))
            ):
                yield name

    def _holds_models(self) -> bool:
        """Whether the registry holds a model, as :meth:`models` counts them (stops at
        the first)."""
        return next(self._model_names(), None) is not None

    def _refuse_to_start_signing(self) -> None:
        """Raise :class:`~modelship.ConfigError` if this handle's first write would record a
        signing policy in a registry that holds unsigned models.

        Its keyless readers would be refused from then on, and readers with the key would
        refuse every version written before (they carry no signature): a signed registry
        does not mix trusted and untrusted history, so signing starts only in a registry
        that holds no models yet.
        """
        if self._signer.key is None or self._policy_recorded():
            return
        # Check, then act: not atomic, and need not be. A model's slots are never removed
        # (gc keeps dead ones as tombstones), so a registry seen holding models still holds
        # them when the policy is created. A keyless writer adding the first model of an
        # EMPTY registry between this listing and the policy's exclusive create
        # (record_policy) is the race two first writers always had: its check_writer read
        # no policy, so its version is stored unsigned in a registry that now signs, and is
        # refused (never trusted) by readers with the key, and keyless readers are refused
        # as in any signed registry. Nothing unsigned is ever read as signed.
        if not self._holds_models():
            return
        # Another handle with a key may have recorded the policy (and committed its first
        # version) since it was read above, which cached "none": read again, uncached. A
        # policy is never removed, so seen now it decides; check_writer and record_policy
        # then verify it is this key's.
        if self.store.exists(SIGNING_POLICY):
            return
        unchecked = (
            " and reads unchecked (verify_signatures=False, --no-verify-signatures on the "
            "command line): it only reads such a registry and writes nothing, as"
            if not self._signer.verify
            else ":"
        )
        raise ConfigError(
            f"the registry at {hide_credentials(self.store.url)} holds models and does not "
            f"sign its versions (it records no {SIGNING_POLICY}), and this handle holds a "
            f"signing key{unchecked} its first signed write would record a signing policy "
            "there, locking out every reader without the key, while readers with the key "
            "would refuse the versions written before (they carry no signature). Nothing "
            "was written. Open it without the key to write to it unsigned; to start "
            "signing, open a new registry with the key and register into it the versions "
            "you still serve"
        )

    def register(  # noqa: PLR0913 - public register(): documented keyword-only metadata and serialisation options
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
        attachments: Mapping[str, bytes | str | Document] | None = None,
        profile: Any = None,
        schema: Any = None,
        progress: Any = None,
        capture_environment: bool = True,
    ) -> ModelVersion:
        """Store ``model`` as a new, immutable version of ``model_name``.

        ``version=None`` takes the next integer (``"1"``, ``"2"``, ...); an explicit
        version (``"2.1.0"``) is validated and raises :class:`~modelship.VersionExists` if
        taken. ``lineage`` defaults to the git commit and dirty flag of the current
        directory; ``data`` maps roles to data sets whose :func:`~modelship.fingerprint`
        goes into the lineage. ``attachments`` stores extra documents by role with the
        version: bytes, text (stored as UTF-8) or any :class:`~modelship.registry.Document`
        (read back with ``mv.attachment(role, TheClass)``). ``profile`` stores a
        :class:`~modelship.checks.DriftProfile` (or reference data to build one from) and
        ``schema`` a :class:`~modelship.checks.Schema` (or data to infer it from); a profile
        brings its schema along. Read them back as ``mv.profile`` and ``mv.schema``.
        ``progress``: ``None`` shows a bar in a terminal or notebook when tqdm is
        installed, ``True`` demands one, ``False`` is silent, or pass an fsspec Callback.

        ``capture_environment=True`` (the default) also stores the training environment
        (``mv.environment``, an :class:`~modelship.parity.EnvironmentSnapshot`) and, for a
        serializer that may run code when it loads (joblib), the distributions the
        artifact references with their installed versions (``mv.requirements``, found by
        scanning the stored bytes, never unpickling them), which :meth:`load` checks.
        ``False`` stores neither; an ``environment`` or ``requirements`` attachment given
        by the caller is stored as given (see ``docs/parity.md``). When that scan finds
        classes or functions of ``__main__`` (defined in the notebook or script that
        registers), the version is stored and a :class:`~modelship.ModelshipWarning` names
        them: no model server can import them, so the version would not deploy.

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
        started = now()
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
        if not is_text(description):  # as tags, params and metric names: read back as UTF-8
            raise ConfigError(
                f"description must be UTF-8 text (no lone surrogate, as a file name that is "
                f"not UTF-8 decodes to), got {brief(description)}; decode such a name with "
                "errors='replace' first"
            )
        # The rules set_tag() applies: a tag given here is read back by the same reader.
        for key, value in draft.tags.items():
            check_tag_value(check_tag_key(key), value)
        docs = attachment_bytes(attachments or {}, {"profile": profile, "schema": schema})
        parity = RegistrationCapture.start(docs, enabled=capture_environment)
        lin = lineage_for(name, lineage, data, lambda n, v: self.store.exists(manifest_key(n, v)))
        _check_serialisable(attrs.evolve(draft, lineage=lin))
        self.check_writable()
        if explicit is not None and self.store.exists(manifest_key(name, explicit)):
            raise version_exists(name, explicit)

        runs_code = not (isinstance(codec, LoadsWithoutCode) and codec.loads_without_code)
        # The requirements scan reads the bytes as they are written: nothing is read back.
        scan = parity.scanner(runs_code=runs_code)
        try:
            artifact = self._store_blob(model, codec, progress, name, scan.feed if scan else None)
        finally:
            if scan is not None:
                scan.close()
        docs |= parity.documents(
            lambda: open_blob(self.store, artifact, f"{name} artifact"),
            artifact.digest,
            runs_code=runs_code,
            what=name,
            scanned=scan,
        )
        attached = {
            role: self._store_blob(doc, get_serializer("bytes"), False, f"{name} {role}")
            for role, doc in docs.items()
        }
        complete = attrs.evolve(draft, lineage=lin, artifact=artifact, attachments=attached)
        # The name is claimed once the blobs are stored, right before the slot: a
        # registration that fails or is killed while it serialises or uploads (the long
        # part) claims no name, so it cannot hold another spelling off. Nothing under
        # models/ is written before this (the blobs are under blobs/), so the spelling
        # becomes listed only after its claim, as _claims's atomicity argument needs.
        claimed = claim_name(self.store, name)
        digests = [artifact.digest, *(ref.digest for ref in attached.values())]

        def before_manifest() -> None:
            # Once the slot is claimed: no gc running, and none removed a blob this refers
            # to (one that ran whole before the slot was claimed leaves no mark; see _gc),
            # and the name claim still names this spelling (a gc removes a claim whose
            # spelling is not listed once it is older than its grace period; see _claims).
            refuse_during_gc(self.store, digests)
            if claimed:
                confirm_claim(self.store, name)

        committed = commit(self.store, complete, explicit, self._signer, before_manifest)
        if scan is not None:
            _warn_main_references(scan, f"{name} {committed.version}")
        # The documents just stored, as stored: the record holds its small ones (no read).
        return attrs.evolve(committed, documents={r: docs[r] for r in held_roles(committed)})

    def _store_blob(
        self,
        obj: Any,
        codec: Serializer,
        progress: Any,
        what: str,
        observe: Callable[[memoryview], None] | None = None,
    ) -> ArtifactRef:
        return store_blob(
            self.store,
            obj,
            codec,
            progress=progress,
            what=what,
            checkpoint_every=self._CHECKPOINT_EVERY,
            max_checkpoints=self._MAX_CHECKPOINTS,
            observe=observe,
        )

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
        self._signer.check_policy(self.store)
        # A folder whose name is not a valid model name was not made by a registry (and
        # could point elsewhere, such as ".."): it is not listed as a model. Stray files
        # (editor backups, ".DS_Store") in a versions folder are not versions. Sorted here
        # too: Store.list promises sorted names, and a store that breaks that promise
        # must not reorder what this documents as sorted.
        found = sorted(self._model_names())
        if not found:
            self._check_located()
        return found

    def _check_located(self) -> None:
        """Raise RegistryNotFound if the store can tell that its location does not exist."""
        store = self.store
        if (
            isinstance(store, KnowsLocation)
            and not store.location_exists()
            and not store.exists(REGISTRY_MARKER)
        ):
            raise RegistryNotFound(
                "there is no registry at "
                f"{hide_credentials(self.url)}: the location does not exist (a typo, or "
                "a bucket that is gone). Check the URL; registering creates a registry in a "
                "folder, or in a bucket that exists (buckets are never created)"
            )

    def _parse(self, key: str, data: bytes | Mapping[str, Any]) -> ModelVersion:
        return parse_manifest(key, data, self._signer)

    def _state(self, name: str, version: str) -> VersionState:
        return version_state(self.store, name, version, self._signer)

    def _not_found(self, name: str, what: str, listing: str = "versions") -> VersionNotFound:
        if not self.store.list(folder(name, "versions")):
            known = self.models()  # raises RegistryNotFound where there is no registry
            hint = (
                f"; models here: {', '.join(known[:10])}" if known else " (the registry is empty)"
            )
            return ModelNotFound(f"no model named {name!r} in {hide_credentials(self.url)}{hint}")
        return VersionNotFound(f"{name} has no {what}; see {listing}({name!r})")

    def _no_alias(self, name: str, alias: str, known: Mapping[str, str]) -> VersionNotFound:
        # The aliases it has, not its versions: the usual slip is the alias's spelling
        # ('Production' for 'production'; aliases are case-sensitive).
        shown = ", ".join(sorted(known)[:10]) or "none"
        return self._not_found(name, f"alias {alias!r} (its aliases: {shown})", "aliases")

    def _check_model(self, name: str) -> None:
        """Raise ModelNotFound (or RegistryNotFound) unless ``name`` has a version: an empty
        answer about a model that is not there would hide a typo."""
        if not self.store.list(folder(name, "versions")):
            raise self._not_found(name, "versions")

    def _get_version(self, name: str, version: str, include_archived: bool) -> ModelVersion:
        key = manifest_key(name, version)
        try:
            data = self.store.read(key)
        except FileNotFoundError:
            raise self._not_found(name, f"version {version!r}") from None
        mv = self._parse(key, data)
        state = self._state(name, version)
        if state is VersionState.PURGED or (
            state is VersionState.ARCHIVED and not include_archived
        ):
            raise ArchivedVersion(
                f"{name} version {version!r} was {state.value}"
                + (
                    ""
                    if state is VersionState.PURGED
                    # The same message reaches the command line, which has flags
                    # where the library has keywords.
                    else "; pass include_archived=True (get, load, download; "
                    "--include-archived on `modelship registry download`), or restore() it "
                    "(`modelship registry restore`)"
                )
            )
        return mv

    def _latest(self, name: str) -> ModelVersion:
        mv = latest_live(self.store, name, self._signer)
        if mv is None:
            raise self._not_found(name, "live versions (all are archived)")
        return mv

    def get(
        self, name: str, ref: str | int = "latest", *, include_archived: bool = False
    ) -> ModelVersion:
        """The :class:`~modelship.ModelVersion` for ``ref``.

        ``ref`` is a version (``"3"``, ``3``, ``"2.1.0"``), ``"latest"`` (the last
        registered version that is not archived) or ``"@alias"``. Raises
        :class:`~modelship.ModelNotFound`, :class:`~modelship.VersionNotFound` or
        :class:`~modelship.ArchivedVersion`. Alias look-ups, and latest ones when the newest
        version is live, read a handful of small documents however many versions there
        are; each archived or purged version above the latest costs one small slot, read
        in batches. The record holds a verified copy
        of each attachment up to 16 MiB (``mv.profile``, ``mv.environment``, ...; see
        :meth:`~modelship.ModelVersion.held`), read now: it does no I/O later. Read a
        larger one with :meth:`attachment` or :meth:`read_attachment`.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://get-doc")
        >>> for i in range(3):
        ...     _ = reg.register(model_name="m", model=bytes([i]), serializer="bytes")
        >>> reg.get("m").version, reg.get("m", 2).version
        ('3', '2')
        """
        return self._get(name, ref, include_archived=include_archived).read_through(self)

    def _get(
        self,
        name: str,
        ref: str | int = "latest",
        *,
        include_archived: bool = False,
        version_only: bool = False,
    ) -> ModelVersion:
        """The record for ``ref``, holding no documents (for the registry's own look-ups).

        ``version_only``: the caller takes a version, never a reference (``set_alias``,
        ``delete``, ``restore``, ``purge``): a missing version that is an alias's name is
        answered with the version the alias points at, not with ``'@alias'``, which such
        a caller refuses.
        """
        _flag("include_archived", include_archived)
        name = check_model_name(name)
        self._signer.check_policy(self.store)
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = str(ref)
        if not isinstance(ref, str) or not ref:
            raise InvalidReference(f"reference {ref!r} must be a version, 'latest' or '@alias'")
        if ref == "latest":
            return self._latest(name)
        if ref.startswith("@"):
            try:
                alias = check_alias(ref)
            except InvalidName as exc:  # a malformed reference, as the version branch says
                raise InvalidReference(f"reference {ref!r} is not a valid '@alias': {exc}") from exc
            known = self.aliases(name)
            target = known.get(alias)
            if target is None:
                raise self._no_alias(name, alias, known)
            try:
                return self._get_version(name, target, include_archived)
            except ArchivedVersion as exc:
                # An alias left on a version deleted since (a delete that raced the move,
                # or one whose process was killed before it could give way): say so, and
                # how to move the alias, besides the version's own remedies.
                raise ArchivedVersion(
                    f"{exc}. It is what the alias '@{alias}' of {name} points at: to point "
                    f"'@{alias}' at a live version, move it with Registry.set_alias("
                    f"{name!r}, {alias!r}, VERSION) (`modelship registry alias URL {name} "
                    f"{alias} VERSION`)"
                ) from None
        try:
            version = check_version(ref)
        except Exception as exc:
            raise InvalidReference(
                f"reference {ref!r} is not a version, 'latest' or '@alias': {exc}"
            ) from exc
        try:
            return self._get_version(name, version, include_archived)
        except VersionNotFound as exc:
            # Only the plain "no such version" (not ModelNotFound, not ArchivedVersion),
            # and only then one more read: the found path costs nothing.
            target = None if type(exc) is not VersionNotFound else self._alias_target(name, version)
            if target is None:
                raise
            if version_only:  # '@alias' is refused here: name the version it points at
                raise VersionNotFound(
                    f"{name} has no version {version!r}: {version!r} is an alias of version "
                    f"{target!r}: give {target!r} (this takes a version, not an alias)"
                ) from None
            raise VersionNotFound(
                f"{name} has no version {version!r}, but has an alias of that name: did you "
                f"mean '@{version}'? (an alias is written with @)"
            ) from None

    def _alias_target(self, name: str, text: str) -> str | None:
        """The version the alias ``text`` of ``name`` points at now, or None: a hint for a
        missing version, so a failure to read the aliases answers None (the caller's error
        stands, not this)."""
        try:
            return alias_state(self.store, name, self._signer)[1].get(check_alias(text))
        except Exception:  # an invalid alias name, a damaged or unreadable log: no hint
            return None

    @overload
    def versions(
        self,
        name: str,
        *,
        include_archived: bool = ...,
        where: Where | None = ...,
        order: Order = ...,
        limit: None = ...,
        cursor: None = ...,
    ) -> list[ModelVersion]: ...

    @overload
    def versions(
        self,
        name: str,
        *,
        include_archived: bool = ...,
        where: Where | None = ...,
        order: Order = ...,
        limit: int,
        cursor: str | None = ...,
    ) -> VersionPage: ...

    def versions(  # noqa: PLR0913 - documented keyword-only listing options
        self,
        name: str,
        *,
        include_archived: bool = False,
        where: Where | None = None,
        order: Order = "oldest",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> list[ModelVersion] | VersionPage:
        """Versions of ``name``: all of them as a list, or one page with ``limit``.

        ``order`` is ``"oldest"`` (registration order) or ``"newest"``. ``where`` keeps
        the versions whose current tags and metrics match (see ``docs/registry.md``):
        ``{"tags.stage": "prod", "metrics.auc": (">=", 0.9)}``; a bad filter raises
        :class:`~modelship.InvalidFilter`. With ``limit``, a
        :class:`~modelship.registry.VersionPage` of at most ``limit`` versions is returned,
        reading only the slots it needs (newest 100 of 100,000 versions: a few small
        documents); pass its ``next_cursor`` as ``cursor`` for the next page. Versions
        registered meanwhile do not move a cursor; a cursor that was edited or made for
        other arguments raises :class:`~modelship.InvalidCursor`.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://versions-page-doc")
        >>> for auc in [0.8, 0.95, 0.91]:
        ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                      metrics={"auc": auc})
        >>> reg.set_tag("m", "2", "stage", "prod")
        >>> [mv.version for mv in reg.versions("m", where={"metrics.auc": (">=", 0.9)})]
        ['2', '3']
        >>> [mv.version for mv in reg.versions("m", where={"tags.stage": "prod"})]
        ['2']
        >>> page = reg.versions("m", limit=2, order="newest")
        >>> [mv.version for mv in page], page.next_cursor is not None
        (['3', '2'], True)
        """
        _flag("include_archived", include_archived)
        if limit is None:
            if cursor is not None:
                raise ConfigError("a cursor continues a paged listing: pass limit= with it")
            return filter_listing(
                self._reader(),
                name,
                lambda: self._all_versions(name, include_archived=include_archived),
                order=order,
                where=where,
            )
        name = check_model_name(name)
        self._signer.check_policy(self.store)
        return list_page(
            self._reader(),
            name,
            limit=limit,
            cursor=cursor,
            order=order,
            where=where,
            include_archived=include_archived,
        )

    def _reader(self) -> Reader:
        return Reader(
            store=self.store,
            signer=self._signer,
            parse=self._parse,
            marker=lambda key, data: check_marker(key, data, self._signer),
            may_write=self._may_write_cache,
            not_found=lambda name: self._not_found(name, "versions"),
        )

    def _may_write_cache(self) -> bool:
        """Whether this handle writes caches (snapshots, listing chunks); once not, never."""
        if self._snapshots:
            try:
                self._check_cache_writable()
            except (ModelshipError, OSError):  # read-only credentials: the probe is refused
                self._snapshots = False
        return self._snapshots

    def _check_cache_writable(self) -> None:
        """Raise unless this handle may write a cache (a snapshot, a listing chunk).

        Writing a cache never records a signing policy: a reader opened with a key, to
        read a registry that does not sign (verify_signatures=False, as when migrating to a
        signed one), would lock every keyless reader out of it. Nor does a handle with a
        key write one into a registry that records no policy (its keyless readers refuse
        the key-signed listing chunks), or one that reads unchecked (it would sign, as
        checked, listing chunks made from slots it did not check).
        """
        signer = self._signer
        if signer.key is not None and not (signer.verify and self._policy_recorded()):
            raise ConfigError(
                "this handle writes no cache: it holds a signing key, and reads unchecked or "
                "the registry does not sign"
            )
        self._check_writable(signed_bytes_only=False, record_policy=False)

    def _policy_recorded(self) -> bool:
        """Whether the store records a signing policy (once seen, never asked again: a
        policy is never removed)."""
        if not self._policy_seen:
            self._policy_seen = self.store.exists(SIGNING_POLICY)
        return self._policy_seen

    def _all_versions(self, name: str, *, include_archived: bool = False) -> list[ModelVersion]:
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
        self._signer.check_policy(self.store)
        names = [n for n in self.store.list(folder(name, "versions")) if is_document(n)]
        if not names:
            raise self._not_found(name, "versions")
        found, one_by_one, snapshots, damaged = committed_versions(
            self.store, name, names, self._signer
        )
        if self._snapshots and (one_by_one >= self._SNAPSHOT_AFTER or damaged):
            # Having read many manifests one by one, or found the newest snapshot damaged
            # (read and warned about by every listing until replaced): one for the next.
            self._snapshots = write_snapshot(
                self.store, name, found, snapshots, self._check_cache_writable, damaged=damaged
            )
        found.sort(key=lambda mv: mv.sequence)
        hidden = hidden_versions(self.store, name, self._signer, include_archived=include_archived)
        return [mv for mv in found if mv.version not in hidden]

    # --- artifacts ----------------------------------------------------------------------

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
        for role, art in [("model", mv.artifact), *sorted(mv.attachments.items())]:
            verify_blob(self.store, art, f"{mv.name} {mv.version} {role}")
        return mv

    def load(  # noqa: PLR0913 - public load(): keyword-only options, each documented
        self,
        name: str,
        ref: str | int = "latest",
        *,
        progress: Any = None,
        allow_pickle: bool = True,
        serializer: str | Serializer | None = None,
        include_archived: bool = False,
        strict_environment: bool = False,
    ) -> Any:
        """Verify a version's artifact, then deserialise and return the model.

        The digest (and, with a signing key, the signature) is checked before a single
        byte is deserialised; a mismatch raises :class:`~modelship.IntegrityError`.
        Unpickling (the joblib serializer) runs code: load only from registries you trust,
        or open them with a ``signing_key``. ``allow_pickle=False`` refuses any artifact
        whose serializer may run code (only ``bytes``, ``numpy`` and serializers declaring
        ``loads_without_code`` pass), and ``serializer="numpy"`` refuses any other
        serializer, whatever the manifest says: both raise
        :class:`~modelship.registry.RefusedSerializer` before a byte is read. An archived
        version raises :class:`~modelship.ArchivedVersion` unless ``include_archived=True``.

        A version that recorded its requirements (see :meth:`register`) is checked
        against the installed distributions first: a package at another version warns
        (:class:`~modelship.parity.EnvironmentMismatchWarning`, naming the package, the
        recorded and the installed version), so does one at the recorded version installed
        from another git commit than the stored environment snapshot records, and
        ``strict_environment=True`` refuses with
        :class:`~modelship.parity.EnvironmentMismatch` before a byte is unpickled. The
        snapshot is read only when a needed package is installed here from git; if it
        cannot be read then (damaged, forged, written by a newer modelship), the commit
        check is skipped with an :class:`~modelship.parity.EnvironmentMismatchWarning`
        saying so, and ``strict_environment=True`` refuses with its error
        (:class:`~modelship.parity.InvalidEnvironmentDocument` or
        :class:`~modelship.IntegrityError`) instead.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://load-doc")
        >>> _ = reg.register(model_name="m", model={"coef": [1.5]})
        >>> reg.load("m", "latest")
        {'coef': [1.5]}
        >>> reg.load("m", "latest", allow_pickle=False)
        Traceback (most recent call last):
        ...
        modelship.registry.RefusedSerializer: m 1 is stored with serializer ...
        """
        pinned = None if serializer is None else get_serializer(serializer)
        if not isinstance(allow_pickle, bool):
            raise ConfigError(f"allow_pickle must be True or False, got {allow_pickle!r}")
        # Of the documents, only the requirements are needed, to check them before loading;
        # the environment snapshot (where each package was installed from) is read by
        # check_before_load only when a needed package is installed here from git.
        bare = self._get(name, ref, include_archived=include_archived)
        mv = bare.read_through(self, roles=(REQUIREMENTS_ROLE,))
        what = f"{mv.name} {mv.version}"
        # A pinned serializer is compared by name before the manifest's is looked up (an
        # unknown name, or an entry point's, is refused unread), and is itself the codec.
        if pinned is None:
            codec = get_serializer(mv.artifact.serializer)
        else:
            codec = pinned_codec(pinned, mv.artifact.serializer, what)
        check_allowed(codec, what, allow_pickle=allow_pickle, pinned=pinned)
        check_before_load(mv, strict=strict_environment, source=self)
        return load_artifact(self.store, mv.artifact, codec, f"{mv.name} {mv.version}", progress)

    def download(  # noqa: PLR0913 - public download(): keyword-only options, each documented
        self,
        name: str,
        ref: str | int,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        role: str = "model",
        include_archived: bool = False,
        progress: Any = None,
    ) -> ModelVersion:
        """Write a version's artifact to the file ``path``, verified, without deserialising.

        Each byte is hashed as it streams into a temporary file beside ``path``; only
        when the digest and size match the manifest is the file synced and renamed into
        place, so a tampered or interrupted download leaves nothing at ``path`` (raising
        :class:`~modelship.IntegrityError` or :class:`~modelship.StoreError`). An existing
        file is never replaced unless ``overwrite=True`` (else
        :class:`~modelship.DestinationExists`). The temporary file is named after ``path``
        (its first 200 bytes), so any file name the file system allows works. A ``path``
        that cannot name a file (a folder, a NUL character, a name too long) raises
        :class:`~modelship.ConfigError` before the artifact is read. ``role`` picks an
        attachment instead of the model. Returns the version; its digest is
        ``mv.artifact.digest``.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://download-doc")
        >>> _ = reg.register(model_name="m", model=b"weights", serializer="bytes")
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "model.bin"
        >>> mv = reg.download("m", "latest", out)
        >>> out.read_bytes(), mv.artifact.digest[:15]
        (b'weights', 'sha256:9a129038')
        """
        mv = self.get(name, ref, include_archived=include_archived)
        if not isinstance(role, str):
            raise ConfigError(f"role must be a string, got {type(role).__name__}: {role!r}")
        art = mv.artifact if role == "model" else mv.attachments.get(role)
        if art is None:
            raise missing_attachment(mv, role)
        what = f"{mv.name} {mv.version}" + ("" if role == "model" else f" {role}")
        download_artifact(self.store, art, what, path, overwrite=overwrite, progress=progress)
        return mv

    @overload
    def attachment(self, name: str, ref: str | int, role: str) -> bytes: ...

    @overload
    def attachment(self, name: str, ref: str | int, role: str, kind: type[D]) -> D: ...

    def attachment(
        self, name: str, ref: str | int, role: str, kind: type[D] | None = None
    ) -> bytes | D:
        """The document stored with a version under ``role``: verified bytes, or a ``kind``.

        With ``kind`` (a :class:`~modelship.registry.Document` class), the bytes are read
        back as that class (``kind.from_json``).

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://attachment-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                  attachments={"schema": '{"cols": []}'})
        >>> reg.attachment("m", "1", "schema")
        b'{"cols": []}'
        """
        mv = self._get(name, ref, include_archived=True)
        return (
            self.read_attachment(mv, role) if kind is None else self.read_attachment(mv, role, kind)
        )

    @overload
    def read_attachment(self, mv: ModelVersion, role: str) -> bytes: ...

    @overload
    def read_attachment(self, mv: ModelVersion, role: str, kind: type[D]) -> D: ...

    def read_attachment(
        self, mv: ModelVersion, role: str, kind: type[D] | None = None
    ) -> bytes | D:
        """``mv``'s attachment ``role``, read from storage now: verified bytes, or a ``kind``.

        The signature of ``mv`` is checked first when this registry has a signing key.
        For documents of any size (a record holds copies only up to 16 MiB), and for
        records that hold none (rebuilt from JSON, or listed by :meth:`versions`):
        ``reg.read_attachment(mv, "profile", DriftProfile)``. This makes a registry an
        :class:`~modelship.registry.AttachmentSource`.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://read-attachment-doc")
        >>> mv = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                   attachments={"notes": "hi"})
        >>> reg.read_attachment(mv, "notes")
        b'hi'
        """
        if not isinstance(mv, ModelVersion):
            raise ConfigError(
                f"mv must be a ModelVersion (from reg.get or reg.versions), got "
                f"{type(mv).__name__}; or call reg.attachment(name, ref, role)"
            )
        if not isinstance(role, str):
            raise ConfigError(f"role must be a string, got {type(role).__name__}: {role!r}")
        if kind is not None and not (
            isinstance(kind, type) and callable(getattr(kind, "from_json", None))
        ):
            raise ConfigError(
                f"kind must be a document class with from_json() (such as DriftProfile), "
                f"got {kind!r}; leave it out to read the bytes"
            )
        self._signer.check(mv)
        if role not in mv.attachments:
            raise missing_attachment(mv, role)
        what = f"{mv.name} {mv.version} {role}"
        data = read_verified(self.store, mv.attachments[role], what)
        if kind is None:
            return data
        return read_document(kind, data, f"the {role!r} attachment of {mv.name}")

    # --- aliases ------------------------------------------------------------------------

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
        name = check_model_name(name)
        self._signer.check_policy(self.store)
        found = alias_state(self.store, name, self._signer)[1]
        if not found:
            self._check_model(name)
        return found

    def set_alias(
        self, name: str, alias: str, version: str | int, *, expected: str | None = ANY
    ) -> str | None:
        """Point ``alias`` (``"production"``) at ``version``; return where it pointed
        before (None: it was unset).

        The move is a compare-and-swap: if another writer moves the same alias to another
        version at the same time, one of the two wins and the other raises
        :class:`~modelship.Conflict`. With ``expected``, the move happens only if the alias
        now points there (``None``: only if it is unset). Every move is recorded in
        :meth:`history`. Idempotent: a move to the version the alias names already writes
        nothing (no history entry) and returns that version, whatever ``expected`` says,
        so a promotion step retried after it succeeded succeeds again; an alias at a third
        version still raises Conflict. So ``expected=None`` is no lock between two writers
        of the same version (a retry cannot be told from a second writer). ``version`` is a
        version number: the reference ``"latest"`` raises :class:`~modelship.InvalidName`
        (pass ``reg.get(name, "latest").version``).

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://set-alias-doc")
        >>> for _ in range(2):
        ...     _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.set_alias("m", "production", "1")
        >>> reg.set_alias("m", "production", "2", expected="1")
        '1'
        >>> reg.set_alias("m", "production", "2", expected="1")  # a retry: nothing written
        '2'
        >>> reg.set_alias("m", "production", "1", expected="1")
        Traceback (most recent call last):
        ...
        modelship.errors.Conflict: alias 'production' of m points to '2', not the expected '1'; ...
        """
        name = check_model_name(name)
        alias = check_alias(alias)
        if isinstance(version, str) and version.lower() in RESERVED_REFS:
            # 'latest' names a version only when read: an alias points at a fixed number.
            raise InvalidName(
                f"an alias points at a version number (such as '3'), not at the reference "
                f"{version!r}: to point {alias!r} at the newest version, pass its number, "
                f"reg.get({name!r}, 'latest').version"
            )
        if isinstance(version, str) and version.startswith("@"):
            # An alias of an alias would follow its moves unseen: point at its version.
            raise InvalidName(
                f"an alias points at a version number (such as '3'), not at the reference "
                f"{version!r}: to point {alias!r} where {version!r} points now, give that "
                "version (aliases() or `modelship registry versions` lists it)"
            )
        version = check_version(version)
        self._check_signer_writes()
        target = self._get(name, version, version_only=True).version
        self.check_writable()
        before = move_alias(
            self.store,
            name,
            alias,
            target,
            expected=expected,
            user=self._user,
            signer=self._signer,
        )
        # delete() creates its marker, then reads the aliases; this moved the alias, then
        # reads the marker: of a delete and a move racing, at least one sees the other.
        state = self._state(name, target)
        if before == target:
            # Nothing was written: there is nothing to take back (a take-back would undo
            # another writer's move to it). A delete that met the alias gives way and takes
            # its marker back: read once more before saying the version is gone.
            if state is not VersionState.LIVE:
                state = self._state(name, target)
            if state is not VersionState.LIVE:
                raise ArchivedVersion(
                    f"{name} version {target!r}, which {alias!r} names, was {state.value} "
                    f"meanwhile; nothing was changed: move {alias!r} to a live version"
                )
            return before
        if state is not VersionState.LIVE:
            undone = self._undo_move(name, alias, target, before)
            # A delete that met this move gives way and takes its marker back: the version
            # may be live again, and neither happened. Read once more to say which.
            if self._state(name, target) is VersionState.LIVE:
                raise Conflict(
                    f"a delete of {name} version {target!r} raced this move of {alias!r} "
                    f"to it, and both gave way: {target!r} is live; {undone}. Move the "
                    "alias again"
                )
            raise ArchivedVersion(
                f"{name} version {target!r} was {state.value} while {alias!r} was being moved "
                f"to it; {undone}"
            )
        return before

    def _undo_move(self, name: str, alias: str, moved_to: str, before: str | None) -> str:
        """Take back a move of ``alias`` to ``moved_to``, found archived: point it at
        ``before`` again if that is still live, else remove it. Returns what was done.

        Each step is one more (signed) alias log entry, an exclusive create of the next
        revision made only if the alias still points where the previous step left it
        (``expected``): another writer's move in between makes it raise Conflict.
        """

        def move(to: str | None, expected: str) -> None:
            move_alias(
                self.store,
                name,
                alias,
                to,
                expected=expected,
                user=self._user,
                signer=self._signer,
            )

        if before is None:
            move(None, moved_to)
            return "the move was undone (the alias is unset again)"
        state = self._state(name, before)
        if state is VersionState.LIVE:
            move(before, moved_to)
            # As for the move itself: a delete or purge of ``before`` creates its marker,
            # then reads the aliases (and gives way if one points there); this moved the
            # alias back, then reads the markers. Of the two racing, at least one sees the
            # other, so an alias is never left on a version archived or purged meanwhile.
            state = self._state(name, before)
            if state is VersionState.LIVE:
                return f"the move was undone (the alias points to {before!r} again)"
            moved_to = before
        move(None, moved_to)
        return (
            f"the move was taken back, but {before!r}, where the alias pointed before, was "
            f"{state.value} meanwhile: the alias was removed, set it again with set_alias()"
        )

    def remove_alias(self, name: str, alias: str, *, expected: str | None = ANY) -> None:
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
        self._check_signer_writes()
        known = self.aliases(name)
        if alias not in known:
            raise self._no_alias(name, alias, known)
        self.check_writable()
        move_alias(
            self.store, name, alias, None, expected=expected, user=self._user, signer=self._signer
        )

    def history(self, name: str) -> list[AliasMove]:
        """Every alias move of ``name``, oldest first (append-only).

        Examples
        --------
        See :class:`AliasMove`.
        """
        name = check_model_name(name)
        self._signer.check_policy(self.store)
        moves = history(self.store, name, self._signer)
        if not moves:
            self._check_model(name)
        return moves

    # --- tags ---------------------------------------------------------------------------

    def tags(self, name: str, ref: str | int) -> dict[str, str]:
        """The tags of a version now: those given at registration, as changed since.

        ``ref`` is a version, ``"latest"`` or ``"@alias"``. The version's record
        (``mv.tags``) keeps the registration's tags; changes are logged apart
        (:meth:`tag_history`).

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://tags-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes", tags={"team": "risk"})
        >>> reg.set_tag("m", "1", "ticket", "RISK-42")
        >>> reg.tags("m", "1"), reg.get("m", "1").tags
        ({'team': 'risk', 'ticket': 'RISK-42'}, {'team': 'risk'})
        """
        mv = self._get(name, ref, include_archived=True)
        return current_tags(self.store, mv.name, mv.version, self._signer, mv.tags)

    def set_tag(
        self, name: str, ref: str | int, key: str, value: str, *, expected: str | None = ANY_VALUE
    ) -> None:
        """Set tag ``key`` of a version to ``value``; the change (who, when) is logged.

        Concurrent changes of other tags are all kept; if another writer changes the same
        tag to another value meanwhile, or it holds neither ``value`` nor ``expected``
        (``None``: unset), this raises :class:`~modelship.Conflict`. Setting the value a
        tag has already is a no-op, whatever ``expected`` says (a retried step succeeds
        again), so ``expected=None`` is no lock between two writers of the same value: to
        claim a tag, set a value only the claimer writes (its job id).

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://set-tag-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.set_tag("m", "1", "stage", "staging")
        >>> reg.set_tag("m", "1", "stage", "prod", expected="staging")
        >>> reg.tags("m", "1")
        {'stage': 'prod'}
        """
        key, value = check_tag_key(key), check_tag_value(key, value)
        self._check_signer_writes()
        self._change_tag(self._get(name, ref, include_archived=True), key, value, expected)

    def remove_tag(
        self, name: str, ref: str | int, key: str, *, expected: str | None = ANY_VALUE
    ) -> None:
        """Remove tag ``key`` of a version (a tag that is not set: a no-op); logged.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://remove-tag-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes", tags={"a": "1"})
        >>> reg.remove_tag("m", "1", "a"); reg.tags("m", "1")
        {}

        A key the version was registered with is removed as it is, even one today's
        rules refuse (``'a b'``, which ``register`` accepted before it applied ``set_tag``'s rules).
        """
        self._check_signer_writes()
        mv = self._get(name, ref, include_archived=True)
        if not (isinstance(key, str) and key in mv.tags):
            check_tag_key(key)
        self._change_tag(mv, key, None, expected)

    def _change_tag(self, mv: ModelVersion, key: str, value: str | None, expected: Any) -> None:
        self.check_writable()
        change_tag(
            self.store,
            mv.name,
            mv.version,
            key,
            value,
            base=mv.tags,
            expected=expected,
            user=self._user,
            signer=self._signer,
        )

    def tag_history(self, name: str, ref: str | int) -> list[TagChange]:
        """Every tag change of a version, oldest first (append-only; who and when).

        Examples
        --------
        See :class:`~modelship.registry.TagChange`.
        """
        mv = self._get(name, ref, include_archived=True)
        return tag_history(self.store, mv.name, mv.version, self._signer, mv.tags)

    # --- deleting -----------------------------------------------------------------------

    def delete(self, name: str, version: str | int, *, reason: str = "") -> None:
        """Archive a version (a soft delete): it disappears from ``latest`` and listings.

        ``version`` is the version itself (``"3"``, ``3``), never ``"latest"`` or
        ``"@alias"`` (:class:`~modelship.InvalidReference`): a reference moves, so a retried
        delete would archive one more version each time. A version an alias points to
        cannot be archived; move the alias first. Archived
        versions can be read with ``include_archived=True``, brought back with
        :meth:`restore`, and removed for good with :meth:`purge`. ``reason`` is recorded
        with the archive; more than 4096 characters is a :class:`~modelship.ConfigError`.

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
        if not isinstance(reason, str):
            raise ConfigError(f"reason must be text, got {type(reason).__name__}: {brief(reason)}")
        if len(reason) > _MAX_REASON:
            raise ConfigError(
                f"reason must be at most {_MAX_REASON} characters, got {len(reason)} "
                f"({brief(reason)}); give a short reason, and link to a longer account"
            )
        if not is_text(reason):
            raise ConfigError(f"reason must be UTF-8 text (no lone surrogate), got {brief(reason)}")
        number = _version_only(version, "delete")
        self._check_signer_writes()
        mv = self._get(name, number, include_archived=True, version_only=True)
        holders = sorted(a for a, v in self.aliases(mv.name).items() if v == mv.version)
        if holders:
            raise Conflict(
                f"{mv.name} version {mv.version} is aliased as {', '.join(holders)}; move or "
                "remove those aliases before deleting it"
            )
        self.check_writable()
        marker = {"by": self._user, "at": now().isoformat(), "reason": reason}
        key = state_key(mv.name, VersionState.ARCHIVED.value, mv.version)
        if not mark(self.store, key, marker, self._signer):
            self._archived_already(mv, key)
            return
        # set_alias() moves the alias, then reads this marker: of the two racing, at least
        # one sees the other, and the one that sees it undoes its own change.
        self._refuse_aliased(mv, undo=key, doing="deleting")

    def _archived_already(self, mv: ModelVersion, key: str) -> None:
        """Raise Conflict unless the archive marker ``key`` found in place holds: it may be
        another delete's, about to be taken back because an alias moved onto the version.

        An alias move that did not see that marker was made before it was created, so
        before this delete found it: the aliases read now show it. A delete that gave way
        took the marker back after reading such an alias.
        """
        holders = sorted(a for a, v in self.aliases(mv.name).items() if v == mv.version)
        if holders:
            raise Conflict(
                f"another delete of {mv.name} version {mv.version} is under way and gives "
                f"way to the aliases {', '.join(holders)}; the version stays live and "
                "nothing was archived. Move or remove those aliases, then delete it again"
            )
        if not self.store.exists(key):
            raise Conflict(
                f"{mv.name} version {mv.version} was archived by another delete that was "
                "taken back meanwhile (it gave way to an alias, or a restore ran); nothing "
                f"was archived. Check get({mv.name!r}, {mv.version!r}) and delete it again"
            )

    def _refuse_aliased(self, mv: ModelVersion, *, undo: str, doing: str) -> None:
        """Raise Conflict (after deleting the marker ``undo``) if an alias points to ``mv``."""
        holders = sorted(a for a, v in self.aliases(mv.name).items() if v == mv.version)
        if holders:
            self.store.delete(undo)
            purged = state_key(mv.name, VersionState.PURGED.value, mv.version)
            if doing == "deleting" and self.store.exists(purged):
                # A purge found this delete's marker before it was taken back, and went
                # on: the version is purged, whatever this delete now gives way to.
                raise ArchivedVersion(
                    f"{mv.name} version {mv.version} was purged while it was being deleted "
                    f"(a purge found it archived before this gave way to the aliases "
                    f"{', '.join(holders)})"
                )
            raise Conflict(
                f"{mv.name} version {mv.version} is aliased as {', '.join(holders)}; move or "
                f"remove those aliases before {doing} it"
            )

    def restore(self, name: str, version: str | int) -> None:
        """Bring back an archived (not purged) version (the version itself, never a
        reference: see :meth:`delete`).

        A purged version raises :class:`~modelship.ArchivedVersion`. While a :meth:`purge`
        of the version runs, this raises :class:`~modelship.Conflict`: the version ends
        purged if that purge had found it still archived, or live with its bytes if the
        purge gives way (it raises ``Conflict`` too). Which one, ``get`` with
        ``include_archived=True`` tells once the purge has ended. A restore that returns
        leaves the version live with its bytes.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://restore-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
        >>> reg.delete("m", "1"); reg.restore("m", "1"); reg.get("m").version
        '1'
        """
        number = _version_only(version, "restore")
        self._check_signer_writes()
        mv = self._get(name, number, include_archived=True, version_only=True)
        self.check_writable()
        self.store.delete(state_key(mv.name, VersionState.ARCHIVED.value, mv.version))
        # purge() creates its marker, then reads this one; this deleted it, then reads
        # purge's. A purge that goes on to delete bytes found this marker before the delete
        # (only delete() creates one: after it, a purge finds one only if the version was
        # archived again, after this restore), created its own before that, and never
        # takes its own back once it has found this one (it does so only to give way,
        # before any byte): so it is seen here. Finding none, this returns with the version
        # live and its bytes kept; a purge looking after the delete gives way.
        # The archive marker is never put back: a copy read before the delete may be
        # stale (another restore returned meanwhile, the version live), and a purge that
        # read it again would delete the bytes of a version restored. A purge marker alone
        # says "purged" to every reader.
        if self._state(mv.name, mv.version) is VersionState.PURGED:
            ref = f"{mv.name!r}, {mv.version!r}"
            raise Conflict(
                f"a purge of {mv.name} version {mv.version} was under way while it was being "
                "restored: the version ends purged if that purge had found it still "
                "archived, or live with its bytes if the purge gives way (it then raises "
                f"Conflict). Check get({ref}, include_archived=True) once the purge has "
                "ended"
            )

    def purge(self, name: str, version: str | int) -> None:
        """Remove an archived version for good: its artifact bytes are deleted (the version
        itself, never a reference: see :meth:`delete`).

        The version's number stays taken (its manifest remains as a tombstone), so a
        purged version number is never reused. An artifact that another version shares,
        live, archived or purged, is kept: once every version sharing it is purged,
        :meth:`gc` removes it. Do not purge while registering the same artifact elsewhere.
        A version that a :meth:`restore` running meanwhile brings back is not purged: this
        raises :class:`~modelship.Conflict` and deletes no byte. So does a second purge of
        a version another purge is purging: only that one may delete its bytes.

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
        number = _version_only(version, "purge")
        self._check_signer_writes()
        mv = self._get(name, number, include_archived=True, version_only=True)
        if self._state(mv.name, mv.version) is not VersionState.ARCHIVED:
            raise Conflict(
                f"{mv.name} version {mv.version} is live; archive it with delete() before purge()"
            )
        self.check_writable()
        marker = {"by": self._user, "at": now().isoformat()}
        key = state_key(mv.name, VersionState.PURGED.value, mv.version)
        if not mark(self.store, key, marker, self._signer):
            # Another purge created the marker: it deletes the bytes, or gives way to an
            # alias or a restore and takes its marker back. This one cannot tell which, so
            # it deletes nothing and says so, rather than report a purge that may not be.
            raise Conflict(
                f"another purge of {mv.name} version {mv.version} is under way; nothing was "
                f"done by this one: check get({mv.name!r}, {mv.version!r}, "
                "include_archived=True) once it ends"
            )
        # Never delete the bytes an alias serves (set_alias reads the markers after it
        # moves, so of the two racing, at least one sees the other).
        self._refuse_aliased(mv, undo=key, doing="purging")
        # restore() deletes the archive marker, then reads this one: of the two racing, at
        # least one sees the other. A restore seen here wins, before any byte is deleted;
        # past this point the marker stays, which is what restore() relies on.
        if not self.store.exists(state_key(mv.name, VersionState.ARCHIVED.value, mv.version)):
            self.store.delete(key)
            raise Conflict(
                f"{mv.name} version {mv.version} was restored while it was being purged; "
                "nothing was purged and its bytes are kept. Archive it with delete() again "
                "to purge it"
            )
        # Every other version's references count, purged or not: another purge's marker
        # may yet be taken back (that purge gives way to a restore or an alias), and the
        # bytes this one shares with it would be gone from a version left live. Bytes
        # shared only with purged versions are gc's, which counts a purge marker as done
        # once it is older than its grace period.
        used = referenced_digests(
            self.store, purged_before=None, leaving_out=manifest_key(mv.name, mv.version)
        )
        for art in [mv.artifact, *mv.attachments.values()]:
            if art.digest not in used:
                self.store.delete(blob_key(art.digest))

    def gc(self, *, grace_seconds: float = 3600.0, dry_run: bool = False) -> GcReport:
        """Clean up what writers that died left behind; never touches committed versions.

        Removes staging files, sequence slots whose registration never committed,
        artifacts no manifest refers to, and name claims of a spelling that is no model (a
        registration that stopped between claiming the name and its first slot), and aborts
        multipart uploads that never completed (on S3, where a writer killed mid-upload
        leaves stored, billed parts), each only when older than ``grace_seconds`` (so
        registrations in flight are left alone). Uploads are found only on stores that can
        list them (see ``docs/extending.md``).

        A location without the registry's marker (``registry.json``, written at a
        registry's first write) is refused with :class:`~modelship.RegistryNotFound`
        before anything is written or deleted, ``dry_run`` or not, if it holds files where
        a registry keeps its own (a folder that is not a registry, or a registry restored
        file by file whose marker has not arrived: every blob would look unused).

        gc never records a signing policy. In a registry that signs, the slots it turns dead
        and the purges it takes for done must verify with the key (one that does not is a
        :class:`~modelship.errors.RepairWarning`, left alone); a handle with a key collects
        a registry that does not sign as a handle without one does, checking and signing
        nothing.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://gc-method-doc")
        >>> reg.gc(grace_seconds=0, dry_run=True).removed
        0
        """
        if (
            isinstance(grace_seconds, bool)
            or not isinstance(grace_seconds, (int, float))
            or not 0 <= grace_seconds <= _MAX_GRACE
        ):
            shown = repr(grace_seconds)
            if isinstance(grace_seconds, int) and grace_seconds.bit_length() > 64:
                shown = f"an integer of {grace_seconds.bit_length()} bits"
            raise ConfigError(
                f"grace_seconds must be a number of seconds from 0 to {_MAX_GRACE:.0f} "
                f"(a century), got {shown}"
            )
        if not isinstance(dry_run, bool):
            raise ConfigError(f"dry_run must be True or False, got {dry_run!r}")
        self._check_located()  # gc of a mistyped location must not create it
        # Before anything is written or deleted (the probe writes the marker): files
        # without the marker are not a registry gc may collect.
        refuse_outside_registry(self.store, hide_credentials(self.url))
        cutoff = time.time() - grace_seconds
        # In a signing registry, what gc turns dead or takes for purged is checked with the
        # key, even by a handle that reads unchecked: gc signs tombstones and deletes bytes
        # on it. A registry that does not sign is collected as without a key (its markers
        # and slots were never signed), and gc records no policy there: keyless readers
        # would be locked out, and readers with the key refuse its unsigned versions.
        signs = self._signer.key is not None and self._policy_recorded()
        return collect(
            self.store,
            cutoff,
            dry_run=dry_run,
            check_writable=lambda: self._check_writable(
                signed_bytes_only=False, record_policy=False
            ),
            signer=Signer(self._signer.key) if signs else UNCHECKED,
        )


def signing_key_of(registry: Registry) -> bytes | None:
    """The key ``registry`` signs and checks with, or None (opened without one): for the
    registry's own modules (a copy compares two registries' keys), never shown."""
    return signer_of(registry).key


def signer_of(registry: Registry) -> Signer:
    """The :class:`Signer` ``registry`` checks its documents with: for the registry's own
    modules (a copy checks the purge markers it takes for final), never shown.

    Examples
    --------
    >>> import tempfile
    >>> from modelship.registry import open_registry
    >>> signer_of(open_registry(tempfile.mkdtemp())).key is None
    True
    """
    return registry._signer


def _version_only(version: str | int, doing: str) -> str | int:
    """``version`` if it names a version; ``"latest"`` or ``"@alias"`` is an
    :class:`InvalidReference`: what they name moves, and ``doing`` must not follow it
    (a retried ``delete("m", "latest")`` archived one more version on each try)."""
    if isinstance(version, str) and (version == "latest" or version.startswith("@")):
        raise InvalidReference(
            f"{doing}() takes a version, not the reference {version!r}, which moves as "
            "versions are registered and aliases move: give the version itself (such as "
            "'3'), as versions() or get() name it"
        )
    return version
