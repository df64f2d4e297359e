"""Shared machinery of open-loop prediction tasks: the start token and input encoding."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
from torch import Tensor

from simlib import constraints
from simlib.families import OutputFamily
from simlib.task_family import PREDICTION


@dataclass(frozen=True)
class PredictionTaskBase(ABC):
    """Episodes of ``horizon`` i.i.d. observations given theta drawn from the prior.

    Input at step t: ``[encode(observation[t-1]), 1]``; at t = 0 the start token
    ``[0, ..., 0, 0]`` (the trailing flag says whether an observation is present).
    """

    horizon: int = 20

    name = "prediction"
    closed_loop = False
    family = PREDICTION

    output: ClassVar[OutputFamily]
    theta_names: ClassVar[tuple[str, ...]]
    arg_constraints: ClassVar[dict] = {"horizon": constraints.positive_integer}

    def __post_init__(self) -> None:
        constraints.validate(self)

    @property
    @abstractmethod
    def observation_dim(self) -> int:
        """Width of one encoded observation (1 for scalars, k for a one-hot of k classes)."""

    @abstractmethod
    def encode_observation(self, observations: Tensor) -> Tensor:
        """``[E, T]`` observations -> ``[E, T, observation_dim]`` float64."""

    @abstractmethod
    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor: ...

    @abstractmethod
    def sample_observations(self, theta: Tensor, horizon: int, generator: torch.Generator) -> Tensor: ...

    @property
    def input_dim(self) -> int:
        return self.observation_dim + 1

    def config(self) -> dict:
        """Every field, ``name`` included: ``simlib.tasks.from_config`` rebuilds the task."""
        return asdict(self)

    def encode(self, observations: Tensor) -> Tensor:
        """``[E, T]`` -> inputs ``[E, T, input_dim]``; step t carries observation t-1."""
        episodes, horizon = observations.shape
        encoded = self.encode_observation(observations[:, : horizon - 1])
        seen = torch.ones(episodes, horizon - 1, 1, dtype=torch.float64, device=observations.device)
        later = torch.cat([encoded, seen], dim=2)
        start = torch.zeros(episodes, 1, self.input_dim, dtype=torch.float64, device=observations.device)
        return torch.cat([start, later], dim=1)


@dataclass(frozen=True)
class ScalarPredictionTask(PredictionTaskBase):
    """Observations that are single numbers, fed to the machine as they are."""

    @property
    def observation_dim(self) -> int:
        return 1

    def encode_observation(self, observations: Tensor) -> Tensor:
        return observations.to(torch.float64)[..., None]
