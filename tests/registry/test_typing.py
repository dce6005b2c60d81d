"""The public API type-checks as users write it, and a typo in it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).parent


def _mypy(path: Path, cache: Path) -> tuple[str, int]:
    out, err, status = api.run(["--strict", "--cache-dir", str(cache), str(path)])
    return out + err, status


def test_the_registry_api_as_users_write_it_type_checks(tmp_path: Path) -> None:
    report, status = _mypy(HERE / "typing_registry.py", tmp_path / "cache")
    assert status == 0, report


def test_a_misspelt_registry_method_is_a_type_error(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(
        "import modelship as ms\n"
        'reg = ms.open_registry("memory://typo")\n'
        'reg.regster(model_name="m", model=b"x")\n'
    )
    report, status = _mypy(user, tmp_path / "cache")
    assert status == 1
    assert '"Registry" has no attribute "regster"' in report


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('reg.versions("m", limit=5, order="latest")', "No overload variant"),
        ('reg.versions("m", where={"metrics.auc": ("=>", 1)})', "has incompatible type"),
        ('page: list[ms.ModelVersion] = reg.versions("m", limit=5)', "Incompatible types"),
    ],
    ids=["order", "operator", "page-is-not-a-list"],
)
def test_a_wrong_listing_argument_is_a_type_error(tmp_path: Path, line: str, error: str) -> None:
    user = tmp_path / "user.py"
    user.write_text(
        'import modelship as ms\nreg = ms.open_registry("memory://typo")\n' + line + "\n"
    )
    report, status = _mypy(user, tmp_path / "cache")
    assert status == 1
    assert error in report
