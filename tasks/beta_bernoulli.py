"""Coin flips: p ~ Beta(a, b), observations ~ Bernoulli(p)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from simlib import constraints
from simlib.families import Bernoulli
from simlib.random import beta
from simlib.tasks.prediction import ScalarPredictionTask


@dataclass(frozen=True)
class BetaBernoulli(ScalarPredictionTask):
    """Coin flips with a Beta prior on the bias; input ``[obs, seen]``."""

    name: str = "beta-bernoulli"
    a: float = 1.0
    b: float = 1.0

    output = Bernoulli()
    theta_names = ("p",)
    arg_constraints = {**ScalarPredictionTask.arg_constraints, "a": constraints.positive, "b": constraints.positive}

    def input_alphabet(self) -> tuple[Tensor, tuple[str, ...]]:
        """Every input this task can produce: ``([3, 2] rows, labels)``."""
        rows = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
        return rows, ("start", "0", "1")

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        a = torch.full((episodes, 1), self.a, dtype=torch.float64, device=generator.device)
        b = torch.full((episodes, 1), self.b, dtype=torch.float64, device=generator.device)
        return beta(a, b, generator)

    def sample_observations(self, theta: Tensor, horizon: int, generator: torch.Generator) -> Tensor:
        u = torch.rand(theta.shape[0], horizon, generator=generator, dtype=torch.float64, device=theta.device)
        return (u < theta[:, :1]).to(torch.float64)
