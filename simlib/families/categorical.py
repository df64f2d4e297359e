"""Categorical: ``k`` class probabilities; values are class indices stored as floats."""

from __future__ import annotations

import numbers

import torch
from torch import Tensor

from simlib.errors import SimlibError
from simlib.families.base import OutputFamily, clamp_probs, discrete_js, discrete_kl, uniform


class Categorical(OutputFamily):
    """Predictions over ``k`` classes; parameters ``[p0, ..., p{k-1}]`` summing to one."""

    name = "categorical"
    discrete = True

    def __init__(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise SimlibError(f"{self.name} needs a whole number of classes k >= 1, got {k!r}")
        self.k = int(k)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(f"p{i}" for i in range(self.k))

    def from_raw(self, raw: Tensor) -> Tensor:
        return torch.softmax(raw, dim=-1)

    def log_prob(self, params: Tensor, value: Tensor) -> Tensor:
        index = value.round().long().unsqueeze(-1)
        return torch.log(clamp_probs(params.gather(-1, index).squeeze(-1)))

    def mean(self, params: Tensor) -> Tensor:
        """The probability vector itself (the expected one-hot): ``[B, k]``."""
        return params

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Inverse CDF on the cumulative sums; classes of probability zero are never drawn."""
        cdf = params.cumsum(-1)
        u = uniform(params, generator) * cdf[:, -1]
        return (cdf[:, :-1] <= u.unsqueeze(-1)).sum(-1).to(params.dtype)

    def in_domain(self, params: Tensor) -> Tensor:
        """Probabilities: non-negative, summing to 1 (to 1e-6)."""
        sums = params.sum(-1)
        return super().in_domain(params) & (params >= 0).all(-1) & ((sums - 1).abs() <= 1e-6)

    def kl(self, p: Tensor, q: Tensor) -> Tensor:
        return discrete_kl(p, q)

    def js(self, p: Tensor, q: Tensor) -> Tensor:
        return discrete_js(p, q)

    def config(self) -> dict:
        return {"name": self.name, "k": self.k}
