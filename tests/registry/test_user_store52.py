"""A user's own store (review 52): a slot answered with another slot's bytes, and a store
failure that is no OSError.

1. Without a signing key, ``latest`` trusted a sequence slot's bytes without tying them to
   the slot's number: a store answering slot 1's document for slot 2 (a stale replica, a
   wrong shard) made ``latest`` answer version 1 in silence while version 2 was
   registered. Now it raises IntegrityError naming the slot; the legitimate cases (a
   registration not yet committed, a dead slot, one that lost an explicit version to
   another writer) still step down.
2. A client library's failure that is no OSError (redis' ConnectionError, grpc's
   RpcError, botocore's ClientError, a leaked KeyError) escaped raw from every registry
   call; now it is a StoreError naming the call and key, with the cause chained.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable

import pytest

import modelship as ms
from modelship.registry._layout import slot_key
from modelship.testing import HookStore, MemoryStore

SLOT_1, SLOT_2 = slot_key("m", 1), slot_key("m", 2)


def _two_versions(store: ms.registry.Store) -> None:
    reg = ms.Registry(store)
    for i in (1, 2):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes", lineage={})


class _Swapped(MemoryStore):
    """Answers what ``swap`` maps a key to instead of the key (a stale replica)."""

    def __init__(self, swap: dict[str, str]) -> None:
        super().__init__()
        self.swap = swap

    def read(self, key: str) -> bytes:
        return super().read(self.swap.get(key, key))

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        asked = list(keys)
        got = super().read_many(self.swap.get(k, k) for k in asked)
        return {k: got[self.swap.get(k, k)] for k in asked if self.swap.get(k, k) in got}


# --- 1. a slot answered with another slot's document --------------------------------------


def test_latest_refuses_a_slot_answered_with_a_lower_slots_document() -> None:
    store = _Swapped({})
    _two_versions(store)
    store.swap = {SLOT_2: SLOT_1}
    reg = ms.Registry(store)
    assert reg.get("m", "2").version == "2"  # the manifest itself is fine
    for call in (lambda: reg.get("m", "latest"), lambda: reg.load("m", "latest")):
        with pytest.raises(ms.IntegrityError, match=r"slots/000000000002\.json") as info:
            call()
        assert "says it took slot 1" in str(info.value)
        assert "restore it from a copy" in str(info.value)


def test_latest_refuses_two_slots_holding_one_registrations_claim() -> None:
    # Version 3 archived: the walk skips the versions listed archived without reading their
    # manifests, so the swapped slot 2 (slot 1's claim of the archived version 1) is met
    # again at slot 1.
    store = _Swapped({})
    reg = ms.Registry(store)
    for i in (1, 2, 3):
        reg.register(model_name="m", model=bytes([i]), serializer="bytes", lineage={})
    reg.delete("m", "3")
    reg.delete("m", "1")
    store.swap = {SLOT_2: SLOT_1}
    with pytest.raises(ms.IntegrityError, match="hold the same registration's claim"):
        ms.Registry(store).get("m", "latest")


def test_latest_steps_down_past_a_registration_not_yet_committed() -> None:
    inner = MemoryStore()
    _two_versions(inner)
    seen: list[str] = []

    def look(operation: str, key: str) -> None:
        if operation == "create" and key == "models/m/versions/3.json" and not seen:
            assert json.loads(inner.read(slot_key("m", 3)))["version"] == "3"  # claimed
            seen.append(ms.Registry(inner).get("m", "latest").version)

    ms.Registry(HookStore(inner, before=look)).register(
        model_name="m", model=b"3", serializer="bytes", lineage={}
    )
    assert seen == ["2"]
    assert ms.Registry(inner).get("m", "latest").version == "3"


def _lose_x_to_another_writer(dies: bool) -> MemoryStore:
    """Version 1; then writer A (explicit "x") passes its check that "x" is free, and
    before it claims slot 2, writer B (explicit "x" too) claims slot 2 and commits. A
    claims slot 3, finds the manifest of "x" taken and turns its slot dead, or ``dies``
    before it can (slot 3 then still names "x" with A's registration)."""
    inner = MemoryStore()
    ms.Registry(inner).register(model_name="m", model=b"0", serializer="bytes", lineage={})
    b_done: list[bool] = []

    def b_first(operation: str, key: str) -> None:
        if operation == "create" and key == SLOT_2 and not b_done:
            b_done.append(True)
            ms.Registry(inner).register(
                model_name="m", model=b"b", version="x", serializer="bytes", lineage={}
            )
        if dies and operation == "replace" and key == slot_key("m", 3):
            raise OSError("the writer dies")

    a = ms.Registry(HookStore(inner, before=b_first))
    with pytest.raises(ms.StoreError if dies else ms.VersionExists):
        a.register(model_name="m", model=b"a", version="x", serializer="bytes", lineage={})
    return inner


def test_latest_steps_down_past_a_dead_slot() -> None:
    inner = _lose_x_to_another_writer(dies=False)
    assert json.loads(inner.read(slot_key("m", 3))).get("dead") is True
    latest = ms.Registry(inner).get("m", "latest")
    assert (latest.version, latest.sequence) == ("x", 2)


def test_latest_steps_down_past_a_slot_that_lost_its_version_to_another_writer() -> None:
    # Slot 3, the top, names "x" with A's registration while the manifest of "x" is B's,
    # at slot 2: a legitimate state (a writer that died), stepped down from.
    inner = _lose_x_to_another_writer(dies=True)
    held = json.loads(inner.read(slot_key("m", 3)))
    assert held["version"] == "x"
    assert not held.get("dead")
    latest = ms.Registry(inner).get("m", "latest")
    assert (latest.version, latest.sequence) == ("x", 2)


# --- 2. a store failure that is no OSError ------------------------------------------------


class ClientConnectionError(Exception):
    """Stands for redis.exceptions.ConnectionError, which is no OSError."""


class _Down(MemoryStore):
    """Every read fails with the client library's own error."""

    def read(self, key: str) -> bytes:
        raise ClientConnectionError(f"Error 111 connecting to kv:6379 ({key})")


class _LeaksKeyError(MemoryStore):
    """A missing key raises the KeyError of a dict lookup."""

    def read(self, key: str) -> bytes:
        try:
            return super().read(key)
        except FileNotFoundError:
            raise KeyError(key) from None


@pytest.mark.parametrize(
    "call",
    [
        lambda reg: reg.load("m", "1"),
        lambda reg: reg.versions("m"),
        lambda reg: reg.register(model_name="m", model=b"1", serializer="bytes", lineage={}),
    ],
    ids=["load", "versions", "register"],
)
def test_a_client_error_that_is_no_os_error_is_a_store_error(call: object) -> None:
    reg = ms.Registry(_Down())
    with pytest.raises(ms.StoreError) as info:
        call(reg)  # type: ignore[operator]
    message = str(info.value)
    assert "read of 'signing.json'" in message
    assert "ClientConnectionError: Error 111 connecting to kv:6379" in message
    assert isinstance(info.value.__cause__, ClientConnectionError)


def test_a_key_error_for_a_missing_key_is_a_store_error_saying_what_to_raise() -> None:
    reg = ms.Registry(_LeaksKeyError())
    with pytest.raises(ms.StoreError, match="must raise FileNotFoundError") as info:
        reg.register(model_name="m", model=b"1", serializer="bytes", lineage={})
    assert "KeyError: 'signing.json'" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)


