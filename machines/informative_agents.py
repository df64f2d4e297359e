"""Machines for the informative-arm bandit (Wang et al. 2016, §3.1.3).

The belief is the set of arms that may still be the target (uniform over it): a mask over the
candidates, 1 = possible. Pulling a candidate either finds the target (mask -> that arm) or
rules it out; pulling the informative arm reveals the target. The state is ``(mask, pulls)``;
the pull count is part of the belief of a finite-horizon problem.

* :class:`InformativeBayesAgent` -- exact backward induction over every (mask, pulls left);
* :class:`InformativeThompsonAgent` -- Thompson sampling with the true prior: the probability
  that each arm is the best is uniform over the candidates, so it never pulls the informative
  arm (Wang's "searched potential target arms and exploited the target if found").
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_agents import split_ties
from simlib.machines.interpolation import multilinear
from simlib.tasks import InformativeArmBandit

MAX_CANDIDATES = 14
"""Largest number of candidate arms the exact solver enumerates (2**14 masks)."""


class MaskBelief:
    """``(mask [candidates], pulls)`` updated from the task's decoded inputs; continuous in embedded states."""

    def __init__(self, task: InformativeArmBandit) -> None:
        self.task = task
        self.size = task.candidates + 1
        self.names = (*(f"possible{i}" for i in range(task.candidates)), "pulls")

    def initial(self, batch: int) -> Tensor:
        s = torch.ones(batch, self.size, dtype=torch.float64)
        s[:, -1] = 0.0
        return s

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        task = self.task
        pulled, reward = task.decode_input(x)
        s = s.to(torch.float64)
        mask, pulls = s[:, :-1], s[:, -1]
        candidates, informative = pulled[:, :-1], pulled[:, -1:]
        hit = torch.isclose(reward, torch.tensor(task.target_reward, dtype=torch.float64)).to(torch.float64)[:, None]
        clue = torch.round(reward * task.candidates).long().clamp(1, task.candidates) - 1
        revealed = torch.nn.functional.one_hot(clue, task.candidates).to(torch.float64)
        searched = hit * candidates + (1.0 - hit) * mask * (1.0 - candidates)
        moved = candidates.sum(1, keepdim=True)
        mask = informative * revealed + moved * searched + (1.0 - informative - moved) * mask
        return torch.cat([mask, (pulls + pulled.sum(1))[:, None]], dim=1)


@lru_cache(maxsize=8)
def informative_action_values(task: InformativeArmBandit) -> np.ndarray:
    """``Q*[mask, pulls, arm]`` over every candidate mask (bit i = arm i possible) and pulls ``0..T``.

    The empty mask (never reached) takes the full mask's values; ``pulls = T``: immediate means.
    """
    k, horizon, gamma = task.candidates, task.horizon, task.discount
    if k > MAX_CANDIDATES:
        raise ValueError(f"the exact informative-arm solver enumerates 2**candidates masks; {k} > {MAX_CANDIDATES}")
    masks = np.arange(2**k)
    bits = (masks[:, None] >> np.arange(k)) & 1
    count = bits.sum(1)
    full = 2**k - 1
    weights = np.where(count[:, None] > 0, bits / np.maximum(count, 1)[:, None], 1.0 / k)
    clue = (np.arange(k) + 1) / k
    immediate = np.empty((2**k, k + 1))
    immediate[:, :k] = task.other_reward + weights * (task.target_reward - task.other_reward)
    immediate[:, k] = weights @ clue
    q = np.empty((2**k, horizon + 1, k + 1))
    q[:, horizon] = immediate
    value = np.zeros(2**k)
    singles = 1 << np.arange(k)
    for pulls in range(horizon - 1, -1, -1):
        q[:, pulls] = immediate
        found = value[singles]
        for arm in range(k):
            ruled_out = np.where(count > 0, masks & ~singles[arm], full)
            q[:, pulls, arm] += gamma * (weights[:, arm] * found[arm] + (1.0 - weights[:, arm]) * value[ruled_out])
        q[:, pulls, k] += gamma * weights @ found
        value = q[:, pulls].max(-1)
        value[0] = value[full]
    return q


class _MaskAgent:
    """Shared machinery: the mask belief as state, a policy from it."""

    def __init__(self, task: InformativeArmBandit) -> None:
        self.task = task
        self.belief = MaskBelief(task)
        self.input_dim = task.input_dim
        self.state_dim = self.belief.size
        self.output = Policy(task.arms)
        self.state_names = self.belief.names

    def initial_state(self, batch: int) -> Tensor:
        return self.belief.initial(batch)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.belief.read(x, s)
        return self.policy(s), s


class InformativeBayesAgent(_MaskAgent):
    """Bayes-optimal on the informative-arm bandit; state = ``(mask, pulls)``."""

    def __init__(self, task: InformativeArmBandit) -> None:
        super().__init__(task)
        table = torch.from_numpy(informative_action_values(task))
        self._flat = table.reshape(-1, task.arms)
        self._powers = 2 ** torch.arange(task.candidates)
        self._upper = torch.tensor([1.0] * task.candidates + [float(task.horizon)])

    def _lookup(self, points: Tensor) -> Tensor:
        mask = (points[:, :-1] * self._powers.to(points.device)).sum(1)
        return self._flat.to(points.device)[mask * (self.task.horizon + 1) + points[:, -1]]

    def action_values_at(self, s: Tensor) -> Tensor:
        """``Q*(b, a)`` ``[B, arms]`` (multilinear in the mask and the pulls between lattice points)."""
        return multilinear(self._lookup, s.to(torch.float64), self._upper)

    def action_values(self, x: Tensor, s: Tensor) -> Tensor:
        """``Q*`` for the decision made on input ``x`` in the belief ``s`` before reading it."""
        return self.action_values_at(self.belief.read(x, s))

    def policy(self, s: Tensor) -> Tensor:
        return split_ties(self.action_values_at(s))

    def expected_return(self) -> float:
        return float(self.action_values_at(self.initial_state(1)).max())


class InformativeThompsonAgent(_MaskAgent):
    """Thompson sampling with the true prior: ``P(arm i is the target | mask)``, never the informative arm."""

    def policy(self, s: Tensor) -> Tensor:
        mask = s[:, :-1].to(torch.float64).clamp_min(0.0)
        total = mask.sum(1, keepdim=True)
        probs = torch.where(total > 1e-12, mask / total.clamp_min(1e-12), torch.full_like(mask, 1.0 / mask.shape[1]))
        return torch.cat([probs, torch.zeros_like(probs[:, :1])], dim=1)
