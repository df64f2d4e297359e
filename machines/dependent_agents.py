"""The Bayes-optimal agent of the dependent-arm bandits (Wang et al. 2016, §3.1.2).

With arm means ``(p1, 1 - p1)`` either arm's reward is one flip of a ``p1``-coin (``y = r``
from arm 1, ``y = 1 - r`` from arm 2), so the belief is the pair ``(h, n)``: heads-equivalent
flips and flips seen. The action values come from full backward induction over that belief
MDP (every action's own reward and transition), not from an assumed rule; that the result is
greedy on the posterior mean -- every pull is equally informative, so nothing is gained by
exploring -- is what ``tests/test_wang_bandits.py`` checks against this DP.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_agents import split_ties
from simlib.machines.interpolation import dense_lookup, dense_upper, multilinear
from simlib.tasks import DependentBandit


def posterior_mean_p1(task: DependentBandit, heads: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """``E[p1 | h heads-equivalent in n flips]`` under the task's prior (arrays broadcast)."""
    heads, flips = np.asarray(heads, dtype=np.float64), np.asarray(flips, dtype=np.float64)
    if not task.values:
        return (task.a + heads) / (task.a + task.b + flips)
    values = np.asarray(task.values)
    with np.errstate(divide="ignore"):
        log_v, log_w = np.log(values), np.log1p(-values)
    terms = heads[..., None] * log_v + (flips - heads)[..., None] * log_w
    terms = np.where(np.isnan(terms), -np.inf, terms)
    from scipy.special import logsumexp  # deferred, like scipy.signal: scipy.special adds a quarter second to start-up

    weights = np.exp(terms - logsumexp(terms, axis=-1, keepdims=True))
    return (weights * values).sum(-1)


def dependent_action_values(task: DependentBandit) -> np.ndarray:
    """``Q*[h, n, arm]`` for ``0 <= h <= n <= T`` (reward units, the task's discount); ``n = T``: myopic."""
    horizon, gamma = task.horizon, task.discount
    flips = np.arange(horizon + 1)
    heads_grid, flips_grid = np.meshgrid(flips, flips, indexing="ij")
    mean = posterior_mean_p1(task, np.minimum(heads_grid, flips_grid), flips_grid)
    q = np.stack([mean, 1.0 - mean], axis=-1)
    value = q.max(-1) * 0.0
    for n in range(horizon - 1, -1, -1):
        m = mean[: n + 1, n]
        heads_next, tails_next = value[1 : n + 2, n + 1], value[: n + 1, n + 1]
        # arm 1 pays r = y; arm 2 pays r = 1 - y; either way y ~ Bernoulli(m) moves the belief
        q[: n + 1, n, 0] = m * (1.0 + gamma * heads_next) + (1.0 - m) * gamma * tails_next
        q[: n + 1, n, 1] = m * gamma * heads_next + (1.0 - m) * (1.0 + gamma * tails_next)
        value[: n + 1, n] = q[: n + 1, n].max(-1)
    return q


class DependentBayesAgent:
    """Bayes-optimal on a dependent-arm bandit; state = ``(heads, flips)`` of the ``p1``-coin.

    ``action_values`` and ``expected_return`` come from :func:`dependent_action_values`
    (multilinear between integer counts, as the independent-arm agent's).
    """

    def __init__(self, task: DependentBandit) -> None:
        self.task = task
        self.input_dim = task.input_dim
        self.state_dim = 2
        self.output = Policy(2)
        self.state_names = ("heads", "flips")
        table = torch.from_numpy(dependent_action_values(task))
        self._lookup, self._upper = dense_lookup(table), dense_upper(table, 2)

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, 2, dtype=torch.float64)

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        """``(heads, flips)`` after input ``x``: the flip ``y = r`` from arm 1, ``1 - r`` from arm 2."""
        flip, seen = self.task.decode_flip(x)
        return s.to(torch.float64) + torch.stack([flip, seen], dim=1)

    def action_values_at(self, s: Tensor) -> Tensor:
        """``Q*(b, a)`` ``[B, 2]`` in belief state ``s`` (heads clamped to the flips seen)."""
        s = s.to(torch.float64)
        s = torch.stack([torch.minimum(s[:, 0], s[:, 1]), s[:, 1]], dim=1)
        return multilinear(self._lookup, s, self._upper)

    def action_values(self, x: Tensor, s: Tensor) -> Tensor:
        """``Q*`` for the decision made on input ``x`` in the belief ``s`` before reading it."""
        return self.action_values_at(self.read(x, s))

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.read(x, s)
        return split_ties(self.action_values_at(s)), s

    def expected_return(self) -> float:
        """The Bayes-optimal expected return from the prior (reward units, the task's discount)."""
        return float(self.action_values_at(self.initial_state(1)).max())
