"""Waiting times: rate ~ Gamma(shape, rate), observations ~ Exponential(rate)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from simlib import constraints
from simlib.families import Lomax
from simlib.random import gamma
from simlib.tasks.prediction import ScalarPredictionTask


@dataclass(frozen=True)
class GammaExponential(ScalarPredictionTask):
    """Exponential observations with a Gamma prior on their rate; input ``[x, seen]``.

    The posterior predictive is Lomax(shape + n, scale = rate + sum x).
    """

    name: str = "gamma-exponential"
    shape: float = 2.0
    rate: float = 2.0

    output = Lomax()
    theta_names = ("rate",)
    arg_constraints = {**ScalarPredictionTask.arg_constraints, "shape": constraints.positive, "rate": constraints.positive}

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        return gamma(self.shape, self.rate, (episodes, 1), generator)

    def sample_observations(self, theta: Tensor, horizon: int, generator: torch.Generator) -> Tensor:
        u = torch.rand(theta.shape[0], horizon, generator=generator, dtype=torch.float64, device=theta.device)
        return -torch.log1p(-u) / theta[:, :1]
