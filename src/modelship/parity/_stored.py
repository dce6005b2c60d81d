"""The environment documents a registry stores with a version, and reads back validated.

By default :meth:`~modelship.Registry.register` records two attachments with every
version, in the same manifest as the model (so a version is visible with both or not at
all; the manifest commits last, by an exclusive create):

- ``environment`` (:data:`ENVIRONMENT_ROLE`): the :class:`EnvironmentSnapshot` of the
  process that registers, captured before the model is serialized;
- ``requirements`` (:data:`REQUIREMENTS_ROLE`): the :class:`Requirements` found by scanning
  the artifact bytes the registry has just stored, never unpickling them, when its
  serializer may run code when it loads (joblib, pickle) and the scan can read it.

Both are read back from storage, so neither is trusted: :func:`stored_environment` and
:func:`stored_requirements` validate every field and raise
:class:`InvalidEnvironmentDocument` naming the version and the role. :func:`check_before_load`
is what :meth:`~modelship.Registry.load` runs before a byte is unpickled.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable, Mapping
from typing import IO, Any, Protocol, TypeVar

import attrs

from modelship._json import NewerVersionError
from modelship.errors import ConfigError, IntegrityError, ModelshipError
from modelship.parity._errors import (
    ArtifactScanError,
    EnvironmentMismatchWarning,
    InvalidEnvironmentDocument,
    SnapshotError,
)
from modelship.parity._installed import installed_sources
from modelship.parity._registration import ENVIRONMENT_ROLE, REQUIREMENTS_ROLE
from modelship.parity._requirements import (
    PackageMismatch,
    Requirements,
    check_installed,
    needed_pins,
    resolve_requirements,
)
from modelship.parity._scan import ArtifactScan, StreamingScan, scan_artifact
from modelship.parity._snapshot import EnvironmentSnapshot

__all__ = [
    "RegistrationCapture",
    "check_before_load",
    "stored_environment",
    "stored_requirements",
]

_D = TypeVar("_D", EnvironmentSnapshot, Requirements)


class _Version(Protocol):
    """What is read of a :class:`~modelship.ModelVersion` here (which imports this module)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def attachments(self) -> Mapping[str, Any]: ...

    def attachment(self, role: str, kind: type[_D]) -> _D: ...


# What each role holds, for messages; the class that reads it.
_KINDS: dict[str, tuple[str, type[Any]]] = {
    ENVIRONMENT_ROLE: ("environment snapshot", EnvironmentSnapshot),
    REQUIREMENTS_ROLE: ("requirements", Requirements),
}
_CHUNK = 1 << 20  # bytes read per pass when draining the artifact after its scan


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return value


