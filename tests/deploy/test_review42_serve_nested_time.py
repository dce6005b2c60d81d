"""The model server, review 42: numpy datetimes and durations inside an answer's cells.

* A ``datetime64`` or ``timedelta64`` array in a cell of an object answer (directly, in a
  dict, in a list), or a ``datetime64`` scalar there, bypassed the one text form: orjson
  wrote it natively on ``/predict`` (``NaT`` as ``"1677-09-21T00:12:43.145224"``, a
  real-looking date; ``[D]``'s ``NaT`` as ``"1970-01-01T00:00:00"``), a ``[ns]``
  duration as integer nanoseconds, and the log wrote ``tolist()`` (integer nanoseconds,
  date-only text for ``[D]``): ``/predict`` and the log disagreed. v2 answered 200 with
  numpy's text holding ``'NaT'``, where a missing value is a 500.
* A structured answer with a ``datetime64``/``timedelta64`` field was written as
  integers of its unit (``[ns]``), or date-only text (``[D]``).
* orjson 3.13 stops the process (SIGILL) writing ``datetime64("1969-12")``: such a cell
  in an object answer killed the server, on ``/predict`` and in the log's writer.

A structured answer is written as before, each record a JSON array of its fields in
order, now with each datetime or duration field written as such an answer's cell is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _inprocess_serve import answering, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelship.deploy.serve import read_prediction_log
from modelship.deploy.serve._log import json_ready, json_value

ONE_ROW = {"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 0.0]}
MOMENT = "2026-12-06T08:00:00.000001"


@pytest.fixture
def serve() -> Iterator[Any]:
    yield from serving()


def _predict(client: Any) -> Any:
    answer = client.post("/predict", json={"instances": [[1.0, 0.0]]})
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def _v2(client: Any) -> Any:
    return client.post("/v2/models/m/infer", json={"inputs": [ONE_ROW]})


def _logged(client: Any) -> list[Any]:
    server = client.app.state.server
    server.flush_log()
    return [row["output"] for row in read_prediction_log(server.config.prediction_log)]


def _m8(*values: str, unit: str = "ns") -> Any:
    return np.array(values, dtype=f"M8[{unit}]")


def _objects(*cells: Any) -> Any:
    out = np.empty(len(cells), dtype=object)
    out[:] = list(cells)
    return out


# --- 1: one text on /predict and in the log, at any depth ---------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        # was ["...000001", "1677-09-21T00:12:43.145224"] on /predict, [179654..., None] logged
        (_m8(MOMENT, "NaT"), [MOMENT, None]),
        # was ["1970-01-01T00:00:00"] on /predict: [D]'s NaT as a date
        (_m8("NaT", unit="D"), [None]),
        # was "2026-12-06T00:00:00" on /predict, "2026-12-06" logged
        ({"when": _m8("2026-12-06", unit="D")}, {"when": ["2026-12-06T00:00:00"]}),
        ([1, [_m8(MOMENT)]], [1, [[MOMENT]]]),
        # was [90000000000] on /predict and in the log
        (np.array([90], dtype="m8[s]").astype("m8[ns]"), ["0:01:30"]),
        ({"wait": np.array([3, "NaT"], dtype="m8[m]")}, {"wait": ["0:03:00", None]}),
        # a datetime64 scalar orjson wrote itself: NaT[ns] was "1677-09-21T00:12:43.145224"
        (np.datetime64("NaT", "ns"), None),
        (
            [np.datetime64("NaT", "ns"), np.datetime64("2026-12-06", "D")],
            [None, "2026-12-06T00:00:00"],
        ),
        # beyond the years a datetime holds: numpy's text, not a wrapped date
        ({"far": _m8("584600", unit="Y")}, {"far": ["584600"]}),
        # an array of objects in a cell
        ([_objects(_m8(MOMENT), "x")], [[[MOMENT], "x"]]),
    ],
    ids=repr,
)
def test_a_datetime_or_duration_in_a_cell_is_one_text_on_predict_and_in_the_log(
    serve: Any, tmp_path: Path, cell: Any, written: Any
) -> None:
    client = serve(answering(cell), prediction_log=str(tmp_path / "log"), warmup=False)
    assert _predict(client) == [written]
    assert _logged(client) == [written]


# A cell of nested lists and dicts holding numpy datetimes and durations of any unit and
# count (NaT too, beyond a datetime's years too), beside text, integers and floats.
_UNITS = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns"]
_COUNTS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),  # -(2**63) is NaT
    st.integers(-(10**6), 10**6),
    st.just(-(2**63)),
)


@st.composite
def _times(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["M8", "m8"]))
    unit = draw(st.sampled_from(_UNITS))
    counts = draw(st.lists(_COUNTS, min_size=1, max_size=3))
    times = np.array(counts, dtype=np.int64).view(f"{kind}[{unit}]")
    return times[0] if draw(st.booleans()) else times


@st.composite
def _records(draw: st.DrawFn) -> Any:
    """Records of a number and a datetime or duration: a structured array, or one record."""
    kind = draw(st.sampled_from(["M8", "m8"]))
    unit = draw(st.sampled_from(_UNITS))
    counts = draw(st.lists(_COUNTS, min_size=1, max_size=2))
    records = np.zeros(len(counts), dtype=[("p", "f8"), ("t", f"{kind}[{unit}]")])
    records["p"] = 0.5
    records["t"] = np.array(counts, dtype=np.int64).view(f"{kind}[{unit}]")
    return records[0] if draw(st.booleans()) else records


_LEAVES = st.one_of(
    _times(),
    _records(),
    st.text(max_size=3),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
_CELLS = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)


def _expected(cell: Any) -> tuple[Any, bool]:
    """What ``/predict`` and the log must write for ``cell``, and whether it holds NaT:
    each datetime or duration of an array as the same scalar is written, a record as the
    list of its fields."""
    if isinstance(cell, np.void):
        pieces = [_expected(cell[name]) for name in cell.dtype.names or ()]
        return [text for text, _ in pieces], any(nat for _, nat in pieces)
    if isinstance(cell, np.ndarray):
        pieces = [_expected(one) for one in cell]
        return [text for text, _ in pieces], any(nat for _, nat in pieces)
    if isinstance(cell, (np.datetime64, np.timedelta64)):
        return json_value(cell), bool(np.isnat(cell))
    if isinstance(cell, list):
        pieces = [_expected(one) for one in cell]
        return [text for text, _ in pieces], any(nat for _, nat in pieces)
    if isinstance(cell, dict):
        pieces = {key: _expected(one) for key, one in cell.items()}
        return {k: text for k, (text, _) in pieces.items()}, any(n for _, n in pieces.values())
    return cell, False


def test_predict_and_the_log_write_nested_datetimes_and_durations_alike_and_v2_refuses_nat(
    serve: Any, tmp_path: Path
) -> None:
    asked: dict[str, Any] = {}

    def predict(x: Any) -> Any:  # the cell of the example being checked
        return answering(asked["cell"])(x)

    client = serve(predict, prediction_log=str(tmp_path / "log"), warmup=False)
    server = client.app.state.server

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cell=_CELLS)
    def check(cell: Any) -> None:
        asked["cell"] = cell
        written, nat = _expected(cell)
        answer = client.post("/predict", json={"instances": [[1.0, 0.0]]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [written]
        request_id = answer.headers["x-request-id"]
        server.flush_log()
        logged = [
            row["output"]
            for row in read_prediction_log(server.config.prediction_log)
            if row["request_id"] == request_id
        ]
        assert logged == [written]
        v2 = _v2(client)
        assert v2.status_code == (500 if nat else 200), v2.text
        if nat:
            assert "missing value" in v2.json()["error"]

    check()


# --- 2: v2 refuses NaT inside a cell -------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        _m8(MOMENT, "NaT"),  # was 200: ["['2026-12-06T08:00:00.000001000' 'NaT']"]
        {"when": _m8("NaT", unit="D")},
        [[np.datetime64("NaT", "ns")]],
        {"wait": np.array(["NaT"], dtype="m8[s]")},
        np.array([(0.5, "NaT")], dtype=[("p", "f8"), ("t", "M8[ns]")])[0],
    ],
    ids=repr,
)
def test_nat_inside_a_cell_is_a_500_on_v2(serve: Any, cell: Any) -> None:
    client = serve(answering(cell), warmup=False)
    v2 = _v2(client)
    assert v2.status_code == 500, v2.text
    assert "missing value" in v2.json()["error"]
    assert _predict(client) == [json_ready(cell)]


def test_datetimes_inside_a_cell_without_nat_are_text_on_v2_as_before(serve: Any) -> None:
    client = serve(answering({"when": _m8("2026-12-06", unit="D")}))
    v2 = _v2(client)
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0] == {
        "name": "predict",
        "shape": [1],
        "datatype": "BYTES",
        "data": ["{'when': array(['2026-12-06'], dtype='datetime64[D]')}"],
    }


# --- 3: structured answers -----------------------------------------------------------------

_RECORD = [("p", "f8"), ("t", "M8[ns]"), ("wait", "m8[ns]"), ("days", "M8[D]", (2,))]


def test_a_structured_answer_writes_its_datetime_and_duration_fields_as_text(
    serve: Any, tmp_path: Path
) -> None:
    record = (0.5, "2026-12-06T08:00:00", 90_000_000_000, ["2026-12-06", "NaT"])
    client = serve(
        lambda x: np.array([record] * len(x), dtype=_RECORD), prediction_log=str(tmp_path / "log")
    )
    # was [0.5, 1796544000000000000, 90000000000, [20793, None]]-like integers of the unit
    written = [0.5, "2026-12-06T08:00:00", "0:01:30", ["2026-12-06T00:00:00", None]]
    assert _predict(client) == [written]
    assert _logged(client) == [written]
    v2 = _v2(client)
    assert v2.status_code == 500, v2.text  # the NaT in "days"
    assert "missing value (NaT)" in v2.json()["error"]


def test_a_structured_answers_day_field_is_written_as_a_day_answer_is(
    serve: Any, tmp_path: Path
) -> None:
    days = [("p", "f8"), ("t", "M8[D]")]
    client = serve(
        lambda x: np.array([(0.5, "2026-12-06")] * len(x), dtype=days),
        prediction_log=str(tmp_path / "log"),
    )
    written = [0.5, "2026-12-06T00:00:00"]  # was [0.5, "2026-12-06"]: a date's text
    assert _predict(client) == [written]
    assert _logged(client) == [written]


def test_a_structured_answer_without_datetimes_is_written_as_before(
    serve: Any, tmp_path: Path
) -> None:
    plain = [("p", "f8"), ("n", "i8"), ("label", "S3")]
    client = serve(
        lambda x: np.array([(0.5, 2**62, b"cat")] * len(x), dtype=plain),
        prediction_log=str(tmp_path / "log"),
    )
    assert _predict(client) == [[0.5, 2**62, "cat"]]
    assert _logged(client) == [[0.5, 2**62, "cat"]]


def test_holds_time_finds_datetime_fields_at_any_depth() -> None:
    from modelship.deploy.serve._log import holds_time

    inner = np.dtype([("x", "f8"), ("t", "m8[s]")])
    assert holds_time(np.dtype([("p", "f8"), ("inner", inner)]))
    assert holds_time(np.dtype([("days", "M8[D]", (2, 3))]))
    assert not holds_time(np.dtype([("p", "f8"), ("label", "U3"), ("o", "O")]))


@pytest.mark.parametrize(
    ("cells", "free"),
    [
        (["cat", 2, 0.5, None, np.int64(1), np.str_("x"), b"y"], True),
        ([{"p": np.float64(0.5), "top": np.arange(3)}, [np.array(["a"], dtype=object)]], True),
        ([np.timedelta64(1, "s")], False),  # numpy's integer, but a duration
        ([{"p": [np.array([np.datetime64("NaT")], dtype=object)]}], False),
        ([np.array([(1, "2026")], dtype=[("n", "i8"), ("t", "M8[Y]")])[0]], False),
    ],
    ids=repr,
)
def test_time_free_looks_into_every_cell(cells: list[Any], free: bool) -> None:
    from modelship.deploy.serve._log import time_free

    assert time_free(cells) is free


# --- 4: a datetime64 orjson cannot write does not stop the server ------------------------

_SERVE_ONE = """
import sys, tempfile
import numpy as np
sys.path.insert(0, {tests!r})
from _inprocess_serve import answering, serving
from modelship.deploy.serve import read_prediction_log

