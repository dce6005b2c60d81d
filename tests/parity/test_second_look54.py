"""Second look at the parity work of stop 54: load reads the environment snapshot only
when it can matter, a rebuilt wheel is no blocking difference, locale spellings, the
snapshot schema version, credentials in source URLs, the zone scan's bound."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import modelship as ms
from modelship.errors import IntegrityError, ModelshipWarning
from modelship.parity import (
    EnvironmentMismatchWarning,
    EnvironmentSnapshot,
    InvalidEnvironmentDocument,
    Requirements,
    SnapshotError,
    check_installed,
    compare,
)
from modelship.parity._installed import PackageSource, source_url

A, B = "a" * 40, "b" * 40


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("site")
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))


def _install_from_git(site: Path, commit: str) -> None:
    """foo-bar 1.0.0 in ``site``, as pip leaves one installed from a git commit."""
    info = site / "foo_bar-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: foo-bar\nVersion: 1.0.0\n\n", encoding="utf-8"
    )
    direct = {"url": "https://h/r.git", "vcs_info": {"vcs": "git", "commit_id": commit}}
    (info / "direct_url.json").write_text(json.dumps(direct), encoding="utf-8")
    os.utime(site)  # the listing is cached until a sys.path folder's time changes


def _damage(root: Path, mv: ms.ModelVersion, role: str) -> None:
    """Flip one byte of the stored blob of ``mv``'s ``role`` attachment."""
    hexdigest = mv.attachments[role].digest.partition(":")[2]
    (blob,) = (p for p in root.rglob(hexdigest + "*") if p.is_file())
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))


def _newer_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots written from now on have one field more, as a later modelship's."""
    to_dict = EnvironmentSnapshot.to_dict

    def to_json(self: EnvironmentSnapshot, *, indent: int | None = 2) -> str:
        return json.dumps({**to_dict(self), "gpu_runtime": None}, indent=indent)

    monkeypatch.setattr(EnvironmentSnapshot, "to_json", to_json)


def _no_warnings_loading(reg: ms.Registry, name: str, **options: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelshipWarning)
        return reg.load(name, **options)


# --- 1. load reads the environment snapshot only when a needed package is from git ---


def test_load_reads_only_the_requirements_without_git_installs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register("m", {"w": [1.0, 2.0]})
    roles: list[str] = []
    read = ms.Registry.read_attachment

    def spy(self: ms.Registry, mv: ms.ModelVersion, role: str, *args: Any) -> Any:
        roles.append(role)
        return read(self, mv, role, *args)

    monkeypatch.setattr(ms.Registry, "read_attachment", spy)
    assert reg.load("m", strict_environment=True) == {"w": [1.0, 2.0]}
    assert roles == ["requirements"]


def test_a_damaged_environment_document_does_not_stop_loading_an_intact_model(
    tmp_path: Path,
) -> None:
    reg = ms.open_registry(str(tmp_path / "reg"))
    mv = reg.register("m", {"w": [1.0, 2.0]})
    _damage(tmp_path / "reg", mv, "environment")
    assert _no_warnings_loading(reg, "m") == {"w": [1.0, 2.0]}
    assert _no_warnings_loading(reg, "m", strict_environment=True) == {"w": [1.0, 2.0]}


def test_a_snapshot_from_a_newer_modelship_does_not_stop_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _newer_snapshots(monkeypatch)
    reg = ms.open_registry(str(tmp_path / "reg"))
    reg.register("m", {"w": [1.0]})
    monkeypatch.undo()
    assert _no_warnings_loading(reg, "m", strict_environment=True) == {"w": [1.0]}


