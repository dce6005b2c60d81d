"""The S3 endpoint from the environment, for the library and the CLI, in AWS's order."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship._endpoints import ENDPOINT_VARIABLES, s3_endpoint, with_s3_endpoint
from modelship.cli import main

DEAD = "http://127.0.0.1:9"  # the discard port: nothing answers there


# --- which URL wins -------------------------------------------------------------------------


@given(st.sets(st.sampled_from(ENDPOINT_VARIABLES)))
def test_the_first_variable_set_in_precedence_order_decides(chosen: set[str]) -> None:
    env = {name: f"http://{name.lower()}:1" for name in chosen}
    expected = next((name for name in ENDPOINT_VARIABLES if name in chosen), None)
    found = s3_endpoint(env)
    assert (found[0] if found else None) == expected


def test_the_service_specific_aws_variable_wins_over_the_global_one() -> None:
    env = {"AWS_ENDPOINT_URL": "http://global:1", "AWS_ENDPOINT_URL_S3": "http://s3:1"}
    assert s3_endpoint(env) == ("AWS_ENDPOINT_URL_S3", "http://s3:1")


def test_ignore_configured_endpoint_urls_turns_off_the_aws_variables_only() -> None:
    env = {
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "True",
        "AWS_ENDPOINT_URL_S3": "http://s3:1",
        "MODELSHIP_S3_ENDPOINT_URL": "http://ours:1",
    }
    assert s3_endpoint(env) == ("MODELSHIP_S3_ENDPOINT_URL", "http://ours:1")
    del env["MODELSHIP_S3_ENDPOINT_URL"]
    assert s3_endpoint(env) is None


@pytest.mark.parametrize(
    "explicit", [{"endpoint_url": "http://x:1"}, {"client_kwargs": {"endpoint_url": "http://x:1"}}]
)
def test_explicit_storage_options_win_over_the_environment(explicit: dict[str, Any]) -> None:
    env = {"AWS_ENDPOINT_URL_S3": "http://env:1"}
    assert with_s3_endpoint("s3://b/p", explicit, env) == explicit


def test_the_endpoint_joins_other_client_kwargs() -> None:
    env = {"AWS_ENDPOINT_URL": "http://env:1"}
    options = with_s3_endpoint("s3a://b/p", {"client_kwargs": {"region_name": "us-east-1"}}, env)
    assert options == {
        "client_kwargs": {"region_name": "us-east-1", "endpoint_url": "http://env:1"}
    }


@pytest.mark.parametrize("url", ["/srv/models", "memory://x", "gs://bucket/p", "file:///tmp/x"])
def test_urls_that_are_not_s3_get_no_endpoint(url: str) -> None:
    assert with_s3_endpoint(url, {}, {"AWS_ENDPOINT_URL": "http://env:1"}) == {}


def test_an_endpoint_that_is_not_a_url_is_refused_naming_the_variable() -> None:
    with pytest.raises(ms.ConfigError, match="AWS_ENDPOINT_URL_S3='localhost:9000'"):
        s3_endpoint({"AWS_ENDPOINT_URL_S3": "localhost:9000"})


# --- over HTTP, against moto's S3 server ----------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*ENDPOINT_VARIABLES, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _credentials(bucket: dict[str, Any]) -> dict[str, Any]:
    """The bucket's storage options without its endpoint: the environment must supply it."""
    options = bucket["options"]
    return {
        "key": options["key"],
        "secret": options["secret"],
        "client_kwargs": {"region_name": "us-east-1"},
    }


@pytest.mark.s3
@pytest.mark.parametrize("variable", ENDPOINT_VARIABLES)
def test_the_library_reaches_s3_through_each_endpoint_variable(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch, variable: str
) -> None:
    clean_env.setenv(variable, s3_bucket["endpoint"])
    reg = ms.open_registry(s3_bucket["url"], **_credentials(s3_bucket))
    reg.register(model_name="m", model=b"weights", serializer="bytes")
    assert ms.open_registry(s3_bucket["url"], **_credentials(s3_bucket)).load("m") == b"weights"


@pytest.mark.s3
def test_explicit_options_win_over_an_endpoint_in_the_environment(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL_S3", DEAD)
    clean_env.setenv("MODELSHIP_S3_ENDPOINT_URL", DEAD)
    reg = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    assert reg.register(model_name="m", model=b"w", serializer="bytes").version == "1"


@pytest.mark.s3
def test_the_cli_downloads_from_s3_through_aws_endpoint_url_s3(
    s3_bucket: dict[str, Any],
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ms.open_registry(s3_bucket["url"], **s3_bucket["options"]).register(
        model_name="m", model=b"weights", serializer="bytes"
    )
    clean_env.setenv("AWS_ENDPOINT_URL_S3", s3_bucket["endpoint"])
    out = tmp_path / "model.bin"
    options = _credentials(s3_bucket)
    argv = ["registry", "download", s3_bucket["url"], "m", "1", "-o", str(out)]
    argv += ["--option", f"key={options['key']}", "--option", f"secret={options['secret']}"]
    assert main(argv) == 0
    assert capsys.readouterr().out.split()[0] == hashlib.sha256(b"weights").hexdigest()
    assert out.read_bytes() == b"weights"
