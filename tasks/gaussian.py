"""Gaussian observations with conjugate priors on their mean, precision, or both."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from simlib import constraints
from simlib.families import Normal, StudentT
from simlib.random import gamma
from simlib.tasks.prediction import ScalarPredictionTask


@dataclass(frozen=True)
class _GaussianTask(ScalarPredictionTask):
    """Scalar real observations, Gaussian given theta; input ``[x, seen]``."""

    def sample_observations(self, theta: Tensor, horizon: int, generator: torch.Generator) -> Tensor:
        mean, std = self._moments(theta)
        z = torch.randn(theta.shape[0], horizon, generator=generator, dtype=torch.float64, device=theta.device)
        return mean[:, None] + std[:, None] * z

    @abstractmethod
    def _moments(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and standard deviation ``[E]`` of the observations given theta."""


@dataclass(frozen=True)
class NormalNormal(_GaussianTask):
    """``mu ~ N(prior_mean, prior_std^2)``, observations ``N(mu, noise_std^2)``; predictive Normal."""

    name: str = "normal-normal"
    prior_mean: float = 0.0
    prior_std: float = 1.0
    noise_std: float = 1.0

    output = Normal()
    theta_names = ("mu",)
    arg_constraints = {**ScalarPredictionTask.arg_constraints, "prior_mean": constraints.real,
                       "prior_std": constraints.positive, "noise_std": constraints.positive}

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        z = torch.randn(episodes, 1, generator=generator, dtype=torch.float64, device=generator.device)
        return self.prior_mean + self.prior_std * z

    def _moments(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        return theta[:, 0], torch.full_like(theta[:, 0], self.noise_std)


@dataclass(frozen=True)
class NormalGamma(_GaussianTask):
    """``tau ~ Gamma(alpha, rate beta)``, ``mu | tau ~ N(mu0, 1 / (kappa tau))``,
    observations ``N(mu, 1 / tau)``; predictive Student-t."""

    name: str = "normal-gamma"
    mu0: float = 0.0
    kappa: float = 1.0
    alpha: float = 2.0
    beta: float = 2.0

    output = StudentT()
    theta_names = ("mu", "tau")
    arg_constraints = {**ScalarPredictionTask.arg_constraints, "mu0": constraints.real, "kappa": constraints.positive,
                       "alpha": constraints.positive, "beta": constraints.positive}

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        tau = gamma(self.alpha, self.beta, (episodes,), generator)
        z = torch.randn(episodes, generator=generator, dtype=torch.float64, device=generator.device)
        mu = self.mu0 + z / torch.sqrt(self.kappa * tau)
        return torch.stack([mu, tau], dim=1)

    def _moments(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        return theta[:, 0], 1.0 / torch.sqrt(theta[:, 1])


@dataclass(frozen=True)
class GammaNormal(_GaussianTask):
    """``tau ~ Gamma(alpha, rate beta)``, observations ``N(mean, 1 / tau)``; predictive Student-t."""

    name: str = "gamma-normal"
    mean: float = 0.0
    alpha: float = 2.0
    beta: float = 2.0

    output = StudentT()
    theta_names = ("tau",)
    arg_constraints = {**ScalarPredictionTask.arg_constraints, "mean": constraints.real,
                       "alpha": constraints.positive, "beta": constraints.positive}

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        return gamma(self.alpha, self.beta, (episodes, 1), generator)

    def _moments(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        return torch.full_like(theta[:, 0], self.mean), 1.0 / torch.sqrt(theta[:, 0])


__all__ = ["GammaNormal", "NormalGamma", "NormalNormal"]
