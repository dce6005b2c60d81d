"""``compare``: every way a production environment differs from the training one.

Each rule of :class:`ParityRules` is one small function below that returns its findings;
:func:`compare` runs those the inputs allow (packages always, schema only with a schema
and data...) and collects them in a :class:`ParityReport`.
"""

from __future__ import annotations

import fnmatch
import inspect
import math
import os
import re
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from modelship._params import Constraints, Options, check_parameters
from modelship.checks import Check, CheckResult, Severity, Status
from modelship.errors import ConfigError
from modelship.parity._behaviour import BehaviourRecord, compare_behaviour
from modelship.parity._findings import Finding, ParityReport
from modelship.parity._fingerprint import PreprocessingFingerprint, fingerprint_preprocessing
from modelship.parity._installed import PackageSource, different_commit
from modelship.parity._requirements import (
    check_requirements,
    describe_change,
    needed_pins,
    unevaluated_marker,
    version_change,
)
from modelship.parity._resources import ResourceRequest
from modelship.parity._rules import DEFAULT_RULES, ParityRules
from modelship.parity._snapshot import (
    _ZONE_PATH,
    DEFAULT_ENV_ALLOWLIST,
    UNKNOWN_ZONE,
    EnvironmentSnapshot,
    zone_in_root,
    zone_name,
    zoneinfo_root,
)

__all__ = ["ParityCheck", "SchemaLike", "compare", "validate_environment_parity"]


@runtime_checkable
class SchemaLike(Protocol):
    """What the schema rule needs: :class:`modelship.checks.Schema` is one.

    Examples
    --------
    >>> from modelship.checks import Schema
    >>> from modelship.parity import SchemaLike
    >>> isinstance(Schema.infer({"x": [1.0, 2.0]}), SchemaLike)
    True
    """

    def check(self, data: Any) -> Any:
        """Return a ``CheckResult``, or a check whose ``run()`` returns one.

        Examples
        --------
        >>> from modelship.checks import Schema
        >>> Schema.infer({"x": [1.0, 2.0]}).check({"x": [1.5]}).run().status.value
        'pass'
        """


_EXPECTED = {
    "train": "an EnvironmentSnapshot (EnvironmentSnapshot.capture() or .from_json())",
    "prod": "an EnvironmentSnapshot, or None for this environment",
    "requirements": "a mapping of distribution to version (mv.requirements), or None",
    "resources": "a ResourceRequest, or None",
    "rules": "a ParityRules, or None for the defaults",
    "fingerprint": "a PreprocessingFingerprint (fingerprint_preprocessing()), or None",
    "behaviour": "a BehaviourRecord (record_behaviour() or BehaviourRecord.from_json()), or None",
}


def _size(value: int | None) -> str:
    if value is None:
        return "unknown"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            # In integers, rounded half to even as "%.2f" would: value may be beyond any float.
            hundredths, rest = divmod(value * 100, scale)
            if 2 * rest > scale or (2 * rest == scale and hundredths % 2):
                hundredths += 1
            return f"{hundredths // 100}.{hundredths % 100:02d} {unit}"
    return f"{value} bytes"


@attrs.frozen
class _Rules:
    """Builds findings under a rule set, dropping those of rules that are off."""

    rules: ParityRules

    def finding(self, rule: str, message: str, **fields: Any) -> Iterator[Finding]:
        severity = getattr(self.rules, rule)
        if severity is not None:
            yield Finding(check=rule, severity=severity, message=message, **fields)


def _python(r: _Rules, train: EnvironmentSnapshot, prod: EnvironmentSnapshot) -> Iterator[Finding]:
    if train.python_implementation != prod.python_implementation:
        yield from r.finding(
            "python_implementation",
            f"Python implementation {train.python_implementation} in training, "
            f"{prod.python_implementation} in production: build the serving image on "
            f"{train.python_implementation}",
            train=train.python_implementation,
            prod=prod.python_implementation,
        )
    if train.python_minor != prod.python_minor:
        rule = "python_minor"
    elif train.python_version != prod.python_version:
        rule = "python_patch"
    else:
        return
    yield from r.finding(
        rule,
        f"Python {train.python_version} in training, {prod.python_version} in production"
        + (
            ": pickles and compiled extensions may not load; build the serving image on "
            f"Python {train.python_minor}"
            if rule == "python_minor"
            else f": build the serving image on Python {train.python_version}"
        ),
        train=train.python_version,
        prod=prod.python_version,
    )


