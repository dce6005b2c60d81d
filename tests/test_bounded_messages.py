"""The shared layers answer hostile values with short, specific errors.

Deeply nested JSON (which makes Python's decoder raise RecursionError), integers beyond
float's range (OverflowError from float()) and huge values (whose repr is megabytes, or
raises past 4,300 digits) reach every reader and every parameter check.
"""

from __future__ import annotations

import pytest

import modelship as ms
from modelship import _json
from modelship._params import Interval, check
from modelship.errors import ConfigError, IntegrityError, InvalidParameter
from modelship.registry._integrity import parse_json

NESTED = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_is_a_bad_document_not_a_recursion_error() -> None:
    with pytest.raises(ConfigError, match="the profile is not valid JSON"):
        _json.loads(NESTED, "profile")
    with pytest.raises(IntegrityError, match="manifest is not valid JSON"):
        parse_json(NESTED.encode(), "manifest")
    with pytest.raises(IntegrityError, match="manifest is not valid JSON"):
        ms.ModelVersion.from_json(NESTED)


@pytest.mark.parametrize(
    "value", [10**400, -(10**400), 10**5000], ids=["1e400", "-1e400", "1e5000"]
)
def test_an_integer_beyond_float_range_is_outside_every_interval(value: int) -> None:
    with pytest.raises(InvalidParameter, match="must be an int in"):
        check("n", value, Interval(int, 1, 10))
    with pytest.raises(InvalidParameter, match="must be a finite float"):
        check("x", value, Interval(float, None, None))


@pytest.mark.parametrize(
    "value", [list(range(100_000)), "x" * 1_000_000, 10**5000], ids=["list", "text", "int"]
)
def test_a_parameter_error_shows_at_most_a_hundred_characters_of_the_value(value: object) -> None:
    with pytest.raises(InvalidParameter) as raised:
        check("n", value, Interval(int, 1, 10))
    assert len(str(raised.value)) < 200
    assert raised.value.value is value  # the value itself stays on the error


@pytest.mark.parametrize("name", ["x" * 2_000_000, b"y" * 2_000_000])
def test_an_unknown_serializer_name_is_shown_not_echoed(name: object) -> None:
    reg = ms.open_registry("memory://bounded-serializer-name")
    with pytest.raises(ConfigError) as err:
        reg.register(model_name="m", model=b"x", serializer=name)  # type: ignore[arg-type]
    assert len(str(err.value)) < 400
