"""Damage any stored file of a real registry: every read answers or raises a ModelshipError.

A registry's files are written by modelship, but read back as input: a disk error, a hand
edit, a half-copied bucket or a bug elsewhere can change any of them. These tests build a
registry holding every kind of document (manifests, slots, the HEAD hint, the name claim,
aliases and their history, tags and theirs, attachments, the listing snapshot, archived
versions, blobs, a deployment record), then damage one or more of its files at random
(delete it, truncate it, replace it with other bytes or with another stored file, change
one value of its JSON) and run every read, and the writes that read first. Each must
answer, or raise a :class:`~modelship.ModelshipError` subclass: never a ``KeyError``,
``TypeError`` or another exception that a user's ``except ModelshipError`` would miss.
Warnings (a blob replaced by intact bytes) are allowed; answers are checked for type.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from _damage import damage_in_place
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelship as ms
from modelship.deploy import RegistryHistory
from modelship.registry import VersionPage
from modelship.testing import MemoryStore


def _pristine() -> dict[str, bytes]:
    """Every file of a registry that has used each feature once, by key."""
    store = MemoryStore()
    reg = ms.Registry(store)
    for n in (1, 2, 3):
        reg.register(
            model_name="fraud",
            model=f"weights {n}".encode(),
            serializer="bytes",
            metrics={"auc": 0.8 + n / 100},
            params={"depth": n},
            tags={"team": "risk"},
            lineage={"git_commit": "a" * 40},
            attachments={"notes": f"notes {n}"} if n == 2 else None,
            capture_environment=False,
        )
    reg.register(model_name="churn", model=[1, 2], lineage={}, capture_environment=False)
    reg.set_alias("fraud", "production", "2")
    reg.set_alias("fraud", "staging", "3")
    reg.set_alias("fraud", "staging", "2")
    reg.set_tag("fraud", "2", "stage", "prod")
    reg.delete("fraud", "1", reason="superseded")
    reg.versions("fraud")  # writes the listing snapshot
    from modelship.deploy import BlueGreen
    from modelship.testing._deployer_double import InMemoryDeployer

    dep = InMemoryDeployer()
    history = RegistryHistory(reg)
    rollout = BlueGreen(dep, clock=dep.clock, history=history).deploy("fraud", "2")
    # Its id ends in a random token: stored under a fixed one, every xdist worker makes
    # the same keys, and so the same test ids.
    store.delete(f"deployments/fraud/{rollout.id}.json")
    history.save(attrs.evolve(rollout.record(), id="20260101T000000000000Z-00000000"))
    return {key: data for key, (data, _) in store._data.items()}


PRISTINE = _pristine()
KEYS = sorted(PRISTINE)


def test_the_pristine_registry_holds_every_kind_of_file() -> None:
    kinds = {
        "registry.json",
        "/versions/",
        "/slots/",
        "blobs/sha256/",
        "deployments/fraud/",
        "/aliases",
        "/tags/",
    }
    for kind in kinds:
        assert any(kind in key for key in KEYS), (kind, KEYS)
    assert len(KEYS) >= 20, KEYS


@st.composite
def damage(draw: st.DrawFn) -> tuple[dict[str, bytes], list[str]]:
    """The registry's files with one to three of them damaged, and what was done."""
    files = dict(PRISTINE)
    done = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(KEYS))
        data = files.get(key)
        how = draw(st.sampled_from(["delete", "truncate", "bytes", "swap", "json"]))
        if data is None or how == "delete":
            files.pop(key, None)
            done.append(f"deleted {key}")
            continue
        if how == "truncate":
            files[key] = data[: draw(st.integers(0, max(0, len(data) - 1)))]
        elif how == "bytes":
            files[key] = draw(st.binary(max_size=64))
        elif how == "swap":
            other = draw(st.sampled_from(KEYS))
            files[key] = PRISTINE[other]
            how = f"swap with {other}"
        else:
            try:
                doc = json.loads(data)
            except ValueError:
                files[key] = data + b"\x00"
                how = "appended a NUL to"
            else:
                doc, how = damage_in_place(draw, doc)
                files[key] = json.dumps(doc).encode()
        done.append(f"{how} {key}")
    return files, done