def _packages(
    r: _Rules,
    train: EnvironmentSnapshot,
    prod: EnvironmentSnapshot,
    requirements: Mapping[str, str] | None,
) -> Iterator[Finding]:
    # Snapshots hold normalised names; requirements may be a plain dict ("Scikit_Learn").
    needed = train.packages if requirements is None else requirements
    for name, recorded, marker in needed_pins(needed, prod):
        # A marker production's snapshot cannot answer (an implementation_version it does
        # not record): compared as needed, the safe side, and said so.
        unknown = "" if marker is None else unevaluated_marker(marker, "for production", "compared")
        installed = prod.packages.get(name)
        if installed is None:
            yield from r.finding(
                "package_missing",
                f"{name} {recorded} is needed and not installed in production{unknown}: "
                f"install {name}=={recorded} in the serving image",
                train=recorded,
                subject=name,
            )
            continue
        change = version_change(recorded, installed)
        if change is None:
            yield from _source(r, name, installed, train, prod)
        else:
            how = describe_change(recorded, installed, change)
            # A label (the same release, 2.1.0+cu121 and 2.1.0+cpu) is package_patch's.
            yield from r.finding(
                f"package_{'patch' if change == 'label' else change}",
                f"{name} {recorded} in training, {installed} in production ({how}){unknown}",
                train=recorded,
                prod=installed,
                subject=name,
            )


def _source(
    r: _Rules, name: str, version: str, train: EnvironmentSnapshot, prod: EnvironmentSnapshot
) -> Iterator[Finding]:
    """The same version of ``name`` installed from different code: two commits
    (``package_source``), or sources that cannot be shown to be the same code
    (``package_source_unverified``): an editable install or a local directory on either
    side, whose code can change with no record of it, two archives with different
    digests (a wheel rebuilt from the same code differs in its zip timestamps), or two
    kinds of source (a git commit in training, a package index in production).

    Compared only when both snapshots record sources: one written before modelship
    recorded them (``package_sources`` None) cannot say whether a distribution came from
    an index or a commit, and almost all come from an index; reporting every
    distribution of such a snapshot would bury what matters. Two identical records (one
    editable directory on both sides: one machine) are taken as one source."""
    if train.package_sources is None or prod.package_sources is None:
        return
    a, b = train.package_sources.get(name), prod.package_sources.get(name)
    if a == b:
        return
    where = (
        f"{name} {version} was installed from {_origin(a)} in training, {_origin(b)} in production"
    )
    if a is not None and b is not None and a.identity is not None and a.identity == b.identity:
        return  # one commit (or archive digest) at two URLs: the same code
    if different_commit(a, b):
        yield from r.finding(
            "package_source",
            f"{where}: the code may differ at the same version; {_install(name, version, a)}",
            train=_origin(a),
            prod=_origin(b),
            subject=name,
        )
        return
    if (a is not None and a.local) or (b is not None and b.local):
        todo = (
            "build a wheel of it (pip wheel) and install that on both sides instead of an "
            "editable install or a directory, whose code can change with no record of it"
        )
    elif a is not None and b is not None and a.kind == b.kind == "archive":
        todo = (
            "the two archives differ, which a wheel rebuilt from the same code does too "
            "(its zip timestamps), so the code may or may not differ; install the same "
            "build in both (publish the wheel once, to an index or a shared location)"
        )
    else:
        todo = f"the two cannot be shown to be the same code; {_install(name, version, a)}"
    yield from r.finding(
        "package_source_unverified",
        f"{where}: {todo}",
        train=_origin(a),
        prod=_origin(b),
        subject=name,
    )


def _install(name: str, version: str, source: PackageSource | None) -> str:
    """What to do to install training's ``name`` in production."""
    if source is None:
        return f"pin {name}=={version} from the package index in the serving image"
    spec = source.spec(name)
    if source.kind == "archive" and (source.url or "").startswith("file:"):
        spec = None  # a path on the training machine: not something to install elsewhere
    if spec is None:
        return f"install the same build of {name} as training ({source}) in the serving image"
    return f"install it in the serving image with pip install '{spec}'"


def _origin(source: PackageSource | None) -> str:
    return "a package index" if source is None else str(source)


