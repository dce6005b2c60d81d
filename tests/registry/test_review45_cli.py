"""Review 45: the registry command line honours every --tag/--metric condition, takes a
--tag value verbatim, refuses a URL for download -o, and takes -o storage_options={...}
on copy as the other commands do; URLs with #/? in a password are hidden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship._shown import hide_credentials
from modelship.cli import main

#: Where botocore and modelship look for an S3 endpoint besides the storage options.
_ENDPOINT_VARIABLES = ("MODELSHIP_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def _registry(path: Path) -> str:
    reg = ms.open_registry(str(path))
    for auc, stage in [(0.80, "dev"), (0.85, "prod"), (0.90, "archive")]:
        reg.register(
            model_name="fraud",
            model=str(auc).encode(),
            serializer="bytes",
            metrics={"auc": auc},
            tags={"stage": stage},
        )
    return str(path)


def _listed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(["registry", "versions", *argv]) == 0
    return [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]


def test_two_metric_conditions_on_one_name_must_both_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _registry(tmp_path / "r")
    assert _listed(capsys, url, "fraud", "--metric", "auc>0.82", "--metric", "auc<0.88") == ["2"]


def test_two_tag_conditions_on_one_key_must_both_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _registry(tmp_path / "r")
    argv = ["--tag", "stage!=dev", "--tag", "stage!=archive"]
    assert _listed(capsys, url, "fraud", *argv) == ["2"]


def test_two_conditions_on_one_name_page_as_one_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _registry(tmp_path / "r")
    argv = ["--metric", "auc>=0.85", "--metric", "auc<=0.9", "--limit", "1"]
    assert _listed(capsys, url, "fraud", *argv) == ["2"]


def test_a_third_condition_on_one_name_is_refused_not_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _registry(tmp_path / "r")
    argv = ["--tag", "stage!=dev", "--tag", "stage!=archive", "--tag", "stage!=x"]
    assert main(["registry", "versions", url, "fraud", *argv]) == 2
    err = capsys.readouterr().err
    assert "InvalidFilter" in err
    assert "at most two conditions on 'stage'" in err


def test_a_tag_value_is_taken_verbatim_spaces_included(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _registry(tmp_path / "r")
    ms.open_registry(url).set_tag("fraud", "3", "owner", " ana ")
    assert _listed(capsys, url, "fraud", "--tag", "owner= ana ") == ["3"]
    assert _listed(capsys, url, "fraud", "--tag", "owner=ana") == []
    assert _listed(capsys, url, "fraud", "--tag", "owner!= ana ") == ["1", "2"]


def test_a_metric_number_may_still_have_spaces_around_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _registry(tmp_path / "r")
    assert _listed(capsys, url, "fraud", "--metric", "auc >= 0.9 ") == ["3"]


@pytest.mark.parametrize("output", ["s3://bucket/fraud/model.bin", "file:///tmp/x/model.bin"])
def test_download_to_a_url_is_refused_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    output: str,
) -> None:
    url = _registry(tmp_path / "r")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["registry", "download", url, "fraud", "1", "-o", output]) == 2
    assert "-o takes a local file path" in capsys.readouterr().err
    assert list(work.iterdir()) == []


def test_download_to_a_relative_path_that_looks_like_a_url_after_dot_slash_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _registry(tmp_path / "r")
    monkeypatch.chdir(tmp_path)
    assert main(["registry", "download", url, "fraud", "1", "-o", "./s3:/b/m.bin"]) == 0
    assert (tmp_path / "s3:" / "b" / "m.bin").read_bytes() == b"0.8"


@pytest.mark.s3
def test_copy_takes_nested_storage_options_as_other_commands_do(
    tmp_path: Path, s3_bucket: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint and the keys reach the S3 side only through -o storage_options={...}:
    nothing in the environment names them, so a copy that dropped the options would not
    find moto's bucket."""
    for name in (*_ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    url = _registry(tmp_path / "r")
    option = "storage_options=" + json.dumps(s3_bucket["options"])
    assert main(["registry", "copy", url, s3_bucket["url"], "-o", option]) == 0
    listed = s3_bucket["client"].list_objects_v2(Bucket=s3_bucket["bucket"], Prefix="registry/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any("fraud" in key for key in keys), keys
    copied = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    assert copied.models() == ["fraud"]
    assert [mv.version for mv in copied.versions("fraud")] == ["1", "2", "3"]


@pytest.mark.parametrize("char", ["#", "?"])
def test_a_raw_hash_or_question_mark_in_a_password_is_hidden(char: str) -> None:
    text = f"failed on https://ci:pa{char}ss@127.0.0.1:9/reg"
    assert hide_credentials(text) == "failed on https://***@127.0.0.1:9/reg"


def test_an_at_in_a_query_or_fragment_of_a_url_without_user_info_is_kept() -> None:
    text = "https://host/path?email=a@b and https://host#to=a@b and https://host?x=1@y"
    assert hide_credentials(text) == text


@pytest.mark.parametrize(
    "url",
    [
        "https://models.internal:8443?owner=ana@example.com",
        "http://prom:9090?query=up@1700000000",
        "http://prom:9090?a=1&query=up@1700000000",
        "https://host:8443#to=a@b",
        "https://host:8443?a/b@c",
    ],
)
def test_an_at_in_a_query_after_a_port_is_kept(url: str) -> None:
    text = f"registry {url} unreachable"
    assert hide_credentials(text) == text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:1234?ss@host/r", "https://***@host/r"),
        ("https://u:1234#ss@host/r", "https://***@host/r"),
        ("redis://:pa#ss@host", "redis://***@host"),
        ("https://u:pa?s=s@host", "https://***@host"),
    ],
)
def test_a_password_after_a_port_like_colon_is_still_hidden(url: str, shown: str) -> None:
    assert hide_credentials(f"failed on {url}") == f"failed on {shown}"
