"""ModelVersion, Lineage, ArtifactRef and name validation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship._names import check_alias, check_model_name, check_version

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
safe_text = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)


def _version(**overrides: object) -> ms.ModelVersion:
    fields: dict[str, object] = {
        "name": "fraud",
        "version": "1",
        "sequence": 1,
        "artifact": ms.ArtifactRef("sha256:" + "a" * 64, 10, "joblib", "application/x"),
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
    }
    fields.update(overrides)
    return ms.ModelVersion(**fields)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    metrics=st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False),
        max_size=5,
    ),
    params=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    tags=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=5),
    data=st.dictionaries(safe_text, safe_text, max_size=3),
    seconds=st.integers(0, 10**9),
    micro=st.integers(0, 999_999),
    offset_hours=st.integers(-12, 12),
    names=st.tuples(safe_text, safe_text, st.integers(1, 2**40)),
    text=st.tuples(st.text(max_size=30), st.text(max_size=30), st.text(max_size=32)),
    artifact=st.tuples(st.binary(min_size=32, max_size=32), st.integers(0, 2**50), safe_text),
    lineage=st.tuples(st.none() | safe_text, st.none() | st.booleans(), st.none() | safe_text),
    attachments=st.dictionaries(safe_text, st.binary(min_size=32, max_size=32), max_size=3),
    signature=st.none() | st.from_regex(r"hmac-sha256:[0-9a-f]{64}", fullmatch=True),
)
def test_model_version_json_round_trip_is_exact(
    metrics,
    params,
    tags,
    data,
    seconds,
    micro,
    offset_hours,
    names,
    text,
    artifact,
    lineage,
    attachments,
    signature,
) -> None:
    tz = timezone(timedelta(hours=offset_hours))
    created = datetime.fromtimestamp(seconds, tz).replace(microsecond=micro)
    raw, size, serializer = artifact
    mv = _version(
        name=names[0],
        version=names[1],
        sequence=names[2],
        artifact=ms.ArtifactRef("sha256:" + raw.hex(), size, serializer, "application/x"),
        metrics=metrics,
        params=params,
        tags=tags,
        lineage=ms.Lineage(
            git_commit=lineage[0], git_dirty=lineage[1], parent=lineage[2], data=data
        ),
        created_at=created,
        created_by=text[0],
        description=text[1],
        registration=text[2],
        attachments={
            role: ms.ArtifactRef("sha256:" + d.hex(), 1, "bytes", "text/plain")
            for role, d in attachments.items()
        },
        signature=signature,
    )
    back = ms.ModelVersion.from_json(mv.to_json())
    # Every field survives, compared one by one so that a dropped one is named.
    for field in attrs.fields(ms.ModelVersion):
        if field.eq:
            assert getattr(back, field.name) == getattr(mv, field.name), field.name
    assert back == mv
    assert back.to_json() == mv.to_json()
    assert back.created_at == created
    assert back.created_at.tzinfo == timezone.utc


def test_created_at_must_be_timezone_aware() -> None:
    with pytest.raises(ms.ConfigError, match="timezone"):
        _version(created_at=datetime(2026, 1, 1))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "0.9", None, [1]])
def test_non_finite_or_non_numeric_metric_raises_config_error(bad: object) -> None:
    with pytest.raises(ms.ConfigError, match="metric 'auc'"):
        _version(metrics={"auc": bad})


def test_numpy_scalar_metrics_become_plain_numbers() -> None:
    mv = _version(metrics={"auc": np.float32(0.5), "n": np.int64(3)})
    assert mv.metrics == {"auc": 0.5, "n": 3}
    assert type(mv.metrics["n"]) is int


@pytest.mark.parametrize("bad", [{"t": float("nan")}, {"t": object()}, {1: "a"}])
def test_params_that_do_not_survive_json_raise_config_error(bad: dict[object, object]) -> None:
    with pytest.raises(ms.ConfigError):
        _version(params=bad)


def test_malformed_manifest_raises_integrity_error() -> None:
    with pytest.raises(ms.IntegrityError, match="not valid JSON"):
        ms.ModelVersion.from_json("{")
    with pytest.raises(ms.IntegrityError, match="missing"):
        ms.ModelVersion.from_json('{"name": "x"}')
    with pytest.raises(ms.IntegrityError, match="format"):
        ms.ModelVersion.from_json('{"format": 99}')


def test_artifact_digest_must_be_sha256_hex() -> None:
    with pytest.raises(ms.IntegrityError):
        ms.ArtifactRef("md5:abc", 1, "bytes", "x")


def test_lineage_rejects_unknown_keys() -> None:
    with pytest.raises(ms.ConfigError, match="unknown keys"):
        ms.Lineage.from_dict({"commit": "abc"})


@given(safe_text)
def test_safe_names_are_accepted(name: str) -> None:
    reserved = {"con", "prn", "aux", "nul"}
    if name.split(".", maxsplit=1)[0].lower() in reserved or name[:3].lower() in {"com", "lpt"}:
        return
    assert check_model_name(name) == name
    assert check_version(name) == name or name.lower() == "latest"


@given(st.text(min_size=1, max_size=30).filter(lambda s: any(c in s for c in '/\\:*?"<>| \t\n%#')))
def test_names_with_unsafe_characters_are_rejected(name: str) -> None:
    with pytest.raises(ms.InvalidName):
        check_model_name(name)


@pytest.mark.parametrize("name", ["con.txt", "nul.tar.gz", "com1.x", "LPT9.bin", "Aux"])
@pytest.mark.parametrize("check", [check_model_name, check_version])
def test_windows_device_names_are_refused_whatever_their_extension(check, name) -> None:
    with pytest.raises(ms.InvalidName, match="reserved device name"):
        check(name)


@pytest.mark.parametrize("name", ["console", "nul_", "com10", "icon.txt"])
def test_names_that_only_start_like_a_device_name_are_accepted(name: str) -> None:
    assert check_model_name(name) == name


def test_version_accepts_positive_int_and_rejects_zero() -> None:
    assert check_version(3) == "3"
    with pytest.raises(ms.InvalidName):
        check_version(0)
    with pytest.raises(ms.InvalidName):
        check_version(True)


def test_alias_strips_at_and_must_start_with_a_letter() -> None:
    assert check_alias("@production") == "production"
    with pytest.raises(ms.InvalidName, match="letter"):
        check_alias("1st")
    with pytest.raises(ms.InvalidName, match="reserved"):
        check_alias("latest")
