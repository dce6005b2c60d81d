"""The built-in :class:`~modelship.registry.Store`: any fsspec file system.

:func:`filesystem_for` turns a URL into an fsspec file system (with precise errors for
what is missing); :class:`FsspecStore` implements the ``Store`` protocol on it, and on
local disk and S3 also the optional capabilities (:class:`~modelship.registry.LocalBlobs`,
:class:`~modelship.registry.AbortsUploads`) those back ends really have.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import os
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, NamedTuple, cast

from modelship._endpoints import with_s3_endpoint, without_localhost
from modelship._hashing import CHUNK
from modelship._shown import brief, hide_credentials
from modelship.errors import (
    ConfigError,
    MissingDependency,
    ModelshipError,
    RegistryNotFound,
    StoreError,
    UnsupportedStorage,
)
from modelship.registry._integrity import MAX_DOCUMENT, GuardedFile, too_large
from modelship.registry._layout import BLOBS
from modelship.registry._protocols import BlobWriter

__all__ = ["FsspecStore", "filesystem_for", "scheme_of"]

_WRITE_BEHIND = 4 * 2**20
"""Bytes a staged blob is written between two requests to start writing it to disk.

Small, so that the disk works while the serializer does and the fsync at publish finds
little left to do: measured on a 2-core VM, a 64 MiB blob's write plus fsync took 1.13x
``pickle.dump`` without fsync with 4 MiB, 1.2-1.26x with 8-16 MiB, 1.6x with one
fdatasync every 64 MiB (which never ran before the end at that size)."""
_CONFLICT_RETRIES = 6
# S3 multipart uploads: s3fs holds each part in flight about twice in memory (the part's
# bytes and the request body), so 4 parts of 5 MiB (S3's smallest) cost ~30 MiB where
# s3fs's default 50 MiB parts cost hundreds. S3 allows at most 10,000 parts.
_UPLOAD_CONCURRENCY = 4
_MAX_UPLOAD_PAGES = 10_000  # 1,000 uploads a page: ten million open uploads
_MIN_PART = 5 * 2**20
_MAX_PARTS = 10_000
_S3_PROTOCOLS = ("s3", "s3a")
_LOCAL_PROTOCOLS = ("file", "local")
# Whether an open file can be reopened by path through /proc/self/fd/<fd> (Linux).
_FD_PATHS = os.path.isdir("/proc/self/fd")


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


def scheme_of(url: str) -> str:
    """The scheme of ``url`` (``"file"`` for a plain path)."""
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
    scheme = scheme_of(url)
    if "::" in url:
        raise UnsupportedStorage(
            f"chained URLs ({hide_credentials(url)!r}) are not supported for registries"
        )
    if "://" in url:
        # Schemes are case-insensitive (RFC 3986); fsspec knows them in lower case only.
        # file://localhost/x is /x (RFC 8089); fsspec reads it as the relative localhost/x.
        url = without_localhost(scheme + url[url.index("://") :])
    options = with_s3_endpoint(url, storage_options)  # explicit, then the environment's
    retries = S3_RETRIES
    _refuse_ambiguous_url(url, scheme)
    if scheme in _S3_PROTOCOLS:
        retries = _s3_options(url, scheme, options)
    try:
        fsspec.get_filesystem_class(scheme)
    except ValueError as exc:
        raise UnsupportedStorage(
            f"no storage is known for the scheme {scheme!r} in {hide_credentials(url)!r}: neither "
            "fsspec nor the "
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
    except ModelshipError:
        raise
    except Exception as exc:  # the file system's constructor refused the URL or options
        raise UnsupportedStorage(
            hide_credentials(
                f"cannot open a registry at {url!r}: fsspec's {scheme!r} file system could not "
                f"be made for it ({type(exc).__name__}: {exc}). Check the URL and the "
                "storage options it needs"
            )
        ) from exc
    if scheme == "file":
        root = os.path.abspath(expand_home(root, "registry path"))
    if scheme in _S3_PROTOCOLS:
        fs.retries = retries  # s3fs takes it as an attribute only
    return fs, root


def _refuse_s3_user_information(url: str, scheme: str) -> None:
    """Refuse credentials written into an ``s3://`` URL (``s3://KEY:SECRET@bucket``).

    s3fs takes none from a URL: it reads ``KEY:SECRET@bucket`` as the bucket's name, which
    botocore then quotes back in its error, where no mask finds it. A bucket name holds
    neither ``@`` nor ``:``, so either one before the first ``/`` is user information. The
    URL is not shown: the secret may hold any character.
    """
    bucket = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in bucket or ":" in bucket:
        raise ConfigError(
            f"the {scheme}:// URL holds user information (a key or secret before the bucket, "
            "not shown here), which S3 does not read from a URL; give the URL as "
            f"{scheme}://bucket/prefix and the credentials as AWS credentials: the "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables, a profile "
            "(profile=NAME), or the storage options key= and secret= (-o key=... -o "
            "secret=... on the command line)"
        )


def _s3_options(url: str, scheme: str, options: dict[str, Any]) -> int:
    """Check an S3 URL and its storage options, and complete ``options`` with modelship's
    defaults; return the tries s3fs is to make (an attribute, set once it is made)."""
    _refuse_unknown_s3_options(url, scheme, options)
    # Listings must be fresh: a cached listing would hide a version another writer
    # just committed.
    options.setdefault("use_listings_cache", False)
    retries = _bound_s3_failures(options)
    _refuse_bad_s3_config(url, scheme, options["config_kwargs"])
    # An instance of its own: its tries are set on it by filesystem_for (s3fs takes them
    # as an attribute only), which on fsspec's shared instance would change another
    # registry's, or the caller's own s3fs, with the same options.
    options["skip_instance_cache"] = True
    return retries


def _refuse_ambiguous_url(url: str, scheme: str) -> None:
    """Refuse an S3 URL with user information (see :func:`_refuse_s3_user_information`),
    without a bucket (``s3:///x``) or with an empty segment in its key part
    (``s3://bucket//models``), and a ``memory://`` URL with an empty segment.

    The object store keeps the key as written: ``s3://bucket//models`` holds keys that
    begin with ``/models/``, a registry apart from ``s3://bucket/models``, and s3fs reads
    ``s3:///x`` as the bucket ``x``. On local disk both spellings are one folder, so a
    job that joins ``"s3://bucket/"`` with ``"/models"`` would see nothing of the other
    spelling's models, silently. A trailing ``/`` is harmless (dropped) and kept.
    """
    if scheme in _S3_PROTOCOLS:
        _refuse_s3_user_information(url, scheme)  # first: that URL is not to be shown
    elif scheme != "memory":
        return
    rest = url.split("://", 1)[1]
    if scheme == "memory":  # memory:///x and memory://x are one path: /x
        rest = rest.lstrip("/")
    elif not rest.split("/", 1)[0]:
        parts = [part for part in rest.split("/") if part]
        hint = (
            f"if {parts[0]!r} is the bucket, write {scheme}://{'/'.join(parts)}"
            if parts
            else f"write {scheme}://BUCKET/prefix"
        )
        raise UnsupportedStorage(
            f"the registry URL {hide_credentials(url)!r} names no bucket (nothing between "
            f"'{scheme}://' and the next '/'); {hint}"
        )
    if "//" in rest.rstrip("/"):
        collapsed = "/".join(part for part in rest.split("/") if part)
        shown = hide_credentials(f"{scheme}://{collapsed}")
        raise UnsupportedStorage(
            f"the registry URL {hide_credentials(url)!r} has an empty segment ('//'): the "
            f"{scheme!r} store keeps keys as written, so it would be a registry apart from "
            f"{shown!r} (on a local disk the two are one folder); write {shown!r} (when "
            "joining a base with a path, drop the base's trailing '/' or the path's leading one)"
        )


def _refuse_unknown_s3_options(url: str, scheme: str, options: dict[str, Any]) -> None:
    """Refuse a storage option that the S3 file system does not take (``endpoint=``,
    ``region=``, ``bogus_option=``), naming the nearest one it takes, and an option given
    twice over (``key=`` and ``client_kwargs["aws_access_key_id"]`` that differ).

    s3fs builds its botocore session at the first request: an unknown option would be
    accepted here and fail there, as a ``TypeError`` inside a :class:`StoreError`. The
    names taken are read from the signatures of the code they reach (see
    :func:`_s3_option_names`); for a file system whose options cannot be read that way,
    nothing is refused.
    """
    names = _s3_option_names(scheme)
    if names is None:
        return
    top, client_names, config_names, _ = names
    shown = hide_credentials(url)
    for key in options:
        if key in top:
            continue
        raise UnsupportedStorage(
            f"cannot open a registry at {shown!r}: {key!r} is not a storage option of the "
            f"S3 file system (s3fs); {_nearest(key, top, client_names, config_names)}"
        )
    client = options.get("client_kwargs") or {}
    for key in client:
        if key in client_names:
            continue
        if key == "config":
            hint = "give botocore's settings as config_kwargs={...}"
        else:
            hint = _nearest(key, frozenset(), client_names, config_names)
        raise UnsupportedStorage(
            f"cannot open a registry at {shown!r}: client_kwargs[{key!r}] is not an option "
            f"of botocore's create_client; {hint}"
        )
    for own, botocore_name in _S3_ALIASES:
        mine, theirs = options.get(own), client.get(botocore_name)
        if mine is not None and theirs is not None and mine != theirs:
            raise UnsupportedStorage(
                f"cannot open a registry at {shown!r}: {own}= and "
                f"client_kwargs[{botocore_name!r}] are both given and differ (s3fs passes "
                "both to botocore, which refuses a keyword given twice); give one of them"
            )


_S3_ALIASES = (
    ("endpoint_url", "endpoint_url"),
    ("key", "aws_access_key_id"),
    ("secret", "aws_secret_access_key"),
    ("token", "aws_session_token"),
    ("username", "aws_access_key_id"),
    ("password", "aws_secret_access_key"),
)
"""s3fs's options that it passes to botocore's ``create_client`` beside ``client_kwargs``."""


def _nearest(
    key: str, top: frozenset[str], client_names: frozenset[str], config_names: frozenset[str]
) -> str:
    """Which option ``key`` was likely meant to be, said as a hint."""
    import difflib

    for where, pool, spelt in (
        ("", top, "{0}=..."),
        ("client_kwargs", client_names, "client_kwargs={{{0!r}: ...}}"),
        ("config_kwargs", config_names, "config_kwargs={{{0!r}: ...}}"),
    ):
        close = [key] if key in pool else difflib.get_close_matches(key, pool, n=1, cutoff=0.7)
        if close and (where or key not in pool):
            return f"did you mean {spelt.format(close[0])}?"
    return (
        f"the options it takes are {', '.join(sorted(top))}; botocore's client options go in "
        "client_kwargs={...} and its settings in config_kwargs={...}"
    )


class _S3Options(NamedTuple):
    """What the S3 file system takes: its top-level options, ``client_kwargs`` and
    ``config_kwargs`` names, and aiobotocore's ``AioConfig`` as s3fs imported it."""

    top: frozenset[str]
    client: frozenset[str]
    settings: frozenset[str]
    config: Any


_S3_NAMES: dict[str, _S3Options | None] = {}


def _s3_option_names(scheme: str) -> _S3Options | None:
    """The storage options the S3 file system takes, at the top level, in
    ``client_kwargs`` and in ``config_kwargs`` (and its config class); ``None`` if they
    cannot be read.

    Read from signatures, so they follow the versions installed: s3fs's
    ``S3FileSystem.__init__``; what it passes its ``**kwargs`` on to (fsspec's listing
    cache options to its base class, which gives them to ``DirCache``; any other to
    aiobotocore's ``AioSession``, e.g. ``profile``); fsspec's ``skip_instance_cache``
    (taken by its instance cache, in no signature); modelship's own ``retries``. fsspec's
    ``AsyncFileSystem`` options other than ``loop`` and ``asynchronous`` (``batch_size``)
    are not passed to it by s3fs: they would reach ``AioSession`` and fail. ``client_kwargs``
    go to the session's ``create_client`` (s3fs passes ``config`` itself);
    ``config_kwargs`` to ``AioConfig``: botocore's ``Config.OPTION_DEFAULTS`` and its
    own parameters.
    """
    if scheme in _S3_NAMES:
        return _S3_NAMES[scheme]
    import inspect
    import sys

    import fsspec
    from fsspec.dircache import DirCache

    def taken(function: Any) -> tuple[set[str], bool]:
        params = inspect.signature(function).parameters.values()
        named = {
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        }
        return named, any(p.kind is p.VAR_KEYWORD for p in params)

    found: _S3Options | None = None
    try:
        cls = fsspec.get_filesystem_class(scheme)
        top, more = taken(cls.__init__)
        # What s3fs hands its options to, as its own module imported them (they come
        # with s3fs, not with modelship): aiobotocore's session and config.
        made_in = sys.modules[cls.__module__]
        session = made_in.aiobotocore.session.AioSession
        config = made_in.AioConfig
        if more:
            top |= taken(DirCache.__init__)[0] | taken(session.__init__)[0]
        create = getattr(session, "_create_client", session.create_client)
        client = taken(create)[0] - {"service_name", "config"}
        settings = taken(config.__init__)[0] | set(config.OPTION_DEFAULTS)
        top |= {"skip_instance_cache", "retries", *getattr(cls, "_strip_tokenize_options", ())}
        if client and settings:
            found = _S3Options(frozenset(top), frozenset(client), frozenset(settings), config)
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):
        found = None  # not s3fs as known here: its options are not checked
    _S3_NAMES[scheme] = found
    return found


def _refuse_bad_s3_config(url: str, scheme: str, config: dict[str, Any]) -> None:
    """Refuse ``config_kwargs`` that botocore's ``Config`` refuses (an unknown setting, a
    retry mode it does not know), now rather than at the first request."""
    names = _s3_option_names(scheme)
    if names is None:
        return
    for key in config:
        if key not in names.settings:
            raise UnsupportedStorage(
                f"cannot open a registry at {hide_credentials(url)!r}: config_kwargs[{key!r}] "
                "is not one of botocore's settings; "
                + _nearest(key, frozenset(), frozenset(), names.settings)
            )
    try:
        names.config(**config)
    except Exception as exc:  # botocore's own errors: their message says what is wrong
        raise UnsupportedStorage(
            f"cannot open a registry at {hide_credentials(url)!r}: botocore refused "
            f"config_kwargs ({type(exc).__name__}: {exc})"
        ) from exc


S3_RETRIES = 1
"""Tries s3fs makes of each request (its default: 5); botocore's tries are inside each."""
S3_CONFIG: dict[str, Any] = {
    "connect_timeout": 5,
    "read_timeout": 15,
    "retries": {"mode": "standard", "total_max_attempts": 3},
}
"""botocore's settings (``config_kwargs``) unless given: seconds to connect, seconds a
reply may stay silent, and tries per request, the first included."""


def _bound_s3_failures(options: dict[str, Any]) -> int:
    """Give up on a failing S3 request within about a minute, unless told otherwise.

    s3fs retries each request 5 times, twice over (a read's retries wrap the request's),
    and each try is botocore's (legacy mode: 5 tries; 15 s of silence each): a server
    that accepts connections and never answers held one call for over 10 minutes, and
    connection resets cost 250 requests for one ``get``. botocore alone retries here
    (3 tries, with backoff, of timeouts, resets, 5xx and throttling): a silent server
    costs 3 x 15 s. What only s3fs would retry, a body cut after the reply began, is a
    :class:`~modelship.errors.StoreError` at once. Storage options given win, key by
    key (``retries`` for s3fs's tries); the ``AWS_MAX_ATTEMPTS`` and
    ``AWS_RETRY_MODE`` variables win over the default retries. s3fs takes no
    ``retries`` option (it is an attribute): it is taken out of ``options`` and
    returned.
    """
    retries = options.pop("retries", S3_RETRIES)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 1:
        raise ConfigError(f"retries must be a whole number of tries, 1 or more; got {retries!r}")
    given = options.get("config_kwargs") or {}
    if not isinstance(given, Mapping):
        raise ConfigError(f"config_kwargs must be a mapping, got {brief(given)}")
    config = dict(S3_CONFIG)
    if os.environ.get("AWS_MAX_ATTEMPTS") or os.environ.get("AWS_RETRY_MODE"):
        del config["retries"]
    options["config_kwargs"] = {**config, **given}
    return retries


def expand_home(path: str, what: str) -> str:
    """``path`` with a leading ``~`` or ``~user`` expanded, or a :class:`ConfigError` naming
    it as ``what`` when it cannot be (no such user, or no home folder): never a folder
    literally named ``~user`` in the working folder.

    Examples
    --------
    >>> expand_home("/srv/models", "registry path")
    '/srv/models'
    >>> expand_home("~nosuchuser_doc/models", "path")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: path '~nosuchuser_doc/models': ~nosuchuser_doc cannot be ...
    """
    expanded = os.path.expanduser(path)
    if expanded.startswith("~"):
        raise ConfigError(
            f"{what} {path!r}: {path.split(os.sep, 1)[0]} cannot be expanded (no such user, "
            "or no home folder); give the full path"
        )
    return expanded


def _upload_part_size(size: int) -> int:
    """The part size for a multipart upload of ``size`` bytes: 5 MiB, or more if need be.

    Above 48 GiB the parts grow, and so does the memory an upload takes.

    >>> _upload_part_size(2**30) // 2**20
    5
    >>> _upload_part_size(100 * 2**30) // 2**20  # 10,000 parts at most
    11
    """
    per_part = -(-size // _MAX_PARTS)  # ceiling division
    return max(_MIN_PART, -(-per_part // 2**20) * 2**20)  # in whole MiB


class _LocalBlobWriter:
    """Stages into ``<root>/.staging/`` then hard-links into place (same file system)."""

    def __init__(self, store: FsspecStore, callback: Any) -> None:
        self._store = store
        self._callback = callback
        staging = store._local(".staging")
        self._path = os.path.join(staging, f"{uuid.uuid4().hex}.part")
        with store._errors("staging a blob"):
            _make_folder(staging, store)
            self._file: IO[bytes] | None = open(self._path, "xb")  # noqa: SIM115
        self._unstarted = 0  # bytes written since write-back was last started
        self._started = 0  # write-back started for the bytes before this offset
        self._dropping = 0  # what lies before this offset is dropped from the page cache

    def _open(self) -> IO[bytes]:
        """The staged file; a :class:`StoreError` once published or discarded."""
        if self._file is None:
            raise _closed_writer()
        return self._file

    def _write_behind(self, file: IO[bytes]) -> None:
        """Start writing to disk what is written so far; drop what is on disk already.

        ``POSIX_FADV_DONTNEED`` on Linux starts write-back of a range's dirty pages
        without waiting for it, and drops its clean pages. Each call covers the range
        started by the call before (usually on disk by now, so it leaves the page cache)
        and the bytes written since (whose write-back it starts). A large artifact thus costs a
        few MiB of page cache instead of as much memory as it is large (writing into
        memory the kernel has not used lately is several times slower on VMs whose host
        reclaims free memory), and the fsync at publish only waits for the last few MiB.
        Durability does not rest on this: :meth:`publish` fsyncs the whole file.
        """
        file.flush()
        end = file.tell()
        with contextlib.suppress(OSError):
            os.posix_fadvise(
                file.fileno(), self._dropping, end - self._dropping, os.POSIX_FADV_DONTNEED
            )
        self._dropping, self._started, self._unstarted = self._started, end, 0

    def write(self, data: bytes | memoryview) -> int:
        file = self._open()
        with self._store._errors("writing a staged blob"):
            n = file.write(data)
            self._unstarted += n
            if self._unstarted >= _WRITE_BEHIND and hasattr(os, "posix_fadvise"):
                self._write_behind(file)
        if self._callback is not None:
            self._callback.relative_update(n)
        return n

    def publish(self, key: str) -> bool:
        with self._store._errors(f"publishing {key}"):
            return self._publish(key)

    def _publish(self, key: str) -> bool:
        file = self._open()
        final = self._store._local(key)
        if _no_document_at(final):
            self.discard()
            raise self._store._folder_at(key)
        file.flush()
        # Bytes with this digest are stored already (the usual case for an environment
        # document): these are discarded, so they need not reach the disk. The existing
        # blob is touched (made young, in case it is an orphan gc is about to collect);
        # one gone by then is stored from these bytes after all, fsynced like any other.
        # What keeps a reused blob from being collected later is gc's handshake with the
        # commit (see _gc), not this check.
        stored = False
        with contextlib.suppress(FileNotFoundError):
            os.utime(final)
            stored = True
        if not stored:
            os.fsync(file.fileno())
        file.close()
        self._file = None
        _make_folder(os.path.dirname(final), self._store)
        os.chmod(self._path, 0o444)
        try:
            created = False
            if not stored:  # only bytes that were fsynced are ever linked
                created = _link(self._path, final)
                if not created and not os.path.exists(final):
                    # A dangling symbolic link holds the key: it stores nothing; replace it.
                    os.unlink(final)
                    created = _link(self._path, final)
                if not created and _no_document_at(final):  # made since the check above
                    raise self._store._folder_at(key)
                if not created:  # stored by another writer since the check: touch it too
                    with contextlib.suppress(FileNotFoundError):
                        os.utime(final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
        if created:
            _fsync_dir(os.path.dirname(final))
        return created

    def publish_over(self, key: str) -> None:
        """Replace the file at ``key`` with the staged one in one rename (:func:`os.replace`).

        The staged bytes are fsynced first, and the folder after, like a new blob's. A
        reader that opened the old file keeps reading the old bytes; one that opens the key
        afterwards reads the new ones; none finds the key missing.
        """
        file = self._open()
        with self._store._errors(f"replacing {key}"):
            file.flush()
            os.fsync(file.fileno())
            file.close()
            self._file = None
            final = self._store._local(key)
            _make_folder(os.path.dirname(final), self._store)
            os.chmod(self._path, 0o444)
            try:
                os.replace(self._path, final)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path)
                raise
            _fsync_dir(os.path.dirname(final))

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)


class _SpoolBlobWriter:
    """Stages into a local temporary file, then uploads it unless the key exists.

    Where the running system names open files under ``/proc/self/fd`` (Linux), the file
    has no name in the temporary folder (``O_TMPFILE``, or unlinked at once), so it goes
    with the process even when the process is killed; s3fs, which wants a path, reads it
    through ``/proc/self/fd/<fd>``. Elsewhere it is a named file removed on publish or
    discard, which a killed process leaves behind in the temporary folder.
    """

    def __init__(self, store: FsspecStore, callback: Any) -> None:
        self._store = store
        self._callback = callback
        self._named = not _FD_PATHS
        if self._named:
            fd, self._path = tempfile.mkstemp(prefix="modelship-", suffix=".part")
            self._file: IO[bytes] | None = os.fdopen(fd, "wb")
        else:
            self._file = tempfile.TemporaryFile(prefix="modelship-", suffix=".part")  # noqa: SIM115
            self._path = f"/proc/self/fd/{self._file.fileno()}"

    def _open(self) -> IO[bytes]:
        """The staged file; a :class:`StoreError` once published or discarded."""
        if self._file is None:
            raise _closed_writer()
        return self._file

    def write(self, data: bytes | memoryview) -> int:
        file = self._open()
        with self._store._errors("writing a staged blob"):
            return file.write(data)

    def publish(self, key: str) -> bool:
        file = self._open()
        try:
            # Stays open: an unnamed file exists only while a descriptor refers to it.
            file.flush()
            if self._store.exists(key):
                return False
            try:
                # Never replace a blob another writer published meanwhile: a reader may be
                # checking it (If-None-Match on the PUT or the completion). S3 answers 409
                # while another writer uploads the same artifact at that moment.
                _until_decided(lambda: self._upload(key, "create", f"upload of {key}"))
            except FileExistsError:
                return False
            return True
        finally:
            self.discard()

    def _upload(self, key: str, mode: str, what: str) -> None:
        """Upload the staged file to ``key``; the object appears whole when it completes.

        On S3 that is the PUT or the CompleteMultipartUpload; ``mode`` is s3fs's
        ("create": only if no object is there; "overwrite").
        """
        file = self._open()
        if self._store.protocol == "memory":
            self._put_in_memory(key, mode)
            return
        kwargs: dict[str, Any] = {}
        if self._callback is not None:
            kwargs["callback"] = self._callback
        if self._store.protocol in _S3_PROTOCOLS:
            kwargs.update(
                chunksize=_upload_part_size(os.fstat(file.fileno()).st_size),
                max_concurrency=_UPLOAD_CONCURRENCY,
                mode=mode,
            )
        with self._store._writing(what):
            self._store.fs.put_file(self._path, self._store._full(key), **kwargs)

    def publish_over(self, key: str) -> None:
        """Upload the staged bytes to ``key``, replacing what is there.

        An S3 PUT, or the completion of a multipart upload, replaces an object in one step:
        a GET sees the old object or the new one. A reader that fetches the old object in
        ranges while it is replaced can get parts of both; it hashes what it read, so it
        reports damage, which is what the old bytes held anyway.
        """
        file = self._open()
        try:
            file.flush()
            self._upload(key, "overwrite", f"replacing {key}")
        finally:
            self.discard()

    def _put_in_memory(self, key: str, mode: str) -> None:
        """Store the staged bytes under ``key`` in fsspec's memory file system, whole.

        Its ``put_file`` makes the key visible empty at its first write and fills it chunk
        by chunk: a thread checking a blob that another registration was storing again
        read 0 bytes and "repaired" it. :meth:`FsspecStore._put_in_memory` stores it
        whole, as it stores documents.
        """
        self._open()
        # Opened write-only; read back through its name (or /proc/self/fd path).
        with open(self._path, "rb") as staged:
            data = staged.read()
        with self._store._errors(f"storing {key}"):
            self._store._put_in_memory(key, data, exclusive=mode == "create")
        if self._callback is not None:
            self._callback.relative_update(len(data))

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._named:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)


def _closed_writer() -> StoreError:
    return StoreError(
        "this blob writer is closed (published or discarded); start another with blob_writer()"
    )


def _link(staged: str, final: str) -> bool:
    """Hard-link ``staged`` to ``final``: True if created, False if ``final`` was taken."""
    try:
        os.link(staged, final)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise StoreError(
                f"cannot move {staged} into place at {final}: the staging folder is on "
                "another file system than the registry (EXDEV). Keep the registry's .staging "
                "folder on the same file system as the registry (no mount or symbolic link)"
            ) from exc
        raise
    return True


def _until_decided(create: Callable[[], None]) -> None:
    """Run the conditional write ``create`` again while S3 answers 409.

    Real S3 answers a conditional write racing another one with 409
    ConditionalRequestConflict ("try again"): the race is still undecided, so calling the
    key taken (or the write failed) could leave a hole. Retried until it lands or meets
    412 (taken: :class:`FileExistsError`), a few times.
    """
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            create()
            return
        except StoreError as exc:
            if attempt == _CONFLICT_RETRIES or not _is_conditional_conflict(exc):
                raise
            time.sleep(0.05 * 2**attempt)


def _is_conditional_conflict(exc: BaseException) -> bool:
    """Whether an S3 error is 409 ConditionalRequestConflict, anywhere in its chain."""
    return _has_s3_code(exc, ("ConditionalRequestConflict", "OperationAborted"))


def _has_s3_code(exc: BaseException, codes: tuple[str, ...]) -> bool:
    """Whether S3's error code is one of ``codes``, anywhere in the chain of ``exc``.

    botocore's errors carry the code in their response; s3fs translates them into
    Python's (FileNotFoundError ...), chaining the original, or only names the code in
    its message.
    """
    seen: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):  # a chain can loop back on itself
        if seen is None:
            return False
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in codes:
            return True
        # s3fs may only name the code, as botocore writes it: "An error occurred (Code)
        # when calling ...". Only that form counts: a message also holds the request's URL,
        # and a key naming a model "InvalidRange" made a dropped connection an empty read.
        text = str(seen)
        if any(f"({code})" in text for code in codes):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_CHAIN_DEPTH = 32  # causes followed when looking for S3's error code

_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "BandwidthLimitExceeded",
    }
)
"""S3's error codes of failures that pass: asked again later, the request may succeed."""
_TRANSIENT_KINDS = (
    "ReadTimeoutError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
)
"""botocore's and aiohttp's errors (by name: neither need be installed) of timeouts and
connections closed under a request."""
_TRANSIENT_HINT = (
    "transient: retry later, or raise the store's retries (storage option "
    'config_kwargs={"retries": {"mode": "standard", "total_max_attempts": 5}}, or '
    "AWS_MAX_ATTEMPTS in the environment; for timeouts also "
    'config_kwargs={"read_timeout": 60}): see "Timeouts and retries on S3" in '
    "docs/registry.md"
)


