"""Parameter constraints, declared once next to the parameter, checked in one place.

A public parameter's allowed values are written where the parameter is declared: in the
:func:`validate_params` decorator of a function, or in the :func:`parameter` field of an
attrs class. Every violation raises :class:`~modelship.errors.ConfigError` with one
message shape, naming the parameter, the value given and what is allowed::

    alpha=2 is not allowed; alpha must be a float in (0, 1)

A parameter may accept several forms: its constraints are alternatives, and the value is
valid when one of them accepts it (``None`` stands for "None is allowed"). The declared
constraints of any function or class can be read back with :func:`declared_constraints`,
so one test feeds every declared parameter an invalid value (each constraint proposes its
own with :meth:`Constraint.invalid_values`).

This module is a leaf: it imports nothing from modelship but the exception tree.

Examples
--------
A function declares its constraints in a decorator beside its signature:

>>> from modelship._params import Interval, Options, validate_params
>>> @validate_params(alpha=Interval(float, 0, 1, closed="neither"), tail=Options(("two", "one")))
... def test(p: float, alpha: float = 0.05, tail: str = "two") -> bool:
...     return p < alpha
>>> test(0.01)
True
>>> test(0.01, alpha=2)
Traceback (most recent call last):
...
modelship.errors.InvalidParameter: alpha=2 is not allowed; alpha must be a float in (0, 1)

An attrs class declares them in a ``_parameter_constraints`` dict beside its fields, as
scikit-learn's estimators do, and checks them in ``__attrs_pre_init__``: before its
converters run, so the converters (which keep the fields' input types for mypy) only see
allowed values.

>>> from typing import ClassVar
>>> import attrs
>>> from modelship._params import check_parameters, declared_constraints
>>> @attrs.frozen(kw_only=True)
... class Rollout:
...     _parameter_constraints: ClassVar = {
...         "steps": Interval(int, 1, None),
...         "max_error_rate": Interval(float, 0, 1),
...         "timeout_s": (None, Interval(float, 0, None, closed="neither")),
...     }
...     __attrs_pre_init__ = check_parameters
...
...     steps: int = 4
...     max_error_rate: float = attrs.field(default=0.01, converter=float)
...     timeout_s: float | None = None
>>> Rollout(max_error_rate=0).max_error_rate
0.0
>>> Rollout(steps=0)
Traceback (most recent call last):
...
modelship.errors.InvalidParameter: steps=0 is not allowed; steps must be an int >= 1
>>> sorted(declared_constraints(Rollout))
['max_error_rate', 'steps', 'timeout_s']
"""

from __future__ import annotations

import abc
import enum
import functools
import inspect
import math
import numbers
import re
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, ParamSpec, TypeVar, Union

import attrs

from modelship.errors import ConfigError, InvalidParameter

__all__ = [
    "Constraint",
    "Constraints",
    "Interval",
    "MappingOf",
    "Names",
    "Options",
    "Text",
    "check",
    "check_parameters",
    "declared_constraints",
    "invalid_values",
    "validate_params",
]

#: What a parameter allows: one constraint, a type, None, or a tuple of alternatives.
Spec = Union["Constraint", type, None, tuple[Union["Constraint", type, None], ...]]
#: A class's ``_parameter_constraints``: parameter name to what it allows.
Constraints = Mapping[str, Spec]

P = ParamSpec("P")
R = TypeVar("R")

# The attribute validate_params() sets on the function it returns.
_FUNCTION_ATTRIBUTE = "__parameter_constraints__"


class Constraint(abc.ABC):
    """What a parameter accepts: a test, a description, and values it refuses.

    Examples
    --------
    >>> from modelship._params import Interval
    >>> bins = Interval(int, 2, None)
    >>> bins.is_satisfied_by(10), bins.is_satisfied_by(1), str(bins)
    (True, False, 'an int >= 2')
    """

    @abc.abstractmethod
    def is_satisfied_by(self, value: object) -> bool:
        """Whether ``value`` is allowed."""

    @abc.abstractmethod
    def __str__(self) -> str:
        """What is allowed, as a noun phrase ("a float in (0, 1)")."""

    @abc.abstractmethod
    def invalid_values(self) -> tuple[object, ...]:
        """Values this constraint refuses (a test feeds them to the parameter)."""

    def accepted_types(self) -> frozenset[type]:
        """Types whose every instance is allowed (that exact type, not its subclasses):
        :func:`check_parameters` lets a value of one through without calling
        :meth:`is_satisfied_by`, the cost of most results built. Empty unless a subclass
        says otherwise; a type listed must never be refused."""
        return frozenset()

    def violation(self, name: str, value: object) -> ConfigError | None:
        """The error for ``value``, or None when it is allowed (entries of a mapping
        override this to name the offending entry)."""
        if self.is_satisfied_by(value):
            return None
        return _error(name, value, str(self))


