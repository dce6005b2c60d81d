"""Every built-in back end passes the registry conformance suite."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship.testing import RegistryConformance

_counter = itertools.count()


def _factory(url_of: Callable[[int], str], **options: Any) -> Callable[..., ms.Registry]:
    state = {"n": next(_counter)}

    def make(same: bool = False, **kwargs: Any) -> ms.Registry:
        if not same:
            state["n"] = next(_counter)
        return ms.open_registry(url_of(state["n"]), **options, **kwargs)

    return make


class TestLocalRegistry(RegistryConformance):
    @pytest.fixture
    def make_registry(self, tmp_path: Path) -> Callable[..., ms.Registry]:
        return _factory(lambda n: str(tmp_path / f"reg{n}"))


class TestFileUrlRegistry(RegistryConformance):
    @pytest.fixture
    def make_registry(self, tmp_path: Path) -> Callable[..., ms.Registry]:
        return _factory(lambda n: f"file://{tmp_path}/reg{n}")


class TestMemoryRegistry(RegistryConformance):
    @pytest.fixture
    def make_registry(self) -> Callable[..., ms.Registry]:
        tag = uuid.uuid4().hex
        return _factory(lambda n: f"memory://conformance-{tag}/{n}")


@pytest.mark.s3
class TestS3Registry(RegistryConformance):
    @pytest.fixture
    def make_registry(self, s3_bucket: dict[str, Any]) -> Callable[..., ms.Registry]:
        return _factory(lambda n: f"{s3_bucket['url']}{n}", **s3_bucket["options"])
