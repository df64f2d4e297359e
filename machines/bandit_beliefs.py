"""Per-arm sufficient statistics of the bandit tasks' posteriors, updated from the agent's inputs.

A belief is updated from the previous arm (one-hot, zeros at t = 0) and reward that the task
decodes from its input (``task.decode_input``), and changes the pulled arm's statistics. States are flat float64 tensors ``[B, 2 * arms]``
that may hold non-integer counts (an embedded state); every formula accepts them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor

from simlib.tasks import BanditTask, BernoulliBandit, DependentBandit, GaussianBandit, RestlessBandit


class Belief(ABC):
    """Sufficient statistics of a bandit task's posterior, two numbers per arm."""

    def __init__(self, arms: int) -> None:
        self.arms = arms

    @property
    @abstractmethod
    def state_names(self) -> tuple[str, ...]: ...

    @abstractmethod
    def initial(self, batch: int) -> Tensor:
        """The prior's statistics ``[batch, 2 * arms]``."""

    @abstractmethod
    def update(self, s: Tensor, pulled: Tensor, reward: Tensor) -> Tensor:
        """Statistics after ``reward [B]`` from the arms weighted by ``pulled [B, arms]`` (one-hot or 0)."""

    @abstractmethod
    def counts(self, s: Tensor) -> Tensor:
        """Pulls per arm ``[B, arms]``."""

    @abstractmethod
    def means(self, s: Tensor) -> Tensor:
        """Posterior mean reward per arm ``[B, arms]``."""

    @abstractmethod
    def sample_means(self, s: Tensor) -> Tensor:
        """Mean of the rewards observed per arm ``[B, arms]`` (0 for unpulled arms)."""

class BetaBelief(Belief):
    """Bernoulli arms, ``p_i ~ Beta(a, b)``: state ``(s_0, f_0, s_1, f_1, ...)`` successes, failures."""

    def __init__(self, arms: int, a: float, b: float) -> None:
        super().__init__(arms)
        self.a, self.b = float(a), float(b)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(name for i in range(self.arms) for name in (f"successes{i}", f"failures{i}"))

    def initial(self, batch: int) -> Tensor:
        return torch.zeros(batch, 2 * self.arms, dtype=torch.float64)

    def update(self, s: Tensor, pulled: Tensor, reward: Tensor) -> Tensor:
        step = torch.stack([pulled * reward[:, None], pulled * (1.0 - reward[:, None])], dim=2)
        return s + step.reshape(s.shape)

    def posterior(self, s: Tensor) -> tuple[Tensor, Tensor]:
        """Beta parameters ``(alpha, beta)`` per arm, each ``[B, arms]``."""
        return self.a + s[:, 0::2], self.b + s[:, 1::2]

    def counts(self, s: Tensor) -> Tensor:
        return s[:, 0::2] + s[:, 1::2]

    def means(self, s: Tensor) -> Tensor:
        alpha, beta = self.posterior(s)
        return alpha / (alpha + beta)

    def sample_means(self, s: Tensor) -> Tensor:
        return s[:, 0::2] / self.counts(s).clamp_min(1e-12)


class NormalBelief(Belief):
    """Gaussian arms with known noise: state ``(n_0, m_0, n_1, m_1, ...)`` pulls, posterior means."""

    def __init__(self, arms: int, prior_mean: float, prior_std: float, noise_std: float) -> None:
        super().__init__(arms)
        self.prior_mean, self.prior_std, self.noise_std = float(prior_mean), float(prior_std), float(noise_std)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(name for i in range(self.arms) for name in (f"pulls{i}", f"mean{i}"))

    def initial(self, batch: int) -> Tensor:
        s = torch.zeros(batch, 2 * self.arms, dtype=torch.float64)
        s[:, 1::2] = self.prior_mean
        return s

    def precision(self, n: Tensor) -> Tensor:
        """Posterior precision of an arm's mean after ``n`` pulls (units 1 / reward**2)."""
        return 1.0 / self.prior_std**2 + n / self.noise_std**2

    def update(self, s: Tensor, pulled: Tensor, reward: Tensor) -> Tensor:
        n, m = s[:, 0::2], s[:, 1::2]
        before, after = self.precision(n), self.precision(n + pulled)
        m = (before * m + pulled * reward[:, None] / self.noise_std**2) / after
        return torch.stack([n + pulled, m], dim=2).reshape(s.shape)

    def counts(self, s: Tensor) -> Tensor:
        return s[:, 0::2]

    def means(self, s: Tensor) -> Tensor:
        return s[:, 1::2]

    def stds(self, s: Tensor) -> Tensor:
        """Posterior standard deviation of each arm's mean ``[B, arms]``."""
        return self.precision(self.counts(s).clamp_min(0.0)).rsqrt()

    def sample_means(self, s: Tensor) -> Tensor:
        n = self.counts(s)
        total = (self.precision(n) * self.means(s) - self.prior_mean / self.prior_std**2) * self.noise_std**2
        return total / n.clamp_min(1e-12)


class SampleMeanBelief(Belief):
    """Any reward distribution, no prior: state ``(n_0, total_0, n_1, total_1, ...)`` pulls and reward sums."""

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(name for i in range(self.arms) for name in (f"pulls{i}", f"total{i}"))

    def initial(self, batch: int) -> Tensor:
        return torch.zeros(batch, 2 * self.arms, dtype=torch.float64)

    def update(self, s: Tensor, pulled: Tensor, reward: Tensor) -> Tensor:
        return s + torch.stack([pulled, pulled * reward[:, None]], dim=2).reshape(s.shape)

    def counts(self, s: Tensor) -> Tensor:
        return s[:, 0::2]

    def sample_means(self, s: Tensor) -> Tensor:
        return s[:, 1::2] / self.counts(s).clamp_min(1e-12)

    def means(self, s: Tensor) -> Tensor:
        return self.sample_means(s)


def belief_for(task: BanditTask) -> Belief:
    """The per-arm belief of a bandit task: its conjugate one where arms are independent.

    Tasks whose arms are Bernoulli but dependent (``p2 = 1 - p1``, restless) get independent
    uniform Beta(1, 1) arms: the model the standard baselines (Thompson, UCB, Gittins) assume,
    as in Wang et al. 2016's comparisons. Any other task gets plain pull counts and reward sums.
    """
    if isinstance(task, BernoulliBandit):
        return BetaBelief(task.arms, task.a, task.b)
    if isinstance(task, GaussianBandit):
        return NormalBelief(task.arms, task.prior_mean, task.prior_std, task.noise_std)
    if isinstance(task, (DependentBandit, RestlessBandit)):
        return BetaBelief(task.arms, 1.0, 1.0)
    return SampleMeanBelief(task.arms)
