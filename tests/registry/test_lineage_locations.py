"""Lineage records where data given as a path or URL was, beside its fingerprint (issue 10)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import modelship as ms
from modelship._model_version import Lineage
from modelship.registry._lineage import data_location


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    return ms.open_registry(str(tmp_path / "reg"))


def test_data_given_as_a_path_records_its_absolute_location(
    reg: ms.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    monkeypatch.chdir(tmp_path)
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", data={"train": "train.csv"})
    got = reg.get("m", "1").lineage
    assert got.locations == {"train": str(tmp_path / "train.csv")}
    assert got.data["train"] == ms.fingerprint(tmp_path / "train.csv")
    assert mv.lineage == got


def test_a_path_object_and_a_file_url_are_locations_too(reg: ms.Registry, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1\n")
    (tmp_path / "b.csv").write_text("2\n")
    url = (tmp_path / "b.csv").as_uri()
    mv = reg.register(
        model_name="m",
        model=b"x",
        serializer="bytes",
        data={"train": tmp_path / "a.csv", "holdout": url},
    )
    assert mv.lineage.locations == {"train": str(tmp_path / "a.csv"), "holdout": url}


def test_data_given_in_memory_has_a_fingerprint_and_no_location(reg: ms.Registry) -> None:
    mv = reg.register(
        model_name="m", model=b"x", serializer="bytes", data={"train": np.arange(10.0)}
    )
    assert set(mv.lineage.data) == {"train"}
    assert mv.lineage.locations == {}


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/train.parquet", "s3://bucket/train.parquet"),
        ("https://user:pw@data.example.com:8443/t.csv?sig=abc#x", "https://data.example.com:8443/t.csv"),
        ("gs://bucket/folder/", "gs://bucket/folder/"),
    ],
)  # fmt: skip
def test_a_url_is_recorded_without_credentials_or_query(given: str, recorded: str) -> None:
    assert data_location(given) == recorded


def test_a_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert data_location(os.path.join("d", "x.csv")) == str(tmp_path / "d" / "x.csv")


def test_lineage_without_locations_serialises_as_before() -> None:
    lin = Lineage(git_commit="3f2a", data={"train": "sha256:ab"})
    assert "locations" not in lin.to_dict()
    with_places = Lineage(data={"train": "sha256:ab"}, locations={"train": "/d/t.csv"})
    assert Lineage.from_dict(json.loads(json.dumps(with_places.to_dict()))) == with_places


def test_a_stored_location_that_is_not_text_is_refused() -> None:
    with pytest.raises(ms.ConfigError, match="lineage locations"):
        Lineage.from_dict({"locations": {"train": 3}})
