"""Documents attached to a model version, and the table of document kinds by role.

A *document* is any object that writes itself to JSON text and reads itself back
(:class:`Document`): a drift profile, a data schema, and next an environment snapshot or a
deployment record. The registry stores a version's documents verified (and signed, when it
signs) beside the model, by *role* (``"profile"``); each capability reads its own back with
``mv.attachment("profile", DriftProfile)``.

Which class reads a role by default (so that ``mv.profile`` needs no class) is declared by
the capability that owns the document, never imported here: by :func:`register_document_kind`
in this process, or through the entry point group ``modelship.documents``
(``profile = "my_pkg:MyProfile"``, or a :class:`DocumentKind` object such as
``modelship.checks._profile:PROFILE_DOCUMENT``). modelship's own kinds are declared the same
way, in its ``pyproject.toml``, so the registry imports no capability; an entry point of
modelship's own distribution wins over another package's of the same name
(:func:`~modelship._plugins.plugin`), so an installed package cannot replace them (only
``register_document_kind(..., clobber=True)`` can, in its own process). This module
imports nothing from modelship but its errors, name rules and plugin lookup.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import attrs

from modelship._names import check_role
from modelship._plugins import load_plugin, plugin
from modelship.errors import ConfigError, IntegrityError

__all__ = [
    "Document",
    "attachment_bytes",
    "DocumentKind",
    "build_documents",
    "document_kind",
    "read_document",
    "register_document_kind",
]

D = TypeVar("D", bound="Document")


@runtime_checkable
class Document(Protocol):
    """An object that can be attached to a model version: it writes and reads JSON.

    ``to_json()`` returns JSON text; the class method ``from_json(text)`` rebuilds an
    equal object from it. Nothing else is asked.

    Examples
    --------
    >>> import json
    >>> class Notes:
    ...     def __init__(self, text): self.text = text
    ...     def to_json(self): return json.dumps({"text": self.text})
    ...     @classmethod
    ...     def from_json(cls, text): return cls(json.loads(text)["text"])
    >>> isinstance(Notes("hi"), Document)
    True
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://document-doc")
    >>> _ = reg.register(model_name="m", model=b"x", serializer="bytes",
    ...                  attachments={"notes": Notes("trained on May data")})
    >>> reg.get("m").attachment("notes", Notes).text
    'trained on May data'
    """

    def to_json(self) -> str:
        """This document as JSON text."""

    @classmethod
    def from_json(cls, text: str) -> Any:
        """Rebuild a document from :meth:`to_json`'s text."""


@attrs.frozen
class DocumentKind:
    """How a role's documents are read and, optionally, built from raw data.

    ``cls`` is the document class or its import path (``"pkg.module:Class"``, imported on
    first use). ``build`` names a class method that makes a document from data (the
    ``profile=`` and ``schema=`` arguments of ``register`` accept data through it);
    ``brings`` names attributes of a document that are documents themselves, stored under
    their own roles (a drift profile brings its schema).

    Examples
    --------
    >>> DocumentKind("modelship.checks:Schema", build="infer").build
    'infer'
    """

    cls: type[Document] | str
    build: str | None = None
    brings: tuple[str, ...] = ()

    def load(self) -> type[Document]:
        """The document class (imported now if it was given by path)."""
        if not isinstance(self.cls, str):
            return self.cls
        module, _, name = self.cls.partition(":")
        found: type[Document] = getattr(importlib.import_module(module), name)
        if not _is_document_class(found):
            raise ConfigError(
                f"the document class {self.cls!r} gives {found!r}, which is not a document "
                "class (one with to_json() and a from_json() class method)"
            )
        return found


_REGISTERED: dict[str, DocumentKind] = {}
_FROM_ENTRY_POINTS: dict[str, DocumentKind | None] = {}


def _is_document_class(cls: object) -> bool:
    """Whether ``cls`` is a class with ``to_json`` and ``from_json``, as a document's is."""
    return isinstance(cls, type) and all(
        callable(getattr(cls, method, None)) for method in ("to_json", "from_json")
    )


def _as_kind(target: object, origin: str) -> DocumentKind:
    """``target`` (a :class:`DocumentKind` or a document class) as a kind.

    A class is checked now, not when a document is first read: a class without
    ``from_json`` would otherwise fail there as an ``AttributeError``.
    """
    kind = target if isinstance(target, DocumentKind) else None
    if kind is None and isinstance(target, type):
        kind = DocumentKind(target)
    if kind is None:
        raise ConfigError(f"{origin} gives {target!r}, not a DocumentKind or a document class")
    if not isinstance(kind.cls, str) and not _is_document_class(kind.cls):
        raise ConfigError(
            f"{origin} gives {kind.cls!r}, which is not a document class (one with to_json() "
            "and a from_json() class method); fix or uninstall that package"
        )
    return kind


