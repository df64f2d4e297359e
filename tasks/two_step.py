"""Wang et al. 2016's two-step task (§3.2.1; Daw et al. 2011, in Kool et al. 2016's form).

Every trial starts in the first-stage state S1. Action a1 (0) leads to S2 with probability
``common`` (0.75) and to S3 otherwise; a2 (1) the reverse. One second-stage state, drawn per
episode (theta ``good``: 0 = S2, 1 = S3) and fixed within it, pays 1 with probability ``high``
(0.9); the other with probability ``low`` (0.1). An episode is ``trials`` trials (Wang's
Table 1: 10) of two steps each, so ``horizon = 2 * trials`` (Wang's 20 unrolled steps).

**The second stage.** Wang's second-stage states have no choice of their own ("S2 and S3
result in expected rewards r_a and r_b"), yet the agent acts at every step. Here the agent
acts at the second stage too and either action collects the state's reward: the payout
depends on the state alone, so every second-stage action is optimal and carries no regret,
and the trial's only decision is the first-stage one. The reward of that step is observed
at the next step, back in S1.

Observations are one-hot ``(S1, S2, S3)``; the input is ``[one-hot(a), r, t / horizon, state]``
(Wang's a, r, t, x). ``mean_reward`` credits each trial's expected payout given theta to the
first-stage choice that decides it, ``discount * (P(S2 | a) p_S2 + P(S3 | a) p_S3)`` (0.7 or 0.3
by default), and zero to both second-stage actions, whose reward is already decided: the
pseudo-return is the return's expectation given theta and the choices, and ``max_a`` minus the
chosen one is the regret of an agent that knew theta (Wang's "expected regret"). The Bayes
regret, against what could be known, comes from ``opt:two-step``'s action values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from simlib import constraints
from simlib.tasks.bandits import bernoulli_rewards
from simlib.tasks.mdp import MDPTask

FIRST, SECOND, THIRD = 0, 1, 2
"""State indices of S1, S2, S3."""


@dataclass(frozen=True)
class TwoStepTask(MDPTask):
    """Three states, two actions; which second-stage state pays well is the episode's hidden theta."""

    trials: int = 10
    common: float = 0.75
    high: float = 0.9
    low: float = 0.1
    name: str = "two-step"

    n_actions: ClassVar[int] = 2
    observation_dim: ClassVar[int] = 3
    arg_constraints = {**MDPTask.arg_constraints, "trials": constraints.positive_integer,
                       "common": constraints.unit_interval, "high": constraints.unit_interval,
                       "low": constraints.unit_interval}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.high > self.low:
            raise ValueError(f"the good state must pay more often than the bad one: high {self.high} <= low {self.low}")

    @property
    def horizon(self) -> int:
        return 2 * self.trials

    @property
    def theta_names(self) -> tuple[str, ...]:
        return ("good",)

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        good = torch.randint(2, (episodes, 1), generator=generator, device=generator.device)
        return good.to(torch.float64)

    def input_alphabet(self) -> tuple[Tensor, tuple[str, ...]]:
        """Every input without its clock (:meth:`stamp_time` sets it): ``([9, input_dim] rows, labels)``:
        the start, the four arrivals at a second-stage state (after a1/a2) and the four returns
        to S1 (after either second-stage action, with reward 0 or 1)."""
        zero = torch.zeros(1, dtype=torch.float64)
        eye = torch.eye(3, dtype=torch.float64)
        rows = [self.encode(None, zero, 0, eye[FIRST : FIRST + 1])]
        labels = ["start"]
        for a in (0, 1):
            for state, name in ((SECOND, "S2"), (THIRD, "S3")):
                rows.append(self.encode(torch.tensor([a]), zero, 0, eye[state : state + 1]))
                labels.append(f"a{a + 1}>{name}")
        for a in (0, 1):
            for r in (0.0, 1.0):
                rows.append(self.encode(torch.tensor([a]), torch.tensor([r], dtype=torch.float64), 0, eye[FIRST : FIRST + 1]))
                labels.append(f"a{a + 1} r{int(r)}")
        return torch.cat(rows), tuple(labels)

    def symbols_at(self, t: int) -> list[bool]:
        """Which of :meth:`input_alphabet`'s symbols can arrive at step ``t``: the start at 0,
        arrivals at odd steps, returns at the other even ones."""
        if t == 0:
            return [True] + [False] * 8
        arriving = t % 2 == 1
        return [False] + [arriving] * 4 + [not arriving] * 4

    def random_return(self) -> float:
        """Every second stage pays ``(high + low) / 2`` on average whatever the policy does first."""
        return float(self.discounts()[1::2].sum()) * (self.high + self.low) / 2

    def initial_state(self, theta: Tensor, generator: torch.Generator) -> Tensor:
        """The state index ``[E, 1]``: S1."""
        return torch.full((theta.shape[0], 1), float(FIRST), dtype=torch.float64, device=theta.device)

    def observe(self, state: Tensor, theta: Tensor) -> Tensor:
        return torch.nn.functional.one_hot(state[:, 0].long(), 3).to(torch.float64)

    def payout(self, state: Tensor, theta: Tensor) -> Tensor:
        """The probability that ``state``'s reward is 1 ``[E]`` (0 in S1)."""
        index = state[:, 0].long()
        good = theta[:, 0].long() + SECOND
        p = torch.where(index == good, self.high, self.low).to(torch.float64)
        return torch.where(index == FIRST, torch.zeros_like(p), p)

    def transition(self, state, theta, action, t, generator):
        first = state[:, 0].long() == FIRST
        u = torch.rand(state.shape[0], dtype=torch.float64, generator=generator, device=state.device)
        to_second = torch.where(action == 0, u < self.common, u >= self.common)
        second_stage = torch.where(to_second, float(SECOND), float(THIRD)).to(torch.float64)
        p = self.payout(state, theta)
        reward = torch.where(first, torch.zeros_like(p), bernoulli_rewards(p, generator))
        following = torch.where(first, second_stage, torch.full_like(second_stage, float(FIRST)))
        return following[:, None], reward, self.decided_payout(theta) * first[:, None]

    def decided_payout(self, theta: Tensor) -> Tensor:
        """What each first-stage action is worth given theta, discounted to its step: ``[E, 2]``."""
        good_second = theta[:, 0] == 0
        p2 = torch.where(good_second, self.high, self.low).to(torch.float64)
        p3 = self.high + self.low - p2
        c = self.common
        return self.discount * torch.stack([c * p2 + (1 - c) * p3, (1 - c) * p2 + c * p3], dim=1)
