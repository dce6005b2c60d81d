"""``modelship deploy apply --dry-run``: the manifests a deployment would apply, as YAML."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelship.deploy.kubernetes._render import render, to_yaml
from modelship.errors import ConfigError

if TYPE_CHECKING:
    from modelship.deploy._spec import DeploymentSpec
    from modelship.deploy.kubernetes._deployer import KubernetesDeployer

__all__ = ["dry_run"]


def dry_run(  # noqa: PLR0913 - public helper mirroring deploy()'s model, version, spec and slot plus deployer options
    model: str,
    version: str,
    spec: DeploymentSpec | None = None,
    *,
    slot: str = "blue",
    deployer: KubernetesDeployer | None = None,
    server_side: bool = False,
    **options: Any,
) -> str:
    """YAML of what deploying ``version`` into ``slot`` applies; nothing is changed.

    Without ``deployer``: :func:`render` with ``options`` (no cluster needed). With one:
    its own layout (``options`` are then refused: the deployer's own settings apply); and
    with ``server_side``, the objects as the API server would store them after admission
    and defaulting (``dryRun=All``).

    Raises
    ------
    ConfigError
        ``server_side`` without a deployer, or ``options`` with one.

    Examples
    --------
    >>> text = dry_run("fraud", "2", image="ai-model:2", registry_url="s3://m", app="fraud")
    >>> text.count("---"), "kind: Deployment" in text
    (2, True)
    """
    if deployer is None:
        if server_side:
            raise ConfigError("server_side=True needs deployer=KubernetesDeployer(...)")
        return to_yaml(render(model, version, spec, slot, **options))
    if options:
        raise ConfigError(
            f"dry_run() got deployer= and also {sorted(options)}, which would be ignored: the "
            "deployer's own settings apply; pass them to KubernetesDeployer(...) instead, or "
            "leave out deployer= to render with them"
        )
    if server_side:
        return to_yaml(deployer.server_dry_run(model, version, spec, slot))
    return to_yaml(deployer.render(model, version, spec, slot))