def _platform(
    r: _Rules, train: EnvironmentSnapshot, prod: EnvironmentSnapshot
) -> Iterator[Finding]:
    if train.architecture != prod.architecture:
        yield from r.finding(
            "architecture",
            f"architecture {train.machine} in training, {prod.machine} in production: "
            f"compiled wheels and float results may differ; serve on {train.machine}, or "
            f"train and register the model again on {prod.machine}",
            train=train.machine,
            prod=prod.machine,
        )
    if train.os != prod.os:
        yield from r.finding(
            "os",
            f"{train.os} in training, {prod.os} in production: serve on {train.os} to rule "
            "out platform differences, or set the os rule to off if they do not matter",
            train=train.os,
            prod=prod.os,
        )
    train_blas = sorted((lib.name, lib.version or "") for lib in train.blas)
    prod_blas = sorted((lib.name, lib.version or "") for lib in prod.blas)
    if train_blas and prod_blas and not _same_blas(_blas_names(train_blas), _blas_names(prod_blas)):
        yield from r.finding(
            "blas",
            f"numpy's BLAS is {_blas(train_blas)} in training, {_blas(prod_blas)} in production: "
            "floating-point results may differ in the last digits; install the training "
            "numpy wheel in the serving image",
            train=_blas(train_blas),
            prod=_blas(prod_blas),
        )
    else:
        yield from _blas_kernels(r, train, prod)
    train_gpus = [(gpu.name, gpu.driver_version) for gpu in train.gpus]
    prod_gpus = [(gpu.name, gpu.driver_version) for gpu in prod.gpus]
    if train_gpus != prod_gpus:
        yield from r.finding(
            "gpu",
            f"GPUs {_gpus(train_gpus)} in training, {_gpus(prod_gpus)} in production: serve "
            "on the training GPU model and driver, or check the model's outputs on these",
            train=[list(g) for g in train_gpus],
            prod=[list(g) for g in prod_gpus],
        )
    if not _same_locale(train, prod):
        yield from r.finding(
            "locale",
            f"locale {train.locale} in training, {prod.locale} in production: "
            + (
                f"set LC_ALL={train.locale} in the deployment spec (env)"
                if train.locale
                else "unset LC_ALL and LANG in the deployment spec (env): the C locale"
            ),
            train=train.locale,
            prod=prod.locale,
        )
    if not _same_zone(train, prod):
        fix = (
            f"set TZ={train.timezone} in the deployment spec (env) or the serving image"
            if train.timezone and _ZONE_PATH.fullmatch(train.timezone)
            else "give the serving image the training time zone (TZ, /etc/localtime)"
        )
        yield from r.finding(
            "timezone",
            f"timezone {_zone_shown(train)} in training, {_zone_shown(prod)} in production: "
            f"local times and dates may differ; {fix}",
            train=train.timezone,
            prod=prod.timezone,
        )
    yield from _env(r, train, prod)


# The C library's default locale, and how a snapshot written before modelship recorded
# setlocale(LC_CTYPE) recorded it: no locale (locale.getlocale() answers None for it).
_C_LOCALES = frozenset({None, "C", "POSIX"})


def _locale_key(name: str | None) -> tuple[str, str, str] | None:
    """A locale name as the C library reads it: language, codeset, modifier, the codeset
    normalised as glibc does (letters lower-cased, anything but letters and digits
    dropped, ``iso`` before an all-digit one), so ``C.UTF-8`` and ``C.utf8`` are one."""
    if name is None:
        return None
    if "." in name:
        language, _, rest = name.partition(".")
        codeset, _, modifier = rest.partition("@")
    else:
        language, _, modifier = name.partition("@")
        codeset = ""
    codeset = "".join(c.lower() for c in codeset if c.isascii() and c.isalnum())
    if codeset.isdigit():
        codeset = "iso" + codeset
    return language, codeset, modifier


# How a snapshot written before modelship recorded setlocale(LC_CTYPE) (schema_version 1,
# with no timezone_now) recorded C.UTF-8: locale.getlocale()'s alias table names it
# en_US.UTF-8. Such a snapshot's en_US.UTF-8 may have been either.
_GETLOCALE_C_UTF8 = ("en_US", "utf8", "")
_C_UTF8 = ("C", "utf8", "")


def _same_locale(train: EnvironmentSnapshot, prod: EnvironmentSnapshot) -> bool:
    """Whether two recorded locales are one: the same once their codesets are normalised
    (``C.UTF-8``, ``C.utf8``), the C locale on both sides, however recorded (``C``,
    ``POSIX``, or none in a snapshot written by an earlier modelship), or ``en_US.UTF-8``
    in a snapshot written by an earlier modelship (no ``timezone_now``) against
    ``C.UTF-8``: that modelship recorded C.UTF-8 so, and cannot tell the two apart."""
    if train.locale in _C_LOCALES and prod.locale in _C_LOCALES:
        return True
    a, b = _locale_key(train.locale), _locale_key(prod.locale)
    if a == b:
        return True
    return (train.timezone_now is None and (a, b) == (_GETLOCALE_C_UTF8, _C_UTF8)) or (
        prod.timezone_now is None and (b, a) == (_GETLOCALE_C_UTF8, _C_UTF8)
    )


