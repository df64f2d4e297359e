"""Multi-armed bandits with independent arms (closed-loop tasks).

Each episode draws one mean per arm from the prior and lasts ``horizon`` pulls; the objective
is the return ``sum_t discount**t * r_t`` (undiscounted by default). The input at step t is
``[one-hot(a_{t-1}), r_{t-1}, t / horizon]`` (zeros at t = 0); the output is a policy over arms.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from simlib.families import Policy
from simlib.random import gamma


@dataclass(frozen=True)
class BanditTask(ABC):
    """Shared shape of the bandits: arms, horizon, discount, inputs and the pseudo-reward."""

    arms: int = 2
    horizon: int = 20
    discount: float = 1.0

    name = "bandit"
    closed_loop = True

    def __post_init__(self) -> None:
        if self.arms < 2:
            raise ValueError(f"a bandit needs at least 2 arms, got {self.arms}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        if not 0.0 < self.discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {self.discount}")

    @property
    def n_actions(self) -> int:
        return self.arms

    @property
    def input_dim(self) -> int:
        return self.arms + 2

    @property
    def output(self) -> Policy:
        return Policy(self.arms)

    @property
    def theta_names(self) -> tuple[str, ...]:
        return tuple(f"mean{i}" for i in range(self.arms))

    def config(self) -> dict:
        """Every field, ``name`` included: ``simlib.tasks.from_config`` rebuilds the task."""
        return asdict(self)

    @abstractmethod
    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        """Arm means ``[episodes, arms]`` float64 from the prior."""

    @abstractmethod
    def respond(self, theta: Tensor, action: Tensor, generator: torch.Generator) -> Tensor:
        """Reward ``[E]`` float64 for integer actions ``[E]``."""

    @abstractmethod
    def prior_mean_reward(self) -> float:
        """An arm's expected mean reward under the prior (what a random policy earns per pull)."""

    def expected_reward(self, theta: Tensor, action: Tensor) -> Tensor:
        """The chosen arm's mean ``[E]`` (the pseudo-reward)."""
        return theta.gather(1, action.long()[:, None]).squeeze(1)

    def first_input(self, episodes: int) -> Tensor:
        return torch.zeros(episodes, self.input_dim, dtype=torch.float64)

    def encode_step(self, action: Tensor, reward: Tensor, t: int) -> Tensor:
        """``[one-hot(action), reward, t / horizon]``: the input at step ``t``, ``[E, input_dim]``."""
        onehot = torch.nn.functional.one_hot(action.long(), self.arms).to(reward.dtype)
        time = torch.full_like(reward, t / self.horizon)
        return torch.cat([onehot, reward[:, None], time[:, None]], dim=1)

    def discounts(self) -> Tensor:
        """``discount**t`` for t = 0..horizon-1: ``[horizon]`` float64."""
        return self.discount ** torch.arange(self.horizon, dtype=torch.float64)


@dataclass(frozen=True)
class BernoulliBandit(BanditTask):
    """Rewards in {0, 1} with probability ``p_i ~ Beta(a, b)`` per arm, independently."""

    a: float = 1.0
    b: float = 1.0
    name: str = "bernoulli-bandit"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.a <= 0 or self.b <= 0:
            raise ValueError(f"Beta prior needs a, b > 0, got ({self.a}, {self.b})")

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        x = gamma(self.a, 1.0, (episodes, self.arms), generator)
        y = gamma(self.b, 1.0, (episodes, self.arms), generator)
        return x / (x + y)

    def prior_mean_reward(self) -> float:
        return self.a / (self.a + self.b)

    def respond(self, theta: Tensor, action: Tensor, generator: torch.Generator) -> Tensor:
        p = self.expected_reward(theta, action)
        u = torch.rand(p.shape, generator=generator, dtype=torch.float64, device=p.device)
        return (u < p).to(torch.float64)


@dataclass(frozen=True)
class GaussianBandit(BanditTask):
    """Rewards ``N(mu_i, noise_std**2)`` with ``mu_i ~ N(prior_mean, prior_std**2)`` per arm."""

    prior_mean: float = 0.0
    prior_std: float = 1.0
    noise_std: float = 1.0
    name: str = "gaussian-bandit"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prior_std <= 0 or self.noise_std <= 0:
            raise ValueError(f"standard deviations must be positive, got {self.prior_std}, {self.noise_std}")

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        z = torch.randn(episodes, self.arms, generator=generator, dtype=torch.float64, device=generator.device)
        return self.prior_mean + self.prior_std * z

    def prior_mean_reward(self) -> float:
        return self.prior_mean

    def respond(self, theta: Tensor, action: Tensor, generator: torch.Generator) -> Tensor:
        mean = self.expected_reward(theta, action)
        z = torch.randn(mean.shape, generator=generator, dtype=torch.float64, device=mean.device)
        return mean + self.noise_std * z
