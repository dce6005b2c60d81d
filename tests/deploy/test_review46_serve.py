"""A model whose ``predict_proba`` is there but raises on the warm-up input
(scikit-learn's ``GaussianProcessClassifier(multi_class="one_vs_one")`` on three classes,
one failing on the warm-up's row of zeros only, or once) is served without it in the
metadata and the default outputs, ``predict`` keeps serving, and a request naming it still
calls it, as without a warm-up; the model's own message stays in the server's log. Only
``v2_default_outputs`` naming it fails the start, and an exception that is not the
method's (``MemoryError``, a ``BaseException``) still does. A ``TypeError`` of the model's
(``orjson.JSONEncodeError`` is ``TypeError``) is answered naming its type only.

The servers are started in the test's thread (``ModelServer.start`` loads and warms up
before it returns); their clients are not entered, so the lifespan does not load the
model a second time."""

from __future__ import annotations

import datetime
import enum
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from modelship.deploy.serve import ModelServer, ServeConfig
from modelship.errors import ConfigError

ROWS = [[0.1, 0.2], [0.3, 0.4]]
SECRET = "one_vs_one mode does not support probabilities (/data/private/train.csv)"


class _ProbaRaises:
    """``predict`` answers; ``predict_proba`` raises ``error`` (a ``ValueError`` naming a
    path, as a model's message may)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error if error is not None else ValueError(SECRET)
        self.proba_calls = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (x[:, 0] > 0.2).astype(np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.proba_calls += 1
        raise self.error


def _server(model: Any, **config: Any) -> tuple[ModelServer, list[BaseException]]:
    config.setdefault("warmup", [[0.0, 0.0]])
    failures: list[BaseException] = []
    server = ModelServer(
        lambda: model,
        name="m",
        version="1",
        config=ServeConfig(**config),
        on_failure=failures.append,
    )
    server.start()
    return server, failures


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """``serve(model, **config)``: a client of a ready server of ``model``."""
    from starlette.testclient import TestClient

    servers: list[ModelServer] = []

    def _serve(model: Any, **config: Any) -> Any:
        server, _ = _server(model, **config)
        servers.append(server)
        assert server.ready, server.error
        return TestClient(server.app, raise_server_exceptions=False)

    yield _serve
    for server in servers:
        server.close()


def _infer(client: Any, **extra: Any) -> Any:
    tensor = {"name": "x", "shape": [len(ROWS), 2], "datatype": "FP64"}
    tensor["data"] = [cell for row in ROWS for cell in row]
    return client.post("/v2/models/m/infer", json={"inputs": [tensor], **extra})


def test_a_predict_proba_raising_on_the_warm_up_is_left_out_and_predict_serves(
    serve: Callable[..., Any],
) -> None:
    client = serve(_ProbaRaises())
    outputs = client.get("/v2/models/m").json()["outputs"]
    assert [o["name"] for o in outputs] == ["predict"]
    answer = _infer(client)  # no outputs named: the defaults, predict_proba left out
    assert answer.status_code == 200, answer.text
    assert [o["name"] for o in answer.json()["outputs"]] == ["predict"]
    assert answer.json()["outputs"][0]["data"] == [0, 1]
    answer = client.post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [0, 1]


def test_a_request_naming_a_raising_predict_proba_calls_it_and_gets_a_500_naming_its_type(
    serve: Callable[..., Any],
) -> None:
    model = _ProbaRaises()
    client = serve(model)
    calls = model.proba_calls
    answers = [
        _infer(client, outputs=[{"name": "predict_proba"}]),
        _infer(client, outputs=[{"name": "predict"}, {"name": "predict_proba"}]),
        client.post("/predict", json={"instances": ROWS, "method": "predict_proba"}),
    ]
    for answer in answers:
        assert answer.status_code == 500, answer.text
        error = answer.json()["error"]
        assert error.startswith("the model failed: ValueError (the server's log"), error
        assert "/data/private" not in error
    assert model.proba_calls == calls + 3  # called, as without a warm-up


def test_the_message_of_a_predict_proba_raising_on_the_warm_up_goes_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="modelship"):
        server, _ = _server(_ProbaRaises())
    assert server.ready, server.error
    assert any(
        SECRET in record.getMessage()
        or (record.exc_info is not None and SECRET in str(record.exc_info[1]))
        for record in caplog.records
    )
    left_out = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(left_out) == 1
    assert "it raised ValueError on the warm-up input" in left_out[0]
    assert "/data/private" not in left_out[0]
    server.close()


def test_v2_default_outputs_predict_serves_a_model_whose_predict_proba_raises(
    serve: Callable[..., Any],
) -> None:
    client = serve(_ProbaRaises(), v2_default_outputs=["predict"])
    answer = _infer(client)
    assert answer.status_code == 200, answer.text
    assert [o["name"] for o in answer.json()["outputs"]] == ["predict"]


def test_v2_default_outputs_naming_a_raising_predict_proba_fails_the_start() -> None:
    server, failures = _server(_ProbaRaises(), v2_default_outputs=["predict", "predict_proba"])
    assert not server.ready
    assert isinstance(failures[0], ConfigError)
    message = str(failures[0])
    assert "predict_proba of model 'm' cannot be served: it raised ValueError" in message
    assert "/data/private" not in message
    assert server.error is not None
    assert "/data/private" not in server.error


def test_a_memory_error_in_predict_proba_on_the_warm_up_fails_the_start() -> None:
    # Not the method's fault but the machine's: leaving the method out would serve the
    # version without it for good over a passing shortage.
    server, failures = _server(_ProbaRaises(MemoryError()))
    assert not server.ready
    assert isinstance(failures[0], MemoryError)


def test_a_keyboard_interrupt_in_predict_proba_on_the_warm_up_is_not_swallowed() -> None:
    with pytest.raises(KeyboardInterrupt):
        _server(_ProbaRaises(KeyboardInterrupt()))


def test_without_a_warm_up_a_raising_predict_proba_answers_each_default_v2_request_500(
    serve: Callable[..., Any],
) -> None:
    # Without a warm-up nothing is known of predict_proba before a request: a v2 request
    # naming no outputs runs it and gets a 500 (per request: one input it cannot take
    # must not take the method away from all the others); --v2-default-outputs predict
    # avoids it, and predict serves either way.
    client = serve(_ProbaRaises(), warmup=False)
    answer = _infer(client)
    assert answer.status_code == 500, answer.text
    assert "the model failed: ValueError" in answer.json()["error"]
    assert "/data/private" not in answer.json()["error"]
    assert _infer(client).status_code == 500
    assert _infer(client, outputs=[{"name": "predict"}]).status_code == 200
    client = serve(_ProbaRaises(), warmup=False, v2_default_outputs=["predict"])
    assert _infer(client).status_code == 200


class _ProbaOfLogs:
    """``predict_proba`` takes the log of feature 0, so it raises on a row of zeros (the
    warm-up input derived from ``n_features_in_``) and answers any positive row."""

    n_features_in_ = 2

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (x[:, 1] > 0.3).astype(np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        if np.any(x[:, 0] <= 0):
            raise ValueError("income must be positive (/data/private/incomes.csv)")
        p = x[:, 0] / (1 + x[:, 0])
        return np.column_stack([1 - p, p])


class _ProbaFailsOnce:
    """``predict_proba`` times out on its first call only (a service not up yet)."""

    def __init__(self) -> None:
        self.proba_calls = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.proba_calls += 1
        if self.proba_calls == 1:
            raise TimeoutError("calibration service at 10.0.0.7 timed out")
        return np.column_stack([np.full(len(x), 0.3), np.full(len(x), 0.7)])


def test_a_predict_proba_raising_on_the_warm_up_rows_only_serves_a_request_naming_it(
    serve: Callable[..., Any],
) -> None:
    client = serve(_ProbaOfLogs(), warmup=None)  # the derived row of zeros
    assert [o["name"] for o in client.get("/v2/models/m").json()["outputs"]] == ["predict"]
    answer = _infer(client)  # no outputs named: predict_proba is not among the defaults
    assert answer.status_code == 200, answer.text
    assert [o["name"] for o in answer.json()["outputs"]] == ["predict"]
    answer = client.post("/predict", json={"instances": ROWS, "method": "predict_proba"})
    assert answer.status_code == 200, answer.text
    expected = [[1 / 1.1, 0.1 / 1.1], [1 / 1.3, 0.3 / 1.3]]
    assert answer.json()["predictions"] == [pytest.approx(row) for row in expected]
    answer = _infer(client, outputs=[{"name": "predict_proba"}])
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["shape"] == [2, 2]


def test_a_predict_proba_failing_once_at_the_warm_up_serves_a_request_naming_it(
    serve: Callable[..., Any],
) -> None:
    model = _ProbaFailsOnce()
    client = serve(model)
    assert model.proba_calls == 1
    answer = client.post("/predict", json={"instances": ROWS, "method": "predict_proba"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [[0.3, 0.7], [0.3, 0.7]]


def test_a_predict_proba_raising_on_the_warm_up_is_logged_as_a_warning_with_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="modelship"):
        server, _ = _server(_ProbaFailsOnce())
    assert server.ready, server.error
    (record,) = [r for r in caplog.records if "left out" in r.getMessage()]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "because it raised TimeoutError on the warm-up input" in message
    assert "a request naming it still calls it" in message
    assert record.exc_info is not None
    assert "10.0.0.7" in str(record.exc_info[1])
    server.close()


class _Unreadable:
    """An answer numpy cannot read: torch's CUDA tensor raises ``TypeError`` in
    ``__array__``, its message naming a path."""

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("can't convert cuda:0 device type tensor to numpy (/secret/ckpt.pt)")


class _ProbaUnreadable:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=np.int64)

    def predict_proba(self, x: np.ndarray) -> Any:
        return _Unreadable()


def test_a_predict_proba_warm_up_answer_numpy_cannot_read_is_left_out_and_predict_serves(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="modelship"):
        client = serve(_ProbaUnreadable())
    assert [o["name"] for o in client.get("/v2/models/m").json()["outputs"]] == ["predict"]
    assert client.post("/predict", json={"instances": ROWS}).status_code == 200
    (record,) = [r for r in caplog.records if "left out" in r.getMessage()]
    assert "reading its warm-up answer raised TypeError" in record.getMessage()
    assert "/secret" not in record.getMessage()
    assert record.exc_info is not None
    assert "/secret/ckpt.pt" in str(record.exc_info[1])
    answer = client.post("/predict", json={"instances": ROWS, "method": "predict_proba"})
    assert answer.status_code == 500, answer.text
    assert answer.json()["error"].startswith("the model failed: TypeError (the server's log")


def test_v2_default_outputs_naming_an_unreadable_predict_proba_fails_the_start_by_type() -> None:
    server, failures = _server(_ProbaUnreadable(), v2_default_outputs=["predict_proba"])
    assert not server.ready
    assert isinstance(failures[0], ConfigError)
    assert "reading its warm-up answer raised TypeError" in str(failures[0])
    assert server.error is not None
    assert "/secret" not in server.error


class _RaisesTypeError:
    """``predict`` raises a ``TypeError`` naming a path (``orjson.JSONEncodeError`` is
    ``TypeError``, so it must not be told as an answer orjson could not write)."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise TypeError("cannot open /data/private/customers.parquet")


