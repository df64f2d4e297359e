"""Machines for the two-step task (Wang et al. 2016 §3.2.1; Daw et al. 2011).

* :class:`TwoStepBayesAgent` -- Bayes-optimal. The belief is the posterior that S2 is the good
  state; it depends on the history only through ``dk`` (rewards at S2 minus rewards at S3) and
  ``df`` (no-rewards at S2 minus no-rewards at S3): the log-odds are
  ``dk log(high / low) + df log((1 - high) / (1 - low))``. With the second-stage state the
  trial is in (``where``: +1 S2, -1 S3, 0 S1) and the trials completed, that is the state;
  the action values come from backward induction over it.
* :class:`HybridLearner` -- the learner Daw et al. fit to people: model-free SARSA(lambda)
  values of the first-stage actions, second-stage values by the delta rule, model-based values
  from the known transitions, mixed with weight ``w`` (``w = 0``: model-free TD(lambda), with
  ``trace = 1`` TD(1); ``w = 1``: model-based), softmax with inverse temperature ``beta`` and a
  ``perseveration`` bonus for repeating the last first-stage action.

Both act uniformly at the second stage, where every action collects the same reward.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_agents import split_ties
from simlib.machines.interpolation import dense_lookup, dense_upper, multilinear
from simlib.tasks.two_step import SECOND, THIRD, TwoStepTask


def _where(task: TwoStepTask, x: Tensor) -> Tensor:
    """+1 where the input's observation is S2, -1 for S3, 0 for S1: ``[B]`` float64."""
    observation = task.decode_observation(x.to(torch.float64))
    return observation[:, SECOND] - observation[:, THIRD]


def log_likelihood_ratios(task: TwoStepTask) -> tuple[float, float]:
    """How much a reward and a no-reward at S2 raise the log-odds that S2 is the good state."""
    if not 0.0 < task.low < task.high < 1.0:
        raise ValueError(f"the exact two-step agent needs 0 < low < high < 1, got low {task.low}, high {task.high}")
    return math.log(task.high / task.low), math.log((1.0 - task.high) / (1.0 - task.low))


@lru_cache(maxsize=8)
def two_step_action_values(task: TwoStepTask) -> np.ndarray:
    """``Q*[dk + T, df + T, where + 1, completed, action]`` for trials ``T``; ``completed = T``: zero.

    At the first stage (``where = 0``), ``Q(a) = discount * sum_s P(s | a) W(s)``; at a second
    stage, both actions are worth ``W(s) = p_s + discount * E[V(next trial)]``, where ``p_s`` is
    the state's posterior payout probability and V the first-stage value after the reward.
    """
    trials, gamma = task.trials, task.discount
    up, down = log_likelihood_ratios(task)
    span = np.arange(-trials, trials + 1, dtype=np.float64)
    q_second = 1.0 / (1.0 + np.exp(-(span[:, None] * up + span[None, :] * down)))
    p_at = {+1: q_second * task.high + (1 - q_second) * task.low, -1: q_second * task.low + (1 - q_second) * task.high}
    q = np.zeros((2 * trials + 1, 2 * trials + 1, 3, trials + 1, 2))
    following = np.zeros((2 * trials + 1, 2 * trials + 1))
    for completed in range(trials - 1, -1, -1):
        worth = {}
        for sign, p in p_at.items():
            rewarded = _shifted(following, sign, axis=0)
            unrewarded = _shifted(following, sign, axis=1)
            worth[sign] = p + gamma * (p * rewarded + (1 - p) * unrewarded)
            q[:, :, sign + 1, completed, :] = worth[sign][..., None]
        common = task.common
        q[:, :, 1, completed, 0] = gamma * (common * worth[+1] + (1 - common) * worth[-1])
        q[:, :, 1, completed, 1] = gamma * ((1 - common) * worth[+1] + common * worth[-1])
        following = q[:, :, 1, completed].max(-1)
    return q


def _shifted(values: np.ndarray, by: int, axis: int) -> np.ndarray:
    """``out[..., i, ...] = values[..., i + by, ...]`` along ``axis``, the edge repeated past the end."""
    index = np.clip(np.arange(values.shape[axis]) + by, 0, values.shape[axis] - 1)
    return np.take(values, index, axis=axis)


class TwoStepBelief:
    """``(dk, df, where, completed)`` read from the task's inputs; continuous in embedded states."""

    names = ("reward_difference", "no_reward_difference", "where", "completed")
    size = 4

    def __init__(self, task: TwoStepTask) -> None:
        self.task = task

    def initial(self, batch: int) -> Tensor:
        return torch.zeros(batch, self.size, dtype=torch.float64)

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        """Credit the reward in ``x`` to the second-stage state ``s`` was in; note where ``x`` is."""
        s = s.to(torch.float64)
        _, reward = self.task.decode_input(x)
        before = s[:, 2]
        visited = before.abs()
        return torch.stack(
            [s[:, 0] + before * reward, s[:, 1] + before * (1.0 - reward), _where(self.task, x), s[:, 3] + visited], dim=1
        )


