"""Lomax (Pareto II): parameters ``[shape, scale]``; values are ``x >= 0``."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from simlib.families.continuous import ContinuousFamily, column, positive, standard_exponential
from simlib.families.quadrature import Nodes, half_line_nodes


class Lomax(ContinuousFamily):
    """Density ``a/l (1 + x/l)^-(a+1)`` on ``x >= 0``: the exponential-Gamma posterior predictive.

    KL and JS by quadrature. ``mean`` is ``scale / (shape - 1)``, ``+inf`` where ``shape <= 1``.
    """

    name = "lomax"

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("shape", "scale")

    def from_raw(self, raw: Tensor) -> Tensor:
        return positive(raw)

    def _log_density(self, params: Tensor, x: Tensor) -> Tensor:
        shape, scale = column(params, 0, x), column(params, 1, x)
        inside = torch.log(shape / scale) - (shape + 1.0) * torch.log1p(x.clamp_min(0.0) / scale)
        return torch.where(x >= 0, inside, -math.inf)

    def _nodes(self, p: Tensor, q: Tensor) -> Nodes:
        return half_line_nodes(torch.zeros_like(p[:, 0]), torch.sqrt(p[:, 1] * q[:, 1]))

    def mean(self, params: Tensor) -> Tensor:
        """``scale / (shape - 1)``: ``[B]``; ``+inf`` where ``shape <= 1`` (the integral diverges)."""
        shape, scale = params[:, 0], params[:, 1]
        return torch.where(shape > 1.0, scale / (shape - 1.0), math.inf)

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Inverse CDF: ``scale * ((1 - u)^(-1/shape) - 1)``."""
        return params[:, 1] * torch.expm1(standard_exponential(params, generator) / params[:, 0])
