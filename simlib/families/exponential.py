"""Exponential: one parameter, the ``rate``; values are ``x >= 0``."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from simlib.families.continuous import ContinuousFamily, column, positive, standard_exponential
from simlib.families.quadrature import Nodes, half_line_nodes


class Exponential(ContinuousFamily):
    """Density ``rate * exp(-rate x)`` on ``x >= 0``; KL in closed form, JS by quadrature."""

    name = "exponential"

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("rate",)

    def from_raw(self, raw: Tensor) -> Tensor:
        return positive(raw)

    def _log_density(self, params: Tensor, x: Tensor) -> Tensor:
        rate = column(params, 0, x)
        return torch.where(x >= 0, torch.log(rate) - rate * x, -math.inf)

    def _nodes(self, p: Tensor, q: Tensor) -> Nodes:
        return half_line_nodes(torch.zeros_like(p[:, 0]), torch.rsqrt(p[:, 0] * q[:, 0]))

    def mean(self, params: Tensor) -> Tensor:
        return 1.0 / params[:, 0]

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Inverse CDF: ``-log(1 - u) / rate``."""
        return standard_exponential(params, generator) / params[:, 0]

    def kl(self, p: Tensor, q: Tensor) -> Tensor:
        ratio = q[:, 0] / p[:, 0]
        return (ratio - 1.0 - torch.log(ratio)).clamp_min(0.0)
