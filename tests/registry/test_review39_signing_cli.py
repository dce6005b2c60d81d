"""Review 39: a signed registry is written only with its key; the registry commands' edges.

The writer in the signing tests holds no key, or another one: it must write nothing a key
holder would then refuse to read. The command-line tests drive ``modelship.cli.main``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import modelship as ms
from modelship._shown import hide_credentials
from modelship.cli import main
from modelship.registry import Registry
from modelship.registry._cli_tags import listing_arguments
from modelship.registry._layout import SIGNING_POLICY
from modelship.testing import HookStore, MemoryStore

KEY = b"k" * 32
OTHER = b"o" * 32


def _snapshot(store: MemoryStore) -> dict[str, bytes]:
    """Every key of ``store`` with its bytes (the registry's documents and blobs)."""
    found: dict[str, bytes] = {}
    pending = [""]
    while pending:
        prefix = pending.pop()
        for name in store.list(prefix):
            key = f"{prefix}/{name}" if prefix else name
            try:
                found[key] = store.read(key)
            except (FileNotFoundError, IsADirectoryError, ms.ModelshipError):
                pending.append(key)
            else:
                if store.list(key):
                    pending.append(key)
    return found


def _signed_store() -> MemoryStore:
    """A registry signed with KEY: model m, versions 1 to 3 (2 archived), @production -> 1."""
    store = MemoryStore()
    reg = Registry(store, signing_key=KEY)
    for model in (b"one", b"two", b"three"):
        reg.register(model_name="m", model=model, serializer="bytes", capture_environment=False)
    reg.set_alias("m", "production", "1")
    reg.set_tag("m", "1", "stage", "prod")
    reg.delete("m", "2")
    return store


WRITES: dict[str, Callable[[Registry], object]] = {
    "register": lambda r: r.register(
        model_name="m", model=b"four", serializer="bytes", capture_environment=False
    ),
    "set_alias": lambda r: r.set_alias("m", "staging", "1"),
    "remove_alias": lambda r: r.remove_alias("m", "production"),
    "set_tag": lambda r: r.set_tag("m", "1", "stage", "forged"),
    "remove_tag": lambda r: r.remove_tag("m", "1", "stage"),
    "delete": lambda r: r.delete("m", "3"),
    "restore": lambda r: r.restore("m", "2"),
    "purge": lambda r: r.purge("m", "2"),
    "gc": lambda r: r.gc(grace_seconds=0),
}


# --- 1. a keyless handle writes nothing to a signed registry -----------------------------


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_keyless_handle_that_skips_signature_checks_writes_nothing_to_a_signed_registry(
    write: str,
) -> None:
    store = _signed_store()
    before = _snapshot(store)
    unchecked = Registry(store, verify_signatures=False)
    with pytest.raises(ms.SigningKeyRequired, match=r"no signing key.*only reads"):
        WRITES[write](unchecked)
    assert _snapshot(store) == before
    signed = Registry(store, signing_key=KEY)
    assert signed.get("m", "@production").version == "1"
    assert signed.tags("m", "1") == {"stage": "prod"}


def test_a_keyless_handle_that_skips_checks_still_reads_and_lists_without_writing() -> None:
    store = _signed_store()
    before = _snapshot(store)
    unchecked = Registry(store, verify_signatures=False)
    assert unchecked.get("m", "@production").version == "1"
    listed = unchecked.versions("m", limit=10, include_archived=True)
    assert [mv.version for mv in listed] == ["1", "2", "3"]
    assert unchecked.gc(grace_seconds=0, dry_run=True).removed == 0
    assert _snapshot(store) == before  # no unsigned listing chunk or snapshot either


def test_cli_alias_with_no_verify_signatures_exits_2_and_moves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url, signing_key=KEY)
    reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    reg.set_alias("m", "production", "1")
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    code = main(["registry", "alias", url, "m", "staging", "1", "--no-verify-signatures"])
    assert code == 2
    assert "SigningKeyRequired" in capsys.readouterr().err
    assert ms.open_registry(url, signing_key=KEY).history("m")[-1].alias == "production"
    # gc --dry-run writes nothing, and works without the key, as documented.
    assert main(["registry", "gc", url, "--dry-run", "--grace-seconds", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["dry_run"] is True


# --- 2. a handle with another key writes nothing ----------------------------------------


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_handle_with_another_key_writes_nothing_to_a_signed_registry(write: str) -> None:
    store = _signed_store()
    before = _snapshot(store)
    wrong = Registry(store, signing_key=OTHER)
    # A write that reads first is refused by what it reads (a SignatureError), the others
    # by the policy (SigningKeyRequired: the registry's key is required, this is another).
    with pytest.raises(ms.SignatureError, match=r"another key|this key did not make") as raised:
        WRITES[write](wrong)
    by_policy = "another key than this handle's" in str(raised.value)
    assert isinstance(raised.value, ms.SigningKeyRequired) == by_policy
    assert _snapshot(store) == before


def test_a_handle_with_another_key_that_skips_checks_writes_nothing() -> None:
    store = _signed_store()
    before = _snapshot(store)
    with pytest.raises(ms.SignatureError, match="another key"):
        WRITES["register"](Registry(store, signing_key=OTHER, verify_signatures=False))
    assert _snapshot(store) == before


def test_cli_gc_with_another_key_exits_2_and_tombstones_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    ms.open_registry(url, signing_key=KEY).register(
        model_name="m", model=b"1", serializer="bytes", capture_environment=False
    )

    def die(key: str) -> None:
        if key.startswith("models/m/versions/"):
            raise RuntimeError("the writer dies after claiming its slot")

    inner = ms.open_registry(url).store
    with pytest.raises(ms.StoreError, match="the writer dies after claiming its slot"):
        Registry(HookStore(inner, before_create=die), signing_key=KEY).register(
            model_name="m", model=b"2", serializer="bytes", capture_environment=False
        )
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", OTHER.decode())
    # The registry's key is required and this is another: a configuration to fix (exit 2,
    # SigningKeyRequired), not a document that failed to verify (exit 1).
    assert main(["registry", "gc", url, "--grace-seconds", "0"]) == 2
    err = capsys.readouterr().err
    assert "another key" in err
    assert "SigningKeyRequired" in err
    good = ms.open_registry(url, signing_key=KEY)
    assert [mv.version for mv in good.versions("m", limit=10)] == ["1"]
    assert good.register(
        model_name="m", model=b"3", serializer="bytes", capture_environment=False
    ).version


def test_the_key_is_checked_against_the_policy_once_per_handle() -> None:
    reads: list[str] = []
    store = HookStore(
        _signed_store(),
        before=lambda op, key: reads.append(key) if key == SIGNING_POLICY else None,
    )
    reg = Registry(store, signing_key=KEY)
    reg.set_tag("m", "1", "a", "1")
    reg.set_tag("m", "1", "b", "2")
    reg.set_alias("m", "staging", "1")
    # Read by the signer, then looked for before the first write (a keyed handle records
    # no policy in a registry of unsigned models); never again.
    assert reads == [SIGNING_POLICY] * 2


def test_a_policy_another_key_records_first_is_refused_before_the_write() -> None:
    inner = MemoryStore()
    rival = Registry(inner, signing_key=OTHER)

    def rival_first(key: str) -> None:
        if key == SIGNING_POLICY and not inner.exists(SIGNING_POLICY):
            rival.check_writable()  # the other key's writer records its policy first

    reg = Registry(HookStore(inner, before_create=rival_first), signing_key=KEY)
    with pytest.raises(ms.SignatureError, match="another key"):
        reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    assert inner.list("models") == []


# --- 3. -o verify_signatures=... and -o signing_key=... ---------------------------------


@pytest.fixture
def signed_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = str(tmp_path / "signed")
    ms.open_registry(url, signing_key=KEY).register(
        model_name="m", model=b"x", serializer="bytes", capture_environment=False
    )
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    return url


def test_cli_option_verify_signatures_false_reads_a_signed_registry(
    signed_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "models", signed_url, "-o", "verify_signatures=false"]) == 0
    assert capsys.readouterr().out.split() == ["m"]


def test_cli_option_signing_key_wins_over_the_environment(
    signed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", OTHER.decode())
    args = ["registry", "alias", signed_url, "m", "production", "1"]
    assert main([*args, "-o", f"signing_key={KEY.decode()}"]) == 0
    assert ms.open_registry(signed_url, signing_key=KEY).aliases("m") == {"production": "1"}


@pytest.mark.parametrize(
    "extra",
    [
        ["--no-verify-signatures", "-o", "verify_signatures=true"],
        ["--signing-key-env", "MY_KEY", "-o", f"signing_key={KEY.decode()}"],
    ],
)
def test_cli_own_options_that_contradict_the_flags_are_a_config_error(
    signed_url: str,
    extra: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MY_KEY", KEY.decode())
    assert main(["registry", "models", signed_url, *extra]) == 2
    err = capsys.readouterr().err
    assert "ConfigError" in err
    assert "give one" in err
    assert "TypeError" not in err


def test_cli_copy_gives_own_options_to_both_local_folders(
    signed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dst = str(tmp_path / "copy")
    assert main(["registry", "copy", signed_url, dst, "-o", f"signing_key={KEY.decode()}"]) == 0
    assert ms.open_registry(dst, signing_key=KEY).load("m", "latest") == b"x"


# --- 4. user information in s3:// URLs ---------------------------------------------------

SECRET_URLS = [
    "s3://ci:s3cretPa55@bucket/reg",
    "s3://AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@bucket/reg",
    "s3a://token@bucket/reg",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_user_information_in_an_s3_url_is_refused_without_showing_it(url: str) -> None:
    with pytest.raises(ms.ConfigError, match=r"user information.*AWS_ACCESS_KEY_ID") as raised:
        ms.open_registry(url)
    for secret in ("s3cretPa55", "wJalrXUtnFEMI", "K7MDENG", "bPxRfiCY", "token"):
        assert secret not in str(raised.value)


@pytest.mark.parametrize("url", SECRET_URLS)
def test_cli_user_information_in_an_s3_url_is_one_line_without_it(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "models", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ConfigError" in err
    assert "Pa55" not in err
    assert "K7MDENG" not in err


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (
            "https://AKIA:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@host/reg",
            "https://***@host/reg",
        ),
        ("s3://AKIA:a/b/c/d@bucket/reg x@y", "s3://***@bucket/reg x@y"),
        # A port, then a path with "@" in a later segment: no user information.
        (
            "https://registry.example.com:8443/m/fraud@v2",
            "https://registry.example.com:8443/m/fraud@v2",
        ),
        (
            "https://host:secret/a/b and mail ana@example.com",
            "https://host:secret/a/b and mail ana@example.com",
        ),
    ],
)
def test_hide_credentials_masks_a_password_with_several_slashes(shown: str, expected: str) -> None:
    assert hide_credentials(shown) == expected


# --- 5. --metric with an integer ---------------------------------------------------------


def test_metric_filter_keeps_a_large_integer_exact() -> None:
    ns = 1764979200123456789
    args = argparse.Namespace(
        tag=None, metric=[f"t=={ns}", "auc>=0.9", "n<1e3"], newest=False, limit=None, cursor=None
    )
    assert listing_arguments(args)["where"] == {
        "metrics.t": ("==", ns),
        "metrics.auc": (">=", 0.9),
        "metrics.n": ("<", 1000),
    }


def test_cli_metric_filter_matches_a_large_integer_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, ns = str(tmp_path / "reg"), 1764979200123456789
    ms.open_registry(url).register(
        model_name="m",
        model=b"x",
        serializer="bytes",
        metrics={"t": ns},
        capture_environment=False,
    )
    found = {}
    for op in ("==", "!="):
        assert main(["registry", "versions", url, "m", "--metric", f"t{op}{ns}", "--json"]) == 0
        found[op] = [mv["version"] for mv in json.loads(capsys.readouterr().out)]
    assert found == {"==": ["1"], "!=": []}


# --- 6. terminal escapes in error messages -----------------------------------------------


def test_cli_error_message_escapes_a_terminal_escape_from_a_store_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(
        model_name="churn", model=b"x", serializer="bytes", capture_environment=False
    )
    hostile = "ev\x1b]0;pwned\x07\x1b[2Kil"
    # A document of a model gc reads (a folder that is no model name it skips).
    with open(os.path.join(url, "models", "churn", "versions", f"{hostile}.json"), "w") as f:
        f.write("[]")
    assert main(["registry", "gc", url, "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert "\\x1b]0;pwned" in err
    assert err.count("\n") == 1


# --- 7. gc leaves files that are not the registry's --------------------------------------


def test_gc_leaves_files_under_blobs_that_are_not_blobs(tmp_path: Path) -> None:
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    mv = reg.register(model_name="m", model=b"x", serializer="bytes", capture_environment=False)
    digest = mv.artifact.digest.partition(":")[2]
    folder = Path(url, "blobs", "sha256", digest[:2])
    orphan = "f" * 64
    Path(url, "blobs", "sha256", "ff").mkdir()
    strays = [
        folder / ".DS_Store",
        folder / "README.txt",
        folder / ("0" * 64),  # a digest in another digest's folder
        folder / digest.upper(),
    ]
    for path in [*strays, Path(url, "blobs", "sha256", "ff", orphan)]:
        path.write_bytes(b"not the registry's")
        os.utime(path, (0, 0))
    report = reg.gc(grace_seconds=0)
    assert report.blobs == (f"blobs/sha256/ff/{orphan}",)
    assert all(path.exists() for path in strays)
    assert reg.load("m", "1") == b"x"


def test_cli_copy_of_a_model_the_source_lacks_exits_2_and_makes_no_destination(
    tmp_path: Path,
) -> None:
    # The destination was created (registry.json written by the writability probe)
    # before the missing model was found.
    src = ms.open_registry(str(tmp_path / "src"))
    src.register("fraud", {"a": 1})
    dst = tmp_path / "dst"
    assert main(["registry", "copy", str(tmp_path / "src"), str(dst), "--model", "nosuch"]) == 2
    assert not dst.exists()


def test_a_keyless_copy_of_a_signed_registry_can_be_run_again(tmp_path: Path) -> None:
    # A copy writes the source's signed bytes only: a keyless mirror job is no writer of
    # unsigned documents, and its second run (a destination now signed) must work too.
    src = ms.open_registry(str(tmp_path / "src"), signing_key=KEY)
    src.register(model_name="m", model=b"a", serializer="bytes", capture_environment=False)
    dst = str(tmp_path / "dst")
    for _ in range(2):
        assert main(["registry", "copy", str(tmp_path / "src"), dst, "--no-verify-signatures"]) == 0
        src.register(model_name="m", model=b"b", serializer="bytes", capture_environment=False)
    reader = ms.open_registry(dst, signing_key=KEY)
    assert [mv.version for mv in reader.versions("m")] == ["1", "2"]
    # A keyless handle still writes nothing of its own there.
    with pytest.raises(ms.SigningKeyRequired):
        ms.open_registry(dst, verify_signatures=False).set_alias("m", "prod", "1")


def test_cli_option_signing_key_of_digits_is_the_text_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "1234567890" * 4
    url = str(tmp_path / "reg")
    ms.open_registry(url, signing_key=key.encode()).register(
        model_name="m", model=b"1", serializer="bytes", capture_environment=False
    )
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    assert main(["registry", "versions", url, "m", "-o", f"signing_key={key}"]) == 0, (
        capsys.readouterr().err
    )


def test_a_page_on_read_only_credentials_is_read_without_writing_its_cache() -> None:
    # The writability probe's PermissionError escaped versions(limit=) untyped.
    inner = MemoryStore()
    Registry(inner, signing_key=KEY).register(
        model_name="m", model=b"1", serializer="bytes", capture_environment=False
    )

    def refuse(key: str) -> None:
        raise PermissionError(13, "AccessDenied", key)

    reader = Registry(HookStore(inner, before_create=refuse), signing_key=KEY)
    assert [mv.version for mv in reader.versions("m", limit=10)] == ["1"]


@pytest.mark.parametrize(
    "options",
    [
        {"password": 'pa\\ss"w0rd'},
        {"password": b"hunter2bytes"},
        {"creds": ["hunter2inlist"]},
        {"client_kwargs": {"config": {"secret": "deepsecret1"}}},
    ],
)
def test_a_plugin_message_masks_option_values_however_they_are_shown(
    options: dict[str, object],
) -> None:
    # A factory that echoes repr(options): escaped text, bytes, lists, nested mappings.
    from modelship.registry._open import _masked_options

    shown = _masked_options(f"login refused for {options!r} ({options})", options)
    for secret in ("pa\\\\ss", 'ss"w0rd', "hunter2bytes", "hunter2inlist", "deepsecret1"):
        assert secret not in shown, shown


def test_a_rollout_on_a_keyless_handle_of_a_signed_registry_changes_nothing(
    tmp_path: Path,
) -> None:
    # It replaced the serving slot, then failed to move the alias three times and aborted
    # with the new version taking all traffic, and it wrote unsigned rollout records.
    from modelship.deploy import Recreate, RegistryHistory
    from modelship.testing import InMemoryDeployer

    url = str(tmp_path / "reg")
    signed = ms.open_registry(url, signing_key=KEY)
    for model in (b"a", b"b"):
        signed.register(model_name="m", model=model, serializer="bytes", capture_environment=False)
    dep = InMemoryDeployer(ms.open_registry(url, verify_signatures=False))
    with pytest.raises(ms.SigningKeyRequired):
        Recreate(dep, alias="production").deploy("m", "2")
    assert dep.state().slots == ()
    assert not (tmp_path / "reg" / "deployments").exists()
    # No alias to move: it serves, and records the rollout (records are not signed, so
    # the key holder reads it).
    rollout = Recreate(dep, alias=None).deploy("m", "2")
    stored = RegistryHistory(signed).records("m")
    assert [r.id for r in stored] == [rollout.record().id]
