"""``open_registry``: from a URL to a :class:`Registry`, the way fsspec finds file systems."""

from __future__ import annotations

import contextlib
import difflib
import numbers
import os
import warnings
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from typing import Any

from modelship._hashing import CHUNK
from modelship._plugins import declared, load_plugin, origin, plugin
from modelship._shown import brief, chain_shows, hide_credentials
from modelship.errors import (
    ConfigError,
    ModelshipError,
    ModelshipWarning,
    StoreError,
    UnsupportedStorage,
)
from modelship.registry._protocols import Store
from modelship.registry._registry import Registry
from modelship.registry._store import FsspecStore, filesystem_for, scheme_of

__all__ = ["open_registry", "storage_options_only", "unnest_storage_options"]

_GROUP = "modelship.registries"
# The schemes modelship opens itself (a folder, memory, S3 with its own settings): never
# looked up among plugins, so an installed package cannot take over every registry on
# the local disk or in memory (an entry point claiming one is ignored, with a warning).
_OWN_SCHEMES = frozenset({"file", "local", "memory", "s3", "s3a"})


def open_registry(  # noqa: PLR0913 - public opener: keyword-only signing, locking and verification options, each documented
    url: str | os.PathLike[str],
    *,
    signing_key: bytes | str | None = None,
    single_writer: bool = False,
    exclusive_creates: bool | None = None,
    user: str | None = None,
    verify_signatures: bool = True,
    checkpoint_every: int = CHUNK,
    **storage_options: Any,
) -> Registry:
    """Open (or start) the model registry at ``url``.

    ``url`` is a folder path or any fsspec URL: ``file:///srv/models``, ``memory://x``,
    ``s3://bucket/prefix`` (``pip install 'modelship[s3]'``). A scheme registered under the
    ``modelship.registries`` entry point group is looked up first; its object is called
    with ``(url, **storage_options)`` and may return a :class:`Registry` or a
    :class:`Store`. modelship's own schemes (a folder path, ``file``, ``local``,
    ``memory``, ``s3``, ``s3a``) are never looked up: an entry point naming one is ignored
    with a :class:`~modelship.errors.ModelshipWarning` naming its package. A plugin that
    raises is a :class:`~modelship.ConfigError` naming the entry point, its package and the
    cause (a :class:`~modelship.StoreError` if the cause is an ``OSError``; a modelship
    error it raises passes unchanged). A plugin's :class:`Registry` comes configured: for one,
    ``signing_key``, ``verify_signatures``, ``single_writer``, ``user``,
    ``checkpoint_every`` and ``exclusive_creates`` are refused
    (:class:`~modelship.ConfigError`), never dropped; a plugin's :class:`Store` declares
    its own ``exclusive_creates``, so that option is refused for one too.
    The group is read once per process: a plugin installed later is found for a scheme
    fsspec does not know, and needs a new process to replace one it does.
    ``storage_options`` go to fsspec (for S3: ``key``, ``secret``, ``client_kwargs`` ...),
    as keywords or, as pandas takes them, in one mapping:
    ``storage_options={"client_kwargs": {"endpoint_url": ...}}``.

    On opening, the store is probed: it must refuse a second exclusive create of one key.
    Where it does not (or cannot promise it, as for unknown fsspec back ends), writing
    raises :class:`~modelship.UnsafeStore` unless ``single_writer=True`` says that no
    other process writes at the same time. ``exclusive_creates=True`` vouches for a back
    end modelship does not know (``False`` says it does not honour them; anything but a
    bool or ``None`` is a :class:`~modelship.ConfigError`).

    With ``signing_key``, everything written is signed (HMAC-SHA256 over manifests, slots,
    alias log entries and archive markers), the registry records that it signs, and every
    read (``get``, ``versions``, ``@alias``, ``load``, ``verify``) refuses a document without
    a valid signature. Without a key, a registry that records signing, or any signed
    document, is refused with :class:`~modelship.SignatureError`, unless
    ``verify_signatures=False`` opts out of every signature check (for readers who trust
    everyone able to write the store). ``checkpoint_every`` is as in
    :class:`~modelship.Registry`.

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
    if not isinstance(url, (str, os.PathLike)):
        raise ConfigError(
            f"url must be a folder path or an fsspec URL (str), got {type(url).__name__}"
        )
    url = os.fspath(url)
    if not isinstance(url, str):
        raise ConfigError(f"url must be text, not {type(url).__name__}: decode it first")
    if exclusive_creates is not None and not isinstance(exclusive_creates, bool):
        # "no" would be read as a vouch: a yes/no option is a bool, as single_writer is.
        raise ConfigError(
            "exclusive_creates must be True, False or None (as the back end declares), got "
            f"{brief(exclusive_creates)}"
        )
    scheme = scheme_of(url)
    storage_options = unnest_storage_options(storage_options)
    _check_storage_options(url, scheme, storage_options)
    if scheme in _OWN_SCHEMES:
        _warn_of_claims(scheme)
        ep = None
    else:
        # A scheme fsspec knows is looked up among the plugins read once per process; any
        # other is looked up in a fresh read before it is refused.
        ep = plugin(_GROUP, scheme, rescan=not _fsspec_knows(scheme))
    if ep is not None:
        made = _call_plugin(ep, scheme, url, storage_options)
        if isinstance(made, Registry):
            _refuse_options_for_plugin_registry(
                scheme,
                ep.value,
                signing_key=signing_key is not None,
                verify_signatures=verify_signatures is not True,
                single_writer=single_writer is not False,
                user=user is not None,
                checkpoint_every=checkpoint_every != CHUNK,
                exclusive_creates=exclusive_creates is not None,
            )
            return made
        if isinstance(made, Store):
            if exclusive_creates is not None:
                raise ConfigError(
                    f"the 'modelship.registries' plugin {ep.value!r} for {scheme!r} returns a "
                    "Store, which declares its own exclusive_creates "
                    f"({getattr(made, 'exclusive_creates', None)!r}); open_registry's "
                    "exclusive_creates vouches only for fsspec back ends: leave it out, or "
                    "set it in the plugin's Store"
                )
            return Registry(
                made,
                signing_key=signing_key,
                single_writer=single_writer,
                user=user,
                verify_signatures=verify_signatures,
                checkpoint_every=checkpoint_every,
            )
        raise UnsupportedStorage(
            f"the {_GROUP!r} entry point {scheme!r} ({origin(ep)}) returned "
            f"{type(made).__name__}, not a Registry or a Store; fix or uninstall that package"
        )
    fs, root = filesystem_for(url, storage_options)
    store = FsspecStore(fs, root, url=url, exclusive_creates=exclusive_creates)
    return Registry(
        store,
        signing_key=signing_key,
        single_writer=single_writer,
        user=user,
        verify_signatures=verify_signatures,
        checkpoint_every=checkpoint_every,
    )


def _warn_of_claims(scheme: str) -> None:
    """Warn that the entry points naming one of modelship's own schemes are ignored."""
    claims = declared(_GROUP, scheme)
    if claims:
        warnings.warn(
            f"the {_GROUP!r} entry point {scheme!r} ({' and '.join(origin(ep) for ep in claims)}) "
            f"is ignored: modelship opens {scheme!r} registries itself, and a package cannot "
            "replace that; give the plugin a scheme of its own, or uninstall the package",
            ModelshipWarning,
            stacklevel=3,
        )


