"""The records a registry stores: :class:`ModelVersion`, :class:`Lineage`, :class:`ArtifactRef`.

They are frozen attrs classes. ``to_dict``/``from_dict`` (and the JSON forms) round-trip
exactly: ``ModelVersion.from_json(mv.to_json()) == mv``. They are plain data: no reader is
injected into a record and no property does storage I/O. A registry that builds a record
gives it verified copies of its small attached documents (:func:`held_roles`), which
``mv.profile``, ``mv.environment`` and ``mv.attachment(...)`` parse; anything else is read
by the registry (``reg.read_attachment(mv, role, kind)``). Public as ``modelship.*``.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, NoReturn, Protocol, TypeVar, overload, runtime_checkable

import attrs

from modelship._display import version_html, version_repr
from modelship._documents import Document, document_kind, read_document
from modelship._json import JSONValue, canonical_json, malformed
from modelship._model_params import json_params
from modelship._shown import brief
from modelship.errors import ConfigError, IntegrityError, MissingAttachment, ModelshipError
from modelship.parity._requirements import Requirements
from modelship.parity._snapshot import EnvironmentSnapshot
from modelship.parity._stored import stored_environment, stored_requirements

__all__ = [
    "ArtifactRef",
    "AttachmentSource",
    "JSONValue",
    "Lineage",
    "ModelVersion",
    "VersionState",
    "canonical_json",
]

D = TypeVar("D", bound=Document)

MANIFEST_FORMAT = 1
_DIGEST = re.compile("sha256:[0-9a-f]{64}")
_CHECKPOINT = re.compile("[0-9a-f]{32}")


class VersionState(str, enum.Enum):
    """Where a committed version stands: live, archived (soft-deleted) or purged.

    A registry stores a state as a marker key in the folder of that name
    (``models/<name>/archived/<v>.json``), so the values are the folder names.

    Examples
    --------
    >>> VersionState("archived") is VersionState.ARCHIVED
    True
    >>> VersionState.PURGED.value
    'purged'
    """

    LIVE = "live"
    ARCHIVED = "archived"
    PURGED = "purged"


@runtime_checkable
class AttachmentSource(Protocol):
    """What can read a :class:`ModelVersion`'s attachments: a registry.

    A :class:`~modelship.Registry` is one: it checks the version's signature (with a key)
    and the attachment's digest before returning the bytes. :meth:`ModelVersion.read_through`
    reads a record's small documents from one, once.

    Examples
    --------
    >>> import modelship as ms
    >>> isinstance(ms.open_registry("memory://attachment-source-doc"), AttachmentSource)
    True
    """

    def read_attachment(self, mv: ModelVersion, role: str) -> bytes:
        """The verified bytes of ``mv``'s attachment ``role``."""


HELD_DOCUMENT = 16 * 2**20
"""The largest attachment a record holds a copy of (16 MiB). An environment snapshot is
~5 KiB, requirements ~0.1 KiB, a drift profile ~28 KiB per column (so up to ~600
columns); reading and verifying one costs ~1 ms per MiB on a local disk. Larger
documents are read with ``registry.read_attachment(...)``, never with the record."""
HELD_DOCUMENTS = 32 * 2**20
"""The most a record holds in all (32 MiB): bounds the memory and time of reading one."""


def held_roles(mv: ModelVersion) -> list[str]:
    """The roles of ``mv``'s attachments a record read from a registry holds, by name.

    Every attachment of at most :data:`HELD_DOCUMENT` bytes, in role order, while the
    total stays within :data:`HELD_DOCUMENTS`.

    Examples
    --------
    >>> ref = ArtifactRef("sha256:" + "0" * 64, 10, "bytes", "application/octet-stream")
    >>> big = attrs.evolve(ref, size=HELD_DOCUMENT + 1)
    >>> mv = ModelVersion(name="m", version="1", sequence=1, artifact=ref,
    ...                   created_at="2026-01-01T00:00:00+00:00",
    ...                   attachments={"schema": ref, "profile": big})
    >>> held_roles(mv)
    ['schema']
    """
    roles: list[str] = []
    total = 0
    for role, ref in sorted(mv.attachments.items()):  # bounded by the manifest
        if ref.size <= HELD_DOCUMENT and total + ref.size <= HELD_DOCUMENTS:
            roles.append(role)
            total += ref.size
    return roles


