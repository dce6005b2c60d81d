"""The model server, review 40.

* Counting how deep a body nests (for one holding a number of 2**63 or more, read again
  by the standard library's parser) took memory per character of its strings: a body
  with a string of 3 MB made the server allocate hundreds of MiB.
* ``modelship serve ... -o signing_key=...`` crashed with a TypeError (the key reached
  ``open_registry`` twice); the key given with ``-o`` is the one used, over the
  environment's, and one given with ``--signing-key-fd`` or ``--signing-key-env`` too is
  refused.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from _inprocess_serve import peak_bytes_of_nesting
from hypothesis import given
from hypothesis import strategies as st

import modelship as ms
from modelship.cli import main
from modelship.deploy.serve._app import _nesting

#: The modelship being tested (the subprocess imports the same one).
SRC = Path(ms.__file__).resolve().parents[1]
RIGHT_KEY = "right-key-" + "r" * 22
WRONG_KEY = "wrong-key-" + "w" * 22
#: What the memory tests allow counting a body of about 3 MB to take.
MEMORY_BOUND = 16 * 2**20


# --- nesting counted outside strings, in memory bounded by the brackets -------------------


def test_nesting_a_body_with_a_long_string_takes_little_memory() -> None:
    body = b'{"instances": [[1e19, 1]], "note": "' + b"a" * 3_000_000 + b'"}'
    depth, peak = peak_bytes_of_nesting(body)
    # Before: 356 MiB (a backtracking point per character of the string).
    assert depth == 3
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.1f} MiB"


def test_nesting_a_body_of_numbers_takes_little_memory() -> None:
    body = b'{"instances": [[1e19' + b", 1" * 1_000_000 + b"]]}"
    depth, peak = peak_bytes_of_nesting(body)
    # Before: 49 MiB (26 bytes for each byte of the body).
    assert depth == 3
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (rb'{"a": "x\"[y", "b": [[1]]}', 3),  # an escaped quote does not end the string
        (rb'{"a": "\\", "b": [[1]]}', 3),  # a string ending in an escaped backslash
        (rb'{"a": "\\\\\"]]", "b": [1]}', 2),  # backslashes, then an escaped quote
        (rb'["\\"]', 1),  # the string's last character is a backslash: it ends there
        (rb'["[", "]]]", {"{": "}"}]', 2),
        (rb'[[[[""]]]]', 4),
        (rb'{"\"": [[["\\\""]]]}', 4),
        (b"[1e19]", 1),
    ],
)
def test_nesting_counts_brackets_outside_strings_only(body: bytes, depth: int) -> None:
    assert json.loads(body) is not None  # each is valid JSON
    assert _nesting(body) == depth


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


_text = st.text(alphabet=st.sampled_from('ab"\\[]{}/\n\té'), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@given(value=_json, ascii_only=st.booleans())
def test_nesting_is_the_depth_of_what_the_json_holds(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert _nesting(body) == _depth(value)


# --- modelship serve -o signing_key=... -------------------------------------------------


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A registry signed with RIGHT_KEY holding ``adder`` 1; no key in the environment."""
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    url = str(tmp_path / "signed")
    reg = ms.open_registry(url, signing_key=RIGHT_KEY)
    reg.register(model_name="adder", model=functools.partial(np.sum, axis=1))
    return url


def _serve_in_process(url: str, *args: str) -> list[str]:
    # Port 99999 is refused once the version is resolved (and its signature checked),
    # before anything listens: the command returns at once.
    return ["serve", url, "adder", "1", "--no-warmup", "--port", "99999", *args]


def test_serve_takes_the_signing_key_from_an_option(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_serve_in_process(signed, "-o", f"signing_key={RIGHT_KEY}")) == 2
    # Before: "unexpected error: TypeError: ... got multiple values for keyword argument".
    assert "port must be between 0 and 65535" in capsys.readouterr().err