def _registry(files: dict[str, bytes], kind: str = "memory") -> ms.Registry:
    """A registry holding ``files``, every one old (gc's grace period hides none), in
    memory or in a new folder on the local disk."""
    if kind == "memory":
        store = MemoryStore()
        for key, data in files.items():
            store._data[key] = (data, 0.0)
        return ms.Registry(store)
    root = Path(tempfile.mkdtemp(prefix="store-fuzz-", dir=_RAM_FOLDER))
    _FOLDERS.append(root)
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (0, 0))
    return ms.open_registry(str(root))


#: Folders made by _registry(kind="local"), removed by the test that made them.
_FOLDERS: list[Path] = []

#: Where those folders go: a RAM-backed file system (tmpfs) where there is one, else the
#: temporary folder. The local store's code is the same on either (files, folders,
#: renames, O_TMPFILE, fsync); what differs is the disk's speed, which this test is not
#: about: an example makes 25 registries of ~40 files and removes them, and on a disk
#: shared with a loaded run their creates and unlinks wait on its journal (the 40
#: examples: 4.5 s on tmpfs against 99 s on the disk here, at the same load).
_RAM_FOLDER = "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None


def _is_version(mv: Any) -> None:
    assert isinstance(mv, ms.ModelVersion), mv
    assert isinstance(mv.version, str)
    assert isinstance(mv.name, str)


def _reads(reg: ms.Registry) -> dict[str, Callable[[], Any]]:
    """Every read of the public API, and the writes that read first, by name."""

    def listing() -> None:
        for mv in reg.versions("fraud", include_archived=True):
            _is_version(mv)

    def paged() -> None:
        page = reg.versions("fraud", limit=1, order="newest")
        assert isinstance(page, VersionPage)
        for mv in page.versions:
            _is_version(mv)
        if page.next_cursor is not None:
            reg.versions("fraud", limit=1, order="newest", cursor=page.next_cursor)

    def models() -> None:
        assert all(isinstance(name, str) for name in reg.models())

    def aliases() -> None:
        found = reg.aliases("fraud")
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in found.items())

    def copy_all() -> None:
        ms.copy_registry(reg, ms.Registry(MemoryStore()))

    return {
        "models": models,
        "versions": listing,
        "versions(limit=1)": paged,
        "get latest": lambda: _is_version(reg.get("fraud", "latest")),
        "get @production": lambda: _is_version(reg.get("fraud", "@production")),
        "get 3": lambda: _is_version(reg.get("fraud", "3")),
        "get archived 1": lambda: _is_version(reg.get("fraud", "1", include_archived=True)),
        "versions(where=...)": lambda: reg.versions(
            "fraud", where={"tags.stage": "prod", "metrics.auc": (">=", 0.5)}
        ),
        "aliases": aliases,
        "alias history": lambda: reg.history("fraud"),
        "tags": lambda: reg.tags("fraud", "2"),
        "tag history": lambda: reg.tag_history("fraud", "2"),
        "load": lambda: reg.load("fraud", "2"),
        "load joblib": lambda: reg.load("churn", "latest"),
        "verify": lambda: _is_version(reg.verify("fraud", "3")),
        "attachment": lambda: reg.attachment("fraud", "2", "notes"),
        "deployment records": lambda: RegistryHistory(reg).records("fraud"),
        "gc dry run": lambda: reg.gc(grace_seconds=0, dry_run=True),
        "copy": copy_all,
        "register": lambda: _is_version(
            reg.register(
                model_name="fraud",
                model=b"new",
                serializer="bytes",
                lineage={},
                capture_environment=False,
            )
        ),
        "set alias": lambda: reg.set_alias("fraud", "production", "3"),
        "set tag": lambda: reg.set_tag("fraud", "3", "stage", "canary"),
        "delete": lambda: reg.delete("fraud", "3"),
        "restore": lambda: reg.restore("fraud", "1"),
        "purge": lambda: reg.purge("fraud", "1"),
        "gc": lambda: reg.gc(grace_seconds=0),
    }


