"""Policy: a categorical distribution over ``k`` actions (bandit tasks)."""

from __future__ import annotations

from simlib.families.categorical import Categorical


class Policy(Categorical):
    """Action probabilities ``[p0, ..., p{k-1}]``; values are action indices stored as floats."""

    name = "policy"
