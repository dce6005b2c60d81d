"""CheckResult, SuiteResult and run_suite: the engine every check plugs into."""

from __future__ import annotations

import attrs
import pytest

from modelship.checks import (
    Check,
    CheckResult,
    ColumnResult,
    Severity,
    Status,
    SuiteResult,
    run_suite,
)
from modelship.errors import ConfigError


def result(status: str, severity: str = "blocking", name: str = "c") -> CheckResult:
    return CheckResult(name=name, status=status, severity=severity, reason=status)


class Named:
    """A check as a class: a name and run()."""

    def __init__(self, name: str, status: str = "pass") -> None:
        self.name = name
        self.status = status

    def run(self) -> CheckResult:
        return result(self.status, name=self.name)


def test_check_result_is_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result("pass").status = Status.FAIL  # type: ignore[misc]


def test_status_and_severity_accept_their_string_values() -> None:
    r = CheckResult(name="x", status="warn", severity="advisory")
    assert (r.status, r.severity) == (Status.WARN, Severity.ADVISORY)


def test_unknown_status_is_rejected() -> None:
    with pytest.raises(ValueError, match="'ok'"):
        CheckResult(name="x", status="ok")


def test_columns_given_as_a_list_are_keyed_by_name() -> None:
    r = CheckResult(name="x", status="pass", columns=[ColumnResult(name="age", status="pass")])
    assert list(r.columns) == ["age"]


@pytest.mark.parametrize(
    ("status", "severity", "blocks"),
    [
        ("pass", "blocking", False),
        ("warn", "blocking", False),
        ("fail", "blocking", True),
        ("fail", "advisory", False),
        ("error", "advisory", True),
    ],
)
def test_blocks_on_blocking_failure_or_any_error(status: str, severity: str, blocks: bool) -> None:
    assert result(status, severity).blocks() is blocks


@pytest.mark.parametrize(("status", "severity"), [("warn", "blocking"), ("fail", "advisory")])
def test_strict_blocks_on_anything_but_pass(status: str, severity: str) -> None:
    assert result(status, severity).blocks(strict=True)


def test_suite_passes_with_warnings_and_advisory_failures() -> None:
    suite = SuiteResult([result("pass"), result("warn"), result("fail", "advisory")])
    assert suite.passed
    assert suite.exit_code() == 0


def test_suite_fails_on_a_blocking_failure_with_exit_code_1() -> None:
    suite = SuiteResult([result("pass"), result("fail")])
    assert not suite.passed
    assert suite.exit_code() == 1


def test_suite_with_an_error_exits_2_even_beside_a_failure() -> None:
    suite = SuiteResult([result("fail"), result("error", "advisory")])
    assert not suite.passed
    assert suite.exit_code() == 2


def test_strict_exit_code_is_1_on_a_warning() -> None:
    assert SuiteResult([result("warn")]).exit_code(strict=True) == 1


def test_suite_status_is_the_worst_status() -> None:
    assert SuiteResult([result("warn"), result("fail"), result("pass")]).status is Status.FAIL


def test_run_suite_keeps_the_order_of_checks() -> None:
    suite = run_suite([Named("b"), Named("a"), Named("c")])
    assert [r.name for r in suite.results] == ["b", "a", "c"]


def test_run_suite_accepts_plain_callables() -> None:
    def row_count() -> CheckResult:
        return result("pass", name="row_count")

    assert run_suite([row_count]).results[0].name == "row_count"


def test_a_check_that_raises_is_an_error_naming_the_exception() -> None:
    def broken() -> CheckResult:
        raise ZeroDivisionError("division by zero")

    (r,) = run_suite([broken]).results
    assert r.status is Status.ERROR
    assert r.name == "broken"
    assert r.reason == "ZeroDivisionError: division by zero"


def test_an_error_does_not_stop_the_other_checks() -> None:
    def broken() -> CheckResult:
        raise RuntimeError("boom")

    suite = run_suite([broken, Named("after")])
    assert [r.status for r in suite.results] == [Status.ERROR, Status.PASS]


def test_a_check_returning_something_else_is_an_error() -> None:
    (r,) = run_suite([lambda: True]).results  # type: ignore[list-item]
    assert r.status is Status.ERROR
    assert "bool" in r.reason


def test_an_error_keeps_the_severity_of_the_check() -> None:
    class Advisory:
        name = "advisory"
        severity = Severity.ADVISORY

        def run(self) -> CheckResult:
            raise ValueError("no data")

    assert run_suite([Advisory()]).results[0].severity is Severity.ADVISORY


def test_run_suite_with_workers_gives_the_same_results() -> None:
    checks = [Named(f"c{i}", status) for i, status in enumerate(["pass", "fail", "warn"] * 2)]
    assert run_suite(checks, n_jobs=2) == run_suite(checks, n_jobs=1)


def test_run_suite_rejects_zero_jobs() -> None:
    with pytest.raises(ConfigError, match="n_jobs"):
        run_suite([Named("a"), Named("b")], n_jobs=0)


def test_a_class_with_name_and_run_is_a_check() -> None:
    assert isinstance(Named("a"), Check)
    assert not isinstance(lambda: None, Check)


def test_suite_finds_a_result_by_name() -> None:
    suite = SuiteResult([result("pass", name="a"), result("fail", name="b")])
    assert suite["b"].status is Status.FAIL
    with pytest.raises(KeyError):
        suite["zzz"]
