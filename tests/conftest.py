"""Fixtures that start real parts: moto's S3 server over HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(what: str, reason: str) -> None:
    """Skip locally, but fail under CI=true: a missing real part never passes silently."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is missing: {reason}")
    pytest.skip(f"{what} missing: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """moto's S3 server on a free loopback port; yields the s3fs storage options."""
    try:
        import s3fs  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        require("moto[server] and s3fs", str(exc))
    # moto's server logs every request; captured by pytest that costs seconds per test.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    try:
        yield {"endpoint": endpoint, "options": options}
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3_bucket(s3_server: dict[str, Any]) -> dict[str, Any]:
    """A fresh bucket; yields ``url`` (s3://bucket/prefix) and ``options`` for open_registry."""
    import boto3

    bucket = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_server["endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return {
        "url": f"s3://{bucket}/registry",
        "bucket": bucket,
        "options": s3_server["options"],
        "endpoint": s3_server["endpoint"],
    }
