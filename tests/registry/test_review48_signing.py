"""Review 48: a damaged signing policy, and the folders a failed download made.

- A damaged ``signing.json`` (empty, not JSON, not an object, a field missing, unsigned,
  or a signature no key makes) made the key holder's writes fail with "signs with another
  key ... Open it with the key it was created with", sending them looking for a key they
  already hold. It is refused as damage (``IntegrityError``, not a ``SignatureError``)
  saying how to restore it; a well-formed policy another key signed still says "another
  key".
- ``download`` created the destination's missing folders and, when it failed (a progress
  callback raising, Ctrl-C, the store cutting the stream), removed only its temporary
  file: the folders stayed. It removes those it created, deepest first, when they are
  still empty; a folder that was there before, or that another writer put a file in, stays.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fsspec.callbacks import Callback

import modelship as ms
from modelship.errors import ConfigError, IntegrityError, SignatureError, SigningKeyRequired
from modelship.registry._layout import SIGNING_POLICY, blob_key
from modelship.registry._signing import Signer
from modelship.testing import MemoryStore

KEY = b"k" * 32
OTHER = b"j" * 32


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _signed(root: Path, key: bytes = KEY) -> None:
    ms.open_registry(str(root), signing_key=key).register(
        model_name="m", model=b"x", serializer="bytes"
    )


def _write_policy(root: Path, data: bytes) -> None:
    path = root / SIGNING_POLICY
    os.chmod(path, 0o644)
    path.write_bytes(data)


def _register(root: Path, key: bytes = KEY) -> ms.ModelVersion:
    return ms.open_registry(str(root), signing_key=key).register(
        model_name="m", model=b"y", serializer="bytes"
    )


# --- 1. a damaged signing policy -------------------------------------------------------

DAMAGED = {
    "empty": (b"", "it is not valid JSON"),
    "not-json": (b"not json", "it is not valid JSON"),
    "empty-object": (b"{}", "it has no format, signed, since, signature"),
    "list": (b"[1]", "it holds a JSON list, not an object"),
    "nan": (
        b'{"format":NaN,"signed":true,"since":"x","signature":"hmac-sha256:00"}',
        "it holds a number that is not finite",
    ),
    "unsigned": (b'{"format":1,"signed":true,"since":"x"}', "it has no signature"),
    "empty-signature": (
        b'{"format":1,"signed":true,"since":"x","signature":""}',
        "its signature is not one a key makes",
    ),
    "forged-signature": (
        b'{"format":1,"signed":true,"since":"x","signature":"hmac-sha256:00"}',
        "its signature is not one a key makes",
    ),
    "not-signed": (
        b'{"format":1,"signed":false,"since":"x","signature":"hmac-sha256:' + b"0" * 64 + b'"}',
        "its format, signed or since field is not one a registry writes",
    ),
}


@pytest.mark.parametrize(("policy", "damage"), list(DAMAGED.values()), ids=list(DAMAGED))
@pytest.mark.parametrize("verify", [True, False], ids=["checked", "unchecked"])
def test_a_damaged_policy_is_refused_as_damage_not_as_another_key(
    tmp_path: Path, policy: bytes, damage: str, verify: bool
) -> None:
    root = tmp_path / "r"
    _signed(root)
    _write_policy(root, policy)
    before = _files(root)
    handle = ms.open_registry(str(root), signing_key=KEY, verify_signatures=verify)
    with pytest.raises(IntegrityError) as raised:
        handle.register(model_name="m", model=b"y", serializer="bytes")
    # Before: SigningKeyRequired, "signs with another key than this handle's".
    assert not isinstance(raised.value, SignatureError)
    message = str(raised.value)
    assert f"the signing policy ({SIGNING_POLICY}) of the registry at {root} is damaged: " in (
        message
    )
    assert damage in message
    assert "another key" not in message
    assert f"Restore {SIGNING_POLICY} from a backup or from a copy of this registry" in message
    assert _files(root) == before  # nothing written
    # Reads with the key are as before: each document is checked on its own.
    assert ms.open_registry(str(root), signing_key=KEY).get("m").version == "1"


@pytest.mark.parametrize("write", ["set_alias", "add_tag", "archive"])
def test_every_write_reports_the_damaged_policy(tmp_path: Path, write: str) -> None:
    root = tmp_path / "r"
    _signed(root)
    _write_policy(root, b"")
    handle = ms.open_registry(str(root), signing_key=KEY)
    calls: dict[str, Any] = {
        "set_alias": lambda: handle.set_alias("m", "production", "1"),
        "add_tag": lambda: handle.set_tag("m", "1", "team", "a"),
        "archive": lambda: handle.delete("m", "1"),
    }
    with pytest.raises(IntegrityError, match="is damaged: it is not valid JSON") as raised:
        calls[write]()
    assert not isinstance(raised.value, SignatureError)


def test_a_damaged_policy_another_writer_created_first_is_refused_as_damage() -> None:
    # record_policy's exclusive create lost to a writer that left a damaged policy.
    store = MemoryStore()
    store.create(SIGNING_POLICY, b"{}")
    with pytest.raises(IntegrityError, match="is damaged: it has no format") as raised:
        Signer(KEY).record_policy(store, "2024-01-01T00:00:00+00:00")
    assert not isinstance(raised.value, SignatureError)


def test_a_well_formed_policy_another_key_signed_still_says_another_key(tmp_path: Path) -> None:
    root, other = tmp_path / "r", tmp_path / "other"
    _signed(root)
    _signed(other, OTHER)
    # Opened with the other key:
    with pytest.raises(SigningKeyRequired, match="signs with another key than this handle's"):
        _register(root, OTHER)
    # The policy replaced with one another key signed (well formed, but not this key's):
    _write_policy(root, (other / SIGNING_POLICY).read_bytes())
    assert Signer.policy_damage((root / SIGNING_POLICY).read_bytes()) is None
    with pytest.raises(SigningKeyRequired, match="signs with another key than this handle's"):
        _register(root)


def test_the_restores_the_message_gives_work_and_deleting_does_not(tmp_path: Path) -> None:
    root, twin = tmp_path / "r", tmp_path / "twin"
    _signed(root)
    _signed(twin)
    _write_policy(root, b"")
    with pytest.raises(IntegrityError, match="Deleting it does not"):
        _register(root)
    # Deleting it: a registry holding models and no policy refuses signed writes.
    (root / SIGNING_POLICY).unlink()
    with pytest.raises(ConfigError, match="holds models and does not sign"):
        _register(root)
    # The policy of another registry signed with the same key serves.
    shutil.copy(twin / SIGNING_POLICY, root / SIGNING_POLICY)
    assert _register(root).version == "2"


def test_policy_damage_accepts_every_policy_a_registry_records(tmp_path: Path) -> None:
    for key in (KEY, OTHER):
        root = tmp_path / key.decode()
        _signed(root, key)
        assert Signer.policy_damage((root / SIGNING_POLICY).read_bytes()) is None


# --- 2. the folders a failed download made ---------------------------------------------

BIG = os.urandom(8 * 2**20 + 4096)  # more than one read (8 MiB): the copy stops midway


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> ms.Registry:
    registry = ms.open_registry(tmp_path_factory.mktemp("dl") / "registry")
    registry.register(model_name="m", model=BIG, serializer="bytes")
    return registry


class _Raises(Callback):  # type: ignore[misc]  # fsspec is untyped
    """A progress callback that raises ``exc`` once bytes were copied, after running
    ``meanwhile`` (another writer's doing)."""

    def __init__(self, exc: BaseException, meanwhile: Any = None) -> None:
        super().__init__()
        self.exc = exc
        self.meanwhile = meanwhile

    def call(self, *args: Any, **kwargs: Any) -> None:
        if self.value > 0:
            if self.meanwhile is not None:
                self.meanwhile()
            raise self.exc


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "exc", [RuntimeError("user callback"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_a_download_a_progress_callback_stops_leaves_no_folder_it_made(
    reg: ms.Registry, tmp_path: Path, exc: BaseException
) -> None:
    with pytest.raises(type(exc)):
        reg.download("m", "1", tmp_path / "a" / "b" / "model.bin", progress=_Raises(exc))
    assert _tree(tmp_path) == []  # before: ['a', 'a/b']


class _CutAfter(io.RawIOBase):
    """A blob stream the network cuts after ``n`` bytes."""

    def __init__(self, inner: Any, n: int, seen: list[int]) -> None:
        self.inner, self.n, self.seen = inner, n, seen

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if sum(self.seen) >= self.n:
            raise ConnectionResetError("network cut")
        got = int(self.inner.readinto(buffer))
        self.seen.append(got)
        return got

    def close(self) -> None:
        self.inner.close()
        super().close()


def test_a_download_the_store_cuts_midway_leaves_no_folder_it_made(
    reg: ms.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    original = type(reg.store).open_blob
    monkeypatch.setattr(
        reg.store, "open_blob", lambda key: _CutAfter(original(reg.store, key), 2**20, seen)
    )
    with pytest.raises(ms.StoreError, match="network cut"):
        reg.download("m", "1", tmp_path / "x" / "y" / "model.bin")
    assert sum(seen) >= 2**20  # cut midway, not before the first byte
    assert _tree(tmp_path) == []  # before: ['x', 'x/y']


def test_a_failed_download_keeps_the_folders_that_were_there(
    reg: ms.Registry, tmp_path: Path
) -> None:
    (tmp_path / "was").mkdir()
    with pytest.raises(RuntimeError):
        reg.download(
            "m", "1", tmp_path / "was" / "new" / "model.bin", progress=_Raises(RuntimeError())
        )
    assert _tree(tmp_path) == ["was"]  # its own folder removed, the one there before kept
    with pytest.raises(RuntimeError):
        reg.download("m", "1", tmp_path / "was" / "model.bin", progress=_Raises(RuntimeError()))
    assert _tree(tmp_path) == ["was"]


def test_a_failed_download_keeps_a_folder_another_writer_put_a_file_in(
    reg: ms.Registry, tmp_path: Path
) -> None:
    def another_writer() -> None:
        (tmp_path / "a" / "theirs.txt").write_text("mine")

    with pytest.raises(RuntimeError):
        reg.download(
            "m",
            "1",
            tmp_path / "a" / "b" / "model.bin",
            progress=_Raises(RuntimeError(), another_writer),
        )
    assert _tree(tmp_path) == ["a", "a/theirs.txt"]  # a/b removed, a not empty: kept


def test_a_download_refused_after_making_its_folders_leaves_none(
    reg: ms.Registry, tmp_path: Path
) -> None:
    # Refused after the folders were made: a progress value that is no callback...
    with pytest.raises(ConfigError, match="progress must be"):
        reg.download("m", "1", tmp_path / "a" / "model.bin", progress="yes")
    # ...and a version whose blob is gone.
    other = ms.open_registry(tmp_path / "gone")
    mv = other.register(model_name="m", model=b"z", serializer="bytes")
    Path(other.store.local_path(blob_key(mv.artifact.digest))).unlink()  # type: ignore[attr-defined]
    with pytest.raises(IntegrityError, match="is missing from the store"):
        other.download("m", "1", tmp_path / "out" / "deep" / "model.bin")
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "out").exists()


# --- the command line's key check and copy_registry read a damaged policy as damage ----

MALFORMED = b'{"format":1,"signed":true,"since":"x","signature":"hmac-sha256:00"}'


def test_a_command_with_the_key_reads_past_a_policy_no_key_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line's key check (``_refuse_another_key``) blamed the key for a policy
    whose signature no key makes ("signs with another key"); the documents the key signed
    still verify, so the command reads them, as for any other damaged policy."""
    from modelship.deploy._cli import main as deploy_main

    root = tmp_path / "reg"
    _signed(root)
    _write_policy(root, MALFORMED)
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", KEY.decode())
    assert deploy_main(["status", str(root), "m"]) == 0, capsys.readouterr().err
    assert "another key" not in capsys.readouterr().err
    # A well-formed policy another key signed is still refused as another key's.
    other = tmp_path / "other"
    _signed(other, OTHER)
    assert deploy_main(["status", str(other), "m"]) == 2
    assert "another key" in capsys.readouterr().err


@pytest.mark.parametrize("damaged", ["source", "destination"])
def test_copy_registry_names_the_registry_whose_policy_is_damaged(
    tmp_path: Path, damaged: str
) -> None:
    """copy_registry said the two registries "sign with different keys" when one policy
    was damaged; it names the damaged one, and copies nothing."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    _signed(src)
    _signed(dst)
    target = src if damaged == "source" else dst
    _write_policy(target, b"")
    before = _files(dst)
    with pytest.raises(IntegrityError, match=f"{SIGNING_POLICY}.*{target.name}.*damaged"):
        ms.copy_registry(
            ms.open_registry(str(src), signing_key=KEY),
            ms.open_registry(str(dst), signing_key=KEY),
        )
    assert _files(dst) == before


def test_a_download_whose_folders_another_failed_download_removed_makes_them_again(
    reg: ms.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Download A made ``new/sub``, download B found it there (so it is not B's), then A
    failed and removed it, empty, before B created its temporary file: B raised
    StoreError (FileNotFoundError). B makes the folders again, once."""
    from modelship.registry import _download

    target = tmp_path / "new" / "sub" / "model.bin"
    target.parent.mkdir(parents=True)  # A's folders, found by B
    made = _download.make_callback

    def a_fails_now(*args: Any, **kwargs: Any) -> Any:  # between B's folders and its file
        shutil.rmtree(tmp_path / "new")
        monkeypatch.setattr(_download, "make_callback", made)
        return made(*args, **kwargs)

    monkeypatch.setattr(_download, "make_callback", a_fails_now)
    reg.download("m", "1", target)
    assert target.read_bytes() == BIG
