"""The OutputFamily interface: what a machine's output vector means.

A machine's output ``y [B, n_params]`` holds the parameters of a distribution over the next
observation (prediction tasks) or over actions (bandit tasks). The family knows how to score,
compare and sample such parameter vectors, batched over the leading dimension. Values are
``[B]`` float tensors for every family (class indices for the discrete ones).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import Tensor

_EPS = 1e-12


class OutputFamily(ABC):
    """A parametric family of distributions, batched over rows of a parameter tensor."""

    name: ClassVar[str]
    discrete: ClassVar[bool]

    @property
    @abstractmethod
    def param_names(self) -> tuple[str, ...]:
        """Labels of the ``n_params`` columns of a parameter tensor."""

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    @abstractmethod
    def from_raw(self, raw: Tensor) -> Tensor:
        """Map unconstrained network outputs ``[B, n_params]`` to valid parameters ``[B, n_params]``."""

    @abstractmethod
    def log_prob(self, params: Tensor, value: Tensor) -> Tensor:
        """Log density (or mass) of ``value [B]`` under ``params [B, n_params]``: ``[B]`` nats."""

    @abstractmethod
    def mean(self, params: Tensor) -> Tensor:
        """Expected value: ``[B]``; for Categorical/Policy the expected one-hot ``[B, k]``."""

    @abstractmethod
    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One draw per row: ``[B]`` (class indices as floats for discrete families)."""

    @abstractmethod
    def kl(self, p: Tensor, q: Tensor) -> Tensor:
        """KL(p || q) per row, ``[B]`` nats."""

    @abstractmethod
    def js(self, p: Tensor, q: Tensor) -> Tensor:
        """Jensen-Shannon divergence per row, ``[B]`` nats (at most log 2)."""

    def in_domain(self, params: Tensor) -> Tensor:
        """``[B]`` bool: which rows of ``params [B, n_params]`` are valid parameters (finite here;
        families narrow it)."""
        return torch.isfinite(params).all(-1)

    def config(self) -> dict:
        """Plain data that rebuilds this family with :func:`family_from_config`."""
        return {"name": self.name}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutputFamily) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.config().items())))

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({extra})"


def clamp_probs(p: Tensor) -> Tensor:
    """Keep probabilities strictly inside (0, 1) so logs stay finite."""
    return p.clamp(_EPS, 1.0 - _EPS)


def uniform(params: Tensor, generator: torch.Generator | None) -> Tensor:
    """One U[0, 1) draw per row of ``params``: ``[B]``, same dtype and device."""
    return torch.rand(params.shape[0], generator=generator, device=params.device, dtype=params.dtype)


def xlogy_ratio(a: Tensor, b: Tensor) -> Tensor:
    """``a * log(a / b)`` elementwise, with the convention 0 log 0 = 0."""
    return torch.xlogy(a, a) - torch.xlogy(a, b)


def discrete_kl(a: Tensor, b: Tensor) -> Tensor:
    """KL between probability vectors ``a, b [B, k]``: ``[B]`` nats (``b`` floored at 1e-12)."""
    return xlogy_ratio(a, b.clamp_min(_EPS)).sum(-1).clamp_min(0.0)


def discrete_js(a: Tensor, b: Tensor) -> Tensor:
    """Jensen-Shannon divergence between probability vectors ``a, b [B, k]``: ``[B]`` nats."""
    m = 0.5 * (a + b)
    return (0.5 * (xlogy_ratio(a, m) + xlogy_ratio(b, m)).sum(-1)).clamp(0.0, math.log(2.0))
