"""Shared by every test item, the doctests in ``src`` included.

A doctest may set and remove environment variables to show an example; it must not
change what the tests beside it in the same worker see. The S3 fixtures put moto's
credentials in the environment for the whole session (the model servers they start
inherit them), and an example that removed ``AWS_SECRET_ACCESS_KEY`` after setting it
left half of them: every later S3 test of that worker failed with botocore's
``PartialCredentialsError``. Each doctest gets the environment back as it found it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _doctest_environment(request: pytest.FixtureRequest) -> Iterator[None]:
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