def _call_plugin(ep: EntryPoint, scheme: str, url: str, options: dict[str, Any]) -> object:
    """The plugin's object for ``url``; what it raises is named as the plugin's.

    Its message is shown with URL credentials and the values of the options it was given
    masked (a factory may echo its ``password=``); when that hid anything in its message,
    or in the message of an exception it chains (``raise ... from`` a driver's error that
    quotes a DSN), the plugin's own exception, which still holds it, is not chained (a
    traceback would print it).
    """
    factory = load_plugin(ep)
    try:
        return factory(url, **options)
    except ModelshipError:
        raise  # the plugin's own word on what is wrong, already a modelship error
    except Exception as exc:  # whatever the plugin raised: named as the plugin's failure
        shown = _masked_options(hide_credentials(str(exc)), options)
        cause = None if _holds_secret(exc, options) else exc
        what = f"the {_GROUP!r} entry point {scheme!r} ({origin(ep)})"
        if isinstance(exc, OSError):
            raise StoreError(
                f"{what} could not open {hide_credentials(url)}: {type(exc).__name__}: {shown}"
            ) from cause
        raise ConfigError(
            f"{what} failed to open {hide_credentials(url)}: {type(exc).__name__}: {shown}; "
            "check the URL and options for that package, or fix or uninstall it"
        ) from cause


def _holds_secret(exc: BaseException, options: Mapping[str, Any]) -> bool:
    """Whether ``exc``'s chain (:func:`~modelship._shown.chain_shows`) changes when URL
    credentials and the values of ``options`` are masked.

    Examples
    --------
    >>> driver = OSError("no login for postgresql://svc:hunter22@db/models")
    >>> plugin = RuntimeError("could not log in")
    >>> plugin.__cause__ = driver
    >>> _holds_secret(plugin, {}), _holds_secret(RuntimeError("could not log in"), {})
    (True, False)
    >>> _holds_secret(RuntimeError("bad token s3cr3t-t0ken"), {"token": "s3cr3t-t0ken"})
    True
    """
    return chain_shows(exc, lambda text: _masked_options(hide_credentials(text), options))


#: Option values shorter than this are not masked in a plugin's message: a flag or a small
#: number as text (``"on"``, ``"10"``) would mask unrelated text, and no credential is that
#: short. Longer values that are no secret (a region, a timeout of 3600) are masked too:
#: harmless.
_MIN_MASKED = 4


