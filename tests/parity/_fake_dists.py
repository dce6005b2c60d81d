"""Hand-written installed distributions for the dependency-closure tests (put on
``sys.path`` by the ``site`` fixture of ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path


def write_dist(site: Path, name: str, version: str, *requires: str) -> None:
    """Install distribution ``name`` (metadata only) into ``site``, requiring ``requires``
    (``Requires-Dist`` lines, markers included)."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {line}" for line in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n", encoding="utf-8")
