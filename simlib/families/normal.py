"""Normal: parameters ``[loc, scale]``; values are reals."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from simlib.families.continuous import ContinuousFamily, column, positive
from simlib.families.quadrature import Nodes, real_line_nodes


class Normal(ContinuousFamily):
    """Gaussian predictions ``N(loc, scale^2)``; KL in closed form, JS by quadrature."""

    name = "normal"

    @property
    def param_names(self) -> tuple[str, ...]:
        return ("loc", "scale")

    def from_raw(self, raw: Tensor) -> Tensor:
        return torch.stack((raw[:, 0], positive(raw[:, 1])), dim=-1)

    def _log_density(self, params: Tensor, x: Tensor) -> Tensor:
        loc, scale = column(params, 0, x), column(params, 1, x)
        z = (x - loc).div_(scale)
        return torch.addcmul(-0.5 * math.log(2.0 * math.pi) - torch.log(scale), z, z, value=-0.5)

    def _nodes(self, p: Tensor, q: Tensor) -> Nodes:
        return real_line_nodes(p[:, 0], q[:, 0], torch.sqrt(p[:, 1] * q[:, 1]))

    def mean(self, params: Tensor) -> Tensor:
        return params[:, 0]

    def sample(self, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(params.shape[0], generator=generator, device=params.device, dtype=params.dtype)
        return params[:, 0] + params[:, 1] * z

    def kl(self, p: Tensor, q: Tensor) -> Tensor:
        ratio = p[:, 1] / q[:, 1]
        shift = (p[:, 0] - q[:, 0]) / q[:, 1]
        return (0.5 * (ratio * ratio + shift * shift - 1.0) - torch.log(ratio)).clamp_min(0.0)