def _masked_options(text: str, options: Mapping[str, Any]) -> str:
    """``text`` with every value given in ``options`` replaced by ``***``: text and bytes
    as given and as their ``repr`` shows them (escaped), numbers as ``str`` shows them (a
    PIN given as a number, or an ``-o`` value read as JSON), in mappings, lists and tuples
    too (as fsspec's ``client_kwargs``), longest first. Bounded: 4 levels deep. ``True``
    and ``False`` are not masked: no secret is a truth value, and masking them would hide
    those words wherever the message says them.

    Examples
    --------
    >>> _masked_options("login refused for {'password': 'hunter2'}", {"password": "hunter2"})
    "login refused for {'password': '***'}"
    >>> _masked_options(repr({"k": [b"s3cr3t"]}), {"k": [b"s3cr3t"]})
    "{'k': [b'***']}"
    >>> _masked_options("bad pin 12345678 (secure=True)", {"pin": 12345678, "secure": True})
    'bad pin *** (secure=True)'
    """
    shown: set[str] = set()

    def walk(value: Any, depth: int) -> None:
        if isinstance(value, str):
            shown.update((value, repr(value)[1:-1]))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            with contextlib.suppress(ValueError):  # an int past str()'s digit limit: unshowable
                shown.add(str(value))
        elif isinstance(value, bytes):
            shown.update((value.decode("utf-8", "replace"), repr(value)[2:-1]))
        elif depth < 4 and isinstance(value, Mapping):
            for item in value.values():
                walk(item, depth + 1)
        elif depth < 4 and isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item, depth + 1)

    walk(options, 0)
    for value in sorted((v for v in shown if len(v) >= _MIN_MASKED), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def _refuse_options_for_plugin_registry(scheme: str, plugin_value: str, **given: bool) -> None:
    """Refuse the options given (``given[option]`` true) to a plugin that returned a whole
    :class:`Registry`: it was built by the plugin, so they could not reach it, and a caller
    who asked for signing would get unsigned writes without a word."""
    names = [option for option, was_given in given.items() if was_given]
    if names:
        raise ConfigError(
            f"the 'modelship.registries' plugin {plugin_value!r} for {scheme!r} returns a "
            f"ready Registry, which cannot take open_registry's {', '.join(names)}; "
            "configure them in the plugin's own Registry(...), or have "
            "the plugin return a Store, which open_registry then opens with them"
        )


def _fsspec_knows(scheme: str) -> bool:
    import fsspec

    return scheme in fsspec.available_protocols() or scheme in fsspec.registry


# open_registry's own options: a storage option one letter away is a typo of one of them.
_OWN_OPTIONS = (
    "signing_key",
    "single_writer",
    "exclusive_creates",
    "user",
    "verify_signatures",
    "checkpoint_every",
)
# The options fsspec's local file system takes; a folder registry needs no others.
_LOCAL_OPTIONS = frozenset({"auto_mkdir"})


def storage_options_only(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` given to :func:`open_registry` as a file system takes them: unnested
    (``storage_options={...}``) and without ``open_registry``'s own (``single_writer``,
    ``user``, ``signing_key``...), which never reach the file system. For another store
    opened beside a registry (a prediction log) and for telling what a server given these
    options opens.

    Examples
    --------
    >>> storage_options_only({"single_writer": True, "storage_options": {"anon": True}})
    {'anon': True}
    """
    return {k: v for k, v in unnest_storage_options(options).items() if k not in _OWN_OPTIONS}


def unnest_storage_options(options: dict[str, Any]) -> dict[str, Any]:
    """The storage options, with those given as pandas takes them (``storage_options={...}``)
    brought to the top, as :func:`open_registry` reads them (a ``ConfigError`` for one
    given both ways).

    fsspec itself would take ``storage_options`` for an option of the back end and fail
    only at the first request, with the back end's own error.

    Examples
    --------
    >>> unnest_storage_options({"storage_options": {"anon": True}})
    {'anon': True}
    """
    if "storage_options" not in options:
        return options
    rest = dict(options)
    nested = rest.pop("storage_options")
    if not isinstance(nested, Mapping) or not all(isinstance(k, str) for k in nested):
        raise ConfigError(
            "storage_options must be a mapping of option names to values, as "
            f"{{'client_kwargs': {{...}}}}, not {type(nested).__name__}"
        )
    both = sorted(set(nested) & set(rest))
    if both:
        raise ConfigError(
            f"storage option(s) {both} given twice, as keywords and in storage_options; "
            "give each once"
        )
    return {**rest, **nested}


def _check_storage_options(url: str, scheme: str, options: dict[str, Any]) -> None:
    """Refuse a keyword that is a typo of one of open_registry's own (``singel_writer``), and
    storage options given for a local folder, which would be ignored without a word."""
    for key in options:
        close = difflib.get_close_matches(key, _OWN_OPTIONS, n=1, cutoff=0.8)
        if close:
            raise ConfigError(
                f"open_registry got an unknown option {key!r}; did you mean {close[0]!r}? "
                "(other keyword arguments are storage options, passed to fsspec)"
            )
    unknown = sorted(set(options) - _LOCAL_OPTIONS)
    if scheme == "file" and unknown:
        raise ConfigError(
            f"storage option(s) {unknown} do not apply to the local folder {url}; "
            f"open_registry's own options are {', '.join(_OWN_OPTIONS)}"
        )
