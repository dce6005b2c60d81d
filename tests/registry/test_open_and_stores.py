"""open_registry's URL handling, store safety probing, serializers and progress."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fsspec.callbacks import Callback

import modelship as ms
from modelship.registry import (
    FsspecStore,
    ReplacesBlobs,
    get_serializer,
    register_serializer,
    serializer_names,
)
from modelship.testing import HookStore


def test_plain_path_and_file_url_open_the_same_registry(tmp_path: Path) -> None:
    ms.open_registry(str(tmp_path)).register(model_name="m", model=b"x", serializer="bytes")
    assert ms.open_registry(f"file://{tmp_path}").get("m").version == "1"


def test_a_home_folder_that_cannot_be_expanded_raises_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As download() refuses it: not a folder literally named "~user" in the working folder.
    monkeypatch.chdir(tmp_path)
    user = "nosuchuser_modelship_tests"
    with pytest.raises(ms.ConfigError, match=f"~{user} cannot be expanded.*give the full path"):
        ms.open_registry(f"~{user}/models").register(model_name="m", model=b"x", serializer="bytes")
    assert not (tmp_path / f"~{user}").exists()


def test_a_home_folder_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    ms.open_registry("~/models").register(model_name="m", model=b"x", serializer="bytes")
    assert (tmp_path / "models").is_dir()


def test_unknown_scheme_raises_unsupported_storage() -> None:
    with pytest.raises(ms.UnsupportedStorage, match="'nosuch'"):
        ms.open_registry("nosuch://bucket/x")


def test_scheme_with_missing_package_names_what_to_install() -> None:
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - depends on the machine
        pytest.skip("gcsfs is installed here")
    with pytest.raises(ms.MissingDependency, match="pip install gcsfs"):
        ms.open_registry("gs://bucket/models")


def test_missing_s3fs_names_the_modelship_extra(tmp_path: Path) -> None:
    # A child process where s3fs cannot be imported, as on a machine without the extra.
    blocker = tmp_path / "s3fs.py"
    blocker.write_text("raise ImportError('No module named s3fs')\n")
    code = (
        "import modelship as ms\n"
        "try:\n    ms.open_registry('s3://bucket/p')\n"
        "except ms.MissingDependency as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "pip install 'modelship[s3]'" in out.stdout, out.stderr


def test_empty_url_raises_unsupported_storage() -> None:
    with pytest.raises(ms.UnsupportedStorage, match="empty"):
        ms.open_registry("")


class _OverwritingStore(HookStore):
    """A store that claims exclusive creates but overwrites: what the probe must catch."""

    def create(self, key: str, data: bytes) -> None:
        self.inner.replace(key, data)


def test_store_that_lets_a_second_create_through_is_refused_for_writing(tmp_path: Path) -> None:
    store = _OverwritingStore(FsspecStore.from_url(str(tmp_path)))
    reg = ms.Registry(store)
    with pytest.raises(ms.UnsafeStore, match="exclusive creates"):
        reg.register(model_name="m", model=b"x", serializer="bytes")
    assert (
        ms.Registry(store, single_writer=True)
        .register(model_name="m", model=b"x", serializer="bytes")
        .version
        == "1"
    )


def test_store_without_exclusive_creates_needs_single_writer(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path), exclusive_creates=False)
    with pytest.raises(ms.UnsafeStore, match="single_writer=True"):
        reg.register(model_name="m", model=b"x", serializer="bytes")
    reader = ms.open_registry(str(tmp_path), exclusive_creates=False, single_writer=True)
    reader.register(model_name="m", model=b"x", serializer="bytes")
    assert reader.get("m").version == "1"


def test_reading_needs_no_write_probe(tmp_path: Path) -> None:
    ms.open_registry(str(tmp_path)).register(model_name="m", model=b"x", serializer="bytes")
    os.chmod(tmp_path, 0o555)
    try:
        assert ms.open_registry(str(tmp_path)).load("m") == b"x"
    finally:
        os.chmod(tmp_path, 0o755)


def test_short_signing_key_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ms.ConfigError, match="16 bytes"):
        ms.open_registry(str(tmp_path), signing_key="short")


def test_local_blobs_are_read_only_and_checkable_with_sha256sum(tmp_path: Path) -> None:
    mv = ms.open_registry(str(tmp_path)).register(model_name="m", model=np.arange(10))
    blob = tmp_path / "blobs" / "sha256" / mv.artifact.hexdigest[:2] / mv.artifact.hexdigest
    assert blob.stat().st_mode & 0o222 == 0
    out = subprocess.run(["sha256sum", str(blob)], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == mv.artifact.hexdigest


def test_failed_serialisation_leaves_no_staging_files(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path))

    class Unpicklable:
        def __reduce__(self) -> Any:
            raise RuntimeError("nope")

    with pytest.raises(ms.SerializationError, match="nope"):
        reg.register(model_name="m", model=Unpicklable())
    assert list((tmp_path / ".staging").iterdir()) == []
    assert not (tmp_path / "blobs").exists() or not any((tmp_path / "blobs").rglob("*.*"))


def test_wrong_model_type_for_serializer_raises_serialization_error(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path))
    with pytest.raises(ms.SerializationError, match="'bytes' serializer"):
        reg.register(model_name="m", model=[1, 2], serializer="bytes")
    with pytest.raises(ms.SerializationError, match="object arrays"):
        reg.register(model_name="m", model=np.array([None]), serializer="numpy")


def test_unknown_serializer_raises_config_error_listing_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ms.ConfigError, match="joblib"):
        ms.open_registry(str(tmp_path)).register(model_name="m", model=b"x", serializer="nope")


def test_user_serializer_registered_in_process_is_used(tmp_path: Path) -> None:
    class Upper:
        name = "upper-text"
        media_type = "text/plain"

        def dump(self, obj: Any, fp: Any) -> None:
            fp.write(obj.upper().encode())

        def load(self, fp: Any) -> Any:
            return fp.read().decode()

        def library_versions(self) -> dict[str, str]:
            return {"upper": "1"}

    register_serializer(Upper())
    reg = ms.open_registry(str(tmp_path))
    mv = reg.register(model_name="m", model="abc", serializer="upper-text")
    assert mv.artifact.media_type == "text/plain"
    assert mv.artifact.library_versions == {"upper": "1"}
    assert reg.load("m") == "ABC"
    assert "upper-text" in serializer_names()


def test_builtin_serializers_come_from_the_entry_point_group() -> None:
    import importlib.metadata

    names = {ep.name for ep in importlib.metadata.entry_points(group="modelship.serializers")}
    assert {"joblib", "bytes", "numpy"} <= names
    assert get_serializer("joblib").library_versions()["joblib"]


def test_manifest_records_library_versions(tmp_path: Path) -> None:
    mv = ms.open_registry(str(tmp_path)).register(model_name="m", model={"a": 1})
    assert set(mv.artifact.library_versions) >= {"joblib", "numpy", "python"}


class _Recorder(Callback):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def call(self, *args: Any, **kwargs: Any) -> None:
        self.total = self.value


def test_progress_callback_sees_every_byte_of_register_and_load(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path))
    data = os.urandom(3 * 2**20 + 17)
    up = _Recorder()
    reg.register(model_name="m", model=data, serializer="bytes", progress=up)
    assert up.value == len(data)
    down = _Recorder()
    assert reg.load("m", progress=down) == data
    assert down.value == len(data)
    assert down.size == len(data)


def test_progress_is_silent_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from modelship.registry._progress import make_callback

    monkeypatch.setenv("CI", "true")
    assert type(make_callback(None, desc="x")).__name__ == "NoOpCallback"
    assert type(make_callback(True, desc="x")).__name__ == "TqdmCallback"


def test_lineage_parent_must_exist(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path))
    reg.register(model_name="m", model=b"x", serializer="bytes")
    mv = reg.register(model_name="m", model=b"y", serializer="bytes", lineage={"parent": "1"})
    assert mv.lineage.parent == "1"
    with pytest.raises(ms.VersionNotFound, match="parent"):
        reg.register(model_name="m", model=b"z", serializer="bytes", lineage={"parent": "9"})


def test_lineage_records_git_commit_and_dirty_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a", "-C", str(repo)]
    subprocess.run([*git[:-2], "init", "-q", str(repo)], check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.chdir(repo)
    reg = ms.open_registry(str(tmp_path / "reg"))
    clean = reg.register(model_name="m", model=b"x", serializer="bytes")
    (repo / "train.py").write_text("print(2)\n")
    dirty = reg.register(model_name="m", model=b"y", serializer="bytes")
    assert (clean.lineage.git_commit, clean.lineage.git_dirty) == (head, False)
    assert (dirty.lineage.git_commit, dirty.lineage.git_dirty) == (head, True)


def test_registering_the_same_artifact_uploads_no_bytes(
    s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    data = os.urandom(2**20)
    # Without environment snapshots, which are new bytes every time.
    reg.register(model_name="m", model=data, serializer="bytes", capture_environment=False)
    fs = reg.store.fs  # type: ignore[attr-defined]
    calls: list[str] = []
    real = fs.put_file

    def spy(lpath: str, rpath: str, **kw: Any) -> Any:
        calls.append(rpath)
        return real(lpath, rpath, **kw)

    # s3fs's sync put_file is an attribute of the instance, which fsspec caches and later
    # tests share: it must be put back, not deleted (that leaves fsspec's generic one).
    monkeypatch.setattr(fs, "put_file", spy)
    again = reg.register(
        model_name="other", model=data, serializer="bytes", capture_environment=False
    )
    assert calls == []
    assert reg.load("other", again.version) == data


def test_s3_registry_goes_over_http_to_the_moto_server(s3_bucket: dict[str, Any]) -> None:
    import boto3

    ms.open_registry(s3_bucket["url"], **s3_bucket["options"]).register(
        model_name="m", model=b"x", serializer="bytes"
    )
    client = boto3.client(
        "s3",
        endpoint_url=s3_bucket["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket["bucket"])["Contents"]}
    assert "registry/models/m/versions/1.json" in keys


def test_s3_options_given_as_pandas_takes_them_reach_s3fs(s3_bucket: dict[str, Any]) -> None:
    nested = ms.open_registry(s3_bucket["url"], storage_options=s3_bucket["options"])
    nested.register(model_name="m", model=b"x", serializer="bytes")
    flat = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    assert flat.load("m") == b"x"


def test_s3_conditional_create_refuses_a_second_writer(s3_bucket: dict[str, Any]) -> None:
    store = FsspecStore.from_url(s3_bucket["url"], **s3_bucket["options"])
    store.create("doc.json", b"{}")
    with pytest.raises(FileExistsError):
        store.create("doc.json", b"[]")
    assert store.read("doc.json") == b"{}"
    with pytest.raises(ms.StoreError, match="no bytes"):
        store.create("empty.json", b"")


def test_load_from_s3_spools_and_verifies(s3_bucket: dict[str, Any]) -> None:
    reg = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    arr = np.random.default_rng(0).normal(size=200_000)
    reg.register(model_name="m", model=arr)
    np.testing.assert_array_equal(reg.load("m"), arr)


def test_bytes_serializer_streams_large_buffers_without_copying() -> None:
    buf = io.BytesIO()
    view = memoryview(bytearray(20 * 2**20))
    get_serializer("bytes").dump(view, buf)
    assert buf.getbuffer().nbytes == 20 * 2**20


class _RacingS3:
    """An fs whose conditional PUT first loses a race with 409, as real S3 can answer."""

    protocol = ("s3",)

    def __init__(self, conflicts: int, then_taken: bool) -> None:
        self.conflicts = conflicts
        self.then_taken = then_taken
        self.calls = 0
        self.stored: dict[str, bytes] = {}

    def pipe_file(self, path: str, data: bytes, mode: str = "overwrite") -> None:
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls <= self.conflicts:
            error = ClientError(
                {"Error": {"Code": "ConditionalRequestConflict", "Message": "try again"}},
                "PutObject",
            )
            raise OSError(22, "A conflicting conditional operation is in progress") from error
        if self.then_taken:
            self.stored.setdefault(path, b"another writer's")
            raise FileExistsError(path)
        self.stored[path] = data

    def cat_file(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        return self.stored[path][start:end]  # the read-back of a create answered "taken"


def test_s3_conditional_conflict_is_retried_until_it_lands() -> None:
    fs = _RacingS3(conflicts=2, then_taken=False)
    FsspecStore(fs, "bucket/reg", url="s3://bucket/reg").create("k", b"v")
    assert fs.stored == {"bucket/reg/k": b"v"}
    assert fs.calls == 3


def test_s3_conditional_conflict_then_taken_is_file_exists() -> None:
    fs = _RacingS3(conflicts=1, then_taken=True)
    with pytest.raises(FileExistsError):
        FsspecStore(fs, "bucket/reg", url="s3://bucket/reg").create("k", b"v")


def test_s3_errors_other_than_conflict_are_store_errors() -> None:
    class Broken(_RacingS3):
        def pipe_file(self, path: str, data: bytes, mode: str = "overwrite") -> None:
            self.calls += 1
            raise OSError(13, "Access Denied")

    fs = Broken(conflicts=0, then_taken=False)
    with pytest.raises(ms.StoreError, match="Access Denied"):
        FsspecStore(fs, "bucket/reg", url="s3://bucket/reg").create("k", b"v")
    assert fs.calls == 1


def test_two_readers_of_a_blob_in_memory_each_read_all_of_it() -> None:
    # fsspec's memory file system gives every reader of a key one shared file object and
    # seeks it to 0 at each open; a registry thread checking a reused blob read 0 bytes.
    store = FsspecStore.from_url(f"memory://two-readers-{uuid.uuid4().hex}")
    store.create("blobs/x", b"0123456789")
    first = store.open_blob("blobs/x")
    assert first.read(4) == b"0123"
    second = store.open_blob("blobs/x")
    assert second.read() == b"0123456789"
    second.close()
    assert first.read() == b"456789"
    first.close()
    assert store.read("blobs/x") == b"0123456789"


@pytest.mark.parametrize("step", ["publish", "publish_over"])
def test_a_blob_stored_in_memory_appears_whole_never_part_written(step: str) -> None:
    # fsspec's put_file into its memory file system makes the key visible empty and fills
    # it chunk by chunk (4 MiB each): another registration checking the blob meanwhile
    # read 0 bytes and "repaired" it. The upload's progress callback runs between chunks,
    # where another thread could: there, the key must be absent or whole.
    store = FsspecStore.from_url(f"memory://whole-blob-{uuid.uuid4().hex}")
    data = bytes(range(256)) * (9 * 2**20 // 256)  # three of put_file's chunks
    seen: list[int | None] = []

    class Watching(Callback):
        def relative_update(self, inc: int = 1) -> None:
            seen.append(store.size("blobs/x") if store.exists("blobs/x") else None)

    if step == "publish_over":
        store.create("blobs/x", b"damaged")
    writer = store.blob_writer(Watching())
    writer.write(data)
    if step == "publish":
        assert writer.publish("blobs/x") is True
    else:
        assert isinstance(writer, ReplacesBlobs)
        writer.publish_over("blobs/x")
    assert seen, "the progress callback never ran"
    assert set(seen) == {len(data)}
    assert store.read("blobs/x") == data
