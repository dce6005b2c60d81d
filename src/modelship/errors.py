"""The exception tree.

Every error modelship raises on purpose is a subclass of :class:`ModelshipError`, so a CI
script can catch one class and still tell the cases apart by type. Messages say what was
wrong and what to do about it.

Examples
--------
>>> import modelship as ms
>>> reg = ms.open_registry("memory://errors-doc")
>>> try:
...     reg.get("fraud", "7")
... except ms.VersionNotFound as exc:
...     print(type(exc).__name__)
ModelNotFound
"""

from __future__ import annotations

from modelship._shown import brief

__all__ = [
    "ArchivedVersion",
    "CheckInputError",
    "ColumnMismatch",
    "ConfigError",
    "Conflict",
    "DestinationExists",
    "EmptyData",
    "IntegrityError",
    "InvalidCursor",
    "InvalidFilter",
    "InvalidName",
    "InvalidParameter",
    "InvalidReference",
    "InvalidTag",
    "MissingAttachment",
    "MissingDependency",
    "ModelNotFound",
    "ModelshipError",
    "ModelshipWarning",
    "RegistryError",
    "RegistryNotFound",
    "RepairWarning",
    "SerializationError",
    "SignatureError",
    "SigningKeyRequired",
    "StoreError",
    "TooFewGroups",
    "UnsafeStore",
    "UnsupportedStorage",
    "VersionExists",
    "VersionNotFound",
]


class ModelshipError(Exception):
    """Base class of every error modelship raises on purpose.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-modelship-error")
    >>> try:
    ...     reg.get("fraud", "1")
    ... except ms.ModelshipError as exc:  # one class catches them all
    ...     print(type(exc).__name__)
    ModelNotFound
    """


class ConfigError(ModelshipError, ValueError):
    """A parameter or configuration value is not one modelship accepts.

    Also a :class:`ValueError`.

    Examples
    --------
    >>> import modelship as ms
    >>> ms.open_registry("memory://doc-config-error", checkpoint_every=0)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: checkpoint_every must be a number of bytes from 1 to ...
    """


class InvalidParameter(ConfigError):
    """A parameter's value is not one its declaration allows.

    Raised by the shared parameter layer, so every such message has one shape:
    ``{parameter}={value!r} is not allowed; {parameter} must be {allowed}``. The parts are
    kept as attributes, so a caller that knows the parameter by another name (a YAML key,
    a CLI option) can say it in the user's words with :meth:`named`.

    Examples
    --------
    >>> from modelship.errors import InvalidParameter
    >>> err = InvalidParameter("period_seconds", 0, "a finite float > 0")
    >>> str(err)
    'period_seconds=0 is not allowed; period_seconds must be a finite float > 0'
    >>> print(err.named("deployment.healthcheck.periodSeconds"))
    deployment.healthcheck.periodSeconds=0 is not allowed; periodSeconds must be a finite float > 0
    """

    def __init__(self, parameter: str, value: object, allowed: str) -> None:
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        super().__init__(self._say(parameter, parameter))

    def _say(self, where: str, name: str) -> str:
        # brief(): at most 100 characters of the value, whatever it is (a huge list, an int
        # whose repr() raises).
        return f"{where}={brief(self.value)} is not allowed; {name} must be {self.allowed}"

    def named(self, where: str) -> InvalidParameter:
        """The same error, naming the parameter by ``where`` (its last dotted part is the name)."""
        renamed = InvalidParameter(where.rsplit(".", 1)[-1], self.value, self.allowed)
        renamed.args = (self._say(where, renamed.parameter),)
        return renamed


class DestinationExists(ConfigError, FileExistsError):
    """A download's destination file exists; pass ``overwrite=True`` (``--force``) to replace it.

    Examples
    --------
    >>> from modelship.errors import DestinationExists
    >>> issubclass(DestinationExists, FileExistsError)
    True
    """