# The names tzdata links to Etc/UTC: one zone (offset 0, abbreviation "UTC", never a
# change). Etc/GMT, GMT0 and Greenwich are another zone (abbreviated "GMT"), and are not
# in it.
# Read without regard to case (a TZ of "utc" is UTC too), as is the POSIX rule "UTC0"
# (offset 0), and under tzdata's "posix/" tree (not "right/": leap seconds counted).
_UTC_ALIASES = frozenset(
    {"UTC", "ETC/UTC", "ETC/UNIVERSAL", "UNIVERSAL", "ETC/UCT", "UCT", "ETC/ZULU", "ZULU", "UTC0"}
)


def _zone(zone: str | None) -> str | None:
    """The zone a snapshot's ``timezone`` names: under ``posix/`` the zone itself, UTC's
    aliases read as ``UTC``, and a name that is a link in this machine's zoneinfo
    folder as the zone it links to (``US/Eastern`` is ``America/New_York``)."""
    if zone is None:
        return None
    name = zone_name(zone).removeprefix("posix/")
    if _ZONE_PATH.fullmatch(name):  # a name, never a path: the document is untrusted
        name = zone_in_root(os.path.join(zoneinfo_root(), name)) or name
    return "UTC" if name.upper() in _UTC_ALIASES else name


def _same_zone(train: EnvironmentSnapshot, prod: EnvironmentSnapshot) -> bool:
    """Whether the two snapshots' zones are one: one zone file (the same digest,
    whatever the names: a link, a copy), or one name as :func:`_zone` reads it. A zone
    recorded as :data:`UNKNOWN_ZONE` is one with another only by digest."""
    if train.timezone_digest and train.timezone_digest == prod.timezone_digest:
        return True
    if UNKNOWN_ZONE in (train.timezone, prod.timezone):
        return False  # a file no zone holds: only its digest names it
    return _zone(train.timezone) == _zone(prod.timezone)


def _zone_shown(snapshot: EnvironmentSnapshot) -> str:
    if snapshot.timezone_now:
        return f"{snapshot.timezone} ({snapshot.timezone_now} when captured)"
    return str(snapshot.timezone)


def _recorded(snapshot: EnvironmentSnapshot, name: str) -> bool | None:
    """Whether ``snapshot`` would have recorded the variable ``name`` had it been set
    (its allow-list covers the name); None when the snapshot does not say which it
    recorded (one written before modelship kept its allow-list). A variable withheld for
    holding a credential was set there, and covered."""
    if name in snapshot.env or name in snapshot.env_withheld:
        return True
    if snapshot.env_allowlist is None:
        return None
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in snapshot.env_allowlist)


def _env(r: _Rules, train: EnvironmentSnapshot, prod: EnvironmentSnapshot) -> Iterator[Finding]:
    """The variables that differ, of those both snapshots recorded (or could have: a
    variable its allow-list covers but that it does not have was unset there). A
    variable one side's allow-list does not cover is not compared: nothing says what it
    was there. A snapshot without its allow-list cannot say whether a variable it lacks
    was unset or not recorded, and the finding says so: a difference that cannot be
    ruled out is reported, never passed over.

    A variable withheld for holding a credential was set: against an unset one it is a
    difference, and against a recorded value too (that value is not a credential, so the
    two differ). Withheld on both sides, its values are unknown and it is not compared."""
    withheld = set(train.env_withheld) | set(prod.env_withheld)
    for name in sorted(set(train.env) | set(prod.env) | withheld):
        if name in train.env_withheld and name in prod.env_withheld:
            continue  # two credentials, neither recorded: nothing to compare them by
        a, b = train.env.get(name), prod.env.get(name)
        if a == b and name not in withheld:
            continue
        in_train, in_prod = _recorded(train, name), _recorded(prod, name)
        if in_train is False or in_prod is False:
            continue  # one side did not record it: nothing to compare
        yield from r.finding(
            "env",
            f"${name} is {_shown(train, name, in_train)} in training, "
            f"{_shown(prod, name, in_prod)} in production",
            train=a,
            prod=b,
            subject=name,
        )


# What numpy's build configuration calls the OpenBLAS its wheels ship (scipy-openblas,
# scipy-openblas64, openblas64_), which threadpoolctl calls "openblas": one library.
_OPENBLAS = re.compile(r"(?:scipy[-_])?openblas(?:64_?)?", re.IGNORECASE)


