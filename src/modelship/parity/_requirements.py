"""What a model needs: the distributions behind the modules its artifact references.

:func:`resolve_requirements` maps the modules found by
:func:`~modelship.parity.scan_artifact` to the installed distributions whose files they
are (``sklearn.svm._classes`` to ``scikit-learn``; ``acme.models`` to the one
distribution under the namespace package ``acme`` that installed it), leaving out the
standard library. The result pins the
versions installed when it was built, so a later :func:`check_installed` can say what
changed.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from modelship._params import Interval, validate_params
from modelship.errors import ConfigError
from modelship.parity._dependencies import marked_closure
from modelship.parity._errors import (
    ArtifactScanError,
    EnvironmentMismatch,
    EnvironmentMismatchWarning,
    SnapshotError,
)
from modelship.parity._installed import (
    MAX_TEXT,
    PackageSource,
    different_commit,
    installed_packages,
    installed_sources,
    module_distributions,
    module_providers,
    normalize_name,
    pin_conflict,
    shown,
)
from modelship.parity._json import JsonDocument, is_unicode_text
from modelship.parity._pep440 import parse_version
from modelship.parity._pins import NAME_PATTERN, evaluate_marker, marker_environment, marker_problem
from modelship.parity._scan import ArtifactScan
from modelship.parity._snapshot import EnvironmentSnapshot

__all__ = [
    "REQUIREMENTS_SCHEMA_VERSION",
    "PackageMismatch",
    "Requirements",
    "check_installed",
    "check_requirements",
    "marker_applies",
    "needed_pins",
    "requirement_markers",
    "requirements_txt",
    "resolve_requirements",
    "unevaluated_marker",
    "version_change",
]

REQUIREMENTS_SCHEMA_VERSION = 2
"""Newest version of the JSON layout :meth:`Requirements.to_json` writes: 2 adds
``markers``, and is written only by requirements that have one (others are written as
version 1, which every modelship reads)."""

# Names Python 2 pickles use for standard modules (protocols 0-2 map them on load).
_STDLIB_ALIASES = frozenset({"__builtin__", "copy_reg", "__main__"})


def _is_stdlib(module: str) -> bool:
    return module in sys.stdlib_module_names or module in sys.builtin_module_names


# PEP 508's distribution names; names and versions longer than MAX_TEXT are not real ones.
_DISTRIBUTION = re.compile(NAME_PATTERN)


def _requirements_problem(requirements: Mapping[Any, Any], name: str) -> str | None:
    """What is wrong with the first entry that is not a distribution name pinned to a
    version string, or None: one rule for arguments and stored documents alike."""
    for package, version in requirements.items():
        if (
            not isinstance(package, str)
            or len(package) > MAX_TEXT
            or not _DISTRIBUTION.fullmatch(package)
        ):
            return (
                f"{name} has the key {shown(package)}, which is not a distribution "
                "name (letters, digits and . _ -, as in 'scikit-learn')"
            )
        if not isinstance(version, str) or len(version) > MAX_TEXT:
            return (
                f"{name}[{shown(package)}] must be a version string such as '1.5.2' "
                f"(at most {MAX_TEXT} characters), got {type(version).__name__} "
                f"{shown(version)}"
            )
        if not is_unicode_text(version):  # as a marker's: requirements_txt and JSON are UTF-8
            return (
                f"{name}[{shown(package)}]: the version {shown(version)} holds a lone surrogate "
                "(not Unicode text: it cannot be written as UTF-8); write it from UTF-8 text"
            )
    return pin_conflict(requirements, name)


def _markers_problem(
    markers: Mapping[Any, Any], packages: Mapping[str, str], name: str
) -> str | None:
    """What is wrong with the first entry of ``markers`` that is not a pinned
    distribution's marker (see :func:`~modelship.parity._pins.marker_problem`), or None."""
    pinned = {normalize_name(package) for package in packages}
    seen: dict[str, object] = {}
    for package, marker in markers.items():
        if not isinstance(package, str) or normalize_name(package) not in pinned:
            return (
                f"{name} has the key {shown(package)}, which is not a pinned distribution; "
                "a marker belongs to a pin of packages"
            )
        if seen.setdefault(normalize_name(package), marker) != marker:
            return (
                f"{name} gives {normalize_name(package)!r} two markers (two spellings of "
                "one distribution, PEP 503); keep one"
            )
        problem = marker_problem(marker)
        if problem is not None:
            return f"{name}[{shown(package)}]: {problem}"
    return None


def _module_problem(value: object, name: str) -> str | None:
    """What is wrong with ``value`` as a list of module names, or None.

    A module name is dotted Python identifiers (``my_features.encoders``): nothing else
    can be imported, and nothing else can break out of the comment
    :func:`requirements_txt` writes it in (no line break is an identifier character).
    """
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        return f"{name} must be a list of module names, got {type(value).__name__}"
    for module in value:
        if (
            not isinstance(module, str)
            or len(module) > MAX_TEXT
            or not all(part.isidentifier() for part in module.split("."))
        ):
            return (
                f"{name} has {shown(module)}, which is not a module name (dotted "
                "Python identifiers, as in 'my_features.encoders')"
            )
    return None