def _s3_detail(exc: BaseException, *, s3: bool = True) -> str:
    """What a message about ``exc`` (a failed S3 request) adds: S3's error code and HTTP
    status, from botocore's error in its chain (s3fs's own may only say ``[Errno 16]``),
    and for a failure that passes (5xx, throttling, a timeout, a connection closed) what
    to do. Empty if there is nothing to add. With ``s3`` False (another object store:
    ``gs://``, ``az://``), botocore's settings are no advice: a failure that passes gets
    only "transient: retry later", and a code is no S3 error code.

    Examples
    --------
    >>> class ClientError(Exception):
    ...     response = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
    >>> cut = OSError(16, "Please reduce your request rate.")
    >>> cut.__cause__ = ClientError()
    >>> print(_s3_detail(cut))  # doctest: +ELLIPSIS
     (S3 error SlowDown, HTTP 503; transient: retry later, or raise the store's retries ...)
    >>> _s3_detail(OSError(5, "no such thing"))
    ''
    >>> _s3_detail(TimeoutError("read timed out"), s3=False)
    ' (transient: retry later)'
    """
    code: str | None = None
    status: int | None = None
    transient = False
    seen: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):  # a chain can loop back on itself
        if seen is None:
            break
        response = getattr(seen, "response", None)
        if code is None and isinstance(response, dict):
            error = response.get("Error")
            given = error.get("Code") if isinstance(error, dict) else None
            code = given if isinstance(given, str) and given else None
            meta = response.get("ResponseMetadata")
            found = meta.get("HTTPStatusCode") if isinstance(meta, dict) else None
            status = found if isinstance(found, int) else None
        if isinstance(seen, TimeoutError) or type(seen).__name__ in _TRANSIENT_KINDS:
            transient = True
        seen = seen.__cause__ or seen.__context__
    if code in _TRANSIENT_CODES or (status is not None and (status >= 500 or status == 429)):
        transient = True
    said = [
        f"{'S3 error' if s3 else 'error'} {code}" if code else None,
        f"HTTP {status}" if status else None,
    ]
    parts = ", ".join(p for p in said if p)
    if transient:
        hint = _TRANSIENT_HINT if s3 else "transient: retry later"
        parts = f"{parts}; {hint}" if parts else hint
    return f" ({parts})" if parts else ""