def register_document_kind(
    role: str, cls: type[Document] | str | DocumentKind, *, clobber: bool = False
) -> None:
    """Declare the class that reads documents of ``role`` by default in this process.

    Refuses to replace a role already declared (built-in, registered or by entry point)
    unless ``clobber=True``.

    Examples
    --------
    >>> import json
    >>> from modelship._documents import document_kind
    >>> class Deployment:
    ...     def __init__(self, where): self.where = where
    ...     def to_json(self): return json.dumps({"where": self.where})
    ...     @classmethod
    ...     def from_json(cls, text): return cls(json.loads(text)["where"])
    >>> register_document_kind("deployment-doc", Deployment)
    >>> document_kind("deployment-doc").load() is Deployment
    True
    >>> register_document_kind("schema", Deployment)
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: the document role 'schema' is declared already; ...
    """
    if not isinstance(role, str) or not role:
        raise ConfigError(f"a document role must be a non-empty string, got {role!r}")
    kind = cls if isinstance(cls, DocumentKind) else DocumentKind(cls)
    if not clobber and _find(role) is not None:
        raise ConfigError(
            f"the document role {role!r} is declared already; pass clobber=True to replace "
            "it in this process"
        )
    _REGISTERED[role] = kind


def _from_entry_point(role: str) -> DocumentKind | None:
    """The kind the ``modelship.documents`` entry point ``role`` declares, loaded once."""
    if role not in _FROM_ENTRY_POINTS:
        found = plugin("modelship.documents", role)
        kind = None
        if found is not None:
            package = found.dist.name if found.dist is not None else "an unknown distribution"
            origin = (
                f"the 'modelship.documents' entry point {role!r} ({found.value!r} from {package})"
            )
            kind = _as_kind(load_plugin(found), origin)
        _FROM_ENTRY_POINTS[role] = kind
    return _FROM_ENTRY_POINTS[role]


def _find(role: str) -> DocumentKind | None:
    if role in _REGISTERED:
        return _REGISTERED[role]
    return _from_entry_point(role)


def document_kind(role: str) -> DocumentKind:
    """The declared kind of ``role``'s documents; :class:`ConfigError` if none is.

    Examples
    --------
    >>> document_kind("profile").cls.__name__
    'DriftProfile'
    """
    kind = _find(role)
    if kind is None:
        raise ConfigError(
            f"no document kind is declared for the role {role!r}: read it with "
            f"attachment({role!r}, YourClass), or declare one with register_document_kind() "
            "or the 'modelship.documents' entry point group"
        )
    return kind


def read_document(kind: type[D], data: bytes, what: str) -> D:
    """``kind.from_json`` of verified bytes; a document that does not parse is damaged."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntegrityError(f"{what} is not UTF-8 text: {exc}") from exc
    result: D = kind.from_json(text)
    return result


def _as_document(role: str, value: Any) -> Document:
    """``value`` as a document of ``role``: itself, or built from data by its kind."""
    if isinstance(value, Document):
        return value
    kind = _find(role)
    if kind is not None and kind.build is not None:
        built: Document = getattr(kind.load(), kind.build)(value)
        return built
    raise ConfigError(
        f"{role!r} must be a document (an object with to_json() and from_json()), got "
        f"{type(value).__name__}"
    )


def attachment_bytes(
    attachments: Mapping[str, bytes | str | Document], keywords: Mapping[str, Any]
) -> dict[str, bytes]:
    """The bytes to store for each attachment role, all checked before anything is stored.

    ``attachments`` maps roles to bytes, text (stored as UTF-8) or documents;
    ``keywords`` maps roles given as keywords (``profile=``) to documents or data to build
    them from. A role given both ways raises :class:`~modelship.ConfigError`.

    Examples
    --------
    >>> attachment_bytes({"notes": "hi"}, {"profile": None})
    {'notes': b'hi'}
    """
    for role, value in keywords.items():
        if value is not None and role in attachments:
            raise ConfigError(f"pass {role!r} as a keyword or in attachments, not both")
    if not isinstance(attachments, Mapping):
        raise ConfigError(
            f"attachments must map roles to bytes, text or documents, got "
            f"{type(attachments).__name__}"
        )
    raw: dict[str, bytes] = {}
    documents: dict[str, Any] = dict(keywords)
    for role, doc in attachments.items():
        check_role(role)
        if isinstance(doc, str):
            try:
                raw[role] = doc.encode()
            except UnicodeEncodeError as exc:  # a lone surrogate: not text UTF-8 can hold
                raise ConfigError(f"attachment {role!r} is not valid text: {exc}") from None
        elif isinstance(doc, (bytes, bytearray)):
            raw[role] = bytes(doc)
        elif isinstance(doc, Document):
            documents[role] = doc
        else:
            raise ConfigError(f"attachment {role!r} must be bytes, str or a Document")
    built = build_documents(documents)
    return {**raw, **{role: data for role, data in built.items() if role not in raw}}


def build_documents(given: Mapping[str, Any]) -> dict[str, bytes]:
    """UTF-8 JSON of each document in ``given`` (role to document or data), with companions.

    A companion a document brings (a profile's schema) is added under its own role unless
    ``given`` has that role already.
    """
    out: dict[str, bytes] = {}
    for role, value in given.items():
        if value is None:
            continue
        doc = _as_document(role, value)
        out[role] = _dumps(role, doc)
        kind = _find(role)
        for companion in () if kind is None else kind.brings:
            if given.get(companion) is None and companion not in out:
                out[companion] = _dumps(companion, getattr(doc, companion))
    return out


def _dumps(role: str, doc: Document) -> bytes:
    text = doc.to_json()
    if not isinstance(text, str):
        raise ConfigError(f"to_json() of the {role!r} document must return str, not {type(text)}")
    return text.encode()
