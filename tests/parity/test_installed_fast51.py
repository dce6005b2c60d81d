"""The installed distributions are listed as importlib lists them, without its slow parts.

``module_distributions`` answers what ``importlib.metadata.packages_distributions()``
answers, read from the text of each ``RECORD`` row (no pathlib path per row); names and
versions are read from the start of each ``METADATA`` file (no email parse of a long
description). Each synthetic site directory here is compared with importlib itself.
"""

from __future__ import annotations

import email
import importlib.metadata
import sys
from pathlib import Path

import pytest

from modelship.parity._installed import (
    MAX_TEXT,
    installed_packages,
    module_distributions,
    module_providers,
    normalize_name,
    unicode_text,
)

ON_311 = pytest.mark.skipif(
    sys.version_info[:2] != (3, 11),
    reason="module_distributions is importlib's own function on other Pythons",
)


def dist_info(
    site: Path,
    folder: str,
    metadata: str | bytes | None = "Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
    record: str | None = None,
    top_level: str | None = None,
) -> Path:
    info = site / folder
    info.mkdir(parents=True)
    name = folder.split("-", 1)[0]
    if isinstance(metadata, bytes):
        (info / "METADATA").write_bytes(metadata)
    elif metadata is not None:
        (info / "METADATA").write_text(metadata.format(name=name), encoding="utf-8", newline="")
    if record is not None:
        (info / "RECORD").write_text(record, encoding="utf-8", newline="")
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level, encoding="utf-8")
    return info


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty site directory, the only entry on ``sys.path``."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site)])
    return site


def as_importlib() -> None:
    """Every listing here says what importlib says of the same ``sys.path``."""
    assert dict(module_distributions()) == importlib.metadata.packages_distributions()
    expected: dict[str, str] = {}
    for dist in importlib.metadata.distributions():  # as installed_packages read them before
        name = (dist.metadata.get_all("Name", []) or [None])[0]
        version = (dist.metadata.get_all("Version", []) or [None])[0]
        named = isinstance(name, str) and name.strip() and len(name) <= MAX_TEXT
        if named and isinstance(version, str) and 0 < len(version) <= MAX_TEXT:
            expected.setdefault(normalize_name(unicode_text(name)), unicode_text(version))
    assert dict(installed_packages()) == expected


RECORD_ROWS = "\n".join(
    [
        "plainpkg/__init__.py,sha256=abc,10",
        "plainpkg/sub/mod.py,,",
        "plainpkg/__pycache__/mod.cpython-311.pyc,,",
        "single.py,,",
        "two.dots.py,,",
        ".py,,",
        "fast.cpython-311-x86_64-linux-gnu.so,,",
        "fastpkg/_ext.abi3.so,,",
        "extra.pth,,",
        "namespace/only/mod.py,,",
        "../../bin/script,,",
        "../../bin/tool.py,,",
        "/usr/lib/absolute.py,,",
        "//two/slashes.py,,",
        "./dotted/./path.py,,",
        "trailing/slash.py/,,",
        "doubled//sep.py,,",
        '"with,comma/mod.py",,',
        "data/file.txt,,",
        "__pycache__/top.cpython-311.pyc,,",
        "noext,,",
        "x.dist-info/RECORD,,",
    ]
)


@ON_311
def test_top_level_names_inferred_from_record_rows_are_importlibs(site: Path) -> None:
    dist_info(site, "inferred-1.0.dist-info", record=RECORD_ROWS + "\n")
    dist_info(site, "crlf-1.0.dist-info", record=RECORD_ROWS.replace("\n", "\r\n"))
    dist_info(site, "declared-1.0.dist-info", record=RECORD_ROWS, top_level="alpha\n beta\tgamma\n")
    dist_info(site, "blank_top-1.0.dist-info", record="blanktop.py,,\n", top_level="\n\n")
    dist_info(site, "no_record-1.0.dist-info")
    dist_info(site, "empty_record-1.0.dist-info", record="")
    as_importlib()
    assert sorted(module_distributions()["plainpkg"]) == ["crlf", "inferred"]
    assert sorted(module_distributions()[".."]) == ["crlf", "inferred"]  # a script, as importlib