def _sorted_packages(value: Mapping[str, str]) -> dict[str, str]:
    check_requirements(value, "packages")
    return {normalize_name(k): v for k, v in sorted(value.items())}


def _sorted_markers(value: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            "Requirements: markers must be a mapping of distribution name to PEP 508 "
            f"marker, got {type(value).__name__}"
        )
    markers: dict[str, str] = {}
    for name, marker in sorted(value.items(), key=lambda item: str(item[0])):
        if not isinstance(marker, str):  # first: NaN, unequal to itself, is no second marker
            raise ConfigError(
                f"Requirements: markers[{shown(name)}]: the marker {shown(marker)} is not a "
                "string; give a PEP 508 marker such as 'python_version < \"3.11\"'"
            )
        if markers.setdefault(normalize_name(str(name)), marker) != marker:
            raise ConfigError(
                f"Requirements: markers gives {normalize_name(str(name))!r} two markers "
                "(two spellings of one distribution, PEP 503); keep one"
            )
    return markers


def _module_names(value: Iterable[str], field: str) -> tuple[str, ...]:
    """``value`` sorted, each once, every name checked."""
    problem = _module_problem(value, f"Requirements: {field}")
    if problem is not None:
        raise ConfigError(problem)
    return tuple(sorted(set(value)))


def _modules(value: Iterable[str]) -> tuple[str, ...]:
    return _module_names(value, "modules")


def _unresolved(value: Iterable[str]) -> tuple[str, ...]:
    return _module_names(value, "unresolved")