def _own_test(constraint: Constraint, base: type[Constraint]) -> bool:
    """Whether ``constraint`` tests values with ``base``'s own :meth:`~Constraint.is_satisfied_by`.

    Not when a subclass overrides it (a stricter test): then none of ``base``'s
    :meth:`~Constraint.accepted_types` is let through untested.

    Examples
    --------
    >>> class Positive(_InstanceOf):
    ...     def is_satisfied_by(self, value: object) -> bool:
    ...         return isinstance(value, int) and value > 0
    >>> _own_test(_InstanceOf(int), _InstanceOf), _own_test(Positive(int), _InstanceOf)
    (True, False)
    >>> Positive(int).accepted_types()
    frozenset()
    """
    return type(constraint).is_satisfied_by is base.is_satisfied_by


class _IsNone(Constraint):
    def is_satisfied_by(self, value: object) -> bool:
        return value is None

    def accepted_types(self) -> frozenset[type]:
        return frozenset((type(None),)) if _own_test(self, _IsNone) else frozenset()

    def __str__(self) -> str:
        return "None"

    def invalid_values(self) -> tuple[object, ...]:
        return (object(),)


class _InstanceOf(Constraint):
    def __init__(self, kind: type) -> None:
        self.kind = kind

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, self.kind)

    def accepted_types(self) -> frozenset[type]:
        if not _own_test(self, _InstanceOf) or not isinstance(self.kind, type):
            return frozenset()
        return frozenset((self.kind,))

    def __str__(self) -> str:
        return f"an instance of {self.kind.__name__}"

    def invalid_values(self) -> tuple[object, ...]:
        return (object(),)


def _bound(value: float) -> str:
    """A bound as a reader wants it: whole numbers in full (2147483647, not 2.14748e+09)."""
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e16):
        return str(int(value))
    return f"{value:g}"


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Interval(Constraint):
    """An int or a finite float between two bounds; either bound may be None (open-ended).

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts integers (NumPy's too), never booleans; ``float`` accepts any finite
        real number.
    left, right : float or None
        The bounds; None for no bound on that side.
    closed : {"both", "left", "right", "neither"}, default "both"
        Which bounds belong to the interval.

    Examples
    --------
    >>> from modelship._params import Interval
    >>> str(Interval(float, 0, 1, closed="right")), str(Interval(float, 0, None, closed="neither"))
    ('a float in (0, 1]', 'a finite float > 0')
    >>> Interval(int, 2, None).is_satisfied_by(True)
    False
    """

    def __init__(
        self,
        kind: type[int] | type[float],
        left: float | None,
        right: float | None,
        *,
        closed: Literal["both", "left", "right", "neither"] = "both",
    ) -> None:
        if kind not in (int, float):
            raise TypeError(f"Interval kind must be int or float, got {kind!r}")
        self.kind = kind
        self.left = left
        self.right = right
        self.closed = closed
        self.left_closed = closed in ("both", "left")
        self.right_closed = closed in ("both", "right")

    def is_satisfied_by(self, value: object) -> bool:
        if not (_is_int(value) if self.kind is int else _is_real(value)):
            return False
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:  # an int beyond float's range (10**400): outside any interval
            return False
        if not math.isfinite(number):
            return False
        if self.left is not None and not (
            number > self.left or (self.left_closed and number == self.left)
        ):
            return False
        return (
            self.right is None
            or number < self.right
            or (self.right_closed and number == self.right)
        )

    def __str__(self) -> str:
        if self.left is not None and self.right is not None:
            noun = "an int" if self.kind is int else "a float"
            opening = "[" if self.left_closed else "("
            closing = "]" if self.right_closed else ")"
            return f"{noun} in {opening}{_bound(self.left)}, {_bound(self.right)}{closing}"
        noun = "an int" if self.kind is int else "a finite float"
        if self.left is not None:
            return f"{noun} {'>=' if self.left_closed else '>'} {_bound(self.left)}"
        if self.right is not None:
            return f"{noun} {'<=' if self.right_closed else '<'} {_bound(self.right)}"
        return noun

    def invalid_values(self) -> tuple[object, ...]:
        wrong_type: tuple[object, ...] = (
            ("1", True, 2.5) if self.kind is int else ("1", True, math.nan)
        )
        step = 1 if self.kind is int else 0.5
        outside: list[object] = []
        if self.left is not None:
            outside.append(self.kind(self.left - step if self.left_closed else self.left))
        if self.right is not None:
            outside.append(self.kind(self.right + step if self.right_closed else self.right))
        return (*wrong_type, *outside)