@pytest.mark.parametrize("route", ["/predict", "v2"])
def test_a_type_error_the_model_raises_is_answered_naming_only_its_type(
    serve: Callable[..., Any], route: str
) -> None:
    client = serve(_RaisesTypeError(), warmup=False)
    answer = _infer(client) if route == "v2" else client.post(route, json={"instances": ROWS})
    assert answer.status_code == 500, answer.text
    error = answer.json()["error"]
    assert error.startswith("the model failed: TypeError (the server's log"), error
    assert "/data/private" not in error


class _TextRaises:
    """A cell whose text cannot be had: ``str()`` raises a ``TypeError`` naming a path."""

    def __str__(self) -> str:
        raise TypeError("no text for /data/private/row-7")


class _AnswersCells:
    def predict(self, x: np.ndarray) -> np.ndarray:
        answer = np.empty(len(x), dtype=object)
        answer[:] = [_TextRaises() for _ in range(len(x))]
        return answer


@pytest.mark.parametrize("route", ["/predict", "v2"])
def test_a_type_error_of_an_answer_cell_is_answered_naming_only_its_type(
    serve: Callable[..., Any], route: str
) -> None:
    # /predict hands the cell to orjson, whose error has the cell's exception as its
    # cause: that one is named, as v2 (which asks the cell for its text itself) names it.
    client = serve(_AnswersCells(), warmup=False)
    answer = _infer(client) if route == "v2" else client.post(route, json={"instances": ROWS})
    assert answer.status_code == 500, answer.text
    error = answer.json()["error"]
    assert "/data/private" not in error
    assert error.startswith("the model failed: TypeError (the server's log"), error


