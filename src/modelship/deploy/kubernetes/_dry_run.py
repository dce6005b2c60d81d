"""``modelship deploy apply --dry-run``: the manifests a deployment would apply, as YAML.

What is printed is redacted (CI logs keep it): the value of every environment variable
whose name or value looks like a credential (:func:`modelship.parity.is_secret`: ``*_TOKEN``,
``*_KEY``, ``*PASSWORD*``, a URL with a password ...) is ``<redacted>``, and so is the
user information of any ``scheme://user:password@host`` URL (the registry URL in the
pods' args; see :func:`modelship._shown.hide_credentials`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from modelship.deploy.kubernetes._redact import MASK, redact
from modelship.deploy.kubernetes._render import render, to_yaml
from modelship.errors import ConfigError
from modelship.parity import is_secret

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

    Credentials are masked in what is returned (see the module doc), so the text is for
    reading: what is applied carries the real values.

    Raises
    ------
    ConfigError
        ``server_side`` without a deployer, or ``options`` with one.

    Examples
    --------
    >>> text = dry_run("fraud", "2", image="ai-model:2", registry_url="s3://m", app="fraud")
    >>> text.count("---"), "kind: Deployment" in text
    (2, True)
    >>> "hunter2" in dry_run("fraud", "2", image="ai-model:2", app="fraud",
    ...                      registry_url="https://ci:hunter2@models.example/reg")
    False
    """
    if deployer is None:
        if server_side:
            raise ConfigError("server_side=True needs deployer=KubernetesDeployer(...)")
        return _printable(render(model, version, spec, slot, **options))
    if options:
        raise ConfigError(
            f"dry_run() got deployer= and also {sorted(options)}, which would be ignored: the "
            "deployer's own settings apply; pass them to KubernetesDeployer(...) instead, or "
            "leave out deployer= to render with them"
        )
    if server_side:
        return _printable(deployer.server_dry_run(model, version, spec, slot))
    return _printable(deployer.render(model, version, spec, slot))


def _printable(objects: list[dict[str, Any]]) -> str:
    """The objects as YAML with credentials masked: env values that look like secrets,
    then anything :func:`redact` catches in the text (URL passwords, tokens)."""
    shown = copy.deepcopy(objects)
    for obj in shown:
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            for env in container.get("env") or []:
                value = env.get("value")
                if isinstance(value, str) and is_secret(str(env.get("name", "")), value):
                    env["value"] = MASK
    return redact(to_yaml(shown))
