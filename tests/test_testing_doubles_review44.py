"""Review 44: the test doubles refuse what the real counterparts refuse, with
ModelshipErrors that say what was wrong, never a raw Python exception later."""

from __future__ import annotations

from typing import Any

import pytest

import modelship as ms
from modelship.errors import ConfigError, InvalidName, StoreError
from modelship.monitor import InMemorySource
from modelship.testing import (
    CaseFoldingStore,
    Fault,
    FaultEffect,
    HookStore,
    InMemoryDeployer,
    MemoryStore,
    SourceCase,
)

# --- InMemoryDeployer.apply checks names as LocalDeployer.apply does -------------------


@pytest.mark.parametrize("version", ["latest", "LATEST", "@production", "", "../etc", 0, True])
def test_in_memory_deployer_apply_refuses_a_version_the_real_deployers_refuse(
    version: object,
) -> None:
    dep = InMemoryDeployer()
    with pytest.raises(InvalidName):
        dep.apply("blue", "fraud", version)  # type: ignore[arg-type]
    assert dep.state().slots == ()


def test_in_memory_deployer_apply_refuses_a_reference_even_with_a_registry(
    tmp_path: Any,
) -> None:
    reg = ms.open_registry(str(tmp_path))
    reg.register(model_name="fraud", model=b"x", serializer="bytes")
    dep = InMemoryDeployer(registry=reg)
    with pytest.raises(InvalidName, match="reserved as a reference"):
        dep.apply("blue", "fraud", "latest")
    assert dep.state().slots == ()


@pytest.mark.parametrize("model", ["", "../etc", "a/b", 5, None])
def test_in_memory_deployer_apply_refuses_a_model_name_the_registry_refuses(
    model: object,
) -> None:
    with pytest.raises(InvalidName):
        InMemoryDeployer().apply("blue", model, "1")  # type: ignore[arg-type]


@pytest.mark.parametrize("slot", ["", None, 3])
def test_in_memory_deployer_apply_refuses_a_slot_that_is_not_a_name(slot: object) -> None:
    with pytest.raises(ConfigError, match="slot must be a non-empty string"):
        InMemoryDeployer().apply(slot, "fraud", "1")  # type: ignore[arg-type]


def test_in_memory_deployer_apply_takes_an_int_version_as_its_text() -> None:
    dep = InMemoryDeployer()
    dep.apply("blue", "fraud", 3)  # type: ignore[arg-type]
    assert dep.state().slot("blue").version == "3"  # type: ignore[union-attr]


# --- InMemoryDeployer refuses wrong parameters up front -----------------------------------


@pytest.mark.parametrize("faults", ["state", None, 3, [("apply", "raise")], ["apply"]])
def test_in_memory_deployer_refuses_faults_that_are_not_faults(faults: object) -> None:
    with pytest.raises(ConfigError, match="Fault"):
        InMemoryDeployer(faults=faults)  # type: ignore[arg-type]


def test_in_memory_deployer_takes_a_list_of_faults() -> None:
    dep = InMemoryDeployer(faults=[Fault("apply", FaultEffect.NEVER_READY)])  # type: ignore[arg-type]
    dep.apply("blue", "fraud", "1")
    assert dep.wait_ready("blue", 5) is False


def test_inject_refuses_an_op_name_in_place_of_a_fault() -> None:
    dep = InMemoryDeployer()
    with pytest.raises(ConfigError, match="a fault must be a Fault"):
        dep.inject("apply")  # type: ignore[arg-type]
    dep.apply("blue", "fraud", "1")  # nothing half-injected
    assert dep.wait_ready("blue", 5) is True


def test_in_memory_deployer_refuses_capabilities_that_are_not_deployer_capabilities() -> None:
    with pytest.raises(ConfigError, match="capabilities"):
        InMemoryDeployer(capabilities={"max_slots": 3})  # type: ignore[arg-type]


@pytest.mark.parametrize("clock", [3.0, "now", object()])
def test_in_memory_deployer_refuses_a_clock_that_is_not_a_clock(clock: object) -> None:
    with pytest.raises(ConfigError, match="clock"):
        InMemoryDeployer(clock=clock)  # type: ignore[arg-type]


