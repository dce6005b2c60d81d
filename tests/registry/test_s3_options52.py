"""S3 registry URLs and storage options a user gets wrong are refused when the registry is
opened, saying what to write, never at the first request as a TypeError inside a
StoreError, nor silently as a registry apart (``s3://bucket//models``)."""

from __future__ import annotations

from typing import Any

import pytest

import modelship as ms
from modelship._endpoints import ENDPOINT_VARIABLES
from modelship.cli import main

pytestmark = pytest.mark.s3


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*ENDPOINT_VARIABLES, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _register(url: str, options: dict[str, Any]) -> None:
    reg = ms.open_registry(url, **options)
    reg.register(model_name="fraud", model=b"v1", serializer="bytes", capture_environment=False)


# --- URLs whose key holds an empty segment ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "meant"),
    [("//models", "/models"), ("/team//models", "/team/models"), ("//models/", "/models")],
)
def test_a_doubled_slash_in_the_key_is_refused_naming_the_single_slash_url(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch, path: str, meant: str
) -> None:
    bucket = s3_bucket["bucket"]
    with pytest.raises(ms.UnsupportedStorage, match=f"write 's3://{bucket}{meant}'"):
        _register(f"s3://{bucket}{path}", s3_bucket["options"])
    listed = s3_bucket["client"].list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0  # nothing was written under '/models/...'