folder = tempfile.mkdtemp()
serve = next(serving())
client = serve(answering({cell}), prediction_log=folder + "/log", warmup=False)
answer = client.post("/predict", json={{"instances": [[1.0, 0.0]]}})
print(answer.status_code, answer.json()["predictions"], flush=True)
client.app.state.server.flush_log()
print([row["output"] for row in read_prediction_log(folder + "/log")], flush=True)
"""


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('[np.datetime64("1969-12", "M")]', ["1969-12-01T00:00:00"]),
        ('{"when": np.array(["1968-12"], dtype="M8[M]")}', {"when": ["1968-12-01T00:00:00"]}),
    ],
)
def test_a_datetime64_orjson_crashes_on_is_answered_and_logged(cell: str, written: Any) -> None:
    # In a process of its own: orjson 3.13 writing it stops the process (SIGILL).
    script = _SERVE_ONE.format(tests=str(Path(__file__).parent), cell=cell)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    status, logged = done.stdout.splitlines()
    assert status == f"200 {[written]!r}"
    assert logged == repr([written])


def test_the_log_writes_a_datetime64_orjson_crashes_on(tmp_path: Path) -> None:
    # The log alone: the server's answer written, the log's writer stopped the process.
    script = f"""
import json
import numpy as np
from modelship.deploy.serve import PredictionLog, read_prediction_log
log = PredictionLog({str(tmp_path / "log")!r})
answer = np.empty(1, dtype=object)
answer[0] = [np.datetime64("1969-12", "M"), np.array(["1969-12", "NaT"], dtype="M8[M]")]
log.add("r", np.zeros((1, 2)), answer, latency_seconds=0.1, model="m", version="1")
log.flush()
print(json.dumps([row["output"] for row in read_prediction_log({str(tmp_path / "log")!r})]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    december = "1969-12-01T00:00:00"
    assert json.loads(done.stdout) == [[december, [december, None]]]
