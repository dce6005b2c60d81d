"""Where rollout records are kept: with the registry, so a failed rollout can be explained.

The registry's public API stores documents with a version only when the version is
registered, and a rollout happens later; so this module defines the small
:class:`DeploymentHistory` seam. :class:`RegistryHistory` keeps one JSON document per
rollout under ``deployments/<model>/`` of the registry's own :class:`~modelship.registry.Store`
(next to its versions, through the store's public protocol); :class:`InMemoryHistory`
serves tests and deployers without a registry.

Each rollout writes only its own key, replacing it whole as the rollout progresses (a
reader sees the previous or the next record, never a mix), so no two writers race.
Documents read back are validated (schema number and fields) before they are trusted.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from modelship import _json
from modelship._names import check_model_name
from modelship._shown import hide_credentials
from modelship.deploy._errors import HistoryError
from modelship.deploy._record import RolloutRecord
from modelship.errors import IntegrityError, ModelNotFound, SignatureError
from modelship.registry._integrity import check_document
from modelship.registry._layout import folder as registry_folder
from modelship.registry._layout import is_document

if TYPE_CHECKING:
    from modelship.registry import Registry

__all__ = ["DeploymentHistory", "InMemoryHistory", "RegistryHistory"]

_PREFIX = "deployments"


@runtime_checkable
class DeploymentHistory(Protocol):
    """Keeps rollout records, one per rollout id, listed oldest first.

    Examples
    --------
    >>> isinstance(InMemoryHistory(), DeploymentHistory)
    True
    """

    def save(self, record: RolloutRecord) -> None:
        """Store ``record`` (replacing an earlier record of the same rollout)."""

    def records(self, model: str) -> list[RolloutRecord]:
        """Every rollout record of ``model``, oldest first."""


def _record_json(record: RolloutRecord) -> str:
    # The one encoding of a stored record (strict JSON, keys sorted), so the in-memory
    # history keeps exactly what a file would.
    return _json.canonical_json(record.to_dict()).decode()


class InMemoryHistory:
    """A :class:`DeploymentHistory` in this process's memory.

    Examples
    --------
    >>> history = InMemoryHistory()
    >>> history.records("fraud")
    []
    """

    def __init__(self) -> None:
        self._records: dict[str, dict[str, RolloutRecord]] = {}
        self._lock = threading.Lock()

    def save(self, record: RolloutRecord) -> None:
        """Store ``record`` (a JSON round trip, so what is kept is what a file would keep)."""
        copy = RolloutRecord.from_dict(_json.loads(_record_json(record), "rollout record"))
        with self._lock:
            self._records.setdefault(record.model, {})[record.id] = copy

    def records(self, model: str) -> list[RolloutRecord]:
        """Every record of ``model``, oldest first."""
        with self._lock:
            return list(self._records.get(model, {}).values())  # in order of first save


class RegistryHistory:
    """A :class:`DeploymentHistory` stored in a registry's store, beside its versions.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://history-doc")
    >>> _ = reg.register(model_name="fraud", model=b"w", serializer="bytes")
    >>> history = RegistryHistory(reg)
    >>> history.records("fraud")  # registered, never deployed
    []
    >>> history.records("fruad")
    Traceback (most recent call last):
    ...
    modelship.errors.ModelNotFound: no model named 'fruad' in memory://history-doc; ...
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _folder(self, model: str) -> str:
        return f"{_PREFIX}/{check_model_name(model)}"

    def _versions(self, model: str) -> str:
        return registry_folder(check_model_name(model), "versions")

    def save(self, record: RolloutRecord) -> None:
        """Write ``record`` whole under ``deployments/<model>/<rollout id>.json``.

        Rollout records are not signed (by any handle), so saving one needs no key: a
        handle that only reads a signed registry (``verify_signatures=False``) records its
        rollouts, which a key holder reads as its own. A store that refuses the write
        (read-only credentials) raises its own error, which a rollout logs and retries
        (see :meth:`~modelship.deploy.Rollout.save`)."""
        # Not Registry.check_writable: what it guards (signed documents, exclusive creates)
        # a record, unsigned and replaced whole under a key only its rollout writes, does
        # not need, and refusing it would leave a keyless rollout that moved traffic
        # unrecorded, retried with 1 s and 2 s sleeps.
        data = _record_json(record).encode()
        self.registry.store.replace(f"{self._folder(record.model)}/{record.id}.json", data)

    def records(self, model: str) -> list[RolloutRecord]:
        """Every record of ``model``, oldest first; an unreadable one raises HistoryError,
        and a model the registry does not have raises ModelNotFound."""
        store = self.registry.store
        folder = self._folder(model)
        names = sorted(n for n in store.list(folder) if n.endswith(".json"))
        # No rollouts, or no such model (or registry): a typo must not read as "none yet".
        # Only the model's versions folder is listed: reading a version would check its
        # signature, which a reader without the key (the deploy and monitor commands)
        # cannot do, though the records themselves are not signed.
        if not names and not any(is_document(n) for n in store.list(self._versions(model))):
            try:
                # The registry's own error: ModelNotFound naming the models it has, or
                # RegistryNotFound.
                self.registry.versions(model, include_archived=True, limit=1)
            except SignatureError:  # a keyless reader of a signed registry: no hint
                raise ModelNotFound(
                    f"no model named {model!r} in "
                    f"{hide_credentials(store.url)}; check the model name"
                ) from None
        found = store.read_many(f"{folder}/{n}" for n in names)
        out = []
        for key in found:
            try:
                # Strict JSON: a NaN edited into a record is refused, not passed on to
                # `deploy history` (whose output must be JSON) or to a decision.
                doc = _json.loads(check_document(found[key], key), key, error=HistoryError)
            except (HistoryError, IntegrityError) as exc:
                raise HistoryError(
                    f"deployment record {key} is not JSON ({exc}); it was damaged in "
                    f"{hide_credentials(self.registry.store.url)}: remove it to list the others"
                ) from exc
            record = RolloutRecord.from_dict(doc, where=key)
            # A record is trusted no more than its key: one copied from another model's
            # history would roll this model back to that model's version.
            if record.model != model or f"{folder}/{record.id}.json" != key:
                raise HistoryError(
                    f"deployment record {key} is of model {record.model!r}, rollout id "
                    f"{record.id!r}, but is stored as {model!r}'s {key.rsplit('/', 1)[-1]}: it "
                    "was copied or renamed in "
                    f"{hide_credentials(store.url)}; remove it to list the others"
                )
            out.append(record)
        return sorted(out, key=lambda r: (r.started_at, r.id))
