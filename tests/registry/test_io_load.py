"""The bytes a load returns are exactly the bytes it hashed, and verify checks every byte once.

A blob rewritten in place (same size, other bytes) at the moment the check ends must
never reach the caller: the tests rewrite it deterministically from inside the check, the
instant its digest is computed, and make any reading worker run to its end first.
"""

from __future__ import annotations

import hashlib
import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.registry import _load
from modelship.registry._integrity import verify_blob
from modelship.registry._layout import blob_key
from modelship.testing import MemoryStore

DATA = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit: more than one read
TAMPERED = bytes(b ^ 0xFF for b in DATA)  # same size, every byte different


class _RunsAtStart:
    """A stand-in for ``threading.Thread`` whose ``start`` runs the target to its end.

    A load that reads on one thread while another hashes then has one order only: the
    hash first, then the read.
    """

    def __init__(self, target: Callable[[], None], **_: Any) -> None:
        self._target = target

    def start(self) -> None:
        self._target()

    def join(self, timeout: float | None = None) -> None:
        pass


def _rewrite_in_place(path: str, data: bytes) -> None:
    os.chmod(path, 0o644)  # blobs are read-only: an attacker with write access undoes that
    with open(path, "r+b") as f:
        f.write(data)


def _rewrites_at_digest(
    monkeypatch: pytest.MonkeyPatch, path: str, when: str = "hexdigest"
) -> list[str]:
    """Make sha256 rewrite ``path`` the first time ``when`` (a method) is called."""
    real = hashlib.sha256
    done: list[str] = []

    class Rewrites:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._h = real(*args, **kwargs)

        def update(self, data: Any) -> None:
            if when == "update" and not done:
                _rewrite_in_place(path, TAMPERED)
                done.append(path)
            self._h.update(data)

        def copy(self) -> Any:
            return self._h.copy()

        def digest(self) -> bytes:
            return self._h.digest()

        def hexdigest(self) -> str:
            digest = self._h.hexdigest()
            if when == "hexdigest" and not done:
                _rewrite_in_place(path, TAMPERED)
                done.append(path)
            return digest

    monkeypatch.setattr(hashlib, "sha256", Rewrites)
    monkeypatch.setattr(
        _load, "threading", types.SimpleNamespace(Thread=_RunsAtStart), raising=False
    )
    return done


def _local_bytes(tmp_path: Path) -> tuple[ms.Registry, str]:
    reg = ms.open_registry(str(tmp_path / "registry"))
    mv = reg.register(model_name="m", model=DATA, serializer="bytes", lineage={})
    store: Any = reg.store
    return reg, store.local_path(blob_key(mv.artifact.digest))


def test_raw_bytes_rewritten_just_after_the_check_are_not_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, path = _local_bytes(tmp_path)
    rewritten = _rewrites_at_digest(monkeypatch, path)
    try:
        loaded = reg.load("m", "1")
    except ms.IntegrityError:
        loaded = None
    assert rewritten == [path], "the blob was rewritten during the load"
    assert loaded in (DATA, None)


def test_raw_bytes_rewritten_while_hashing_are_refused_or_not_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, path = _local_bytes(tmp_path)
    rewritten = _rewrites_at_digest(monkeypatch, path, when="update")
    try:
        loaded = reg.load("m", "1")
    except ms.IntegrityError:
        loaded = None
    assert rewritten == [path]
    assert loaded in (DATA, None)


def test_a_raw_bytes_load_reads_the_blob_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, _ = _local_bytes(tmp_path)
    opened: list[str] = []
    real_open = reg.store.open_blob

    def counting(key: str) -> Any:
        opened.append(key)
        return real_open(key)

    monkeypatch.setattr(reg.store, "open_blob", counting)
    assert reg.load("m", "1") == DATA
    assert len(opened) == 1


@pytest.mark.parametrize("size", [0, 1, len(DATA)])
def test_raw_bytes_load_from_a_memory_store_returns_the_registered_bytes(size: int) -> None:
    reg = ms.Registry(MemoryStore())
    reg.register(model_name="m", model=DATA[:size], serializer="bytes", lineage={})
    loaded = reg.load("m", "1")
    assert isinstance(loaded, bytes)
    assert loaded == DATA[:size]


def test_raw_bytes_whose_store_reports_another_size_are_refused_before_reading() -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    mv = reg.register(model_name="m", model=DATA, serializer="bytes", lineage={})
    store.delete(blob_key(mv.artifact.digest))
    store.create(blob_key(mv.artifact.digest), DATA + b"more")
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.load("m", "1")


def test_a_failed_read_of_raw_bytes_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, _ = _local_bytes(tmp_path)

    class Failing:
        def read(self, n: int = -1) -> bytes:
            raise OSError(5, "Input/output error")

        def fileno(self) -> int:
            raise OSError("no descriptor")

        def close(self) -> None:
            pass

    monkeypatch.setattr(reg.store, "open_blob", lambda key: Failing())
    with pytest.raises(ms.StoreError, match="Input/output error"):
        reg.load("m", "1")


# --- verify: one pass, every checkpoint --------------------------------------------------


def test_verify_refuses_a_forged_checkpoint_even_when_the_whole_digest_matches() -> None:
    import attrs

    store = MemoryStore()
    reg = ms.Registry(store)
    reg._CHECKPOINT_EVERY = 2**16
    mv = reg.register(model_name="m", model=np.arange(40_000), lineage={})
    ref = mv.artifact
    assert len(ref.checkpoints) > 2
    forged = attrs.evolve(ref, checkpoints=(ref.checkpoints[0], "0" * 32, *ref.checkpoints[2:]))
    verify_blob(store, ref, "m 1")
    with pytest.raises(ms.IntegrityError, match="first 131072 bytes"):
        verify_blob(store, forged, "m 1")


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:70_000] + bytes([d[70_000] ^ 1]) + d[70_001:],
        lambda d: d[:-1],
        lambda d: d + b"!",
        lambda d: b"",
    ],
    ids=["changed", "shorter", "longer", "empty"],
)
@pytest.mark.parametrize("every", [0, 2**16], ids=["no-checkpoints", "checkpoints"])
def test_verify_refuses_any_damage(damage: Callable[[bytes], bytes], every: int) -> None:
    store = MemoryStore()
    reg = ms.Registry(store)
    reg._CHECKPOINT_EVERY = every
    mv = reg.register(model_name="m", model=DATA, serializer="bytes", lineage={})
    key = blob_key(mv.artifact.digest)
    store.delete(key)
    store.create(key, damage(DATA), allow_empty=True)
    with pytest.raises(ms.IntegrityError, match="does not match"):
        reg.verify("m", "1")


def test_verify_reads_a_remote_blob_in_few_large_reads() -> None:
    """Each read of a remote blob can be a request (a ranged GET on S3): no small reads."""
    store = MemoryStore()
    reg = ms.Registry(store)
    mv = reg.register(model_name="m", model=np.zeros(2**20), lineage={})  # 8 MiB
    sizes: list[int] = []
    opened = store.open_blob

    def counting(key: str) -> Any:
        f = opened(key)
        real = f.readinto

        def readinto(b: Any) -> int:
            n: int = real(b)
            sizes.append(n)
            return n

        f.readinto = readinto
        return f

    store.open_blob = counting  # type: ignore[method-assign]
    reg.verify("m", "1")
    assert len(sizes) <= mv.artifact.size // 2**20 + 2, sizes
