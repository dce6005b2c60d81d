"""Requirements lines read as pip reads them: lines joined before comments are removed,
options split off before the marker, a byte order mark dropped, in linear time."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelship.errors import ConfigError
from modelship.parity import EnvironmentSnapshot, Requirements
from modelship.parity._cli import main
from modelship.parity._pins import _logical_lines, marker_environment, read_pins

PROD = EnvironmentSnapshot(
    python_version="3.11.7",
    python_implementation="CPython",
    os="Linux",
    machine="x86_64",
    packages={"numpy": "2.1.0"},
)
HERE = marker_environment(PROD)
HASH_A, HASH_B = "sha256:" + "0" * 64, "sha256:" + "1" * 64


def test_pip_compile_hashes_after_a_marker_are_read() -> None:
    text = (
        f'numpy==2.1.0 ; python_version >= "3.10" \\\n    --hash={HASH_A} \\\n'
        f"    --hash={HASH_B}\n"
        f'scipy==1.13.0 ; python_version < "3.10" \\\n    --hash {HASH_A}\n'
    )
    assert read_pins(text, "req.txt", HERE) == {"numpy": "2.1.0"}


def test_a_comment_ending_in_a_backslash_swallows_the_next_line_as_in_pip() -> None:
    text = "numpy==2.1.0  # pinned for the GPU image \\\nscipy==1.13.0\n"
    assert read_pins(text, "req.txt", HERE) == {"numpy": "2.1.0"}


def test_a_marker_after_hash_is_ignored_as_pip_ignores_it() -> None:
    text = f'numpy==2.1.0 --hash={HASH_A} ; python_version < "3.0"\n'
    assert read_pins(text, "req.txt", HERE) == {"numpy": "2.1.0"}


def test_an_option_other_than_hash_after_a_pin_is_refused() -> None:
    with pytest.raises(ConfigError, match="only --hash"):
        read_pins("numpy==2.1.0 --config-settings x=y\n", "req.txt", HERE)


def test_an_environment_variable_reference_is_refused() -> None:
    with pytest.raises(ConfigError, match="environment variable"):
        read_pins("numpy==${NUMPY_VERSION}\n", "req.txt", HERE)


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    assert read_pins("\ufeffnumpy==2.1.0\r\n", "req.txt", HERE) == {"numpy": "2.1.0"}
    snap = tmp_path / "snap.json"
    snap.write_text(PROD.to_json(), encoding="utf-8")
    for name, text in (
        ("req.txt", "numpy==2.1.0\r\n"),
        ("req.json", Requirements(packages={"numpy": "2.1.0"}).to_json()),
    ):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        args = ["check", "--snapshot", str(snap), "--against", str(snap), "--requirements"]
        assert main([*args, str(path)]) == 0


# Not timed tests: inputs a quadratic reader would take tens of minutes over (the old
# comment search took 8.9 s at 40,000 spaces), read here in milliseconds; the timeout only
# turns such a hang into a failure.
@pytest.mark.timeout(120)
def test_a_long_line_of_spaces_is_read_in_linear_time() -> None:
    with pytest.raises(ConfigError):
        read_pins("numpy==2.1.0" + " " * 400_000 + "x\n", "req.txt", HERE)


@pytest.mark.timeout(120)
def test_a_long_marker_is_tokenised_in_linear_time() -> None:
    marker = " or ".join(['os_name == "posix"'] * 50_000)
    assert read_pins(f"numpy==2.1.0 ; {marker}\n", "req.txt", HERE) == {"numpy": "2.1.0"}


# No deadline: the first example imports pip, which takes longer than hypothesis's 200 ms.
@settings(deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "\t", "#", "\\", "\n", "b c"]), max_size=30))
def test_lines_are_joined_and_stripped_of_comments_as_pip_does(pieces: list[str]) -> None:
    from pip._internal.req import req_file  # pip's own reader: the reference

    text = "".join(pieces)
    assert _logical_lines(text) == list(req_file.preprocess(text))
