"""copy_registry when the destination's alias or tag logs diverged (an alias moved there),
and a source blob that does not match its digest."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

import modelship as ms
from modelship.registry._layout import blob_key
from modelship.testing import HookStore


def _reg(path: Path) -> ms.Registry:
    return ms.open_registry(str(path))


def _put(reg: ms.Registry, name: str, data: bytes) -> str:
    mv = reg.register(model_name=name, model=data, serializer="bytes", capture_environment=False)
    return mv.version


def _marks(reg: ms.Registry) -> list[str]:
    return [n for n in reg.store.list(".staging") if n.startswith("copy-")]


def _migrated(tmp_path: Path) -> tuple[ms.Registry, ms.Registry]:
    """A source with models ``aaa``, ``fraud`` and ``zeta`` copied into a destination."""
    src, dst = _reg(tmp_path / "src"), _reg(tmp_path / "dst")
    for name in ("aaa", "fraud", "zeta"):
        for i in (1, 2, 3):
            _put(src, name, f"{name}{i}".encode())
    src.set_alias("fraud", "production", "2")
    src.set_alias("fraud", "staging", "3")
    src.set_tag("aaa", "1", "approved", "yes")
    ms.copy_registry(src, dst)
    return src, dst


def test_alias_moved_in_both_refuses_the_model_before_writing_and_copies_the_others(
    tmp_path: Path,
) -> None:
    src, dst = _migrated(tmp_path)
    dst.set_alias("fraud", "production", "1")  # a rollback done in the new registry
    new = _put(src, "fraud", b"fraud4")  # the source goes on meanwhile
    src.set_alias("fraud", "production", new)
    src.set_tag("fraud", new, "approved", "yes")
    _put(src, "zeta", b"zeta4")  # a model after fraud in the copy order
    src.set_tag("aaa", "1", "approved", "no")  # and one before it
    src.set_tag("aaa", "2", "approved", "yes")
    dst.set_tag("aaa", "1", "approved", "later")  # its tag log diverged too
    for _ in range(2):  # a rerun does the same: nothing half-done accumulates
        with pytest.raises(ms.Conflict) as caught:
            ms.copy_registry(src, dst)
        text = str(caught.value)
        assert "2 of the 3 models were not copied whole" in text
        assert (
            "alias 'production' names version '4' in the source and '1' in the destination "
            "(alias log entry 3)"
        ) in text
        assert (
            "tag 'approved' is 'no' in the source and 'later' in the destination "
            "(entry 2 of the tag log of version 1)"
        ) in text
        assert "nothing of it was committed" in text
        assert "The other models were copied (zeta)" in text
        assert "--model NAME" in text
        assert "models=[...] without 'aaa', 'fraud'" in text
        # nothing of fraud written: no version, no blob, no alias or tag entry, no mark
        assert [mv.version for mv in dst.versions("fraud")] == ["1", "2", "3"]
        assert not dst.store.exists(blob_key(src.get("fraud", new).artifact.digest))
        assert dst.aliases("fraud") == {"production": "1", "staging": "3"}
        assert dst.tags("aaa", "2") == {}  # aaa's other tag log: nothing of aaa either
        assert _marks(dst) == []
        # the model after it in the order was copied whole
        assert [mv.version for mv in dst.versions("zeta")] == ["1", "2", "3", "4"]
    # copying only the other models, as the message says, succeeds
    assert ms.copy_registry(src, dst, models=["zeta"]).models == ("zeta",)


def test_one_model_whose_tag_log_diverged_names_the_tag_and_what_to_do(tmp_path: Path) -> None:
    src, dst = _reg(tmp_path / "src"), _reg(tmp_path / "dst")
    _put(src, "m", b"1")
    ms.copy_registry(src, dst)
    dst.set_tag("m", "1", "owner", "ana")
    src.set_tag("m", "1", "owner", "bo")
    _put(src, "m", b"2")
    with pytest.raises(ms.Conflict) as caught:
        ms.copy_registry(src, dst)
    text = str(caught.value)
    assert text.startswith("m was not copied whole: nothing of it was committed in ")
    assert "tag 'owner' is 'bo' in the source and 'ana' in the destination" in text
    assert "copy 'm' into an empty registry" in text
    assert [mv.version for mv in dst.versions("m")] == ["1"]


def test_an_alias_moved_in_the_destination_after_the_check_stops_only_that_log(
    tmp_path: Path,
) -> None:
    """The final guard: a writer of the destination creates the alias log entry the copy
    is about to create, after the copy compared the logs (the hook runs it exactly then)."""
    src, dst = _migrated(tmp_path)
    new = _put(src, "fraud", b"fraud4")
    src.set_alias("fraud", "production", new)  # alias log entry 3
    src.set_alias("fraud", "staging", new)  # entry 4: never put on top of another entry 3
    src.set_tag("fraud", new, "approved", "yes")
    _put(src, "zeta", b"zeta4")
    entry = "models/fraud/aliases/000000000003.json"
    moved: list[str] = []

    def writer_there(op: str, key: str) -> None:
        if op == "create" and key == entry and not moved:
            moved.append(key)
            dst.set_alias("fraud", "production", "1")  # through its own, unhooked handle

    with pytest.raises(ms.Conflict) as caught:
        ms.copy_registry(src, ms.Registry(HookStore(dst.store, before=writer_there)))
    text = str(caught.value)
    assert moved == [entry]
    assert "its versions were committed in" in text
    assert "alias 'production' names version '4' in the source and '1' in the destination" in text
    assert "The other models were copied (aaa, zeta)" in text
    assert [mv.version for mv in dst.versions("fraud")][-1] == new
    assert dst.aliases("fraud") == {"production": "1", "staging": "3"}  # no source entry 4
    assert len(dst.history("fraud")) == 3
    assert dst.tags("fraud", new) == {"approved": "yes"}  # its tag logs were copied
    assert [mv.version for mv in dst.versions("zeta")][-1] == "4"
    assert _marks(dst) == []


@pytest.mark.parametrize("role", ["artifact", "attachment 'notes'"])
def test_a_damaged_source_blob_names_model_version_source_and_what_to_do(
    tmp_path: Path, role: str
) -> None:
    src, dst = _reg(tmp_path / "src"), _reg(tmp_path / "dst")
    _put(src, "m", b"first")
    mv = src.register(
        model_name="m",
        model=b"weights",
        serializer="bytes",
        attachments={"notes": "baseline"},
        capture_environment=False,
    )
    ref = mv.artifact if role == "artifact" else mv.attachments["notes"]
    path = tmp_path / "src" / blob_key(ref.digest)
    data = path.read_bytes()
    os.chmod(path, 0o644)
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # the same size, one bit changed
    with pytest.raises(ms.IntegrityError) as caught:
        ms.copy_registry(src, dst)
    text = str(caught.value)
    assert f"blob {ref.digest} (the {role} of m version 2) in the source {src.url}" in text
    assert f"modelship registry verify {src.url} m --all" in text
    assert "restore the blob from a backup" in text
    assert "--model NAME" in text
    assert "no version of m was committed" in text


def test_the_damaged_blob_advice_hides_credentials() -> None:
    from modelship.registry._copy import _damaged_source_advice

    store = SimpleNamespace(url="s3://AKIAEXAMPLE:s3cr3t@bucket/registry")
    text = _damaged_source_advice(store, "m")  # type: ignore[arg-type]
    assert "s3cr3t" not in text
    assert "registry verify" in text


# --- mend 55-3: models refused as diverged, beside another error ----------------------


def test_an_error_after_refused_models_still_names_each_refused_model(tmp_path: Path) -> None:
    src, dst = _reg(tmp_path / "src"), _reg(tmp_path / "dst")
    for name in ("a", "b", "c"):
        _put(src, name, f"{name}1".encode())
        _put(src, name, f"{name}2".encode())
        src.set_alias(name, "prod", "1")
    ms.copy_registry(src, dst)
    for name in ("a", "b"):
        dst.set_alias(name, "prod", "2")  # a rollback done in the destination
        src.set_alias(name, "prod", "2")  # and a move in the source: the logs diverged
    mv = src.register(model_name="c", model=b"c3", serializer="bytes", capture_environment=False)
    path = tmp_path / "src" / blob_key(mv.artifact.digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"X" * len(b"c3"))  # c, copied after a and b, has a damaged blob
    with pytest.raises(ms.IntegrityError) as caught:
        ms.copy_registry(src, dst)
    assert "(models copied before it were)" not in str(caught.value)
    assert "except any refused" in str(caught.value)
    notes = getattr(caught.value, "__notes__", [])
    assert [note.split(" ", 1)[0] for note in notes] == ["a", "b"]
    for name, note in zip(("a", "b"), notes, strict=True):
        assert "was not copied whole" in note
        assert "(refused before this error)" in note
        assert "alias log entry 2" in note
        assert f"copy {name!r} into an empty registry" in note
    assert [v.version for v in dst.versions("a")] == ["1", "2"]


def test_a_model_refused_again_is_not_said_to_have_nothing_committed_there(
    tmp_path: Path,
) -> None:
    src, dst = _reg(tmp_path / "src"), _reg(tmp_path / "dst")
    _put(src, "t", b"t1")
    src.set_tag("t", "1", "ok", "yes")
    ms.copy_registry(src, dst)  # version 1 is committed in dst by this first copy
    dst.set_tag("t", "1", "ok", "no")
    src.set_tag("t", "1", "ok", "maybe")
    with pytest.raises(ms.Conflict) as caught:
        ms.copy_registry(src, dst)
    assert f"nothing of it was committed in {dst.url} by this copy;" in str(caught.value)
