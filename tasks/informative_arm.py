"""Wang et al. 2016's informative-arm bandit (§3.1.3): pay to learn where the treasure is.

Eleven arms with deterministic payouts. One of arms 1-10 (0-based: 0-9), the *target*, drawn
uniformly per episode, pays ``target_reward`` (5); the other nine pay ``other_reward`` (1); arm
11 (0-based: 10), the *informative* arm, pays ``0.1 * k`` where k = 1..10 is the target's
1-based index. Five pulls per episode.

The previous reward is one-hot encoded, as in Wang (who left the code open): one slot per
distinct reward value the task can pay -- ``0.1, 0.2, ..., 1.0`` (1.0 is both "target is arm
10" from the informative arm and a non-target's payout; the one-hot previous action tells them
apart) and ``target_reward`` -- and all zeros at t = 0. ``reward_code="scalar"`` feeds the
plain reward instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from simlib import constraints
from simlib.tasks.bandits import BanditTask

REWARD_CODES = ("one-hot", "scalar")


@dataclass(frozen=True)
class InformativeArmBandit(BanditTask):
    """``arms - 1`` candidate arms, one of them the target; the last arm reveals which."""

    arms: int = 11
    horizon: int = 5
    target_reward: float = 5.0
    other_reward: float = 1.0
    reward_code: str = "one-hot"
    name: str = "informative-arm-bandit"

    arg_constraints = {**BanditTask.arg_constraints, "arms": constraints.integer_at_least(3),
                       "target_reward": constraints.real, "other_reward": constraints.real}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.reward_code not in REWARD_CODES:
            raise ValueError(f"reward_code must be one of {REWARD_CODES}, got {self.reward_code!r}")
        if not self.target_reward > self.other_reward:
            raise ValueError("the target must pay more than the other arms")
        if self.reward_code == "one-hot" and self.other_reward in self.clue_rewards()[:-1]:
            raise ValueError(f"other_reward {self.other_reward} collides with a clue of the informative arm")

    @property
    def candidates(self) -> int:
        """Arms that may be the target (all but the informative one)."""
        return self.arms - 1

    @property
    def theta_names(self) -> tuple[str, ...]:
        return ("target",)

    def clue_rewards(self) -> tuple[float, ...]:
        """The informative arm's payout for each target ``0..candidates-1``: ``(k + 1) / candidates``."""
        return tuple((k + 1) / self.candidates for k in range(self.candidates))

    def reward_values(self) -> Tensor:
        """Every distinct reward the task pays, in the order of the one-hot code: ``[k]`` float64."""
        values = sorted({*self.clue_rewards(), self.other_reward, self.target_reward})
        return torch.tensor(values, dtype=torch.float64)

    @property
    def input_dim(self) -> int:
        width = 1 if self.reward_code == "scalar" else len(self.reward_values())
        return self.arms + width + 1

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        target = torch.randint(self.candidates, (episodes, 1), generator=generator, device=generator.device)
        return target.to(torch.float64)

    def mean_rewards(self, state: Tensor) -> Tensor:
        target = state[:, 0].long()
        means = torch.full((state.shape[0], self.arms), self.other_reward, dtype=torch.float64, device=state.device)
        means.scatter_(1, target[:, None], self.target_reward)
        means[:, -1] = (target + 1).to(torch.float64) / self.candidates
        return means

    def draw_rewards(self, means: Tensor, generator: torch.Generator) -> Tensor:
        return means

    def prior_mean_reward(self) -> float:
        clue = sum(self.clue_rewards()) / self.candidates
        per_candidate = (self.target_reward + (self.candidates - 1) * self.other_reward) / self.candidates
        return (self.candidates * per_candidate + clue) / self.arms

    def reward_bounds(self) -> tuple[float, float]:
        values = self.reward_values()
        return (float(values.min()), float(values.max()))

    def input_bounds(self) -> tuple[Tensor, Tensor]:
        if self.reward_code == "scalar":
            return super().input_bounds()
        return torch.zeros(self.input_dim, dtype=torch.float64), torch.ones(self.input_dim, dtype=torch.float64)

    def encode_reward(self, reward: Tensor) -> Tensor:
        if self.reward_code == "scalar":
            return reward[:, None]
        values = self.reward_values().to(reward.device)
        return (torch.isclose(reward[:, None], values[None, :], atol=1e-9)).to(reward.dtype)

    def decode_reward(self, code: Tensor) -> Tensor:
        if self.reward_code == "scalar":
            return code[:, 0]
        return code @ self.reward_values().to(code.device)
