"""The model server, review 40, second look.

* Counting how deep a body nests (for a body read again exactly) still took memory per
  escape and per string: a string of 1.75M ``\\n`` escapes took 200 MiB, 700,000 short
  strings 143 MiB. An ``INT64``/``UINT64`` cell far beyond its type's range read the whole
  body again before it was refused.
* ``/predict`` answered a 500 for a dict keyed by numpy text (``np.str_``: orjson takes
  ``str`` itself only as a key); a ``np.bool_`` key was written ``"True"``, not as JSON
  writes it.
* ``-o token=false`` reached the file system as the text ``"false"``: Hugging Face's
  ``token=False`` (authentication off) could not be given.
* ``LocalDeployer(server_args=["-o", "signing_key=..."])`` was accepted, and every server
  it started exited (the deployer hands its servers the registry's key itself).
* ``/predict`` and the prediction log walked every cell of an object answer in Python
  (``json_ready``) even when orjson writes it as it is: 3 to 8 times slower for 10,000
  rows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import answering, peak_bytes_of_nesting, serving

import modelship as ms
from modelship._cli_common import storage_options
from modelship.deploy import LocalDeployer
from modelship.deploy.serve import PredictionLog, _app, _log, read_prediction_log
from modelship.deploy.serve._app import _nesting
from modelship.errors import ConfigError

#: What counting the nesting of a body of a few MB may take (it held 100 MiB and more).
MEMORY_BOUND = 16 * 2**20


@pytest.fixture
def serve() -> Iterator[Any]:
    yield from serving()


# --- 1. nesting counted in bounded memory; a cell far out of range refused at once ---------


def test_nesting_a_body_of_many_escapes_takes_little_memory() -> None:
    body = json.dumps({"note": "\n" * 1_000_000, "x": [[1]]}).encode()
    depth, peak = peak_bytes_of_nesting(body)
    # Before: a backtracking point per escape (1.75M escapes took 200 MiB).
    assert depth == 3
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.1f} MiB"


def test_nesting_a_body_of_many_short_strings_takes_little_memory() -> None:
    body = json.dumps([["a"] * 350_000, ["b"] * 350_000]).encode()
    depth, peak = peak_bytes_of_nesting(body)
    # Before: re.sub built a piece per string (700,000 strings took 143 MiB).
    assert depth == 2
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    "body",
    [
        rb'["\\\\", [["\\\"[", "\"\"]"]]]',  # runs of escaped backslashes and quotes
        b'["' + b"\\\\" * 70_000 + b'", [[["' + b'\\"' * 70_000 + b'"]]]]',  # across pieces
        b'["' + b"[" * 300_000 + b'", [1]]',  # a piece beginning inside a string
    ],
)
def test_nesting_reads_escapes_across_the_pieces_it_is_counted_in(body: bytes) -> None:
    def depth(value: Any) -> int:
        return 1 + max(map(depth, value), default=0) if isinstance(value, list) else 0

    assert _nesting(body) == depth(json.loads(body))


@pytest.fixture
def rereads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The paths the server reads the body again for (each call recorded)."""
    calls: list[tuple[Any, ...]] = []
    reread = _app._reread

    def recorded(body: bytes, *path: Any) -> Any:
        calls.append(path)
        return reread(body, *path)

    monkeypatch.setattr(_app, "_reread", recorded)
    return calls


def _v2_body(datatype: str, data: str, note_escapes: int = 100_000) -> bytes:
    note = json.dumps("\n" * note_escapes)
    return (
        '{"parameters": {"note": ' + note + '}, "inputs": [{"name": "x", "shape": [1, 2], '
        '"datatype": "' + datatype + '", "data": ' + data + "}]}"
    ).encode()


