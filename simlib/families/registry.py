"""Rebuild a family from its ``config()`` (checkpoints and trace attrs store configs)."""

from __future__ import annotations

from simlib.errors import SimlibError
from simlib.families.base import OutputFamily
from simlib.families.bernoulli import Bernoulli
from simlib.families.categorical import Categorical
from simlib.families.exponential import Exponential
from simlib.families.lomax import Lomax
from simlib.families.normal import Normal
from simlib.families.policy import Policy
from simlib.families.student_t import StudentT

_FAMILIES: dict[str, type[OutputFamily]] = {
    cls.name: cls for cls in (Bernoulli, Categorical, Policy, Normal, StudentT, Lomax, Exponential)
}


def family_from_config(config: dict) -> OutputFamily:
    """``{"name": "categorical", "k": 3}`` -> ``Categorical(3)``."""
    kwargs = dict(config)
    name = kwargs.pop("name", None)
    if name not in _FAMILIES:
        raise SimlibError(f"unknown output family {name!r}; known: {', '.join(sorted(_FAMILIES))}")
    try:
        return _FAMILIES[name](**kwargs)
    except TypeError as error:
        raise SimlibError(f"bad config for output family {name!r}: {config!r} ({error})") from None