def _make_folder(path: str, store: FsspecStore) -> None:
    """``os.makedirs``; a file where a folder belongs is a :class:`StoreError`, not "taken".

    ``makedirs`` raises ``FileExistsError`` (or ``NotADirectoryError``) when a file sits
    where a folder of the path belongs; a writer that read that as "the key is taken"
    would retry forever. A file at (or above) ``store``'s own folder is no damage: the URL
    names a file (:class:`~modelship.RegistryNotFound`, as :meth:`FsspecStore.not_a_folder`
    says).
    """
    try:
        os.makedirs(path, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocked = store.not_a_folder()
        if blocked is not None:
            raise blocked from exc
        raise StoreError(
            f"cannot create the folder {path}: a file is where a folder belongs ({exc}). The "
            "store was damaged or tampered with; move that file away"
        ) from exc
    except FileNotFoundError as exc:  # not "missing" (an answer): the write failed
        raise StoreError(
            f"cannot create the folder {path!r}: {exc}. A folder on its path is missing "
            "(removed while it was being created?); check the registry's location and try again"
        ) from exc


def _holds_documents(mode: int) -> bool:
    """Whether a local file of this mode can hold a document: a regular file, or a device.

    A folder, a named pipe (FIFO) or a socket holds none: it is no document, as a folder
    is on every back end. A device is read as a file, up to the size limit of what is
    read (a key replaced by a link to ``/dev/zero`` is "too large", not missing).
    """
    return stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)