def test_a_base_ending_in_a_slash_joined_with_a_path_is_refused_not_a_registry_apart(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    bucket, options = s3_bucket["bucket"], s3_bucket["options"]
    base = f"s3://{bucket}/"  # e.g. a CI variable ending in '/'
    _register(f"s3://{bucket}/models", options)
    with pytest.raises(ms.UnsupportedStorage, match="empty segment"):
        ms.open_registry(base + "/models", **options)
    # Both other spellings open the one registry, as on a local disk.
    assert ms.open_registry(f"s3://{bucket}/models/", **options).models() == ["fraud"]
    assert ms.open_registry(f"s3a://{bucket}/models", **options).models() == ["fraud"]


def test_a_url_without_a_bucket_is_refused(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    bucket = s3_bucket["bucket"]
    with pytest.raises(ms.UnsupportedStorage, match=f"names no bucket.*write s3://{bucket}/r"):
        _register(f"s3:///{bucket}/r", s3_bucket["options"])
    assert s3_bucket["client"].list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_a_trailing_slash_and_a_bucket_root_stay_fine(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    bucket, options = s3_bucket["bucket"], s3_bucket["options"]
    _register(f"s3://{bucket}/", options)
    assert ms.open_registry(f"s3://{bucket}", **options).models() == ["fraud"]


def test_memory_urls_with_a_doubled_slash_are_refused_too() -> None:
    # The memory store keeps paths as written as well: memory://x//m was apart from memory://x/m.
    with pytest.raises(ms.UnsupportedStorage, match="write 'memory://opts52/m'"):
        ms.open_registry("memory://opts52//m")
    assert ms.open_registry("memory:///opts52/m").models() == []


# --- endpoint URLs without a scheme ------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["minio:9000", "127.0.0.1:9000", ""])
@pytest.mark.parametrize("where", ["top", "client_kwargs"])
def test_an_explicit_endpoint_that_is_not_a_url_is_refused_as_the_variable_is(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch, endpoint: str, where: str
) -> None:
    options: dict[str, Any] = {"key": "testing", "secret": "testing"}
    if where == "top":
        options["endpoint_url"] = endpoint
    else:
        options["client_kwargs"] = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    with pytest.raises(ms.ConfigError, match=rf"endpoint_url'?\]?={endpoint!r} is not an endp"):
        ms.open_registry(s3_bucket["url"], **options)
    # The same value through the environment: the same class of error.
    clean_env.setenv("MODELSHIP_S3_ENDPOINT_URL", endpoint or "minio:9000")
    with pytest.raises(ms.ConfigError, match="is not an endpoint URL"):
        ms.open_registry(s3_bucket["url"], key="testing", secret="testing")


def test_an_explicit_endpoint_url_of_the_server_still_works(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    options = {"key": "testing", "secret": "testing", "endpoint_url": s3_bucket["endpoint"]}
    _register(s3_bucket["url"], options)
    assert ms.open_registry(s3_bucket["url"], **options).models() == ["fraud"]


# --- option names s3fs does not take -----------------------------------------------------------


def _with(s3_bucket: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**s3_bucket["options"], **extra}


@pytest.mark.parametrize(
    ("extra", "hint"),
    [
        ({"endpoint": "http://127.0.0.1:9"}, "did you mean endpoint_url=...?"),
        ({"region": "eu-west-1"}, "did you mean client_kwargs={'region_name': ...}?"),
        ({"region_name": "eu-west-1"}, "did you mean client_kwargs={'region_name': ...}?"),
        ({"read_timeout": 60}, "did you mean config_kwargs={'read_timeout': ...}?"),
        ({"bogus_option": 1}, "the options it takes are anon, "),
        ({"config_kwargs": {"read_timout": 5}}, "did you mean config_kwargs={'read_timeout'"),
        ({"config_kwargs": {"retries": {"mode": "fast"}}}, "InvalidRetryModeError"),
    ],
)
def test_an_option_s3fs_does_not_take_is_refused_at_open_naming_the_nearest(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch, extra: dict[str, Any], hint: str
) -> None:
    with pytest.raises(ms.UnsupportedStorage, match="cannot open a registry at") as caught:
        ms.open_registry(s3_bucket["url"], **_with(s3_bucket, **extra))
    assert hint in str(caught.value)


def test_an_unknown_client_kwarg_is_refused(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    options = _with(s3_bucket)
    options["client_kwargs"] = {**options["client_kwargs"], "region": "us-east-1"}
    with pytest.raises(ms.UnsupportedStorage, match=r"client_kwargs\['region'\].*region_name"):
        ms.open_registry(s3_bucket["url"], **options)


@pytest.mark.parametrize(
    "extra",
    [{"endpoint_url": "http://127.0.0.1:9"}, {"key": "other"}],
)
def test_one_option_given_twice_with_different_values_is_refused(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch, extra: dict[str, Any]
) -> None:
    options = _with(s3_bucket, **extra)
    options["client_kwargs"] = {**options["client_kwargs"], "aws_access_key_id": "testing"}
    with pytest.raises(ms.UnsupportedStorage, match="both given and differ"):
        ms.open_registry(s3_bucket["url"], **options)


def test_real_options_reached_through_s3fs_kwargs_are_still_taken(
    s3_bucket: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    # profile goes through s3fs's **kwargs to aiobotocore's session; listings_expiry_time to
    # fsspec's DirCache; retries is modelship's own; the rest are s3fs's parameters.
    options = _with(
        s3_bucket,
        retries=2,
        max_concurrency=2,
        listings_expiry_time=5,
        requester_pays=False,
        config_kwargs={"read_timeout": 30, "max_pool_connections": 4},
    )
    _register(s3_bucket["url"], options)
    assert ms.open_registry(s3_bucket["url"], **options).models() == ["fraud"]
    with pytest.raises(ms.ModelshipError) as caught:  # a profile not configured: botocore's
        ms.open_registry(s3_bucket["url"], profile="no-such-profile-52").models()
    assert "is not a storage option" not in str(caught.value)


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("endpoint=http://127.0.0.1:9", "did you mean endpoint_url=...?"),
        ("bogus_option=1", "'bogus_option' is not a storage option"),
        ('config_kwargs={"read_timout": 5}', "did you mean config_kwargs={'read_timeout'"),
        ("endpoint_url=minio:9000", "endpoint_url='minio:9000' is not an endpoint URL"),
    ],
)
def test_the_cli_exits_2_saying_which_option_to_use(
    s3_bucket: dict[str, Any],
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    said: str,
) -> None:
    _register(s3_bucket["url"], s3_bucket["options"])
    clean_env.setenv("MODELSHIP_S3_ENDPOINT_URL", s3_bucket["endpoint"])
    argv = ["registry", "models", s3_bucket["url"], "-o", "key=testing", "-o", "secret=testing"]
    assert main([*argv, "-o", option]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "TypeError" not in err
    assert "signing.json" not in err
    assert main(argv) == 0  # the same command without the mistake works
    assert capsys.readouterr().out.split() == ["fraud"]


def test_the_cli_refuses_a_doubled_slash(
    s3_bucket: dict[str, Any],
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = s3_bucket["bucket"]
    clean_env.setenv("MODELSHIP_S3_ENDPOINT_URL", s3_bucket["endpoint"])
    creds = ["-o", "key=testing", "-o", "secret=testing"]
    assert main(["registry", "models", f"s3://{bucket}//models", *creds]) == 2
    assert f"write 's3://{bucket}/models'" in capsys.readouterr().err
