"""Where a distribution was installed from (PEP 610 ``direct_url.json``): recorded in a
snapshot, credentials stripped, compared by ``compare`` and at load."""

from __future__ import annotations

import json
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import modelship as ms
from modelship.parity import (
    EnvironmentMismatch,
    EnvironmentSnapshot,
    ParityRules,
    Requirements,
    check_before_load,
    check_installed,
    compare,
)

TOKEN = "ghp_S3cr3tT0k3nThatMustNeverBeStored"
A, B = "a" * 40, "b" * 40


def _vcs(commit: str, url: str = "https://github.com/org/foo-bar.git") -> dict[str, object]:
    return {"url": url, "vcs_info": {"vcs": "git", "commit_id": commit}}


def _install(site: Path, direct_url: object, name: str = "Foo_Bar", version: str = "1.0.0") -> None:
    """A distribution in ``site`` as pip leaves one installed from a URL."""
    info = site / f"{name.lower()}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n", encoding="utf-8"
    )
    if isinstance(direct_url, bytes):
        (info / "direct_url.json").write_bytes(direct_url)
    elif direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")


def _git(commit: str, url: str) -> object:
    from modelship.parity._installed import PackageSource

    return PackageSource(kind="vcs", url=url, vcs="git", commit_id=commit)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))


def _captured(site: Path, direct_url: object) -> EnvironmentSnapshot:
    _install(site, direct_url)
    os.utime(site)  # the listing is cached until a sys.path folder's time changes
    return EnvironmentSnapshot.capture()


def test_two_commits_of_one_version_block(
    site: Path, snapshot: EnvironmentSnapshot, tmp_path_factory: pytest.TempPathFactory
) -> None:
    train = _captured(site, _vcs(A))
    other = tmp_path_factory.mktemp("other")
    sys.path.remove(str(site))
    sys.path.insert(0, str(other))
    try:
        prod = _captured(other, _vcs(B))
    finally:
        sys.path.remove(str(other))
        sys.path.insert(0, str(site))
    report = compare(train, prod, requirements={"foo-bar": "1.0.0"})
    assert not report.passed
    (finding,) = report.findings
    assert (finding.check, finding.subject, finding.blocks) == ("package_source", "foo-bar", True)
    assert "git commit aaaaaaaaaaaa" in finding.message
    assert "git commit bbbbbbbbbbbb" in finding.message
    assert f"pip install 'foo-bar @ git+https://github.com/org/foo-bar.git@{A}'" in finding.message
    # The rule is switchable as every other.
    rules = ParityRules(package_source="off")
    assert compare(train, prod, requirements={"foo-bar": "1.0.0"}, rules=rules).findings == ()


def test_one_commit_at_two_urls_is_one_source(snapshot: EnvironmentSnapshot) -> None:
    from modelship.parity._installed import PackageSource

    train = attrs.evolve(
        snapshot,
        packages={"foo-bar": "1.0.0"},
        package_sources={
            "foo-bar": PackageSource(kind="vcs", url="https://a/r.git", vcs="git", commit_id=A)
        },
    )
    prod = attrs.evolve(
        train,
        package_sources={
            "foo-bar": PackageSource(kind="vcs", url="ssh://b/r.git", vcs="git", commit_id=A)
        },
    )
    assert compare(train, prod).findings == ()


def test_editable_or_directory_is_advisory_and_says_build_a_wheel(
    snapshot: EnvironmentSnapshot,
) -> None:
    from modelship.parity._installed import PackageSource

    git = PackageSource(kind="vcs", url="https://h/r.git", vcs="git", commit_id=A)
    editable = PackageSource(kind="directory", url="file:///src/foo", editable=True)
    train = attrs.evolve(snapshot, packages={"foo-bar": "1.0.0"}, package_sources={"foo-bar": git})
    prod = attrs.evolve(train, package_sources={"foo-bar": editable})
    report = compare(train, prod)
    (finding,) = report.findings
    assert (finding.check, finding.blocks) == ("package_source_unverified", False)
    assert "an editable install of /src/foo" in finding.message
    assert "wheel" in finding.message
    assert report.passed
    # A git commit in training, a package index in production: advisory, says what to do.
    (finding,) = compare(train, attrs.evolve(train, package_sources={})).findings
    assert finding.check == "package_source_unverified"
    assert "a package index in production" in finding.message
    assert "pip install 'foo-bar @ git+https://h/r.git@" in finding.message


def test_an_older_snapshot_without_sources_raises_no_alarm(snapshot: EnvironmentSnapshot) -> None:
    from modelship.parity._installed import PackageSource

    old = attrs.evolve(snapshot, packages={"foo-bar": "1.0.0"})
    document = json.loads(old.to_json())
    assert "package_sources" not in document  # unknown: written as an older snapshot
    assert EnvironmentSnapshot.from_json(json.dumps(document)).package_sources is None
    new = attrs.evolve(
        old,
        package_sources={
            "foo-bar": PackageSource(kind="vcs", url="https://h/r", vcs="git", commit_id=B)
        },
    )
    assert compare(old, new).findings == ()
    assert compare(new, old).findings == ()


