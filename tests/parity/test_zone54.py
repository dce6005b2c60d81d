"""The time zone a snapshot records is the one in effect (as the C library reads $TZ and
/etc/localtime), and zones that are one file compare as one."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from modelship.parity import EnvironmentSnapshot, compare

ZONEINFO = Path("/usr/share/zoneinfo")
needs_tzdata = pytest.mark.skipif(
    not (ZONEINFO / "Asia/Tokyo").is_file() or not (ZONEINFO / "US/Eastern").exists(),
    reason="no tzdata here",
)


@pytest.fixture
def tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set $TZ for a capture; the C library's zone is restored afterwards."""
    monkeypatch.delenv("TZDIR", raising=False)
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


def _zone(tz: pytest.MonkeyPatch, value: str) -> EnvironmentSnapshot:
    tz.setenv("TZ", value)
    time.tzset()
    return EnvironmentSnapshot.capture()


def _zones(train: EnvironmentSnapshot, prod: EnvironmentSnapshot) -> list[str]:
    """The time zone findings ($TZ differs too, under the env rule)."""
    return [f.check for f in compare(train, prod).findings if f.check == "timezone"]


def test_an_empty_tz_is_utc(tz: pytest.MonkeyPatch) -> None:
    # glibc reads TZ="" as UTC, whatever /etc/localtime says.
    assert _zone(tz, "").timezone == "UTC"


@needs_tzdata
def test_tz_naming_a_link_records_the_zone_it_links_to(
    tz: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    link = tmp_path / "localtime"
    link.symlink_to(ZONEINFO / "Asia/Tokyo")
    snap = _zone(tz, f":{link}")
    assert snap.timezone == "Asia/Tokyo"
    assert snap.timezone_digest == (
        "sha256:" + hashlib.sha256((ZONEINFO / "Asia/Tokyo").read_bytes()).hexdigest()
    )
    assert snap.timezone_now is not None
    assert snap.timezone_now.endswith("UTC+09:00")
    assert _zone(tz, "US/Eastern").timezone == "America/New_York"


@needs_tzdata
def test_a_copied_zone_file_is_identified_by_its_bytes(
    tz: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copy = tmp_path / "localtime"
    copy.write_bytes((ZONEINFO / "Asia/Tokyo").read_bytes())
    snap = _zone(tz, str(copy))
    assert snap.timezone is not None
    assert (ZONEINFO / snap.timezone).read_bytes() == copy.read_bytes()
    # A file no zone holds: said honestly, and told apart by its digest.
    strange = tmp_path / "strange"
    strange.write_bytes(copy.read_bytes() + b"\n# edited\n")
    unknown = _zone(tz, str(strange))
    assert unknown.timezone == "unknown (file)"
    assert unknown.timezone_digest is not None
    assert _zones(unknown, snap) == ["timezone"]
    other = attrs.evolve(unknown, timezone_digest="sha256:" + "0" * 64)
    assert _zones(unknown, other) == ["timezone"]
    assert compare(unknown, unknown).findings == ()


@needs_tzdata
def test_names_of_one_zone_file_are_one_zone(snapshot: EnvironmentSnapshot) -> None:
    for a, b in (
        ("posix/Europe/Paris", "Europe/Paris"),
        ("US/Eastern", "America/New_York"),
        (":/usr/share/zoneinfo/US/Eastern", "America/New_York"),
    ):
        assert (
            compare(attrs.evolve(snapshot, timezone=a), attrs.evolve(snapshot, timezone=b)).findings
            == ()
        ), (a, b)
    # One digest is one zone whatever the names say.
    digest = "sha256:" + "1" * 64
    same = compare(
        attrs.evolve(snapshot, timezone="unknown (file)", timezone_digest=digest),
        attrs.evolve(snapshot, timezone="Asia/Shanghai", timezone_digest=digest),
    )
    assert same.findings == ()
    # A stored name is never a path resolved outside the zoneinfo folder.
    forged = attrs.evolve(snapshot, timezone="../../../../etc/localtime")
    assert _zones(forged, attrs.evolve(snapshot, timezone="Etc/UTC")) == ["timezone"]


def test_a_zone_difference_says_the_effective_zone_and_what_to_do(
    snapshot: EnvironmentSnapshot,
) -> None:
    train = attrs.evolve(snapshot, timezone="Etc/UTC", timezone_now="UTC+00:00")
    prod = attrs.evolve(snapshot, timezone="Asia/Shanghai", timezone_now="CST UTC+08:00")
    (finding,) = compare(train, prod).findings
    assert "CST UTC+08:00" in finding.message
    assert "set TZ=Etc/UTC" in finding.message


def test_an_older_snapshot_without_the_new_fields_reads(snapshot: EnvironmentSnapshot) -> None:
    document = json.loads(snapshot.to_json())
    assert "timezone_digest" not in document
    assert "timezone_now" not in document
    read = EnvironmentSnapshot.from_json(json.dumps(document))
    assert (read.timezone_digest, read.timezone_now) == (None, None)
    document["timezone_digest"] = "md5:abc"
    with pytest.raises(ValueError, match="timezone_digest"):
        EnvironmentSnapshot.from_json(json.dumps(document))