class Options(Constraint):
    """One of a fixed set of values, or a member (or member value) of an enum.

    Parameters
    ----------
    values : iterable or enum class
        The allowed values. With an enum class, a member or a member's value is allowed.

    Examples
    --------
    >>> import enum
    >>> from modelship._params import Options
    >>> str(Options(("bh", "holm")))
    "one of 'bh', 'holm'"
    >>> class Tail(enum.Enum):
    ...     ONE = "one"
    ...     TWO = "two"
    >>> Options(Tail).is_satisfied_by("two"), Options(Tail).is_satisfied_by(Tail.ONE)
    (True, True)
    """

    def __init__(self, values: Iterable[object] | type[enum.Enum]) -> None:
        self.enum: type[enum.Enum] | None = None
        if isinstance(values, type) and issubclass(values, enum.Enum):
            self.enum = values
            self.values: tuple[object, ...] = tuple(member.value for member in values)
        else:
            self.values = tuple(values)

    def is_satisfied_by(self, value: object) -> bool:
        if self.enum is not None and isinstance(value, self.enum):
            return True
        try:
            # True == 1, but a flag is not a number: compare booleans only with booleans.
            return any(
                isinstance(value, bool) == isinstance(allowed, bool) and bool(value == allowed)
                for allowed in self.values
            )
        except (TypeError, ValueError):  # an array compared elementwise
            return False

    def accepted_types(self) -> frozenset[type]:
        # A member of the enum (whose type is the enum itself: one with members has no
        # subclasses); plain values are compared one by one, and so is everything for a
        # subclass that tests values its own way.
        if self.enum is None or not _own_test(self, Options):
            return frozenset()
        return frozenset((self.enum,))

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(value) for value in self.values)

    def invalid_values(self) -> tuple[object, ...]:
        return ("not-an-option", 12345)


class MappingOf(Constraint):
    """A mapping of names to values that each meet ``values`` (alternatives, as elsewhere).

    An error names the offending entry: ``thresholds['age']=-1 is not allowed; ...``.

    Examples
    --------
    >>> from modelship._params import Interval, MappingOf, check
    >>> check("thresholds", {"age": -1.0}, MappingOf(Interval(float, 0, None, closed="neither")))
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: thresholds['age']=-1.0 is not allowed; ...
    """

    def __init__(self, *values: Constraint | type | None, keys: Constraint | None = None) -> None:
        self.entries = _constraints(values)
        self.keys = keys

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, Mapping) and all(
            (self.keys is None or self.keys.is_satisfied_by(key))
            and _first_satisfied(self.entries, item) is not None
            for key, item in value.items()
        )

    def __str__(self) -> str:
        names = "names" if self.keys is None else f"keys ({self.keys})"
        return f"a mapping of {names} to {_describe(self.entries)}"

    def invalid_values(self) -> tuple[object, ...]:
        bad_entries = _invalid_for(self.entries)[:1]
        if self.keys is not None:
            return ("not-a-mapping", {self.keys.invalid_values()[0]: None})
        return ("not-a-mapping", *({"column": value} for value in bad_entries))

    def violation(self, name: str, value: object) -> ConfigError | None:
        if not isinstance(value, Mapping):
            return _error(name, value, str(self))
        for key, item in value.items():
            if self.keys is not None and not self.keys.is_satisfied_by(key):
                return ConfigError(
                    f"{name}[{key!r}] is not allowed; the keys of {name} must be {self.keys}"
                )
            error = _violation(f"{name}[{key!r}]", item, self.entries)
            if error is not None:
                return error
        return None


class Names(Constraint):
    """A sequence of column names, never a single string.

    Examples
    --------
    >>> from modelship._params import Names
    >>> Names().is_satisfied_by(["a", "b"]), Names().is_satisfied_by("ab")
    (True, False)
    """

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes)

    def __str__(self) -> str:
        return "a sequence of names (not a single string)"

    def invalid_values(self) -> tuple[object, ...]:
        return ("age",)