def _no_document_at(path: str) -> bool:
    """Whether something that holds no document (a folder, a FIFO, a socket) is at ``path``."""
    try:
        return not _holds_documents(os.stat(path).st_mode)
    except (OSError, ValueError):  # as os.path.isdir: nothing there (or no such path)
        return False


def _taken_by_no_document(path: str) -> bool:
    """Whether what takes ``path`` from an exclusive create holds no document: a folder,
    a FIFO, a socket, or a symbolic link that leads to no file (to nowhere, or round in a
    loop).

    Readers find no document there (:meth:`FsspecStore.exists` is False, a read raises
    :class:`FileNotFoundError`), so a create must not answer "taken": a writer would move
    on to the next number and commit above a key readers see as a hole (a version missing
    from ``latest`` and from pages), or retry an alias move forever.
    """
    if _no_document_at(path):
        return True
    try:
        os.stat(path)
    except (OSError, ValueError):
        try:  # the link itself is there, what it leads to is not
            return stat.S_ISLNK(os.lstat(path).st_mode)
        except (OSError, ValueError):  # gone since: free, and the exclusive link decides
            return False
    return False


def _read_document(f: IO[bytes]) -> bytes:
    """At most ``MAX_DOCUMENT + 1`` bytes of ``f``: one past the cap tells a larger file.

    Sized by the file's own length, not the cap: ``read(n)`` allocates ``n`` bytes first
    (64 MiB for every small document, ~23 us each, most of a listing page's slot reads).
    A file that grew since it was sized is read on to the cap; one whose size says
    nothing (0: a device, a ``/proc`` file) is read to the cap at once. Bounded: two reads.
    """
    size = os.fstat(f.fileno()).st_size
    if size <= 0:
        return f.read(MAX_DOCUMENT + 1)
    want = min(size, MAX_DOCUMENT) + 1
    data = f.read(want)
    if len(data) == want and want <= MAX_DOCUMENT:  # it grew meanwhile: read on to the cap
        data += f.read(MAX_DOCUMENT + 1 - want)
    return data