def missing_attachment(mv: ModelVersion, role: str) -> MissingAttachment:
    """The error for a role ``mv`` has no attachment for."""
    return MissingAttachment(
        f"{mv.name} version {mv.version} has no {role!r} attachment (it has "
        f"{sorted(mv.attachments) or 'none'}); store one at registration"
    )


def is_text(value: str) -> bool:
    """Whether ``value`` can be stored and printed as UTF-8: it holds no lone surrogate.

    JSON escapes a lone surrogate (``"\\ud800"``), so a manifest would store it, but no
    terminal, file or other program reading UTF-8 can take it back.

    Examples
    --------
    >>> is_text("précision"), is_text("bad" + chr(0xD800))
    (True, False)
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        "a ModelVersion is frozen: its mappings and lists cannot change in place; make a "
        "changed copy with attrs.evolve(mv, tags={**mv.tags, 'stage': 'prod'})"
    )


class _ReadOnlyDict(dict[str, Any]):
    """A record's mapping: a dict (equal to one, written as one by ``json``) whose items
    cannot change. Copied (``copy.copy``, ``dict(...)``, pickled alone), it is a plain dict."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (_thawed(self),)


class _ReadOnlyList(list[Any]):
    """A list inside a record's params that cannot change (see :class:`_ReadOnlyDict`)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[Any]]]:
        return list, (_thawed(self),)


def _frozen(value: Any) -> Any:
    """``value`` with every dict and list in it read-only (nested as deep as it is)."""
    if isinstance(value, dict):
        return _ReadOnlyDict({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return _ReadOnlyList(_frozen(item) for item in value)
    return value


def _thawed(value: Any) -> Any:
    """``value`` with every read-only dict and list in it a plain one again."""
    if isinstance(value, dict):
        return {key: _thawed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_thawed(item) for item in value]
    return value


def _metrics(value: Mapping[str, Any] | None) -> dict[str, float | int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"metrics must be a mapping of name to number, got {type(value).__name__}"
        )
    out: dict[str, float | int] = {}
    for key, number in value.items():
        if not isinstance(key, str) or not key or not is_text(key):
            raise ConfigError(f"metric names must be non-empty UTF-8 text, got {key!r}")
        # NumPy scalars (and 0-d arrays) are fine: they convert exactly. An array of
        # several values, or of one value in some shape, is not one metric.
        scalar = getattr(number, "ndim", 0) == 0 and callable(getattr(number, "item", None))
        plain = number.item() if scalar else number
        if isinstance(plain, bool) or not isinstance(plain, (int, float)):
            shown = repr(number)
            if hasattr(number, "shape"):
                shown = f"an array of shape {number.shape}"
            raise ConfigError(f"metric {key!r} must be a number, got {shown}")
        if isinstance(plain, float) and not math.isfinite(plain):
            raise ConfigError(
                f"metric {key!r} is {plain}; metrics must be finite (record the case in a tag)"
            )
        out[key] = plain
    return _ReadOnlyDict(out)


def _str_map(what: str, value: Mapping[str, Any] | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a mapping of strings, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ConfigError(
                f"{what} must map strings to strings; {brief(key)}: {brief(item)} is not"
            )
        if not (is_text(key) and is_text(item)):
            raise ConfigError(f"{what} must be UTF-8 text; {brief(key)}: {brief(item)} is not")
    return dict(value)


def _plain_str_map(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _ref_map(value: Mapping[str, ArtifactRef]) -> dict[str, ArtifactRef]:
    return _ReadOnlyDict(value)


def _strings(value: JSONValue) -> Iterator[str]:
    """Every key and string in the JSON value ``value`` (nested at most as deep as
    ``json_params`` allows)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _params(value: Mapping[str, Any] | None) -> dict[str, Any]:
    params = json_params(value)  # NumPy scalars and tuples converted; see _model_params
    if not all(is_text(text) for text in _strings(params)):
        raise ConfigError("params must be UTF-8 text: a key or value holds a lone surrogate")
    frozen: dict[str, Any] = _frozen(params)
    return frozen


def _tags(value: Mapping[str, str] | None) -> dict[str, str]:
    return _ReadOnlyDict(_str_map("tags", value))


def _text(value: Any, field: str) -> str:
    """A text field of a stored document (a ``TypeError`` for ``malformed`` otherwise)."""
    if not isinstance(value, str):
        raise TypeError(f"{field} is a {type(value).__name__}, not text")
    return value


def _text_or_none(value: Any, field: str) -> str | None:
    return None if value is None else _text(value, field)


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ConfigError(f"created_at must be a datetime, got {value!r}")
    if value.tzinfo is None:
        raise ConfigError("created_at must be timezone-aware (UTC)")
    return value.astimezone(timezone.utc)