class Text(Constraint):
    """A non-empty string, optionally matching a pattern that ``description`` puts in words.

    ``refuses`` lists strings the pattern refuses, for the generated tests.

    Examples
    --------
    >>> from modelship._params import Text
    >>> path = Text(r"/\\S*", "a path starting with '/', without spaces")
    >>> path.is_satisfied_by("/health"), path.is_satisfied_by("health"), str(path)
    (True, False, "a path starting with '/', without spaces")
    >>> Text().is_satisfied_by("  ")
    False
    """

    def __init__(
        self,
        pattern: str | None = None,
        description: str = "a non-empty string",
        *,
        refuses: tuple[str, ...] = (),
    ) -> None:
        self.pattern = None if pattern is None else re.compile(pattern)
        self.description = description
        self.refuses = refuses

    def is_satisfied_by(self, value: object) -> bool:
        if not isinstance(value, str) or not value.strip():
            return False
        return self.pattern is None or self.pattern.fullmatch(value) is not None

    def __str__(self) -> str:
        return self.description

    def invalid_values(self) -> tuple[object, ...]:
        return ("", " ", 12345, *self.refuses)


# --- checking ------------------------------------------------------------------------------


def _constraints(declared: Iterable[Constraint | type | None]) -> tuple[Constraint, ...]:
    out: list[Constraint] = []
    for item in declared:
        if item is None:
            out.append(_IsNone())
        elif isinstance(item, Constraint):
            out.append(item)
        elif isinstance(item, type):
            out.append(_InstanceOf(item))
        else:
            raise TypeError(f"not a constraint: {item!r}")
    if not out:
        raise TypeError("a parameter needs at least one constraint")
    return tuple(out)


