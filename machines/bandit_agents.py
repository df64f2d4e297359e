"""Bandit agents as state machines over per-arm sufficient statistics.

Every agent here reads the bandit input, updates its :mod:`belief <simlib.machines.bandit_beliefs>`
and outputs a policy over arms (a :class:`~simlib.families.Policy`):

* :class:`BayesOptimalAgent` -- the Bayes-optimal policy for the task's own objective (finite
  horizon, discount) by backward induction over the belief MDP; exposes its action values, so any
  action can be scored by its Bayes regret, and the exact optimal expected return;
* :class:`GittinsAgent` -- the Gittins-index policy for a discount ``gamma``;
* :class:`ThompsonAgent` -- Thompson sampling, output as its exact action probabilities
  ``P(arm i is best | posterior)``, so sampling from the output is Thompson sampling;
* :class:`UCBAgent` -- UCB on the observed mean rewards (UCB1 by default), scaled by the reward noise.

Deterministic policies split ties between equally good arms evenly.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_beliefs import BetaBelief, NormalBelief, belief_for
from simlib.machines.bandit_dp import bernoulli_action_values, gaussian_action_values, thompson_policy
from simlib.machines.gittins_index import gittins_bernoulli, gittins_normal
from simlib.machines.interpolation import dense_lookup, dense_upper, multilinear
from simlib.machines.two_arm_dp import two_arm_action_values
from simlib.tasks import BanditTask, BernoulliBandit, GaussianBandit, RestlessBandit

TIE_TOLERANCE = 1e-9
"""Values within this (relative to their scale) of the best count as ties."""


def split_ties(values: Tensor, tolerance: float = TIE_TOLERANCE) -> Tensor:
    """Uniform over the arms whose value is (within tolerance of) the largest: ``[B, k]`` -> ``[B, k]``."""
    best = values.max(dim=1, keepdim=True).values
    top = (values >= best - tolerance * (1.0 + best.abs())).to(torch.float64)
    return top / top.sum(dim=1, keepdim=True)


class BanditAgent(ABC):
    """A state machine that keeps the task's conjugate statistics and acts on them."""

    def __init__(self, task: BanditTask) -> None:
        self.task = task
        self.belief = belief_for(task)
        self.input_dim = task.input_dim
        self.state_dim = 2 * task.arms
        self.output = Policy(task.arms)
        self.state_names = self.belief.state_names

    def initial_state(self, batch: int) -> Tensor:
        return self.belief.initial(batch)

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        """The statistics after input ``x [B, input_dim]`` in state ``s``."""
        pulled, reward = self.task.decode_input(x)
        return self.belief.update(s.to(torch.float64), pulled, reward)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.read(x, s)
        return self.policy(s), s

    @abstractmethod
    def policy(self, s: Tensor) -> Tensor:
        """Action probabilities ``[B, arms]`` in belief state ``s [B, 2 * arms]``."""


class BayesOptimalAgent(BanditAgent):
    """Bayes-optimal for the task's horizon and discount; state = per-arm sufficient statistics.

    Bernoulli arms: exact action values over every count state (two arms: the reachable states
    only, :mod:`~simlib.machines.two_arm_dp`; more: a dense table), multilinear in non-integer
    counts. Gaussian arms (two): over each arm's pull count and the difference of
    posterior means on a grid (:func:`~simlib.machines.bandit_dp.gaussian_action_values`; expected
    return accurate to about 1e-5). Past the horizon the policy is greedy on the posterior means.
    """

    def __init__(self, task: BanditTask) -> None:
        super().__init__(task)
        if isinstance(task, BernoulliBandit) and task.arms == 2:
            self._packed = two_arm_action_values(task.horizon, task.a, task.b, task.discount)
        elif isinstance(task, BernoulliBandit):
            table = bernoulli_action_values(task.arms, task.horizon, task.a, task.b, task.discount)
            self._table = torch.from_numpy(table)
        elif isinstance(task, GaussianBandit):
            if task.arms != 2:
                raise ValueError(f"the Gaussian Bayes-optimal solver handles 2 arms, not {task.arms}")
            self._gaussian = gaussian_action_values(
                task.horizon, task.prior_mean, task.prior_std, task.noise_std, task.discount
            )
        else:
            raise TypeError(f"no Bayes-optimal solver for {type(task).__name__}")

    def action_values_at(self, s: Tensor) -> Tensor:
        """Bayes-optimal action values ``Q*(b, a)`` ``[B, arms]`` in belief state ``s`` (reward units)."""
        s = s.to(torch.float64)
        if hasattr(self, "_packed"):
            upper = torch.full((4,), float(self.task.horizon))
            return multilinear(self._packed_lookup, s, upper)
        if isinstance(self.belief, BetaBelief):
            return _multilinear(self._table, s.clamp(0.0, float(self.task.horizon)))
        n0, m0, n1, m1 = (s[:, i].cpu().numpy() for i in range(4))
        return torch.from_numpy(self._gaussian.q(n0, n1, m0, m1)).to(s.device)

    def _packed_lookup(self, counts: Tensor) -> Tensor:
        return torch.from_numpy(self._packed.lookup(counts.cpu().numpy())).to(counts.device)

    def action_values(self, x: Tensor, s: Tensor) -> Tensor:
        """``Q*`` ``[B, arms]`` for the decision made on input ``x`` in state ``s``, ``step``'s
        arguments: ``s`` is the belief *before* reading ``x``. Q at a belief itself is
        :meth:`action_values_at`."""
        return self.action_values_at(self.read(x, s))

    def policy(self, s: Tensor) -> Tensor:
        return split_ties(self.action_values_at(s))

    def expected_return(self) -> float:
        """The Bayes-optimal expected return from the prior (reward units, the task's discount)."""
        prior = self.belief.initial(1)
        return float(self.action_values_at(prior).max())


