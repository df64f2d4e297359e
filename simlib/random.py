"""Seeded sampling helpers for distributions torch cannot draw with an explicit generator."""

from __future__ import annotations

import numbers

import torch
from torch import Tensor

from simlib.errors import SimlibError

MAX_SEED = 2**62
"""Largest seed a user may give (the CLI's bound): seeds get offsets added (evaluation streams,
chunks), and the sum must still fit torch's signed 64-bit seed."""


def require_seed(seed: object, limit: int = 2**63 - 1) -> int:
    """``seed`` as an int if it is a whole number in ``[0, limit]``; else a SimlibError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= limit:
        raise SimlibError(f"a seed must be a whole number from 0 to {limit}, got {seed!r}")
    return int(seed)


def seed_from(generator: torch.Generator) -> int:
    """Draw a 62-bit seed from ``generator`` (advancing it)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())


def standard_gamma(shape: Tensor, generator: torch.Generator) -> Tensor:
    """Gamma(shape, rate 1) draws, reproducible from ``generator``; same shape and dtype as ``shape``.

    torch's gamma sampler only reads the global RNG, so it runs under a forked RNG state
    seeded from ``generator``; the caller's global RNG is left untouched.
    """
    devices = [shape.device] if shape.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed_from(generator))
        return torch._standard_gamma(shape)


def gamma(shape: float, rate: float, size: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """``size`` float64 draws from Gamma(shape, rate), on the generator's device."""
    shapes = torch.full(size, float(shape), dtype=torch.float64, device=generator.device)
    return standard_gamma(shapes, generator) / rate


def beta(a: Tensor, b: Tensor, generator: torch.Generator) -> Tensor:
    """Beta(a, b) draws as a ratio of gammas; ``a`` and ``b`` broadcast to a common shape."""
    a, b = torch.broadcast_tensors(a, b)
    x = standard_gamma(a.contiguous(), generator)
    y = standard_gamma(b.contiguous(), generator)
    return x / (x + y)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(require_seed(seed))
    return generator
