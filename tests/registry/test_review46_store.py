"""Review 46, stores: ``file://localhost/<path>`` is the absolute ``<path>`` (RFC 8089),
and ``copy_registry`` refuses a destination inside its source however the S3 endpoint
is spelled."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.registry import FsspecStore


def _registered(url: str, **options: Any) -> ms.Registry:
    reg = ms.open_registry(url, **options)
    reg.register(model_name="m", model=b"real", serializer="bytes")
    return reg


# --- file://localhost -----------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "LocalHost"])
@pytest.mark.parametrize("scheme", ["file", "local"])
def test_file_url_with_localhost_opens_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str, host: str
) -> None:
    target = tmp_path / "srv" / "models"
    _registered(str(target))
    monkeypatch.chdir(tmp_path)
    reg = ms.open_registry(f"{scheme}://{host}{target}")
    assert reg.store.root == str(target)
    assert reg.load("m") == b"real"


def test_register_through_localhost_url_writes_the_absolute_path_not_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "srv" / "models"
    _registered(str(target))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    ms.open_registry(f"file://localhost{target}").register(
        model_name="m", model=b"new", serializer="bytes"
    )
    assert ms.open_registry(str(target)).get("m").version == "2"
    assert list(work.iterdir()) == []


def test_file_url_with_another_first_part_stays_the_documented_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/deploy.md: file://models is the relative path models.
    monkeypatch.chdir(tmp_path)
    assert ms.open_registry("file://models").store.root == str(tmp_path / "models")
    assert ms.open_registry("file://localhost.x/m").store.root == str(tmp_path / "localhost.x/m")


def test_copy_refuses_a_localhost_url_of_the_source_as_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "models"
    src = _registered(str(target))
    monkeypatch.chdir(tmp_path)  # what the old reading wrote went under the working folder
    with pytest.raises(ms.ConfigError, match="inside the other"):
        ms.copy_registry(src, ms.open_registry(f"file://localhost{target}/sub"))


# --- copy_registry: one S3 endpoint spelled two ways ----------------------------------


def _with_endpoint(options: dict[str, Any], endpoint: str) -> dict[str, Any]:
    changed = copy.deepcopy(options)
    changed["client_kwargs"]["endpoint_url"] = endpoint
    return changed


@pytest.mark.s3
@pytest.mark.parametrize("suffix", ["", "/sub"])
@pytest.mark.parametrize("spelling", ["trailing slash", "upper-case scheme"])
def test_copy_refuses_destination_inside_source_on_the_same_endpoint_spelled_otherwise(
    s3_bucket: dict[str, Any], suffix: str, spelling: str
) -> None:
    endpoint = s3_bucket["endpoint"]
    other = endpoint + "/" if spelling == "trailing slash" else "HTTP" + endpoint[4:]
    src = _registered(s3_bucket["url"], **s3_bucket["options"])
    dst = ms.open_registry(s3_bucket["url"] + suffix, **_with_endpoint(s3_bucket["options"], other))
    with pytest.raises(ms.ConfigError, match="inside the other"):
        ms.copy_registry(src, dst)
    assert [v.version for v in src.versions("m")] == ["1"]
    assert src.models() == ["m"]


@pytest.mark.s3
def test_copy_refuses_nested_destination_whose_endpoint_comes_from_the_environment(
    s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    src = _registered(s3_bucket["url"], **s3_bucket["options"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_bucket["endpoint"] + "/")
    # An s3fs made without an endpoint: botocore reads the variable itself.
    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"region_name": "us-east-1"}
    )
    root = f"{s3_bucket['bucket']}/registry/sub"
    dst = ms.Registry(FsspecStore(fs, root, url=f"s3://{root}"))
    with pytest.raises(ms.ConfigError, match="inside the other"):
        ms.copy_registry(src, dst)


@pytest.mark.s3
def test_copy_between_prefixes_of_one_bucket_side_by_side_still_works(
    s3_bucket: dict[str, Any],
) -> None:
    src = _registered(s3_bucket["url"], **s3_bucket["options"])
    other = _with_endpoint(s3_bucket["options"], s3_bucket["endpoint"] + "/")
    dst = ms.open_registry(f"s3://{s3_bucket['bucket']}/registry-copy", **other)
    ms.copy_registry(src, dst)
    assert dst.load("m") == b"real"


def test_every_reader_of_a_url_takes_file_localhost_as_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check command line's file reader, the environment fingerprint of a path and the
    # prediction log open URLs through fsspec themselves: file://localhost/abs is /abs
    # there too, never ./localhost/abs under the current folder.
    from modelship._fingerprint import _path_fingerprint
    from modelship.checks._cli_common import read_bytes
    from modelship.deploy.serve._log import _filesystem

    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = tmp_path / "data.csv"
    data.write_bytes(b"a\n1\n")
    url = f"file://localhost{data}"
    assert read_bytes(url) == b"a\n1\n"
    assert _path_fingerprint(url) == _path_fingerprint(str(data))
    _, root = _filesystem(f"file://localhost{tmp_path}/log", {})
    assert Path(root) == tmp_path / "log"
    assert list(elsewhere.iterdir()) == []
