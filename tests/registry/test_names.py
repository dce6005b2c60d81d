"""The names users choose: each rule at its boundary, and what the refusal says.

Model names, versions and aliases become parts of storage keys; a refusal must say which
kind of name, what was wrong and what is allowed. Written after mutation testing
(``nox -s mutation``) showed the boundaries and messages were not pinned by any test.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from modelship._names import (
    MAX_ALIAS,
    MAX_NAME,
    MAX_VERSION,
    check_alias,
    check_model_name,
    check_stored,
    check_version,
)
from modelship.errors import IntegrityError, InvalidName

CHECKS = [
    pytest.param(check_model_name, "model name", MAX_NAME, id="model name"),
    pytest.param(check_version, "version", MAX_VERSION, id="version"),
    pytest.param(check_alias, "alias", MAX_ALIAS, id="alias"),
]


def refusal(check: object, value: object) -> str:
    with pytest.raises(InvalidName) as caught:
        check(value)  # type: ignore[operator]
    return str(caught.value)


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
def test_a_name_of_exactly_the_limit_is_accepted_and_one_more_is_refused_saying_both(
    check: object, kind: str, limit: int
) -> None:
    assert check("a" * limit) == "a" * limit  # type: ignore[operator]
    message = refusal(check, "a" * (limit + 1))
    assert message == f"{kind} {'a' * 20!r}... is {limit + 1} characters; at most {limit}"


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
def test_a_name_that_is_not_a_string_is_refused_naming_its_type(
    check: object, kind: str, limit: int
) -> None:
    assert refusal(check, 3.5) == f"{kind} must be a string, got float: 3.5"
    assert refusal(check, None) == f"{kind} must be a string, got NoneType: None"


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
def test_an_empty_name_is_refused(check: object, kind: str, limit: int) -> None:
    assert refusal(check, "") == f"{kind} must not be empty"


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
def test_unsafe_characters_are_listed_once_each_in_order(
    check: object, kind: str, limit: int
) -> None:
    message = refusal(check, "a/b c/d\\é")
    assert message == (
        f"{kind} 'a/b c/d\\\\é' is not allowed: characters ' /\\\\é' are not allowed; "
        "use letters, digits, '.', '_' and '-', starting with a letter or digit"
    )


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
def test_the_safe_punctuation_is_allowed_inside_a_name(
    check: object, kind: str, limit: int
) -> None:
    assert check("a.b_c-d9") == "a.b_c-d9"  # type: ignore[operator]


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
@pytest.mark.parametrize("first", [".", "_", "-"])
def test_a_name_starting_with_punctuation_is_refused_saying_how_it_must_start(
    check: object, kind: str, limit: int, first: str
) -> None:
    message = refusal(check, f"{first}abc")
    assert message == (
        f"{kind} '{first}abc' is not allowed: it must start with a letter or digit; "
        "use letters, digits, '.', '_' and '-', starting with a letter or digit"
    )


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
def test_a_double_dot_is_refused(check: object, kind: str, limit: int) -> None:
    assert refusal(check, "a..b") == f"{kind} 'a..b' must not contain '..'"


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
def test_a_trailing_dot_is_refused_saying_windows_drops_it(
    check: object, kind: str, limit: int
) -> None:
    assert refusal(check, "ab.") == f"{kind} 'ab.' must not end with '.' (Windows drops it)"


@pytest.mark.parametrize(("check", "kind", "limit"), CHECKS)
@pytest.mark.parametrize("device", ["con", "PRN", "aux.txt", "Nul", "com1", "LPT9.log"])
def test_windows_device_names_are_refused_with_or_without_an_extension(
    check: object, kind: str, limit: int, device: str
) -> None:
    assert refusal(check, device) == f"{kind} {device!r} is a reserved device name on Windows"


@pytest.mark.parametrize("near", ["com0", "com10", "lpt", "console", "auxiliary", "nul_"])
def test_names_near_a_windows_device_name_are_accepted(near: str) -> None:
    assert check_model_name(near) == near


def test_an_integer_version_of_one_or_more_is_its_string() -> None:
    assert check_version(1) == "1"
    assert check_version(42) == "42"


@pytest.mark.parametrize("bad", [0, -1])
def test_an_integer_version_below_one_is_refused(bad: int) -> None:
    assert refusal(check_version, bad) == f"version {bad} must be a positive integer"


def test_a_boolean_is_not_an_integer_version() -> None:
    assert refusal(check_version, True) == "version must be a string, got bool: True"


@pytest.mark.parametrize("reserved", ["latest", "LATEST", "Latest"])
def test_latest_is_reserved_as_a_version_and_as_an_alias(reserved: str) -> None:
    assert refusal(check_version, reserved) == (
        f"version {reserved!r} is reserved as a reference; choose another"
    )
    assert refusal(check_alias, reserved) == f"alias {reserved!r} is reserved; choose another"


def test_an_alias_may_be_written_with_a_leading_at() -> None:
    assert check_alias("@production") == "production"
    assert check_alias("production") == "production"


def test_only_one_leading_at_is_dropped() -> None:
    assert "characters '@'" in refusal(check_alias, "@@production")


@pytest.mark.parametrize("bad", ["1st", "9"])
def test_an_alias_must_start_with_a_letter(bad: str) -> None:
    assert refusal(check_alias, bad) == f"alias {bad!r} must start with a letter"


def test_a_version_may_start_with_a_digit_and_a_model_name_too() -> None:
    assert check_version("1st") == "1st"
    assert check_model_name("9lives") == "9lives"


def test_a_stored_name_that_would_be_refused_as_input_is_an_integrity_error() -> None:
    where = "models/m/slots/000000000001.json"
    with pytest.raises(IntegrityError) as caught:
        check_stored(check_version, "../../x", where)
    message = str(caught.value)
    assert message.startswith(f"{where} holds a name that would not be accepted as input (")
    assert re.search(r"characters '/' are not allowed", message)
    assert message.endswith("the registry was tampered with or damaged")
    assert isinstance(caught.value.__cause__, InvalidName)


def test_a_stored_name_that_is_valid_is_returned_as_the_check_returns_it() -> None:
    assert check_stored(check_alias, "prod", "aliases/m/prod.json") == "prod"
    assert check_stored(check_version, "7", "models/m/slots/1.json") == "7"


@pytest.mark.parametrize(("check", "value"), [(check_alias, "@prod"), (check_version, 7)])
def test_a_stored_name_not_as_the_registry_writes_it_is_damage(
    check: Callable[[object], str], value: object
) -> None:
    # The registry writes the text it checked: "@prod" or the number 7 read back were not
    # written by it, and were taken for "prod" and "7".
    with pytest.raises(IntegrityError, match="not a name as the registry writes it"):
        check_stored(check, value, "models/m/slots/1.json")