def _not_a_document(path: str) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, "a folder, FIFO or socket, not a document", path)


# Opening a named pipe for reading blocks until a writer opens it, and a device may block
# too: opened without blocking, the file is then checked before anything waits on it.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0)


def _fsync_dir(path: str) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _protocols_of(fs: Any) -> tuple[Any, ...]:
    return tuple(fs.protocol) if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)


_DOCUMENT_RANGE = MAX_DOCUMENT + 1
"""The end of the byte range read of a document: one byte past the largest one read."""
_MEMORY_LOCK = threading.Lock()
_EXCLUSIVE_PROTOCOLS = {"file", "local", "memory", "s3", "s3a"}


def _inside(key: str) -> None:
    """Refuse a key with a ``..`` segment: on a file system it names a path outside the
    root. The registry's own keys never hold one (names are validated); a caller of the
    store's methods may pass anything."""
    if "/../" in f"/{key}/":
        raise StoreError(f"key {key!r} has a '..' segment: keys stay inside the store's root")


class FsspecStore:
    """A :class:`Store` on any fsspec file system: local disk, memory, S3 and more.

    Exclusive creates are implemented per backend: on local disk a fully written and
    fsynced temporary file is hard-linked to its final name (atomic, fails if taken); on
    S3 a conditional PUT (``If-None-Match: *``); in memory under a lock. Other fsspec
    backends are used with ``exclusive_creates=False`` unless the caller vouches for them.

    A folder at a key holds no document, on every back end: reading it raises
    :class:`FileNotFoundError` (:meth:`read_many` leaves it out) and :meth:`exists` is
    False, as on S3, where a "folder" is only the common prefix of other keys. Creating a
    document or publishing a blob where a folder is raises
    :class:`~modelship.errors.StoreError` on local disk and in memory (never "taken"); S3
    stores it beside the folder.

    The optional capabilities are declared per back end: on local disk the store is a
    :class:`~modelship.registry.LocalBlobs`, on S3 an
    :class:`~modelship.registry.AbortsUploads` (constructing an ``FsspecStore`` gives an
    instance of the subclass that declares them).

    Examples
    --------
    >>> store = FsspecStore.from_url("memory://fsspec-store-doc")
    >>> store.exclusive_creates
    True
    >>> store.create("k", b"1")
    >>> try:
    ...     store.create("k", b"2")
    ... except FileExistsError:
    ...     print("taken")
    taken
    """

    def __new__(cls, fs: Any = None, *args: Any, **kwargs: Any) -> FsspecStore:
        # A back end's optional capabilities are declared by its class (LocalBlobs on local
        # disk, AbortsUploads on S3), so that isinstance tells them apart without probing.
        # (Unpickling calls __new__ without arguments, on the subclass already chosen.)
        made = cls
        if cls is FsspecStore and fs is not None:
            protocol = str(_protocols_of(fs)[0])
            if protocol in _LOCAL_PROTOCOLS:
                made = _LocalFsspecStore
            elif protocol in _S3_PROTOCOLS:
                made = _S3FsspecStore
        return super().__new__(made)

    def __init__(self, fs: Any, root: str, *, url: str, exclusive_creates: bool | None = None):
        self.fs = fs
        # "/" stays "/": stripped to "", every key would be a path relative to the
        # current folder. An empty root (memory://) stays empty.
        self.root = root.rstrip("/") or root[:1]
        self.url = url
        protocols = _protocols_of(fs)
        self.protocol = str(protocols[0])
        self.is_local = self.protocol in _LOCAL_PROTOCOLS
        if exclusive_creates is not None and not isinstance(exclusive_creates, bool):
            raise ConfigError(
                f"exclusive_creates must be True, False or None, got {brief(exclusive_creates)}"
            )
        known = any(p in _EXCLUSIVE_PROTOCOLS for p in protocols)
        self.exclusive_creates = known if exclusive_creates is None else exclusive_creates

    @property
    def _shown_url(self) -> str:
        """:attr:`url` as messages show it: a password or token in it is ``***``."""
        return hide_credentials(self.url)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # An fsspec file system is pickled as its options; s3fs's tries are an attribute
        # (set by filesystem_for), so they are set again, or it would come back with
        # s3fs's 5, retried inside botocore's.
        tries = state.pop("_s3_tries", None)
        self.__dict__.update(state)
        if tries is not None:
            self.fs.retries = tries

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if not self.is_local and hasattr(self.fs, "retries"):
            state["_s3_tries"] = self.fs.retries
        return state

    @classmethod
    def from_url(cls, url: str, **storage_options: Any) -> FsspecStore:
        """Open the store at an fsspec URL (``file://``, a path, ``memory://``, ``s3://``)."""
        fs, root = filesystem_for(url, storage_options)
        return cls(fs, root, url=url)

    # --- helpers ------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        _inside(key)
        return f"{self.root.rstrip('/')}/{key}" if key else self.root

    def _local(self, key: str) -> str:
        _inside(key)
        return os.path.join(self.root, *key.split("/")) if key else self.root

    def _bucket_key(self, key: str) -> tuple[str, str]:
        """The S3 bucket and object key of ``key``."""
        bucket, path, _ = self.fs.split_path(self._full(key))
        return str(bucket), str(path)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Every storage failure in the block becomes a :class:`StoreError`.

        Only "missing" and "taken" pass as they are: they are answers, not failures. The
        message names the operation and key (``what``), the store and the cause; the
        cause is chained.
        """
        try:
            yield
        except (FileNotFoundError, FileExistsError, ModelshipError):
            raise
        except Exception as exc:  # OSError, botocore's errors, aiohttp's ...
            blocked = self.not_a_folder() if isinstance(exc, NotADirectoryError) else None
            if blocked is not None:  # the URL names a file: not a failure of the store
                raise blocked from exc
            detail = "" if self.is_local else _s3_detail(exc, s3=self.protocol in _S3_PROTOCOLS)
            raise StoreError(
                hide_credentials(
                    f"{what} failed on {self.url}: {type(exc).__name__}: {exc}{detail}"
                )
            ) from exc

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """:meth:`_errors` for a write to an object store, where "missing" is a failure.

        A PUT answers 404 only when the bucket does not exist (or an upload was aborted
        under it): passed on as it is, that "missing" reached users as a raw
        ``FileNotFoundError``, or read as an answer by callers that expect "taken" or
        nothing from a write.
        """
        try:
            with self._errors(what):
                yield
        except FileNotFoundError as exc:
            if _has_s3_code(exc, ("NoSuchBucket",)):
                bucket, _ = self._bucket_key("")
                raise StoreError(
                    f"{what} failed on {self._shown_url}: the bucket {bucket!r} does not exist. "
                    "Writing to a registry does not create buckets: create it, or check the URL"
                ) from exc
            raise StoreError(
                hide_credentials(f"{what} failed on {self.url}: not found: {exc}")
            ) from exc

    def not_a_folder(self) -> RegistryNotFound | None:
        """On local disk, the error for a registry folder that is a file, or lies under
        one (``reg = open_registry("model.pkl")``); None if it is not so.

        Asked only after a failure (``NotADirectoryError``, a folder that could not be
        made), so it costs nothing on any other path. A folder that does not exist yet is
        fine: writing creates it.
        """
        if not self.is_local:
            return None
        root = os.path.abspath(self.root)
        path = root
        while not os.path.isdir(path):
            if os.path.exists(path):
                where = (
                    "it is a file, not a registry folder"
                    if path == root
                    else f"{path}, on its path, is a file, not a folder"
                )
                return RegistryNotFound(
                    f"there is no registry at {self._shown_url}: {where}; give a folder (it "
                    "is created if missing)"
                )
            parent = os.path.dirname(path)
            if parent == path:
                return None
            path = parent
        return None

    def _folder_at(self, key: str) -> StoreError:
        """The error for a write of a document or blob where a folder is (never "taken").

        "Taken" (:class:`FileExistsError`, or a publish answering False) would make a
        writer move on to the next number forever, or trust a blob that is not there.
        """
        return StoreError(
            f"cannot write {key} on {self._shown_url}: a folder (or a named pipe, a socket or "
            "a symbolic link to no file) is where its file belongs. The store was damaged or "
            "tampered with; move it away"
        )

    # --- Store --------------------------------------------------------------------------

    def read(self, key: str) -> bytes:
        data: bytes
        if self.is_local:
            with self._errors(f"reading {key}"), self._open_document(key) as f:
                data = _read_document(f)
            if len(data) > MAX_DOCUMENT:
                raise too_large(key)
            return data
        try:
            # A document is small; one byte past the cap tells a larger object, which is
            # never read whole (a 400 MiB object cost 696 MiB read whole). One ranged
            # GET, and no HEAD (s3fs sizes an unranged read first, to split it).
            data = self.fs.cat_file(self._full(key), start=0, end=_DOCUMENT_RANGE)
        except Exception as exc:
            data = self._failed_read(key, exc)
        if len(data) > MAX_DOCUMENT:
            raise too_large(key)
        return data

    def _failed_read(self, key: str, failure: BaseException) -> bytes:
        """The document ``key`` whose ranged read raised ``failure``: empty, if S3 refused
        the range (416 InvalidRange, which a range from 0 gets only from an empty object);
        else ``failure`` is raised as :meth:`_errors` raises it."""
        with self._errors(f"reading {key}"):
            if not _has_s3_code(failure, ("InvalidRange",)):
                raise failure
        return b""

    def _open_document(self, key: str) -> IO[bytes]:
        """The local file at ``key``; a folder there is no document (FileNotFoundError),
        as on an object store, where a "folder" is only the common prefix of other keys.

        Nor is a named pipe or a socket, which is never waited on: it is opened without
        blocking, and what was opened is checked (``fstat`` of the descriptor, so a file
        swapped in meanwhile is not what is checked) before a read could block.
        """
        path = self._local(key)
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError:
            # A socket cannot be opened (ENXIO), a link in a loop neither (ELOOP).
            if _taken_by_no_document(path):
                raise _not_a_document(path) from None
            raise
        try:
            if not _holds_documents(os.fstat(fd).st_mode):
                raise _not_a_document(path)
            if _NONBLOCK:
                os.set_blocking(fd, True)  # reads as before (no EAGAIN from a device)
        except BaseException:
            os.close(fd)
            raise
        return os.fdopen(fd, "rb")

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(keys)
        if not keys:
            return {}
        if self.is_local or self.protocol == "memory":
            out = {}
            for key in keys:
                with contextlib.suppress(FileNotFoundError):
                    out[key] = self.read(key)
            return out
        keys = list(dict.fromkeys(keys))
        # Ranged reads of exactly these keys: ``cat`` of a list expands each path as a
        # pattern, so a registry under a prefix holding "*" or "[" found none of them.
        with self._errors("reading many keys"):
            got = self.fs.cat_ranges(
                [self._full(k) for k in keys], 0, _DOCUMENT_RANGE, on_error="return"
            )
        out = {}
        for key, result in zip(keys, got, strict=True):
            if isinstance(result, FileNotFoundError):
                continue  # missing: left out, as the protocol says
            # Any other failure (a timeout, a refused request) is not "missing": a
            # listing of alias moves or versions that silently lost one would lie.
            data = self._failed_read(key, result) if isinstance(result, BaseException) else result
            if len(data) > MAX_DOCUMENT:
                raise too_large(key)
            out[key] = data
        return out

    def create(self, key: str, data: bytes) -> None:
        if not data:
            # S3's conditional PUT does not protect an empty body through every client
            # path (an empty "xb" write overwrites), so empty documents are refused here.
            raise StoreError(f"refusing to create {key!r} with no bytes")
        if self.is_local:
            with self._errors(f"creating {key}"):
                self._create_local(key, data)
        elif self.protocol == "memory":
            with self._errors(f"creating {key}"):
                self._put_in_memory(key, data, exclusive=True)
        else:
            self._create_remote(key, data)

    def _put_in_memory(self, key: str, data: bytes, *, exclusive: bool) -> None:
        """Store ``data`` at ``key`` in fsspec's memory file system, whole, in one step.

        ``pipe_file`` with all the bytes makes the key visible full in one assignment
        (``put_file`` and an open for writing show it empty first, then fill it). Under
        the process-wide lock, ``exclusive`` makes it an exclusive create among threads.
        """
        full = self._full(key)
        with _MEMORY_LOCK:
            if exclusive and self.fs.exists(full):
                if self.fs.isdir(full):
                    raise self._folder_at(key)
                raise FileExistsError(key)
            try:
                self.fs.pipe_file(full, data)
            except FileExistsError as exc:  # the key is free: a parent is a document
                raise StoreError(
                    f"cannot create {key} on {self._shown_url}: a file is where a folder belongs "
                    f"({exc}). The store was damaged or tampered with; move that file away"
                ) from exc

    def _create_remote(self, key: str, data: bytes) -> None:
        def put() -> None:
            with self._writing(f"creating {key}"):
                self.fs.pipe_file(self._full(key), data, mode="create")

        try:
            _until_decided(put)
        except FileExistsError:
            if self._holds(key, data):
                return
            raise FileExistsError(key) from None
        except StoreError as exc:
            # A PUT that S3 carried out, its reply lost, then retries that failed (503,
            # a reset): "failed" would be false, and a caller trying again would commit a
            # version twice. The key is read back to learn what happened.
            if not self._landed(key, data, exc):
                raise

    def _landed(self, key: str, data: bytes, failure: StoreError) -> bool:
        """Whether a create of ``key`` that ended in ``failure`` was carried out all the
        same: True if the key holds ``data``; False if it is missing (the create failed:
        ``failure`` stands). Other bytes there are :class:`FileExistsError` (the key is
        taken, as a refused create says). A read that fails too is a :class:`StoreError`
        saying the outcome is unknown.
        """
        holds = self._read_back(
            key,
            data,
            f"{failure}; reading {key} back to learn whether the write was carried out anyway "
            "failed too",
        )
        if holds is None:
            return False
        if holds:
            return True
        raise FileExistsError(key) from None

    def _holds(self, key: str, data: bytes) -> bool:
        """Whether the key a create was refused holds exactly ``data``: this writer's own.

        When the reply to a conditional PUT that S3 carried out is lost (a 500, a dropped
        connection), botocore and s3fs send it again, and the retry meets 412: the key is
        taken, by the first attempt. Believing "taken" there commits a version twice,
        refuses an explicit version that was committed, reports a conflict for an alias
        move that landed. Equal bytes are this writer's: every document whose create
        decides a race (slot claims, manifests) holds a registration id of its own, and
        alias and tag log entries their revision, author and time to the microsecond;
        documents that two writers may write alike (the registry marker, a name claim, a
        copied document) mean the same change, made once, whoever made it.
        """
        # Missing: deleted since, it was not this writer's to keep.
        return bool(
            self._read_back(
                key,
                data,
                f"creating {key} on {self._shown_url}: S3 answered that the key exists after "
                "a reply was lost, and reading it back failed",
            )
        )

    def _read_back(self, key: str, data: bytes, failed: str) -> bool | None:
        """Whether ``key`` holds exactly ``data`` after a create whose outcome is not
        known; None if it is missing. A read that fails gives neither answer ("taken"
        would commit a version twice, "created" may be false): a :class:`StoreError`
        starting with ``failed`` says the outcome is unknown."""
        try:
            return self.read(key) == data
        except FileNotFoundError:
            return None
        except StoreError as exc:
            raise StoreError(
                f"{failed} ({exc}); it may hold this write or another's: its outcome is "
                "unknown. Check the registry (versions, aliases) before trying again"
            ) from exc

    def _create_local(self, key: str, data: bytes) -> None:
        final = self._local(key)
        directory = os.path.dirname(final)
        _make_folder(directory, self)
        staging = self._local(".staging")
        _make_folder(staging, self)
        if os.path.lexists(final):
            # Taken: the link below would fail after writing and fsyncing a copy for
            # nothing (a model's name claim, on every registration after its first). Only
            # an early answer: on a free key the exclusive link still decides.
            if _taken_by_no_document(final):
                raise self._folder_at(key)
            raise FileExistsError(key)
        tmp = os.path.join(staging, f"{uuid.uuid4().hex}.doc")
        try:
            with open(tmp, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # Atomic; fails if taken; only whole files become visible.
            if not _link(tmp, final):
                if _taken_by_no_document(final):  # made since the check above
                    raise self._folder_at(key)
                raise FileExistsError(key)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(directory)

    def replace(self, key: str, data: bytes) -> None:
        if self.is_local:
            with self._errors(f"writing {key}"):
                self._replace_local(key, data)
            return
        with self._writing(f"writing {key}"):
            self.fs.pipe_file(self._full(key), data)

    def _replace_local(self, key: str, data: bytes) -> None:
        final = self._local(key)
        _make_folder(os.path.dirname(final), self)
        staging = self._local(".staging")
        _make_folder(staging, self)
        tmp = os.path.join(staging, f"{uuid.uuid4().hex}.doc")
        try:
            with open(tmp, "xb") as f:
                f.write(data)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def location_exists(self) -> bool:
        """Whether the folder (local disk) or bucket (S3) of this store exists.

        A file where the folder should be (or on its path) raises
        :class:`~modelship.RegistryNotFound` saying so: "does not exist" would hide it.
        """
        if self.is_local:
            if os.path.isdir(self.root):
                return True
            blocked = self.not_a_folder()
            if blocked is not None:
                raise blocked
            return False
        if self.protocol in _S3_PROTOCOLS:
            bucket, _ = self._bucket_key("")
            with self._errors(f"checking the bucket {bucket}"):
                return bool(self.fs.exists(bucket))
        return True  # memory and other file systems: an absent folder is an empty one

    def exists(self, key: str) -> bool:
        if self.is_local:
            return os.path.isfile(self._local(key))
        if self.protocol in _S3_PROTOCOLS:
            # One HEAD: s3fs's isfile follows a 404 with a LIST, looking for a folder.
            bucket, path = self._bucket_key(key)
            with self._errors(f"checking {key}"):
                try:
                    self.fs.call_s3("head_object", Bucket=bucket, Key=path)
                except FileNotFoundError:
                    return False
            return True
        with self._errors(f"checking {key}"):
            return bool(self.fs.isfile(self._full(key)))

    def list(self, prefix: str) -> list[str]:
        if self.is_local:
            with self._errors(f"listing {prefix}"):
                try:
                    return sorted(os.listdir(self._local(prefix)))
                except NotADirectoryError:  # a file has no keys under it ...
                    blocked = self.not_a_folder()
                    if blocked is not None:  # ... but one at the registry's folder is no key
                        raise blocked from None
                    return []
                except FileNotFoundError:
                    return []
        base = self._full(prefix).rstrip("/")
        with self._errors(f"listing {prefix}"):
            try:
                entries = self.fs.ls(base, detail=False, refresh=True)
            except FileNotFoundError:
                return []
        names = []
        for entry in entries:
            name = str(entry).rstrip("/").rsplit("/", 1)[-1]
            # "." and "..": an object store keeps such segments as written, but no key
            # may hold one (_inside): a stray object named so is not listed, so a caller
            # building keys from the listing (gc) never builds a key it cannot use.
            if str(entry).rstrip("/") != base and name and name not in (".", ".."):
                names.append(name)
        return sorted(set(names))

    def delete(self, key: str) -> None:
        if self.is_local:
            with self._errors(f"deleting {key}"), contextlib.suppress(FileNotFoundError):
                os.unlink(self._local(key))
            return
        with self._errors(f"deleting {key}"), contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._full(key))

    def blob_writer(self, callback: Any = None) -> BlobWriter:
        if self.is_local:
            return _LocalBlobWriter(self, callback)
        return _SpoolBlobWriter(self, callback)

    def open_blob(self, key: str) -> IO[bytes]:
        if self.is_local:
            with self._errors(f"opening {key}"):
                local = self._open_document(key)
            if hasattr(os, "posix_fadvise"):
                # Read front to back: a larger read-ahead when the blob is not cached.
                with contextlib.suppress(OSError):
                    os.posix_fadvise(local.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            return local
        if self.protocol == "memory":
            # fsspec's memory file system hands every reader of a key the same file object,
            # seeked to 0 at each open: a second reader moved the first one's position (a
            # thread checking a reused blob read 0 of its 4,208 bytes and "repaired" it).
            # Each reader gets its own copy of the bytes.
            with self._errors(f"opening {key}"):
                return io.BytesIO(self.fs.cat_file(self._full(key)))
        with self._errors(f"opening {key}"):
            # No read-ahead cache: the registry reads each CHUNK once, front to back.
            f: IO[bytes] = self.fs.open(self._full(key), "rb", block_size=CHUNK, cache_type="none")
        details = getattr(f, "details", None)  # s3fs read the key's info to open it
        if isinstance(details, dict) and details.get("type") == "directory":
            f.close()
            raise FileNotFoundError(errno.ENOENT, "a folder, not a document", key)
        # Each read is a request that can fail in ways of the network library's own.
        return cast(IO[bytes], GuardedFile(f, lambda: self._reading_blob(key)))

    @contextlib.contextmanager
    def _reading_blob(self, key: str) -> Iterator[None]:
        """:meth:`_errors` for a read of an open object: one deleted under it is missing.

        s3fs reads the object it opened only while its ETag is the one it opened; once the
        ETag changes it raises ``FileExpired``. A delete racing a read came out so now and
        then (moto answers a read of an object being deleted so), a ``StoreError`` where a
        read of a key deleted a moment earlier is "missing". So when the key is gone, the
        read raises :class:`FileNotFoundError`; when another object is there now, the
        ``StoreError`` says the key was replaced while it was read.
        """
        try:
            with self._errors(f"reading {key}"):
                yield
        except StoreError as exc:
            if type(exc.__cause__).__name__ != "FileExpired":
                raise
            with self._errors(f"looking for {key} after it changed under its reader"):
                self.fs.invalidate_cache(self._full(key))
                there = self.fs.exists(self._full(key))
            if not there:
                raise FileNotFoundError(
                    errno.ENOENT, "deleted while it was being read", key
                ) from exc
            raise StoreError(
                f"{exc} The object at {key} was replaced while it was being read: read it again"
            ) from exc.__cause__

    def _local_file(self, key: str) -> os.stat_result:
        """The status of the local file at ``key``; a folder (a FIFO, a socket) there is
        missing, as in :meth:`_open_document`."""
        found = os.stat(self._local(key))
        if not _holds_documents(found.st_mode):
            raise _not_a_document(self._local(key))
        return found

    def size(self, key: str) -> int:
        if self.is_local:
            with self._errors(f"sizing {key}"):
                return self._local_file(key).st_size
        with self._errors(f"sizing {key}"):
            info = self.fs.info(self._full(key))
        if info.get("type") == "directory":  # a prefix of other keys, not an object
            raise FileNotFoundError(errno.ENOENT, "a folder, not a document", key)
        return int(info["size"])

    def modified(self, key: str) -> float:
        if self.is_local:
            with self._errors(f"reading the time of {key}"):
                return self._local_file(key).st_mtime
        try:
            with self._errors(f"reading the time of {key}"):
                stamp = self.fs.modified(self._full(key))
        except StoreError as exc:  # s3fs: a prefix of other keys has no time
            if isinstance(exc.__cause__, IsADirectoryError):
                raise FileNotFoundError(errno.ENOENT, "a folder, not a document", key) from None
            raise
        return float(stamp.timestamp())


class _LocalFsspecStore(FsspecStore):
    """An :class:`FsspecStore` on local disk: blobs are files here (:class:`LocalBlobs`)."""

    def local_path(self, key: str) -> str:
        """The path of ``key`` on this machine."""
        return self._local(key)


class _S3FsspecStore(FsspecStore):
    """An :class:`FsspecStore` on S3, which lists and aborts open multipart uploads."""

    def incomplete_uploads(self, before: float) -> builtins.list[str]:
        """Multipart uploads under this store's root, begun before ``before``, still open.

        At a bucket's root, only those under ``blobs/sha256/``: the bucket's other keys
        are not the registry's.

        A writer killed while uploading a large artifact to S3 leaves one behind: its
        parts are invisible to reads and listings but stored (and billed) until the
        upload is aborted. Each is named ``<key>?uploadId=<id>``, ``key`` relative to the
        store's root; :meth:`abort_upload` takes that name. ``before`` is a POSIX
        timestamp compared with the time S3 reports the upload was begun.
        """
        bucket, root = self._bucket_key("")
        # A registry's prefix is its own. A registry at a bucket's root shares the bucket
        # with whatever else is stored there, so only the keys it uploads in parts (its
        # artifacts) are its uploads: gc aborted another application's upload there.
        base = f"{root}/" if root else ""
        prefix = base or f"{BLOBS}/"
        found = []
        markers: dict[str, str] = {}
        with self._errors("listing incomplete uploads"):
            for _ in range(_MAX_UPLOAD_PAGES):
                page = self.fs.call_s3(
                    "list_multipart_uploads", Bucket=bucket, Prefix=prefix, **markers
                )
                for upload in page.get("Uploads", []):
                    if upload["Initiated"].timestamp() < before:
                        key = upload["Key"].removeprefix(base)
                        found.append(f"{key}?uploadId={upload['UploadId']}")
                if not page.get("IsTruncated"):
                    return found
                after = {
                    "KeyMarker": page["NextKeyMarker"],
                    "UploadIdMarker": page["NextUploadIdMarker"],
                }
                if after == markers:  # a listing that does not move on would never end
                    break
                markers = after
        raise StoreError(
            f"listing incomplete uploads on {self._shown_url} did not end (more than "
            f"{_MAX_UPLOAD_PAGES} pages, or a page that repeats); abort them with a bucket "
            "lifecycle rule instead"
        )

    def abort_upload(self, upload: str) -> None:
        """Abort an upload that :meth:`incomplete_uploads` named; S3 deletes its parts.

        An upload that is gone already (completed, or aborted by someone else) is not an
        error. A name that is not of the form ``<key>?uploadId=<id>`` raises
        :class:`~modelship.errors.StoreError`.
        """
        key, sep, upload_id = upload.rpartition("?uploadId=")
        if not sep or not key or not upload_id:
            raise StoreError(
                f"cannot abort {upload!r} on {self._shown_url}: it is not an upload that "
                "incomplete_uploads() of this store returned (<key>?uploadId=<id>)"
            )
        bucket, path = self._bucket_key(key)
        with self._errors(f"aborting the upload of {key}"), contextlib.suppress(FileNotFoundError):
            self.fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=path, UploadId=upload_id)