# A datetime whose tzinfo's utcoffset() raises (a tzinfo subclass that does not implement
# it): orjson writing it itself stopped the process (SIGSEGV), so it is run in a child.
# The scripts below run in a child process each: what they test once stopped the process
# (orjson's SIGILL, a recursion without end), which must fail that test, not the run. Each
# child is forked from one process per module that has imported what every script imports
# first (NumPy, Starlette's test client, the server: ~0.7 s of a new interpreter, 3-5 s on
# a loaded CI machine, 21 times); from there it runs as ``python -c SCRIPT ARGS`` would:
# a fresh ``__main__``, ``sys.argv``, its own streams, a normal interpreter exit.
_PRELOADED = """
import json, os, sys, types
import numpy, starlette.testclient, modelship.deploy.serve
answers = os.fdopen(os.dup(1), "w")
answers.write("ready\\n")
answers.flush()
for line in sys.stdin:
    script, args, out, err = json.loads(line)
    pid = os.fork()
    if pid == 0:
        answers.close()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for fd, path in ((1, out), (2, err)):
            opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.argv = ["-c", *args]
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        exec(compile(script, "<string>", "exec"), main.__dict__)
        break  # the script ended: so does the process, as a new interpreter's would
    answers.write(json.dumps(pid) + "\\n")
    answers.flush()
    answers.write(json.dumps(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])) + "\\n")
    answers.flush()
"""


