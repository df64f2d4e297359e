"""What the core needs from a task distribution; ``simlib.tasks`` implements it.

Two shapes of task share one protocol:

* open-loop (prediction): observations are drawn up front; the input at step t is the
  previous observation (a start token at t = 0) and the output predicts ``observation[:, t]``;
* closed-loop (interactive): a batched partially observable environment. ``reset`` draws the
  environment's state from theta; a driver machine acts; ``step`` answers each action with a
  reward, the expected reward of every action in the state acted in (for regret and the
  pseudo-reward), the next environment state and the next input for every machine (previous
  action, reward, time, and an observation where the task has one). A stationary bandit's
  state is theta itself; a restless bandit's drifts; an MDP's moves with the actions.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

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


class Transition(NamedTuple):
    """What an interactive task answers to one batch of actions at step ``t``.

    * ``state [E, ...]`` -- the environment state after the step (acted on at ``t + 1``);
    * ``reward [E]`` float64 -- the sampled reward of the chosen actions;
    * ``mean_reward [E, n_actions]`` float64 -- the expected reward of every action in the state
      acted in, given theta (``max_a`` of it minus the chosen one's is the step's regret). Where
      an action's reward comes later (an MDP's first stage), it is credited to the step that
      decides it, discounted to that step: ``sum_t discount**t mean_reward[t, a_t]`` is the
      expected return given theta and the actions, so pseudo-returns, regret and the trainer's
      expected-reward estimator see every decision's worth;
    * ``input [E, input_dim]`` -- what every machine receives at step ``t + 1``.
    """

    state: Tensor
    reward: Tensor
    mean_reward: Tensor
    input: Tensor


@runtime_checkable
class InteractiveTask(Task, Protocol):
    """Closed-loop: a batched partially observable environment answering actions."""

    n_actions: int

    def reset(self, theta: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """A new episode per row of ``theta``: ``(environment state [E, ...], first input [E, input_dim])``."""
        ...

    def step(self, state: Tensor, action: Tensor, t: int, generator: torch.Generator) -> Transition:
        """Answer integer ``action [E]`` taken at step ``t`` in environment ``state``."""
        ...

    def decode_input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The inverse of the input encoding: ``(one-hot previous action [B, n_actions], previous reward [B])``
        (both zero at t = 0); what belief-keeping machines read."""
        ...
