"""Reading a manifest: the record a key holds, trusted only once it agrees with its key.

A manifest read back from storage is checked three ways before anyone uses it: it parses
as a record, the names in it are ones a caller could have passed in, and it is the
version its key says it is (so a manifest copied to another key is refused). With a
signing key, its signature is checked too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelship._model_version import ModelVersion
from modelship._names import check_model_name, check_role, check_stored, check_version
from modelship.errors import IntegrityError
from modelship.registry._integrity import parse_json
from modelship.registry._layout import number_of
from modelship.registry._signing import Signer

__all__ = ["parse_manifest"]


def parse_manifest(key: str, data: bytes | Mapping[str, Any], signer: Signer) -> ModelVersion:
    """The manifest ``data`` read at ``key`` (bytes, or a parsed document), checked.

    Raises :class:`~modelship.IntegrityError` if it is damaged or claims to be another
    version than its key, and :class:`~modelship.SignatureError` if ``signer`` has a key
    and the signature does not match.

    Examples
    --------
    >>> import modelship as ms
    >>> from modelship.registry._layout import manifest_key
    >>> reg = ms.open_registry("memory://parse-manifest-doc")
    >>> mv = reg.register(model_name="m", model=b"x", serializer="bytes")
    >>> parse_manifest(manifest_key("m", "1"), mv.to_json().encode(), Signer(None)) == mv
    True
    >>> parse_manifest(manifest_key("m", "2"), mv.to_dict(), Signer(None))
    Traceback (most recent call last):
    ...
    modelship.errors.IntegrityError: manifest at models/m/versions/2.json claims to be m ...
    """
    try:
        # Parsed here (not by ModelVersion.from_json) so a non-finite number is damage.
        doc = data if isinstance(data, Mapping) else parse_json(data, f"manifest at {key}")
        if not isinstance(doc, Mapping):
            raise IntegrityError(
                f"manifest at {key} is not a JSON object: the registry was tampered with or "
                "damaged. Restore it from a copy"
            )
        mv = ModelVersion.from_dict(doc)
    except IntegrityError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise IntegrityError(
            f"manifest at {key} is damaged ({type(exc).__name__}: {exc}); the registry was "
            "tampered with or damaged. Restore it from a copy"
        ) from exc
    check_stored(check_model_name, mv.name, key)
    check_stored(check_version, mv.version, key)
    for role in mv.attachments:  # a role names a download and a file: checked as on input
        check_stored(check_role, role, key)
    expected_name = key.split("/")[1]
    if mv.name != expected_name or mv.version != number_of(key):
        raise IntegrityError(
            f"manifest at {key} claims to be {mv.name} version {mv.version}: the registry "
            "was tampered with or damaged"
        )
    signer.check(mv)
    return mv