def test_in_memory_deployer_takes_the_system_clock() -> None:
    dep = InMemoryDeployer(clock=ms.deploy.SystemClock())  # type: ignore[arg-type]
    dep.apply("blue", "fraud", "1")
    assert dep.wait_ready("blue", 1) is True


@pytest.mark.parametrize("registry", ["/tmp/x", "memory://x", 5])
def test_in_memory_deployer_refuses_a_registry_url_as_local_deployer_does(
    registry: object,
) -> None:
    with pytest.raises(ConfigError, match=r"ms\.open_registry\(path\)"):
        InMemoryDeployer(registry=registry)  # type: ignore[arg-type]


# --- HookStore and MemoryStore ------------------------------------------------------------


def test_hook_store_refuses_an_inner_that_is_not_a_store() -> None:
    with pytest.raises(ConfigError, match="inner must be a Store"):
        HookStore("memory://x")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["before", "before_create"])
def test_hook_store_refuses_a_hook_that_is_not_callable(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} must be a function or None"):
        HookStore(MemoryStore(), **{name: "x"})


@pytest.mark.parametrize("store_type", [MemoryStore, CaseFoldingStore])
@pytest.mark.parametrize("key", [5, None, b"k", ("a",)])
def test_memory_store_refuses_a_key_that_is_not_a_string(store_type: type, key: object) -> None:
    store = store_type()
    with pytest.raises(StoreError, match="is not a string"):
        store.create(key, b"x")
    for op in (store.read, store.exists, store.delete, store.list):
        with pytest.raises(StoreError, match="is not a string"):
            op(key)
    assert store.list("") == []  # the store still lists


@pytest.mark.parametrize("keys", [None, 5, "abc", b"abc"])
def test_memory_store_read_many_refuses_what_is_not_an_iterable_of_keys(keys: object) -> None:
    with pytest.raises(StoreError, match="keys must be an iterable of keys"):
        MemoryStore().read_many(keys)  # type: ignore[arg-type]


def test_memory_store_read_many_refuses_a_non_string_key_among_keys() -> None:
    with pytest.raises(StoreError, match="is not a string"):
        MemoryStore().read_many(["a", 5])  # type: ignore[list-item]


def test_memory_store_read_many_takes_a_generator() -> None:
    store = MemoryStore()
    store.create("a", b"1")
    assert store.read_many(k for k in ["a", "b"]) == {"a": b"1"}


# --- SourceCase ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [("x", 10.0), (0.0, None), (float("nan"), 10.0), (0.0, float("inf")), (True, 10.0)],
)
def test_source_case_refuses_a_window_bound_that_is_not_a_finite_number(
    start: object, end: object
) -> None:
    with pytest.raises(ConfigError, match="must be a finite float"):
        SourceCase(InMemorySource(now=10.0), "m", "a", start=start, end=end)  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "end"), [(10.0, 0.0), (5.0, 5.0)])
def test_source_case_refuses_a_window_that_does_not_end_after_it_starts(
    start: float, end: float
) -> None:
    with pytest.raises(ConfigError, match="start < end"):
        SourceCase(InMemorySource(now=10.0), "m", "a", start=start, end=end)


def test_source_case_takes_int_bounds() -> None:
    case = SourceCase(InMemorySource(now=10.0), "m", "a", start=0, end=10)
    assert (case.start, case.end) == (0, 10)


def test_a_hook_store_subclass_taking_a_url_still_opens_its_store(tmp_path: Any) -> None:
    """A subclass may take other arguments than a store (its first one a URL it opens):
    only the store it passes on to HookStore is checked (second look, stop 44)."""
    from modelship.registry import FsspecStore
    from modelship.testing import HookStore

    class FromUrl(HookStore):
        def __init__(self, url: str) -> None:
            super().__init__(FsspecStore.from_url(url))

    store = FromUrl(str(tmp_path))
    store.create("k", b"1")
    assert store.read("k") == b"1"
    from modelship.registry import LocalBlobs

    # With the capabilities of the store it wraps, as a HookStore made from it has.
    assert isinstance(store, LocalBlobs)
    assert isinstance(store, FromUrl)

    class PassesNoStore(HookStore):
        def __init__(self, url: str) -> None:
            super().__init__(url)  # type: ignore[arg-type]

    with pytest.raises(ConfigError, match="inner must be a Store"):
        PassesNoStore(str(tmp_path))
