"""A drift profile and a schema stored with a model version and read back with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.checks import DataDrift, DriftProfile, Schema, Status


def _data(seed: int, shift: float = 0.0, n: int = 5_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "age": rng.normal(40 + shift * 12, 12, n),
        "income": rng.lognormal(10, 0.5, n),
        "country": rng.choice(np.array(["de", "fr", "it"]), n),
    }


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    return ms.open_registry(str(tmp_path / "reg"))


def test_profile_registered_from_data_reads_back_equal(reg: ms.Registry) -> None:
    train = _data(0)
    reg.register(model_name="fraud", model=b"w", serializer="bytes", profile=train)
    mv = reg.get("fraud", "latest")
    assert mv.profile == DriftProfile.from_data(train)
    assert mv.schema == mv.profile.schema
    assert {"profile", "schema"} <= set(mv.attachments)  # with the environment, by default


def test_drift_check_against_the_production_profile_needs_no_training_data(
    reg: ms.Registry,
) -> None:
    reg.register(model_name="fraud", model=b"w", serializer="bytes", profile=_data(0))
    reg.set_alias("fraud", "production", "1")
    same = DataDrift(reference=reg.get("fraud", "@production").profile, current=_data(1)).run()
    moved = DataDrift(
        reference=reg.get("fraud", "@production").profile, current=_data(2, shift=0.5)
    ).run()
    assert same.status is Status.PASS
    assert moved.columns["age"].drifted
    assert not moved.columns["country"].drifted


def test_schema_registered_alone_validates_new_data(reg: ms.Registry) -> None:
    train = _data(0)
    reg.register(model_name="fraud", model=b"w", serializer="bytes", schema=Schema.infer(train))
    mv = reg.get("fraud")
    assert mv.schema == Schema.infer(train)
    bad = dict(_data(1))
    del bad["income"]
    assert mv.schema.check(bad).run().status is not Status.PASS
    with pytest.raises(ms.MissingAttachment, match="no 'profile'"):
        _ = mv.profile


def test_tampered_profile_is_refused(reg: ms.Registry) -> None:
    mv = reg.register(model_name="fraud", model=b"w", serializer="bytes", profile=_data(0))
    digest = mv.attachments["profile"].hexdigest
    key = f"blobs/sha256/{digest[:2]}/{digest}"
    data = reg.store.read(key).replace(b'"age"', b'"agf"')
    reg.store.delete(key)
    reg.store.create(key, data)
    with pytest.raises(ms.IntegrityError):
        _ = reg.get("fraud").profile


def test_profile_is_signed_with_the_version(tmp_path: Path) -> None:
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(model_name="m", model=b"w", serializer="bytes", profile=_data(0))
    with pytest.raises(ms.SignatureError):
        _ = ms.open_registry(url, signing_key=b"k" * 32).get("m").profile


def test_profile_given_twice_raises_config_error(reg: ms.Registry) -> None:
    with pytest.raises(ms.ConfigError, match="not both"):
        reg.register(
            model_name="m",
            model=b"w",
            serializer="bytes",
            profile=_data(0),
            attachments={"profile": "{}"},
        )


def test_record_not_from_a_registry_explains_how_to_read_attachments(reg: ms.Registry) -> None:
    mv = reg.register(model_name="m", model=b"w", serializer="bytes", profile=_data(0))
    with pytest.raises(ms.ConfigError, match=r"registry\.attachment"):
        _ = ms.ModelVersion.from_json(mv.to_json()).profile


@pytest.mark.s3
def test_profile_round_trips_through_s3(s3_bucket: dict[str, Any]) -> None:
    reg = ms.open_registry(s3_bucket["url"], **s3_bucket["options"])
    profile = DriftProfile.from_data(_data(0))
    reg.register(model_name="fraud", model=b"w", serializer="bytes", profile=profile)
    assert reg.get("fraud").profile == profile


def test_a_profile_made_with_exclusions_and_kinds_keeps_them_through_the_registry(
    reg: ms.Registry,
) -> None:
    train = _data(0) | {"customer": np.array([f"c{i}" for i in range(5_000)])}
    profile = DriftProfile.from_data(train, exclude=["customer"], kinds={"country": "categorical"})
    reg.register(model_name="fraud", model=b"w", serializer="bytes", profile=profile)
    stored = reg.get("fraud", "latest").profile
    assert stored == profile
    assert stored.left_out == {"customer": "excluded"}
    batch = _data(1) | {"customer": np.array([f"n{i}" for i in range(5_000)])}
    result = DataDrift(reference=stored, current=batch).run()
    assert "customer" not in result.columns
    assert result.status is Status.PASS
