"""Kubernetes resource quantities (``4Gi``, ``500m``, ``1e3``), parsed and compared exactly.

The grammar and the rounding are those of ``k8s.io/apimachinery/pkg/api/resource``
(``ParseQuantity``)::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | <sign><number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <sign>            ::= "+" | "-"
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>

Suffixes are case-sensitive (``1K``, ``1gi`` and ``4 GiB`` are errors, as in Kubernetes);
``1E`` is 10**18 while ``1E3`` is an exponent. A value is kept exactly down to a nano
(10**-9): a finer non-zero value is rounded away from zero, so ``0.1n`` is ``1n``. A
binary-suffixed quantity is capped at 2**63 - 1, as Kubernetes caps it. Values are held
as an integer count of nanos, so comparisons are exact: ``1Gi == 1024Mi`` and
``0.5 == 500m``.

Three corner cases of the Go scanner are deliberately not followed: it reads ``"."``,
``"+"`` and ``"-"`` as zero; here they are malformed. Exponents are limited to
+-1000 (Kubernetes truncates larger ones to 32 bits, which silently changes the value).
"""

from __future__ import annotations

import functools
import numbers
import re
import reprlib
from fractions import Fraction
from typing import Any

import attrs

from modelship.errors import ConfigError

__all__ = ["Quantity", "parse_quantity"]

NANO = 10**9
MAX_BINARY = 2**63 - 1
MAX_EXPONENT = 1000
MAX_LENGTH = 100

_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SI_BY_EXPONENT = {e: s for s, e in _DECIMAL_SI.items()}
_BINARY_BY_EXPONENT = {e: s for s, e in _BINARY_SI.items()}
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"


def _malformed(text: object, why: str) -> ConfigError:
    return ConfigError(
        f"{text!r} is not a Kubernetes quantity: {why}. Write a number with an optional "
        "suffix and no spaces: 4Gi, 512Mi, 2, 500m, 1.5, 1e3"
    )


def _ceil_div(a: int, b: int) -> int:
    """a / b rounded away from zero (b > 0)."""
    q, r = divmod(abs(a), b)
    q += 1 if r else 0
    return q if a >= 0 else -q


@functools.total_ordering
@attrs.frozen(eq=False, repr=False)
class Quantity:
    """A Kubernetes resource quantity: an exact value, the suffix style, the text given.

    Equality, ordering and hashing are by value (``Quantity`` compares with ``Quantity``
    or with a string to parse; a string that is no quantity is unequal, and ordering
    against it raises :class:`~modelship.ConfigError`); ``str()`` is the canonical form
    Kubernetes writes back (``1.5`` becomes ``1500m``, ``1.5Gi`` becomes ``1536Mi``).
    The hash is of the value, not of any text: a set or dict of quantities does not find
    one by a string (``"1Gi" in {q}`` is False); look up ``Quantity.parse("1Gi")``.

    Attributes
    ----------
    nanos : int
        The value in units of 10**-9 (exact).
    format : str
        ``"DecimalSI"``, ``"BinarySI"`` or ``"DecimalExponent"``, from the suffix.
    text : str
        The string it was parsed from.

    Examples
    --------
    >>> from modelship.deploy import Quantity
    >>> Quantity.parse("1Gi") == "1024Mi", Quantity.parse("500m") < "1"
    (True, True)
    >>> str(Quantity.parse("1.5Gi")), str(Quantity.parse("0.5")), str(Quantity.parse("1e3"))
    ('1536Mi', '500m', '1e3')
    >>> Quantity.parse("4Gi").value
    Fraction(4294967296, 1)
    """

    nanos: int
    format: str
    text: str

    @classmethod
    def parse(cls, text: str) -> Quantity:  # noqa: PLR0912 - one branch per validation and suffix kind (binary SI, decimal SI, exponent) in the order Kubernetes applies them
        """Parse ``text`` as Kubernetes does; :class:`~modelship.ConfigError` if malformed.

        Examples
        --------
        >>> from modelship.deploy import Quantity
        >>> Quantity.parse("0.1n").nanos
        1
        >>> Quantity.parse("4 GiB")
        Traceback (most recent call last):
        ...
        modelship.errors.ConfigError: '4 GiB' is not a Kubernetes quantity: ...
        """
        if not isinstance(text, str):
            raise _malformed(text, f"a quantity is a string, got {type(text).__name__}")
        if not text:
            raise _malformed(text, "it is empty")
        if len(text) > MAX_LENGTH:
            raise _malformed(text[:20] + "...", f"it is longer than {MAX_LENGTH} characters")
        match = _QUANTITY.fullmatch(text)
        if match is None:
            raise _malformed(text, _why_not(text))
        digits_int, digits_frac = match["int"], match["frac"] or ""
        if not digits_int and not digits_frac:
            raise _malformed(text, "it has no digits before its suffix")
        suffix = match["suffix"] or ""
        binary = 0
        if suffix in _BINARY_SI:
            fmt, exponent, binary = BINARY_SI, 0, _BINARY_SI[suffix]
        elif suffix in _DECIMAL_SI:
            fmt, exponent = DECIMAL_SI, _DECIMAL_SI[suffix]
        else:
            fmt, exponent = DECIMAL_EXPONENT, int(suffix[1:])
            if abs(exponent) > MAX_EXPONENT:
                raise _malformed(text, f"its exponent is beyond +-{MAX_EXPONENT}")
        mantissa = int(digits_int + digits_frac or "0") << binary
        shift = exponent - len(digits_frac) + 9  # to nanos
        if shift >= 0:
            nanos = mantissa * 10**shift
        elif mantissa == 0:
            nanos = 0
        elif -shift > len(str(mantissa)) + 1:
            nanos = 1  # below one nano: rounded up to the smallest value, as Kubernetes does
        else:
            nanos = _ceil_div(mantissa, 10**-shift)
        if fmt == BINARY_SI:
            nanos = min(nanos, MAX_BINARY * NANO)
            if 0 < nanos < NANO:
                fmt = DECIMAL_SI  # Kubernetes writes a binary fraction of one in decimal
        if match["sign"] == "-":
            nanos = -nanos
        return cls(nanos=nanos, format=fmt, text=text)

    @property
    def value(self) -> Fraction:
        """The exact value as a fraction."""
        return Fraction(self.nanos, NANO)

    def __float__(self) -> float:
        return self.nanos / NANO

    def int_value(self) -> int:
        """The value rounded away from zero to an integer (Kubernetes' ``Value()``).

        Examples
        --------
        >>> from modelship.deploy import Quantity
        >>> Quantity.parse("1500m").int_value(), Quantity.parse("2Ki").int_value()
        (2, 2048)
        """
        return _ceil_div(self.nanos, NANO)

    def milli_value(self) -> int:
        """The value in thousandths, rounded away from zero (Kubernetes' ``MilliValue()``).

        Examples
        --------
        >>> from modelship.deploy import Quantity
        >>> Quantity.parse("2").milli_value(), Quantity.parse("0.1m").milli_value()
        (2000, 1)
        """
        return _ceil_div(self.nanos, 10**6)

    def _key(self, other: Any) -> int:
        if isinstance(other, Quantity):
            return other.nanos
        if isinstance(other, str):
            return Quantity.parse(other).nanos
        raise TypeError(f"cannot compare a Quantity with {type(other).__name__}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Quantity, str)):
            return NotImplemented
        try:
            return self.nanos == self._key(other)
        except ConfigError:
            # Text that is no quantity ("unlimited") equals none; == never raises, so
            # `q in ["unlimited", "1Gi"]` and comparisons in containers work.
            return False

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, (Quantity, str)):
            return NotImplemented
        return self.nanos < self._key(other)

    def __hash__(self) -> int:
        return hash(self.nanos)

    def __repr__(self) -> str:
        return f"Quantity({self.text!r})"

    def __str__(self) -> str:
        """The canonical form Kubernetes serialises (no fractions, largest suffix)."""
        if self.nanos == 0:
            return "0"
        sign = "-" if self.nanos < 0 else ""
        magnitude = abs(self.nanos)
        if self.format == BINARY_SI and magnitude >= 1024 * NANO and magnitude % NANO == 0:
            units, power = magnitude // NANO, 0
            while units % 1024 == 0 and power < 60:
                units //= 1024
                power += 10
            return f"{sign}{units}{_BINARY_BY_EXPONENT.get(power, '')}"
        mantissa, exponent = magnitude, -9
        while mantissa % 1000 == 0:
            mantissa //= 1000
            exponent += 3
        if self.format != DECIMAL_EXPONENT and exponent in _SI_BY_EXPONENT:
            return f"{sign}{mantissa}{_SI_BY_EXPONENT[exponent]}"
        return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")


