"""Wang et al. 2016's restless bandit (§3.1.4): two arms whose means drift within an episode.

Arm means are ``(p1_t, 1 - p1_t)``. ``p1_0`` is drawn uniformly from ``initial`` (Wang leaves it
open; default [0, 1]); after every pull ``p1`` takes one step of a Gaussian random walk
reflected at 0 and 1, ``p1 <- reflect(p1 + nu * z)``, ``z ~ N(0, 1)``. The volatility ``nu`` is
fixed within an episode and drawn per episode uniformly from the union of ``volatilities``
(Wang's training set [0, 2/30] U [4/30, 6/30]; ``restless-bandit-test``: [0, 6/30]). Wang
calls nu a variance; taken as a variance, a step's spread would reach sqrt(0.2) = 0.45 and
p1 would be almost redrawn every pull, so simlib reads nu as the walk's standard deviation per
step (``volatility_is="std"``, the default) and keeps ``"variance"`` as an option.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from simlib.tasks.bandits import MirroredArms

TRAINING_VOLATILITIES = ((0.0, 2 / 30), (4 / 30, 6 / 30))
TEST_VOLATILITIES = ((0.0, 6 / 30),)
VOLATILITY_MEANINGS = ("std", "variance")


def reflect(p: Tensor) -> Tensor:
    """Fold values onto [0, 1] by reflection at both ends (any distance outside)."""
    folded = torch.remainder(p, 2.0)
    return torch.where(folded > 1.0, 2.0 - folded, folded)


@dataclass(frozen=True)
class RestlessBandit(MirroredArms):
    """Arm means ``(p1_t, 1 - p1_t)`` with ``p1`` a reflected random walk of per-episode volatility nu."""

    horizon: int = 150
    volatilities: tuple[tuple[float, float], ...] = TRAINING_VOLATILITIES
    volatility_is: str = "std"
    initial: tuple[float, float] = (0.0, 1.0)
    name: str = "restless-bandit"

    def __post_init__(self) -> None:
        super().__post_init__()
        ranges = tuple((float(low), float(high)) for low, high in self.volatilities)
        if not ranges or any(not (0.0 <= low <= high and math.isfinite(high)) for low, high in ranges):
            raise ValueError(f"volatilities must be finite intervals [low, high] with 0 <= low <= high, got {ranges}")
        if sum(high - low for low, high in ranges) <= 0:
            raise ValueError("the volatility prior needs an interval of positive length")
        if self.volatility_is not in VOLATILITY_MEANINGS:
            raise ValueError(f"volatility_is must be one of {VOLATILITY_MEANINGS}, got {self.volatility_is!r}")
        low, high = (float(v) for v in self.initial)
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"initial must be an interval within [0, 1], got {self.initial}")
        object.__setattr__(self, "volatilities", ranges)
        object.__setattr__(self, "initial", (low, high))

    @property
    def theta_names(self) -> tuple[str, ...]:
        return ("volatility",)

    def walk_std(self, volatility: Tensor) -> Tensor:
        """The random walk's standard deviation per step for volatility ``nu``."""
        return volatility if self.volatility_is == "std" else volatility.sqrt()

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        ranges = torch.tensor(self.volatilities, dtype=torch.float64, device=generator.device)
        lengths = ranges[:, 1] - ranges[:, 0]
        pick = torch.multinomial(lengths / lengths.sum(), episodes, replacement=True, generator=generator)
        u = torch.rand(episodes, dtype=torch.float64, generator=generator, device=generator.device)
        return (ranges[pick, 0] + u * lengths[pick])[:, None]

    def initial_state(self, theta: Tensor, generator: torch.Generator) -> Tensor:
        low, high = self.initial
        u = torch.rand(theta.shape[0], 1, dtype=torch.float64, generator=generator, device=theta.device)
        return low + (high - low) * u

    def evolve(self, state: Tensor, theta: Tensor, generator: torch.Generator) -> Tensor:
        z = torch.randn(state.shape, dtype=torch.float64, generator=generator, device=state.device)
        return reflect(state + self.walk_std(theta) * z)

    def oracle_features(self, theta: Tensor, state: Tensor) -> Tensor:
        return torch.cat([theta, state], dim=1)

    @property
    def oracle_dim(self) -> int:
        return 2