class MissingDependency(ModelshipError, ImportError):
    """An optional dependency is needed; the message names the extra to install.

    Also an :class:`ImportError`.

    Examples
    --------
    >>> import sys
    >>> from unittest import mock
    >>> from modelship.checks import CheckResult, SuiteResult
    >>> suite = SuiteResult([CheckResult(name="drift", status="pass")])
    >>> with mock.patch.dict(sys.modules, {"pandas": None}):  # as if pandas were absent
    ...     suite.to_pandas()
    Traceback (most recent call last):
    ...
    modelship.errors.MissingDependency: SuiteResult.to_pandas needs pandas: pip install ...
    """


# --- registry ---------------------------------------------------------------------------


class RegistryError(ModelshipError):
    """Base class of errors raised by a registry.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-registry-error")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> try:
    ...     reg.get("fraud", "7")
    ... except ms.RegistryError as exc:
    ...     print(type(exc).__name__)
    VersionNotFound
    """


class InvalidCursor(RegistryError, ValueError):
    """A paging cursor is malformed, edited, or was made for another listing.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://invalid-cursor-doc")
    >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> reg.versions("m", limit=10, cursor="not-a-cursor")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidCursor: cursor 'not-a-cursor' is not one versions() returned ...
    """


class InvalidFilter(RegistryError, ValueError):
    """A ``where=`` filter names an unknown field, operator, or a value of the wrong type.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://invalid-filter-doc")
    >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> reg.versions("m", where={"stage": "prod"})
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidFilter: filter field 'stage' must be 'tags.<key>' or ...
    """


class InvalidTag(RegistryError, ValueError):
    """A tag key or value is not a string of the allowed form and length.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://invalid-tag-doc")
    >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> reg.set_tag("m", "1", "approved by", "ana")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidTag: tag key 'approved by' is not allowed: ...
    """


class InvalidName(RegistryError, ValueError):
    """A model name, version or alias is empty, too long, or has unsafe characters.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-invalid-name")
    >>> reg.register(model_name="fraud model", model=b"w", serializer="bytes")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidName: model name 'fraud model' is not allowed: characters ' ' ...
    """


class InvalidReference(RegistryError, ValueError):
    """A version reference is malformed (not a version, ``"latest"`` or ``"@alias"``).

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-invalid-reference")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> reg.get("fraud", "@")
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidReference: reference '@' is not a valid '@alias': ...
    """


class VersionNotFound(RegistryError, LookupError):
    """The model exists but the version, alias or ``latest`` asked for does not.

    Also a :class:`LookupError`.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-version-not-found")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> reg.get("fraud", "7")
    Traceback (most recent call last):
    ...
    modelship.errors.VersionNotFound: fraud has no version '7'; see versions('fraud')
    """


class ModelNotFound(VersionNotFound):
    """No model of that name has ever been registered.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-model-not-found")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> reg.get("fruad", "1")
    Traceback (most recent call last):
    ...
    modelship.errors.ModelNotFound: no model named 'fruad' in ...; models here: fraud
    """


class RegistryNotFound(ModelNotFound):
    """The location holds no registry (a typo, or a bucket that is gone); nothing was created.

    Examples
    --------
    >>> import os, tempfile
    >>> import modelship as ms
    >>> missing = os.path.join(tempfile.mkdtemp(), "no-such-folder")
    >>> ms.open_registry(missing).models()
    Traceback (most recent call last):
    ...
    modelship.errors.RegistryNotFound: there is no registry at ...: the location does not exist ...
    >>> os.path.exists(missing)
    False
    """


class ArchivedVersion(VersionNotFound):
    """The version was deleted (archived or purged); pass ``include_archived=True``.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-archived-version")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> reg.delete("fraud", "1", reason="leaked labels")
    >>> reg.get("fraud", "1")
    Traceback (most recent call last):
    ...
    modelship.errors.ArchivedVersion: fraud version '1' was archived; pass include_archived=True ...
    >>> reg.get("fraud", "1", include_archived=True).version
    '1'
    """


class MissingAttachment(RegistryError, LookupError):
    """The version has no document under that role (e.g. no drift profile was stored).

    Also a :class:`LookupError`.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-missing-attachment")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> reg.attachment("fraud", "1", "schema")
    Traceback (most recent call last):
    ...
    modelship.errors.MissingAttachment: fraud version 1 has no 'schema' attachment ...
    """