@attrs.frozen(kw_only=True)
class RegistrationCapture:
    """What parity records with a version being registered, in two steps.

    :meth:`start` runs before anything is written: it checks the caller's own
    ``environment`` or ``requirements`` attachments (each must read back as its document)
    and snapshots this environment. :meth:`documents`, once the artifact is stored,
    scans it for the distributions it needs. A role the caller attached is never
    captured: requirements are stored as given, an environment snapshot as it reads
    back (:meth:`EnvironmentSnapshot.to_json` of what
    :meth:`EnvironmentSnapshot.from_json` read), so that a credential the filter drops
    when reading it is not stored either.

    Attributes
    ----------
    snapshot : EnvironmentSnapshot or None
        The environment to store: the caller's attached one as read, else the one
        captured at :meth:`start`; ``None`` when not capturing and none was attached.
    scan : bool
        Whether :meth:`documents` scans the artifact for its requirements.

    Examples
    --------
    >>> import io, pickle
    >>> from fractions import Fraction
    >>> from modelship.parity import RegistrationCapture
    >>> artifact = pickle.dumps(Fraction(1, 3))
    >>> capture = RegistrationCapture.start({}, enabled=True)
    >>> digest = "sha256:" + __import__("hashlib").sha256(artifact).hexdigest()
    >>> docs = capture.documents(lambda: io.BytesIO(artifact), digest, runs_code=True,
    ...                          what="m 1")
    >>> sorted(docs)
    ['environment', 'requirements']
    >>> sorted(RegistrationCapture.start({}, enabled=False).documents(
    ...     lambda: io.BytesIO(artifact), digest, runs_code=True, what="m 1"))
    []
    """

    snapshot: EnvironmentSnapshot | None = None
    scan: bool = False

    @classmethod
    def start(cls, given: Mapping[str, bytes], *, enabled: bool) -> RegistrationCapture:
        """Check the caller's own parity attachments in ``given``; snapshot when ``enabled``.

        An ``environment`` attachment is kept as read, for :meth:`documents` to store in
        place of the given bytes (whether ``enabled`` or not).

        Raises
        ------
        ConfigError
            When ``enabled`` is not a bool.
        SnapshotError
            When ``given`` holds an ``environment`` or ``requirements`` attachment that is
            not such a document (it would fail every later read).

        Examples
        --------
        >>> from modelship.parity import RegistrationCapture
        >>> RegistrationCapture.start({"requirements": b"{}"}, enabled=True)
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: the 'requirements' attachment is not requirements: ...
        """
        _check_flag("capture_environment", enabled)
        read: dict[str, Any] = {}
        for role, (what, kind) in _KINDS.items():
            if role in given:
                try:
                    read[role] = kind.from_json(given[role])
                except (SnapshotError, ValueError, TypeError) as exc:
                    raise SnapshotError(
                        f"the {role!r} attachment is not {what}: {exc}. Attach "
                        f"{kind.__name__}.to_json(), or leave the role out and let register "
                        "capture it"
                    ) from exc
        # The caller's snapshot is stored as read, never as given: reading it dropped any
        # credential its text held, which the stored bytes must not hold either.
        attached = read.get(ENVIRONMENT_ROLE)
        if not enabled:
            return cls(snapshot=attached)
        snapshot = attached if attached is not None else EnvironmentSnapshot.capture()
        return cls(snapshot=snapshot, scan=REQUIREMENTS_ROLE not in given)

    def scanner(self, *, runs_code: bool) -> StreamingScan | None:
        """A scan to feed the artifact's bytes to while they are written; None if not needed.

        Given to :meth:`documents` as ``scanned``, it spares reading the stored artifact
        back: the writer feeds it exactly the bytes it hashes, so what is scanned is what
        the digest covers. ``runs_code`` is as for :meth:`documents`. The caller closes it
        (:meth:`StreamingScan.close`) whether or not the write succeeds.

        Examples
        --------
        >>> import pickle
        >>> from fractions import Fraction
        >>> from modelship.parity import RegistrationCapture
        >>> capture = RegistrationCapture.start({}, enabled=True)
        >>> scan = capture.scanner(runs_code=True)
        >>> scan.feed(memoryview(pickle.dumps(Fraction(1, 3))))
        >>> docs = capture.documents(lambda: None, "-", runs_code=True, what="m 1",
        ...                          scanned=scan)
        >>> sorted(docs)
        ['environment', 'requirements']
        >>> print(RegistrationCapture.start({}, enabled=False).scanner(runs_code=True))
        None
        """
        return StreamingScan() if self.scan and runs_code else None

    def documents(
        self,
        open_artifact: Callable[[], IO[bytes]],
        digest: str,
        *,
        runs_code: bool,
        what: str,
        scanned: StreamingScan | None = None,
    ) -> dict[str, bytes]:
        """The documents to store: role to UTF-8 JSON (an attached environment snapshot
        rewritten as read: they replace the given bytes of that role).

        Parameters
        ----------
        open_artifact : callable
            Opens the stored artifact for reading; called only when it is scanned and
            ``scanned`` is not given.
        digest : str
            ``"sha256:<hex>"`` of the artifact: the bytes read back are checked against it.
        runs_code : bool
            Whether the artifact's serializer may run code when it loads (pickle,
            joblib). Other serializers (raw bytes, numpy) need nothing to load, so their
            artifacts are not scanned and no requirements are stored.
        what : str
            Names the artifact in errors (``"fraud 3"``).
        scanned : StreamingScan, optional
            The scan from :meth:`scanner`, fed every byte of the artifact as it was
            written and hashed: used instead of reading the artifact back.

        Raises
        ------
        IntegrityError
            When the bytes read back do not have ``digest`` (changed in storage meanwhile).

        Examples
        --------
        See :class:`RegistrationCapture`.
        """
        out: dict[str, bytes] = {}
        if self.snapshot is not None:
            out[ENVIRONMENT_ROLE] = self.snapshot.to_json().encode()
        if self.scan and runs_code:
            try:
                if scanned is not None:
                    scan = scanned.result()
                else:
                    with open_artifact() as raw:
                        scan = _scan_verified(raw, digest, what)
            except ArtifactScanError:
                # Not a pickle this scanner reads (a custom format): nothing to pin, and
                # not a reason to refuse the registration.
                return out
            out[REQUIREMENTS_ROLE] = resolve_requirements(scan).to_json().encode()
        return out