@pytest.fixture(scope="module")
def child_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """``child_process(script, *args)``: ``subprocess.run([python, "-c", script, *args])``
    with its output captured and a 60 s timeout, the child forked from :data:`_PRELOADED`."""
    import os
    import select
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen(
        [sys.executable, "-c", _PRELOADED],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert parent.stdin is not None
    assert parent.stdout is not None
    streams = tmp_path_factory.mktemp("child_process")

    def answer(seconds: float) -> str:
        assert parent.stdout is not None
        if not select.select([parent.stdout], [], [], seconds)[0]:
            return ""
        return parent.stdout.readline().strip()

    def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
        assert parent.stdin is not None
        out, err = streams / "out", streams / "err"
        parent.stdin.write(json.dumps([script, list(args), str(out), str(err)]) + "\n")
        parent.stdin.flush()
        pid = int(answer(60))
        code = answer(60)
        if not code:
            os.kill(pid, signal.SIGKILL)
            answer(60)
            raise subprocess.TimeoutExpired(["-c", script, *args], 60)
        return subprocess.CompletedProcess(
            ["-c", script, *args], int(code), out.read_text(), err.read_text()
        )

    try:
        ready = answer(120)
        assert ready == "ready", f"the preloaded parent did not start: {ready!r}"
        yield run
    finally:
        parent.stdin.close()
        try:
            parent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            parent.kill()
            parent.wait()


_PARTIAL_TZ = """
import datetime, sys
import numpy as np
from starlette.testclient import TestClient
from modelship.deploy.serve import ModelServer, ServeConfig

class Partial(datetime.tzinfo):  # no utcoffset: datetime.tzinfo's raises
    def tzname(self, dt):
        return "X"

class Model:
    def predict(self, x):
        answer = np.empty(len(x), dtype=object)
        answer[:] = [datetime.datetime(2026, 12, 6, 8, tzinfo=Partial()) for _ in x]
        return answer

server = ModelServer(lambda: Model(), name="m", version="1", config=ServeConfig(warmup=False))
server.start()
client = TestClient(server.app, raise_server_exceptions=False)
rows = [[0.1, 0.2], [0.3, 0.4]]
if sys.argv[1] == "v2":
    tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [0.1, 0.2, 0.3, 0.4]}
    answer = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
elif sys.argv[1] == "/predict":
    answer = client.post("/predict", json={"instances": rows})
else:  # what the prediction log asks of such an answer
    from modelship.deploy.serve._log import _values, _written_as_they_are, time_free
    cells = Model().predict(rows).tolist()
    print(time_free(cells), _written_as_they_are(cells))  # the writer asks each datetime
    try:
        _values(Model().predict(rows))
    except NotImplementedError:
        pass  # the log's writer answers for it: what matters is the process going on
    print("went on")
    sys.exit(0)
print(answer.status_code, answer.json()["error"])
"""


@pytest.mark.parametrize("route", ["/predict", "v2", "log"])
def test_a_datetime_whose_utcoffset_raises_is_a_500_naming_its_type_not_a_crash(
    child_process: Callable[..., Any], route: str
) -> None:
    child = child_process(_PARTIAL_TZ, route)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    said = child.stdout.strip().splitlines()
    if route == "log":
        assert said == ["False True", "went on"], child.stdout
    else:
        said = said[-1]
        assert said.startswith("500 the model failed: NotImplementedError (the server's log"), said


def test_v2_default_outputs_naming_a_raising_predict_proba_logs_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The start fails naming the exception's type only: its message, what an operator
    # needs, was logged nowhere.
    with caplog.at_level(logging.WARNING, logger="modelship"):
        server, failures = _server(_ProbaRaises(), v2_default_outputs=["predict_proba"])
    assert not server.ready
    (record,) = [r for r in caplog.records if r.exc_info is not None]
    assert SECRET in str(record.exc_info[1])
    assert "/data/private" not in record.getMessage()
    assert "v2_default_outputs names predict_proba" in record.getMessage()
    assert isinstance(failures[0].__cause__, ValueError)
    assert server.error is not None
    assert "/data/private" not in server.error


class _ProbaOfTextless:
    """``predict_proba`` answers cells whose text (``str()``) raises, naming a path."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=np.int64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        answer = np.empty((len(x), 2), dtype=object)
        answer[:] = [[_TextRaises(), _TextRaises()] for _ in range(len(x))]
        return answer


def test_a_predict_proba_warm_up_answer_of_cells_without_text_is_left_out(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Describing the answer (its cells' text) was outside the guarded block: the start
    # failed, its message (a path) in /ready and every 503.
    with caplog.at_level(logging.WARNING, logger="modelship"):
        client = serve(_ProbaOfTextless())
    assert client.get("/ready").json()["ready"] is True
    assert [o["name"] for o in client.get("/v2/models/m").json()["outputs"]] == ["predict"]
    assert client.post("/predict", json={"instances": ROWS}).status_code == 200
    (record,) = [r for r in caplog.records if "left out" in r.getMessage()]
    assert "reading its warm-up answer raised TypeError" in record.getMessage()
    assert "/data/private" not in record.getMessage()


class _AnswersDictsHoldingNaT:
    def predict(self, x: np.ndarray) -> np.ndarray:
        answer = np.empty(len(x), dtype=object)
        answer[:] = [
            {"account": "ACCT-4242-SECRET", "due": np.datetime64("NaT")} for _ in range(len(x))
        ]
        return answer


def test_a_v2_answer_cell_holding_nat_is_named_by_its_place_not_echoed(
    serve: Callable[..., Any],
) -> None:
    client = serve(_AnswersDictsHoldingNaT(), warmup=False)
    answer = _infer(client)
    assert answer.status_code == 500, answer.text
    error = answer.json()["error"]
    assert "ACCT-4242" not in error
    assert "holds a missing value (NaT) inside its cell 0" in error, error


# --- Stop 46: what orjson writes itself, the log's size estimate, deep bodies ----------

# An Enum member whose value is a numpy datetime64 of a small negative month: orjson
# writes an Enum's value itself (never asking the writer's default), and orjson 3.13
# stopped the process (SIGILL) on datetime64("1969-12"): run in a child.
_ENUM_1969 = """
import enum, glob, json, sys, tempfile
import numpy as np
from starlette.testclient import TestClient
from modelship.deploy.serve import ModelServer, ServeConfig

class Cutoff(enum.Enum):
    LEGACY = np.datetime64("1969-12")

class Months(enum.Enum):  # one member: Enum compares the values of several
    BOTH = np.array(["1969-12", "1970-01"], dtype="M8[M]")

route, holder = sys.argv[1], sys.argv[2]

class Model:
    def predict(self, x):
        if holder == "list":
            return [Cutoff.LEGACY for _ in x]
        answer = np.empty(len(x), dtype=object)
        if holder == "cell":
            answer[:] = [Cutoff.LEGACY for _ in x]
        elif holder == "dict":
            answer[:] = [{"cutoff": Cutoff.LEGACY} for _ in x]
        else:  # an Enum whose value is an M8[M] array
            answer[:] = [Months.BOTH for _ in x]
        return answer

log = tempfile.mkdtemp() if route == "log" else None
server = ModelServer(lambda: Model(), name="m", version="1",
                     config=ServeConfig(warmup=False, prediction_log=log))
server.start()
client = TestClient(server.app, raise_server_exceptions=False)
if route == "v2":
    tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [0.1, 0.2, 0.3, 0.4]}
    answer = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
    print(answer.status_code, json.dumps(answer.json()["outputs"][0]["data"]))
