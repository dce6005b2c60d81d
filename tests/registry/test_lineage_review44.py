"""Git lineage (stop 44): the commit and the dirty flag, whatever the branch and file names
are (bytes, not UTF-8); a repository without a commit has none."""

from __future__ import annotations

import subprocess
from pathlib import Path

from modelship.registry._lineage import git_lineage

GIT = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    return repo


def test_a_repository_without_a_commit_has_no_lineage(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*GIT, "-C", str(repo), "add", "train.py"], check=True)
    assert git_lineage(str(repo)) == (None, None)


def test_an_untracked_file_is_not_a_change_but_a_staged_one_is(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*GIT, "-C", str(repo), "add", "train.py"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "x"], check=True)
    head = subprocess.run(
        [*GIT, "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (repo / "notes.txt").write_text("untracked\n")
    assert git_lineage(str(repo)) == (head, False)
    (repo / "train.py").write_text("print(2)\n")
    subprocess.run([*GIT, "-C", str(repo), "add", "train.py"], check=True)
    assert git_lineage(str(repo)) == (head, True)


def test_a_folder_outside_any_repository_has_no_lineage(tmp_path: Path) -> None:
    assert git_lineage(str(tmp_path)) == (None, None)


def test_a_branch_whose_name_is_not_utf8_keeps_its_lineage(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*GIT, "-C", str(repo), "add", "train.py"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "x"], check=True)
    subprocess.run([b"git", b"-C", bytes(repo), b"checkout", b"-qb", b"feat-\xe9t\xe9"], check=True)
    commit, dirty = git_lineage(str(repo))
    assert commit is not None
    assert len(commit) == 40
    assert dirty is False


def test_a_status_that_fails_keeps_the_commit_and_leaves_dirty_unknown(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*GIT, "-C", str(repo), "add", "train.py"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "x"], check=True)
    (repo / ".git" / "index").write_bytes(b"damaged")
    commit, dirty = git_lineage(str(repo))
    assert commit is not None
    assert dirty is None
