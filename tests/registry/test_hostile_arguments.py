"""Arguments a hostile (or careless) caller passes: each is a ModelshipError, nothing is lost.

Found by an adversarial review of the registry's public entry points. Each case raised a
raw Python exception (AttributeError, TypeError, OverflowError, RecursionError, ...), or
stored something that a later read refused as damage, or changed something it must not.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship.errors import (
    ConfigError,
    InvalidCursor,
    InvalidFilter,
    InvalidName,
    InvalidReference,
    InvalidTag,
    ModelNotFound,
    RegistryNotFound,
)


def register(reg: ms.Registry, **extra: Any) -> ms.ModelVersion:
    options: dict[str, Any] = {"serializer": "bytes", "capture_environment": False}
    return reg.register(model_name="m", model=b"x", **(options | extra))


@pytest.fixture
def reg(tmp_path: Path) -> ms.Registry:
    return ms.open_registry(str(tmp_path / "registry"))


# --- what register() stores is what the readers accept ---------------------------------


@pytest.mark.parametrize(
    "tags",
    [{"a b": "x"}, {"": "x"}, {"k" * 129: "x"}, {"ok": "v" * 4097}, {"ok": 5}],
    ids=["space", "empty key", "long key", "long value", "not text"],
)
def test_register_checks_tags_by_the_rules_set_tag_applies(
    reg: ms.Registry, tags: dict[str, Any]
) -> None:
    # Such a tag was stored, and the first set_tag() after it wrote a log entry that every
    # later read of the version's tags refused as damaged.
    with pytest.raises((InvalidTag, ConfigError)):
        register(reg, tags=tags)
    assert not Path(reg.url).exists()  # refused before anything was written


def test_tags_given_at_registration_stay_readable_after_set_tag(reg: ms.Registry) -> None:
    register(reg, tags={"team": "risk"})
    reg.set_tag("m", "1", "ok", "1")
    assert reg.tags("m", "1") == {"team": "risk", "ok": "1"}
    assert [mv.version for mv in reg.versions("m", where={"tags.ok": "1"})] == ["1"]


@pytest.mark.parametrize("user", [1, {"x": [1]}, "", "a\nb", "u" * 257])
def test_the_recorded_user_must_be_printable_text(tmp_path: Path, user: Any) -> None:
    # A user of 1 was written as created_by=1 and by=1, which the readers refuse.
    with pytest.raises(ConfigError, match="user must be"):
        ms.open_registry(str(tmp_path / "r"), user=user)


def test_a_valid_user_is_recorded_and_read_back(tmp_path: Path) -> None:
    reg = ms.open_registry(str(tmp_path / "r"), user="ana@ci")
    register(reg)
    reg.set_tag("m", "1", "ok", "1")
    assert reg.get("m", "1").created_by == "ana@ci"
    assert reg.tag_history("m", "1")[0].by == "ana@ci"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"signing_key": 1}, "signing_key must be bytes or text"),
        ({"single_writer": "yes"}, "single_writer must be True or False"),
    ],
)
def test_open_registry_checks_its_options(
    tmp_path: Path, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        ms.open_registry(str(tmp_path / "r"), **options)


@pytest.mark.parametrize("url", [None, 1, b"/tmp/x"])
def test_open_registry_needs_a_path_or_url(url: Any) -> None:
    with pytest.raises(ConfigError, match="url must be"):
        ms.open_registry(url)


@pytest.mark.parametrize(
    ("metric", "ok"),
    [
        (np.array([1.0, 2.0]), False),
        (np.array([[3.0]]), False),
        (np.array(3.0), True),
        (np.float32(0.5), True),
    ],
    ids=["two values", "one value in a 2-D array", "0-d array", "numpy scalar"],
)
def test_a_metric_is_one_number(reg: ms.Registry, metric: Any, ok: bool) -> None:
    if ok:
        assert register(reg, metrics={"auc": metric}).metrics["auc"] == float(metric)
    else:
        with pytest.raises(ConfigError, match="must be a number, got an array of shape"):
            register(reg, metrics={"auc": metric})


@pytest.mark.parametrize(
    "lineage",
    [{"git_commit": 5}, {"git_dirty": "yes"}, {"extra": {"ticket": 7}}],
)
def test_lineage_fields_have_the_types_they_are_read_back_with(
    reg: ms.Registry, lineage: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match="lineage"):
        register(reg, lineage=lineage)


def test_a_delete_reason_is_text(reg: ms.Registry) -> None:
    register(reg)
    with pytest.raises(ConfigError, match="reason must be text"):
        reg.delete("m", "1", reason=5)  # type: ignore[arg-type]
    assert reg.get("m", "1").version == "1"  # nothing was deleted


@pytest.mark.parametrize("method", ["delete", "restore", "purge"])
@pytest.mark.parametrize("ref", ["latest", "@production"])
def test_delete_restore_and_purge_take_a_version_not_a_reference(
    reg: ms.Registry, method: str, ref: str
) -> None:
    # A retried reg.delete("m", "latest") archived one more version on each try.
    for _ in range(3):
        register(reg)
    reg.set_alias("m", "production", "1")
    reg.delete("m", "2")
    with pytest.raises(InvalidReference, match=rf"{method}\(\) takes a version, not the"):
        getattr(reg, method)("m", ref)
    assert [mv.version for mv in reg.versions("m")] == ["1", "3"]
    assert reg.get("m", "2", include_archived=True).version == "2"  # not purged


@pytest.mark.parametrize("ref", ["@", "@@x", "@production/../x", "@1abc"])
def test_a_malformed_alias_reference_is_invalid_reference(reg: ms.Registry, ref: str) -> None:
    # registry.md: "a malformed reference raises InvalidReference"; '@...' raised InvalidName.
    register(reg)
    with pytest.raises(InvalidReference, match="is not a valid '@alias'"):
        reg.get("m", ref)


# --- attachments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attachments", "error", "match"),
    [
        ("x", ConfigError, "attachments must map roles"),
        ({"a": "\ud800"}, ConfigError, "is not valid text"),
        ({"model": b"att"}, InvalidName, "names the artifact itself"),
        ({"": b"att"}, InvalidName, "attachment role must not be empty"),
    ],
    ids=["not a mapping", "lone surrogate", "role 'model'", "empty role"],
)
def test_attachments_are_checked_before_anything_is_stored(
    reg: ms.Registry, attachments: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        register(reg, attachments=attachments)
    assert not Path(reg.url).exists()  # refused before anything was written


def test_reading_an_attachment_checks_its_arguments(reg: ms.Registry) -> None:
    mv = register(reg, attachments={"notes": b"hi"})
    with pytest.raises(ConfigError, match="kind must be a document class"):
        reg.attachment("m", "1", "notes", int)
    with pytest.raises(ConfigError, match="mv must be a ModelVersion"):
        reg.read_attachment(None, "notes")  # type: ignore[call-overload]
    with pytest.raises(ConfigError, match="role must be a string"):
        reg.read_attachment(mv, ["notes"])  # type: ignore[call-overload]
    assert reg.read_attachment(mv, "notes") == b"hi"


# --- listing and filters ---------------------------------------------------------------


def test_a_stray_file_in_the_models_folder_is_not_a_model(reg: ms.Registry) -> None:
    register(reg)
    (Path(reg.url) / "models" / "notes.txt").write_text("mine")
    (Path(reg.url) / "models" / ".DS_Store").write_bytes(b"\0")
    assert reg.models() == ["m"]
    assert reg.gc(grace_seconds=0, dry_run=True).removed == 0
    reg.gc(grace_seconds=0)
    assert (Path(reg.url) / "models" / "notes.txt").read_text() == "mine"


def test_a_filter_on_a_number_beyond_float_range_is_an_invalid_filter(reg: ms.Registry) -> None:
    register(reg, metrics={"auc": 0.9})
    with pytest.raises(InvalidFilter, match="an integer of 1329 bits"):
        reg.versions("m", where={"metrics.auc": (">", 10**400)})
    with pytest.raises(InvalidFilter):
        reg.versions("m", where={"metrics.auc": (">", 10**400)}, limit=5)


def test_a_cursor_that_was_not_made_here_is_refused_before_it_is_parsed(
    reg: ms.Registry,
) -> None:
    register(reg)
    nested = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    with pytest.raises(InvalidCursor):
        reg.versions("m", limit=1, cursor=nested + ".abcdefabcdef")
    huge = "A" * 10_000_000 + ".abc"
    with pytest.raises(InvalidCursor) as raised:
        reg.versions("m", limit=1, cursor=huge)
    assert len(str(raised.value)) < 400


@pytest.mark.parametrize("flag", ["no", 0, None])
def test_include_archived_is_true_or_false(reg: ms.Registry, flag: Any) -> None:
    register(reg)
    for call in (
        lambda: reg.get("m", "1", include_archived=flag),
        lambda: reg.versions("m", include_archived=flag),
        lambda: reg.load("m", "1", include_archived=flag),
    ):
        with pytest.raises(ConfigError, match="include_archived must be True or False"):
            call()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"grace_seconds": 10**400}, "an integer of 1329 bits"),
        ({"grace_seconds": True}, "grace_seconds"),
        ({"grace_seconds": -1}, "grace_seconds"),
        ({"dry_run": "no"}, "dry_run must be True or False"),
    ],
)
def test_gc_checks_its_options(reg: ms.Registry, options: dict[str, Any], match: str) -> None:
    register(reg)
    with pytest.raises(ConfigError, match=match):
        reg.gc(**options)


# --- a model or a registry that is not there -------------------------------------------


def test_aliases_and_history_of_an_unknown_model_say_so(reg: ms.Registry) -> None:
    register(reg)
    with pytest.raises(ModelNotFound, match="no model named 'nope'"):
        reg.aliases("nope")
    with pytest.raises(ModelNotFound, match="no model named 'nope'"):
        reg.history("nope")
    assert reg.aliases("m") == {}  # a model without aliases has none
    assert reg.history("m") == []


def test_a_mistyped_registry_location_is_not_created_by_gc(tmp_path: Path) -> None:
    typo = tmp_path / "regsitry"
    reg = ms.open_registry(str(typo))
    for call in (reg.gc, lambda: reg.aliases("m"), lambda: reg.history("m")):
        with pytest.raises(RegistryNotFound):
            call()
    assert not typo.exists()


# --- copies and downloads --------------------------------------------------------------


def test_a_registry_is_not_copied_into_itself(reg: ms.Registry) -> None:
    register(reg)
    for inside in (reg.url, os.path.join(reg.url, "models"), os.path.dirname(reg.url)):
        with pytest.raises(ConfigError, match="one registry lies inside the other"):
            ms.copy_registry(reg, ms.open_registry(inside))
    assert reg.models() == ["m"]
    assert not (Path(reg.url) / "models" / "registry.json").exists()


def test_copy_registry_takes_registries(reg: ms.Registry) -> None:
    with pytest.raises(ConfigError, match="dst must be a Registry"):
        ms.copy_registry(reg, "/tmp/elsewhere")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="src must be a Registry"):
        ms.copy_registry(None, reg)  # type: ignore[arg-type]


def test_copy_registry_models_is_a_list_not_a_string(reg: ms.Registry, tmp_path: Path) -> None:
    register(reg)
    with pytest.raises(ConfigError, match="models must be a list of model names"):
        ms.copy_registry(reg, ms.open_registry(str(tmp_path / "b")), models="m")


def test_overwrite_replaces_only_a_regular_file(reg: ms.Registry, tmp_path: Path) -> None:
    register(reg)
    target = tmp_path / "kept.bin"
    target.write_bytes(b"mine")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (link, fifo):
        with pytest.raises(ConfigError, match="is not a regular file"):
            reg.download("m", "1", path, overwrite=True)
    assert target.read_bytes() == b"mine"
    assert link.is_symlink()
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"old")
    reg.download("m", "1", plain, overwrite=True)
    assert plain.read_bytes() == b"x"


@pytest.mark.parametrize(
    ("path", "match"),
    [
        (None, "path must be a str or a pathlib.Path"),
        (1, "path must be a str or a pathlib.Path"),
        (b"/tmp/out.bin", "path must be a str or a pathlib.Path"),
        ("/tmp/\ud800.bin", "cannot be encoded"),
        ("x" * 300, "cannot write"),
    ],
    ids=["None", "int", "bytes", "lone surrogate", "name too long"],
)
def test_download_checks_its_path(reg: ms.Registry, tmp_path: Path, path: Any, match: str) -> None:
    register(reg)
    where = tmp_path / path if isinstance(path, str) and not path.startswith("/") else path
    with pytest.raises(ConfigError, match=match):
        reg.download("m", "1", where)


def test_download_role_is_text(reg: ms.Registry, tmp_path: Path) -> None:
    register(reg)
    with pytest.raises(ConfigError, match="role must be a string"):
        reg.download("m", "1", tmp_path / "out", role=["x"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"singel_writer": True}, "did you mean 'single_writer'"),
        ({"verify_signature": False}, "did you mean 'verify_signatures'"),
        ({"anon": True}, "do not apply to the local folder"),
        ({"storage_options": {"anon": True}}, "do not apply to the local folder"),
        ({"storage_options": ["anon"]}, "storage_options must be a mapping"),
        ({"storage_options": {1: True}}, "storage_options must be a mapping"),
        ({"anon": True, "storage_options": {"anon": False}}, r"\['anon'\] given twice"),
    ],
)
def test_a_mistyped_or_useless_option_is_refused_not_ignored(
    tmp_path: Path, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        ms.open_registry(str(tmp_path / "r"), **options)


def test_fingerprinting_storage_that_fails_is_a_store_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No credentials and no endpoint that answers: botocore's own error, named and chained.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ms.StoreError, match="cannot fingerprint 's3://no-such-bucket/x'"):
        ms.fingerprint("s3://no-such-bucket/x")


def test_progress_is_a_flag_or_a_callback(reg: ms.Registry) -> None:
    with pytest.raises(ConfigError, match="progress must be None, True, False"):
        register(reg, progress="x")
    assert not Path(reg.url).exists() or reg.models() == []