else:
    answer = client.post("/predict", json={"instances": [[0.1, 0.2], [0.3, 0.4]]})
    print(answer.status_code, json.dumps(answer.json()["predictions"]))
if log is not None:
    print("logged", server.flush_log())
    for name in glob.glob(log + "/**/*.jsonl*", recursive=True):
        for line in open(name):
            print("row", json.dumps(json.loads(line)["output"]))
server.close()
"""


@pytest.mark.parametrize("holder", ["cell", "dict", "list", "array"])
@pytest.mark.parametrize("route", ["/predict", "v2", "log"])
def test_an_enum_of_a_1969_month_is_written_as_its_value_not_a_crash(
    child_process: Callable[..., Any], route: str, holder: str
) -> None:
    child = child_process(_ENUM_1969, route, holder)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    said = child.stdout.strip().splitlines()
    when = "1969-12-01T00:00:00"
    value: Any = {
        "cell": when,
        "dict": {"cutoff": when},
        "list": when,
        "array": [when, "1970-01-01T00:00:00"],
    }[holder]
    if route == "v2":
        # A BYTES tensor holds each cell's text: the datetime's, or the dict's own.
        assert said[0].startswith("200 "), said
        if holder in ("cell", "list"):
            assert json.loads(said[0][4:]) == [when, when], said
        return
    assert said[0] == f"200 {json.dumps([value, value])}", said
    if route == "log":
        assert said[1] == "logged 2", said
        assert said[2:] == [f"row {json.dumps(value)}"] * 2, said


class _Odd(enum.Enum):
    UNKNOWN = np.datetime64("NaT", "ns")
    HUGE = 2**70
    GAP = float("nan")


class _AnswersEnum:
    def __init__(self, member: _Odd) -> None:
        self.member = member

    def predict(self, x: np.ndarray) -> np.ndarray:
        answer = np.empty(len(x), dtype=object)
        answer[:] = [self.member for _ in range(len(x))]
        return answer


@pytest.mark.parametrize(
    ("member", "written"),
    [(_Odd.UNKNOWN, None), (_Odd.HUGE, str(2**70)), (_Odd.GAP, None)],
    ids=["NaT", "2**70", "NaN"],
)
def test_an_enum_is_answered_and_logged_as_its_value_by_the_same_rules(
    tmp_path: Any, member: _Odd, written: Any
) -> None:
    from starlette.testclient import TestClient

    server, _ = _server(_AnswersEnum(member), warmup=False, prediction_log=str(tmp_path))
    try:
        client = TestClient(server.app, raise_server_exceptions=False)
        answer = client.post("/predict", json={"instances": ROWS})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [written, written]
        assert server.flush_log() == 2
    finally:
        server.close()
    rows = [json.loads(line) for f in tmp_path.rglob("*.jsonl*") for line in f.open()]
    assert [row["output"] for row in rows] == [written, written]


def test_a_v2_answer_of_an_enum_of_nat_is_refused_as_a_missing_value(
    serve: Callable[..., Any],
) -> None:
    # json_value of it was NaT, then None, and _text asked json_value of None for ever.
    answer = _infer(serve(_AnswersEnum(_Odd.UNKNOWN), warmup=False))
    assert answer.status_code == 500, answer.text
    assert "holds a missing value" in answer.json()["error"], answer.text


def test_a_v2_answer_of_an_enum_of_2_70_is_its_exact_text(serve: Callable[..., Any]) -> None:
    answer = _infer(serve(_AnswersEnum(_Odd.HUGE), warmup=False))
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == [str(2**70)] * 2


def test_text_stops_on_a_missing_value() -> None:
    from modelship.deploy.serve._app import _BadAnswer, _text

    with pytest.raises(_BadAnswer, match="missing value"):
        _text(_Odd.UNKNOWN)


class _Partial(datetime.tzinfo):  # no utcoffset: datetime.tzinfo's raises
    def tzname(self, dt: datetime.datetime | None) -> str:
        return "X"


class _AnswersPartialDicts:
    def predict(self, x: np.ndarray) -> np.ndarray:
        answer = np.empty(len(x), dtype=object)
        when = datetime.datetime(2026, 12, 6, 8, tzinfo=_Partial())
        answer[:] = [{"label": "a", "when": when} for _ in range(len(x))]
        return answer


def _dropped(client: Any) -> float:
    (line,) = [
        line
        for line in client.get("/metrics").text.splitlines()
        if line.startswith("modelship_prediction_log_dropped_rows_total")
    ]
    return float(line.rsplit(" ", 1)[1])


def test_sizing_an_answer_for_the_log_never_turns_its_200_into_a_500(tmp_path: Any) -> None:
    # str() of the datetime (the size estimate's) asks its utcoffset, which raises.
    client = _serve_logged(_AnswersPartialDicts(), tmp_path)
    answer = _infer(client, id="my-id")
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-request-id"] == "my-id"


def test_a_failure_queueing_the_log_drops_the_rows_and_counts_them(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelship.deploy.serve._log import PredictionLog

    def fails(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the log's own fault")

    monkeypatch.setattr(PredictionLog, "add", fails)
    client = _serve_logged(_AnswersList(np.zeros), tmp_path)
    answer = _infer(client, id="my-id")
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-request-id"] == "my-id"
    assert _dropped(client) == 2


def _serve_logged(model: Any, tmp_path: Any) -> Any:
    from starlette.testclient import TestClient

    server, _ = _server(model, warmup=False, prediction_log=str(tmp_path))
    _LOGGED.append(server)
    return TestClient(server.app, raise_server_exceptions=False)


_LOGGED: list[ModelServer] = []


@pytest.fixture(autouse=True)
def _close_logged() -> Iterator[None]:
    yield
    while _LOGGED:
        _LOGGED.pop().close()


def test_the_log_sizes_an_answer_of_more_than_32_dimensions_and_unwritable_cells() -> None:
    from modelship.deploy.serve._log import _cell_bytes, _nbytes

    deep = np.empty((1,) * 40, dtype=object)
    deep[(0,) * 40] = "abc"
    assert _nbytes(deep) == 11

    class NoText:
        def __str__(self) -> str:
            raise LookupError("no text")

    assert _cell_bytes([NoText()]) > 8


@pytest.mark.parametrize("depth", [33, 64])
def test_a_body_nested_33_to_64_deep_around_a_large_number_is_a_400(
    serve: Callable[..., Any], depth: int
) -> None:
    client = serve(_ProbaRaises(), warmup=False)
    deep = "[" * depth + "18446744073709551616" + "]" * depth
    answer = client.post(
        "/predict",
        content='{"instances": ' + deep + "}",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert "must be a list of rows of numbers (2-D)" in answer.json()["error"]
    deep = "[" * depth + "1e19" + "]" * depth
    body = '{"inputs":[{"name":"x","shape":[1,2],"datatype":"INT64","data":' + deep + "}]}"
    answer = client.post(
        "/v2/models/m/infer", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert "but the tensor's shape is [1, 2]" in answer.json()["error"]


class _AnswersList:
    def __init__(self, make: Callable[[int], Any]) -> None:
        self.make = make

    def predict(self, x: np.ndarray) -> Any:
        return self.make(len(x))


@pytest.mark.parametrize(
    ("cell", "text"),
    [(np.timedelta64(90, "s"), "0:01:30"), (np.datetime64("2026-12-06"), "2026-12-06T00:00:00")],
    ids=["timedelta64", "datetime64"],
)
def test_a_list_of_numpy_durations_or_datetimes_is_served_as_an_object_array_is(
    serve: Callable[..., Any], cell: Any, text: str
) -> None:
    client = serve(_AnswersList(lambda n: [cell] * n), warmup=False)
    answer = client.post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [text, text]
    answer = _infer(client)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == [text, text]


def test_big_endian_arrays_in_object_cells_are_answered_on_predict(
    serve: Callable[..., Any],
) -> None:
    def make(n: int) -> np.ndarray:
        answer = np.empty(n, dtype=object)
        answer[:] = [np.array([0.25, 0.75], dtype=">f8") for _ in range(n)]
        return answer

    client = serve(_AnswersList(make), warmup=False)
    answer = client.post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [[0.25, 0.75], [0.25, 0.75]]


def _objects_of(value: Any) -> Callable[[int], np.ndarray]:
    def make(n: int) -> np.ndarray:
        answer = np.empty(n, dtype=object)
        answer[:] = [value] * n
        return answer

    return make


def test_an_integer_of_more_than_4300_digits_is_answered_and_logged_as_exact_text(
    tmp_path: Any,
) -> None:
    big = 7**6000  # 5,071 digits: beyond str()'s default 4,300
    client = _serve_logged(_AnswersList(_objects_of(big)), tmp_path)
    text = decimal_text(big)
    answer = client.post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["predictions"] == [text, text]
    answer = _infer(client)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["outputs"][0]["data"] == [text, text]
    assert _LOGGED[-1].flush_log() == 4
    rows = [json.loads(line) for f in tmp_path.rglob("*.jsonl*") for line in f.open()]
    assert [row["output"] for row in rows] == [text] * 4


def test_an_integer_too_long_to_write_is_a_500_saying_so(serve: Callable[..., Any]) -> None:
    client = serve(_AnswersList(_objects_of(1 << 400_000)), warmup=False)
    for answer in (client.post("/predict", json={"instances": ROWS}), _infer(client)):
        assert answer.status_code == 500, answer.text[:300]
        assert "too long to write as exact decimal text" in answer.json()["error"]


def decimal_text(value: int) -> str:
    import decimal

    return str(decimal.Decimal(value))


_BIG = 7**6000  # 5,071 digits: beyond str()'s default 4,300


def _big_cells() -> dict[str, tuple[Any, Any, Callable[[str], str]]]:
    """Each container cell: the value, how /predict writes it, its v2 text (``str()``'s
    own, the integer as its decimal text)."""
    array = np.empty(1, dtype=object)
    array[0] = _BIG
    return {
        "dict value": ({"score": _BIG}, lambda t: {"score": t}, lambda t: f"{{'score': {t}}}"),
        "list": ([_BIG, 1], lambda t: [t, 1], lambda t: f"[{t}, 1]"),
        "tuple": ((_BIG,), lambda t: [t], lambda t: f"({t},)"),
        "array of objects": (array, lambda t: [t], lambda t: f"[{t}]"),
        "dict key": ({_BIG: "x"}, lambda t: {t: "x"}, lambda t: f"{{{t}: 'x'}}"),
        "set": ({_BIG}, lambda t: f"{{{t}}}", lambda t: f"{{{t}}}"),
    }


@pytest.mark.parametrize("kind", list(_big_cells()))
def test_an_integer_of_more_than_4300_digits_inside_a_cell_is_written_as_exact_text(
    tmp_path: Any, kind: str
) -> None:
    value, predicted, v2_text = _big_cells()[kind]
    client = _serve_logged(_AnswersList(_objects_of(value)), tmp_path)
    text = decimal_text(_BIG)
    answer = client.post("/predict", json={"instances": ROWS})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["predictions"] == [predicted(text)] * 2
    answer = _infer(client)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["outputs"][0]["data"] == [v2_text(text)] * 2
    assert _LOGGED[-1].flush_log() == 4
    rows = [json.loads(line) for f in tmp_path.rglob("*.jsonl*") for line in f.open()]
    assert [row["output"] for row in rows[:2]] == [predicted(text)] * 2


def test_a_container_cell_of_short_integers_keeps_str_s_text_on_v2(
    serve: Callable[..., Any],
) -> None:
    array = np.empty(1, dtype=object)
    array[0] = 5
    for cell in ({"score": 5, 3: b"x"}, [5, 1], (5,), array, {5}):
        answer = _infer(serve(_AnswersList(_objects_of(cell)), warmup=False))
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == [str(cell)] * 2


def test_an_answers_long_integers_past_their_budget_in_all_are_a_500_saying_so(
    serve: Callable[..., Any],
) -> None:
    # Five of 300,000 bits (each within MAX_INT_TEXT_BITS): 1.5 million bits in all.
    client = serve(_AnswersList(_objects_of(2**300_000 - 1)), warmup=False)
    rows = [[0.1, 0.2]] * 5
    answer = client.post("/predict", json={"instances": rows})
    assert answer.status_code == 500, answer.text[:300]
    assert "too long to write as exact decimal text in all" in answer.json()["error"]


def test_the_long_integer_budget_is_each_answers_own(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from modelship.deploy.serve import _log

    monkeypatch.setattr(_log, "MAX_ANSWER_INT_TEXT_BITS", 50_000)
    value = 2**20_000 - 1  # 6,021 digits, 20,000 bits: two fit, a third does not
    texts: list[str] = []

    def two() -> None:
        with _log.int_text_budget():
            texts.extend(_log.int_text(value) for _ in range(2))

    with _log.int_text_budget():
        two()  # a budget within another is its own
        thread = threading.Thread(target=two)
        thread.start()
        thread.join()
        texts.extend(_log.int_text(value) for _ in range(2))
        with pytest.raises(_log.UnwritableAnswer, match="in all"):
            _log.int_text(value)
    assert texts == [decimal_text(value)] * 6
    assert _log.int_text(value) == decimal_text(value)  # no budget outside one


def test_integers_are_written_under_a_lower_digit_limit_of_the_process(
    serve: Callable[..., Any],
) -> None:
    import sys

    from modelship.deploy.serve._log import int_text

    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert int_text(10**700) == "1" + "0" * 700
        client = serve(_AnswersList(_objects_of([10**700])), warmup=False)
        answer = client.post("/predict", json={"instances": ROWS})
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["predictions"] == [["1" + "0" * 700]] * 2
        answer = _infer(client)
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["outputs"][0]["data"] == ["[1" + "0" * 700 + "]"] * 2
    finally:
        sys.set_int_max_str_digits(before)


# An Enum member whose value leads back to itself: json_ready looped forever, and orjson
# (writing an Enum's value itself) stopped the process (SIGSEGV): run in a child.
_SELF_ENUM = """
import enum, json, sys
import numpy as np
from starlette.testclient import TestClient
from modelship.deploy.serve import ModelServer, ServeConfig
from modelship.deploy.serve._log import UnwritableAnswer, _values

