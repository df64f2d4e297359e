"""Bernoulli: one parameter, the probability ``p`` of observing 1."""

from __future__ import annotations

import torch
from torch import Tensor

from simlib.families.base import OutputFamily, clamp_probs, discrete_js, discrete_kl, uniform


def _two_point(params: Tensor) -> Tensor:
    """``[B, 1]`` probabilities of 1 -> ``[B, 2]`` probabilities of (0, 1), clamped inside (0, 1)."""
    p = clamp_probs(params[:, 0])
    return torch.stack((1.0 - p, p), dim=-1)


class Bernoulli(OutputFamily):
    """Coin-flip predictions; parameters ``[p]``."""

    name = "bernoulli"
    discrete = True

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("p",)

    def from_raw(self, raw: Tensor) -> Tensor:
        return torch.sigmoid(raw)

    def log_prob(self, params: Tensor, value: Tensor) -> Tensor:
        p = clamp_probs(params[:, 0])
        return torch.where(value > 0.5, torch.log(p), torch.log1p(-p))

    def mean(self, params: Tensor) -> Tensor:
        return params[:, 0]

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return (uniform(params, generator) < params[:, 0]).to(params.dtype)

    def in_domain(self, params: Tensor) -> Tensor:
        return super().in_domain(params) & (params[:, 0] >= 0) & (params[:, 0] <= 1)

    def kl(self, p: Tensor, q: Tensor) -> Tensor:
        return discrete_kl(_two_point(p), _two_point(q))

    def js(self, p: Tensor, q: Tensor) -> Tensor:
        return discrete_js(_two_point(p), _two_point(q))
