"""copy_registry reads the source's signing policy once: the bytes it checks are the bytes
it records in the destination (fixer K).

It read ``signing.json`` of the source up to three times and recorded the last read
unchecked; a source whose policy changed between two reads gave the destination a policy
no check saw. A store whose reads of the policy change after the first one makes that
interleaving exactly.
"""

from __future__ import annotations

import secrets

import pytest

import modelship as ms
from modelship.errors import IntegrityError, ModelshipError
from modelship.registry._layout import SIGNING_POLICY
from modelship.registry._signing import Signer
from modelship.testing import MemoryStore

KEY = secrets.token_bytes(32)
OTHER = secrets.token_bytes(32)
GOOD_FORM = {"format": 1, "signed": True, "since": "2024-01-01T00:00:00+00:00"}


class PolicyChangesAfterFirstRead(MemoryStore):
    """A memory store whose signing policy reads as stored the first time after
    ``armed`` is set, and as ``later`` on every read after that (a writer replaced it)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.later: bytes | None = None
        self.policy_reads = 0

    def read(self, key: str) -> bytes:
        data = super().read(key)
        if key != SIGNING_POLICY or not self.armed:
            return data
        self.policy_reads += 1
        if self.policy_reads > 1 and self.later is not None:
            return self.later
        return data


def _signed_source() -> tuple[ms.Registry, PolicyChangesAfterFirstRead, bytes]:
    store = PolicyChangesAfterFirstRead()
    src = ms.Registry(store, signing_key=KEY)
    src.register(model_name="m", model=b"w", serializer="bytes")
    return src, store, store.read(SIGNING_POLICY)


@pytest.mark.parametrize(
    "later",
    [
        Signer(OTHER).seal_bytes(dict(GOOD_FORM), SIGNING_POLICY),  # another key's, well formed
        b"{}",  # damaged
    ],
    ids=["another-keys-policy", "damaged"],
)
def test_the_destination_records_the_policy_the_copy_checked(later: bytes) -> None:
    src, store, good = _signed_source()
    store.later, store.armed = later, True
    dst = ms.Registry(MemoryStore())  # keyless and empty: it takes the source's policy
    try:
        ms.copy_registry(src, dst)
    except ModelshipError:
        # Refusing is fine, so long as nothing unchecked was recorded.
        assert not dst.store.exists(SIGNING_POLICY) or dst.store.read(SIGNING_POLICY) == good
    else:
        # Before: the destination held ``later``, which no check of the copy had read.
        assert dst.store.read(SIGNING_POLICY) == good
        assert ms.Registry(dst.store, signing_key=KEY).get("m").version == "1"
    assert store.policy_reads >= 1


def test_the_copy_reads_the_sources_policy_once() -> None:
    src, store, _ = _signed_source()
    store.armed = True
    ms.copy_registry(src, ms.Registry(MemoryStore()))
    # The source handle had seen its policy (it registered), so only the copy reads it.
    assert store.policy_reads == 1


def test_a_damaged_source_policy_is_not_copied_by_a_keyless_copy() -> None:
    src, store, _ = _signed_source()
    store.replace(SIGNING_POLICY, b"{}")  # damaged since it was written
    dst = ms.Registry(MemoryStore())
    with pytest.raises(IntegrityError, match=r"signing\.json.*is damaged: it has no format"):
        ms.copy_registry(src, dst)
    assert not dst.store.exists(SIGNING_POLICY)
    assert not dst.store.list("models")
