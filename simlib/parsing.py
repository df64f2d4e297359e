"""Strict parsing of numbers users type in specs and options.

ASCII only: ``str.isdigit`` accepts ``'²'`` and ``float`` accepts ``'١٢'`` (Arabic-Indic digits),
which ``int`` then refuses or reads as another number.
"""

from __future__ import annotations

import re

_INTEGER = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def positive_integer(text: str) -> int | None:
    """``text`` as an int if it is ASCII digits with a value of at least 1, else None."""
    value = natural_number(text)
    return value if value is not None and value >= 1 else None


def natural_number(text: str) -> int | None:
    """``text`` as an int if it is ASCII digits (0 included), else None."""
    return int(text) if _INTEGER.fullmatch(text) else None


def decimal_number(text: str) -> float | None:
    """``text`` as a float if it is an ASCII decimal (``0.2``, ``-1e-3``, ``.5``), else None
    (``inf`` and ``nan`` too: a parameter typed by a user is a finite number)."""
    return float(text) if _FLOAT.fullmatch(text) else None
