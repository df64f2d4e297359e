"""What the core needs from a task distribution; ``simlib.tasks`` implements it.

Two shapes of task share one protocol:

* open-loop (prediction): observations are drawn up front; the input at step t is the
  previous observation (a start token at t = 0) and the output predicts ``observation[:, t]``;
* closed-loop (bandits): a driver machine acts; the task answers each action with a reward
  and encodes ``(action, reward, time)`` as the next input for every machine.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from simlib.families import OutputFamily


@runtime_checkable
class Task(Protocol):
    """Members shared by every task."""

    name: str
    horizon: int
    input_dim: int
    output: OutputFamily
    closed_loop: bool
    theta_names: tuple[str, ...]

    def config(self) -> dict:
        """Plain data that rebuilds the task (name and every parameter)."""
        ...

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        """Task parameters from the prior: ``[episodes, len(theta_names)]`` float64."""
        ...


@runtime_checkable
class PredictionTask(Task, Protocol):
    """Open-loop: i.i.d. observations given theta."""

    def sample_observations(self, theta: Tensor, horizon: int, generator: torch.Generator) -> Tensor:
        """``[E, horizon]`` float64 observations (class indices for discrete ones)."""
        ...

    def encode(self, observations: Tensor) -> Tensor:
        """Inputs ``[E, T, input_dim]``: step t sees observation t-1, step 0 a start token."""
        ...


@runtime_checkable
class InteractiveTask(Task, Protocol):
    """Closed-loop: the environment answers actions with rewards."""

    n_actions: int

    def first_input(self, episodes: int) -> Tensor:
        """The input at step 0 (no action yet): ``[E, input_dim]``."""
        ...

    def respond(self, theta: Tensor, action: Tensor, generator: torch.Generator) -> Tensor:
        """Reward ``[E]`` for integer actions ``[E]``."""
        ...

    def expected_reward(self, theta: Tensor, action: Tensor) -> Tensor:
        """Mean reward of the chosen action ``[E]`` (the pseudo-reward)."""
        ...

    def encode_step(self, action: Tensor, reward: Tensor, t: int) -> Tensor:
        """Input for step ``t`` after ``action`` earned ``reward`` at step ``t - 1``: ``[E, input_dim]``."""
        ...
