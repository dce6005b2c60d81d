"""``ResourceRequest``: what a deployment asks of the machine it runs on.

Quantities are read the way Kubernetes writes them (``"512Mi"``, ``"2G"``, ``"500m"`` CPU)
as well as plain numbers (bytes, CPUs), so a deployment spec's values pass through as is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from modelship._params import Text, validate_params
from modelship.errors import ConfigError

__all__ = ["ResourceRequest", "parse_cpus", "parse_memory"]

_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "p": 10**15,
    "e": 10**18,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
    "pi": 2**50,
    "ei": 2**60,
}
_QUANTITY = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*")


def parse_memory(value: int | float | str) -> int:
    """Return a memory quantity in bytes.

    Accepts a number of bytes, or a string with a Kubernetes suffix (``Ki Mi Gi Ti Pi Ei``
    binary, ``k M G T P E`` decimal), optionally followed by ``B`` (``"512MiB"``,
    ``"2GB"``). Fractions round up to a whole byte.

    Raises
    ------
    ConfigError
        For a negative, non-finite or unreadable quantity.

    Examples
    --------
    >>> from modelship.parity import parse_memory
    >>> parse_memory("512Mi"), parse_memory("2G"), parse_memory("1.5GiB"), parse_memory(1024)
    (536870912, 2000000000, 1610612736, 1024)
    >>> parse_memory("lots")
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: memory 'lots' is not a quantity: give bytes or a number ...
    """
    if isinstance(value, bool):
        raise ConfigError(f"memory must be bytes or a quantity like '512Mi', got {value!r}")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    elif isinstance(value, str) and (match := _QUANTITY.fullmatch(value)):
        number, unit = float(match.group(1)), match.group(2).lower()
        if unit.endswith("b") and unit != "b":
            unit = unit[:-1]
    else:
        raise ConfigError(
            f"memory {value!r} is not a quantity: give bytes or a number with a unit "
            "such as 512Mi or 2G"
        )
    if unit not in _MEMORY_UNITS:
        raise ConfigError(
            f"memory {value!r} has an unknown unit; use one of Ki Mi Gi Ti (binary) or "
            "k M G T (decimal)"
        )
    size = number * _MEMORY_UNITS[unit]
    if not math.isfinite(size) or size < 0:
        raise ConfigError(f"memory must be a finite, non-negative quantity, got {value!r}")
    return math.ceil(size)


def parse_cpus(value: int | float | str) -> float:
    """Return a CPU quantity in CPUs: a number, or Kubernetes millicores (``"500m"``).

    Raises
    ------
    ConfigError
        For a quantity that is not a positive finite number of CPUs.

    Examples
    --------
    >>> from modelship.parity import parse_cpus
    >>> parse_cpus("500m"), parse_cpus("2"), parse_cpus(1.5)
    (0.5, 2.0, 1.5)
    """
    cpus: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        cpus = float(value)
    elif isinstance(value, str) and (match := _QUANTITY.fullmatch(value)):
        unit = match.group(2)
        if unit in ("", "m"):
            cpus = float(match.group(1)) / (1000 if unit == "m" else 1)
    if cpus is None or not math.isfinite(cpus) or cpus <= 0:
        raise ConfigError(
            f"cpus {value!r} is not a positive number of CPUs: give e.g. 2, 0.5 or '500m'"
        )
    return cpus


def _memory(value: Any) -> int | None:
    return None if value is None else parse_memory(value)


def _cpus(value: Any) -> float | None:
    return None if value is None else parse_cpus(value)


@attrs.frozen(kw_only=True)
class ResourceRequest:
    """The resources a deployment requests, checked against what the target offers.

    Parameters
    ----------
    memory : int or str, optional
        The memory limit the model will run under (bytes, or ``"2Gi"``).
    cpus : float or str, optional
        The CPU limit (``2``, ``"500m"``).
    model_size : int or str, optional
        The serialized model's size (``mv.artifact.size``); loading needs at least this
        much memory.

    Examples
    --------
    >>> from modelship.parity import ResourceRequest
    >>> request = ResourceRequest(memory="2Gi", cpus="1500m", model_size=300 * 2**20)
    >>> request.memory, request.cpus
    (2147483648, 1.5)

    From a deployment spec (:meth:`from_spec`):

    >>> from modelship.deploy import DeploymentSpec
    >>> spec = DeploymentSpec.from_dict({"deployment": {"containers": [
    ...     {"name": "model", "image": "churn:3",
    ...      "resources": {"limits": {"memory": "4Gi", "cpu": "2"}}}]}})
    >>> ResourceRequest.from_spec(spec, model_size=300 * 2**20).memory
    4294967296
    """

    memory: int | None = attrs.field(default=None, converter=_memory)
    cpus: float | None = attrs.field(default=None, converter=_cpus)
    model_size: int | None = attrs.field(default=None, converter=_memory)

    @classmethod
    @validate_params(container=(None, Text()))
    def from_spec(
        cls,
        spec: DeploymentSpecLike,
        *,
        container: str | None = None,
        model_size: int | str | None = None,
    ) -> ResourceRequest:
        """What a :class:`~modelship.deploy.DeploymentSpec`'s container asks for.

        Each resource is the container's limit (what it will run under), or its request
        where it sets no limit; a resource it does not set is ``None`` (not checked).

        Parameters
        ----------
        spec : DeploymentSpec
            The deployment.
        container : str, optional
            The container's name; by default the first one, the model server.
        model_size : int or str, optional
            The serialized model's size (``mv.artifact.size``).

        Raises
        ------
        ConfigError
            When ``spec`` is not a deployment spec, or has no container ``container``.

        Examples
        --------
        >>> from modelship.deploy import DeploymentSpec
        >>> from modelship.parity import ResourceRequest
        >>> spec = DeploymentSpec.from_dict({"deployment": {"containers": [
        ...     {"name": "model", "image": "churn:3",
        ...      "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "500m"}}}]}})
        >>> request = ResourceRequest.from_spec(spec)
        >>> request.memory, request.cpus, request.model_size
        (536870912, 0.5, None)
        >>> ResourceRequest.from_spec(spec, container="sidecar")
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: the deployment has no container 'sidecar'; it has ['model']
        """
        if not isinstance(spec, DeploymentSpecLike):
            raise ConfigError(
                f"from_spec needs a modelship.deploy.DeploymentSpec, got {type(spec).__name__}"
            )
        names = [c.name for c in spec.containers]
        if container is None:
            chosen = spec.containers[0]
        elif container in names:
            chosen = spec.containers[names.index(container)]
        else:
            raise ConfigError(f"the deployment has no container {container!r}; it has {names}")
        limits, requests = chosen.resources.limits, chosen.resources.requests
        memory = _nanos("memory", limits, requests)
        cpus = _nanos("cpu", limits, requests)
        return cls(
            memory=None if memory is None else memory // _NANO,
            cpus=None if cpus is None else cpus / _NANO,
            model_size=model_size,
        )


_NANO = 10**9


class _Quantity(Protocol):
    @property
    def nanos(self) -> int: ...


class _Resources(Protocol):
    @property
    def limits(self) -> Mapping[str, _Quantity]: ...

    @property
    def requests(self) -> Mapping[str, _Quantity]: ...


class _Container(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def resources(self) -> _Resources: ...


@runtime_checkable
class DeploymentSpecLike(Protocol):
    """What :meth:`ResourceRequest.from_spec` reads of a
    :class:`~modelship.deploy.DeploymentSpec` (the deployers import parity, so parity reads
    a spec by its public attributes rather than importing it).
    """

    @property
    def containers(self) -> Sequence[_Container]: ...


def _nanos(
    name: str, limits: Mapping[str, _Quantity], requests: Mapping[str, _Quantity]
) -> int | None:
    """The limit of resource ``name`` (else its request) in 10**-9 units; None if unset or 0."""
    quantity = limits.get(name, requests.get(name))
    if quantity is None or quantity.nanos <= 0:
        return None
    return quantity.nanos
