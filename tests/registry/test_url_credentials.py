"""A password or token in a registry URL never reaches a message, ``repr`` or the CLI's
error line: CI logs keep them. The URL itself is used as given."""

from __future__ import annotations

import socket

import pytest

import modelship as ms
from modelship.cli import main
from modelship.errors import StoreError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["ci-user:Pa55w0rd-xyz", "ci-user:Pa55/w0rd-xyz", "Pa55token"])
def url(request: pytest.FixtureRequest) -> str:
    # Nothing listens there: every read fails (a "/" in the password, written raw as people
    # do, makes the URL itself invalid to aiohttp: that message names it too).
    return f"https://{request.param}@127.0.0.1:{_closed_port()}/registry"


def test_a_failed_read_does_not_show_the_password(url: str) -> None:
    reg = ms.open_registry(url)
    with pytest.raises(StoreError) as caught:
        reg.versions("fraud")
    assert "Pa55" not in str(caught.value)
    assert "***@127.0.0.1:" in str(caught.value)


def test_repr_of_the_registry_does_not_show_the_password(url: str) -> None:
    reg = ms.open_registry(url)
    assert "Pa55" not in repr(reg)
    assert reg.url == url  # what the deployers hand their servers: used as given


def test_the_cli_error_line_does_not_show_the_password(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "versions", url, "fraud"]) == 2
    err = capsys.readouterr().err
    assert "Pa55" not in err
    assert "StoreError" in err


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        # A token as the user name, GitHub's documented form: the whole user information.
        ("https://ghp_T0KEN:x-oauth-basic@github.com/o/r", "https://***@github.com/o/r"),
        ("s3://AKIAEXAMPLE:s3cret@bucket/models", "s3://***@bucket/models"),
        # A password holding "@" (URL parsers split at the last one) or a raw "/".
        ("https://ci:Pa55@w0rd@models.example.com/r", "https://***@models.example.com/r"),
        ("https://ci:Pa55/w0rd@models.example.com/r", "https://***@models.example.com/r"),
        # No credentials: a port, an IPv6 host, a path with "@", an scp-like git remote.
        (
            "https://registry.example.com:8443/m/fraud@v2",
            "https://registry.example.com:8443/m/fraud@v2",
        ),
        ("https://[::1]:5000/models@v2", "https://[::1]:5000/models@v2"),
        ("s3://bucket/models@v2", "s3://bucket/models@v2"),
        ("git@github.com:org/repo", "git@github.com:org/repo"),
        # Two URLs in one list.
        ("https://a.com/x,https://u:p@b.com/y", "https://a.com/x,https://***@b.com/y"),
    ],
)
def test_hide_credentials_hides_the_user_information_and_nothing_else(
    shown: str, expected: str
) -> None:
    from modelship._shown import hide_credentials

    assert hide_credentials(shown) == expected


@pytest.mark.timeout(120)  # not a timed test: a quadratic scan would hang on these
@pytest.mark.parametrize("piece", ["a://b:", "a.", "a://b@", "://@", "x://[", "a://b:8/@"])
def test_hide_credentials_reads_each_character_once(piece: str) -> None:
    from modelship._shown import hide_credentials

    text = piece * 400_000
    assert "Pa55" not in hide_credentials(text + " https://u:Pa55@h/x")


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        # The third look: passwords holding characters that end words in messages, a
        # URL inside another URL's query, a password starting with digits and a "/".
        ("postgres://app:ab;cd@db:5432/prod", "postgres://***@db:5432/prod"),
        ("https://u:p,w(1)@host/r", "https://***@host/r"),
        (
            "https://p.example/f?url=https://ci:s3cret@host/x",
            "https://p.example/f?url=https://***@host/x",
        ),
        ("https://u:1234/5678@host/r", "https://***@host/r"),
        # Image digests are not user information.
        ("docker://ubuntu@sha256:abc", "docker://ubuntu@sha256:abc"),
        ("docker://registry:5000/img@sha256:abc", "docker://registry:5000/img@sha256:abc"),
    ],
)
def test_hide_credentials_reads_passwords_as_url_parsers_do(shown: str, expected: str) -> None:
    from modelship._shown import hide_credentials

    assert hide_credentials(shown) == expected
