"""The single entry point for tests, lint, type checks, docs, benchmarks and the demo."""

from __future__ import annotations

import os

import nox
import nox.command

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

PYTHON = None  # the interpreter nox runs under; CI pins its own
#: pip byte-compiles every module it installs, thousands of them in the kubernetes client
#: alone: a minute of each install (1:19 instead of 2:24 for the test extra here). Python
#: compiles the modules a session imports when it first imports them.
NO_COMPILE = ("--no-compile",)
#: How often an install is tried. Packages that no local index holds (fairlearn, for one)
#: come from PyPI, and a download cut short fails pip's hash check, which pip does not retry
#: itself ("THESE PACKAGES DO NOT MATCH THE HASHES"): one such cut failed a whole CI run.
INSTALL_ATTEMPTS = 3


def install(session: nox.Session, *args: str) -> None:
    """``pip install --no-compile ARGS``, tried up to INSTALL_ATTEMPTS times.

    Only the install is retried, never a test run: a failed install leaves the
    environment as pip found it or partly upgraded, and the next attempt finishes it.
    """
    for attempt in range(1, INSTALL_ATTEMPTS + 1):
        try:
            # The pip a venv starts with is the interpreter's bundled one: CPython
            # 3.10.0-3.10.2 bundle pip 21.2 (no editable install of a pyproject-only
            # project), Ubuntu 22.04's venv pip 22.0 (no `pip --python`, which the parity
            # tests use). Already satisfied, this is a no-op.
            session.install(*NO_COMPILE, "pip>=22.3")
            session.install(*NO_COMPILE, *args)
            return
        except nox.command.CommandFailed:
            if attempt == INSTALL_ATTEMPTS:
                raise
            session.warn(f"install failed (attempt {attempt} of {INSTALL_ATTEMPTS}); retrying")


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: taskset, a container's
    cpuset), not the host's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


#: pytest-xdist workers for the test sessions: one more than the cores the process may
#: use, at most 4. Each worker starts its own moto server and Prometheus. On 2 cores the
#: suite took 13 min 25 s instead of 33 min 42 s in one process; many tests also wait
#: (pods turning Ready in the fake cluster, servers starting, subprocesses), and a third
#: worker took the clean-clone test phase of the same code from 890 s to 818 s (stop 43).
#: The whole suite also passed at three workers beside six other busy processes (load 8
#: on 2 cores), so the tests that start real servers do not depend on a quiet machine.
#: ``--dist worksteal``: a worker that runs out of tests takes half of the queue of the
#: busiest one, where ``load`` left queued tests on their worker (a run ended with one
#: worker alone on its queue for 190 s: the benchmarks' smoke runs and the examples,
#: collected last).
WORKERS = ("--numprocesses", str(min(4, _usable_cores() + 1)), "--dist", "worksteal")


#: The slowest tests, listed after the run: where the suite's time goes, on the machine
#: that ran it (CI keeps it under 15 minutes).
DURATIONS = ("--durations", "25")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit, conformance, property and integration tests (S3 on moto's server).

    The tests run in WORKERS processes; ``nox -s tests -- -n 0`` runs them in this one.
    """
    install(session, "-e", ".[test]")
    session.run("python", "-m", "pytest", *WORKERS, *DURATIONS, *session.posargs)


#: The oldest NumPy supported, and the newest pyarrow built for it (22 needs NumPy 2).
NUMPY1 = ("numpy>=1.26,<1.27", "pyarrow>=14,<22")
#: What tests_numpy1 runs by default: the checks and their statistics (where NumPy's
#: arithmetic and type promotion changed between 1.x and 2.x), the fingerprints and
#: serializers of the registry, and every doctest in src/.
NUMPY1_TESTS = (
    "tests/checks",
    "tests/registry/test_fingerprint.py",
    "tests/registry/test_fingerprint_inputs.py",
    "tests/registry/test_review46_fingerprint.py",
    "tests/registry/test_io_load.py",
    "tests/registry/test_streaming_load.py",
    "src",
)


@nox.session(python=PYTHON)
def tests_numpy1(session: nox.Session) -> None:
    """The tests on NumPy 1.26, the oldest NumPy supported (.ci/run runs the default set).

    Without test paths it runs NUMPY1_TESTS; pass pytest arguments to choose others, e.g.
    ``nox -s tests_numpy1 -- tests`` for the whole suite. Options alone keep the default
    tests (``nox -s tests_numpy1 -- -n 1``: one process, as .ci/run runs it beside the main
    tests).
    """
    install(session, "-e", ".[test]", *NUMPY1)
    session.run("python", "-c", "import numpy; assert numpy.__version__.startswith('1.26.')")
    args = session.posargs
    # A test path exists (an option's value, as in ``-n 1`` or ``-k name``, does not).
    paths = [arg for arg in args if os.path.exists(arg.split("::", 1)[0])]
    session.run("python", "-m", "pytest", *WORKERS, *args, *(() if paths else NUMPY1_TESTS))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    install(session, "ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/."""
    install(session, "-e", ".[test]", "mypy>=1.10")
    session.run("mypy", "--strict", "src")


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """Mutation testing with mutmut over the drift verdict, naming, integrity and signing.

    Slow (every mutant reruns the tests that cover it), so not part of .ci/run. What is
    mutated and which tests run are set in pyproject.toml's [tool.mutmut]; arguments are
    mutant-name globs that limit the run, e.g. ``nox -s mutation --
    "modelship.checks._drift.x__verdict*"``. Prints every survivor at the end.
    """
    install(session, "-e", ".[test]", "mutmut>=3.3")
    session.run("mutmut", "run", *session.posargs)
    session.run("mutmut", "results")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation with mkdocs --strict."""
    install(session, "-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every benchmark and print its table (pass --quick for a smoke run)."""
    install(session, "-e", ".[test]")
    import glob

    for script in sorted(glob.glob("benchmarks/bench_*.py")):
        session.run("python", script, *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The end-to-end demo on the embedded defaults (a registry in a local folder)."""
    install(session, "-e", ".[serve]", "scikit-learn")
    session.run("python", "examples/demo.py", *session.posargs)