def _count(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(
            f"Requirements: {attribute.name} must be an integer >= 0, got "
            f"{type(value).__name__} {shown(value)}"
        )


@attrs.frozen(kw_only=True)
class Requirements(Mapping[str, str]):
    """The distributions a model needs, each pinned to the version it was saved with.

    A read-only mapping of distribution name (normalised per PEP 503) to version, with
    the modules behind it. Build one with :func:`resolve_requirements` (or
    :func:`~modelship.parity.capture_for_registration`), write it out for a serving image
    with :func:`requirements_txt`.

    Parameters
    ----------
    packages : Mapping[str, str]
        Distribution (a PEP 508 name) to version (a string of at most 200 characters).
    modules : tuple of str
        The top-level third-party modules the artifact references.
    unresolved : tuple of str
        Referenced modules no installed distribution provides: code defined in a script
        (``__main__``) or in a local module, which the serving image must carry itself.
    dynamic : int
        References whose module is only known at load time (see :class:`ArtifactScan`).
    markers : Mapping[str, str]
        Distribution to the PEP 508 marker of where it is needed, for pins needed only on
        some platforms or Pythons (``{"tomli": 'python_version < "3.11"'}``); a pin
        without one is needed everywhere. Every reader applies it: the check before
        loading, :func:`compare` and :func:`requirements_txt` (``name==version ; marker``).

    Examples
    --------
    >>> from modelship.parity import Requirements
    >>> reqs = Requirements(packages={"Scikit_Learn": "1.5.2"}, modules=["sklearn"])
    >>> dict(reqs), reqs["scikit-learn"]
    ({'scikit-learn': '1.5.2'}, '1.5.2')
    >>> Requirements.from_json(reqs.to_json()) == reqs
    True

    Raises
    ------
    ConfigError
        When ``packages`` is not a mapping of distribution name to version string (the
        rule :func:`check_installed` applies when the model is loaded), or pins two
        spellings of one name (``Foo_Bar``, ``foo-bar``) to different versions; when
        ``modules`` or ``unresolved`` is not a list of module names (dotted Python
        identifiers); when ``dynamic`` is not an integer >= 0; when a marker is not
        one of a pinned distribution, or not a marker a requirements file can carry
        (see :func:`~modelship.parity._pins.marker_problem`).
    """

    packages: Mapping[str, str] = attrs.field(factory=dict, converter=_sorted_packages)
    modules: tuple[str, ...] = attrs.field(default=(), converter=_modules)
    unresolved: tuple[str, ...] = attrs.field(default=(), converter=_unresolved)
    dynamic: int = attrs.field(default=0, validator=_count)
    markers: Mapping[str, str] = attrs.field(factory=dict, converter=_sorted_markers)

    def __attrs_post_init__(self) -> None:
        problem = _markers_problem(self.markers, self.packages, "Requirements: markers")
        if problem is not None:
            raise ConfigError(problem)

    def __getitem__(self, name: str) -> str:
        return self.packages[normalize_name(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.packages)

    def __len__(self) -> int:
        return len(self.packages)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-compatible form :meth:`to_json` writes.

        Requirements without markers are written as ``schema_version`` 1, which every
        modelship reads; with markers, as 2 with a ``markers`` field, which a modelship
        that reads only 1 refuses ("upgrade modelship") rather than read the pins as
        needed everywhere.

        Examples
        --------
        >>> from modelship.parity import Requirements
        >>> Requirements(packages={"numpy": "2.1.0"}).to_dict()["packages"]
        {'numpy': '2.1.0'}
        """
        document: dict[str, Any] = {
            "schema_version": REQUIREMENTS_SCHEMA_VERSION if self.markers else 1,
            "packages": dict(self.packages),
            "modules": list(self.modules),
            "unresolved": list(self.unresolved),
            "dynamic": self.dynamic,
        }
        if self.markers:
            document["markers"] = dict(self.markers)
        return document

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the requirements as JSON text (the registry stores it with a version).

        Examples
        --------
        >>> from modelship.parity import Requirements
        >>> print(Requirements(packages={"numpy": "2.1.0"}).to_json(indent=None))
        {"schema_version": 1, "packages": {"numpy": "2.1.0"}, "modules": [], "unresolved": [],
         "dynamic": 0}
        """
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Requirements:
        """Read requirements written by :meth:`to_json`, validating every field.

        Raises
        ------
        SnapshotError
            When the text is not such a document: among others, when a package is not a
            distribution name (PEP 508) or its version is longer than 200 characters, as
            :func:`check_installed` would refuse it, when two spellings of one name are
            pinned to different versions, when a module is not a dotted Python identifier,
            when a marker is not one of a pinned distribution or not one a requirements
            file can carry, or when the document has a field :meth:`to_json` does not
            write (``markers`` only from ``schema_version`` 2, the layout that added it).

        Examples
        --------
        >>> from modelship.parity import Requirements
        >>> Requirements.from_json('{"schema_version": 1, "packages": {"numpy": 2}}')
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: requirements: 'packages' must be an object of ...
        >>> Requirements.from_json('{"schema_version": 1, "packages": {"my pkg": "1.0"}}')
        Traceback (most recent call last):
        ...
        modelship.parity.SnapshotError: requirements: packages has the key 'my pkg', which ...
        """
        doc = JsonDocument.parse(text, "requirements")
        doc.schema_version(REQUIREMENTS_SCHEMA_VERSION)
        fields = ["schema_version", "packages", "modules", "unresolved", "dynamic"]
        if doc.doc["schema_version"] >= 2:  # the layout that added markers
            fields.append("markers")
        doc.only(*fields)
        packages = doc.text_map("packages")
        markers = doc.text_map("markers")
        modules, unresolved = doc.text_list("modules"), doc.text_list("unresolved")
        problem = (
            _requirements_problem(packages, "requirements: packages")
            or _markers_problem(markers, packages, "requirements: markers")
            or _module_problem(modules, "requirements: modules")
            or _module_problem(unresolved, "requirements: unresolved")
        )
        if problem is not None:
            raise SnapshotError(problem)
        requirements = cls(
            packages=packages,
            modules=modules,
            unresolved=unresolved,
            dynamic=doc.integer("dynamic", minimum=0) or 0,
        )
        # The markers were checked above, against these packages, with this document's
        # error: set as the constructor's converter sets them, not evaluated a second time.
        object.__setattr__(requirements, "markers", _sorted_markers(markers))
        return requirements


def resolve_requirements(
    scan: ArtifactScan,
    *,
    distributions: Mapping[str, list[str] | tuple[str, ...]] | None = None,
    dependencies: bool = True,
) -> Requirements:
    """Map the modules of ``scan`` to installed distributions and pin their versions.

    The distributions those depend on, directly or not, are pinned too (scipy, joblib and
    threadpoolctl for a scikit-learn model): a serving image needs them, and another
    version of one can change the model's answers. They are read from each installed
    distribution's ``Requires-Dist`` metadata: the requirements every platform needs (no
    marker, or one naming only ``extra``) are pinned as they are; one needed only on some
    platforms or Pythons (``tomli; python_version < "3.11"``) is pinned with its marker
    (:attr:`Requirements.markers`) when the marker holds here, so the pin applies
    exactly where the marker holds (a dependency reached through marked ones needs every
    marker along its path, one reached by several paths any of them), and is left out
    when it does not hold here, cannot be evaluated here, or its combined marker would
    be longer than 1,000 characters. The optional extras of the distributions found are
    not followed, the extras a dependency asks for (``dask[array]``) are; a dependency
    that is not installed is not pinned.

    Parameters
    ----------
    scan : ArtifactScan
        From :func:`~modelship.parity.scan_artifact`.
    distributions : Mapping[str, list[str] | tuple[str, ...]], optional
        Module (top-level, ``"sklearn"``, or dotted, ``"acme.models"``) to distribution
        names; a referenced module is looked up by its full name, then by each enclosing
        package's, the longest one with an entry deciding. By default, this
        environment's: the distributions whose installed files (their ``RECORD``) are
        the module or its nearest enclosing package, so a class of ``acme.models`` pins
        the distribution that installed ``acme/models/`` and not every distribution
        under the namespace package ``acme``. A module no ``RECORD`` lists, nor its
        package (installed as an egg, or editable through a path hook, perhaps inside a
        package another distribution's ``RECORD`` lists), is also looked up by its
        top-level name in :func:`importlib.metadata.packages_distributions`, which pins
        every distribution providing that name.
    dependencies : bool
        Whether to pin the installed dependencies of the distributions found (default);
        ``False`` pins only the distributions the artifact's modules come from.

    Examples
    --------
    >>> import io, joblib, numpy as np
    >>> from modelship.parity import resolve_requirements, scan_artifact
    >>> buf = io.BytesIO()
    >>> _ = joblib.dump(np.arange(3), buf)
    >>> reqs = resolve_requirements(scan_artifact(buf.getvalue()))
    >>> {"joblib", "numpy"} <= set(reqs), reqs.modules  # and what joblib depends on
    (True, ('joblib', 'numpy'))
    >>> import pickle, requests.structures
    >>> blob = pickle.dumps(requests.structures.CaseInsensitiveDict(accept="json"))
    >>> sorted(resolve_requirements(scan_artifact(blob)))  # requests, and what it runs on
    ['certifi', 'charset-normalizer', 'idna', 'requests', 'urllib3']
    >>> sorted(resolve_requirements(scan_artifact(blob), dependencies=False))
    ['requests']

    Raises
    ------
    ConfigError
        When ``scan`` is not an :class:`~modelship.parity.ArtifactScan`,
        ``distributions`` is not a mapping of module name to a list (or tuple) of
        distribution names, or ``dependencies`` is not a bool.
    ArtifactScanError
        When a module of ``scan`` is not a dotted Python identifier: no import could load
        it, so the artifact is damaged or was crafted.
    """
    _check_arguments(scan, distributions, dependencies)
    installed = installed_packages()
    problem = _module_problem(scan.modules, "the artifact's modules")
    if problem is not None:  # no import could load it: the artifact was crafted or damaged
        raise ArtifactScanError(f"{problem}; the artifact is damaged or was crafted")
    packages: dict[str, str] = {}
    modules: set[str] = set()
    resolved: set[str] = set()  # top-level modules some referenced module was found under
    for dotted in sorted({module for module, _ in scan.globals}):
        top = dotted.split(".", 1)[0]
        if top == "__main__" or _is_stdlib(top) or top in _STDLIB_ALIASES:
            continue
        modules.add(top)
        if distributions is not None:
            found = _pin(_longest_prefix(dotted, distributions), installed, packages)
        else:
            # The distributions whose files are the module or its nearest package: of a
            # namespace package (acme.models, acme.unrelated), only the one referenced.
            # When no RECORD lists it (an egg, an editable install), the top-level name's.
            providers = module_providers()
            found = _pin(_longest_prefix(dotted, providers), installed, packages)
            # No RECORD lists the module nor its package (only an enclosing one, such as a
            # namespace's __init__ from another distribution): an editable install or an
            # egg provides it, so its top-level name's distributions are pinned too
            # (second look: acme.models installed editable was left out, unwarned).
            package = dotted.rpartition(".")[0] or dotted
            if not found or not (providers.get(dotted) or providers.get(package)):
                found = _pin(module_distributions().get(top, []), installed, packages) or found
        if found:
            resolved.add(top)
    markers: dict[str, str] = {}
    if dependencies:
        closure = marked_closure(list(packages), installed, marker_environment())
        for name, (version, marker) in closure.items():
            if name not in packages and marker is not None:
                if marker_problem(marker) is not None:
                    # Not reached (marked_closure checks each combined marker): should a
                    # combination slip through, the pin is left out as one too long is,
                    # never an error the user cannot act on (register would fail).
                    continue
                markers[name] = marker
            packages.setdefault(name, version)
    unresolved = modules - resolved
    if "__main__" in scan.modules:
        unresolved.add("__main__")
    return Requirements(
        packages=packages,
        modules=modules,
        unresolved=unresolved,
        dynamic=scan.dynamic,
        markers=markers,
    )


def _longest_prefix(module: str, providers: Mapping[str, Sequence[str]]) -> Sequence[str]:
    """The distributions ``providers`` names for ``module`` or, when it has no entry,
    for its nearest enclosing package that has one (``sklearn`` for
    ``sklearn.linear_model._logistic`` in a mapping of top-level modules)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        names = providers.get(".".join(parts[:end]))
        if names:
            return names
    return ()


def _pin(names: Iterable[str], installed: Mapping[str, str], packages: dict[str, str]) -> bool:
    """Pin in ``packages`` each of ``names`` that is installed; whether one was."""
    found = False
    for name in names:
        version = installed.get(normalize_name(name))
        if version is not None:
            packages[normalize_name(name)] = version
            found = True
    return found


def _check_arguments(scan: object, distributions: object, dependencies: object) -> None:
    """Refuse :func:`resolve_requirements`' arguments of the wrong kind."""
    if not isinstance(scan, ArtifactScan):
        raise ConfigError(
            "scan must be an ArtifactScan (scan_artifact(path or bytes)), got "
            f"{type(scan).__name__}"
        )
    if distributions is not None:
        _check_distributions(distributions)
    if not isinstance(dependencies, bool):
        raise ConfigError(
            f"dependencies must be True or False, got {type(dependencies).__name__} "
            f"{shown(dependencies)}"
        )


def _check_distributions(distributions: object) -> None:
    """Refuse ``distributions`` that is not a mapping of module to distribution names: a
    string of names would be read one character at a time."""
    if not isinstance(distributions, Mapping):
        raise ConfigError(
            "distributions must be a mapping of module name to a list of distribution "
            f"names ({{'sklearn': ['scikit-learn']}}), got {type(distributions).__name__}"
        )
    for module, names in distributions.items():
        if not (
            isinstance(module, str)
            and isinstance(names, (list, tuple))
            and all(isinstance(name, str) for name in names)
        ):
            raise ConfigError(
                "distributions must map each module name to a list of distribution names "
                f"({{'sklearn': ['scikit-learn']}}), got {shown(module)}: "
                f"{shown(names)}"
            )


def requirements_txt(requirements: Mapping[str, str]) -> str:
    """Return a pip requirements file pinning each distribution (``name==version``).

    A pin needed only where its marker holds (:attr:`Requirements.markers`) is written
    with it, ``name==version ; marker``, for pip to evaluate where it installs.

    A version that is not a PEP 440 version (``1.1build1``, as a Debian package installs
    it) is pinned by arbitrary equality, ``name===version``, the only pin pip (and
    ``modelship parity check --requirements``) reads for it. Modules no distribution
    provides are listed as comments, for whoever builds the image to copy that code in.

    Examples
    --------
    >>> from modelship.parity import Requirements, requirements_txt
    >>> print(requirements_txt(Requirements(packages={"scikit-learn": "1.5.2", "numpy": "2.1.0"},
    ...                                     unresolved=["my_features"])), end="")
    # written by modelship: the distributions this model needs, and what they depend on
    numpy==2.1.0
    scikit-learn==1.5.2
    # not from any installed distribution (ship this code with the model): my_features
    >>> print(requirements_txt({"distro-info": "1.1build1"}).splitlines()[1])
    distro-info===1.1build1
    """
    lines = ["# written by modelship: the distributions this model needs, and what they depend on"]
    markers = requirement_markers(requirements)
    for name, version in sorted(check_requirements(requirements).items()):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+!-]*", version):
            raise SnapshotError(f"{name}: {shown(version)} is not a version pip can pin")
        # After ==, pip (and read_pins) refuse what is not PEP 440; after ===, any text.
        pin = "==" if parse_version(version) is not None else "==="
        marker = markers.get(normalize_name(name))
        # " ; ": after ===, a ";" with no space before it would be read as the version's.
        lines.append(f"{normalize_name(name)}{pin}{version}" + (f" ; {marker}" if marker else ""))
    unresolved = requirements.unresolved if isinstance(requirements, Requirements) else ()
    problem = _module_problem(unresolved, "requirements: unresolved")
    if problem is not None:  # a comment line broken by a newline would be read by pip
        raise SnapshotError(problem)
    if unresolved:
        lines.append(
            "# not from any installed distribution (ship this code with the model): "
            + ", ".join(unresolved)
        )
    return "\n".join(lines) + "\n"


def requirement_markers(requirements: Mapping[str, str]) -> Mapping[str, str]:
    """The markers of ``requirements`` (normalised name to PEP 508 marker): those of a
    :class:`Requirements`, none for a plain mapping (every pin needed everywhere).

    Examples
    --------
    >>> from modelship.parity import Requirements
    >>> from modelship.parity._requirements import requirement_markers
    >>> reqs = Requirements(packages={"tomli": "2.0.1"},
    ...                     markers={"tomli": 'python_version < "3.11"'})
    >>> dict(requirement_markers(reqs)), dict(requirement_markers({"tomli": "2.0.1"}))
    ({'tomli': 'python_version < "3.11"'}, {})
    """
    return requirements.markers if isinstance(requirements, Requirements) else {}


def needed_pins(
    requirements: Mapping[str, str], snapshot: EnvironmentSnapshot | None = None
) -> Iterator[tuple[str, str, str | None]]:
    """The pins of ``requirements`` needed in ``snapshot``'s environment (this
    interpreter's when None), by normalised name: each as ``(name, version, marker)``,
    ``marker`` being the pin's marker when it cannot be evaluated there (the pin is then
    taken as needed, the safe side, and :func:`unevaluated_marker` says so), else None. A
    pin whose marker does not hold there is left out; two spellings of one name (PEP 503)
    are one pin.

    The one reading of markers for :func:`check_installed` and :func:`compare`.

    Examples
    --------
    >>> from modelship.parity import EnvironmentSnapshot, Requirements
    >>> from modelship.parity._requirements import needed_pins
    >>> reqs = Requirements(packages={"tomli": "2.0.1", "numpy": "2.1.0"},
    ...                     markers={"tomli": 'python_version < "3.11"'})
    >>> prod = EnvironmentSnapshot(python_version="3.12.1", python_implementation="CPython",
    ...                            os="Linux", machine="x86_64")
    >>> list(needed_pins(reqs, prod))
    [('numpy', '2.1.0', None)]
    """
    markers = requirement_markers(requirements)
    environment: Mapping[str, str] = {}
    if markers:
        environment = marker_environment() if snapshot is None else marker_environment(snapshot)
    pins = {normalize_name(name): version for name, version in requirements.items()}
    for name, version in sorted(pins.items()):
        marker = markers.get(name)
        applies = marker_applies(marker, environment)
        if applies is not False:  # False: needed only where its marker holds, not there
            yield name, version, marker if applies is None else None


def unevaluated_marker(marker: str, where: str, done: str) -> str:
    """What a mismatch of a pin adds when its ``marker`` cannot be evaluated ``where``
    (``"here"``, ``"for production"``): the pin was ``done`` (``"checked"``,
    ``"compared"``) as needed.

    Examples
    --------
    >>> from modelship.parity._requirements import unevaluated_marker
    >>> print(unevaluated_marker("os_name == 'nt'", "here", "checked").strip())
    (pinned where "os_name == 'nt'", which cannot be evaluated here: checked as needed)
    """
    return f" (pinned where {marker!r}, which cannot be evaluated {where}: {done} as needed)"


def marker_applies(marker: str | None, environment: Mapping[str, str]) -> bool | None:
    """Whether a pin with ``marker`` is needed in ``environment``: True without a marker,
    the marker's value, or None when it cannot be evaluated there.

    Examples
    --------
    >>> from modelship.parity._requirements import marker_applies
    >>> marker_applies('python_version < "3.11"', {"python_version": "3.12"})
    False
    >>> marker_applies('platform_release >= "5"', {"platform_release": "?"}) is None
    True
    """
    if marker is None:
        return True
    try:
        return evaluate_marker(marker, environment)
    except ConfigError:
        return None


_RELEASE = re.compile(r"^\s*(?:(\d+)!)?v?(\d+(?:\.\d+)*)")


def _release(version: str) -> tuple[list[int], int] | None:
    """The epoch and release numbers of ``version``, and where they end; None if it has
    none, or one too long to read."""
    match = _RELEASE.match(version)
    if match is None:
        return None
    try:
        # The epoch first: a new epoch restarts the numbering, as a new major version does.
        numbers = [int(match.group(1) or 0), *(int(part) for part in match.group(2).split("."))]
    except ValueError:  # a part beyond int()'s 4300 digits: not a release number anyone uses
        return None
    return numbers, match.end()


def version_change(recorded: str, installed: str) -> str | None:
    """Return how far apart two versions are: ``"major"``, ``"minor"``, ``"patch"``,
    ``"label"``, ``"unknown"`` or ``None``.

    Versions PEP 440 calls equal are the same (``None``): ``1.0RC1`` and ``1.0rc1``,
    ``1.0a1`` and ``1.0alpha1``, ``1.0-1`` and ``1.0.post1``, ``1.0.dev`` and
    ``1.0.dev0``, ``2.1.0+CPU`` and ``2.1.0+cpu``, ``v1.0`` and ``1.0``. The release numbers
    decide (``1.4.2`` to ``1.5.0`` is ``"minor"``); an epoch change
    (``1!2.0``) is ``"major"``; versions with the same release that still differ, in a
    pre-release, post-release, dev or local label (``2.1.0+cpu`` and ``2.1.0+cu121``,
    ``1.0rc1`` and ``1.0``), are ``"label"`` (:func:`compare` reports them under
    ``package_patch``, as :func:`describe_change` words them). Versions
    that differ when one has no release number (``"abc"``, ``""``), or one too long to
    read (a part of thousands of digits), are ``"unknown"``: how far apart they are cannot
    be said, and :func:`compare` reports them under their own rule, ``package_unknown``
    (blocking by default), rather than as a major change.

    Raises
    ------
    ConfigError
        When a version is not a string.

    Examples
    --------
    >>> from modelship.parity import version_change
    >>> version_change("1.4.2", "1.5.0"), version_change("1.4.2", "1.4.3")
    ('minor', 'patch')
    >>> version_change("2.0", "2.0.0"), version_change("1.9", "2.0"), version_change("1.0", "abc")
    (None, 'major', 'unknown')
    >>> version_change("1.0c1", "1.0-rc.1"), version_change("1.0", "1.0rc1")
    (None, 'label')
    >>> version_change("2.1.0+cu121", "2.1.0+cpu")
    'label'
    """
    for name, value in (("recorded", recorded), ("installed", installed)):
        if not isinstance(value, str):
            raise ConfigError(
                f"version_change needs versions as strings; {name} is {type(value).__name__} "
                f"{shown(value)}"
            )
    if recorded == installed:
        return None
    pep440_a, pep440_b = parse_version(recorded), parse_version(installed)
    if pep440_a is not None and pep440_b is not None:
        change = _release_change(
            [pep440_a.epoch, *pep440_a.release], [pep440_b.epoch, *pep440_b.release]
        )
        # the same release: equal, or apart by a pre-, post-, dev- or local label
        same = pep440_a.key() == pep440_b.key()
        return change or (None if same else "label")
    a, b = _release(recorded), _release(installed)
    if a is None or b is None:
        return "unknown"
    (ra, end_a), (rb, end_b) = a, b
    change = _release_change(ra, rb)
    if change is not None:
        return change
    rest_a, rest_b = recorded[end_a:], installed[end_b:]
    return None if rest_a == rest_b else "label"


def describe_change(recorded: str, installed: str, change: str) -> str:
    """Say how two versions differ, ``change`` being :func:`version_change`'s answer.

    A label difference names the label: the release numbers are the same, so "patch
    version differs" would be false.

    Examples
    --------
    >>> from modelship.parity._requirements import describe_change
    >>> describe_change("2.1.0+cu121", "2.1.0+cpu", "label")
    'local label differs: +cu121 vs +cpu'
    >>> describe_change("1.6.dev0", "1.6.0", "label")
    'pre-release/dev label differs'
    >>> describe_change("1.4.2", "1.4.3", "patch")
    'patch version differs'
    """
    if change == "unknown":
        return "the versions cannot be compared"
    if change != "label":
        return f"{change} version differs"
    a, b = parse_version(recorded), parse_version(installed)
    if a is None or b is None:
        return "label differs"
    parts = []
    if (a.pre, a.dev) != (b.pre, b.dev):
        parts.append("pre-release/dev")
    if a.post != b.post:
        parts.append("post-release")
    if parts:
        if a.local != b.local:
            parts.append("local")
        return f"{' and '.join(parts)} label differs"

    def local(version: str) -> str:
        return "+" + version.partition("+")[2] if "+" in version else "no local label"

    return f"local label differs: {local(recorded)} vs {local(installed)}"


def _release_change(a: list[int], b: list[int]) -> str | None:
    """How far apart two ``[epoch, *release]`` lists are, zero-padded; None if equal."""
    width = max(len(a), len(b), 4)
    a = a + [0] * (width - len(a))
    b = b + [0] * (width - len(b))
    if a[:2] != b[:2]:
        return "major"
    if a[2] != b[2]:
        return "minor"
    if a != b:
        return "patch"
    return None


def check_requirements(requirements: object, name: str = "requirements") -> Mapping[str, str]:
    """Return ``requirements`` if it maps distribution names to version strings.

    Raises
    ------
    ConfigError
        Naming the first entry that is not a distribution name (PEP 508) with a version
        string, or when ``requirements`` is not a mapping.

    Examples
    --------
    >>> from modelship.parity._requirements import check_requirements
    >>> check_requirements({"numpy": 2})
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: requirements['numpy'] must be a version string ...
    """
    if not isinstance(requirements, Mapping):
        raise ConfigError(
            f"{name} must be a mapping of distribution name to version (mv.requirements), "
            f"got {type(requirements).__name__}"
        )
    problem = _requirements_problem(requirements, name)
    if problem is not None:
        raise ConfigError(problem)
    return requirements


@attrs.frozen(kw_only=True)
class PackageMismatch:
    """A needed distribution whose installed version is not the recorded one.

    ``installed`` is ``None`` when the distribution is not installed at all; ``change``
    is ``"missing"``, ``"major"``, ``"minor"``, ``"patch"``, ``"label"`` (the same
    release, another pre-release, post-release, dev or local label), ``"unknown"`` (a
    version without a release number: see :func:`version_change`) or ``"source"`` (the
    same version from another git commit: ``recorded_source`` and
    ``installed_source`` say which). ``marker`` is the
    pin's marker when it could not be evaluated here: the pin was checked as needed, and
    the message says so.

    Examples
    --------
    >>> from modelship.parity import PackageMismatch
    >>> print(PackageMismatch(package="scikit-learn", recorded="1.5.2", installed="1.3.0"))
    scikit-learn: the model was saved with 1.5.2, 1.3.0 is installed (minor version differs)
    """

    package: str
    recorded: str
    installed: str | None
    marker: str | None = None
    recorded_source: str | None = None
    installed_source: str | None = None

    @property
    def change(self) -> str:
        """How the versions differ (``"missing"`` when not installed).

        Examples
        --------
        >>> from modelship.parity import PackageMismatch
        >>> PackageMismatch(package="numpy", recorded="2.1.0", installed="1.26.4").change
        'major'
        """
        if self.installed is None:
            return "missing"
        change = version_change(self.recorded, self.installed)
        if change is None and self.recorded_source is not None:
            return "source"
        return change or "patch"

    def __str__(self) -> str:
        unknown = "" if self.marker is None else unevaluated_marker(self.marker, "here", "checked")
        if self.installed is None:
            return (
                f"{self.package}: the model was saved with {self.recorded}, it is not "
                f"installed{unknown}"
            )
        if self.change == "source":
            return (
                f"{self.package}: the model was saved with {self.recorded} from "
                f"{self.recorded_source}, {self.installed} from {self.installed_source} is "
                f"installed (the code may differ at the same version); install {self.package} "
                f"from {self.recorded_source}{unknown}"
            )
        how = describe_change(self.recorded, self.installed, self.change)
        return (
            f"{self.package}: the model was saved with {self.recorded}, {self.installed} is "
            f"installed ({how}){unknown}"
        )


def _installed_version(name: str) -> str | None:
    """The installed version of ``name``; None when it is not installed, or its metadata
    has no version (as :func:`installed_packages` leaves such a distribution out)."""
    try:
        version = importlib.metadata.version(name)
    except (importlib.metadata.PackageNotFoundError, KeyError, OSError, ValueError):
        return None
    return version if isinstance(version, str) else None


@validate_params(strict=bool, what=str, stacklevel=Interval(int, 1, None))
def check_installed(
    requirements: Mapping[str, str],
    *,
    strict: bool = False,
    what: str = "",
    stacklevel: int = 2,
    sources: Mapping[str, PackageSource] | None = None,
) -> tuple[PackageMismatch, ...]:
    """Compare the recorded versions of the distributions a model needs with this environment.

    A pin with a marker (:attr:`Requirements.markers`) is checked only where its marker
    holds for this interpreter (:func:`~modelship.parity._pins.marker_environment`); one
    whose marker cannot be evaluated here is checked as needed, its mismatch saying so
    (the safe side: a missing dependency is reported, the recorded version passes).

    Every difference is reported: a :class:`EnvironmentMismatchWarning` naming the
    package, the recorded and the installed version, or under ``strict=True`` one
    :class:`EnvironmentMismatch` listing them all. ``what`` (``"fraud version 3"``)
    starts each message; ``stacklevel`` is as for :func:`warnings.warn` called here (the
    default points at the caller of ``check_installed``).

    ``sources`` are where the distributions were installed from when the model was saved
    (:attr:`EnvironmentSnapshot.package_sources`, by normalised name): a needed
    distribution installed here at the recorded version from another git commit than
    the recorded one (:func:`compare`'s ``package_source`` rule) is a mismatch too, of
    change ``"source"``. An editable or local-directory install is not, nor an archive
    with another digest (a rebuilt wheel of the same code has one): ``compare`` reports
    them, as advisory.

    Returns
    -------
    tuple of PackageMismatch
        Empty when everything matches.

    Raises
    ------
    EnvironmentMismatch
        With ``strict=True``, when any needed distribution differs or is missing.
    ConfigError
        When ``requirements`` is not a mapping of distribution name to version string,
        ``strict`` is not a bool, ``what`` not a string or ``stacklevel`` not an int >= 1.

    Examples
    --------
    >>> import warnings
    >>> from modelship.parity import EnvironmentMismatchWarning, check_installed
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     found = check_installed({"attrs": "0.1.0"})
    >>> found[0].recorded, caught[0].category is EnvironmentMismatchWarning
    ('0.1.0', True)
    >>> check_installed({"attrs": "0.1.0"}, strict=True)
    Traceback (most recent call last):
    ...
    modelship.parity.EnvironmentMismatch: attrs: the model was saved with 0.1.0, ...
    """
    mismatches = []
    check_requirements(requirements)
    if sources is not None and not (
        isinstance(sources, Mapping)
        and all(isinstance(source, PackageSource) for source in sources.values())
    ):
        raise ConfigError(
            "sources must map distribution names to PackageSource "
            "(EnvironmentSnapshot.package_sources), or be None"
        )
    recorded_sources = {normalize_name(str(k)): v for k, v in (sources or {}).items()}
    # Read once: each call states every sys.path entry to tell whether it is fresh.
    here = installed_sources() if sources is not None else {}
    for name, recorded, marker in needed_pins(requirements):
        installed = _installed_version(name)
        # As compare() judges it: "26.1" recorded and "26.1.0" installed are one release.
        if installed is None or version_change(recorded, installed) is not None:
            mismatches.append(
                PackageMismatch(package=name, recorded=recorded, installed=installed, marker=marker)
            )
            continue
        if sources is None:
            continue
        before, now = recorded_sources.get(name), here.get(name)
        if different_commit(before, now):
            mismatches.append(
                PackageMismatch(
                    package=name,
                    recorded=recorded,
                    installed=installed,
                    marker=marker,
                    recorded_source=str(before),
                    installed_source=str(now),
                )
            )
    prefix = f"{what}: " if what else ""
    if strict and mismatches:
        raise EnvironmentMismatch(
            prefix
            + "; ".join(str(m) for m in mismatches)
            + ". Install the recorded versions (modelship.parity.requirements_txt writes them),"
            " or check without strict (Registry.load: strict_environment=False) to proceed"
            " with a warning"
        )
    for mismatch in mismatches:
        # One frame more: validate_params' wrapper stands between the caller and here.
        warnings.warn(f"{prefix}{mismatch}", EnvironmentMismatchWarning, stacklevel=stacklevel + 1)
    return tuple(mismatches)
