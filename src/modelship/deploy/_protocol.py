"""The ``Deployer`` seam: the few operations every deployment strategy is written against.

A deployer runs versions of a model in named *slots* (``"blue"``, ``"green"``) behind one
endpoint and splits traffic between them by weight. Strategies (:class:`BlueGreen`,
:class:`Canary`, :class:`Recreate`) only call these six operations, so a platform needs
nothing more to get every strategy, its gates, its history and its rollback.

Invariant a deployer helps keep: :meth:`Deployer.remove` refuses a slot that still
receives traffic (:class:`SlotInUse`), so no caller can scale the serving version to zero
before moving its traffic elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

from modelship._params import Constraints, Interval, check_parameters
from modelship.errors import ConfigError

if TYPE_CHECKING:
    from modelship.deploy._spec import DeploymentSpec
    from modelship.registry import Registry

__all__ = [
    "Deployer",
    "DeployerCapabilities",
    "DeployerState",
    "SlotHealth",
    "SlotState",
    "check_weights",
]


@attrs.frozen
class DeployerCapabilities:
    """What a deployer can do beyond the protocol's minimum (declared, never probed).

    ``exact_weights``: :meth:`Deployer.set_traffic` honours every integer percentage
    exactly (a router does); when False the split is approximated (for example by the
    ratio of replicas) and :meth:`Deployer.state` reports the share actually applied.
    ``max_slots``: how many slots can run at once (blue-green and canary need 2).

    Examples
    --------
    >>> DeployerCapabilities()
    DeployerCapabilities(exact_weights=True, max_slots=2)
    >>> DeployerCapabilities(exact_weights=False).exact_weights
    False
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "exact_weights": bool,
        "max_slots": Interval(int, 1, None),
    }
    __attrs_pre_init__ = check_parameters

    exact_weights: bool = True
    max_slots: int = 2


@attrs.frozen
class SlotState:
    """One slot as a deployer reports it: which version, its traffic share, whether ready.

    ``weight`` is the percentage of requests the slot receives (0 to 100).

    Examples
    --------
    >>> SlotState("blue", "fraud", "2", weight=100, ready=True).to_dict()
    {'slot': 'blue', 'model': 'fraud', 'version': '2', 'weight': 100, 'ready': True}
    """

    slot: str
    model: str
    version: str
    weight: int = 0
    ready: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of this record."""
        return attrs.asdict(self)


@attrs.frozen
class DeployerState:
    """Every slot of a deployer, ordered by slot name.

    Examples
    --------
    >>> state = DeployerState((SlotState("blue", "m", "1", 100, True),
    ...                        SlotState("green", "m", "2", 0, True)))
    >>> state.slot("green").version
    '2'
    >>> state.serving().slot
    'blue'
    >>> state.slot("red") is None
    True
    """

    slots: tuple[SlotState, ...] = ()

    def slot(self, name: str) -> SlotState | None:
        """The slot called ``name``, or None if the deployer has no such slot."""
        return next((s for s in self.slots if s.slot == name), None)

    def serving(self) -> SlotState | None:
        """The ready slot with the largest traffic share, or None if none gets traffic.

        With traffic on two slots (a split) that is the larger share, which may be a canary
        that never promoted: the strategies take the stable slot of a split from the
        registry alias instead, and refuse to deploy without one.
        """
        live = [s for s in self.slots if s.ready and s.weight > 0]
        return max(live, key=lambda s: (s.weight, s.slot)) if live else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: ``{"slots": [...]}``."""
        return {"slots": [s.to_dict() for s in self.slots]}


@attrs.frozen
class SlotHealth:
    """The answer of a slot's health check: ``healthy`` and what was seen.

    Examples
    --------
    >>> SlotHealth(False, "GET /health: connection refused")
    SlotHealth(healthy=False, detail='GET /health: connection refused')
    """

    healthy: bool
    detail: str = ""


def check_weights(weights: Mapping[str, int]) -> dict[str, int]:
    """Validate a traffic split: integer percentages from 0 to 100 that sum to 100.

    An empty mapping means no slot receives traffic (only :class:`Recreate` asks for it).

    Raises
    ------
    ConfigError
        A weight is not an integer in 0..100, or the weights do not sum to 100.

    Examples
    --------
    >>> check_weights({"blue": 90, "green": 10})
    {'blue': 90, 'green': 10}
    >>> check_weights({"blue": 90})
    Traceback (most recent call last):
    ...
    modelship.errors.ConfigError: traffic weights must sum to 100, got 90 for {'blue': 90}; ...
    """
    if not isinstance(weights, Mapping):
        raise ConfigError(
            "traffic weights must be a mapping of slot name to percentage, such as "
            f"{{'blue': 90, 'green': 10}} ({{}} for no traffic), got {type(weights).__name__}"
        )
    out: dict[str, int] = {}
    for slot, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            raise ConfigError(
                f"traffic weight of slot {slot!r} must be an integer percentage from 0 to 100, "
                f"got {weight!r}"
            )
        out[str(slot)] = weight
    if out and sum(out.values()) != 100:
        raise ConfigError(
            f"traffic weights must sum to 100, got {sum(out.values())} for {out}; "
            "give every slot that should receive requests its share"
        )
    return out


@runtime_checkable
class Deployer(Protocol):
    """Where a model runs: slots holding versions, and the traffic split between them.

    Implement these six operations (and the two attributes) for a platform and every
    strategy works on it unchanged; :class:`modelship.testing.DeployerConformance` checks
    an implementation. Calls may raise any exception; strategies record it and keep
    traffic on the version that was serving.

    Examples
    --------
    >>> from modelship.testing._deployer_double import InMemoryDeployer
    >>> isinstance(InMemoryDeployer(), Deployer)
    True
    """

    # Read-only properties, so that an instance attribute, a class attribute (also a
    # ``ClassVar``) or a read-only property of an implementation all satisfy them (a type
    # checker takes a bare annotation here to mean a settable instance attribute).
    @property
    def capabilities(self) -> DeployerCapabilities:
        """Optional abilities this deployer declares."""

    @property
    def registry(self) -> Registry | None:
        """The registry versions are served from (rollout history is stored there), or None."""

    def apply(
        self, slot: str, model: str, version: str, spec: DeploymentSpec | None = None
    ) -> None:
        """Start ``version`` of ``model`` in ``slot`` (replacing what it held) with no traffic.

        Returns once the start is under way; readiness is :meth:`wait_ready`'s business.
        Raises :class:`~modelship.errors.ConfigError` for a new slot when
        ``capabilities.max_slots`` slots run already; nothing is started.
        """

    def wait_ready(self, slot: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``slot`` to be ready; whether it became so."""

    def set_traffic(self, weights: Mapping[str, int]) -> None:
        """Send each slot its percentage of requests (see :func:`check_weights`).

        Slots not named get none; ``{}`` sends none anywhere. In-flight requests finish
        where they started. A refused call (bad weights, an unknown slot) changes nothing.
        """

    def health(self, slot: str) -> SlotHealth:
        """Check ``slot``'s health now (a liveness probe, not a wait)."""

    def remove(self, slot: str) -> None:
        """Drain and stop ``slot``; a slot that does not exist is not an error.

        Raises :class:`SlotInUse` if the slot still has a traffic weight above 0.
        """

    def state(self) -> DeployerState:
        """Every slot: its version, its traffic share and whether it is ready."""