def blas_name(name: str) -> str:
    """A BLAS library's name as compared: the names numpy's configuration gives OpenBLAS
    (``scipy-openblas``, ``scipy-openblas64``, ``openblas64_``) read as ``openblas``, as
    threadpoolctl names it, so that a snapshot taken without threadpoolctl matches one
    taken with it; any other name as it is.

    Examples
    --------
    >>> from modelship.parity._compare import blas_name
    >>> blas_name("scipy-openblas64"), blas_name("openblas64_"), blas_name("mkl")
    ('openblas', 'openblas', 'mkl')
    """
    return "openblas" if _OPENBLAS.fullmatch(name) else name


def _blas_names(libs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((blas_name(name), version) for name, version in libs)


def _same_blas(train: list[tuple[str, str]], prod: list[tuple[str, str]]) -> bool:
    """Whether numpy's BLAS may be the same on both sides. A snapshot records numpy's
    library alone; one written by an earlier modelship listed every BLAS the process had
    loaded (scipy's too) without saying which was numpy's. So one side's libraries all
    found among the other's is a match (numpy's is then among them on both sides); a
    library on each side that the other lacks is a difference that cannot be ruled out."""
    return set(train) <= set(prod) or set(prod) <= set(train)


def _blas_kernels(
    r: _Rules, train: EnvironmentSnapshot, prod: EnvironmentSnapshot
) -> Iterator[Finding]:
    """The same BLAS library running another kernel (OpenBLAS's Haswell and SkylakeX,
    chosen per CPU or by $OPENBLAS_CORETYPE): a matrix product's last bits differ. Compared
    for each library both sides record, with its kernel, at one version."""
    # Every kernel training recorded for a library at a version (an earlier modelship's
    # snapshot lists each BLAS loaded, perhaps one library twice): production's differs
    # only when it is none of them, whatever the order of the lists.
    train_kernels: dict[tuple[str, str], set[str]] = {}
    for lib in train.blas:
        if lib.architecture:
            key = (blas_name(lib.name), lib.version or "")
            train_kernels.setdefault(key, set()).add(lib.architecture)
    for lib in prod.blas:
        key = (blas_name(lib.name), lib.version or "")
        before = sorted(train_kernels.get(key, ()))
        if before and lib.architecture and lib.architecture not in before:
            kernels = " or ".join(before)
            yield from r.finding(
                "blas",
                f"numpy's BLAS {_blas([key])} runs the {kernels} kernel in training, "
                f"{lib.architecture} in production: floating-point results may differ in "
                f"the last digits; set OPENBLAS_CORETYPE={before[0]} in the deployment spec "
                "(env) to run the training kernel",
                train=kernels,
                prod=lib.architecture,
                subject=lib.name,
            )


def _blas(libs: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {version}".strip() for name, version in libs)


def _gpus(gpus: list[tuple[str, str | None]]) -> str:
    if not gpus:
        return "none"
    return ", ".join(f"{name} (driver {driver or '?'})" for name, driver in gpus)


def _shown(snapshot: EnvironmentSnapshot, name: str, recorded: bool | None) -> str:
    value = snapshot.env.get(name)
    if value is not None:
        return repr(value)
    if name in snapshot.env_withheld:
        return "set, not recorded (it holds a credential)"
    return "unset" if recorded else "unset or not recorded"


def _resources(r: _Rules, prod: EnvironmentSnapshot, request: ResourceRequest) -> Iterator[Finding]:
    offered_memory, offered_cpus = prod.memory, prod.cpus
    if request.memory is not None:
        if offered_memory is None:
            yield from r.finding(
                "resources",
                f"{_size(request.memory)} of memory requested; the target does not say how "
                "much it has, so the request cannot be checked",
                train=request.memory,
            )
        elif request.memory > offered_memory:
            yield from r.finding(
                "resources",
                f"{_size(request.memory)} of memory requested; the target offers "
                f"{_size(offered_memory)}: request at most that, or deploy to a larger target",
                train=request.memory,
                prod=offered_memory,
                subject="memory",
            )
    if request.cpus is not None:
        if offered_cpus is None:
            yield from r.finding(
                "resources",
                f"{request.cpus:g} CPUs requested; the target does not say how many it has",
                train=request.cpus,
            )
        elif request.cpus > offered_cpus:
            yield from r.finding(
                "resources",
                f"{request.cpus:g} CPUs requested; the target offers {offered_cpus:g}: "
                "request at most that, or deploy to a larger target",
                train=request.cpus,
                prod=offered_cpus,
                subject="cpus",
            )
    if request.model_size is not None:
        # Exact: size times factor may be beyond any float (8 EiB times 1e300).
        needed = math.ceil(request.model_size * Fraction(r.rules.model_memory_factor))
        limit = request.memory if request.memory is not None else offered_memory
        if limit is None:
            # As a memory request that cannot be checked: never passed over in silence.
            yield from r.finding(
                "resources",
                f"the model's {_size(request.model_size)} artifact needs at least "
                f"{_size(needed)} to load; no memory is requested and the target does not "
                "say how much it has, so the model size cannot be checked: request memory "
                "(ResourceRequest memory=, --memory) or compare with a snapshot that "
                "records the target's memory",
                train=needed,
                subject="model_size",
            )
        elif needed > limit:
            yield from r.finding(
                "resources",
                f"the model's {_size(request.model_size)} artifact needs at least "
                f"{_size(needed)} to load; the memory limit is {_size(limit)}",
                train=needed,
                prod=limit,
                subject="model_size",
            )


def _schema(r: _Rules, schema: Any, data: Any) -> Iterator[Finding]:
    if not isinstance(schema, SchemaLike):
        raise ConfigError(
            f"schema must have a check(data) method (a modelship.checks.Schema), got "
            f"{type(schema).__name__}"
        )
    try:
        result = schema.check(data)
        if isinstance(result, Check) and not isinstance(result, CheckResult):
            result = result.run()
    except Exception as exc:  # a schema that cannot be checked blocks, never passes
        result = CheckResult.from_exception("schema", exc)
    if not isinstance(result, CheckResult):
        raise ConfigError(
            f"schema.check(data) must return a CheckResult or a Check, got {type(result).__name__}"
        )
    if result.status is Status.PASS:
        return
    failing = {
        name: column.reason
        for name, column in result.columns.items()
        if column.status is not Status.PASS
    }
    if result.status is Status.WARN:
        yield Finding(
            check="schema", severity=Severity.ADVISORY, message=result.reason, prod=failing
        )
        return
    yield from r.finding(
        "schema",
        f"the production data does not fit the training schema: {result.reason}",
        prod=failing,
    )


def _preprocessing(
    r: _Rules,
    fingerprint: PreprocessingFingerprint | None,
    behaviour: BehaviourRecord | None,
    preprocessing: Any,
) -> Iterator[Finding]:
    if preprocessing is None:
        raise ConfigError(
            "a preprocessing fingerprint or behaviour record needs the production "
            "preprocessing to compare with: pass preprocessing=<the fitted transformer>"
        )
    if fingerprint is not None:
        now = (
            preprocessing
            if isinstance(preprocessing, PreprocessingFingerprint)
            else fingerprint_preprocessing(preprocessing)
        )
        parts = fingerprint.diff(now)
        if parts:
            yield from r.finding(
                "preprocessing_fingerprint",
                f"the production preprocessing ({now.kind}) is not the one trained with: "
                f"{', '.join(parts)} differ",
                train=fingerprint.digest,
                prod=now.digest,
                subject=", ".join(parts),
            )
    if behaviour is not None and r.rules.preprocessing_behaviour is not None:
        if isinstance(preprocessing, PreprocessingFingerprint):
            raise ConfigError(
                "a behaviour record is replayed through the preprocessing object, "
                "not a fingerprint of it"
            )
        yield from compare_behaviour(
            behaviour,
            preprocessing,
            rtol=r.rules.behaviour_rtol,
            atol=r.rules.behaviour_atol,
            severity=r.rules.preprocessing_behaviour,
        )


def compare(  # noqa: PLR0913 - public comparison: one optional keyword-only input per aspect of parity compared
    train: EnvironmentSnapshot,
    prod: EnvironmentSnapshot | None = None,
    *,
    requirements: Mapping[str, str] | None = None,
    resources: ResourceRequest | None = None,
    schema: SchemaLike | None = None,
    data: Any = None,
    fingerprint: PreprocessingFingerprint | None = None,
    behaviour: BehaviourRecord | None = None,
    preprocessing: Any = None,
    rules: ParityRules | None = None,
) -> ParityReport:
    """Compare the training environment with production and say what differs, how much.

    Parameters
    ----------
    train : EnvironmentSnapshot
        Where the model was trained (``mv.environment``).
    prod : EnvironmentSnapshot, optional
        Where it is about to run; ``None`` captures this process's environment, recording
        the variables of :data:`DEFAULT_ENV_ALLOWLIST`, those the training snapshot
        has or withheld, and the plain names (no ``*``, ``?`` or ``[``) of its
        allow-list, so that a variable unset in training and set here is found (each by
        exact name: a stored snapshot is never a source of patterns).
        Environment variables are compared where both snapshots' allow-lists
        (:attr:`EnvironmentSnapshot.env_allowlist`) cover the name; a variable one did
        not record is not compared. Against a snapshot that does not say what it recorded
        (written before modelship kept its allow-list), a variable it lacks is reported as
        "unset or not recorded"; one a snapshot withheld for holding a credential
        (:attr:`EnvironmentSnapshot.env_withheld`) as "set, not recorded (it holds a
        credential)".
    requirements : Mapping[str, str], optional
        The distributions the model needs (``mv.requirements``) and their training
        versions. Without it, every distribution of ``train`` counts as needed. A pin
        with a marker (:attr:`~modelship.parity.Requirements.markers`) is compared only
        where its marker holds for ``prod``
        (:func:`~modelship.parity._pins.marker_environment`); one the snapshot cannot
        answer is compared as needed, its finding saying so.
    resources : ResourceRequest, optional
        Memory and CPUs the deployment requests and the model's size, checked against
        what ``prod`` offers (its cgroup limits first).
    schema, data : optional
        A :class:`~modelship.checks.Schema` (anything whose ``check(data)`` returns a
        ``CheckResult`` or a check) and production data to validate with it.
    fingerprint : PreprocessingFingerprint, optional
        The training preprocessing's fingerprint, compared with ``preprocessing``'s.
    behaviour : BehaviourRecord, optional
        Canary inputs and outputs recorded in training, replayed through ``preprocessing``.
    preprocessing : object, optional
        The production preprocessing (a fitted transformer, or a callable for behaviour).
    rules : ParityRules, optional
        Severities and tolerances; :data:`DEFAULT_RULES` when omitted.

    Raises
    ------
    ConfigError
        For inputs that cannot be compared (``schema`` without ``data``, a fingerprint or
        behaviour record without ``preprocessing``).

    Examples
    --------
    >>> import attrs
    >>> from modelship.parity import EnvironmentSnapshot, compare
    >>> train = EnvironmentSnapshot(python_version="3.11.7", python_implementation="CPython",
    ...                             os="Linux", machine="x86_64",
    ...                             packages={"scikit-learn": "1.5.2", "numpy": "2.1.0"})
    >>> prod = attrs.evolve(train, python_version="3.12.1",
    ...                     packages={"scikit-learn": "1.5.2", "numpy": "2.1.3"})
    >>> report = compare(train, prod)
    >>> report.passed
    False
    >>> print(report.summary())
    BLOCKING  python_minor: Python 3.11.7 in training, 3.12.1 in production: pickles and ...
    ADVISORY  package_patch: numpy 2.1.0 in training, 2.1.3 in production (patch version differs)
    FAILED (1 blocking, 1 advisory)
    """
    for label, value, kind in (
        ("train", train, EnvironmentSnapshot),
        ("prod", prod, (EnvironmentSnapshot, type(None))),
        ("requirements", requirements, (Mapping, type(None))),
        ("resources", resources, (ResourceRequest, type(None))),
        ("rules", rules, (ParityRules, type(None))),
        ("fingerprint", fingerprint, (PreprocessingFingerprint, type(None))),
        ("behaviour", behaviour, (BehaviourRecord, type(None))),
    ):
        if not isinstance(value, kind):
            raise ConfigError(f"{label} must be {_EXPECTED[label]}, got {type(value).__name__}")
    if requirements is not None:
        check_requirements(requirements)
    if (schema is None) != (data is None):
        raise ConfigError("the schema check needs both schema= and data= (production data)")
    if prod is None:
        # train.env's names are looked up exactly: as patterns, a forged "*" would record
        # every production variable.
        # Those it withheld too (set to a credential there): production's value is compared.
        exactly = [re.sub(r"([*?[])", r"[\1]", name) for name in (*train.env, *train.env_withheld)]
        # And the plain names of its allow-list: a variable training recorded as unset
        # (MY_FLAG, listed but not set) is compared with production's value.
        plain = [name for name in train.env_allowlist or () if not re.search(r"[*?[]", name)]
        prod = EnvironmentSnapshot._captured((*DEFAULT_ENV_ALLOWLIST, *exactly, *plain))
    r = _Rules(DEFAULT_RULES if rules is None else rules)
    findings: list[Finding] = [
        *_python(r, train, prod),
        *_packages(r, train, prod, requirements),
        *_platform(r, train, prod),
    ]
    if resources is not None:
        findings.extend(_resources(r, prod, resources))
    if schema is not None and r.rules.schema is not None:
        findings.extend(_schema(r, schema, data))
    if fingerprint is not None or behaviour is not None:
        findings.extend(_preprocessing(r, fingerprint, behaviour, preprocessing))
    return ParityReport(findings)


def validate_environment_parity(
    train: EnvironmentSnapshot,
    prod: EnvironmentSnapshot | None = None,
    *,
    strict: bool = False,
    **options: Any,
) -> bool:
    """Return whether ``prod`` may run a model trained in ``train``: a yes or no for CI.

    ``False`` when :func:`compare` finds a blocking difference, or with ``strict=True``
    any difference at all. ``options`` are those of :func:`compare`.

    Examples
    --------
    >>> import attrs
    >>> from modelship.parity import EnvironmentSnapshot, validate_environment_parity
    >>> train = EnvironmentSnapshot(python_version="3.11.7", python_implementation="CPython",
    ...                             os="Linux", machine="x86_64", packages={"numpy": "2.1.0"})
    >>> validate_environment_parity(train, attrs.evolve(train, os="Darwin"))
    True
    >>> validate_environment_parity(train, attrs.evolve(train, os="Darwin"), strict=True)
    False

    Raises
    ------
    ConfigError
        When ``strict`` is not a bool, an option is not one of :func:`compare`'s, or
        :func:`compare` refuses its arguments.
    """
    if not isinstance(strict, bool):
        raise ConfigError(
            f"strict must be True or False, got {type(strict).__name__} {strict!r:.80}"
        )
    unknown = sorted(set(options) - _COMPARE_OPTIONS)
    if unknown:
        raise ConfigError(
            f"validate_environment_parity has no option {', '.join(map(repr, unknown[:5]))}; "
            f"its options are those of compare(): {', '.join(sorted(_COMPARE_OPTIONS))}"
        )
    report = compare(train, prod, **options)
    return not report.findings if strict else report.passed


_COMPARE_OPTIONS = frozenset(inspect.signature(compare).parameters) - {"train", "prod"}


@attrs.frozen(kw_only=True)
class ParityCheck:
    """Environment parity as a check for :func:`~modelship.checks.run_suite`.

    The comparison runs in :meth:`run`, so an input that cannot be compared becomes an
    ``error`` result in the suite rather than an exception. Fields are the arguments of
    :func:`compare`.

    Examples
    --------
    >>> import attrs
    >>> from modelship.checks import run_suite
    >>> from modelship.parity import EnvironmentSnapshot, ParityCheck
    >>> train = EnvironmentSnapshot(python_version="3.11.7", python_implementation="CPython",
    ...                             os="Linux", machine="x86_64")
    >>> suite = run_suite([ParityCheck(train=train, prod=attrs.evolve(train, machine="arm64"))])
    >>> suite["environment_parity"].status.value, suite.exit_code()
    ('fail', 1)
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "name": str,
        "severity": Options(Severity),
    }
    __attrs_pre_init__ = check_parameters

    train: EnvironmentSnapshot
    prod: EnvironmentSnapshot | None = None
    requirements: Mapping[str, str] | None = None
    resources: ResourceRequest | None = None
    schema: SchemaLike | None = None
    data: Any = None
    fingerprint: PreprocessingFingerprint | None = None
    behaviour: BehaviourRecord | None = None
    preprocessing: Any = None
    rules: ParityRules | None = None
    name: str = "environment_parity"
    severity: Severity = attrs.field(default=Severity.BLOCKING, converter=Severity)

    def run(self) -> CheckResult:
        """Compare, and return the report as a :class:`~modelship.checks.CheckResult`.

        Examples
        --------
        >>> from modelship.parity import EnvironmentSnapshot, ParityCheck
        >>> snap = EnvironmentSnapshot(python_version="3.11.7",
        ...                            python_implementation="CPython", os="Linux",
        ...                            machine="x86_64")
        >>> ParityCheck(train=snap, prod=snap).run().status.value
        'pass'
        """
        report = compare(
            self.train,
            self.prod,
            requirements=self.requirements,
            resources=self.resources,
            schema=self.schema,
            data=self.data,
            fingerprint=self.fingerprint,
            behaviour=self.behaviour,
            preprocessing=self.preprocessing,
            rules=self.rules,
        )
        # An advisory check reports the same findings without failing the suite.
        return attrs.evolve(report.to_check_result(self.name), severity=self.severity)
