"""``open_registry``: from a URL to a :class:`Registry`, the way fsspec finds file systems."""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

from modelship.errors import MissingDependency, UnsupportedStorage

__all__ = ["filesystem_for", "open_registry"]

# What to install for the schemes fsspec knows but does not ship with.
_EXTRAS = {
    "s3": "pip install 'modelship[s3]'  (installs s3fs)",
    "s3a": "pip install 'modelship[s3]'  (installs s3fs)",
    "gs": "pip install gcsfs",
    "gcs": "pip install gcsfs",
    "az": "pip install adlfs",
    "abfs": "pip install adlfs",
    "abfss": "pip install adlfs",
}


def _scheme(url: str) -> str:
    if "://" not in url:
        return "file"
    return url.split("://", 1)[0].lower()


def filesystem_for(url: str, storage_options: dict[str, Any]) -> tuple[Any, str]:
    """The fsspec file system and root path for ``url``; precise errors for what is missing."""
    import fsspec
    from fsspec.core import url_to_fs

    if not isinstance(url, (str, os.PathLike)):
        raise UnsupportedStorage(f"registry URL must be a string or path, got {url!r}")
    url = os.fspath(url)
    if not url:
        raise UnsupportedStorage("registry URL is empty; give a folder path or an fsspec URL")
    scheme = _scheme(url)
    if "::" in url:
        raise UnsupportedStorage(f"chained URLs ({url!r}) are not supported for registries")
    options = dict(storage_options)
    if scheme in ("s3", "s3a"):
        # Listings must be fresh: a cached listing would hide a version another writer
        # just committed.
        options.setdefault("use_listings_cache", False)
    try:
        fsspec.get_filesystem_class(scheme)
    except ValueError as exc:
        raise UnsupportedStorage(
            f"no storage is known for the scheme {scheme!r} in {url!r}: neither fsspec nor the "
            "'modelship.registries' entry point group has it. Use a folder path, file://, "
            "memory://, s3://bucket/prefix, or install the package providing it"
        ) from exc
    except ImportError as exc:
        hint = _EXTRAS.get(scheme, f"install the fsspec implementation for {scheme!r}")
        raise MissingDependency(f"the {scheme!r} registry needs an extra package: {hint}") from exc
    try:
        fs, root = url_to_fs(url, **options)
    except ImportError as exc:
        hint = _EXTRAS.get(scheme, f"install the fsspec implementation for {scheme!r}")
        raise MissingDependency(f"the {scheme!r} registry needs an extra package: {hint}") from exc
    if scheme == "file":
        root = os.path.abspath(os.path.expanduser(root))
    return fs, root


def open_registry(
    url: str | os.PathLike[str],
    *,
    signing_key: bytes | str | None = None,
    single_writer: bool = False,
    exclusive_creates: bool | None = None,
    user: str | None = None,
    **storage_options: Any,
) -> Any:
    """Open (or start) the model registry at ``url``.

    ``url`` is a folder path or any fsspec URL: ``file:///srv/models``, ``memory://x``,
    ``s3://bucket/prefix`` (``pip install 'modelship[s3]'``). A scheme registered under the
    ``modelship.registries`` entry point group is looked up first; its object is called
    with ``(url, **storage_options)`` and may return a :class:`Registry` or a
    :class:`Store`. ``storage_options`` go to fsspec (for S3: ``key``, ``secret``,
    ``endpoint_url`` ...).

    On opening, the store is probed: it must refuse a second exclusive create of one key.
    Where it does not (or cannot promise it, as for unknown fsspec back ends), writing
    raises :class:`~modelship.UnsafeStore` unless ``single_writer=True`` says that no
    other process writes at the same time. ``exclusive_creates=True`` vouches for a back
    end modelship does not know.

    With ``signing_key``, new versions are signed (HMAC-SHA256 over the manifest) and
    ``load``/``verify`` refuse versions without a valid signature.

    Examples
    --------
    >>> import modelship as ms
    >>> reg = ms.open_registry("memory://open-registry-doc")
    >>> reg.register(model_name="m", model=b"x", serializer="bytes").version
    '1'
    >>> ms.open_registry("nosuch://bucket")
    Traceback (most recent call last):
    ...
    modelship.errors.UnsupportedStorage: no storage is known for the scheme 'nosuch' ...
    """
    from modelship.registry._registry import Registry
    from modelship.registry._store import FsspecStore, Store

    url = os.fspath(url)
    scheme = _scheme(url) if isinstance(url, str) else ""
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="modelship.registries")}
    if scheme in eps:
        made = eps[scheme].load()(url, **storage_options)
        if isinstance(made, Registry):
            return made
        if isinstance(made, Store):
            return Registry(made, signing_key=signing_key, single_writer=single_writer, user=user)
        raise UnsupportedStorage(
            f"entry point {eps[scheme].value!r} for {scheme!r} returned {type(made).__name__}, "
            "not a Registry or a Store"
        )
    fs, root = filesystem_for(url, storage_options)
    store = FsspecStore(fs, root, url=url, exclusive_creates=exclusive_creates)
    return Registry(store, signing_key=signing_key, single_writer=single_writer, user=user)
