"""Declared constraints on task parameters, checked once in the task base classes.

As ``torch.distributions`` declares ``arg_constraints``, a task class declares
``arg_constraints = {field: constraint}`` (merged with its base class's); building a task with
a value outside its constraint (negative, NaN, infinite, a string, a fractional horizon) raises
a :class:`~simlib.errors.SimlibError` naming the task, the field and what it must be.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from simlib.errors import SimlibError


@dataclass(frozen=True)
class Constraint:
    """What one number must be: ``description`` for the message, ``test`` on a finite value;
    ``integer`` asks for a whole number (an ``int``, not ``2.0``)."""

    description: str
    test: Callable[[float], bool]
    integer: bool = False

    def holds(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.integer and not isinstance(value, numbers.Integral):
            return False
        return math.isfinite(value) and bool(self.test(value))


@dataclass(frozen=True)
class Each:
    """A tuple of at least ``min_length`` entries, every one meeting ``constraint``."""

    constraint: Constraint
    min_length: int = 1

    @property
    def description(self) -> str:
        length = f" of at least {self.min_length}" if self.min_length else ""
        return f"a sequence{length}, each a {self.constraint.description}"

    def holds(self, value: object) -> bool:
        return (isinstance(value, (tuple, list)) and len(value) >= self.min_length
                and all(self.constraint.holds(v) for v in value))


real = Constraint("finite number", lambda v: True)
positive = Constraint("finite number > 0", lambda v: v > 0)
unit_interval = Constraint("number in [0, 1]", lambda v: 0 <= v <= 1)
discount = Constraint("number in (0, 1]", lambda v: 0 < v <= 1)
positive_integer = Constraint("whole number >= 1", lambda v: v >= 1, integer=True)


def integer_at_least(low: int) -> Constraint:
    """A whole number of at least ``low``."""
    return Constraint(f"whole number >= {low}", lambda v: v >= low, integer=True)


def validate(task: object) -> None:
    """Check every declared parameter of ``task`` (``type(task).arg_constraints``)."""
    for field, constraint in getattr(type(task), "arg_constraints", {}).items():
        value = getattr(task, field)
        if not constraint.holds(value):
            name = getattr(task, "name", type(task).__name__)
            article = "" if isinstance(constraint, Each) else "a "
            raise SimlibError(f"task {name!r}: {field} must be {article}{constraint.description}, got {value!r}")
