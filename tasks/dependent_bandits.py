"""Two Bernoulli arms with dependent means, ``p2 = 1 - p1`` (Wang et al. 2016, §3.1.2).

``p1`` is drawn from a Beta(a, b) prior (``dependent-bandit``: uniform, Wang's D_u) or uniformly
from a finite set of values (``dependent-bandit-easy`` / ``-medium`` / ``-hard``: {0.1, 0.9},
{0.25, 0.75}, {0.4, 0.6}, Wang's D_e, D_m, D_h). Either arm's reward is evidence about the same
``p1``: a reward r from arm 1 reads as one flip ``y = r`` of a ``p1``-coin, from arm 2 as
``y = 1 - r``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from simlib import constraints
from simlib.random import gamma
from simlib.tasks.bandits import MirroredArms


@dataclass(frozen=True)
class DependentBandit(MirroredArms):
    """Arm means ``(p1, 1 - p1)``; ``p1 ~ Beta(a, b)``, or uniform over ``values`` when given."""

    horizon: int = 100
    a: float = 1.0
    b: float = 1.0
    values: tuple[float, ...] = ()
    name: str = "dependent-bandit"

    arg_constraints = {**MirroredArms.arg_constraints, "a": constraints.positive, "b": constraints.positive,
                       "values": constraints.Each(constraints.unit_interval, 0)}

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))

    @property
    def theta_names(self) -> tuple[str, ...]:
        return ("p1",)

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        if self.values:
            support = torch.tensor(self.values, dtype=torch.float64, device=generator.device)
            pick = torch.randint(len(self.values), (episodes,), generator=generator, device=generator.device)
            return support[pick][:, None]
        x = gamma(self.a, 1.0, (episodes, 1), generator)
        y = gamma(self.b, 1.0, (episodes, 1), generator)
        return x / (x + y)
