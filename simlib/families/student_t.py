"""Student-t: parameters ``[df, loc, scale]``; values are reals."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from simlib.families.continuous import ContinuousFamily, column, positive
from simlib.families.quadrature import Nodes, real_line_nodes
from simlib.random import standard_gamma


class StudentT(ContinuousFamily):
    """Location-scale Student-t predictions (e.g. a Normal-Gamma posterior predictive).

    KL and JS by quadrature. ``mean`` is ``+inf`` where ``df <= 1`` (no finite mean), as scipy.
    """

    name = "student_t"

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("df", "loc", "scale")

    def from_raw(self, raw: Tensor) -> Tensor:
        return torch.stack((positive(raw[:, 0]), raw[:, 1], positive(raw[:, 2])), dim=-1)

    def _log_density(self, params: Tensor, x: Tensor) -> Tensor:
        df, loc, scale = (column(params, i, x) for i in range(3))
        log_gamma_ratio = torch.lgamma(0.5 * (df + 1.0)) - torch.lgamma(0.5 * df)
        log_norm = log_gamma_ratio - 0.5 * torch.log(math.pi * df) - torch.log(scale)
        log_kernel = (x - loc).div_(scale * torch.sqrt(df)).square_().log1p_()
        return torch.addcmul(log_norm, -0.5 * (df + 1.0), log_kernel)

    def _nodes(self, p: Tensor, q: Tensor) -> Nodes:
        return real_line_nodes(p[:, 1], q[:, 1], torch.sqrt(p[:, 2] * q[:, 2]))

    def mean(self, params: Tensor) -> Tensor:
        """``loc``: ``[B]``; ``+inf`` where ``df <= 1`` (no finite mean; scipy's convention)."""
        return torch.where(params[:, 0] > 1.0, params[:, 1], math.inf)

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``loc + scale * Z / sqrt(V / df)``, ``Z ~ N(0, 1)``, ``V = 2 Gamma(df / 2) ~ chi2(df)``."""
        df = params[:, 0]
        z = torch.randn(df.shape, generator=generator, device=df.device, dtype=df.dtype)
        half_df = (0.5 * df).contiguous()
        gamma = torch._standard_gamma(half_df) if generator is None else standard_gamma(half_df, generator)
        return params[:, 1] + params[:, 2] * z * torch.sqrt(0.5 * df / gamma)
