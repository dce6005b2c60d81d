"""Tags that change after registration: a log per version, apart from the immutable record.

``set_tag``/``remove_tag`` append to ``models/<name>/tags/<version>/``; the manifest (its
bytes, digest and signature) never changes. Concurrent writers are made to interleave
exactly through :class:`~modelship.testing.HookStore`: the hook of one runs the other just
before its exclusive create.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

import modelship as ms
from modelship import InvalidTag
from modelship.cli import main
from modelship.registry import TagChange
from modelship.testing import HookStore, MemoryStore

KEY = b"k" * 32
LOG = "models/m/tags/1"


def _registry(store: ms.registry.Store | None = None, **options: object) -> ms.Registry:
    reg = ms.Registry(store or MemoryStore(), **options)  # type: ignore[arg-type]
    reg.register(model_name="m", model=b"x", serializer="bytes", tags={"team": "risk"})
    return reg


def _once_before_create(prefix: str, action: Callable[[], None]) -> HookStore:
    """A store that runs ``action`` the first time a key under ``prefix`` is created."""
    done: list[bool] = []

    def hook(key: str) -> None:
        if key.startswith(prefix) and not done:
            done.append(True)
            action()

    return HookStore(MemoryStore(), before_create=hook)


def test_set_tag_changes_the_current_tags_and_starts_from_the_registrations() -> None:
    reg = _registry()
    reg.set_tag("m", "1", "approved_by", "ana")
    assert reg.tags("m", "1") == {"team": "risk", "approved_by": "ana"}


def test_set_tag_never_changes_the_version_record() -> None:
    reg = _registry()
    before = reg.store.read("models/m/versions/1.json")
    reg.set_tag("m", "1", "team", "fraud")
    reg.remove_tag("m", "1", "team")
    assert reg.store.read("models/m/versions/1.json") == before
    assert reg.get("m", "1").tags == {"team": "risk"}


def test_remove_tag_can_remove_a_registration_tag() -> None:
    reg = _registry()
    reg.remove_tag("m", "1", "team")
    assert reg.tags("m", "1") == {}


def test_tag_history_records_who_changed_what_and_when() -> None:
    reg = _registry(user="ana@laptop")
    start = datetime.now(timezone.utc)
    reg.set_tag("m", "1", "stage", "staging")
    reg.set_tag("m", "1", "stage", "prod")
    reg.remove_tag("m", "1", "stage")
    history = reg.tag_history("m", "1")
    assert [(c.revision, c.key, c.from_value, c.to_value) for c in history] == [
        (1, "stage", None, "staging"),
        (2, "stage", "staging", "prod"),
        (3, "stage", "prod", None),
    ]
    assert {c.by for c in history} == {"ana@laptop"}
    assert all(start <= c.at <= datetime.now(timezone.utc) for c in history)


def test_setting_the_value_a_tag_has_records_nothing() -> None:
    reg = _registry()
    reg.set_tag("m", "1", "team", "risk")
    reg.remove_tag("m", "1", "absent")
    assert reg.tag_history("m", "1") == []


def test_tags_follow_a_reference_to_the_version_it_names() -> None:
    reg = _registry()
    reg.register(model_name="m", model=b"y", serializer="bytes")
    reg.set_alias("m", "production", "1")
    reg.set_tag("m", "@production", "approved_by", "ana")
    assert reg.tags("m", "1")["approved_by"] == "ana"
    assert "approved_by" not in reg.tags("m", "latest")


def test_a_tag_on_an_archived_version_is_kept_but_a_purged_version_is_refused() -> None:
    reg = _registry()
    reg.delete("m", "1")
    reg.set_tag("m", "1", "reason", "leaks labels")
    assert reg.tags("m", "1")["reason"] == "leaks labels"
    reg.purge("m", "1")
    with pytest.raises(ms.ArchivedVersion):
        reg.set_tag("m", "1", "more", "x")


def test_tagging_a_version_that_does_not_exist_raises_version_not_found() -> None:
    reg = _registry()
    with pytest.raises(ms.VersionNotFound):
        reg.set_tag("m", "9", "a", "b")


@pytest.mark.parametrize("key", ["", "approved by", "a\nb", "x" * 129, 3, "-lead"])
def test_a_bad_tag_key_raises_invalid_tag_naming_it(key: object) -> None:
    reg = _registry()
    with pytest.raises(InvalidTag, match="tag key"):
        reg.set_tag("m", "1", key, "v")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [3, None, b"x", "v" * 4097])
def test_a_bad_tag_value_raises_invalid_tag_and_writes_nothing(value: object) -> None:
    reg = _registry()
    with pytest.raises(InvalidTag, match="string value"):
        reg.set_tag("m", "1", "ticket", value)  # type: ignore[arg-type]
    assert reg.store.list(LOG) == []


def test_set_tag_with_expected_refuses_a_tag_that_moved_on() -> None:
    reg = _registry()
    reg.set_tag("m", "1", "stage", "prod")
    with pytest.raises(ms.Conflict, match="not the expected 'staging'"):
        reg.set_tag("m", "1", "stage", "retired", expected="staging")
    reg.set_tag("m", "1", "ticket", "T-1", expected=None)
    assert reg.tags("m", "1")["stage"] == "prod"


def test_two_writers_changing_different_tags_at_once_both_keep_their_change() -> None:
    # Writer B's change lands between writer A's read and its create of entry 1.
    other: list[ms.Registry] = []
    store = _once_before_create(LOG, lambda: other[0].set_tag("m", "1", "ticket", "T-7"))
    reg = _registry(store)
    other.append(ms.Registry(store.inner))
    reg.set_tag("m", "1", "approved_by", "ana")
    assert reg.tags("m", "1") == {"team": "risk", "ticket": "T-7", "approved_by": "ana"}
    assert [c.key for c in reg.tag_history("m", "1")] == ["ticket", "approved_by"]


def test_a_writer_racing_another_on_the_same_tag_raises_conflict_instead_of_overwriting() -> None:
    other: list[ms.Registry] = []
    store = _once_before_create(LOG, lambda: other[0].set_tag("m", "1", "stage", "prod"))
    reg = _registry(store)
    other.append(ms.Registry(store.inner))
    with pytest.raises(ms.Conflict, match="by another writer"):
        reg.set_tag("m", "1", "stage", "staging")
    assert reg.tags("m", "1")["stage"] == "prod"


def test_a_damaged_tag_log_entry_raises_integrity_error() -> None:
    reg = _registry()
    reg.set_tag("m", "1", "stage", "prod")
    reg.store.replace(f"{LOG}/000000000001.json", b'{"revision": 1, "tags": [], "change": {}}')
    with pytest.raises(ms.IntegrityError, match="damaged"):
        reg.tags("m", "1")


def _set_in_first_entry(reg: ms.Registry, key: str, value: str) -> None:
    """Tamper with the first tag log entry of m 1: its state holds ``key: value``."""
    entry = f"{LOG}/000000000001.json"
    doc = json.loads(reg.store.read(entry))
    doc["tags"][key] = value
    reg.store.replace(entry, json.dumps(doc).encode())


def test_an_entry_whose_state_does_not_hold_its_change_is_refused() -> None:
    reg = _registry()
    reg.set_tag("m", "1", "stage", "prod")
    _set_in_first_entry(reg, "stage", "dev")
    with pytest.raises(ms.IntegrityError, match="does not hold the change"):
        reg.tag_history("m", "1")


def test_an_entry_moved_to_another_revision_is_refused() -> None:
    reg = _registry()
    reg.set_tag("m", "1", "stage", "prod")
    reg.store.create(f"{LOG}/000000000002.json", reg.store.read(f"{LOG}/000000000001.json"))
    with pytest.raises(ms.IntegrityError, match="revision 1 is not the one"):
        reg.tags("m", "1")


def _registered_before_tags_were_checked(monkeypatch: pytest.MonkeyPatch) -> ms.Registry:
    """A version whose registration holds a tag key today's rules refuse, as versions
    registered before tags were checked at registration do."""
    with monkeypatch.context() as patch:
        patch.setattr("modelship.registry._registry.check_tag_key", lambda key: key)
        reg = ms.Registry(MemoryStore())
        reg.register(model_name="m", model=b"x", serializer="bytes", tags={"a b": "x"})
    return reg


def test_a_tag_key_carried_over_from_an_older_registration_stays_readable_after_set_tag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = _registered_before_tags_were_checked(monkeypatch)
    reg.set_tag("m", "1", "approved_by", "ana")
    reg.set_tag("m", "1", "stage", "prod")
    assert reg.tags("m", "1") == {"a b": "x", "approved_by": "ana", "stage": "prod"}
    assert [c.key for c in reg.tag_history("m", "1")] == ["approved_by", "stage"]
    assert [mv.version for mv in reg.versions("m", where={"tags.approved_by": "ana"})] == ["1"]


def test_a_refused_tag_key_not_carried_over_unchanged_is_damage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = _registered_before_tags_were_checked(monkeypatch)
    reg.set_tag("m", "1", "stage", "prod")
    _set_in_first_entry(reg, "a b", "changed")
    with pytest.raises(ms.IntegrityError, match="tag key 'a b' is not allowed"):
        reg.tags("m", "1")


def test_a_tag_key_carried_over_from_an_older_registration_can_be_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # remove_tag refused the key as invalid, so such a tag could never go.
    reg = _registered_before_tags_were_checked(monkeypatch)
    reg.set_tag("m", "1", "stage", "prod")
    reg.remove_tag("m", "1", "a b", expected="x")
    assert reg.tags("m", "1") == {"stage": "prod"}
    assert [(c.key, c.from_value, c.to_value) for c in reg.tag_history("m", "1")] == [
        ("stage", None, "prod"),
        ("a b", "x", None),
    ]
    reg.remove_tag("m", "1", "a b")  # removed already: a no-op, as for any key
    assert len(reg.tag_history("m", "1")) == 2


def test_only_a_registrations_own_key_escapes_the_rules_and_only_for_removal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = _registered_before_tags_were_checked(monkeypatch)
    with pytest.raises(InvalidTag, match="tag key 'a b' is not allowed"):
        reg.set_tag("m", "1", "a b", "y")
    with pytest.raises(InvalidTag, match="tag key 'c d' is not allowed"):
        reg.remove_tag("m", "1", "c d")
    assert reg.tag_history("m", "1") == []


def test_the_cli_removes_a_tag_key_carried_over_from_an_older_registration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    with monkeypatch.context() as patch:
        patch.setattr("modelship.registry._registry.check_tag_key", lambda key: key)
        ms.open_registry(url).register(
            model_name="m", model=b"x", serializer="bytes", tags={"a b": "x", "ok": "1"}
        )
    assert main(["registry", "tag", "remove", url, "m", "1", "a b"]) == 0
    capsys.readouterr()
    assert main(["registry", "tag", "show", url, "m", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": "1"}


def test_with_a_signing_key_an_entry_written_without_it_is_refused() -> None:
    store = MemoryStore()
    signed = _registry(store, signing_key=KEY)
    # A writer with delete rights (what signing does not stop) hides the policy, so a
    # keyless handle writes an unsigned entry, and puts the policy back.
    policy = store.read("signing.json")
    store.delete("signing.json")
    ms.Registry(store, verify_signatures=False).set_tag("m", "1", "stage", "forged")
    store.create("signing.json", policy)
    with pytest.raises(ms.SignatureError):
        signed.tags("m", "1")


def test_with_a_signing_key_tags_are_signed_and_read_back() -> None:
    reg = _registry(signing_key=KEY)
    reg.set_tag("m", "1", "stage", "prod")
    assert reg.tags("m", "1")["stage"] == "prod"
    assert "signature" in json.loads(reg.store.read(f"{LOG}/000000000001.json"))


def test_tag_change_to_dict_is_json_safe() -> None:
    at = datetime(2026, 1, 2, tzinfo=timezone.utc)
    change = TagChange(2, "stage", "dev", None, "ana", at)
    assert json.loads(json.dumps(change.to_dict())) == {
        "revision": 2,
        "key": "stage",
        "from": "dev",
        "to": None,
        "by": "ana",
        "at": "2026-01-02T00:00:00+00:00",
    }


def test_cli_tag_commands_set_show_remove_and_print_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(model_name="m", model=b"x", serializer="bytes")
    assert main(["registry", "tag", "set", url, "m", "1", "stage", "prod"]) == 0
    assert main(["registry", "tag", "set", url, "m", "latest", "ticket", "T-1"]) == 0
    assert main(["registry", "tag", "remove", url, "m", "1", "ticket"]) == 0
    capsys.readouterr()
    assert main(["registry", "tag", "show", url, "m", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == {"stage": "prod"}
    assert main(["registry", "tag", "history", url, "m", "1"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [(c["key"], c["to"]) for c in history] == [
        ("stage", "prod"),
        ("ticket", "T-1"),
        ("ticket", None),
    ]


def test_cli_tag_set_with_a_stale_expected_value_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(model_name="m", model=b"x", serializer="bytes")
    assert main(["registry", "tag", "set", url, "m", "1", "stage", "prod"]) == 0
    assert main(["registry", "tag", "set", url, "m", "1", "stage", "x", "--expected-unset"]) == 2
    assert "Conflict" in capsys.readouterr().err


def test_copy_registry_carries_tags_and_their_history() -> None:
    src = _registry(user="ana")
    src.set_tag("m", "1", "stage", "prod")
    src.remove_tag("m", "1", "team")
    dst = ms.Registry(MemoryStore())
    ms.copy_registry(src, dst)
    assert dst.tags("m", "1") == {"stage": "prod"}
    assert dst.tag_history("m", "1") == src.tag_history("m", "1")
    ms.copy_registry(src, dst)  # again: a no-op