def _describe(constraints: Sequence[Constraint]) -> str:
    words = [str(constraint) for constraint in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _error(name: str, value: object, allowed: str) -> ConfigError:
    return InvalidParameter(name, value, allowed)


def _first_satisfied(constraints: Sequence[Constraint], value: object) -> Constraint | None:
    return next((c for c in constraints if c.is_satisfied_by(value)), None)


def _violation(name: str, value: object, constraints: Sequence[Constraint]) -> ConfigError | None:
    if _first_satisfied(constraints, value) is not None:
        return None
    if len(constraints) == 1:
        return constraints[0].violation(name, value)
    return _error(name, value, _describe(constraints))


def _invalid_for(constraints: Sequence[Constraint]) -> list[object]:
    candidates = [value for c in constraints for value in c.invalid_values()]
    return [v for v in candidates if _first_satisfied(constraints, v) is None]


def check(name: str, value: object, *constraints: Constraint | type | None) -> None:
    """Raise :class:`ConfigError` unless ``value`` meets one of ``constraints``.

    Parameters
    ----------
    name : str
        The parameter's name, as the user wrote it.
    value : object
        What the user passed.
    *constraints : Constraint, type or None
        The alternatives allowed; a type means an instance of it, None means None.

    Raises
    ------
    ConfigError
        ``{name}={value!r} is not allowed; {name} must be {what is allowed}``.

    Examples
    --------
    >>> from modelship._params import Interval, check
    >>> check("n_jobs", 0, None, Interval(int, 1, None), Interval(int, None, -1))
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: n_jobs=0 is not allowed; n_jobs must be ...
    """
    error = _violation(name, value, _constraints(constraints))
    if error is not None:
        raise error


def invalid_values(*constraints: Constraint | type | None) -> list[object]:
    """Values that none of ``constraints`` accepts (for generated tests).

    Examples
    --------
    >>> from modelship._params import Interval, invalid_values
    >>> invalid_values(None, Interval(int, 2, None))[1:]
    ['1', True, 2.5, 1]
    """
    return _invalid_for(_constraints(constraints))


def validate_params(
    **declared: Spec,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Check the named parameters of the decorated function on every call.

    Each keyword names a parameter and gives its constraint, or a tuple of alternatives.
    Only parameters the caller passed are checked (defaults are valid by construction).

    Raises
    ------
    TypeError
        At decoration, when a keyword is not a parameter of the function.
    ConfigError
        At a call, when a passed value breaks its constraints.

    Examples
    --------
    >>> from modelship._params import Interval, validate_params
    >>> @validate_params(size=Interval(int, 2, None))
    ... def summary(values: list[float], size: int = 1001) -> int:
    ...     return min(size, len(values))
    >>> summary([1.0], size=1)
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: size=1 is not allowed; size must be an int >= 2
    """
    constraints = {name: _normalise(spec) for name, spec in declared.items()}

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)
        unknown = sorted(set(constraints) - set(signature.parameters))
        if unknown:
            raise TypeError(f"{function.__qualname__} has no parameter(s) {unknown}")

        # Where each checked parameter sits when passed by position (None: keyword only):
        # looked up by hand, a call costs a few microseconds less than Signature.bind; the
        # checks themselves cost about 5 us a parameter on this 2-core VM, against the
        # milliseconds of a statistic on a column.
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        order = [p.name for p in signature.parameters.values() if p.kind in positional]
        where = {name: order.index(name) if name in order else None for name in constraints}

        @functools.wraps(function)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            for name, allowed in constraints.items():
                index = where[name]
                if name in kwargs:
                    value = kwargs[name]
                elif index is not None and index < len(args):
                    value = args[index]
                else:
                    continue  # the default, valid by construction
                error = _violation(name, value, allowed)
                if error is not None:
                    raise error
            return function(*args, **kwargs)

        checked.__dict__[_FUNCTION_ATTRIBUTE] = constraints
        return checked

    return decorate


def check_parameters(self: object, *args: Any, **kwargs: Any) -> None:
    """Check an attrs instance's arguments against its class's ``_parameter_constraints``.

    Assign it as the class's ``__attrs_pre_init__``: attrs then calls it with the arguments
    given to ``__init__``, before any converter runs, so a refused value is reported as
    given, and converters only ever see allowed values. Only the parameters named in
    ``_parameter_constraints`` are checked; a subclass extends its parent's dict.

    Raises
    ------
    ConfigError
        When an argument breaks its constraints.

    Examples
    --------
    >>> from typing import ClassVar
    >>> import attrs
    >>> from modelship._params import Interval, check_parameters
    >>> @attrs.frozen
    ... class Canary:
    ...     _parameter_constraints: ClassVar = {"share": Interval(float, 0, 1, closed="neither")}
    ...     __attrs_pre_init__ = check_parameters
    ...     share: float = attrs.field(default=0.1, converter=float)
    >>> Canary(1).share
    Traceback (most recent call last):
    ...
    modelship.errors.InvalidParameter: share=1 is not allowed; share must be a float in (0, 1)
    """
    cls = type(self)
    # Positional arguments (a class that is not kw_only) are named by the signature.
    arguments = inspect.signature(cls).bind_partial(*args, **kwargs).arguments if args else kwargs
    for name, allowed, accepted in _class_checks(cls):
        if name in arguments:
            value = arguments[name]
            # A value of a type that one of the constraints accepts whole (a str for str,
            # a float for a number, None for None) needs no test: most results built.
            if type(value) in accepted or value is attrs.NOTHING:  # NOTHING: the default
                continue
            error = _violation(name, value, allowed)
            if error is not None:
                raise error


# Normalised once per class: an instance is checked against it on every construction.
_CLASS_CONSTRAINTS: weakref.WeakKeyDictionary[type, dict[str, tuple[Constraint, ...]]] = (
    weakref.WeakKeyDictionary()
)
# The same, as (name, constraints, the types they accept whole) for check_parameters.
_CLASS_CHECKS: weakref.WeakKeyDictionary[
    type, tuple[tuple[str, tuple[Constraint, ...], frozenset[type]], ...]
] = weakref.WeakKeyDictionary()


def _class_constraints(cls: type) -> dict[str, tuple[Constraint, ...]]:
    found = _CLASS_CONSTRAINTS.get(cls)
    if found is None:
        declared: Constraints = getattr(cls, "_parameter_constraints", {})
        found = {name: _normalise(spec) for name, spec in declared.items()}
        _CLASS_CONSTRAINTS[cls] = found
    return found


def _class_checks(
    cls: type,
) -> tuple[tuple[str, tuple[Constraint, ...], frozenset[type]], ...]:
    found = _CLASS_CHECKS.get(cls)
    if found is None:
        found = tuple(
            (name, allowed, frozenset().union(*(c.accepted_types() for c in allowed)))
            for name, allowed in _class_constraints(cls).items()
        )
        _CLASS_CHECKS[cls] = found
    return found


def _normalise(spec: Spec) -> tuple[Constraint, ...]:
    return _constraints(spec if isinstance(spec, tuple) else (spec,))


def declared_constraints(target: object) -> dict[str, tuple[Constraint, ...]]:
    """The constraints declared for the parameters of a function or an attrs class.

    Examples
    --------
    >>> from modelship.checks import stats
    >>> sorted(declared_constraints(stats.psi))
    ['eps']
    """
    if isinstance(target, type):
        return dict(_class_constraints(target))
    return dict(getattr(target, _FUNCTION_ATTRIBUTE, {}))
