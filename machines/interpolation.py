"""Multilinear interpolation of values known on an integer lattice (count states, masks).

Bayes agents keep counts; embedded states (``phi(s_N)`` in a simulation) are not integers, so
every lattice-valued function is read between its lattice points by multilinear interpolation,
exact on the lattice itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

Lookup = Callable[[Tensor], Tensor]
"""Integer lattice points ``[N, d]`` (int64) -> values ``[N, k]`` float64."""


def multilinear(lookup: Lookup, points: Tensor, upper: Tensor | None = None) -> Tensor:
    """Interpolate ``lookup`` at real ``points [B, d]`` from the ``2**d`` surrounding lattice points -> ``[B, k]``.

    Points are clamped below at 0 (and above at ``upper [d]``, the largest lattice coordinates,
    when given). Points already on the lattice are looked up directly.
    """
    points = points.to(torch.float64).clamp_min(0.0)
    if upper is not None:
        points = torch.minimum(points, upper.to(points))
    rounded = points.round()
    if torch.equal(rounded, points):
        return lookup(rounded.long())
    dims = points.shape[1]
    low = points.floor().long()
    if upper is not None:
        low = torch.minimum(low, (upper.long() - 1).clamp_min(0))
    frac = (points - low).clamp(0.0, 1.0)
    result = None
    for corner in range(2**dims):
        bits = torch.tensor([(corner >> i) & 1 for i in range(dims)], device=points.device)
        weight = torch.where(bits.bool(), frac, 1.0 - frac).prod(dim=1)
        if not bool((weight > 0).any()):
            continue
        values = weight[:, None] * lookup(low + bits)
        result = values if result is None else result + values
    return result


def dense_lookup(table: Tensor) -> Lookup:
    """The lookup of a dense table ``[n_1, ..., n_d, k]`` indexed by lattice points ``[N, d]``."""
    dims = table.dim() - 1
    strides = [int(np.prod(table.shape[i + 1 : dims])) for i in range(dims)]
    flat = table.reshape(-1, table.shape[-1])

    def lookup(points: Tensor) -> Tensor:
        index = sum(points[:, i] * strides[i] for i in range(dims))
        return flat.to(points.device)[index]

    return lookup


def dense_upper(table: Tensor, dims: int) -> Tensor:
    """The largest lattice coordinates of a dense table's first ``dims`` axes."""
    return torch.tensor([n - 1 for n in table.shape[:dims]], dtype=torch.float64)