class VersionExists(RegistryError):
    """Registering a version that is already committed; versions are never overwritten.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-version-exists")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes", version="1")
    >>> reg.register(model_name="fraud", model=b"w2", serializer="bytes", version="1")
    Traceback (most recent call last):
    ...
    modelship.errors.VersionExists: fraud version '1' exists; versions are never overwritten. ...
    """


class Conflict(RegistryError):
    """A concurrent writer changed the same thing first (an alias moved); re-read, retry.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-conflict")
    >>> for _ in range(2):
    ...     _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> _ = reg.set_alias("fraud", "prod", "2")  # another writer moved it first
    >>> reg.set_alias("fraud", "prod", "1", expected=None)  # this one expected it unset
    Traceback (most recent call last):
    ...
    modelship.errors.Conflict: alias 'prod' of fraud points to '2', not the expected None; ...
    """


class IntegrityError(RegistryError):
    """A stored artifact or manifest does not match its recorded digest or signature.

    Examples
    --------
    >>> import os, tempfile
    >>> import modelship as ms
    >>> folder = tempfile.mkdtemp()
    >>> reg = ms.open_registry(folder)
    >>> mv = reg.register(model_name="fraud", model=b"weights", serializer="bytes")
    >>> digest = mv.artifact.digest.split(":")[1]
    >>> blob = os.path.join(folder, "blobs", "sha256", digest[:2], digest)
    >>> with open(blob, "wb") as f:  # damaged in storage
    ...     _ = f.write(b"tampered")
    >>> reg.load("fraud", "1")
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: the artifact of fraud 1 does not match its manifest ...
    """


class SignatureError(IntegrityError):
    """A version is unsigned, or signed with another key, and a signing key was given.

    Examples
    --------
    >>> import modelship as ms
    >>> ours = ms.open_registry("memory://doc-signature-error", signing_key=b"a" * 32)
    >>> _ = ours.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> theirs = ms.open_registry("memory://doc-signature-error", signing_key=b"b" * 32)
    >>> theirs.get("fraud", "1")
    Traceback (most recent call last):
    ...
    modelship.errors.SignatureError: fraud version 1 has a signature that this key did not make: ...
    """


class SigningKeyRequired(SignatureError):
    """A signed registry (or a signed document) was read without the signing key.

    Nothing failed to verify: this reader holds no key to check a signature with. Pass
    the key (``open_registry(url, signing_key=...)``; ``MODELSHIP_SIGNING_KEY`` for the
    command line, where it is an error, exit 2, as a bad configuration is: exit 1 stays
    for a signature or digest that does not match). A :class:`SignatureError`, so code
    that catches that one catches this too.

    Examples
    --------
    >>> import modelship as ms
    >>> signed = ms.open_registry("memory://key-required-doc", signing_key=b"k" * 32)
    >>> _ = signed.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> try:
    ...     ms.open_registry("memory://key-required-doc").get("fraud", "latest")
    ... except SigningKeyRequired as exc:
    ...     print(type(exc).__name__, isinstance(exc, ms.SignatureError))
    SigningKeyRequired True
    """


class SerializationError(RegistryError):
    """A serializer could not turn the model into bytes, or the bytes back into a model.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://doc-serialization-error")
    >>> reg.register(model_name="fraud", model="not bytes", serializer="bytes")
    Traceback (most recent call last):
    ...
    modelship.errors.SerializationError: the 'bytes' serializer takes bytes, ... not str; ...
    """


class StoreError(RegistryError):
    """The storage backend failed; the message carries the backend's own error.

    Examples
    --------
    >>> import modelship as ms
    >>> store = ms.open_registry("memory://doc-store-error").store
    >>> store.read("models/../secrets")
    Traceback (most recent call last):
    ...
    modelship.errors.StoreError: key 'models/../secrets' has a '..' segment: ...
    """


