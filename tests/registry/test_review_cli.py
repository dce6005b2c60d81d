"""``modelship registry`` options that named two things at once.

``--expected VALUE`` is taken literally (a version or tag value may be ``none``), and
``--expected-unset`` asks for an unset alias or tag. ``download -o -`` is refused: the
file appears only once verified, which stdout cannot do, and a file named ``-`` is
written only when asked as ``./-``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import modelship as ms
from modelship.cli import main


def _url(tmp_path: Path) -> str:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    reg.register(model_name="m", model=b"1", serializer="bytes")
    reg.register(model_name="m", model=b"2", serializer="bytes", version="none")
    return url


def test_alias_expected_none_names_the_version_none(tmp_path: Path) -> None:
    url = _url(tmp_path)
    assert main(["registry", "alias", url, "m", "prod", "none"]) == 0
    assert main(["registry", "alias", url, "m", "prod", "1", "--expected", "none"]) == 0
    assert ms.open_registry(url).aliases("m") == {"prod": "1"}


def test_alias_expected_unset_moves_only_an_unset_alias(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path)
    assert main(["registry", "alias", url, "m", "prod", "none", "--expected-unset"]) == 0
    assert main(["registry", "alias", url, "m", "prod", "1", "--expected-unset"]) == 2
    assert "Conflict" in capsys.readouterr().err
    assert ms.open_registry(url).aliases("m") == {"prod": "none"}


def test_tag_expected_none_names_the_value_none(tmp_path: Path) -> None:
    url = _url(tmp_path)
    assert main(["registry", "tag", "set", url, "m", "1", "stage", "none"]) == 0
    assert (
        main(["registry", "tag", "set", url, "m", "1", "stage", "prod", "--expected", "none"]) == 0
    )
    assert main(["registry", "tag", "remove", url, "m", "1", "stage", "--expected", "prod"]) == 0
    assert ms.open_registry(url).tags("m", "1") == {}


def test_tag_expected_unset_sets_only_an_unset_tag(tmp_path: Path) -> None:
    url = _url(tmp_path)
    assert main(["registry", "tag", "set", url, "m", "1", "stage", "a", "--expected-unset"]) == 0
    assert main(["registry", "tag", "set", url, "m", "1", "stage", "b", "--expected-unset"]) == 2
    assert ms.open_registry(url).tags("m", "1") == {"stage": "a"}


@pytest.mark.parametrize(
    "command",
    [
        ["alias", "{url}", "m", "prod", "1"],
        ["tag", "set", "{url}", "m", "1", "stage", "x"],
        ["tag", "remove", "{url}", "m", "1", "stage"],
    ],
    ids=["alias", "tag-set", "tag-remove"],
)
def test_expected_and_expected_unset_together_exit_2(tmp_path: Path, command: list[str]) -> None:
    url = _url(tmp_path)
    args = [part.format(url=url) for part in command]
    with pytest.raises(SystemExit) as exited:
        main(["registry", *args, "--expected", "x", "--expected-unset"])
    assert exited.value.code == 2


def test_download_to_dash_is_refused_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["registry", "download", url, "m", "1", "-o", "-"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "./-" in err
    assert list(work.iterdir()) == []
    assert main(["registry", "download", url, "m", "1", "-o", "./-"]) == 0
    assert (work / "-").read_bytes() == b"1"