class TwoStepBayesAgent:
    """Bayes-optimal on the two-step task; state = ``(dk, df, where, completed)``."""

    def __init__(self, task: TwoStepTask) -> None:
        self.task = task
        self.belief = TwoStepBelief(task)
        self.input_dim = task.input_dim
        self.state_dim = TwoStepBelief.size
        self.output = Policy(2)
        self.state_names = TwoStepBelief.names
        table = torch.from_numpy(two_step_action_values(task))
        self._lookup = dense_lookup(table)
        self._upper = dense_upper(table, 4)
        self._offset = torch.tensor([task.trials, task.trials, 1.0, 0.0], dtype=torch.float64)

    def initial_state(self, batch: int) -> Tensor:
        return self.belief.initial(batch)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.belief.read(x, s)
        return self.policy(s), s

    def action_values_at(self, s: Tensor) -> Tensor:
        """``Q*(b, a)`` ``[B, 2]`` (multilinear between lattice points)."""
        points = s.to(torch.float64) + self._offset.to(s.device)
        return multilinear(self._lookup, points, self._upper.to(s.device))

    def action_values(self, x: Tensor, s: Tensor) -> Tensor:
        """``Q*`` for the decision made on input ``x`` in the belief ``s`` before reading it."""
        return self.action_values_at(self.belief.read(x, s))

    def policy(self, s: Tensor) -> Tensor:
        return split_ties(self.action_values_at(s))

    def posterior(self, s: Tensor) -> Tensor:
        """``P(S2 is the good state | history)`` ``[B]``."""
        up, down = log_likelihood_ratios(self.task)
        return torch.sigmoid(s[:, 0].to(torch.float64) * up + s[:, 1].to(torch.float64) * down)

    def expected_return(self) -> float:
        """The Bayes-optimal expected return from the prior (reward units, the task's discount)."""
        first = self.task.reset(torch.zeros(1, 1, dtype=torch.float64), torch.Generator().manual_seed(0))[1]
        return float(self.action_values(first, self.initial_state(1)).max())


class HybridLearner:
    """Daw et al. 2011's hybrid learner on the two-step task (see the module docstring).

    State ``[Q_mf(a1), Q_mf(a2), Q(S2), Q(S3), one-hot last first-stage action (2), one-hot
    second-stage state of the trial (2)]``. Updates: on arriving in second-stage state s after
    a, ``Q_mf(a) += alpha (Q(s) - Q_mf(a))``; on its reward r, ``delta = r - Q(s)``,
    ``Q(s) += alpha delta``, ``Q_mf(a) += alpha * trace * delta``. First-stage policy:
    ``softmax(beta (w Q_mb + (1 - w) Q_mf) + perseveration * [a == last a])`` with
    ``Q_mb(a) = sum_s P(s | a) Q(s)``. Values start at the prior payout ``(high + low) / 2``.
    """

    def __init__(
        self, task: TwoStepTask, w: float = 0.5, alpha: float = 0.5, beta: float = 5.0,
        trace: float = 1.0, perseveration: float = 0.0,
    ) -> None:
        for label, value in (("w", w), ("alpha", alpha), ("trace", trace)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {value}")
        self.task = task
        self.w, self.alpha, self.beta, self.trace, self.perseveration = w, alpha, beta, trace, perseveration
        self.input_dim = task.input_dim
        self.state_dim = 8
        self.output = Policy(2)
        self.state_names = ("q_mf1", "q_mf2", "q_s2", "q_s3", "last1", "last2", "at_s2", "at_s3")
        self.transitions = torch.tensor([[task.common, 1 - task.common], [1 - task.common, task.common]], dtype=torch.float64)

    def initial_state(self, batch: int) -> Tensor:
        s = torch.zeros(batch, self.state_dim, dtype=torch.float64)
        s[:, :4] = (self.task.high + self.task.low) / 2
        return s

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        """The values after input ``x`` ``[B, input_dim]``."""
        s = s.to(torch.float64)
        q_mf, q_second, last, at = s[:, :2], s[:, 2:4], s[:, 4:6], s[:, 6:8]
        pulled, reward = self.task.decode_input(x)
        where = _where(self.task, x)
        arrived = torch.stack([where.clamp_min(0.0), (-where).clamp_min(0.0)], dim=1)
        arriving = arrived.sum(1, keepdim=True)
        rewarded = at.sum(1, keepdim=True)
        delta = reward[:, None] - (at * q_second).sum(1, keepdim=True)
        q_second = q_second + self.alpha * delta * at
        q_mf = q_mf + self.alpha * self.trace * delta * last * rewarded
        towards = (arrived * q_second).sum(1, keepdim=True)
        q_mf = q_mf + self.alpha * (towards - q_mf) * pulled * arriving
        last = arriving * pulled + (1 - arriving) * last
        return torch.cat([q_mf, q_second, last, arrived], dim=1)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.read(x, s)
        return self.policy(s), s

    def net_values(self, s: Tensor) -> Tensor:
        """``w Q_mb + (1 - w) Q_mf`` of the first-stage actions ``[B, 2]``."""
        model_based = s[:, 2:4] @ self.transitions.to(s.device).T
        return self.w * model_based + (1 - self.w) * s[:, :2]

    def policy(self, s: Tensor) -> Tensor:
        logits = self.beta * self.net_values(s) + self.perseveration * s[:, 4:6]
        first = torch.softmax(logits, dim=1)
        second_stage = s[:, 6:8].sum(1, keepdim=True)
        return second_stage * 0.5 + (1 - second_stage) * first