class S(enum.Enum):
    A = 1
class P(enum.Enum):
    A = 1
class Q(enum.Enum):
    B = 2

S.A._value_ = S.A
P.A._value_ = Q.B
Q.B._value_ = P.A
route, member = sys.argv[1], {"self": S.A, "mutual": P.A}[sys.argv[2]]

def cells(n):
    answer = np.empty(n, dtype=object)
    answer[:] = [member] * n
    return answer

class Model:
    def predict(self, x):
        return cells(len(x))

if route == "log":
    try:
        _values(cells(2))
    except UnwritableAnswer as exc:
        print("refused", exc)
    sys.exit()
server = ModelServer(lambda: Model(), name="m", version="1", config=ServeConfig(warmup=False))
server.start()
client = TestClient(server.app, raise_server_exceptions=False)
if route == "v2":
    tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [0.1, 0.2, 0.3, 0.4]}
    answer = client.post("/v2/models/m/infer", json={"inputs": [tensor]})
else:
    answer = client.post("/predict", json={"instances": [[0.1, 0.2], [0.3, 0.4]]})
print(answer.status_code, answer.json()["error"])
server.close()
"""


@pytest.mark.parametrize("member", ["self", "mutual"])
@pytest.mark.parametrize("route", ["/predict", "v2", "log"])
def test_an_enum_whose_value_leads_back_to_itself_is_refused_not_a_hang_or_crash(
    child_process: Callable[..., Any], route: str, member: str
) -> None:
    child = child_process(_SELF_ENUM, route, member)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    said = child.stdout.strip()
    assert "Enum member whose value refers to itself" in said, said
    if route != "log":
        assert said.startswith("500 the model failed: UnwritableAnswer"), said