@ON_311
def test_eggs_dists_without_metadata_and_shadowed_copies_are_importlibs(
    tmp_path: Path, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    egg = site / "eggy-2.0-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: eggy\nVersion: 2.0\n")
    (egg / "SOURCES.txt").write_text('setup.py\neggy/__init__.py\nquo"te/a.py\nco,mma/b.py\n')
    (site / "flat-3.0-py3.11.egg-info").write_text(
        "Metadata-Version: 1.1\nName: flat\nVersion: 3\n"
    )
    dist_info(site, "nometa-1.0.dist-info", metadata=None, top_level="nometa\n")
    dist_info(site, "noname-1.0.dist-info", metadata="Version: 1\n", record="noname.py,,\n")
    dist_info(site, "shadowed-1.0.dist-info", record="shadowed/__init__.py,,\n")
    later = tmp_path / "later"
    dist_info(later, "shadowed-2.0.dist-info", "Name: shadowed\nVersion: 2.0\n", "shadowed.py,,")
    monkeypatch.setattr(sys, "path", [str(site), str(later)])
    as_importlib()
    assert module_distributions()["shadowed"] == ["shadowed", "shadowed"]
    assert module_distributions()["nometa"] == [None]  # as importlib: no Name field
    assert installed_packages()["shadowed"] == "1.0"


METADATA_FORMS = {
    "lower": "metadata-version: 2.1\nname: lower\nversion: 1.0\n",
    "spaced": "Name:\t  spaced  \nVersion:1.0 \n\nName: body\n",
    "late": "Metadata-Version: 2.1\nSummary: a\n  long summary\nVersion: 4\nName: late\n",
    "folded": "Name: folded\n  more\nVersion: 1.0\n",
    "foldedversion": "Name: foldedversion\nVersion: 1.0\n\tmore\n",
    "twice": "Name: twice\nName: other\nVersion: 1\nVersion: 2\n",
    "crlf": "Name: crlf\r\nVersion: 1.0\r\n",
    "cr": "Name: cr\rVersion: 1.0\r",
    "bom": "\ufeffName: bom\nVersion: 1.0\n",
    "fromline": "From nobody\nName: fromline\nVersion: 1.0\n",
    "indented": " Name: indented\nVersion: 1.0\n",
    "broken": "Metadata-Version: 2.1\nthis is no header\nName: broken\nVersion: 1.0\n",
    "colon": ":odd\nName: colon\nVersion: 1.0\n",
    "inbody": "Metadata-Version: 2.1\n\nName: inbody\nVersion: 1.0\n",
    "noversion": "Name: noversion\n",
    "long": "Name: " + "x" * 300 + "\nVersion: 1.0\n",
    "blankname": "Name:   \nVersion: 1.0\n",
    "unicode": "Name: caf\u00e9\u2028x\nVersion: 1.0\x0b\n",
    "empty": "",
}


@ON_311
@pytest.mark.parametrize("form", sorted(METADATA_FORMS))
def test_a_name_and_version_read_from_the_first_lines_are_the_email_parsers(
    site: Path, form: str
) -> None:
    dist_info(site, f"{form}-1.0.dist-info", METADATA_FORMS[form], record=f"{form}.py,,\n")
    as_importlib()