def _why_not(text: str) -> str:
    if any(c.isspace() for c in text):
        return "it contains a space"
    stripped = text.lstrip("+-0123456789.")
    if stripped == text:
        return "it does not start with a number"
    if text.count(".") > 1:
        return "it has more than one decimal point"
    return (
        f"{stripped!r} is not a suffix (binary: Ki Mi Gi Ti Pi Ei; decimal: n u m k M G T P E; "
        "or an exponent like e3; suffixes are case-sensitive)"
    )


def parse_quantity(text: str | float | numbers.Real) -> Quantity:
    """Parse a quantity as written in YAML: a string, or a number YAML read as one.

    A number is turned into its shortest decimal text first (``0.5`` becomes ``"0.5"``),
    as Kubernetes' YAML reading does; so is a NumPy number (``np.int64(2)``,
    ``np.float32(0.5)``); ``True``/``False`` are refused.

    Examples
    --------
    >>> from modelship.deploy import parse_quantity
    >>> parse_quantity(2) == parse_quantity("2000m")
    True
    >>> parse_quantity(0.5)
    Quantity('0.5')
    """
    if isinstance(text, bool):
        raise _malformed(text, "a quantity is a number or a string, not a boolean")
    if isinstance(text, numbers.Integral):
        text = str(int(text))
    elif isinstance(text, float):
        # float() first: a NumPy float64 is a float whose repr() is "np.float64(0.5)".
        text = repr(float(text))
    elif isinstance(text, numbers.Real):
        text = _real_text(text)
    return Quantity.parse(text)


def _real_text(number: numbers.Real) -> str:
    """A number that is neither int nor float (``np.float32``, ``Decimal``) as text: its
    own shortest form when that is a quantity (``np.float32(0.1)`` is ``"0.1"``, where
    ``float()`` would give 0.10000000149011612), else its value as a float."""
    own = str(number)
    try:
        Quantity.parse(own)
    except ConfigError:
        try:
            return repr(float(number))
        except (OverflowError, ValueError) as exc:
            # Fraction(10**400, 3) has no float; a value this size is no quantity either.
            raise ConfigError(
                f"{reprlib.repr(number)} is not a Kubernetes quantity: it is too large for "
                f"one ({exc}). Write a number with an optional suffix and no spaces: 4Gi, "
                "512Mi, 2, 500m, 1.5, 1e3"
            ) from None
    return own
