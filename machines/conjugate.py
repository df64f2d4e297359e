"""Bayes-optimal predictors for conjugate prediction tasks: running sufficient statistics.

Each predictor's state is the minimal sufficient statistic of the observations seen so far
(float64), updated by adding the statistic of each new observation; its output is the exact
posterior predictive of the next observation. Inputs are ``[encoded observation, seen]`` with
``seen = 0`` for the start token, so the output at t = 0 is the prior predictive.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor

from simlib.families import Categorical, Lomax, Normal, OutputFamily, StudentT


class ConjugatePredictor(ABC):
    """State = summed per-observation statistics; output = posterior predictive parameters."""

    state_names: tuple[str, ...]
    output: OutputFamily

    def __init__(self, observation_dim: int) -> None:
        self.input_dim = observation_dim + 1
        self.state_dim = len(self.state_names)

    @abstractmethod
    def statistics(self, observation: Tensor) -> Tensor:
        """Sufficient statistic of one encoded observation ``[B, obs_dim]`` -> ``[B, state_dim]``."""

    @abstractmethod
    def predictive(self, s: Tensor) -> Tensor:
        """Posterior predictive parameters ``[B, n_params]`` from summed statistics ``[B, state_dim]``."""

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, self.state_dim, dtype=torch.float64)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        x, s = x.to(torch.float64), s.to(torch.float64)
        s_next = s + x[:, -1:] * self.statistics(x[:, :-1])
        return self.predictive(s_next), s_next


class DirichletCategoricalPredictor(ConjugatePredictor):
    """State: the count of each side; predictive ``(alpha + counts) / (sum(alpha) + n)``."""

    def __init__(self, alpha: tuple[float, ...]) -> None:
        self.alpha = torch.tensor(alpha, dtype=torch.float64)
        self.state_names = tuple(f"count{i}" for i in range(len(alpha)))
        self.output = Categorical(len(alpha))
        super().__init__(len(alpha))

    def statistics(self, observation: Tensor) -> Tensor:
        return observation

    def predictive(self, s: Tensor) -> Tensor:
        weights = (self.alpha.to(s.device) + s).clamp_min(1e-12)
        return weights / weights.sum(1, keepdim=True)


class GammaExponentialPredictor(ConjugatePredictor):
    """State ``(n, sum x)``; predictive Lomax(shape + n, scale = rate + sum x)."""

    state_names = ("n", "sum_x")
    output = Lomax()

    def __init__(self, shape: float, rate: float) -> None:
        self.shape, self.rate = float(shape), float(rate)
        super().__init__(1)

    def statistics(self, observation: Tensor) -> Tensor:
        return torch.cat([torch.ones_like(observation), observation], dim=1)

    def predictive(self, s: Tensor) -> Tensor:
        return torch.stack([self.shape + s[:, 0], self.rate + s[:, 1]], dim=1).clamp_min(1e-9)


class NormalNormalPredictor(ConjugatePredictor):
    """State ``(n, sum x)``; predictive Normal(posterior mean, sqrt(posterior var + noise var))."""

    state_names = ("n", "sum_x")
    output = Normal()

    def __init__(self, prior_mean: float, prior_std: float, noise_std: float) -> None:
        self.prior_mean, self.prior_var, self.noise_var = float(prior_mean), prior_std**2, noise_std**2
        super().__init__(1)

    def statistics(self, observation: Tensor) -> Tensor:
        return torch.cat([torch.ones_like(observation), observation], dim=1)

    def predictive(self, s: Tensor) -> Tensor:
        precision = (1.0 / self.prior_var + s[:, 0] / self.noise_var).clamp_min(1e-12)
        mean = (self.prior_mean / self.prior_var + s[:, 1] / self.noise_var) / precision
        return torch.stack([mean, torch.sqrt(1.0 / precision + self.noise_var)], dim=1)


def _student_t(alpha: Tensor, beta: Tensor, loc: Tensor, scale_factor: Tensor) -> Tensor:
    """Student-t parameters ``[df, loc, scale]`` for a Gamma(alpha, beta) precision posterior.

    ``scale = sqrt(beta * scale_factor / alpha)`` (``scale_factor = (kappa + 1) / kappa`` when the
    mean is unknown, 1 when it is known).
    """
    alpha, beta = alpha.clamp_min(1e-9), beta.clamp_min(1e-12)
    return torch.stack([2.0 * alpha, loc, torch.sqrt(beta * scale_factor / alpha)], dim=1)


class NormalGammaPredictor(ConjugatePredictor):
    """State ``(n, sum x, sum x^2)``; predictive Student-t of the Normal-Gamma posterior."""

    state_names = ("n", "sum_x", "sum_x2")
    output = StudentT()

    def __init__(self, mu0: float, kappa: float, alpha: float, beta: float) -> None:
        self.mu0, self.kappa, self.alpha, self.beta = float(mu0), float(kappa), float(alpha), float(beta)
        super().__init__(1)

    def statistics(self, observation: Tensor) -> Tensor:
        return torch.cat([torch.ones_like(observation), observation, observation**2], dim=1)

    def predictive(self, s: Tensor) -> Tensor:
        n, s1, s2 = s[:, 0], s[:, 1], s[:, 2]
        kappa = (self.kappa + n).clamp_min(1e-9)
        mu = (self.kappa * self.mu0 + s1) / kappa
        beta = self.beta + 0.5 * (s2 + self.kappa * self.mu0**2 - kappa * mu**2)
        return _student_t(self.alpha + 0.5 * n, beta, mu, (kappa + 1.0) / kappa)


class GammaNormalPredictor(ConjugatePredictor):
    """State ``(n, sum (x - mean)^2)``; predictive Student-t centred on the known mean."""

    state_names = ("n", "sum_sq")
    output = StudentT()

    def __init__(self, mean: float, alpha: float, beta: float) -> None:
        self.mean, self.alpha, self.beta = float(mean), float(alpha), float(beta)
        super().__init__(1)

    def statistics(self, observation: Tensor) -> Tensor:
        return torch.cat([torch.ones_like(observation), (observation - self.mean) ** 2], dim=1)

    def predictive(self, s: Tensor) -> Tensor:
        loc = torch.full_like(s[:, 0], self.mean)
        return _student_t(self.alpha + 0.5 * s[:, 0], self.beta + 0.5 * s[:, 1], loc, torch.ones_like(loc))
