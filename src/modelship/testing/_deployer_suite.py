"""The Deployer conformance suite: the behaviours every strategy relies on.

Shaped like fsspec's abstract tests: subclass :class:`DeployerConformance` in your test
module and override the ``deployer`` fixture (a fresh deployer, closed afterwards);
``versions`` names a model and two versions it can start, ``never_ready`` a version it
starts that never becomes ready, ``slow_start`` a version that takes known seconds to
become ready, and optional abilities are capability fixtures whose defaults come from the
deployer's declared capabilities.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from modelship.deploy import (
    BlueGreen,
    Canary,
    CanaryStep,
    Deployer,
    EventKind,
    GatePolicy,
    InMemoryHistory,
    LocksRollouts,
    Recreate,
    RolloutAborted,
    RolloutInProgress,
    RolloutStatus,
    SlotInUse,
    SlotNotFound,
    Verdict,
)
from modelship.errors import ConfigError

__all__ = ["DeployerConformance"]

# How long the suite lets a never-ready slot try, and how far past it wait_ready may
# answer: a readiness poll or an API request in flight at the deadline may finish
# (LocalDeployer's /ready request times out at 2 s). KubernetesDeployer on the fake API
# server answered in 1.00-1.03 s under a load average of 15 on 2 cores, LocalDeployer as
# soon as the crashed server exited; 10 s is room for a slower platform.
_NOT_READY_WAIT = 1.0
_NOT_READY_OVERRUN = 10.0
# An overrun must not grow with the timeout (a wait_ready taking 4x its timeout stretches
# every progress_deadline 4x, yet stays within the 10 s above on a 1 s wait): a second
# wait, of 3 s, may overrun by 1.5 s more than the 1 s wait did. A poll at any fixed
# interval overruns the two waits by amounts under 1 s apart, a request in flight at the
# deadline by under its own timeout; an overrun of k times the timeout grows by
# 2(k - 1) s, caught from k = 1.75. The check adds 3 s to one test.
_LONGER_NOT_READY_WAIT = 3.0
_OVERRUN_GROWTH = 1.5
_NO_NEVER_READY = "no version that never becomes ready given (never_ready fixture)"
_NO_SLOW_START = "no version that takes known seconds to become ready given (slow_start fixture)"
# More slots than this are not started to check max_slots (each may be a server).
_MAX_SLOTS_TRIED = 8
# How long the suite lets apply of a never-ready version take: apply starts a version and
# returns (wait_ready waits for it); one that waits for readiness never returns.
_APPLY_LIMIT = 60.0
# How long a call that caught the watchdog's interrupt (or installed its own SIGINT
# handler) may keep running, interrupted again every second, before the process exits.
_SWALLOWED_GRACE = 10.0

_T = TypeVar("_T")


def _bounded(call: Callable[[], _T], seconds: float, late: str) -> _T:
    """``call()``'s answer, called on this thread; a call ignoring its timeout is
    interrupted after ``seconds`` and fails the test (saying ``late``) instead of hanging
    the suite.

    The call runs where the test runs, so a deployer bound to its thread (a SIGALRM
    deadline, an sqlite connection) works as when called directly, and an exception it
    raises is raised as it was. The bound is a watchdog thread that sends SIGINT to the
    main thread: a real signal, so a blocking system call returns, and the interrupt is
    raised inside the call, so its own ``finally`` (stopping a server it started) runs and
    nothing is left running once the test fails. A call that catches the interrupt (a
    bare ``except:`` in a polling loop) or installs its own SIGINT handler gets it again
    every second; one still running :data:`_SWALLOWED_GRACE` seconds after the first
    cannot be stopped from here, so, as pytest-timeout's "thread" method does, the
    watchdog writes ``late`` and every thread's stack to stderr and ends the process
    with exit status 70 rather than hang the suite. It needs the main thread (where
    pytest and its xdist workers run tests), :func:`signal.pthread_kill` and Python's
    own SIGINT handler; without them the call is made unbounded. A Ctrl-C during the call
    is raised as it came.
    """
    main = threading.main_thread().ident
    if (
        main is None
        or threading.get_ident() != main
        or not hasattr(signal, "pthread_kill")
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        return call()  # unbounded: no way to interrupt it here
    fired = threading.Event()
    ended = threading.Event()

    def watch() -> None:
        if ended.wait(seconds):
            return
        fired.set()  # before the signal: a KeyboardInterrupt while unset is a real Ctrl-C
        give_up = time.monotonic() + _SWALLOWED_GRACE
        while True:
            signal.pthread_kill(main, signal.SIGINT)
            left = give_up - time.monotonic()
            if left <= 0 or ended.wait(min(1.0, left)):
                break
        if ended.is_set():
            return
        _suspend_capture(main)
        sys.stderr.write(
            f"\n{late}; it caught the interrupt sent to stop it, so nothing can stop it "
            "from here; this process exits\n"
        )
        sys.stderr.flush()
        faulthandler.dump_traceback(all_threads=True)
        os._exit(70)

    # The end-vs-fire race: the watchdog sends signals only after setting ``fired``, and
    # none once it has seen ``ended``. The caller sets ``ended`` and joins it, so once the
    # join returns the flag says for good whether a signal was sent. If one was, its
    # KeyboardInterrupt was raised in the call or in the join (absorbed there), or is
    # still to be raised here: _take_interrupt drops it, so it cannot hit the next test.
    watchdog = threading.Thread(target=watch, name="modelship-bounded-watchdog", daemon=True)
    watchdog.start()
    try:
        try:
            answer = call()
        finally:
            ended.set()
            _join(watchdog, fired)
    except KeyboardInterrupt:
        if not fired.is_set():
            raise  # a real Ctrl-C
        _take_interrupt()  # another may be on its way
    except BaseException:
        if not fired.is_set():
            raise  # the call's own exception
        _take_interrupt()  # raised as the bound ran out, or in place of the interrupt
    else:
        if not fired.is_set():
            return answer
        _take_interrupt()  # returned as the bound ran out, or swallowed the interrupt
    pytest.fail(late, pytrace=False)


def _join(watchdog: threading.Thread, fired: threading.Event) -> None:
    """Wait for ``watchdog`` to end, absorbing its interrupts that land meanwhile; a
    Ctrl-C that lands before it fired is raised once it has ended."""
    ctrl_c = False
    while True:
        try:
            watchdog.join()
        except KeyboardInterrupt:
            ctrl_c = ctrl_c or not fired.is_set()
        else:
            break
    if ctrl_c:
        raise KeyboardInterrupt


def _suspend_capture(main: int) -> None:
    """Let what is written to stderr next reach the terminal: suspend the output capture
    of the pytest run whose test is on thread ``main`` (found from the test's stack, as
    no handle to it is passed here), as pytest-timeout does before it ends the process.
    Nothing is done if none is found."""
    frame = sys._current_frames().get(main)
    with contextlib.suppress(Exception):
        while frame is not None:
            config = getattr(frame.f_locals.get("item"), "config", None)
            if config is not None:
                capture = config.pluginmanager.getplugin("capturemanager")
                if capture is not None:
                    capture.suspend_global_capture(in_=True)
                return
            frame = frame.f_back


def _take_interrupt(within: float = 1.0) -> None:
    """Wait up to ``within`` seconds for the watchdog's SIGINT, sent to this thread, to
    be raised, and drop it (the call may have caught it already: nothing comes)."""
    deadline = time.monotonic() + within
    with contextlib.suppress(KeyboardInterrupt):
        while time.monotonic() < deadline:
            time.sleep(0.01)


class DeployerConformance:
    """Behaviours every :class:`~modelship.deploy.Deployer` must have.

    Override ``deployer``; override ``versions`` if your deployer can only start versions
    that exist somewhere (a registry), and ``ready_timeout`` if starting takes longer
    than 60 s. Override ``never_ready`` with a version of the ``versions`` model that
    your deployer starts but whose server crashes at start, every time (a model it cannot
    load, an image that exits): the checks that ``wait_ready``, ``health`` and ``state``
    tell the truth about such a slot, and that ``BlueGreen`` aborts on it, are skipped
    without one. Override ``slow_start`` with ``(version, seconds)``: a version of the
    ``versions`` model whose server cannot answer a request until at least ``seconds``
    (of this machine's clock, :func:`time.monotonic`) after ``apply`` began (a model
    whose load sleeps): the checks that ``state`` and ``wait_ready`` do not call it
    ready sooner (a deployer that calls a server ready once it has stayed alive for a
    while, not once it answers), and that a strategy sends it no traffic sooner, are
    skipped without one; keep ``seconds`` short (about a second), each check waits it
    out. ``exact_weights`` defaults to the deployer's declared capability.

    Each call runs on the test's own thread, as your code would call it. The calls that
    must answer in time (``apply`` and ``wait_ready`` of the never-ready version) are
    interrupted with SIGINT when they overrun, so the test fails instead of hanging and
    the call's own clean-up runs. A call that catches the interrupt (a bare ``except:``
    in its polling loop) or installs its own SIGINT handler is interrupted again every
    second; if it still runs 10 s later, nothing can stop it from inside the process, so
    the suite writes which call overran and every thread's stack to stderr and ends the
    test process with exit status 70 (as pytest-timeout's "thread" method does) instead
    of hanging. The bound needs the test to run on the main thread (pytest and its xdist
    workers do), :func:`signal.pthread_kill` (not on Windows) and Python's default SIGINT
    handler. Without them those calls are made unbounded: one that ignores its timeout
    hangs the suite.

    Examples
    --------
    In your own ``test_my_deployer.py``::

        import pytest
        from modelship.testing import DeployerConformance

        class TestMyDeployer(DeployerConformance):
            @pytest.fixture
            def deployer(self):
                with MyDeployer() as dep:
                    yield dep

    The same, with this package's :class:`~modelship.testing.InMemoryDeployer` as
    ``MyDeployer`` (defining the class runs no check; pytest runs them when it collects
    the module it is in):

    >>> import pytest
    >>> from modelship.testing import DeployerConformance, InMemoryDeployer
    >>> class TestInMemoryDeployer(DeployerConformance):
    ...     @pytest.fixture
    ...     def deployer(self):
    ...         yield InMemoryDeployer()
    >>> any(name.startswith("test_") for name in dir(TestInMemoryDeployer))
    True

    Needs pytest (``pip install 'modelship[test]'``).
    """

    @pytest.fixture
    def deployer(self) -> Iterator[Deployer]:
        """A fresh deployer with no slots; override this."""
        raise NotImplementedError("override the `deployer` fixture to test your Deployer")

    @pytest.fixture
    def versions(self) -> tuple[str, str, str]:
        """A model name and two of its versions the deployer can start."""
        return ("fraud", "1", "2")

    @pytest.fixture
    def ready_timeout(self) -> float:
        """Seconds a slot may take to become ready."""
        return 60.0

    @pytest.fixture
    def never_ready(self) -> str | None:
        """A version of the ``versions`` model the deployer starts but whose server crashes
        at start (never ready, never healthy), or None (the default) to skip the checks
        that need one."""
        return None

    @pytest.fixture
    def slow_start(self) -> tuple[str, float] | None:
        """``(version, seconds)``: a version of the ``versions`` model whose server cannot
        answer until at least ``seconds`` after ``apply`` began, or None (the default) to
        skip the checks that need one."""
        return None

    @pytest.fixture
    def exact_weights(self, deployer: Deployer) -> bool:
        """Whether traffic weights are honoured exactly (capability; default: declared)."""
        return deployer.capabilities.exact_weights

    @staticmethod
    def start(dep: Deployer, slot: str, model: str, version: str, timeout: float) -> None:
        dep.apply(slot, model, version)
        assert dep.wait_ready(slot, timeout), f"{slot} ({version}) did not become ready"

    @classmethod
    def start_blue_and_green(
        cls, dep: Deployer, versions: tuple[str, str, str], timeout: float
    ) -> str:
        """Start blue (the first version) and green (the second), both ready; the model.
        Skipped for a deployer that runs one slot at a time."""
        if dep.capabilities.max_slots < 2:
            pytest.skip("the deployer runs one slot at a time (declared max_slots=1)")
        model, v1, v2 = versions
        cls.start(dep, "blue", model, v1, timeout)
        cls.start(dep, "green", model, v2, timeout)
        return model

    @staticmethod
    def traffic_of(dep: Deployer) -> dict[str, int]:
        return {s.slot: s.weight for s in dep.state().slots}

    @staticmethod
    def timed_wait(dep: Deployer, slot: str, timeout: float) -> tuple[bool, float]:
        """wait_ready's answer and the seconds it took (the test fails if it raised or
        took more than ``_NOT_READY_OVERRUN`` seconds past ``timeout``)."""
        began = time.monotonic()
        limit = timeout + _NOT_READY_OVERRUN
        try:
            ready = _bounded(
                lambda: dep.wait_ready(slot, timeout),
                limit,
                f"wait_ready({slot!r}, timeout={timeout:g}) did not return within "
                f"{timeout:g} + {_NOT_READY_OVERRUN:g} s: it must answer False in time for "
                "a version that never becomes ready (a readiness poll or request in flight "
                "at the deadline may finish; a wait for readiness with no deadline never "
                "ends)",
            )
        except Exception as exc:  # any exception is the failure reported
            pytest.fail(
                f"wait_ready({slot!r}, {timeout}) raised {type(exc).__name__}: {exc}; "
                "a slot not ready in time must answer False"
            )
        took = time.monotonic() - began
        assert took <= timeout + _NOT_READY_OVERRUN, (
            f"wait_ready({slot!r}, {timeout}) took {took:.1f} s"
        )
        return ready, took

    @classmethod
    def start_never_ready(cls, dep: Deployer, slot: str, model: str, version: str | None) -> bool:
        """Apply the never-ready ``version`` in ``slot``; wait_ready's answer after
        ``_NOT_READY_WAIT`` seconds (the test fails if it raised or overran)."""
        return cls.start_never_ready_timed(dep, slot, model, version)[0]

    @classmethod
    def start_never_ready_timed(
        cls, dep: Deployer, slot: str, model: str, version: str | None
    ) -> tuple[bool, float]:
        """:meth:`start_never_ready`, and the seconds its wait took; the test is skipped
        when ``version`` is None."""
        if version is None:
            pytest.skip(_NO_NEVER_READY)
        _bounded(
            lambda: dep.apply(slot, model, version),
            _APPLY_LIMIT,
            f"apply({slot!r}, {model!r}, {version!r}) of a version that never becomes ready "
            f"did not return within {_APPLY_LIMIT:g} s: apply must start the version and "
            "return, not wait for it to become ready (wait_ready(slot, timeout) waits, and "
            "answers False at its deadline)",
        )
        return cls.timed_wait(dep, slot, _NOT_READY_WAIT)

    @staticmethod
    def slow_version(slow_start: object) -> tuple[str, float]:
        """The ``slow_start`` fixture's version and seconds, checked; the test is skipped
        when it is None."""
        if slow_start is None:
            pytest.skip(_NO_SLOW_START)
        if not (
            isinstance(slow_start, tuple)
            and len(slow_start) == 2
            and isinstance(slow_start[0], str)
            and isinstance(slow_start[1], int | float)
            and not isinstance(slow_start[1], bool)
            and math.isfinite(slow_start[1])
            and slow_start[1] > 0
        ):
            raise ConfigError(
                f"the slow_start fixture gave {slow_start!r}; give (version, seconds): a "
                "version string and the seconds (a finite number > 0) it takes at least "
                "to become ready, or None to skip the checks of a slow start"
            )
        return slow_start[0], float(slow_start[1])

    def split_80_20(
        self, dep: Deployer, versions: tuple[str, str, str], timeout: float
    ) -> dict[str, int]:
        """Blue (the first version) and green (the second) started, 80 and 20 % of the
        traffic sent to them; the shares the deployer reports, green's above 0 (the test is
        skipped for a deployer of one slot)."""
        self.start_blue_and_green(dep, versions, timeout)
        dep.set_traffic({"blue": 80, "green": 20})
        shares = self.traffic_of(dep)
        assert shares.get("green", 0) > 0, f"green got no share of an 80/20 split: {shares}"
        return shares

    # --- the protocol -------------------------------------------------------------------

    def test_implements_the_protocol(self, deployer: Deployer) -> None:
        assert isinstance(deployer, Deployer)
        assert deployer.capabilities.max_slots >= 1

    def test_a_new_deployer_has_no_slots(self, deployer: Deployer) -> None:
        assert deployer.state().slots == ()
        assert deployer.state().serving() is None

    def test_a_started_slot_is_ready_with_no_traffic(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        slot = deployer.state().slot("blue")
        assert slot is not None
        assert (slot.model, slot.version, slot.weight, slot.ready) == (model, v1, 0, True)

    def test_a_ready_slot_is_healthy(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        assert deployer.health("blue").healthy

    def test_all_traffic_to_one_slot(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        deployer.set_traffic({"blue": 100})
        serving = deployer.state().serving()
        assert serving is not None
        assert (serving.slot, serving.weight) == ("blue", 100)

    def test_a_split_gives_each_slot_a_share(
        self,
        deployer: Deployer,
        versions: tuple[str, str, str],
        ready_timeout: float,
        exact_weights: bool,
    ) -> None:
        shares = self.split_80_20(deployer, versions, ready_timeout)
        assert sum(shares.values()) == 100
        if exact_weights:
            assert shares == {"blue": 80, "green": 20}
        else:
            assert shares["blue"] >= shares["green"] > 0

    def test_slots_left_out_of_a_split_get_no_traffic(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        self.start_blue_and_green(deployer, versions, ready_timeout)
        deployer.set_traffic({"blue": 50, "green": 50})
        deployer.set_traffic({"green": 100})
        assert self.traffic_of(deployer) == {"blue": 0, "green": 100}

    @pytest.mark.parametrize(
        "weights",
        [
            {"blue": 90},
            {"blue": 101},
            {"blue": -1},
            {"blue": 100.0},
            {"blue": "100"},
            {"blue": 150, "green": -50},
            {"blue": 50.5, "green": 49.5},
            {"blue": True, "green": 99},
        ],
        ids=[
            "not-summing-to-100",
            "over-100",
            "negative",
            "a-float",
            "a-string",
            "out-of-range-summing-to-100",
            "floats",
            "a-bool",
        ],
    )
    def test_a_split_that_is_not_whole_percentages_summing_to_100_is_refused_unchanged(
        self,
        deployer: Deployer,
        versions: tuple[str, str, str],
        ready_timeout: float,
        weights: dict[str, Any],
    ) -> None:
        model, v1, v2 = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        if "green" in weights:
            if deployer.capabilities.max_slots < 2:
                pytest.skip("the deployer runs one slot at a time (declared max_slots=1)")
            self.start(deployer, "green", model, v2, ready_timeout)
        deployer.set_traffic({"blue": 100})
        before = self.traffic_of(deployer)
        with pytest.raises(ConfigError):
            deployer.set_traffic(weights)
        assert self.traffic_of(deployer) == before, "a refused split moved traffic"

    def test_traffic_to_an_unknown_slot_raises_slot_not_found(self, deployer: Deployer) -> None:
        with pytest.raises(SlotNotFound):
            deployer.set_traffic({"nowhere": 100})

    def test_a_split_naming_an_unknown_slot_is_refused_whole(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        deployer.set_traffic({"blue": 100})
        for weights in ({"blue": 50, "nowhere": 50}, {"nowhere": 50, "blue": 50}):
            with pytest.raises(SlotNotFound):
                deployer.set_traffic(weights)
            assert self.traffic_of(deployer) == {"blue": 100}, f"refusing {weights} moved traffic"

    def test_an_empty_split_takes_all_traffic_away(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        deployer.set_traffic({"blue": 100})
        deployer.set_traffic({})
        assert self.traffic_of(deployer) == {"blue": 0}
        assert deployer.state().serving() is None
        deployer.remove("blue")  # no longer in use
        assert deployer.state().slot("blue") is None

    def test_starting_a_slot_leaves_the_traffic_of_the_others_unchanged(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        if deployer.capabilities.max_slots < 2:
            pytest.skip("the deployer runs one slot at a time (declared max_slots=1)")
        model, v1, v2 = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        deployer.set_traffic({"blue": 100})
        deployer.apply("green", model, v2)
        assert self.traffic_of(deployer)["blue"] == 100, "starting green took traffic from blue"
        assert deployer.wait_ready("green", ready_timeout)
        assert self.traffic_of(deployer) == {"blue": 100, "green": 0}
        serving = deployer.state().serving()
        assert serving is not None
        assert (serving.slot, serving.version) == ("blue", v1)

    def test_replacing_an_idle_slot_leaves_the_traffic_of_the_others_unchanged(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        # Every rollout after the first goes into the idle slot that still holds the
        # version before: a deployer that restarts its router (or rewrites its routes)
        # to swap that slot's version drops the serving slot's traffic meanwhile.
        model, v1, v2 = versions
        self.start_blue_and_green(deployer, versions, ready_timeout)
        deployer.set_traffic({"green": 100})
        before = self.traffic_of(deployer)
        deployer.apply("blue", model, v2)
        after_apply = self.traffic_of(deployer)
        assert after_apply == before, (
            f"replacing idle blue's {v1} with {v2} moved traffic from {before} to "
            f"{after_apply}: apply leaves every other slot's traffic as it was"
        )
        assert deployer.wait_ready("blue", ready_timeout), f"blue ({v2}) did not become ready"
        once_ready = self.traffic_of(deployer)
        assert once_ready == before, (
            f"once blue ({v2}, replacing {v1}) was ready, the traffic was {once_ready}, not "
            f"{before}: apply leaves every other slot's traffic as it was"
        )
        serving = deployer.state().serving()
        assert serving is not None
        assert (serving.slot, serving.version) == ("green", v2)

    def test_questions_about_an_unknown_slot_raise_slot_not_found(self, deployer: Deployer) -> None:
        with pytest.raises(SlotNotFound):
            deployer.health("nowhere")
        with pytest.raises(SlotNotFound):
            deployer.wait_ready("nowhere", 1.0)

    def test_a_slot_with_traffic_cannot_be_removed(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        deployer.set_traffic({"blue": 100})
        with pytest.raises(SlotInUse):
            deployer.remove("blue")
        assert deployer.state().serving() is not None

    def test_a_slot_with_traffic_cannot_be_replaced(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, v2 = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        deployer.set_traffic({"blue": 100})
        with pytest.raises(SlotInUse):
            deployer.apply("blue", model, v2)
        serving = deployer.state().serving()
        assert serving is not None
        assert serving.version == v1

    def test_a_slot_with_a_minority_share_cannot_be_removed(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        # Every slot with traffic is in use, not only the one serving most: a canary at
        # 20 % removed drops a fifth of the requests (or leaves the router sending them to
        # a slot that is gone).
        v2 = versions[2]
        shares = self.split_80_20(deployer, versions, ready_timeout)
        with pytest.raises(SlotInUse):
            deployer.remove("green")
        assert self.traffic_of(deployer) == shares, (
            f"refusing to remove green ({shares['green']} % of the traffic) moved traffic"
        )
        green = deployer.state().slot("green")
        assert green is not None, "green was removed while it received traffic"
        assert green.version == v2

    def test_a_slot_with_a_minority_share_cannot_be_replaced(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        # A version swapped into a slot that receives 20 % serves those requests unchecked.
        model, v1, v2 = versions
        shares = self.split_80_20(deployer, versions, ready_timeout)
        with pytest.raises(SlotInUse):
            deployer.apply("green", model, v1)
        assert self.traffic_of(deployer) == shares, (
            f"refusing to replace green ({shares['green']} % of the traffic) moved traffic"
        )
        green = deployer.state().slot("green")
        assert green is not None
        assert green.version == v2, (
            f"green took {green.version} while it received {shares['green']} % of the traffic"
        )

    def test_an_idle_slot_is_removed(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        deployer.remove("blue")
        assert deployer.state().slot("blue") is None

    def test_removing_a_missing_slot_is_not_an_error(self, deployer: Deployer) -> None:
        deployer.remove("nowhere")
        assert deployer.state().slots == ()

    def test_an_idle_slot_takes_a_new_version(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, v2 = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        self.start(deployer, "blue", model, v2, ready_timeout)
        slot = deployer.state().slot("blue")
        assert slot is not None
        assert slot.version == v2

    def test_the_state_lists_slots_ordered_by_name(
        self, deployer: Deployer, versions: tuple[str, str, str]
    ) -> None:
        if deployer.capabilities.max_slots < 2:
            pytest.skip("the deployer runs one slot at a time (declared max_slots=1)")
        model, v1, v2 = versions
        deployer.apply("green", model, v2)  # started first, listed last
        deployer.apply("blue", model, v1)
        names = [s.slot for s in deployer.state().slots]
        assert names == ["blue", "green"], f"state() lists slots {names}, not ordered by name"

    def test_a_slot_beyond_max_slots_is_refused_with_a_config_error(
        self, deployer: Deployer, versions: tuple[str, str, str]
    ) -> None:
        # Strategies plan on the declared max_slots; a deployer that starts more leaks
        # them (nothing removes a slot no strategy knows of).
        limit = deployer.capabilities.max_slots
        if limit > _MAX_SLOTS_TRIED:
            pytest.skip(f"declares max_slots={limit}; the check starts at most {_MAX_SLOTS_TRIED}")
        model, v1, _ = versions
        names = ["blue", "green", *(f"slot-{i}" for i in range(2, limit))][:limit]
        for name in names:
            deployer.apply(name, model, v1)
        with pytest.raises(ConfigError):
            deployer.apply("one-too-many", model, v1)
        started = [s.slot for s in deployer.state().slots]
        assert started == sorted(names), (
            f"declares max_slots={limit}, runs slots {started} after a refused apply"
        )

    # --- a version that never becomes ready --------------------------------------------

    def test_wait_ready_answers_false_in_time_for_a_version_that_never_becomes_ready(
        self, deployer: Deployer, versions: tuple[str, str, str], never_ready: str | None
    ) -> None:
        ready, took = self.start_never_ready_timed(deployer, "blue", versions[0], never_ready)
        assert ready is False, f"wait_ready answered {ready!r} for a slot that is not ready"
        # A longer wait must not overrun by more: else every progress_deadline stretches.
        longer = _LONGER_NOT_READY_WAIT
        ready, took_longer = self.timed_wait(deployer, "blue", longer)
        assert ready is False, f"wait_ready answered {ready!r} for a slot that is not ready"
        overrun = max(0.0, took - _NOT_READY_WAIT)
        overrun_longer = took_longer - longer
        assert overrun_longer <= overrun + _OVERRUN_GROWTH, (
            f"wait_ready('blue', {longer}) took {took_longer:.1f} s, {overrun_longer:.1f} s "
            f"past its timeout, where wait_ready('blue', {_NOT_READY_WAIT}) overran by "
            f"{overrun:.1f} s: the overrun grows with the timeout (more than "
            f"{_OVERRUN_GROWTH} s from {_NOT_READY_WAIT} s to {longer} s), so every "
            "strategy's progress_deadline is stretched the same way; answer False at the "
            "deadline (a readiness poll or request in flight then may finish)"
        )

    def test_a_version_that_never_becomes_ready_is_not_healthy(
        self,
        deployer: Deployer,
        versions: tuple[str, str, str],
        ready_timeout: float,
        never_ready: str | None,
    ) -> None:
        self.start_never_ready(deployer, "blue", versions[0], never_ready)
        # Its server may still be starting (alive) when wait_ready gives up; it must be
        # reported unhealthy once it has crashed, within the time a start may take.
        deadline = time.monotonic() + ready_timeout
        while (health := deployer.health("blue")).healthy and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not health.healthy, f"a slot that never became ready is healthy: {health}"

    def test_a_version_that_never_becomes_ready_is_not_ready_in_the_state(
        self, deployer: Deployer, versions: tuple[str, str, str], never_ready: str | None
    ) -> None:
        self.start_never_ready(deployer, "blue", versions[0], never_ready)
        slot = deployer.state().slot("blue")
        assert slot is not None
        assert slot.version == never_ready
        assert slot.ready is False, f"state() says blue ({never_ready}) is ready; it never was"

    def test_a_version_that_never_becomes_ready_over_a_ready_one_is_not_ready(
        self,
        deployer: Deployer,
        versions: tuple[str, str, str],
        ready_timeout: float,
        never_ready: str | None,
    ) -> None:
        # A slot that served a ready version keeps nothing of its readiness: a deployer
        # that reads "ready" as "some server of the slot is ready" (the old version's,
        # still up during an in-place rolling update) would let BlueGreen send all
        # traffic to a version that crashed.
        if never_ready is None:
            pytest.skip(_NO_NEVER_READY)
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        ready = self.start_never_ready(deployer, "blue", model, never_ready)
        assert ready is False, (
            f"wait_ready answered {ready!r} for blue ({never_ready}), which never became "
            f"ready; the readiness of the version it replaced ({v1}) carried over"
        )
        slot = deployer.state().slot("blue")
        assert slot is not None
        assert (slot.version, slot.ready) == (never_ready, False), (
            f"state() says {slot} after {never_ready} replaced ready {v1}; it never was ready"
        )
        deadline = time.monotonic() + ready_timeout
        while (health := deployer.health("blue")).healthy and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not health.healthy, (
            f"blue ({never_ready}) is healthy after replacing ready {v1}: {health}"
        )

    # --- a version that takes known seconds to become ready ------------------------------

    def test_a_slow_starting_version_is_not_ready_until_it_can_answer(
        self,
        deployer: Deployer,
        versions: tuple[str, str, str],
        ready_timeout: float,
        slow_start: tuple[str, float] | None,
    ) -> None:
        # A deployer that calls a slot ready once its server has stayed alive a while
        # ("it did not crash, so it is up") lets a strategy send traffic to a server still
        # loading its model: every request it gets fails until then.
        version, seconds = self.slow_version(slow_start)
        # One read first: a first call that pays one-time costs (a client's imports, a
        # connection) would otherwise outlast ``seconds`` and hide an early "ready".
        deployer.state()
        began = time.monotonic()
        deployer.apply("blue", versions[0], version)
        slot = deployer.state().slot("blue")
        asked = time.monotonic() - began
        assert slot is not None
        if asked < seconds:
            assert slot.ready is False, (
                f"state() says blue ({version}) is ready {asked:.2f} s after apply; it "
                f"cannot answer until {seconds} s after"
            )
        ready = deployer.wait_ready("blue", seconds / 4)
        answered = time.monotonic() - began
        assert not (ready and answered < seconds), (
            f"wait_ready('blue', {seconds / 4}) answered True {answered:.2f} s after apply; "
            f"blue ({version}) cannot answer until {seconds} s after: ready means the "
            "server answers, not that it is alive"
        )
        assert deployer.wait_ready("blue", ready_timeout), (
            f"blue ({version}) did not become ready in {ready_timeout} s"
        )
        slot = deployer.state().slot("blue")
        assert slot is not None
        assert (slot.version, slot.ready) == (version, True), f"once ready, state() says {slot}"

    def test_a_strategy_sends_a_slow_starting_version_no_traffic_before_it_can_answer(
        self,
        deployer: Deployer,
        versions: tuple[str, str, str],
        ready_timeout: float,
        slow_start: tuple[str, float] | None,
    ) -> None:
        version, seconds = self.slow_version(slow_start)
        model = versions[0]
        moved: list[float] = []  # seconds after the deploy began that the gate ran

        def gate(rollout: Any) -> Verdict:
            moved.append(time.monotonic() - began)
            return Verdict.PASS

        deployer.state()  # one-time costs first, as above
        began = time.monotonic()
        kwargs = self._strategy_kwargs(ready_timeout)
        rollout = Recreate(deployer, gate=gate, **kwargs).deploy(model, version)
        moved.append(time.monotonic() - began)
        assert rollout.status is RolloutStatus.SUCCEEDED, rollout.history[-1].message
        # The gate runs once the traffic has moved, the deploy returns after that.
        assert min(moved) >= seconds, (
            f"Recreate sent traffic to {version} within {min(moved):.2f} s of the "
            f"deploy; it cannot answer until {seconds} s after its apply (wait_ready "
            "answered True too soon)"
        )
        serving = deployer.state().serving()
        assert serving is not None
        assert (serving.version, serving.weight) == (version, 100)

    def test_the_state_is_json_serialisable(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, _ = versions
        self.start(deployer, "blue", model, v1, ready_timeout)
        doc = json.loads(json.dumps(deployer.state().to_dict()))
        assert doc["slots"][0]["version"] == v1

    # --- the strategies work on it unchanged ----------------------------------------------

    def _strategy_kwargs(self, ready_timeout: float) -> dict[str, Any]:
        return {
            "history": InMemoryHistory(),
            "progress_deadline": ready_timeout,
            "policy": GatePolicy(interval=0.01, deadline=5),
            "alias": None,
        }

    def test_blue_green_deploys_and_rolls_back(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        if deployer.capabilities.max_slots < 2:
            pytest.skip("the deployer runs one slot at a time (declared max_slots=1)")
        model, v1, v2 = versions
        kwargs = self._strategy_kwargs(ready_timeout)
        BlueGreen(deployer, **kwargs).deploy(model, v1)
        rollout = BlueGreen(deployer, **kwargs).deploy(model, v2)
        serving = deployer.state().serving()
        assert serving is not None
        assert serving.version == v2
        rollout.rollback()
        serving = deployer.state().serving()
        assert serving is not None
        assert serving.version == v1
        assert rollout.status is RolloutStatus.ROLLED_BACK

    @pytest.mark.parametrize("earlier", [1, 2], ids=["after-one-rollout", "into-a-slot-once-ready"])
    def test_blue_green_to_a_version_that_never_becomes_ready_aborts_and_keeps_serving(
        self,
        deployer: Deployer,
        versions: tuple[str, str, str],
        ready_timeout: float,
        never_ready: str | None,
        earlier: int,
    ) -> None:
        # After two rollouts the third goes into blue, idle but still holding ready v1:
        # the abort must come from the new version's readiness, not the slot's past.
        if deployer.capabilities.max_slots < 2:
            pytest.skip("the deployer runs one slot at a time (declared max_slots=1)")
        if never_ready is None:
            pytest.skip(_NO_NEVER_READY)
        model, *deployed = versions
        kwargs = self._strategy_kwargs(ready_timeout)
        for version in deployed[:earlier]:
            BlueGreen(deployer, **kwargs).deploy(model, version)
        kwargs["progress_deadline"] = _NOT_READY_WAIT
        with pytest.raises(RolloutAborted):
            BlueGreen(deployer, **kwargs).deploy(model, never_ready)
        serving = deployer.state().serving()
        assert serving is not None, "no slot serves after the aborted rollout"
        stable = deployed[earlier - 1]
        assert (serving.version, serving.weight) == (stable, 100), f"serving after abort: {serving}"

    def test_recreate_stops_the_serving_version_and_starts_the_next(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        model, v1, v2 = versions
        kwargs = self._strategy_kwargs(ready_timeout)
        Recreate(deployer, **kwargs).deploy(model, v1)
        rollout = Recreate(deployer, **kwargs).deploy(model, v2)
        assert rollout.status is RolloutStatus.SUCCEEDED, rollout.history[-1].message
        serving = deployer.state().serving()
        assert serving is not None
        assert (serving.version, serving.weight) == (v2, 100)

    def test_a_canary_moves_traffic_in_steps(
        self, deployer: Deployer, versions: tuple[str, str, str], ready_timeout: float
    ) -> None:
        if deployer.capabilities.max_slots < 2:
            pytest.skip("the deployer runs one slot at a time (declared max_slots=1)")
        model, v1, v2 = versions
        seen: list[int] = []

        def gate(rollout: Any) -> Verdict:
            canary = deployer.state().slot(rollout.slot)
            seen.append(-1 if canary is None else canary.weight)
            return Verdict.PASS

        kwargs = self._strategy_kwargs(ready_timeout)
        Canary(deployer, steps=[CanaryStep(20)], **kwargs).deploy(model, v1)
        rollout = Canary(
            deployer, steps=[CanaryStep(20), CanaryStep(60)], gate=gate, **kwargs
        ).deploy(model, v2)
        assert len(seen) == 2
        assert 0 < seen[0] < seen[1] < 100
        assert rollout.history[-1].kind is EventKind.SUCCEEDED

    # --- the optional rollout lock ------------------------------------------------------

    def test_a_rollout_lock_refuses_another_thread_at_once_and_lets_its_holder_in_again(
        self, deployer: Deployer, versions: tuple[str, str, str]
    ) -> None:
        if not isinstance(deployer, LocksRollouts):
            pytest.skip("the deployer does not declare LocksRollouts")
        locking: LocksRollouts = deployer
        model, v1, _ = versions
        held, release = threading.Event(), threading.Event()
        outcome: list[str] = []

        def holder() -> None:
            with locking.rollout_lock("the first rollout"):
                with locking.rollout_lock("the first rollout, again"):
                    outcome.append("re-entered")
                held.set()
                release.wait(60)

        thread = threading.Thread(target=holder)
        thread.start()
        try:
            assert held.wait(60), "the first holder never took the lock"
            with (
                pytest.raises(RolloutInProgress, match="the first rollout"),
                locking.rollout_lock("a second rollout"),
            ):
                pass  # pragma: no cover - refused
            before = deployer.state()
            with pytest.raises(RolloutInProgress):
                BlueGreen(deployer, history=InMemoryHistory(), alias=None).deploy(model, v1)
            assert deployer.state() == before, "a refused rollout changed the deployer"
        finally:
            release.set()
            thread.join(60)
        assert outcome == ["re-entered"]
        with locking.rollout_lock("a second rollout, once the first is done"):
            pass
