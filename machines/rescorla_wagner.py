"""The Rescorla-Wagner (delta-rule) learner as a bandit state machine.

Wang et al. 2016 (Figure 4b) compare their meta-learned agent against Rescorla-Wagner learners
with learning rates 0.2 and 0.8 on the restless bandit. The state is one value estimate per arm;
after each reward the pulled arm's value moves a fraction ``alpha`` of the prediction error:

    V[a_{t-1}] <- V[a_{t-1}] + alpha * (r_{t-1} - V[a_{t-1}])

and the policy is greedy on the values (ties split evenly) or a softmax with inverse
temperature ``beta``. :func:`simlib.rescorla_wagner_fit.fit_rescorla_wagner` fits the softmax
version to choices.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_agents import split_ties


class RescorlaWagnerAgent:
    """Delta-rule values per arm with a greedy (``beta=None``) or softmax(``beta * V``) readout.

    Args:
        task: a bandit task (``arms``, ``input_dim``, ``decode_input``, ``prior_mean_reward``).
        alpha: learning rate in [0, 1] (0: values never move; 1: value = last reward seen).
        beta: inverse temperature >= 0 (finite) of the softmax readout; ``None`` for greedy.
        initial_value: every arm's starting value (default ``task.prior_mean_reward()``).

    Shapes: ``initial_state(B) -> [B, arms]`` float64 (coordinates ``value0, value1, ...``);
    ``step(x [B, input_dim], s [B, arms]) -> (action probabilities [B, arms], s_next [B, arms])``,
    where ``s_next`` is the values after reading ``x`` (the previous arm and reward; no update at
    t = 0, whose input decodes to no arm) and the probabilities are read out from ``s_next``.
    """

    def __init__(self, task, alpha: float, beta: float | None = None, initial_value: float | None = None) -> None:
        alpha = float(alpha)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"the Rescorla-Wagner learning rate alpha must be in [0, 1], got {alpha}")
        if beta is not None:
            beta = float(beta)
            if not (math.isfinite(beta) and beta >= 0.0):
                raise ValueError(f"the softmax inverse temperature beta must be finite and >= 0 (or None), got {beta}")
        value = float(task.prior_mean_reward() if initial_value is None else initial_value)
        if not math.isfinite(value):
            raise ValueError(f"initial_value must be finite, got {value}")
        self.task = task
        self.alpha = alpha
        self.beta = beta
        self.initial_value = value
        self.arms = int(task.arms)
        self.input_dim = int(task.input_dim)
        self.state_dim = self.arms
        self.output = Policy(self.arms)
        self.state_names = tuple(f"value{i}" for i in range(self.arms))
        readout = "greedy" if beta is None else f"softmax(beta={beta:g})"
        self.spec = f"rescorla-wagner(alpha={alpha:g}, {readout})"

    def initial_state(self, batch: int) -> Tensor:
        """Every arm at ``initial_value``: ``[batch, arms]`` float64."""
        return torch.full((batch, self.arms), self.initial_value, dtype=torch.float64)

    def update(self, x: Tensor, s: Tensor) -> Tensor:
        """Values ``[B, arms]`` after input ``x [B, input_dim]`` in state ``s [B, arms]``."""
        pulled, reward = self.task.decode_input(x)
        s = s.to(torch.float64)
        pulled = pulled.to(s)
        reward = reward.to(s)
        return s + self.alpha * pulled * (reward[:, None] - s)

    def policy(self, values: Tensor) -> Tensor:
        """Action probabilities ``[B, arms]`` from values ``[B, arms]``."""
        values = values.to(torch.float64)
        if self.beta is None:
            return split_ties(values)
        return torch.softmax(self.beta * values, dim=1)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        values = self.update(x, s)
        return self.policy(values), values