@attrs.frozen
class ArtifactRef:
    """Where a version's bytes are and how to read them.

    ``digest`` is ``"sha256:<hex>"`` of the bytes exactly as stored, so ``sha256sum`` of the
    blob gives the same hex.

    ``checkpoints`` let a reader check a large artifact piece by piece while it streams:
    entry ``k`` is the first 32 hex digits (128 bits) of the sha256 of the first
    ``(k + 1) * checkpoint_every`` bytes, for every such prefix shorter than the artifact
    (the whole artifact is covered by ``digest``). ``load`` hands a deserialiser only bytes
    whose prefix has been checked, so it can deserialise one piece while the next is
    hashed. Manifests written before checkpoints existed have none
    (``checkpoint_every == 0``) and are read in two passes instead.

    Examples
    --------
    >>> ref = ArtifactRef(digest="sha256:" + "0" * 64, size=3, serializer="bytes",
    ...                   media_type="application/octet-stream")
    >>> ArtifactRef.from_dict(ref.to_dict()) == ref
    True

    A 20 MiB artifact registered with the default 8 MiB interval has two checkpoints:

    >>> big = ArtifactRef(digest="sha256:" + "0" * 64, size=20 * 2**20, serializer="joblib",
    ...                   media_type="application/vnd.joblib", checkpoint_every=8 * 2**20,
    ...                   checkpoints=["a" * 32, "b" * 32])
    >>> big.to_dict()["checkpoints"]["every"], len(big.checkpoints)
    (8388608, 2)
    """

    digest: str = attrs.field()
    size: int = attrs.field()
    serializer: str
    media_type: str
    library_versions: Mapping[str, str] = attrs.field(factory=dict, converter=_plain_str_map)
    checkpoint_every: int = 0
    checkpoints: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def __attrs_post_init__(self) -> None:
        every = self.checkpoint_every
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise IntegrityError(
                f"artifact checkpoint_every {every!r} must be a non-negative integer"
            )
        expected = (self.size - 1) // every if every and self.size else 0
        if len(self.checkpoints) != expected:
            raise IntegrityError(
                f"artifact has {len(self.checkpoints)} checkpoints; {self.size} bytes "
                f"checked every {every} bytes need {expected}"
            )
        for value in self.checkpoints:
            if not isinstance(value, str) or _CHECKPOINT.fullmatch(value) is None:
                raise IntegrityError(f"artifact checkpoint {value!r} is not 32 hex digits")

    @digest.validator
    def _check_digest(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or _DIGEST.fullmatch(value) is None:
            raise IntegrityError(f"artifact digest {value!r} is not 'sha256:' + 64 hex digits")

    @size.validator
    def _check_size(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or value < 0:
            raise IntegrityError(f"artifact size {value!r} must be a non-negative integer")

    @property
    def hexdigest(self) -> str:
        """The digest without its ``sha256:`` prefix."""
        return self.digest.partition(":")[2]

    def to_dict(self) -> dict[str, JSONValue]:
        """A JSON-safe dict of this record."""
        out: dict[str, JSONValue] = {
            "digest": self.digest,
            "size": self.size,
            "serializer": self.serializer,
            "media_type": self.media_type,
            "library_versions": dict(self.library_versions),
        }
        if self.checkpoint_every:
            # Only when present, so manifests (and signatures) made before keep their bytes.
            out["checkpoints"] = {"every": self.checkpoint_every, "sha256": list(self.checkpoints)}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArtifactRef:
        """Rebuild a record from :meth:`to_dict`'s output."""
        checkpoints = data.get("checkpoints") or {"every": 0, "sha256": []}
        if not isinstance(checkpoints, Mapping) or not isinstance(checkpoints.get("sha256"), list):
            raise IntegrityError(f"artifact checkpoints {checkpoints!r} are malformed")
        return cls(
            digest=data["digest"],
            size=data["size"],
            serializer=data["serializer"],
            media_type=data["media_type"],
            library_versions=data.get("library_versions", {}),
            checkpoint_every=checkpoints.get("every", 0),
            checkpoints=checkpoints["sha256"],
        )


@attrs.frozen
class Lineage:
    """Where a version came from: code, parent version and data.

    ``git_commit`` and ``git_dirty`` describe the working tree the model was registered
    from (``None`` outside a git checkout); ``data`` maps a data set's role (``"train"``)
    to its :func:`modelship.fingerprint`; ``locations`` maps the roles whose data was
    given as a path or URL to where it was (an absolute path, or the URL without any
    user name or password in it).

    Examples
    --------
    >>> lin = Lineage(git_commit="3f2a", git_dirty=False, parent="1", data={"train": "sha256:ab"})
    >>> Lineage.from_dict(lin.to_dict()) == lin
    True
    """

    git_commit: str | None = None
    git_dirty: bool | None = None
    parent: str | None = None
    data: Mapping[str, str] = attrs.field(factory=dict, converter=_plain_str_map)
    extra: Mapping[str, str] = attrs.field(factory=dict, converter=_plain_str_map)
    locations: Mapping[str, str] = attrs.field(factory=dict, converter=_plain_str_map)

    def to_dict(self) -> dict[str, JSONValue]:
        """A JSON-safe dict of this record (``locations`` only when there are any, so the
        manifests written before it existed read back, and verify, unchanged)."""
        out: dict[str, JSONValue] = {
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "parent": self.parent,
            "data": dict(self.data),
            "extra": dict(self.extra),
        }
        if self.locations:
            out["locations"] = dict(self.locations)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lineage:
        """Rebuild a record from :meth:`to_dict`'s output (or a partial dict from a user)."""
        unknown = set(data) - {"git_commit", "git_dirty", "parent", "data", "extra", "locations"}
        if unknown:
            raise ConfigError(
                f"lineage has unknown keys {sorted(unknown)}; allowed: git_commit, git_dirty, "
                "parent, data, extra, locations"
            )
        return cls(
            git_commit=data.get("git_commit"),
            git_dirty=data.get("git_dirty"),
            parent=data.get("parent"),
            data=_str_map("lineage data", data.get("data")),
            extra=_str_map("lineage extra", data.get("extra")),
            locations=_str_map("lineage locations", data.get("locations")),
        )


_READ_ONLY = frozenset({"metrics", "params", "tags", "attachments"})
"""The fields of a :class:`ModelVersion` that hold read-only mappings."""


@attrs.frozen
class ModelVersion:
    """One committed, immutable version of a model.

    ``sequence`` is the registration order (1, 2, ...); ``version`` is the name users see
    (the same number by default, or an explicit string such as ``"2.1.0"``).
    ``attachments`` holds further artifacts stored with the version (a drift profile, a
    schema) by role. ``signature`` is an HMAC of the manifest when the registry has a
    signing key. A record is plain data and does no I/O: one returned by a registry
    holds verified copies of its small attachments (see :meth:`held`).

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://modelversion-doc")
    >>> mv = reg.register(model_name="fraud", model=b"weights", serializer="bytes",
    ...                   metrics={"auc": 0.91})
    >>> (mv.name, mv.version, mv.sequence, mv.metrics["auc"])
    ('fraud', '1', 1, 0.91)
    >>> ms.ModelVersion.from_json(mv.to_json()) == mv
    True
    """

    name: str
    version: str
    sequence: int
    artifact: ArtifactRef
    created_at: datetime = attrs.field(converter=_utc)
    created_by: str = ""
    metrics: Mapping[str, float | int] = attrs.field(factory=dict, converter=_metrics)
    params: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=_params)
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_tags)
    lineage: Lineage = attrs.field(factory=Lineage)
    description: str = ""
    attachments: Mapping[str, ArtifactRef] = attrs.field(factory=dict, converter=_ref_map)
    registration: str = ""
    signature: str | None = None
    # Copies of its small attached documents (see held_roles), as the registry that built
    # this record read and verified them, by role: bytes, or the error reading them raised
    # (raised again when the document is asked for, so a damaged profile does not stop a
    # get() or a load()). Plain data, not part of the record's value (not compared, not
    # serialised, not in repr), so a record equals its JSON round trip. ``_read`` keeps
    # the documents parsed so far.
    _documents: Mapping[str, bytes | ModelshipError] = attrs.field(
        factory=dict, eq=False, repr=False, alias="documents"
    )
    _read: dict[str, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def __repr__(self) -> str:
        # One line, not the ~2,000 characters of every field (mv.to_dict() has them all).
        return version_repr(self)

    # Pickled as its fields, the read-only mappings as plain dicts (pickles name no private
    # class), made read-only again when read back.
    def __getstate__(self) -> dict[str, Any]:
        return {f.name: _thawed(getattr(self, f.name)) for f in attrs.fields(type(self))}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for name, value in state.items():
            frozen = _frozen(value) if name in _READ_ONLY else value
            object.__setattr__(self, name, frozen)

    def __hash__(self) -> int:
        # The fields that name the version: equal records have them equal, so the hash
        # agrees with ==, and none of them is a mapping (which has no hash).
        return hash((self.name, self.version, self.sequence, self.registration))

    def _repr_html_(self) -> str:
        """A compact table for notebooks (user data escaped)."""
        return version_html(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as the data it is: the copies of its documents stay behind.
        return (ModelVersion.from_dict, (self.to_dict(),))

    def read_through(
        self, source: AttachmentSource, *, roles: Collection[str] | None = None
    ) -> ModelVersion:
        """This record, holding copies of its small documents read once from ``source``.

        Registries return records that hold them already (``reg.get``, ``reg.register``);
        this is for a record rebuilt from JSON or listed by ``reg.versions``. The
        documents (those of ``roles`` only, if given) are read now, verified, and never
        again: the record does no I/O.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://read-through-doc")
        >>> mv = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                   attachments={"notes": "hi"})
        >>> bare = ms.ModelVersion.from_json(mv.to_json())
        >>> bare.read_through(reg).attachment("notes"), bare.read_through(reg) == mv
        (b'hi', True)
        """
        documents: dict[str, bytes | ModelshipError] = {}
        for role in held_roles(self):
            if roles is not None and role not in roles:
                continue
            try:
                documents[role] = source.read_attachment(self, role)
            except ModelshipError as exc:  # raised again when the document is asked for
                documents[role] = exc
        return attrs.evolve(self, documents=documents)

    def held(self, role: str) -> bytes:
        """The verified bytes of attachment ``role`` this record holds (no I/O).

        Raises :class:`~modelship.MissingAttachment` if the version has no such
        attachment, the error its reading raised if the stored bytes were damaged, and
        :class:`~modelship.ConfigError` if this record holds no copy (it was rebuilt from
        JSON, listed, or the document is larger than :data:`HELD_DOCUMENT`).

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://held-doc")
        >>> mv = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                   attachments={"notes": "hi"})
        >>> mv.held("notes")
        b'hi'
        """
        if role not in self.attachments:
            raise missing_attachment(self, role)
        held = self._documents.get(role)
        if isinstance(held, ModelshipError):
            raise held.with_traceback(None)  # the same error each time, not a growing trace
        if held is None:
            raise ConfigError(
                f"this record of {self.name} version {self.version} holds no copy of its "
                f"{role!r} attachment ({self.attachments[role].size} bytes): it was not read "
                "from a registry with get() or register(), or the document is over 16 MiB. "
                f"Read it with registry.attachment({self.name!r}, {self.version!r}, {role!r}"
                f"[, kind]) or registry.read_attachment(mv, {role!r}[, kind])"
            )
        return held

    @overload
    def attachment(self, role: str) -> bytes: ...

    @overload
    def attachment(self, role: str, kind: type[D]) -> D: ...

    def attachment(self, role: str, kind: type[D] | None = None) -> bytes | D:
        """The document stored with this version under ``role``: bytes, or read as ``kind``.

        Read from the copy the record holds (see :meth:`held`: records returned by
        ``reg.get`` and ``reg.register`` hold every attachment up to 16 MiB, verified); a
        document read as ``kind`` is kept, so reading it again parses nothing. No I/O:
        a larger document, or one of a record that holds none, raises
        :class:`~modelship.ConfigError` naming the registry call that reads it. Raises
        :class:`~modelship.MissingAttachment` if the version has no such document.

        Examples
        --------
        >>> import modelship as ms
        >>> reg = ms.open_registry("memory://mv-attachment-doc")
        >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes",
        ...                  attachments={"notes": "trained on May data"})
        >>> reg.get("m").attachment("notes")
        b'trained on May data'
        """
        data = self.held(role)
        if kind is None:
            return data
        cached = self._read.get(role)
        if not isinstance(cached, kind):
            cached = read_document(kind, data, f"the {role!r} attachment of {self.name}")
            self._read[role] = cached
        return cached

    def document(self, role: str) -> Any:
        """The attachment ``role`` read as the document kind declared for that role.

        Kinds are declared by role (see :func:`modelship.registry.register_document_kind`);
        ``profile`` and ``schema`` are built in. For a typed result, pass the class to
        :meth:`attachment` instead.
        """
        if role not in self.attachments:
            raise missing_attachment(self, role)
        return self.attachment(role, document_kind(role).load())

    @property
    def profile(self) -> Any:
        """The drift profile stored with this version (``register(..., profile=...)``).

        Use it as the reference of a drift check without the training data:
        ``DataDrift(reference=reg.get("fraud", "@production").profile, current=batch)``.
        Typed: ``mv.attachment("profile", DriftProfile)``. Read from the copy the record
        holds (no I/O); a profile over 16 MiB (~600 columns) is read with
        ``reg.read_attachment(mv, "profile", DriftProfile)``.
        """
        return self.document("profile")

    @property
    def schema(self) -> Any:
        """The data schema stored with this version (``register(..., schema=...)``).

        Typed: ``mv.attachment("schema", Schema)``. Read from the copy the record holds.
        """
        return self.document("schema")

    @property
    def environment(self) -> EnvironmentSnapshot | None:
        """The training environment stored with this version, or ``None`` if it has none.

        Recorded by ``register`` unless ``capture_environment=False``; parsed and
        validated from the copy the record holds
        (:class:`~modelship.parity.InvalidEnvironmentDocument` if forged).
        """
        return stored_environment(self)

    @property
    def requirements(self) -> Requirements | None:
        """The distributions this version's artifact needs (name to version), or ``None``.

        Recorded by ``register`` for artifacts that unpickle (joblib); checked by
        ``load``; validated as it is read.
        """
        return stored_requirements(self)

    def to_dict(self, *, signed: bool = True) -> dict[str, JSONValue]:
        """A JSON-safe dict; ``signed=False`` leaves out the signature (what gets signed)."""
        out: dict[str, JSONValue] = {
            "format": MANIFEST_FORMAT,
            "name": self.name,
            "version": self.version,
            "sequence": self.sequence,
            "artifact": self.artifact.to_dict(),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "metrics": dict(self.metrics),
            "params": _thawed(self.params),
            "tags": dict(self.tags),
            "lineage": self.lineage.to_dict(),
            "description": self.description,
            "attachments": {k: v.to_dict() for k, v in sorted(self.attachments.items())},
            "registration": self.registration,
        }
        if signed:
            out["signature"] = self.signature
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: AttachmentSource | None = None
    ) -> ModelVersion:
        """Rebuild a record from :meth:`to_dict`'s output.

        With ``source`` (a registry), the record holds copies of its small documents, read
        from it now (see :meth:`read_through`).
        """
        fmt = data.get("format", MANIFEST_FORMAT)
        if fmt != MANIFEST_FORMAT:
            raise IntegrityError(
                f"manifest format {fmt!r} is not understood by this modelship "
                f"(it reads format {MANIFEST_FORMAT}); upgrade modelship"
            )
        # A field missing, or of the wrong JSON type (a number where the artifact's mapping
        # goes) or value (a time that is not ISO 8601).
        hint = "a field is missing or of the wrong type: it was damaged or forged"
        with malformed("manifest", hint, error=IntegrityError):
            sequence = data["sequence"]
            if type(sequence) is not int or sequence < 1:  # not a bool, not "3"
                raise TypeError(f"sequence {sequence!r} is not a positive integer")
            record = cls(
                name=_text(data["name"], "name"),
                version=_text(data["version"], "version"),
                sequence=sequence,
                artifact=ArtifactRef.from_dict(data["artifact"]),
                created_at=data["created_at"],
                created_by=_text(data.get("created_by", ""), "created_by"),
                metrics=data.get("metrics", {}),
                params=data.get("params", {}),
                tags=data.get("tags", {}),
                lineage=Lineage.from_dict(data.get("lineage", {})),
                description=_text(data.get("description", ""), "description"),
                attachments={
                    k: ArtifactRef.from_dict(v) for k, v in data.get("attachments", {}).items()
                },
                registration=_text(data.get("registration", ""), "registration"),
                signature=_text_or_none(data.get("signature"), "signature"),
            )
        return record if source is None else record.read_through(source)

    def to_json(self) -> str:
        """Canonical JSON of :meth:`to_dict`."""
        return canonical_json(self.to_dict()).decode()

    @classmethod
    def from_json(
        cls, text: str | bytes, *, source: AttachmentSource | None = None
    ) -> ModelVersion:
        """Parse :meth:`to_json`'s output (``source``: as for :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise IntegrityError(f"manifest is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise IntegrityError("manifest is not a JSON object")
        return cls.from_dict(data, source=source)
