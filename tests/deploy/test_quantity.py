"""Kubernetes quantities: the grammar, exact values, rounding and canonical form of
``k8s.io/apimachinery/pkg/api/resource``."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy import Quantity, parse_quantity
from modelship.errors import ConfigError

DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("1Gi", "1024Mi"),
        ("1Gi", str(2**30)),
        ("0.5", "500m"),
        ("1k", "1000"),
        ("1e3", "1k"),
        ("1E3", "1000"),
        ("1E", str(10**18)),
        ("1.5Gi", "1536Mi"),
        ("+2", "2"),
        ("1.", "1"),
        (".5", "500m"),
        ("-0", "0"),
        ("2e-3", "2m"),
        ("1000000u", "1"),
    ],
)
def test_equal_amounts_in_different_notations_are_equal(left: str, right: str) -> None:
    assert Quantity.parse(left) == Quantity.parse(right)
    assert hash(Quantity.parse(left)) == hash(Quantity.parse(right))


@pytest.mark.parametrize(
    "text",
    [
        "4 GiB",
        "4GiB",
        " 1",
        "1 ",
        "1K",
        "1gi",
        "1kb",
        "",
        "e3",
        "1e",
        "1e1.5",
        "1.2.3",
        "abc",
        ".",
        "-",
        "+",
        "Gi",
        "1ee3",
        "--1",
    ],
)
def test_malformed_quantities_are_config_errors_naming_the_text(text: str) -> None:
    with pytest.raises(ConfigError, match="is not a Kubernetes quantity"):
        Quantity.parse(text)


def test_a_space_is_named_as_the_problem() -> None:
    with pytest.raises(ConfigError, match="contains a space"):
        Quantity.parse("4 GiB")


def test_an_unknown_suffix_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"'K' is not a suffix.*case-sensitive"):
        Quantity.parse("1K")


def test_values_finer_than_a_nano_round_away_from_zero() -> None:
    assert Quantity.parse("0.1n").nanos == 1
    assert Quantity.parse("-0.1n").nanos == -1
    assert Quantity.parse("1.0000000001").nanos == 10**9 + 1
    assert Quantity.parse("1e-100").nanos == 1


def test_binary_quantities_are_capped_at_2_to_the_63_minus_1() -> None:
    assert Quantity.parse("8Ei").value == 2**63 - 1
    assert Quantity.parse("-8Ei").value == -(2**63 - 1)


def test_decimal_quantities_are_not_capped() -> None:
    assert Quantity.parse("18446744073709551616").value == 2**64


def test_exponents_beyond_the_bound_are_refused() -> None:
    with pytest.raises(ConfigError, match="exponent"):
        Quantity.parse("1e1001")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1.5", "1500m"),
        ("1.5Gi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("1024Ki", "1Mi"),
        ("1000", "1k"),
        ("1500", "1500"),
        ("1e3", "1e3"),
        ("0.1", "100m"),
        ("0", "0"),
        ("-1.5", "-1500m"),
        ("100Ki", "100Ki"),
        ("512", "512"),
        ("1000E", "1e21"),
        ("0.5Ki", "512"),
    ],
)
def test_str_is_the_canonical_form_kubernetes_writes(text: str, canonical: str) -> None:
    assert str(Quantity.parse(text)) == canonical


def test_comparisons_are_by_value_and_accept_strings() -> None:
    assert Quantity.parse("500m") < "1"
    assert Quantity.parse("4Gi") > Quantity.parse("4G")
    assert max(Quantity.parse(t) for t in ("2Gi", "3G", "2100Mi")) == "3G"


def test_comparing_with_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Quantity.parse("1") < 2  # type: ignore[operator]


def test_yaml_numbers_are_read_as_their_decimal_text() -> None:
    assert parse_quantity(2) == "2"
    assert parse_quantity(0.25) == "250m"
    with pytest.raises(ConfigError, match="boolean"):
        parse_quantity(True)


def test_int_and_milli_values_round_up_like_kubernetes() -> None:
    assert Quantity.parse("1500m").int_value() == 2
    assert Quantity.parse("-1500m").int_value() == -2
    assert Quantity.parse("0.5m").milli_value() == 1


# --- properties ---------------------------------------------------------------------------


@given(n=st.integers(-(10**12), 10**12), suffix=st.sampled_from(sorted(DECIMAL)))
def test_an_integer_with_a_decimal_suffix_is_that_power_of_ten(n: int, suffix: str) -> None:
    assert Quantity.parse(f"{n}{suffix}").value == n * Fraction(10) ** DECIMAL[suffix]


@given(n=st.integers(0, 2**20), suffix=st.sampled_from(sorted(BINARY)))
def test_an_integer_with_a_binary_suffix_is_that_power_of_two_capped(n: int, suffix: str) -> None:
    assert Quantity.parse(f"{n}{suffix}").value == min(n * 2 ** BINARY[suffix], 2**63 - 1)


@given(n=st.integers(-(10**6), 10**6), exponent=st.integers(-9, 30))
def test_an_exponent_is_a_power_of_ten(n: int, exponent: int) -> None:
    assert Quantity.parse(f"{n}e{exponent}").value == n * Fraction(10) ** exponent


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=9, allow_nan=False))
def test_a_decimal_with_up_to_nine_places_keeps_its_exact_value(d: Decimal) -> None:
    text = f"{d:f}"
    assert Quantity.parse(text).value == Fraction(d)


@given(
    n=st.integers(-(10**15), 10**15),
    suffix=st.sampled_from(sorted(DECIMAL) + sorted(BINARY) + ["e2", "e-4"]),
)
def test_the_canonical_form_parses_back_to_the_same_value(n: int, suffix: str) -> None:
    quantity = Quantity.parse(f"{n}{suffix}")
    assert Quantity.parse(str(quantity)) == quantity


@given(a=st.integers(-(10**12), 10**12), b=st.integers(-(10**12), 10**12))
def test_order_agrees_with_the_values(a: int, b: int) -> None:
    qa, qb = Quantity.parse(f"{a}m"), Quantity.parse(f"{b}m")
    assert (qa < qb) == (a < b)
    assert (qa == qb) == (a == b)