def _git_model(site: Path, root: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> Any:
    """A registry at ``root`` holding ``m``, which needs foo-bar 1.0.0, installed here
    from git commit B; trained with commit A (unless ``monkeypatch`` makes snapshots
    newer, then captured)."""
    _install_from_git(site, B)
    reg = ms.open_registry(str(root))
    attachments: dict[str, Any] = {
        "requirements": Requirements(packages={"foo-bar": "1.0.0"}).to_json()
    }
    if monkeypatch is None:
        trained = attrs.evolve(
            EnvironmentSnapshot.capture(),
            package_sources={
                "foo-bar": PackageSource(kind="vcs", url="https://h/r.git", vcs="git", commit_id=A)
            },
        )
        attachments["environment"] = trained.to_json()
    else:
        _newer_snapshots(monkeypatch)
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", attachments=attachments)
    if monkeypatch is not None:
        monkeypatch.undo()
    return reg, mv


def test_with_a_git_install_a_damaged_snapshot_warns_and_strict_refuses(
    site: Path, tmp_path: Path
) -> None:
    reg, mv = _git_model(site, tmp_path / "reg")
    _damage(tmp_path / "reg", mv, "environment")
    with pytest.warns(EnvironmentMismatchWarning, match="was not checked; loading anyway"):
        assert reg.load("m") == b"x"
    with pytest.raises(IntegrityError, match="environment"):
        reg.load("m", strict_environment=True)


def test_with_a_git_install_a_newer_snapshot_warns_and_strict_says_upgrade(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg, _ = _git_model(site, tmp_path / "reg", monkeypatch)
    with pytest.warns(EnvironmentMismatchWarning, match="could not be read"):
        assert reg.load("m") == b"x"
    with pytest.raises(InvalidEnvironmentDocument, match="environment"):
        reg.load("m", strict_environment=True)


def test_with_a_git_install_load_still_reads_the_snapshot_and_finds_the_commit(
    site: Path, tmp_path: Path
) -> None:
    reg, _ = _git_model(site, tmp_path / "reg")
    with pytest.raises(ms.parity.EnvironmentMismatch, match="git commit aaaaaaaaaaaa"):
        reg.load("m", strict_environment=True)


# --- 2. two archives of one version are advisory -------------------------------------


def _wheel(digest: str, url: str = "file:///home/train/dist/foo_bar-1.0.0-py3-none-any.whl") -> Any:
    return PackageSource(kind="archive", url=url, archive_hash=f"sha256={digest * 64}")


def test_a_rebuilt_wheel_is_advisory_and_says_install_the_same_build(
    snapshot: EnvironmentSnapshot,
) -> None:
    train = attrs.evolve(
        snapshot, packages={"foo-bar": "1.0.0"}, package_sources={"foo-bar": _wheel("a")}
    )
    prod = attrs.evolve(train, package_sources={"foo-bar": _wheel("b")})
    report = compare(train, prod)
    (finding,) = report.findings
    assert (finding.check, finding.blocks) == ("package_source_unverified", False)
    assert report.passed
    assert "install the same build in both" in finding.message
    assert "file:" not in finding.message.split(";", 1)[1]  # no path to install from


def test_a_wheel_file_against_an_index_does_not_say_install_the_training_path(
    snapshot: EnvironmentSnapshot,
) -> None:
    train = attrs.evolve(
        snapshot, packages={"foo-bar": "1.0.0"}, package_sources={"foo-bar": _wheel("a")}
    )
    (finding,) = compare(train, attrs.evolve(train, package_sources={})).findings
    assert finding.check == "package_source_unverified"
    assert "pip install 'foo-bar @ file:" not in finding.message
    assert "the same build" in finding.message


def test_another_archive_digest_is_no_load_mismatch(tmp_path: Path) -> None:
    info = tmp_path / "foo_bar-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: foo-bar\nVersion: 1.0.0\n\n")
    direct = {"url": "file:///tmp/foo.whl", "archive_info": {"hashes": {"sha256": "b" * 64}}}
    (info / "direct_url.json").write_text(json.dumps(direct))
    sys.path.insert(0, str(tmp_path))
    try:
        os.utime(tmp_path)
        recorded = {"foo-bar": _wheel("a")}
        with warnings.catch_warnings():
            warnings.simplefilter("error", ModelshipWarning)
            assert check_installed({"foo-bar": "1.0.0"}, strict=True, sources=recorded) == ()
    finally:
        sys.path.remove(str(tmp_path))


# --- 3. locale spellings ---------------------------------------------------------------


def _locales(train: EnvironmentSnapshot, prod: EnvironmentSnapshot) -> list[str]:
    return [f.check for f in compare(train, prod).findings if f.check == "locale"]


def test_two_spellings_of_one_codeset_are_one_locale(snapshot: EnvironmentSnapshot) -> None:
    new = attrs.evolve(snapshot, timezone_now="UTC+00:00")
    for a, b in [
        ("C.UTF-8", "C.utf8"),
        ("en_US.UTF-8", "en_US.utf8"),
        ("de_DE.ISO-8859-1", "de_DE.iso88591"),
    ]:
        assert _locales(attrs.evolve(new, locale=a), attrs.evolve(new, locale=b)) == []
    assert _locales(attrs.evolve(new, locale="C.UTF-8"), attrs.evolve(new, locale="C")) == [
        "locale"
    ]


def test_an_older_snapshots_en_us_is_not_told_from_c_utf8(snapshot: EnvironmentSnapshot) -> None:
    # An earlier modelship (no timezone_now) recorded C.UTF-8 as en_US.UTF-8.
    old = attrs.evolve(snapshot, locale="en_US.UTF-8", timezone_now=None)
    new = attrs.evolve(snapshot, locale="C.UTF-8", timezone_now="UTC+00:00")
    assert _locales(old, new) == []
    assert _locales(new, old) == []
    assert _locales(old, attrs.evolve(new, locale="C.utf8")) == []
    # Between two new snapshots they are two locales.
    assert _locales(attrs.evolve(new, locale="en_US.UTF-8"), new) == ["locale"]


# --- 4. the snapshot schema version ----------------------------------------------------


def test_a_new_snapshot_is_schema_version_2_and_version_1_still_reads(
    snapshot: EnvironmentSnapshot,
) -> None:
    document = attrs.evolve(snapshot, timezone_now="UTC+00:00").to_dict()
    assert document["schema_version"] == 2
    assert EnvironmentSnapshot.from_dict(document).timezone_now == "UTC+00:00"
    old = {k: v for k, v in snapshot.to_dict().items() if k != "package_sources"}
    old["schema_version"] = 1
    assert EnvironmentSnapshot.from_dict(old) == snapshot
    with pytest.raises(SnapshotError, match="upgrade modelship"):
        EnvironmentSnapshot.from_dict({**document, "schema_version": 3})


def test_a_reader_of_version_1_says_upgrade_for_a_new_snapshot() -> None:
    from modelship.parity._json import JsonDocument

    document = EnvironmentSnapshot.capture().to_dict()
    with pytest.raises(SnapshotError, match="upgrade modelship"):
        JsonDocument.of(document, "environment snapshot").schema_version(1)


# --- 5. credentials in source URLs -----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://ci:s3cr3tP4ss?w0rd@pkgs.internal/x.whl",
        "https://oauth2:glpat-Ab12#Cd34@gitlab.com/o/r.git",
        "https://gitlab.com/oauth2:glpat-AbCdEf123456GhIjKl@gitlab.com/o/r.git",
        "https://ci:s3cr3t@pkgs.internal:notaport/x.whl",
    ],
)
def test_a_url_with_user_information_it_cannot_strip_is_not_stored(url: str) -> None:
    assert source_url(url) is None
    source = PackageSource(kind="archive", url=url)
    assert source.url is None
    assert "s3cr3t" not in str(source)
    assert "glpat" not in str(source)


def test_plain_source_urls_are_still_stored() -> None:
    assert source_url("ssh://git@github.com/org/r.git") == "ssh://github.com/org/r.git"
    assert source_url("https://h:8443/r.git") == "https://h:8443/r.git"
    assert source_url("file:///home/u/foo") == "file:///home/u/foo"


# --- 6. the zone scan counts folders -------------------------------------------------


def test_the_zone_scan_counts_folders_toward_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.parity import _snapshot

    for i in range(30):
        (tmp_path / f"d{i:02d}").mkdir()
    data = b"TZif-not-really" + os.urandom(16)
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz" / "Zone").write_bytes(data)
    monkeypatch.setattr(_snapshot, "MAX_ZONE_FILES", 10)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert _snapshot._identified(data, digest, str(tmp_path)) is None
    monkeypatch.setattr(_snapshot, "MAX_ZONE_FILES", 100)
    monkeypatch.setattr(_snapshot, "_IDENTIFIED", {})
    assert _snapshot._identified(data, digest, str(tmp_path)) == "zz/Zone"