def _escapes(files: dict[str, bytes], kind: str = "memory") -> list[str]:
    """Each read run on a fresh copy of ``files``: those that raised no ModelshipError."""
    escaped = []
    for name in READS:
        # A fresh registry per read: a write must not hide a fault from the reads after it.
        read = _reads(_registry(files, kind))[name]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ms.ModelshipWarning)
                read()
        except ms.ModelshipError:
            pass
        except Exception as exc:  # what this test is for: an exception that escapes
            escaped.append(f"{name}: {type(exc).__name__}: {exc}")
    return escaped


READS = list(_reads(_registry(PRISTINE)))


@pytest.mark.parametrize("name", READS)
def test_every_read_of_the_pristine_registry_answers(name: str) -> None:
    _reads(_registry(PRISTINE))[name]()  # no exception at all, not even a ModelshipError


_FUZZ = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@settings(_FUZZ, max_examples=400)
@given(damaged=damage())
def test_any_damage_to_stored_files_is_answered_or_a_modelship_error(
    damaged: tuple[dict[str, bytes], list[str]],
) -> None:
    files, done = damaged
    escaped = _escapes(files)
    assert not escaped, f"after {done}:\n" + "\n".join(escaped)


@settings(_FUZZ, max_examples=40)
@given(damaged=damage())
def test_any_damage_to_files_on_the_local_disk_is_answered_or_a_modelship_error(
    damaged: tuple[dict[str, bytes], list[str]],
) -> None:
    files, done = damaged
    try:
        escaped = _escapes(files, "local")
    finally:
        while _FOLDERS:
            shutil.rmtree(_FOLDERS.pop(), ignore_errors=True)
    assert not escaped, f"after {done}:\n" + "\n".join(escaped)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("how", ["delete", "empty", "not json", "json list"])
def test_each_file_deleted_emptied_or_replaced_is_answered_or_a_modelship_error(
    key: str, how: str
) -> None:
    files = dict(PRISTINE)
    if how == "delete":
        del files[key]
    else:
        files[key] = {"empty": b"", "not json": b"{not json", "json list": b"[1, 2]"}[how]
    escaped = _escapes(files)
    assert not escaped, f"after {how} of {key}:\n" + "\n".join(escaped)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("registration", []),
        ("registration", {"a": 1}),
        ("sequence", "3"),
        ("sequence", True),
        ("created_by", 5),
        ("description", None),
        ("signature", 7),
    ],
)
def test_a_manifest_field_of_the_wrong_type_is_an_integrity_error_for_every_reader(
    field: str, value: Any
) -> None:
    files = dict(PRISTINE)
    key = "models/fraud/versions/3.json"
    doc = json.loads(files[key])
    doc[field] = value
    files[key] = json.dumps(doc).encode()
    with pytest.raises(ms.IntegrityError, match=field):
        _registry(files).get("fraud", "3")
    # gc and copy read manifests too: a damaged one stops them, nothing is collected.
    with pytest.raises(ms.IntegrityError, match=field):
        _registry(files).gc(grace_seconds=0, dry_run=True)
    with pytest.raises(ms.IntegrityError, match=field):
        ms.copy_registry(_registry(files), ms.Registry(MemoryStore()))


def test_a_manifest_copied_to_another_versions_key_is_not_copied_by_copy_registry() -> None:
    files = dict(PRISTINE)
    files["models/fraud/versions/3.json"] = files["models/fraud/versions/2.json"]
    dst = ms.Registry(MemoryStore())
    with pytest.raises(ms.IntegrityError, match="claims to be fraud version 2"):
        ms.copy_registry(_registry(files), dst)
    assert not any("versions/3.json" in key for key in dst.store._data)  # type: ignore[attr-defined]