def _refused_v2(serve: Any, datatype: str, data: str) -> Any:
    """The answer to a v2 request of ``data`` as ``datatype`` (with a note of escapes),
    checked to be a 400."""
    client = serve(lambda x: x[:, 0])
    answer = client.post(
        "/v2/models/m/infer",
        content=_v2_body(datatype, data),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    return answer


@pytest.mark.parametrize(
    ("datatype", "data"),
    [
        ("INT64", f"[{2**70 + 1}, 0]"),
        ("INT64", f"[{-(2**70)}, 0]"),
        ("INT64", f"[{-(2**63) - 2**12}, 0]"),  # a float64 step and more beyond the range
        ("UINT64", f"[{2**64 + 2**13}, 0]"),
        ("UINT64", f"[{2**65}, 0]"),
        ("UINT64", f"[{-(2**64)}, 0]"),
        ("INT8", f"[{2**64}, 0]"),
        ("INT64", "[1e300, 0]"),
    ],
)
def test_a_cell_far_outside_an_integer_types_range_is_refused_without_reading_again(
    serve: Any, rereads: list[tuple[Any, ...]], datatype: str, data: str
) -> None:
    answer = _refused_v2(serve, datatype, data)
    assert answer.json()["error"] == f"data[0] holds a value outside {datatype}'s range"
    assert rereads == []


@pytest.mark.parametrize(
    ("datatype", "data", "said"),
    [
        # Both arrive as floats inside the range or at its edge: what was written decides.
        ("INT64", f"[{-(2**63) - 1}, 0]", "outside INT64's range"),
        ("UINT64", f"[{2**64 + 1}, 0]", "outside UINT64's range"),
        ("INT64", "[-9223372036854775809.0, 0]", "float literal"),
    ],
)
def test_a_cell_that_may_round_into_the_range_is_still_read_again_exactly(
    serve: Any, rereads: list[tuple[Any, ...]], datatype: str, data: str, said: str
) -> None:
    answer = _refused_v2(serve, datatype, data)
    assert said in answer.json()["error"]
    assert rereads == [("inputs", 0, "data")]


# --- 2. dict keys of numpy types --------------------------------------------------------


NUMPY_KEYS = {np.str_("no"): 0.75, np.int64(2): 1, np.bool_(True): 2, np.float64(0.5): 3}
AS_JSON = {"no": 0.75, "2": 1, "true": 2, "0.5": 3}


def test_predict_answers_a_dict_keyed_by_numpy_values_with_keys_as_json_writes_them(
    serve: Any, tmp_path: Path
) -> None:
    log = str(tmp_path / "log")
    client = serve(answering(NUMPY_KEYS), prediction_log=log, log_flush_seconds=3600)
    answer = client.post("/predict", json={"instances": [[0.25, 0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [AS_JSON]
    client.app.state.server.flush_log()
    assert [row["output"] for row in read_prediction_log(log)] == [AS_JSON]


def test_a_dict_keyed_by_numpy_text_alone_is_answered(serve: Any) -> None:
    labels = np.array(["no", "yes"])
    client = serve(answering(dict.fromkeys(labels, 0.5)))
    answer = client.post("/predict", json={"instances": [[0.25, 0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [{"no": 0.5, "yes": 0.5}]


# --- 3. -o token=false is the truth value ------------------------------------------------


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("token=false", False),  # Hugging Face: authentication off
        ("token=true", True),
        ("password=false", False),
        ("token=12345", "12345"),  # a credential of digits is still that text
        ("token=null", "null"),
        ("signing_key=false", "false"),  # always the text given
    ],
)
def test_a_credential_option_of_true_or_false_is_a_truth_value(pair: str, expected: Any) -> None:
    key = pair.partition("=")[0]
    assert storage_options([pair]) == {key: expected}


# --- 4. LocalDeployer refuses -o signing_key=... in server_args --------------------------

KEY = "k" * 32


@pytest.mark.parametrize(
    "server_args",
    [
        ["-o", f"signing_key={KEY}"],
        ["--option", f"signing_key={KEY}"],
        [f"-osigning_key={KEY}"],
        [f"--option=signing_key={KEY}"],
        ["--no-warmup", "--opt", f"signing_key={KEY}"],
    ],
)
def test_local_deployer_refuses_a_signing_key_among_server_args(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_args: list[str]
) -> None:
    monkeypatch.delenv("MODELSHIP_SIGNING_KEY", raising=False)
    registry = ms.open_registry(str(tmp_path / "reg"), signing_key=KEY.encode())
    registry.register("m", functools.partial(np.sum, axis=1), "1")
    with pytest.raises(ConfigError, match="signing key") as caught:
        LocalDeployer(registry=registry, server_args=server_args)
    assert "open_registry(url, signing_key=...)" in str(caught.value)
    assert KEY not in str(caught.value)


# --- 5. object answers are written by orjson; json_ready only for what it refuses -------


@pytest.fixture
def readied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Where json_ready was called from: "answer" (/predict) or "log"."""
    calls: list[str] = []

    def counting(where: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def json_ready(value: Any, depth: int = 0) -> Any:
            if depth == 0:
                calls.append(where)
            return real(value, depth)

        return json_ready

    monkeypatch.setattr(_app, "json_ready", counting("answer", _app.json_ready))
    monkeypatch.setattr(_log, "json_ready", counting("log", _log.json_ready))
    return calls


ROWS = {"label": "a", "score": 0.5, "ids": [1, 2, 3], "raw": b"yes", "none": None}


def test_an_object_answer_orjson_writes_is_not_walked_in_python(
    serve: Any, readied: list[str], tmp_path: Path
) -> None:
    log = str(tmp_path / "log")
    client = serve(answering(ROWS), prediction_log=log, log_flush_seconds=3600)
    readied.clear()  # the warm-up's answer
    answer = client.post("/predict", json={"instances": [[0, 0], [1, 0]]})
    assert answer.status_code == 200, answer.text
    written = {**ROWS, "raw": "yes"}
    assert answer.json()["predictions"] == [written, written]
    client.app.state.server.flush_log()
    assert [row["output"] for row in read_prediction_log(log)] == [written, written]
    assert readied == []


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ({"n": 2**70, "b": b"x"}, {"n": "1180591620717411303424", "b": "x"}),
        ({1: "a", None: "b"}, {"1": "a", "null": "b"}),
        ([np.str_("k"), {np.str_("k"): 1}], ["k", {"k": 1}]),
    ],
    ids=["beyond-64-bits", "keys-not-text", "numpy-text-key"],
)
def test_what_orjson_refuses_in_an_object_answer_is_made_ready_and_written(
    serve: Any, readied: list[str], tmp_path: Path, cell: Any, written: Any
) -> None:
    log = str(tmp_path / "log")
    client = serve(answering(cell), prediction_log=log, log_flush_seconds=3600)
    answer = client.post("/predict", json={"instances": [[0, 0]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [written]
    client.app.state.server.flush_log()
    assert [row["output"] for row in read_prediction_log(log)] == [written]
    assert "answer" in readied
    assert "log" in readied


def test_the_log_writes_an_object_answer_orjson_writes_without_walking_it(
    tmp_path: Path, readied: list[str]
) -> None:
    log = PredictionLog(str(tmp_path / "log"))
    answer = np.empty(2, dtype=object)
    answer[0], answer[1] = ROWS, [b"b", (1, 2)]
    log.add("r", np.zeros((2, 1)), answer, latency_seconds=0.0, model="m", version="1")
    assert log.flush() == 2
    logged = [row["output"] for row in read_prediction_log(str(tmp_path / "log"))]
    assert logged == [{**ROWS, "raw": "yes"}, ["b", [1, 2]]]
    assert readied == []
