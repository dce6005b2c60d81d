"""The registry conformance suite: one set of behaviours every back end must have."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

import modelship as ms
from modelship._hashing import CHUNK
from modelship.registry._layout import (
    GC_RUNS,
    alias_hint_key,
    alias_key,
    blob_key,
    head_key,
    manifest_key,
    slot_key,
)
from modelship.testing._doubles import HookStore

__all__ = ["RegistryConformance"]


def _racing(base: ms.Registry, rival: Callable[[], object]) -> ms.Registry:
    """A handle on ``base``'s store whose first alias move lets ``rival`` move first."""
    fired: list[str] = []

    def rival_moves_first(key: str) -> None:
        if "/aliases/" in key and not fired:
            fired.append(key)
            rival()

    return ms.Registry(HookStore(base.store, before_create=rival_moves_first))


class RegistryConformance:
    """Behaviours every registry back end must show. Subclass it and provide a fixture.

    ``make_registry(**options)`` must return a registry on a fresh, empty location each
    time it is called without ``same``; ``make_registry(same=True, **options)`` must
    reach the location of the last call (to open a second handle on it). ``same`` is the
    suite's own and is never passed to the store; the other options are
    :class:`~modelship.Registry`'s keyword arguments, passed on: the suite uses
    ``checkpoint_every`` (to make many checkpoints of a small artifact),
    ``signing_key`` and ``verify_signatures``.

    Examples
    --------
    In your own ``test_my_store.py``, run every registry behaviour on your store::

        import pytest
        import modelship as ms
        from modelship.testing import RegistryConformance

        class TestRegistryOnMyStore(RegistryConformance):
            @pytest.fixture
            def make_registry(self, tmp_path):
                made = []

                def make(same=False, **options):
                    if not same or not made:
                        made.append(tmp_path / f"reg{len(made)}")
                    return ms.Registry(MyStore(made[-1]), **options)

                return make

    The same, with this package's :class:`~modelship.testing.MemoryStore` as ``MyStore``
    (defining the class runs no check; pytest runs them when it collects the module it
    is in):

    >>> import pytest
    >>> import modelship as ms
    >>> from modelship.testing import MemoryStore, RegistryConformance
    >>> class TestRegistryInMemory(RegistryConformance):
    ...     @pytest.fixture
    ...     def make_registry(self):
    ...         made = []
    ...         def make(same=False, **options):
    ...             if not same or not made:
    ...                 made.append(MemoryStore())
    ...             return ms.Registry(made[-1], **options)
    ...         return make
    >>> any(name.startswith("test_") for name in dir(TestRegistryInMemory))
    True

    Needs pytest (``pip install 'modelship[test]'``).
    """

    @pytest.fixture
    def make_registry(self) -> Callable[..., ms.Registry]:  # pragma: no cover - overridden
        raise NotImplementedError("override make_registry in your subclass")

    @pytest.fixture
    def reg(self, make_registry: Callable[..., ms.Registry]) -> ms.Registry:
        return make_registry()

    # --- registering and reading --------------------------------------------------------

    def test_register_allocates_consecutive_integer_versions(self, reg: ms.Registry) -> None:
        got = [reg.register(model_name="m", model=bytes([i]), serializer="bytes") for i in range(3)]
        assert [mv.version for mv in got] == ["1", "2", "3"]
        assert [mv.sequence for mv in got] == [1, 2, 3]

    def test_register_with_explicit_version_keeps_it(self, reg: ms.Registry) -> None:
        mv = reg.register(model_name="m", model=b"a", version="2.1.0", serializer="bytes")
        assert mv.version == "2.1.0"
        assert reg.get("m", "2.1.0") == mv

    def test_register_twice_with_same_version_raises_version_exists(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"first", version="1.0", serializer="bytes")
        with pytest.raises(ms.VersionExists, match="never overwritten"):
            reg.register(model_name="m", model=b"second", version="1.0", serializer="bytes")
        assert reg.load("m", "1.0") == b"first"

    def test_auto_version_skips_a_number_taken_explicitly(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"a", version="2", serializer="bytes")
        first = reg.register(model_name="m", model=b"b", serializer="bytes")
        second = reg.register(model_name="m", model=b"c", serializer="bytes")
        assert {first.version, second.version}.isdisjoint({"2"})
        assert [mv.version for mv in reg.versions("m")] == ["2", first.version, second.version]

    def test_manifest_round_trips_metrics_params_tags_and_lineage(self, reg: ms.Registry) -> None:
        mv = reg.register(
            model_name="m",
            model=b"a",
            serializer="bytes",
            metrics={"auc": 0.91, "n": 3},
            params={"depth": 4, "layers": [1, 2], "opt": {"lr": 0.1}},
            tags={"team": "risk"},
            lineage={"git_commit": "abc", "git_dirty": True, "extra": {"run": "7"}},
            data={"train": np.arange(10)},
        )
        got = reg.get("m", "1")
        assert got == mv
        assert got.lineage.data["train"] == ms.fingerprint(np.arange(10))
        assert ms.ModelVersion.from_json(got.to_json()) == got

    def test_latest_is_the_last_registered_version(self, reg: ms.Registry) -> None:
        for i in range(5):
            reg.register(model_name="m", model=bytes([i]), serializer="bytes")
        assert reg.get("m", "latest").version == "5"
        assert reg.get("m").version == "5"

    def test_versions_lists_in_registration_order(self, reg: ms.Registry) -> None:
        for v in ["b", "a", "c"]:
            reg.register(model_name="m", model=v.encode(), version=v, serializer="bytes")
        assert [mv.version for mv in reg.versions("m")] == ["b", "a", "c"]

    def test_versions_through_a_snapshot_are_the_versions_read_one_by_one(
        self, reg: ms.Registry, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(ms.Registry, "_SNAPSHOT_AFTER", 3)
        for i in range(4):
            reg.register(model_name="m", model=bytes([i]), serializer="bytes", metrics={"i": i})
        one_by_one = reg.versions("m")  # and takes a snapshot of the 4
        assert reg.store.list("models/m/index") == ["000000000004.json"]
        reg.register(model_name="m", model=b"new", serializer="bytes")
        assert reg.versions("m") == [*one_by_one, reg.get("m", "latest")]
        assert [mv.metrics for mv in one_by_one] == [{"i": i} for i in range(4)]

    def test_models_lists_every_model(self, reg: ms.Registry) -> None:
        for name in ["zeta", "alpha"]:
            reg.register(model_name=name, model=b"x", serializer="bytes")
        assert reg.models() == ["alpha", "zeta"]

    def test_get_unknown_model_raises_model_not_found(self, reg: ms.Registry) -> None:
        with pytest.raises(ms.ModelNotFound):
            reg.get("nobody", "latest")

    def test_get_unknown_version_raises_version_not_found(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        with pytest.raises(ms.VersionNotFound, match="'9'"):
            reg.get("m", "9")

    def test_get_malformed_reference_raises_invalid_reference(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        with pytest.raises(ms.InvalidReference):
            reg.get("m", "../1")

    @pytest.mark.parametrize(
        "name", ["", "../etc", "a/b", "a\\b", "x" * 200, "con", "a..b", "ends.", "semi;colon", "é"]
    )
    def test_unsafe_model_names_raise_invalid_name(self, reg: ms.Registry, name: str) -> None:
        with pytest.raises(ms.InvalidName):
            reg.register(model_name=name, model=b"x", serializer="bytes")

    @pytest.mark.parametrize("version", ["", "../1", "1/2", "latest", "v 1", "a" * 65])
    def test_unsafe_versions_raise_invalid_name(self, reg: ms.Registry, version: str) -> None:
        with pytest.raises(ms.InvalidName):
            reg.register(model_name="m", model=b"x", version=version, serializer="bytes")

    def test_invalid_input_writes_nothing(self, reg: ms.Registry) -> None:
        with pytest.raises(ms.ConfigError):
            reg.register(model_name="m", model=b"x", serializer="bytes", metrics={"auc": "high"})  # type: ignore[dict-item]
        with pytest.raises(ms.ModelNotFound):
            reg.versions("m")

    # --- artifacts ----------------------------------------------------------------------

    @pytest.mark.parametrize("serializer", ["joblib", "numpy", "bytes"])
    def test_load_returns_what_was_registered(self, reg: ms.Registry, serializer: str) -> None:
        model: Any = b"\x00raw" if serializer == "bytes" else np.linspace(0, 1, 1000)
        reg.register(model_name="m", model=model, serializer=serializer)
        got = reg.load("m", "1")
        if serializer == "bytes":
            assert got == model
        else:
            np.testing.assert_array_equal(got, model)

    def test_digest_is_sha256_of_the_stored_bytes(self, reg: ms.Registry) -> None:
        mv = reg.register(model_name="m", model=b"hello", serializer="bytes")
        assert mv.artifact.digest == "sha256:" + hashlib.sha256(b"hello").hexdigest()
        assert mv.artifact.size == 5

    def test_identical_artifacts_are_stored_once(self, reg: ms.Registry) -> None:
        # No environment documents: their blobs could share the artifact's folder.
        a = reg.register(
            model_name="m", model=b"same", serializer="bytes", capture_environment=False
        )
        b = reg.register(
            model_name="other", model=b"same", serializer="bytes", capture_environment=False
        )
        assert a.artifact.digest == b.artifact.digest
        prefix = f"blobs/sha256/{a.artifact.hexdigest[:2]}"
        assert reg.store.list(prefix) == [a.artifact.hexdigest]

    def test_changed_byte_in_artifact_raises_integrity_error_before_load(
        self, reg: ms.Registry
    ) -> None:
        mv = reg.register(model_name="m", model={"w": list(range(100))})
        key = blob_key(mv.artifact.digest)
        data = bytearray(reg.store.read(key))
        data[len(data) // 2] ^= 0x01
        reg.store.delete(key)
        reg.store.create(key, bytes(data))
        with pytest.raises(ms.IntegrityError, match="does not match"):
            reg.load("m", "1")
        with pytest.raises(ms.IntegrityError):
            reg.verify("m", "1")

    @pytest.mark.parametrize("serializer", ["joblib", "numpy"])
    def test_an_artifact_of_many_pieces_streams_and_a_damaged_piece_is_caught(
        self, make_registry: Callable[..., ms.Registry], serializer: str
    ) -> None:
        reg = make_registry(checkpoint_every=4096)  # many pieces from a small artifact
        array = np.arange(20_000, dtype=np.float64)  # 160,000 bytes: about 40 pieces
        mv = reg.register(model_name="m", model=array, serializer=serializer)
        assert len(mv.artifact.checkpoints) >= 38
        np.testing.assert_array_equal(reg.load("m", mv.version), array)
        key = blob_key(mv.artifact.digest)
        data = bytearray(reg.store.read(key))
        data[20 * 4096 + 7] ^= 0x01
        reg.store.delete(key)
        reg.store.create(key, bytes(data))
        with pytest.raises(ms.IntegrityError, match="first 86016 bytes have a different digest"):
            reg.load("m", mv.version)
        with pytest.raises(ms.IntegrityError, match="first 86016 bytes"):
            reg.verify("m", mv.version)

    def test_missing_artifact_raises_integrity_error(self, reg: ms.Registry) -> None:
        mv = reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.store.delete(blob_key(mv.artifact.digest))
        with pytest.raises(ms.IntegrityError, match="missing"):
            reg.load("m", "1")

    def test_attachments_are_stored_and_verified(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes", attachments={"schema": "{}"})
        assert reg.attachment("m", "1", "schema") == b"{}"
        with pytest.raises(ms.MissingAttachment, match="no 'profile' attachment"):
            reg.attachment("m", "1", "profile")

    def test_unserialisable_model_raises_serialization_error(self, reg: ms.Registry) -> None:
        with pytest.raises(ms.SerializationError):
            reg.register(model_name="m", model=threading.Lock())
        with pytest.raises(ms.ModelNotFound):
            reg.versions("m")

    # --- signing ------------------------------------------------------------------------

    def test_signed_registry_refuses_unsigned_versions(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        plain = make_registry()
        plain.register(model_name="m", model=b"x", serializer="bytes")
        signed = make_registry(same=True, signing_key=b"k" * 32)
        with pytest.raises(ms.SignatureError, match="not signed"):
            signed.load("m", "1")

    def test_signed_registry_loads_its_own_and_refuses_other_keys(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        mine = make_registry(signing_key=b"k" * 32)
        mine.register(model_name="m", model=b"x", serializer="bytes")
        assert mine.load("m", "1") == b"x"
        theirs = make_registry(same=True, signing_key=b"z" * 32)
        with pytest.raises(ms.SignatureError, match="did not make"):
            theirs.load("m", "1")

    def test_reader_without_key_refuses_a_signed_registry(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        signed = make_registry(signing_key=b"k" * 32)
        signed.register(model_name="m", model=b"x", serializer="bytes")
        with pytest.raises(ms.SignatureError, match="verify_signatures=False"):
            make_registry(same=True).load("m", "1")
        assert make_registry(same=True, verify_signatures=False).load("m", "1") == b"x"

    def test_signed_registry_refuses_an_alias_entry_written_without_the_key(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        signed = make_registry(signing_key=b"k" * 32)
        for _ in range(2):
            signed.register(model_name="m", model=b"x", serializer="bytes")
        signed.set_alias("m", "production", "2")
        forged = {
            "revision": 2,
            "aliases": {"production": "1"},
            "move": {"alias": "production", "from": "2", "to": "1", "by": "x", "at": ""},
        }
        signed.store.create(alias_key("m", 2), json.dumps(forged).encode())
        with pytest.raises(ms.SignatureError, match="not signed"):
            signed.get("m", "@production")

    # --- aliases ------------------------------------------------------------------------

    def test_alias_resolves_and_moves(self, reg: ms.Registry) -> None:
        for _ in range(2):
            reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.set_alias("m", "production", "1")
        assert reg.get("m", "@production").version == "1"
        reg.set_alias("m", "production", "2")
        assert reg.get("m", "@production").version == "2"
        assert reg.aliases("m") == {"production": "2"}

    def test_alias_to_missing_version_raises(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        with pytest.raises(ms.VersionNotFound):
            reg.set_alias("m", "production", "7")

    def test_history_records_every_move(self, reg: ms.Registry) -> None:
        for _ in range(2):
            reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.set_alias("m", "production", "1")
        reg.set_alias("m", "production", "2")
        reg.remove_alias("m", "production")
        moves = [(h.alias, h.from_version, h.to_version) for h in reg.history("m")]
        assert moves == [
            ("production", None, "1"),
            ("production", "1", "2"),
            ("production", "2", None),
        ]
        assert all(h.by and h.at.tzinfo is not None for h in reg.history("m"))

    def test_set_alias_with_stale_expectation_raises_conflict(self, reg: ms.Registry) -> None:
        for _ in range(3):
            reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.set_alias("m", "production", "1")
        reg.set_alias("m", "production", "2", expected="1")
        with pytest.raises(ms.Conflict):
            reg.set_alias("m", "production", "3", expected="1")
        assert reg.aliases("m") == {"production": "2"}

    def test_a_reader_sees_versions_and_alias_moves_another_handle_writes(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        # A serving process reads @production while a CI job registers and promotes
        # through its own handle: what the reader read before must not hide the new.
        reader = make_registry()
        writer = make_registry(same=True)
        writer.register(model_name="m", model=b"one", serializer="bytes")
        writer.set_alias("m", "production", "1")
        seen = (reader.get("m").version, reader.get("m", "latest").version)
        assert seen == ("1", "1")
        assert reader.get("m", "@production").version == "1"
        assert reader.load("m", "@production") == b"one"
        writer.register(model_name="m", model=b"two", serializer="bytes")
        writer.set_alias("m", "production", "2")
        now = {
            "get('m')": reader.get("m").version,
            "get('m', 'latest')": reader.get("m", "latest").version,
            "get('m', '@production')": reader.get("m", "@production").version,
            "aliases('m')": reader.aliases("m"),
            "versions('m')": [mv.version for mv in reader.versions("m")],
            "load('m', '@production')": reader.load("m", "@production"),
        }
        assert now == {
            "get('m')": "2",
            "get('m', 'latest')": "2",
            "get('m', '@production')": "2",
            "aliases('m')": {"production": "2"},
            "versions('m')": ["1", "2"],
            "load('m', '@production')": b"two",
        }, (
            f"after another handle registered version 2 and moved production to it, the "
            f"reader answers {now}: what it read before hid the writes"
        )

    def test_concurrent_moves_of_one_alias_one_wins_other_conflicts(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        base = make_registry()
        for _ in range(3):
            base.register(model_name="m", model=b"x", serializer="bytes")
        racer = _racing(base, lambda: make_registry(same=True).set_alias("m", "production", "3"))
        with pytest.raises(ms.Conflict, match="another writer"):
            racer.set_alias("m", "production", "2")
        assert base.aliases("m") == {"production": "3"}
        assert [h.to_version for h in base.history("m")] == ["3"]

    def test_concurrent_moves_of_different_aliases_both_land(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        base = make_registry()
        base.register(model_name="m", model=b"x", serializer="bytes")
        racer = _racing(base, lambda: make_registry(same=True).set_alias("m", "staging", "1"))
        racer.set_alias("m", "production", "1")
        assert base.aliases("m") == {"production": "1", "staging": "1"}
        assert len(base.history("m")) == 2

    def test_registrations_from_threads_get_distinct_gapless_versions(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        make_registry().register(model_name="m", model=b"seed", serializer="bytes")
        errors: list[BaseException] = []

        def work(t: int) -> None:
            handle = make_registry(same=True)
            try:
                for i in range(5):
                    handle.register(
                        model_name="m",
                        model=f"{t}-{i}".encode(),
                        serializer="bytes",
                        metrics={"t": t, "i": i},
                    )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        versions = make_registry(same=True).versions("m")
        assert sorted(int(mv.version) for mv in versions) == list(range(1, 22))
        assert {(mv.metrics["t"], mv.metrics["i"]) for mv in versions[1:]} == {
            (t, i) for t in range(4) for i in range(5)
        }

    # --- deleting and cleaning ----------------------------------------------------------

    def test_delete_archives_and_restore_brings_back(self, reg: ms.Registry) -> None:
        for _ in range(2):
            reg.register(model_name="m", model=bytes([_]), serializer="bytes")
        reg.delete("m", "2")
        assert reg.get("m").version == "1"
        assert [mv.version for mv in reg.versions("m")] == ["1"]
        assert [mv.version for mv in reg.versions("m", include_archived=True)] == ["1", "2"]
        with pytest.raises(ms.ArchivedVersion):
            reg.get("m", "2")
        reg.restore("m", "2")
        assert reg.get("m").version == "2"
        assert [mv.version for mv in reg.versions("m")] == ["1", "2"]
        assert [mv.version for mv in reg.versions("m", limit=10)] == ["1", "2"]

    def test_delete_of_aliased_version_raises_conflict(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.set_alias("m", "production", "1")
        with pytest.raises(ms.Conflict, match="production"):
            reg.delete("m", "1")

    def test_purge_removes_bytes_but_never_reuses_the_number(self, reg: ms.Registry) -> None:
        mv = reg.register(model_name="m", model=b"secret", serializer="bytes")
        with pytest.raises(ms.Conflict, match="archive"):
            reg.purge("m", "1")
        reg.delete("m", "1")
        reg.purge("m", "1")
        assert not reg.store.exists(blob_key(mv.artifact.digest))
        assert reg.register(model_name="m", model=b"new", serializer="bytes").version == "2"

    def test_purge_keeps_an_artifact_another_version_shares(self, reg: ms.Registry) -> None:
        mv = reg.register(model_name="m", model=b"shared", serializer="bytes")
        reg.register(model_name="m", model=b"shared", serializer="bytes")
        reg.delete("m", "1")
        reg.purge("m", "1")
        assert reg.store.exists(blob_key(mv.artifact.digest))
        assert reg.load("m", "2") == b"shared"

    def test_gc_removes_slots_of_registrations_that_never_committed(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        old = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
        dead = json.dumps({"version": "2", "registration": "dead", "at": old}).encode()
        reg.store.create("models/m/slots/000000000002.json", dead)
        assert reg.get("m").version == "1"
        # gc ages a slot by its time in the store, not by the time written in it (the
        # registering machine's clock): an hour's grace keeps this one, none collects it.
        assert reg.gc(grace_seconds=3600).dead_slots == ()
        time.sleep(0.01)  # a store's times may be coarse: the slot is then strictly older
        report = reg.gc(grace_seconds=0)
        assert report.dead_slots == ("models/m/slots/000000000002.json",)
        assert reg.register(model_name="m", model=b"y", serializer="bytes").version in {"2", "3"}
        assert reg.gc(grace_seconds=3600).removed == 0

    def test_a_registration_is_not_committed_while_a_gc_runs(self, reg: ms.Registry) -> None:
        # A running gc is a mark in the store, live while its modified() time is recent:
        # a store whose times are not the times of its writes lets registrations reuse
        # blobs the gc is removing.
        run = f"{GC_RUNS}/{uuid.uuid4().hex}.json"
        at = datetime.now(timezone.utc).isoformat()
        reg.store.create(run, json.dumps({"at": at}).encode())
        with pytest.raises(ms.Conflict, match="garbage collection"):
            reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.store.delete(run)
        assert reg.register(model_name="m", model=b"x", serializer="bytes").version

    def test_gc_leaves_artifacts_that_versions_use(self, reg: ms.Registry) -> None:
        mv = reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.gc(grace_seconds=0)
        assert reg.load("m", mv.version) == b"x"

    # --- hostile storage: what a damaged or tampered store must not do to a reader --------

    @pytest.mark.parametrize("hint", ["slots", "aliases"])
    def test_a_hint_far_ahead_costs_logarithmic_probes(self, reg: ms.Registry, hint: str) -> None:
        for _ in range(3):
            reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.set_alias("m", "production", "2")
        key = head_key("m") if hint == "slots" else alias_hint_key("m")
        reg.store.replace(key, b'{"n": 1000000}')
        probes: list[str] = []

        def count(operation: str, key: str) -> None:
            if operation == "exists":
                probes.append(key)
            assert len(probes) < 200, "look-ups probe one number at a time"

        counted = ms.Registry(HookStore(reg.store, before=count))
        assert counted.get("m").version == "3"
        assert counted.get("m", "@production").version == "2"

    def test_stray_files_in_model_folders_are_ignored(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.set_alias("m", "production", "1")
        for part in ("versions", "slots", "aliases", "archived"):
            reg.store.create(f"models/m/{part}/.DS_Store", b"junk")
            reg.store.create(f"models/m/{part}/notes.txt", b"junk")
        assert [mv.version for mv in reg.versions("m")] == ["1"]
        assert reg.get("m").version == "1"
        assert [move.to_version for move in reg.history("m")] == ["1"]
        assert reg.register(model_name="m", model=b"y", serializer="bytes").version == "2"
        reg.gc(grace_seconds=0)
        assert reg.load("m", "1") == b"x"

    def test_model_names_that_differ_only_in_case_are_refused(self, reg: ms.Registry) -> None:
        reg.register(model_name="Fraud", model=b"x", serializer="bytes")
        with pytest.raises(ms.InvalidName, match="only in case"):
            reg.register(model_name="fraud", model=b"y", serializer="bytes")
        assert reg.register(model_name="Fraud", model=b"z", serializer="bytes").version == "2"

    @pytest.mark.parametrize(
        "damage",
        [
            lambda doc: doc.update(created_at="not a date"),
            lambda doc: doc.update(artifact=["not", "an", "object"]),
            lambda doc: doc.update(metrics="auc"),
        ],
        ids=["bad-date", "artifact-not-object", "metrics-not-object"],
    )
    def test_a_damaged_manifest_raises_integrity_error(
        self, reg: ms.Registry, damage: Callable[[dict[str, Any]], None]
    ) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        doc = json.loads(reg.store.read(manifest_key("m", "1")))
        damage(doc)
        reg.store.replace(manifest_key("m", "1"), json.dumps(doc).encode())
        with pytest.raises(ms.IntegrityError):
            reg.get("m", "1")

    @pytest.mark.parametrize("slot", [b"[]", b'{"version": 1}', b"not json"])
    def test_a_damaged_slot_raises_integrity_error(self, reg: ms.Registry, slot: bytes) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.store.replace(slot_key("m", 1), slot)
        with pytest.raises(ms.IntegrityError):
            reg.get("m", "latest")

    def test_an_alias_entry_without_aliases_raises_integrity_error(self, reg: ms.Registry) -> None:
        reg.register(model_name="m", model=b"x", serializer="bytes")
        reg.store.create("models/m/aliases/000000000001.json", b'{"revision": 1}')
        with pytest.raises(ms.IntegrityError, match="aliases"):
            reg.get("m", "@production")

    def test_a_reused_blob_that_was_damaged_is_replaced(self, reg: ms.Registry) -> None:
        good = b"good bytes"
        key = blob_key("sha256:" + hashlib.sha256(good).hexdigest())
        reg.store.create(key, b"bad bytes!")
        with pytest.warns(ms.RepairWarning):
            reg.register(model_name="m", model=good, serializer="bytes")
        assert reg.load("m") == good

    def test_a_damaged_blob_stays_in_place_until_the_good_bytes_replace_it(
        self, reg: ms.Registry
    ) -> None:
        # Versions committed earlier may share the damaged blob: while the artifact is
        # serialised again, their key must still hold bytes. A writer that ReplacesBlobs
        # puts the good bytes there in one step; any other deletes only once they are staged.
        good = b"good bytes"
        key = blob_key("sha256:" + hashlib.sha256(good).hexdigest())
        reg.store.create(key, b"bad bytes!")
        events: list[tuple[str, bool]] = []
        store = reg.store

        class Watching(ms.registry.BytesSerializer):
            def dump(self, obj: Any, fp: Any) -> None:
                events.append(("dump", store.exists(key)))
                super().dump(obj, fp)

        def before(operation: str, hooked: str) -> None:
            if operation == "delete" and hooked == key:
                events.append(("delete", store.exists(key)))

        hooked = ms.Registry(HookStore(store, before=before))
        with pytest.warns(ms.RepairWarning):
            hooked.register(model_name="m", model=good, serializer=Watching())
        writer = store.blob_writer()
        replaces = isinstance(writer, ms.registry.ReplacesBlobs)
        writer.discard()
        assert events == (
            [("dump", True), ("dump", True)]
            if replaces
            else [("dump", True), ("dump", True), ("delete", True)]
        )
        assert reg.load("m") == good

    # --- copying ------------------------------------------------------------------------

    def test_copy_registry_stores_each_chunk_of_a_large_artifact(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        # copy_registry streams a blob through one buffer refilled chunk by chunk: a
        # blob writer that keeps the buffers it is handed stores the last chunk's bytes
        # over the earlier ones. A chunk and a part of one are enough to show it.
        size = CHUNK + CHUNK // 3
        artifact = (bytes(range(251)) * (size // 251 + 1))[:size]  # no chunk repeats
        src = ms.open_registry(f"memory://copy-chunks-{uuid.uuid4().hex}")
        src.register(model_name="big", model=artifact, serializer="bytes")
        dst = make_registry()
        try:
            ms.copy_registry(src, dst)
        except ms.IntegrityError as exc:
            pytest.fail(f"copying an artifact of {size} bytes into the store failed: {exc}")
        assert dst.load("big") == artifact

    def test_copy_registry_round_trip_keeps_everything(
        self, make_registry: Callable[..., ms.Registry]
    ) -> None:
        src = make_registry()
        for i in range(3):
            src.register(model_name="m", model=bytes([i]) * 100, serializer="bytes")
        src.register(model_name="n", model=b"n", version="0.1", serializer="bytes")
        src.set_alias("m", "production", "2")
        src.set_alias("m", "production", "3")
        src.delete("m", "1")
        # A name no other test has used: memory:// registries live as long as the process,
        # and id(src) is reused once an earlier test's registry was collected.
        mid = ms.open_registry(f"memory://copy-mid-{uuid.uuid4().hex}")
        report = ms.copy_registry(src, mid)
        assert report.versions == 4
        back = make_registry()
        ms.copy_registry(mid, back)
        for name in ("m", "n"):
            assert back.versions(name, include_archived=True) == src.versions(
                name, include_archived=True
            )
            assert back.history(name) == src.history(name)
            assert back.aliases(name) == src.aliases(name)
        assert back.get("m", "@production") == src.get("m", "@production")
        assert back.load("m", "3") == bytes([2]) * 100
        with pytest.raises(ms.ArchivedVersion):
            back.get("m", "1")
        assert ms.copy_registry(src, back).blobs_copied == 0  # nothing to upload twice
        assert back.register(model_name="m", model=b"z", serializer="bytes").version == "4"
