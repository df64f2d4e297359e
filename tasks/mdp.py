"""Markov decision problems as batched partially observable environments (Wang et al. 2016, §3.2).

An MDP task differs from a bandit in two ways: actions move an environment state, and the
input carries an observation of it. The input at step t is
``[one-hot(a_{t-1}), r_{t-1}, t / horizon, observation_t]`` (Wang's Table 1: a, r, t, x; the
time slot is left out with ``time_input=False``, as in Wang's Harlow task); at t = 0 the action
and reward slots are zero. The environment state is a flat float64 tensor ``[E, k]`` whose last
``len(theta_names)`` columns are theta, so ``step`` needs nothing else.

A subclass gives the prior (``sample_theta``), the first state and observation
(``initial_state``, ``observe``), and the dynamics (``transition``); this module does the
encoding shared by every MDP task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
from torch import Tensor

from simlib import constraints
from simlib.families import Policy
from simlib.task import Transition
from simlib.task_family import INTERACTIVE


@dataclass(frozen=True)
class MDPTask(ABC):
    """Shared shape of the MDP tasks: actions, observations, the input code, the discount."""

    discount: float = 1.0
    time_input: bool = True

    name = "mdp"
    closed_loop = True
    family = INTERACTIVE
    arg_constraints: ClassVar[dict] = {"discount": constraints.discount}

    def __post_init__(self) -> None:
        constraints.validate(self)

    n_actions: ClassVar[int]
    observation_dim: ClassVar[int]

    @property
    @abstractmethod
    def horizon(self) -> int:
        """Steps per episode."""

    @property
    def input_dim(self) -> int:
        return self.n_actions + 1 + int(self.time_input) + self.observation_dim

    @property
    def output(self) -> Policy:
        return Policy(self.n_actions)

    def config(self) -> dict:
        """Every field, ``name`` included: ``simlib.tasks.from_config`` rebuilds the task."""
        return asdict(self)

    @abstractmethod
    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        """Task parameters ``[episodes, len(theta_names)]`` float64 from the prior."""

    @abstractmethod
    def initial_state(self, theta: Tensor, generator: torch.Generator) -> Tensor:
        """The environment's own state at t = 0, ``[E, k]`` float64 (theta is appended to it)."""

    @abstractmethod
    def observe(self, state: Tensor, theta: Tensor) -> Tensor:
        """What the agent sees of ``state``: ``[E, observation_dim]`` float64."""

    @abstractmethod
    def transition(
        self, state: Tensor, theta: Tensor, action: Tensor, t: int, generator: torch.Generator
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Answer ``action [E]`` in ``state``: ``(next state, reward [E], mean reward of every action [E, n_actions])``."""

    @abstractmethod
    def random_return(self) -> float:
        """The expected return of the uniformly random policy (the zero of a "share of the gap")."""

    def reward_bounds(self) -> tuple[float, float]:
        """The least and the largest reward the task can pay."""
        return (0.0, 1.0)

    def reset(self, theta: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``(state [E, k + P], first input [E, input_dim])``: zero action and reward, the first observation."""
        state = self.initial_state(theta, generator)
        zeros = torch.zeros(theta.shape[0], dtype=torch.float64, device=theta.device)
        first = self.encode(None, zeros, 0, self.observe(state, theta))
        return torch.cat([state, theta], dim=1), first

    def step(self, state: Tensor, action: Tensor, t: int, generator: torch.Generator) -> Transition:
        own, theta = self.split_state(state)
        following, reward, means = self.transition(own, theta, action.long(), t, generator)
        x = self.encode(action, reward, t + 1, self.observe(following, theta))
        return Transition(torch.cat([following, theta], dim=1), reward, means, x)

    def split_state(self, state: Tensor) -> tuple[Tensor, Tensor]:
        """``(own state, theta)`` of a ``reset``/``step`` environment state."""
        width = len(self.theta_names)
        return state[:, :-width], state[:, -width:]

    def oracle_features(self, theta: Tensor, state: Tensor) -> Tensor:
        """What a privileged critic may see: theta and the environment's own state ``[E, oracle_dim]``."""
        return torch.cat([theta, state], dim=1)

    @property
    def oracle_dim(self) -> int:
        theta = torch.zeros(1, len(self.theta_names), dtype=torch.float64)
        return len(self.theta_names) + self.initial_state(theta, torch.Generator().manual_seed(0)).shape[1]

    def encode(self, action: Tensor | None, reward: Tensor, t: int, observation: Tensor) -> Tensor:
        """The input at step ``t``: ``[one-hot(action), reward, (t / horizon), observation]`` ``[E, input_dim]``
        (``action=None``: zeros, the first step)."""
        if action is None:
            onehot = torch.zeros(reward.shape[0], self.n_actions, dtype=torch.float64, device=reward.device)
        else:
            onehot = torch.nn.functional.one_hot(action.long(), self.n_actions).to(torch.float64)
        parts = [onehot, reward[:, None].to(torch.float64)]
        if self.time_input:
            parts.append(torch.full_like(parts[1], t / self.horizon))
        return torch.cat([*parts, observation.to(torch.float64)], dim=1)

    def stamp_time(self, x: Tensor, t: int) -> Tensor:
        """Inputs ``[..., input_dim]`` as they arrive at step ``t``: the time slot set to ``t / horizon``
        (unchanged without one); ``stamp_time(x, 0)`` removes the clock, as an input alphabet lists it."""
        if not self.time_input:
            return x
        x = x.clone()
        x[..., self.n_actions + 1] = t / self.horizon
        return x

    def decode_input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(one-hot previous action [B, n_actions], previous reward [B])`` from inputs ``[B, input_dim]``."""
        x = x.to(torch.float64)
        return x[:, : self.n_actions], x[:, self.n_actions]

    def decode_observation(self, x: Tensor) -> Tensor:
        """The observation part of inputs ``[..., input_dim]`` -> ``[..., observation_dim]``."""
        return x[..., -self.observation_dim :]

    def input_bounds(self) -> tuple[Tensor, Tensor]:
        """Elementwise bounds of every input ``(low, high)`` ``[input_dim]`` float64 (for Gymnasium)."""
        low = torch.zeros(self.input_dim, dtype=torch.float64)
        high = torch.ones(self.input_dim, dtype=torch.float64)
        least, largest = self.reward_bounds()
        low[self.n_actions], high[self.n_actions] = min(least, 0.0), max(largest, 0.0)
        return low, high

    def discounts(self) -> Tensor:
        """``discount**t`` for t = 0..horizon-1: ``[horizon]`` float64."""
        return self.discount ** torch.arange(self.horizon, dtype=torch.float64)
