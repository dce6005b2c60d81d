"""Store defects a review found (review 37), each closed and pinned by a test.

A registry at "/" resolved keys against the current folder; an upper-case scheme, or an
fsspec file system that cannot be made for a URL, escaped as an untyped error; a manifest
claiming a huge artifact made load() allocate that much; a named pipe in place of a
document made every reader wait forever.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.registry import FsspecStore, LocalBlobs
from modelship.registry._layout import blob_key, head_key, manifest_key
from modelship.testing import MemoryStore

# --- 1. a registry at the root folder ------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "file:///"])
def test_a_registry_at_the_root_folder_keeps_its_keys_under_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    ms.open_registry(str(tmp_path)).register(
        model_name="in_cwd", model=b"x", serializer="bytes", capture_environment=False
    )
    before = sorted(os.listdir(tmp_path))
    store = ms.open_registry(url).store
    assert isinstance(store, LocalBlobs)
    assert store.local_path("x") == "/x"
    assert store.local_path("models/m/hint-slots.json") == "/models/m/hint-slots.json"
    try:
        found = ms.open_registry(url).models()
    except ms.RegistryNotFound:
        found = []
    assert "in_cwd" not in found  # the registry in the current folder is not the one at /
    assert sorted(os.listdir(tmp_path)) == before


def test_a_folder_that_cannot_be_made_is_a_store_error_not_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))

    def makedirs(path: str, *args: Any, **kwargs: Any) -> None:
        raise FileNotFoundError(2, "No such file or directory", path)

    monkeypatch.setattr(os, "makedirs", makedirs)  # a folder on the path went meanwhile
    with pytest.raises(ms.StoreError, match="cannot create the folder"):
        reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)


# --- 2. URL schemes ------------------------------------------------------------------------


def test_an_upper_case_scheme_opens_the_same_store_as_lower_case() -> None:
    name = f"review37-{uuid.uuid4().hex}"
    ms.open_registry(f"MEMORY://{name}").register(
        model_name="m", model=b"x", serializer="bytes", capture_environment=False
    )
    assert ms.open_registry(f"memory://{name}").load("m") == b"x"
    assert ms.open_registry(f"Memory://{name}").load("m") == b"x"


def test_an_upper_case_s3_scheme_opens_an_s3_store() -> None:
    pytest.importorskip("s3fs")
    store = ms.open_registry("S3://bucket/prefix").store
    assert isinstance(store, FsspecStore)
    assert store.protocol in ("s3", "s3a")


@pytest.mark.parametrize("url", ["zip://x", "github://a/b"])
def test_a_file_system_that_cannot_be_made_for_the_url_is_unsupported_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ms.UnsupportedStorage, match="cannot open a registry at") as caught:
        ms.open_registry(url)
    assert url in str(caught.value)
    assert isinstance(caught.value, ms.ModelshipError)


def test_a_refused_url_is_shown_without_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ms.UnsupportedStorage) as caught:
        ms.open_registry("zip://user:s3cret@x")
    assert "s3cret" not in str(caught.value)


# --- 3. a manifest claiming a huge artifact --------------------------------------------------


def _store(kind: str, tmp_path: Path) -> Any:
    return MemoryStore() if kind == "memory" else FsspecStore.from_url(str(tmp_path))


@pytest.mark.parametrize("kind", ["memory", "local"])
@pytest.mark.parametrize(("serializer", "model"), [("joblib", {"a": 1}), ("numpy", np.arange(3))])
def test_a_manifest_claiming_a_huge_artifact_is_an_integrity_error(
    tmp_path: Path, kind: str, serializer: str, model: Any
) -> None:
    store = _store(kind, tmp_path)
    reg = ms.Registry(store)
    reg.register(model_name="m", model=model, serializer=serializer, capture_environment=False)
    doc = json.loads(store.read(manifest_key("m", "1")))
    doc["artifact"]["size"] = 2**40  # one checkpoint interval as large: 1 TiB
    doc["artifact"]["checkpoints"] = {"every": 2**40, "sha256": []}
    store.replace(manifest_key("m", "1"), json.dumps(doc).encode())
    with pytest.raises(ms.IntegrityError, match="does not match its manifest"):
        reg.load("m", "1")


# --- 4. a named pipe in place of a document ----------------------------------------------


def _without_waiting(fifo: Path, call: Callable[[], Any]) -> tuple[str, Any]:
    """``call()``'s ("value", result) or ("raised", error); a failure if it waits on ``fifo``.

    The join timeout only ends a test that would hang; nothing here is timed.
    """
    out: list[tuple[str, Any]] = []

    def run() -> None:
        try:
            out.append(("value", call()))
        except BaseException as exc:
            out.append(("raised", exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    if not out:
        # Release the reader waiting for a writer, so the thread ends with the test.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"the call waited on the named pipe {fifo}")
    return out[0]


def _fifo_at(path: Path) -> Path:
    path.unlink()
    os.mkfifo(path)
    return path


def test_a_named_pipe_in_place_of_a_hint_is_ignored_not_waited_on(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path))
    reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    fifo = _fifo_at(tmp_path / head_key("m"))
    assert _without_waiting(fifo, lambda: reg.get("m").version) == ("value", "1")


def test_a_named_pipe_in_place_of_a_document_is_missing_like_a_folder(tmp_path: Path) -> None:
    store = FsspecStore.from_url(str(tmp_path))
    store.create("docs/a.json", b"{}")
    fifo = _fifo_at(tmp_path / "docs" / "a.json")
    for call in (
        lambda: store.read("docs/a.json"),
        lambda: store.open_blob("docs/a.json"),
        lambda: store.size("docs/a.json"),
        lambda: store.modified("docs/a.json"),
    ):
        how, got = _without_waiting(fifo, call)
        assert how == "raised"
        assert type(got) is FileNotFoundError
    assert _without_waiting(fifo, lambda: store.read_many(["docs/a.json"])) == ("value", {})
    assert not store.exists("docs/a.json")


def test_creating_a_document_where_a_named_pipe_is_is_a_store_error_not_taken(
    tmp_path: Path,
) -> None:
    store = FsspecStore.from_url(str(tmp_path))
    store.create("docs/a.json", b"{}")
    _fifo_at(tmp_path / "docs" / "a.json")
    with pytest.raises(ms.StoreError, match="named pipe"):
        store.create("docs/a.json", b"{}")
    writer = store.blob_writer()
    writer.write(b"x")
    with pytest.raises(ms.StoreError, match="named pipe"):
        writer.publish("docs/a.json")


def test_a_named_pipe_in_place_of_a_blob_is_a_missing_artifact(tmp_path: Path) -> None:
    store = FsspecStore.from_url(str(tmp_path))
    reg = ms.Registry(store)
    mv = reg.register(
        model_name="m", model={"a": 1}, serializer="joblib", capture_environment=False
    )
    fifo = _fifo_at(Path(store.local_path(blob_key(mv.artifact.digest))))
    how, got = _without_waiting(fifo, lambda: reg.verify("m", "1"))
    assert how == "raised"
    assert isinstance(got, ms.IntegrityError)
