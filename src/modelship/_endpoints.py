"""Where S3 is: the endpoint URL from the environment, as the AWS tools find it; and
where a local file URL points (``file://localhost/abs`` is ``/abs``).

S3-compatible stores (MinIO, Ceph, R2, moto) are reached through an endpoint URL.
modelship reads it, for the library and the command line alike, from the first of:

1. the storage options given explicitly (``endpoint_url=...`` or
   ``client_kwargs={"endpoint_url": ...}``): they always win;
2. ``MODELSHIP_S3_ENDPOINT_URL`` (modelship's own, for when other AWS tools on the same
   machine must keep talking to AWS);
3. ``AWS_ENDPOINT_URL_S3``, then ``AWS_ENDPOINT_URL``: the service-specific variable
   before the global one, as botocore documents them. ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``
   turns both off, as it does in botocore.

botocore 1.31 and later read the two AWS variables themselves; modelship passes the URL
explicitly so that the order above holds whatever botocore version s3fs brings.

This module is a leaf: it imports nothing from modelship but the exception tree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from modelship.errors import ConfigError

__all__ = ["ENDPOINT_VARIABLES", "s3_endpoint", "with_s3_endpoint", "without_localhost"]

ENDPOINT_VARIABLES = ("MODELSHIP_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""The variables read, in order of precedence."""
_S3_SCHEMES = ("s3://", "s3a://")


def s3_endpoint(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(variable, url)`` of the S3 endpoint the environment sets, or ``None``.

    Raises
    ------
    ConfigError
        If the variable that decides holds something other than an http(s) URL.

    Examples
    --------
    >>> s3_endpoint({"AWS_ENDPOINT_URL": "http://global:1", "AWS_ENDPOINT_URL_S3": "http://s3:2"})
    ('AWS_ENDPOINT_URL_S3', 'http://s3:2')
    >>> s3_endpoint({"AWS_ENDPOINT_URL_S3": "http://s3:2",
    ...              "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}) is None
    True
    """
    env = os.environ if environ is None else environ
    ignore_aws = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true"
    for variable in ENDPOINT_VARIABLES:
        if ignore_aws and variable.startswith("AWS_"):
            continue
        url = env.get(variable, "").strip()
        if not url:
            continue
        _check_endpoint_url(url, variable, "unset it")
        return variable, url
    return None


def _check_endpoint_url(url: object, named: str, to_reach_aws: str) -> None:
    """Refuse an endpoint that is not an ``http(s)://`` URL (``minio:9000``), naming where
    it was given (``named``): botocore would fail on it only at the first request.

    Examples
    --------
    >>> _check_endpoint_url("minio:9000", "endpoint_url", "leave it out")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: endpoint_url='minio:9000' is not an endpoint URL; set it ...
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"{named}={url!r} is not an endpoint URL; set it to http://host:port or "
            f"https://host (or {to_reach_aws} to reach AWS itself)"
        )


def with_s3_endpoint(
    url: str, options: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``options`` for opening ``url``, with the environment's S3 endpoint if none is given.

    Only ``s3://`` and ``s3a://`` URLs get one; an endpoint in ``options`` (top level or
    in ``client_kwargs``) is kept as it is, and other ``client_kwargs`` are kept beside it.

    Raises
    ------
    ConfigError
        If an endpoint given for an S3 URL, in ``options`` or by the environment, is not an
        ``http(s)://`` URL (``None`` given is botocore's default, AWS itself), or if
        ``client_kwargs`` is not a mapping.

    Examples
    --------
    >>> env = {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"}
    >>> with_s3_endpoint("s3://b/p", {"client_kwargs": {"region_name": "eu-west-1"}}, env)
    {'client_kwargs': {'region_name': 'eu-west-1', 'endpoint_url': 'http://127.0.0.1:9000'}}
    >>> with_s3_endpoint("s3://b/p", {"endpoint_url": "http://mine:1"}, env)
    {'endpoint_url': 'http://mine:1'}
    >>> with_s3_endpoint("/srv/models", {}, env)
    {}
    """
    out = dict(options)
    if not str(url).lower().startswith(_S3_SCHEMES):
        return out
    client = out.get("client_kwargs")
    if client is None:
        client = {}
    if not isinstance(client, Mapping):
        raise ConfigError(f"client_kwargs must be a mapping, got {client!r}")
    if "endpoint_url" in out or "endpoint_url" in client:
        # The check the environment's endpoint gets: a URL without its scheme would
        # otherwise fail only at the first request, as botocore's ValueError.
        for named, given in (("endpoint_url", out), ("client_kwargs['endpoint_url']", client)):
            if given.get("endpoint_url") is not None:
                _check_endpoint_url(given["endpoint_url"], named, "leave it out")
        return out
    found = s3_endpoint(environ)
    if found is not None:
        out["client_kwargs"] = {**client, "endpoint_url": found[1]}
    return out


def without_localhost(url: str) -> str:
    """``url`` (``file://`` or ``local://``) with a ``localhost`` authority dropped: the
    same local path, absolute; any other URL as it is.

    RFC 8089 (section 2) makes ``file://localhost/srv/models`` the same as
    ``file:///srv/models``; fsspec reads it as the relative path ``localhost/srv/models``,
    a registry of its own under the current folder. Only ``localhost`` (in any case) is
    this machine: ``file://models`` stays the relative path ``models``, as documented.

    Examples
    --------
    >>> without_localhost("file://LocalHost/srv/models")
    'file:///srv/models'
    >>> without_localhost("file://localhost")
    'file:///'
    >>> without_localhost("file://models/x"), without_localhost("s3://localhost/b")
    ('file://models/x', 's3://localhost/b')
    """
    scheme, sep, rest = url.partition("://")
    host, _, path = rest.partition("/")
    if not sep or scheme.lower() not in ("file", "local") or host.lower() != "localhost":
        return url
    return f"{scheme}:///{path}"
