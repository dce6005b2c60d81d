"""The suites' own examples, as users paste them, run against a store that conforms.

The package docstring's example once passed ``same=True`` on to the store and opened a
new location at every call: six registry checks failed on a correct store. Each example
is taken from the docstring as it stands, given a ``MyStore`` (a local folder store),
and run by pytest in a fresh process on the checks that tell a good factory from a bad
one: handles on one location (``same=True``), fresh locations, and each store check
that needs its own location.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelship
import modelship.testing
from modelship.testing import RegistryConformance

MY_STORE = """
from modelship.registry import FsspecStore


def MyStore(location):
    return FsspecStore.from_url(str(location))
"""

# same=True (signatures, concurrent writers), fresh locations (a copy between two)
CHECKS = (
    "signed or reader_without_key or concurrent_moves or copy_registry"
    " or created_document or racing_creates or fresh_location"
)


def _example(doc: str, after: str) -> str:
    """The code block (indented more than its line) after the line ending with ``after``."""
    lines = doc.splitlines()
    at = next(i for i, line in enumerate(lines) if line.rstrip().endswith(after))
    indent = len(lines[at]) - len(lines[at].lstrip())
    block = []
    for line in lines[at + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def _run(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_my_store.py"
    test.write_text(MY_STORE + "\n" + code)
    src = str(Path(modelship.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--rootdir",
            str(tmp_path),
            "-k",
            CHECKS,
            str(test),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("doc", "after"),
    [
        (modelship.testing.__doc__, "In your own ``test_my_store.py``::"),
        (RegistryConformance.__doc__, "run every registry behaviour on your store::"),
    ],
    ids=["package", "RegistryConformance"],
)
def test_the_example_passes_on_a_conforming_store(tmp_path: Path, doc: str, after: str) -> None:
    code = _example(doc or "", after)
    assert "class Test" in code
    done = _run(tmp_path, code)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout, done.stdout[-2000:]
    assert "failed" not in done.stdout, done.stdout[-2000:]