def test_answers_and_what_is_no_failure_of_the_store_pass_unchanged() -> None:
    for raised in (FileNotFoundError("k"), MemoryError(), KeyboardInterrupt(), ms.ConfigError("c")):

        class _Raises(MemoryStore):
            def exists(self, key: str, raised: BaseException = raised) -> bool:
                raise raised

        with pytest.raises(type(raised)):
            ms.Registry(_Raises()).store.exists("k")


# --- 3. a claim retried after a lost reply (a legitimate history) -------------------------


class _LosesReply(MemoryStore):
    """A store whose client retries a create whose first attempt landed but whose reply was
    lost (redis-py's Retry, boto3's standard retries of a conditional put): the retry is
    told "taken", so the create of ``lose`` raises FileExistsError once, after landing."""

    def __init__(self, lose: str) -> None:
        super().__init__()
        self.lose: str | None = lose

    def create(self, key: str, data: bytes, *, allow_empty: bool = False) -> None:
        super().create(key, data, allow_empty=allow_empty)
        if key == self.lose:
            self.lose = None
            raise FileExistsError(key)


_KEYS = pytest.mark.parametrize("key", [None, b"k" * 32], ids=["unsigned", "signed"])


def _retried_x(key: bytes | None) -> _LosesReply:
    """Version 1 at slot 1; explicit version "x" whose claim of slot 2 landed but was
    answered "taken": commit claimed slot 3 with the same claim and committed there."""
    store = _LosesReply(SLOT_2)
    reg = ms.Registry(store, signing_key=key)
    reg.register(model_name="m", model=b"1", serializer="bytes", lineage={})
    x = reg.register(model_name="m", model=b"x", version="x", serializer="bytes", lineage={})
    assert x.sequence == 3
    two, three = (json.loads(store.read(slot_key("m", s))) for s in (2, 3))
    assert (two["version"], two["registration"]) == ("x", x.registration)
    assert (three["version"], three["registration"]) == ("x", x.registration)
    return store