class _HashingReader(io.RawIOBase):
    """A raw reader that hashes every byte it hands out."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self._raw.read(len(target))
        size = len(data)
        target[:size] = data
        self.hash.update(data)
        return size


def _scan_verified(raw: IO[bytes], digest: str, what: str) -> ArtifactScan:
    """Scan ``raw``, then read it to its end and check that the bytes had ``digest``."""
    hashing = _HashingReader(raw)
    reader = io.BufferedReader(hashing, _CHUNK)
    scan = scan_artifact(reader)
    while reader.read(_CHUNK):  # bound: each pass consumes >= 1 byte or stops at the end
        pass
    if "sha256:" + hashing.hash.hexdigest() != digest:
        raise IntegrityError(
            f"the artifact of {what} changed in storage while it was being registered (its "
            f"bytes no longer have {digest}); register it again"
        )
    return scan


def _stored(mv: _Version, role: str, kind: type[_D]) -> _D | None:
    if role not in mv.attachments:
        return None
    what = _KINDS[role][0]
    try:
        return mv.attachment(role, kind)
    except IntegrityError:
        raise  # the bytes do not match their digest: said precisely already
    except NewerVersionError as exc:
        raise InvalidEnvironmentDocument(
            f"{mv.name} version {mv.version}: the {role!r} attachment was written by a newer "
            f"modelship ({exc}); upgrade modelship where this runs to read it"
        ) from exc
    except (SnapshotError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidEnvironmentDocument(
            f"{mv.name} version {mv.version}: the {role!r} attachment is not a valid {what} "
            f"({exc}); it was forged or written by another tool. Re-register the model to "
            "record it again"
        ) from exc


def stored_environment(mv: _Version) -> EnvironmentSnapshot | None:
    """The training environment stored with ``mv`` (``mv.environment``), validated.

    ``None`` when the version has none: registered before environments were recorded,
    or with ``capture_environment=False``.

    Raises
    ------
    InvalidEnvironmentDocument
        When the stored document is not a valid snapshot (forged or damaged).

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.parity import stored_environment
    >>> reg = ms.open_registry("memory://stored-environment-doc")
    >>> mv = reg.register(model_name="m", model={"w": [1.0]})
    >>> stored_environment(mv).python_version == __import__("platform").python_version()
    True
    >>> reg.register(model_name="m", model={"w": [1.0]}, capture_environment=False).environment
    """
    return _stored(mv, ENVIRONMENT_ROLE, EnvironmentSnapshot)


def stored_requirements(mv: _Version) -> Requirements | None:
    """The distributions ``mv``'s artifact needs (``mv.requirements``), validated.

    ``None`` when none were recorded: registered before requirements were, with
    ``capture_environment=False``, or with a serializer that runs no code when it loads
    (raw bytes, numpy), or an artifact the scan could not read.

    Raises
    ------
    InvalidEnvironmentDocument
        When the stored document is not valid requirements (forged or damaged).

    Examples
    --------
    >>> import numpy as np
    >>> import modelship as ms
    >>> from modelship.parity import stored_requirements
    >>> reg = ms.open_registry("memory://stored-requirements-doc")
    >>> mv = reg.register(model_name="m", model={"w": np.arange(3)})
    >>> stored_requirements(mv).modules  # and the pins of these and their dependencies
    ('joblib', 'numpy')
    >>> reg.register(model_name="m", model=np.arange(3), serializer="numpy").requirements
    """
    return _stored(mv, REQUIREMENTS_ROLE, Requirements)


def _vcs_installed(requirements: Requirements) -> bool:
    """Whether a distribution ``requirements`` needs here is installed from a version
    control commit: the one case where the stored snapshot's sources can give a
    mismatch (another commit of the same version). Reads only the cached listing."""
    sources = installed_sources()
    if not sources:
        return False
    for name, _version, _marker in needed_pins(requirements):
        source = sources.get(name)
        if source is not None and source.kind == "vcs" and source.identity is not None:
            return True
    return False


def _read_environment(mv: _Version, source: object | None) -> EnvironmentSnapshot | None:
    """The stored environment snapshot: from the copy the record holds, else read from
    ``source`` now; None when the version has none, or the record holds no copy and there
    is no ``source``.

    Raises
    ------
    InvalidEnvironmentDocument, IntegrityError
        When the stored document is not a valid snapshot, or its bytes are damaged.
    ModelshipError
        When ``source`` cannot read it (a store error).
    """
    if ENVIRONMENT_ROLE not in mv.attachments:
        return None
    held = getattr(mv, "held", None)
    if held is not None:
        try:
            held(ENVIRONMENT_ROLE)
        except ConfigError as exc:
            if type(exc) is not ConfigError:
                raise  # a damaged copy: its own error, said precisely
            read_through = getattr(mv, "read_through", None)
            if source is None or read_through is None:
                return None  # no copy held, and nothing to read one with
            mv = read_through(source, roles=(ENVIRONMENT_ROLE,))
    return stored_environment(mv)


def check_before_load(
    mv: _Version, *, strict: bool, source: object | None = None
) -> tuple[PackageMismatch, ...]:
    """Compare what ``mv`` needs with what is installed, before it is unpickled.

    Every needed distribution installed at another version (or missing), or at the
    recorded version from another git commit than the stored environment snapshot
    records (:attr:`EnvironmentSnapshot.package_sources`), gives an
    :class:`EnvironmentMismatchWarning` naming the version, the package, the recorded and
    the installed version; under ``strict=True``, one :class:`EnvironmentMismatch` listing
    them all instead. A version without requirements passes.

    The stored snapshot is read only when a needed distribution is installed here from a
    git (version control) commit, the one case it can change the answer: from the copy
    the record holds (``reg.get``'s records hold it), else from ``source`` (the
    registry, as :meth:`~modelship.Registry.load` passes it). A snapshot that cannot be
    read then (damaged, forged, or written by a newer modelship) skips the source check
    with an :class:`EnvironmentMismatchWarning` saying so; under ``strict=True`` its
    error is raised instead.

    Raises
    ------
    EnvironmentMismatch
        With ``strict=True`` and a mismatch.
    InvalidEnvironmentDocument
        When the stored requirements are not valid; with ``strict=True``, also when the
        stored snapshot needed for the source check is not.
    IntegrityError
        With ``strict=True``, when the bytes of that snapshot do not match their digest.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.parity import check_before_load
    >>> reg = ms.open_registry("memory://check-before-load-doc")
    >>> check_before_load(reg.register(model_name="m", model={"w": 1}), strict=True)
    ()
    """
    _check_flag("strict_environment", strict)
    requirements = stored_requirements(mv)
    if requirements is None:
        return ()
    # Where each needed distribution was installed from, when the stored snapshot says:
    # the same version from another commit is other code.
    sources = None
    if _vcs_installed(requirements):
        try:
            environment = _read_environment(mv, source)
        except ModelshipError as exc:
            if strict:
                raise
            warnings.warn(
                f"{mv.name} version {mv.version}: the stored environment snapshot could not "
                f"be read ({exc}), so whether the distributions installed from git are the "
                "recorded commits was not checked; loading anyway (strict_environment=True "
                "refuses)",
                EnvironmentMismatchWarning,
                stacklevel=3,
            )
            environment = None
        sources = None if environment is None else environment.package_sources
    # Warnings point at the caller of Registry.load: check_installed, here, load, caller.
    return check_installed(
        requirements,
        strict=strict,
        what=f"{mv.name} version {mv.version}",
        stacklevel=4,
        sources=sources,
    )
