"""The embedded deployer: model servers as local processes behind a weighted router."""

from __future__ import annotations

from modelship.deploy.local._deployer import LocalDeployer
from modelship.deploy.local._router import Router

__all__ = ["LocalDeployer", "Router"]