def test_the_options_signing_key_wins_over_the_environments(
    signed: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSHIP_SIGNING_KEY", RIGHT_KEY)
    assert main(_serve_in_process(signed, "-o", f"signing_key={WRONG_KEY}")) == 2
    err = capsys.readouterr().err
    # The option's key was the one used: the registry signs with another (exit 2).
    assert "signs with another key than the one in -o signing_key" in err
    assert "TypeError" not in err


def test_a_signing_key_of_digits_given_as_an_option_is_that_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    digits = "12345678901234567890"
    url = str(tmp_path / "digits")
    reg = ms.open_registry(url, signing_key=digits)
    reg.register(model_name="adder", model=functools.partial(np.sum, axis=1))
    assert main(_serve_in_process(url, "-o", f"signing_key={digits}")) == 2
    assert "port must be between 0 and 65535" in capsys.readouterr().err


def test_a_signing_key_as_an_option_and_in_a_named_variable_is_refused(
    signed: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTHER_KEY", RIGHT_KEY)
    args = ("-o", f"signing_key={RIGHT_KEY}", "--signing-key-env", "OTHER_KEY")
    assert main(_serve_in_process(signed, *args)) == 2
    err = capsys.readouterr().err
    assert "-o signing_key=... and --signing-key-env OTHER_KEY both give the signing key" in err


def test_a_signing_key_as_an_option_and_from_a_descriptor_is_refused(
    signed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, RIGHT_KEY.encode())
    os.close(write_end)
    try:
        args = ("-o", f"signing_key={RIGHT_KEY}", "--signing-key-fd", str(read_end))
        assert main(_serve_in_process(signed, *args)) == 2
    finally:
        with contextlib.suppress(OSError):  # the command may have read and closed it
            os.close(read_end)
    err = capsys.readouterr().err
    assert "-o signing_key=... and --signing-key-fd both give the signing key" in err


def test_run_refuses_a_signing_key_given_twice(signed: str) -> None:
    from modelship.deploy.serve import run
    from modelship.errors import ConfigError

    with pytest.raises(ConfigError, match="signing_key is given both"):
        run(signed, "adder", "1", storage_options={"signing_key": RIGHT_KEY}, signing_key=RIGHT_KEY)


def test_run_takes_the_signing_key_from_storage_options(signed: str) -> None:
    from modelship.deploy.serve import run
    from modelship.errors import ConfigError

    with pytest.raises(ConfigError, match="port must be between"):
        run(signed, "adder", "1", port=99999, storage_options={"signing_key": RIGHT_KEY})


@pytest.fixture
def server_of(signed: str) -> Iterator[subprocess.Popen[str]]:
    """``modelship serve`` of the signed registry given ``-o signing_key=RIGHT_KEY`` while
    the environment holds a wrong key; stopped (SIGTERM, then killed) after the test."""
    env = dict(os.environ, PYTHONPATH=str(SRC), MODELSHIP_SIGNING_KEY=WRONG_KEY)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "modelship", "serve", signed, "adder", "1"),
            *("--port", "0", "--warmup", "[[0.0, 0.0]]", "-o", f"signing_key={RIGHT_KEY}"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        proc.communicate()


@pytest.mark.slow
def test_a_signed_registry_is_served_with_the_key_given_as_an_option(
    server_of: subprocess.Popen[str],
) -> None:
    assert server_of.stdout is not None
    ready, _, _ = select.select([server_of.stdout], [], [], 60)
    line = server_of.stdout.readline() if ready else ""
    assert line, f"no address announced: {server_of.stderr.read() if server_of.stderr else ''}"
    url = json.loads(line)["url"]
    for _ in range(600):  # the warm-up loads and verifies the artifact with the key
        assert server_of.poll() is None, server_of.stderr.read() if server_of.stderr else ""
        if requests.get(url + "/ready", timeout=30).status_code == 200:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"{url} not ready within 60 s")
    answer = requests.post(url + "/predict", json={"instances": [[1.0, 2.5]]}, timeout=30)
    assert answer.json()["predictions"] == [3.5]
    server_of.send_signal(signal.SIGTERM)
    assert server_of.wait(timeout=60) == 0
