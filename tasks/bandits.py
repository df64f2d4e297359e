"""Multi-armed bandits as batched environments (closed-loop tasks); here the independent arms.

Each episode draws theta from the prior and lasts ``horizon`` pulls; the objective is the
return ``sum_t discount**t * r_t`` (undiscounted by default). The input at step t is
``[one-hot(a_{t-1}), r_{t-1}, t / horizon]`` (zeros at t = 0; Wang et al. 2016's previous
action, reward and trial number); the output is a policy over arms.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
from torch import Tensor

from simlib import constraints
from simlib.families import Policy
from simlib.task_family import INTERACTIVE
from simlib.task import Transition
from simlib.random import gamma


@dataclass(frozen=True)
class BanditTask(ABC):
    """Shared shape of the bandits as batched environments: arms, horizon, discount, inputs.

    The environment state is theta itself unless a task says otherwise (a restless bandit's
    drifts). Subclasses give the prior (``sample_theta``), every arm's mean reward in a state
    (``mean_rewards``) and how a reward is drawn around its mean (``draw_rewards``).
    """

    arms: int = 2
    horizon: int = 20
    discount: float = 1.0

    name = "bandit"
    closed_loop = True
    family = INTERACTIVE
    arg_constraints: ClassVar[dict] = {
        "arms": constraints.integer_at_least(2),
        "horizon": constraints.positive_integer,
        "discount": constraints.discount,
    }

    def __post_init__(self) -> None:
        constraints.validate(self)

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
        """Task parameters ``[episodes, len(theta_names)]`` float64 from the prior."""

    @abstractmethod
    def mean_rewards(self, state: Tensor) -> Tensor:
        """Every arm's expected reward in environment ``state``: ``[E, arms]`` float64."""

    @abstractmethod
    def draw_rewards(self, means: Tensor, generator: torch.Generator) -> Tensor:
        """Sampled rewards ``[E]`` float64 around the chosen arms' ``means [E]``."""

    @abstractmethod
    def prior_mean_reward(self) -> float:
        """An arm's expected mean reward under the prior (what a random policy earns per pull)."""

    def random_return(self) -> float:
        """The expected return of the uniformly random policy (the zero of a "share of the gap")."""
        return float(self.discounts().sum()) * self.prior_mean_reward()

    def initial_state(self, theta: Tensor, generator: torch.Generator) -> Tensor:
        """The environment state an episode starts in: theta itself (stationary arms)."""
        return theta

    def evolve(self, state: Tensor, theta: Tensor, generator: torch.Generator) -> Tensor:
        """The state after a pull: unchanged (stationary arms)."""
        return state

    def oracle_features(self, theta: Tensor, state: Tensor) -> Tensor:
        """What a privileged critic may see of the episode ``[E, oracle_dim]``: theta."""
        return theta

    @property
    def oracle_dim(self) -> int:
        return len(self.theta_names)

    def reset(self, theta: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``(state, first input)``; the state carries theta in its last columns so ``step`` can evolve it."""
        state = self.initial_state(theta, generator)
        return torch.cat([state, theta], dim=1), self.first_input(theta.shape[0]).to(theta.device)

    def step(self, state: Tensor, action: Tensor, t: int, generator: torch.Generator) -> Transition:
        """Pull ``action [E]`` at step ``t``: reward, every arm's mean, the evolved state, the next input."""
        arm_state, theta = self.split_state(state)
        means = self.mean_rewards(arm_state)
        reward = self.draw_rewards(means.gather(1, action.long()[:, None]).squeeze(1), generator)
        following = torch.cat([self.evolve(arm_state, theta, generator), theta], dim=1)
        return Transition(following, reward, means, self.encode_step(action, reward, t + 1).to(means.device))

    def split_state(self, state: Tensor) -> tuple[Tensor, Tensor]:
        """``(arm state, theta)`` of a ``reset``/``step`` environment state."""
        width = len(self.theta_names)
        return state[:, :-width], state[:, -width:]

    def reward_bounds(self) -> tuple[float, float]:
        """The least and the largest reward the task can pay (``-inf``/``inf`` where unbounded)."""
        return (-math.inf, math.inf)

    def input_bounds(self) -> tuple[Tensor, Tensor]:
        """Elementwise bounds of every input, ``(low [input_dim], high [input_dim])`` float64: the
        one-hot action and the time in [0, 1], the reward's code within :meth:`reward_bounds`
        (what a Gymnasium observation space declares, :mod:`simlib.tasks.gym_env`)."""
        low = torch.zeros(self.input_dim, dtype=torch.float64)
        high = torch.ones(self.input_dim, dtype=torch.float64)
        least, largest = self.reward_bounds()
        low[self.arms : -1], high[self.arms : -1] = min(least, 0.0), max(largest, 0.0)
        return low, high

    def first_input(self, episodes: int) -> Tensor:
        return torch.zeros(episodes, self.input_dim, dtype=torch.float64)

    def encode_reward(self, reward: Tensor) -> Tensor:
        """The reward's part of the input ``[E, k]``: the scalar itself."""
        return reward[:, None]

    def decode_reward(self, code: Tensor) -> Tensor:
        """The inverse of :meth:`encode_reward`: ``[B, k]`` -> ``[B]``."""
        return code[:, 0]

    def encode_step(self, action: Tensor, reward: Tensor, t: int) -> Tensor:
        """``[one-hot(action), reward code, t / horizon]``: the input at step ``t``, ``[E, input_dim]``."""
        onehot = torch.nn.functional.one_hot(action.long(), self.arms).to(reward.dtype)
        time = torch.full_like(reward, t / self.horizon)
        return torch.cat([onehot, self.encode_reward(reward), time[:, None]], dim=1)

    def decode_input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(one-hot previous arm [B, arms], previous reward [B])`` from inputs ``[B, input_dim]``."""
        x = x.to(torch.float64)
        return x[:, : self.arms], self.decode_reward(x[:, self.arms : -1])

    def discounts(self) -> Tensor:
        """``discount**t`` for t = 0..horizon-1: ``[horizon]`` float64."""
        return self.discount ** torch.arange(self.horizon, dtype=torch.float64)


def bernoulli_rewards(means: Tensor, generator: torch.Generator) -> Tensor:
    """Rewards in {0, 1} with probability ``means [E]``: ``[E]`` float64."""
    u = torch.rand(means.shape, generator=generator, dtype=torch.float64, device=means.device)
    return (u < means).to(torch.float64)


@dataclass(frozen=True)
class BernoulliBandit(BanditTask):
    """Rewards in {0, 1} with probability ``p_i ~ Beta(a, b)`` per arm, independently."""

    a: float = 1.0
    b: float = 1.0
    name: str = "bernoulli-bandit"

    arg_constraints = {**BanditTask.arg_constraints, "a": constraints.positive, "b": constraints.positive}

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        x = gamma(self.a, 1.0, (episodes, self.arms), generator)
        y = gamma(self.b, 1.0, (episodes, self.arms), generator)
        return x / (x + y)

    def prior_mean_reward(self) -> float:
        return self.a / (self.a + self.b)

    def mean_rewards(self, state: Tensor) -> Tensor:
        return state

    def draw_rewards(self, means: Tensor, generator: torch.Generator) -> Tensor:
        return bernoulli_rewards(means, generator)

    def reward_bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)


@dataclass(frozen=True)
class GaussianBandit(BanditTask):
    """Rewards ``N(mu_i, noise_std**2)`` with ``mu_i ~ N(prior_mean, prior_std**2)`` per arm."""

    prior_mean: float = 0.0
    prior_std: float = 1.0
    noise_std: float = 1.0
    name: str = "gaussian-bandit"

    arg_constraints = {**BanditTask.arg_constraints, "prior_mean": constraints.real,
                       "prior_std": constraints.positive, "noise_std": constraints.positive}

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        z = torch.randn(episodes, self.arms, generator=generator, dtype=torch.float64, device=generator.device)
        return self.prior_mean + self.prior_std * z

    def prior_mean_reward(self) -> float:
        return self.prior_mean

    def mean_rewards(self, state: Tensor) -> Tensor:
        return state

    def draw_rewards(self, means: Tensor, generator: torch.Generator) -> Tensor:
        z = torch.randn(means.shape, generator=generator, dtype=torch.float64, device=means.device)
        return means + self.noise_std * z


@dataclass(frozen=True)
class MirroredArms(BanditTask):
    """Two Bernoulli arms with means ``(p1, 1 - p1)``, ``p1`` the arm state: one flip of a ``p1``-coin
    per pull whichever arm is pulled (``y = r`` from arm 1, ``y = 1 - r`` from arm 2)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.arms != 2:
            raise ValueError(f"{self.name} has 2 arms, got {self.arms}")

    def mean_rewards(self, state: Tensor) -> Tensor:
        return torch.cat([state, 1.0 - state], dim=1)

    def draw_rewards(self, means: Tensor, generator: torch.Generator) -> Tensor:
        return bernoulli_rewards(means, generator)

    def prior_mean_reward(self) -> float:
        return 0.5

    def reward_bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def decode_flip(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The ``p1``-coin flip an input reports: ``(y [B], seen [B])``, ``y = r`` after arm 1, ``1 - r``
        after arm 2, ``seen`` the weight of a pulled arm (0 at t = 0; continuous in embedded inputs)."""
        pulled, reward = self.decode_input(x)
        return pulled[:, 0] * reward + pulled[:, 1] * (1.0 - reward), pulled.sum(1)