class GittinsAgent(BanditAgent):
    """Pull the arm with the largest Gittins index for discount ``gamma``.

    Bernoulli: index of Beta(a + s_i, b + f_i); Gaussian (known noise sd sigma): posterior mean
    plus ``sigma * nu(n_i, gamma)`` with ``n_i`` the posterior precision in observations.
    Indices come from cached tables over the counts reachable within the horizon (linear in
    non-integer counts).
    """

    def __init__(self, task: BanditTask, gamma: float) -> None:
        super().__init__(task)
        if not 0.0 < gamma < 1.0:
            raise ValueError(f"the Gittins discount must be in (0, 1), got {gamma}")
        self.gamma = float(gamma)
        counts = np.arange(task.horizon + 2, dtype=np.float64)
        if isinstance(self.belief, BetaBelief):
            a, b = np.meshgrid(self.belief.a + counts, self.belief.b + counts, indexing="ij")
            self._table = torch.from_numpy(np.asarray(gittins_bernoulli(a, b, self.gamma))[..., None])
        else:
            belief: NormalBelief = self.belief
            prior_pulls = (belief.noise_std / belief.prior_std) ** 2
            self._table = torch.from_numpy(np.asarray(gittins_normal(prior_pulls + counts, self.gamma))[:, None])

    def indices(self, s: Tensor) -> Tensor:
        """Gittins index of every arm ``[B, arms]`` (reward units)."""
        s = s.to(torch.float64)
        top = float(self.task.horizon + 1)
        if isinstance(self.belief, BetaBelief):
            pairs = s.reshape(-1, 2).clamp(0.0, top)
            return _multilinear(self._table, pairs).reshape(s.shape[0], -1)
        belief: NormalBelief = self.belief
        pulls = belief.counts(s).reshape(-1, 1).clamp(0.0, top)
        nu = _multilinear(self._table, pulls).reshape(s.shape[0], -1)
        return belief.means(s) + belief.noise_std * nu

    def policy(self, s: Tensor) -> Tensor:
        return split_ties(self.indices(s))


class ThompsonAgent(BanditAgent):
    """Thompson sampling: outputs ``P(arm i has the largest mean | posterior)`` ``[B, arms]``."""

    def __init__(self, task: BanditTask, nodes: int = 64) -> None:
        super().__init__(task)
        self.nodes = nodes

    def policy(self, s: Tensor) -> Tensor:
        s = s.to(torch.float64)
        if isinstance(self.belief, BetaBelief):
            alpha, beta = (p.clamp_min(1e-6).cpu().numpy() for p in self.belief.posterior(s))
            return torch.from_numpy(thompson_policy(alpha, beta, self.nodes)).to(s.device)
        return _normal_best_arm(self.belief.means(s), self.belief.stds(s), self.nodes)


class UCBAgent(BanditAgent):
    """UCB: observed mean reward plus ``scale * sqrt(chi * log t / n_i)``; unpulled arms first.

    ``chi = 2`` is UCB1 (Auer et al. 2002); Wang et al. 2016 use ``chi = 1`` on the restless
    bandit. ``scale`` is the reward noise sd for Gaussian arms and 1 otherwise.
    """

    def __init__(self, task: BanditTask, chi: float | None = None) -> None:
        super().__init__(task)
        self.chi = default_chi(task) if chi is None else float(chi)
        if not (self.chi >= 0 and math.isfinite(self.chi)):
            raise ValueError(f"the UCB exploration parameter chi must be finite and non-negative, got {chi}")
        self.scale = task.noise_std if isinstance(task, GaussianBandit) else 1.0

    def policy(self, s: Tensor) -> Tensor:
        s = s.to(torch.float64)
        n = self.belief.counts(s).clamp_min(0.0)
        t = n.sum(dim=1, keepdim=True).clamp_min(1.0)
        bonus = self.scale * torch.sqrt(self.chi * torch.log(t) / n.clamp_min(1e-12))
        untried = n < 0.5
        index = torch.where(untried, torch.full_like(n, math.inf), self.belief.sample_means(s) + bonus)
        if torch.isinf(index).any():
            index = untried.to(torch.float64)
        return split_ties(index)


def default_chi(task: BanditTask) -> float:
    """UCB's default ``chi``: 1 on the restless bandit (Wang et al. 2016), 2 (UCB1) elsewhere."""
    return 1.0 if isinstance(task, RestlessBandit) else 2.0


def _multilinear(table: Tensor, points: Tensor) -> Tensor:
    """Interpolate ``table [n_1, ..., n_d, k]`` at ``points [B, d]`` (grid coordinates) -> ``[B, k]``."""
    dims = points.shape[1]
    return multilinear(dense_lookup(table), points, dense_upper(table, dims))


def _normal_best_arm(means: Tensor, stds: Tensor, nodes: int) -> Tensor:
    """``P(X_i = max_j X_j)`` for independent ``X_j ~ N(means_j, stds_j**2)`` by Gauss-Hermite."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    z = torch.from_numpy(z).to(means)
    w = torch.from_numpy(w / w.sum()).to(means)
    x = means[:, :, None] + stds[:, :, None] * z
    normal = torch.distributions.Normal(means[:, None, :, None], stds[:, None, :, None])
    cdf = normal.cdf(x[:, :, None, :]).clamp_min(1e-300)
    log_others = cdf.log().sum(dim=2) - cdf.diagonal(dim1=1, dim2=2).permute(0, 2, 1).log()
    probs = (log_others.exp() * w).sum(dim=2)
    return probs / probs.sum(dim=1, keepdim=True)