@_KEYS
def test_latest_steps_down_past_a_claim_retried_after_a_lost_reply(key: bytes | None) -> None:
    store = _retried_x(key)
    reg = ms.Registry(store, signing_key=key)
    assert reg.get("m", "latest").version == "x"
    reg.delete("m", "x")
    assert ms.Registry(store, signing_key=key).get("m", "latest").version == "1"
    assert ms.Registry(store, signing_key=key).load("m", "latest") == b"1"
    reg.gc(grace_seconds=0)  # leaves both slots of the committed claim
    assert ms.Registry(store, signing_key=key).get("m", "latest").version == "1"


@_KEYS
def test_latest_steps_down_past_a_retried_claim_archived_during_the_walk(
    key: bytes | None,
) -> None:
    # Version "y" at slot 4, archived: the walk lists the archived versions there, before
    # "x" is archived (just before the walk reads its manifest), so slot 2 is not skipped
    # as listed: its manifest is read, and says slot 3.
    store = _retried_x(key)
    writer = ms.Registry(store, signing_key=key)
    writer.register(model_name="m", model=b"y", version="y", serializer="bytes", lineage={})
    writer.delete("m", "y")
    done: list[bool] = []

    def archive_x(operation: str, at: str) -> None:
        if operation == "read" and at == "models/m/versions/x.json" and not done:
            done.append(True)
            writer.delete("m", "x")

    reader = ms.Registry(HookStore(store, before=archive_x), signing_key=key)
    assert reader.get("m", "latest").version == "1"
    assert done == [True]


class _LosesReplies(MemoryStore):
    """:class:`_LosesReply` for several keys: each create of one lands, then says taken."""

    def __init__(self, lose: Iterable[str]) -> None:
        super().__init__()
        self.lose = set(lose)

    def create(self, key: str, data: bytes, *, allow_empty: bool = False) -> None:
        super().create(key, data, allow_empty=allow_empty)
        if key in self.lose:
            self.lose.discard(key)
            raise FileExistsError(key)


@_KEYS
def test_latest_read_while_a_claim_is_retried_a_second_time_is_no_damage(key: bytes | None) -> None:
    # Review 52l: a claim at slots 2 and 3 (two lost replies), a reader whose walk saw
    # slot 3 as the top while the writer went on to slot 4 and its manifest: the walk's
    # check of a claim met twice raised "the store answered one slot's document for the
    # other", a history the registration itself makes.
    store = _LosesReplies({slot_key("m", 2), slot_key("m", 3)})
    ms.Registry(store, signing_key=key).register(
        model_name="m", model=b"1", serializer="bytes", lineage={}
    )
    at_slot_4, go = threading.Event(), threading.Event()

    def before_create(created: str) -> None:
        if created == slot_key("m", 4):
            at_slot_4.set()
            assert go.wait(10)

    writer = ms.Registry(HookStore(store, before_create=before_create), signing_key=key)
    registered: list[ms.ModelVersion] = []
    thread = threading.Thread(
        target=lambda: registered.append(
            writer.register(model_name="m", model=b"x", version="x", serializer="bytes", lineage={})
        )
    )
    thread.start()
    assert at_slot_4.wait(10)
    released: list[bool] = []

    def before(operation: str, read: str) -> None:
        # The reader has listed the slots (top: 3); the writer now finishes, slot 4 and all.
        if operation == "read" and read == slot_key("m", 3) and not released:
            released.append(True)
            go.set()
            thread.join(10)

    reader = ms.Registry(HookStore(store, before=before), signing_key=key)
    # Read while x was still claiming: 1, or x once committed; never "damaged".
    assert reader.get("m", "latest").version in {"1", "x"}
    assert released
    assert registered[0].sequence == 4
    assert ms.Registry(store, signing_key=key).get("m", "latest").version == "x"