def test_plain_metadata_and_record_files_are_read_without_email_or_pathlib(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(5):
        dist_info(site, f"plain{number}-1.0.dist-info", record=f"plain{number}/__init__.py,,\n")

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed the slow way")

    monkeypatch.setattr(email, "message_from_string", refused)
    if sys.version_info[:2] == (3, 11):
        monkeypatch.setattr(importlib.metadata, "PackagePath", refused)
        assert module_distributions()["plain3"] == ["plain3"]
    assert installed_packages()["plain3"] == "1.0"
    assert module_providers()["plain3"] == ("plain3",)


@ON_311
@pytest.mark.parametrize(
    "record",
    [
        "good.py,,\n\nafter.py,,\n",  # a blank row: importlib calls make_file() with no name
        "good.py,,\nfour,fields,1,2\nafter.py,,\n",
        "good.py,,\nsized.py,,many\nafter.py,,\n",
    ],
)
def test_a_damaged_record_is_read_around_the_damage_not_raised(site: Path, record: str) -> None:
    dist_info(site, "damaged-1.0.dist-info", record=record)
    with pytest.raises((TypeError, ValueError)):
        importlib.metadata.packages_distributions()
    found = dict(module_distributions())
    assert found == {"good": ["damaged"], "after": ["damaged"]}


@ON_311
def test_unreadable_metadata_leaves_the_distribution_out_not_raised(site: Path) -> None:
    dist_info(site, "latin-1.0.dist-info", b"Name: caf\xe9\nVersion: 1.0\n", record="latin.py,,\n")
    dist_info(site, "fine-1.0.dist-info", record="fine.py,,\n")
    with pytest.raises(UnicodeDecodeError):
        importlib.metadata.packages_distributions()
    assert dict(module_distributions()) == {"fine": ["fine"]}
    assert dict(installed_packages()) == {"fine": "1.0"}


REQUIRES_FORMS = {
    "plain": "Name: plain\nRequires-Dist: a>=1\nrequires-dist: b ; extra == 'x'\n\nbody\n",
    "none": "Name: none\nVersion: 1\n\nRequires-Dist: in-the-body\n",
    "folded": "Name: folded\nVersion: 1\nRequires-Dist: a\n  >=1\n",
    "described": "Name: described\nDescription: long\n        |text\nRequires-Dist: c\n",
    "crlf": "Name: crlf\r\nRequires-Dist: a\r\n",
    "broken": "Name: broken\nnot a header\nRequires-Dist: a\n",
    "empty": "",
}


@pytest.mark.parametrize("form", sorted(REQUIRES_FORMS))
@pytest.mark.parametrize(
    "egg_requires", [None, "d>=2\n\n[extra]\ne\n\n[:python_version < '4']\nf\n"]
)
def test_requirement_lines_are_importlibs_requires(
    site: Path, form: str, egg_requires: str | None
) -> None:
    from modelship.parity._installed import requirement_lines

    info = dist_info(site, f"{form}-1.0.dist-info", REQUIRES_FORMS[form])
    if egg_requires is not None:
        (info / "requires.txt").write_text(egg_requires, encoding="utf-8")
    (dist,) = importlib.metadata.distributions()
    assert requirement_lines(dist) == dist.requires


def test_the_dependency_closure_reads_requirements_without_the_email_parser(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.parity._dependencies import dependency_closure

    dist_info(site, "top-1.0.dist-info", "Name: top\nVersion: 1.0\nRequires-Dist: leaf>=1\n\n")
    dist_info(site, "leaf-2.0.dist-info", "Name: leaf\nVersion: 2.0\n\n" + "long text\n" * 100)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed the whole METADATA file")

    monkeypatch.setattr(email, "message_from_string", refused)
    assert dependency_closure(["top"], installed_packages()) == {"leaf": "2.0"}


PROVIDER_ROWS = [
    "acme/__init__.py,sha256=x,1",
    "acme/models/core.py,,",
    "acme/x__pycache__/odd.py,,",
    "acme/__pycache__/core.cpython-311.pyc,,",
    "acme/fast.cpython-311-x86_64-linux-gnu.so,,",
    "acme/trailing.py/.,,",
    "./acme/./dotted.py,,",
    "acme/data.json,,",
    "acme/not-a-name.py,,",
    "../../bin/tool.py,,",
    "top.py,,",
]


@pytest.mark.parametrize("quoted", [False, True])
def test_modules_read_from_plain_and_quoted_record_rows_are_the_same(
    site: Path, quoted: bool
) -> None:
    rows = [f'"{row.split(",")[0]}",,' if quoted else row for row in PROVIDER_ROWS]
    dist_info(site, "acme-1.0.dist-info", record="\n".join(rows) + "\n")
    assert sorted(module_providers()) == [
        "acme",
        "acme.dotted",
        "acme.fast",
        "acme.models.core",
        "acme.trailing",
        "acme.x__pycache__.odd",
        "top",
    ]