def test_a_credential_in_the_url_is_never_stored(site: Path) -> None:
    snap = _captured(
        site,
        _vcs(A, url=f"https://ci-user:{TOKEN}@github.com/org/foo-bar.git?token={TOKEN}#egg=x"),
    )
    text = snap.to_json()
    assert TOKEN not in text
    assert snap.package_sources is not None
    assert snap.package_sources["foo-bar"].url == "https://github.com/org/foo-bar.git"
    # Nor read back from a document written elsewhere holding one.
    document = json.loads(text)
    document["package_sources"]["foo-bar"]["url"] = f"https://{TOKEN}@github.com/org/r.git"
    read = EnvironmentSnapshot.from_json(json.dumps(document))
    assert TOKEN not in read.to_json()


@pytest.mark.parametrize(
    "content",
    [
        b"{" * 200_000,  # nested past the parser
        b" " * (64 * 1024) + b"{}",  # past the size bound
        b"\xff\xfe not text",
        b"[1, 2]",
        json.dumps({"url": "https://h", "vcs_info": {}, "dir_info": {}}).encode(),
    ],
    ids=["deep", "huge", "not-utf8", "list", "two-kinds"],
)
def test_a_hostile_direct_url_file_is_an_unknown_source(site: Path, content: bytes) -> None:
    snap = _captured(site, content)
    assert snap.package_sources is not None
    assert snap.package_sources["foo-bar"].kind == "unknown"
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_direct_url_does_not_hang_the_capture(site: Path) -> None:
    _install(site, None)
    os.mkfifo(next(site.glob("*.dist-info")) / "direct_url.json")
    os.utime(site)
    result: list[EnvironmentSnapshot] = []
    worker = threading.Thread(
        target=lambda: result.append(EnvironmentSnapshot.capture()), daemon=True
    )
    worker.start()
    worker.join(60)
    assert result, "capture blocked on a FIFO"
    assert result[0].package_sources is not None
    assert result[0].package_sources["foo-bar"].kind == "unknown"


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "ftp"), ("commit_id", "a b"), ("archive_hash", "nohash"), ("editable", "yes")],
)
def test_a_forged_source_record_is_refused(
    snapshot: EnvironmentSnapshot, field: str, value: str
) -> None:
    from modelship.parity._installed import PackageSource

    snap = attrs.evolve(
        snapshot,
        package_sources={"foo-bar": PackageSource(kind="vcs", vcs="git", commit_id=A)},
    )
    document = json.loads(snap.to_json())
    document["package_sources"]["foo-bar"][field] = value
    with pytest.raises(ms.parity.SnapshotError, match=field):
        EnvironmentSnapshot.from_json(json.dumps(document))


def test_check_installed_finds_another_commit_at_the_recorded_version(site: Path) -> None:
    from modelship.parity._installed import PackageSource

    _captured(site, _vcs(B))
    recorded = {"foo-bar": PackageSource(kind="vcs", url="https://h/r.git", vcs="git", commit_id=A)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (mismatch,) = check_installed({"foo-bar": "1.0.0"}, sources=recorded)
    assert mismatch.change == "source"
    assert "git commit aaaaaaaaaaaa" in str(caught[0].message)
    with pytest.raises(EnvironmentMismatch, match="the code may differ"):
        check_installed({"foo-bar": "1.0.0"}, strict=True, sources=recorded)
    # The same commit: nothing.
    same = {"foo-bar": PackageSource(kind="vcs", url="https://h/r.git", vcs="git", commit_id=B)}
    assert check_installed({"foo-bar": "1.0.0"}, strict=True, sources=same) == ()


def test_check_before_load_uses_the_stored_snapshot_sources(site: Path) -> None:
    from modelship.parity._installed import PackageSource

    _captured(site, _vcs(B))
    trained = attrs.evolve(
        EnvironmentSnapshot.capture(),
        package_sources={
            "foo-bar": PackageSource(kind="vcs", url="https://h/r.git", vcs="git", commit_id=A)
        },
    )
    reg = ms.open_registry("memory://sources54-load")
    reg.register(
        model_name="m",
        model=b"x",
        serializer="bytes",
        attachments={
            "environment": trained.to_json(),
            "requirements": Requirements(packages={"foo-bar": "1.0.0"}).to_json(),
        },
    )
    with pytest.raises(EnvironmentMismatch, match="git commit aaaaaaaaaaaa"):
        check_before_load(reg.get("m", "latest"), strict=True)
    # Registry.load reads the snapshot too: the same version from another commit is
    # refused before a byte is loaded.
    with pytest.raises(EnvironmentMismatch, match="git commit aaaaaaaaaaaa"):
        reg.load("m", "latest", strict_environment=True)
