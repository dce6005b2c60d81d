"""The public API type-checks as users write it, and a typo in it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the module: a cold run reads numpy's and the library's stubs
    (about 25 s), a warm one only the user's file."""
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(path: Path, cache: Path) -> tuple[str, int]:
    out, err, status = api.run(["--strict", "--cache-dir", str(cache), str(path)])
    return out + err, status


def test_the_registry_api_as_users_write_it_type_checks(cache: Path) -> None:
    report, status = _mypy(HERE / "typing_registry.py", cache)
    assert status == 0, report


def test_a_misspelt_registry_method_is_a_type_error(tmp_path: Path, cache: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text(
        "import modelship as ms\n"
        'reg = ms.open_registry("memory://typo")\n'
        'reg.regster(model_name="m", model=b"x")\n'
    )
    report, status = _mypy(user, cache)
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
def test_a_wrong_listing_argument_is_a_type_error(
    tmp_path: Path, cache: Path, line: str, error: str
) -> None:
    user = tmp_path / "user.py"
    user.write_text(
        'import modelship as ms\nreg = ms.open_registry("memory://typo")\n' + line + "\n"
    )
    report, status = _mypy(user, cache)
    assert status == 1
    assert error in report
