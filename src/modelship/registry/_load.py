"""The load routes: from a verified artifact to a model, the fastest safe way for each case.

1. **Streaming**: an artifact with checkpoints and a serializer that declares
   ``reads_sequentially`` is deserialised piece by piece, each piece only once its prefix
   digest is checked (:class:`~modelship.registry._integrity.VerifiedStream`).
2. **Raw bytes**, from any store: one read into one new ``bytes`` object, which is then
   hashed and returned only if it matches
   (:func:`~modelship.registry._integrity.read_verified`). The object returned is the
   object hashed, so a blob rewritten after (or during) the check cannot be returned.
3. **Two passes**: everything else is copied to a private file while it is hashed, and
   that private file, not the stored one, is deserialised once it matches.

In every route no code runs on a byte that was not checked, and nothing is read from
storage a second time.
"""

from __future__ import annotations

import io
from typing import Any

from modelship._model_version import ArtifactRef
from modelship.errors import SerializationError
from modelship.registry._import_advice import import_advice
from modelship.registry._integrity import checked_stream, read_verified, verified_file
from modelship.registry._protocols import Store
from modelship.registry._serializers import BytesSerializer, Serializer

__all__ = ["load_artifact"]


def _unreadable(codec: Serializer, what: str, exc: Exception) -> SerializationError:
    # The message ends with the cause as `Type: message`, which the model server reads
    # (serve/_app.py's _load_failed); the remedy for a name that cannot be imported (a
    # class of __main__, a module missing here) comes before it, said as the server says it.
    advice = import_advice(exc)
    return SerializationError(
        f"serializer {codec.name!r} could not read {what}"
        + (f"{advice}. Reading it raised" if advice else "")
        + f": {type(exc).__name__}: {exc}"
    )


def load_artifact(
    store: Store, ref: ArtifactRef, codec: Serializer, what: str, progress: Any
) -> Any:
    """The object ``codec`` reads from the blob of ``ref``, every byte checked first."""
    if ref.checkpoint_every and codec.reads_sequentially:
        return _load_streaming(store, codec, ref, what, progress)
    if isinstance(codec, BytesSerializer):
        return read_verified(store, ref, what, progress)
    with verified_file(store, ref, what, progress) as f:
        try:
            return codec.load(f)
        except Exception as exc:
            raise _unreadable(codec, what, exc) from exc


def _load_streaming(
    store: Store, codec: Serializer, ref: ArtifactRef, what: str, progress: Any
) -> Any:
    """Deserialise piece by piece, each piece only once its prefix digest is checked."""
    with checked_stream(store, ref, what, progress) as stream:
        try:
            model = codec.load(io.BufferedReader(stream))
        except Exception as exc:
            # A damaged artifact is reported as such, wherever the deserialiser stopped.
            stream.finish()
            raise _unreadable(codec, what, exc) from exc
        stream.finish()
        return model
