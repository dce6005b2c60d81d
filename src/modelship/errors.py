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
    """Base class of every error modelship raises on purpose."""


class ConfigError(ModelshipError, ValueError):
    """A parameter or configuration value is not one modelship accepts."""


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
    """An optional dependency is needed; the message names the extra to install."""


# --- registry ---------------------------------------------------------------------------


class RegistryError(ModelshipError):
    """Base class of errors raised by a registry."""


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
    """A model name, version or alias is empty, too long, or has unsafe characters."""


class InvalidReference(RegistryError, ValueError):
    """A version reference is malformed (not a version, ``"latest"`` or ``"@alias"``)."""


class VersionNotFound(RegistryError, LookupError):
    """The model exists but the version, alias or ``latest`` asked for does not."""


class ModelNotFound(VersionNotFound):
    """No model of that name has ever been registered."""


class RegistryNotFound(ModelNotFound):
    """The location holds no registry (a typo, or a bucket that is gone); nothing was created."""


class ArchivedVersion(VersionNotFound):
    """The version was deleted (archived or purged); pass ``include_archived=True``."""


class MissingAttachment(RegistryError, LookupError):
    """The version has no document under that role (e.g. no drift profile was stored)."""


class VersionExists(RegistryError):
    """Registering a version that is already committed; versions are never overwritten."""


class Conflict(RegistryError):
    """A concurrent writer changed the same thing first (an alias moved); re-read, retry."""


class IntegrityError(RegistryError):
    """A stored artifact or manifest does not match its recorded digest or signature."""


class SignatureError(IntegrityError):
    """A version is unsigned, or signed with another key, and a signing key was given."""


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
    """A serializer could not turn the model into bytes, or the bytes back into a model."""


class StoreError(RegistryError):
    """The storage backend failed; the message carries the backend's own error."""


class UnsupportedStorage(StoreError, ValueError):
    """The URL's scheme is unknown to fsspec and to the ``modelship.registries`` group."""


class UnsafeStore(StoreError):
    """The store cannot make an exclusive create, so concurrent writers would race."""


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
    cache document (snapshot, listing chunk) ignored and rebuilt from the records."""


# --- checks -----------------------------------------------------------------------------


class CheckInputError(ModelshipError, ValueError):
    """Data given to a check cannot be used; the message names the column."""


class ColumnMismatch(CheckInputError):
    """Reference and current data do not have the same columns."""


class EmptyData(CheckInputError):
    """A data set, or a column, has no rows (or no finite values) to compute on."""


class TooFewGroups(CheckInputError):
    """A disparity needs at least two groups; the message names the one there is."""
