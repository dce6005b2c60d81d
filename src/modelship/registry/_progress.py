"""Progress reporting for long transfers, through fsspec's callbacks."""

from __future__ import annotations

import os
import sys
from typing import Any

from fsspec.callbacks import Callback, NoOpCallback

from modelship.errors import ConfigError, MissingDependency

__all__ = ["make_callback"]


def _interactive() -> bool:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def make_callback(progress: bool | Callback | None, *, desc: str, total: int | None = None) -> Any:
    """The callback to report a transfer to.

    ``None`` picks automatically: a tqdm bar in a terminal or notebook when tqdm is
    installed, silence in CI (``CI=true``) and in pipes. ``True`` demands a bar (and tqdm),
    ``False`` is silent, and any fsspec ``Callback`` is used as given.
    """
    if not (progress is None or isinstance(progress, (bool, Callback))):
        raise ConfigError(
            f"progress must be None, True, False or an fsspec Callback, got {progress!r}"
        )
    if isinstance(progress, Callback):
        callback = progress
    elif progress is False or (progress is None and not _interactive()):
        return NoOpCallback()
    else:
        try:
            import tqdm.auto
            from fsspec.callbacks import TqdmCallback
        except ImportError as exc:
            if progress is None:
                return NoOpCallback()
            raise MissingDependency(
                "progress=True needs tqdm: pip install 'modelship[progress]'"
            ) from exc
        callback = TqdmCallback(
            tqdm_kwargs={"desc": desc, "unit": "B", "unit_scale": True, "unit_divisor": 1024},
            tqdm_cls=tqdm.auto.tqdm,
        )
    if total is not None:
        callback.set_size(total)
    return callback
