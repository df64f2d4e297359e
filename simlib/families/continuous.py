"""Shared machinery for continuous families: log densities scored and compared by quadrature."""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from simlib.families.base import OutputFamily, uniform
from simlib.families.quadrature import Nodes, quadrature_js, quadrature_kl

MIN_POSITIVE = 1e-6
"""Floor added by ``from_raw`` to every positive parameter (softplus + 1e-6)."""


def positive(raw: Tensor) -> Tensor:
    """Unconstrained reals -> positive parameters: ``softplus(raw) + 1e-6``."""
    return torch.nn.functional.softplus(raw) + MIN_POSITIVE


def standard_exponential(params: Tensor, generator: torch.Generator | None) -> Tensor:
    """One Exponential(1) draw per row of ``params`` by inverse CDF, ``-log(1 - u)``: ``[B]``."""
    return -torch.log1p(-uniform(params, generator))


def column(params: Tensor, i: int, like: Tensor) -> Tensor:
    """Column ``i`` of ``params [B, n]`` shaped to broadcast against ``like`` (``[B]`` or ``[B, M]``)."""
    return params[:, i].reshape(params.shape[0], *([1] * (like.dim() - 1)))


class ContinuousFamily(OutputFamily):
    """A family with a closed-form log density; KL and JS default to deterministic quadrature."""

    discrete = False

    @abstractmethod
    def _log_density(self, params: Tensor, x: Tensor) -> Tensor:
        """Log density (nats) of ``x [B]`` or ``x [B, M]`` under ``params [B, n_params]``, shaped as ``x``."""

    @abstractmethod
    def _nodes(self, p: Tensor, q: Tensor) -> Nodes:
        """Quadrature nodes for the row pairs ``p, q [B, n_params]`` (see :mod:`.quadrature`)."""

    def in_domain(self, params: Tensor) -> Tensor:
        """Finite, and every parameter but a location positive (rates, scales, shapes, df)."""
        positive = [i for i, name in enumerate(self.param_names) if name != "loc"]
        return super().in_domain(params) & (params[:, positive] > 0).all(-1)

    def log_prob(self, params: Tensor, value: Tensor) -> Tensor:
        return self._log_density(params, value)

    def kl(self, p: Tensor, q: Tensor) -> Tensor:
        return quadrature_kl(self._log_density, self._nodes, p, q)

    def js(self, p: Tensor, q: Tensor) -> Tensor:
        return quadrature_js(self._log_density, self._nodes, p, q)
