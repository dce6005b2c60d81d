"""Review 40: option values of digits, and a damaged slot under a good listing chunk.

``-o`` values are read as JSON, so ``-o user=1234`` was refused (an int) and ``-o
password=12345678`` reached a plugin as an int, which its error message then showed
unmasked (only text and bytes were masked). A listing chunk whose slot could not be read
was condemned, and the slots it fell back on failed the same way: one damaged slot broke
every page of the model.
"""

from __future__ import annotations

import json
import textwrap
import warnings
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import modelship as ms
from modelship._cli_common import storage_options
from modelship.cli import main
from modelship.registry import Registry
from modelship.registry._layout import listing_key, slot_key
from modelship.registry._listing import CHUNK
from modelship.registry._open import _call_plugin, _masked_options
from modelship.testing import MemoryStore

# --- 1. credentials of digits are text; a number a plugin echoes is masked ------------------


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("user=1234", "1234"),
        ("password=12345678", "12345678"),
        ("secret=007", "007"),
        ("key=1e5", "1e5"),
        ("token=null", "null"),
        ("username=null", "null"),
        ("account_key=-12.50", "-12.50"),
    ],
)
def test_a_credential_option_of_digits_or_a_json_word_is_the_text_given(
    pair: str, expected: str
) -> None:
    key = pair.partition("=")[0]
    assert storage_options([pair]) == {key: expected}


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ('password="0123"', "0123"),  # quoted as JSON: how digits were given so far
        ('token={"type": "authorized_user"}', {"type": "authorized_user"}),  # gcsfs
        ("anon=true", True),  # not a credential: read as JSON as before
        ("token=false", False),  # HfFileSystem: False turns authentication off
        ("max_concurrency=4", 4),
    ],
)
def test_other_options_and_structured_credentials_are_still_read_as_json(
    pair: str, expected: object
) -> None:
    key = pair.partition("=")[0]
    assert storage_options([pair]) == {key: expected}


def test_cli_alias_with_a_user_of_digits_records_that_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # It was a ConfigError: "user must be 1 to 256 printable characters ..., got int".
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    url = str(tmp_path / "reg")
    ms.open_registry(url).register(
        model_name="m", model=b"w", serializer="bytes", capture_environment=False
    )
    code = main(["registry", "alias", url, "m", "production", "1", "-o", "user=1234"])
    assert code == 0, capsys.readouterr().err
    assert [move.by for move in ms.open_registry(url).history("m")] == ["1234"]


@pytest.mark.parametrize(
    "options",
    [
        {"password": 12345678},
        {"pin": 1234.5},
        {"client_kwargs": {"config": {"pin": 98765432}}},
        {"creds": [31415926]},
    ],
    ids=["int", "float", "nested-int", "int-in-list"],
)
def test_a_plugin_message_masks_number_option_values(options: dict[str, Any]) -> None:
    shown = _masked_options(f"login refused with {options!r} ({options})", options)
    for secret in ("12345678", "1234.5", "98765432", "31415926"):
        assert secret not in shown, shown


def test_a_plugin_message_leaves_truth_values_and_short_numbers_shown() -> None:
    # True/False are no secret and common words; 3 digits or fewer mask unrelated text.
    options = {"anon": True, "secure": False, "retries": 5}
    text = "failed after 5 retries (anon=True, secure=False)"
    assert _masked_options(text, options) == text


def test_a_plugin_that_echoes_an_int_password_is_masked_and_not_chained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "echo_plug40.py").write_text(
        textwrap.dedent(
            """
            def factory(url, **options):
                raise RuntimeError(f"login refused for {url} with options {options}")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = EntryPoint("echo40", "echo_plug40:factory", "modelship.registries")
    with pytest.raises(ms.ConfigError) as caught:
        _call_plugin(ep, "echo40", "echo40://x", {"password": 12345678, "region": "eu-west-1"})
    assert "12345678" not in str(caught.value)
    assert "'password': ***" in str(caught.value)
    assert caught.value.__cause__ is None  # the plugin's exception still held it


# --- 2. a damaged slot under a good full chunk -------------------------------------------


def _full_chunk(n: int = CHUNK + 4) -> MemoryStore:
    """A registry of ``n`` versions of m whose first listing chunk is written."""
    store = MemoryStore()
    reg = Registry(store)
    for i in range(n):
        reg.register(model_name="m", model=f"{i}".encode(), serializer="bytes")
    Registry(store).versions("m", limit=3)  # writes chunk 0
    assert store.exists(listing_key("m", 0))
    return store


def test_a_damaged_slot_under_a_full_chunk_is_listed_from_the_chunk_naming_the_slot() -> None:
    store = _full_chunk()
    damaged = slot_key("m", 5)
    store.replace(damaged, b"\x00garbage")
    chunk = store.read(listing_key("m", 0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = Registry(store).versions("m", limit=3)
        whole = Registry(store).versions("m", limit=CHUNK + 4)
    assert [mv.version for mv in page] == ["1", "2", "3"]
    assert [mv.version for mv in whole] == [str(n) for n in range(1, CHUNK + 5)]
    said = [str(w.message) for w in caught if issubclass(w.category, ms.RepairWarning)]
    assert said, "no RepairWarning"
    assert all(damaged in message for message in said), said
    assert all("trusted for slot 5" in message for message in said), said
    assert not any("ignoring the damaged listing chunk" in message for message in said), said
    assert store.read(listing_key("m", 0)) == chunk  # the intact chunk is kept


def test_a_damaged_slot_is_warned_of_once_per_handle() -> None:
    store = _full_chunk()
    store.replace(slot_key("m", 5), b"{}")
    reg = Registry(store)
    with pytest.warns(ms.RepairWarning, match="trusted for slot 5"):
        reg.versions("m", limit=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [mv.version for mv in reg.versions("m", limit=3)] == ["1", "2", "3"]


def test_a_chunk_contradicted_by_a_readable_slot_is_ignored_though_another_slot_is_damaged() -> (
    None
):
    store = _full_chunk()
    store.replace(slot_key("m", 2), b"\x00garbage")
    key = listing_key("m", 0)
    doc = json.loads(store.read(key))
    doc["entries"][5] = None  # slot 6 "dead", though it names committed version 6
    store.replace(key, json.dumps(doc).encode())
    with (
        pytest.warns(ms.RepairWarning, match="trusted for slot 2"),
        pytest.warns(ms.RepairWarning, match="entry 6 is null"),
        pytest.raises(ms.IntegrityError, match=r"sequence slot .*000000000002"),
    ):
        Registry(store).versions("m", limit=3)  # the slots it falls back on hold the damage
