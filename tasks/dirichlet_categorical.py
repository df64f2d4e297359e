"""Dice: class probabilities ~ Dirichlet(alpha), observations ~ Categorical."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from simlib import constraints
from simlib.families import Categorical, OutputFamily
from simlib.random import standard_gamma
from simlib.tasks.prediction import PredictionTaskBase


@dataclass(frozen=True)
class DirichletCategorical(PredictionTaskBase):
    """A k-sided die (k = len(alpha)); input ``[one-hot(obs), seen]``."""

    name: str = "dirichlet-categorical"
    alpha: tuple[float, ...] = (1.0, 1.0, 1.0)

    arg_constraints = {**PredictionTaskBase.arg_constraints, "alpha": constraints.Each(constraints.positive, 2)}

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "alpha", tuple(float(a) for a in self.alpha))

    @property
    def k(self) -> int:
        return len(self.alpha)

    @property
    def output(self) -> OutputFamily:
        return Categorical(self.k)

    @property
    def theta_names(self) -> tuple[str, ...]:
        return tuple(f"p{i}" for i in range(self.k))

    @property
    def observation_dim(self) -> int:
        return self.k

    def encode_observation(self, observations: Tensor) -> Tensor:
        return torch.nn.functional.one_hot(observations.long(), self.k).to(torch.float64)

    def input_alphabet(self) -> tuple[Tensor, tuple[str, ...]]:
        """Start token and one row per side: ``([k + 1, k + 1] rows, labels)``."""
        rows = torch.zeros(self.k + 1, self.k + 1, dtype=torch.float64)
        rows[1:, :-1] = torch.eye(self.k, dtype=torch.float64)
        rows[1:, -1] = 1.0
        return rows, ("start",) + tuple(str(i) for i in range(self.k))

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        alpha = torch.tensor(self.alpha, dtype=torch.float64, device=generator.device).expand(episodes, self.k)
        draws = standard_gamma(alpha.contiguous(), generator)
        return draws / draws.sum(1, keepdim=True)

    def sample_observations(self, theta: Tensor, horizon: int, generator: torch.Generator) -> Tensor:
        u = torch.rand(theta.shape[0], horizon, 1, generator=generator, dtype=torch.float64, device=theta.device)
        cdf = theta.cumsum(1)[:, None, :-1]
        return (cdf <= u).sum(-1).to(torch.float64)