class UnsupportedStorage(StoreError, ValueError):
    """The URL's scheme is unknown to fsspec and to the ``modelship.registries`` group.

    Examples
    --------
    >>> import modelship as ms
    >>> ms.open_registry("nosuchscheme://bucket/models")
    Traceback (most recent call last):
    ...
    modelship.errors.UnsupportedStorage: no storage is known for the scheme 'nosuchscheme' ...
    """


class UnsafeStore(StoreError):
    """The store cannot make an exclusive create, so concurrent writers would race.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.testing import HookStore, MemoryStore
    >>> store = HookStore(MemoryStore())
    >>> store.exclusive_creates = False  # as a store without conditional writes declares
    >>> ms.Registry(store).register(model_name="fraud", model=b"w", serializer="bytes")
    Traceback (most recent call last):
    ...
    modelship.errors.UnsafeStore: the store at ... does not guarantee exclusive creates, ...
    >>> ms.Registry(store, single_writer=True).register(
    ...     model_name="fraud", model=b"w", serializer="bytes"
    ... ).version
    '1'
    """


class ModelshipWarning(UserWarning):
    """Base class of every warning modelship issues: filter them all with one line.

    Examples
    --------
    >>> import warnings
    >>> from modelship.errors import ModelshipWarning
    >>> warnings.simplefilter("error", ModelshipWarning)  # e.g. in a CI script
    >>> warnings.resetwarnings()
    """


class RepairWarning(ModelshipWarning):
    """Damaged stored data was found and worked around: a blob replaced by intact bytes, a
    cache document (snapshot, listing chunk) ignored and rebuilt from the records.

    Examples
    --------
    >>> import os, tempfile, warnings
    >>> import modelship as ms
    >>> folder = tempfile.mkdtemp()
    >>> reg = ms.open_registry(folder)
    >>> mv = reg.register(model_name="fraud", model=b"weights", serializer="bytes")
    >>> digest = mv.artifact.digest.split(":")[1]
    >>> with open(os.path.join(folder, "blobs", "sha256", digest[:2], digest), "wb") as f:
    ...     _ = f.write(b"tampered")  # damaged in storage
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = reg.register(model_name="fraud", model=b"weights", serializer="bytes")
    >>> [w.category.__name__ for w in caught]
    ['RepairWarning']
    >>> reg.load("fraud", "1")  # the intact bytes took the damaged ones' place
    b'weights'
    """


# --- checks -----------------------------------------------------------------------------


class CheckInputError(ModelshipError, ValueError):
    """Data given to a check cannot be used; the message names the column.

    Also a :class:`ValueError`.

    Examples
    --------
    >>> from modelship.checks import Bias
    >>> Bias(y_true=[0, 1, 1], y_pred=[0, 1], sensitive=["F", "M", "F"]).run()
    Traceback (most recent call last):
    ...
    modelship.errors.CheckInputError: y_pred has 2 rows but y_true has 3
    """


class ColumnMismatch(CheckInputError):
    """Reference and current data do not have the same columns.

    Examples
    --------
    >>> from modelship.checks import DataDrift
    >>> DataDrift(reference={"age": [31.0, 45.0]}, current={"income": [1.0, 2.0]}).run()
    Traceback (most recent call last):
    ...
    modelship.errors.ColumnMismatch: current lacks column(s) ['age']; ... pass columns=[...] ...
    """


class EmptyData(CheckInputError):
    """A data set, or a column, has no rows (or no finite values) to compute on.

    Examples
    --------
    >>> from modelship.checks import DataDrift
    >>> DataDrift(reference={"age": [31.0, 45.0]}, current={"age": []}).run()
    Traceback (most recent call last):
    ...
    modelship.errors.EmptyData: current has no rows (columns: ['age'])
    """


class TooFewGroups(CheckInputError):
    """A disparity needs at least two groups; the message names the one there is.

    Examples
    --------
    >>> from modelship.checks import Bias
    >>> Bias(y_true=[0, 1, 1], y_pred=[0, 1, 0], sensitive=["F", "F", "F"]).run()
    Traceback (most recent call last):
    ...
    modelship.errors.TooFewGroups: sensitive feature 'sensitive' has a single group 'F': ...
    """
