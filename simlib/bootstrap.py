"""Percentile bootstrap confidence intervals over episodes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simlib.errors import SimlibError


def bootstrap_ci(
    per_episode: np.ndarray,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float]:
    """Interval for ``statistic(mean over episodes)`` from ``per_episode [E]`` values.

    Episodes are resampled with replacement ``resamples`` times (vectorised); ``statistic``
    maps the array of resampled means to the quantity reported (e.g. ``np.abs`` for eq. 3;
    the mean itself when None).
    """
    values = np.asarray(per_episode, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise SimlibError(f"bootstrap_ci needs a non-empty 1-D sample, got shape {values.shape}")
    if not 0 < level < 1 or resamples < 1:
        raise SimlibError(f"bootstrap_ci needs a level in (0, 1) and at least one resample, got {level!r}, {resamples!r}")
    if not np.isfinite(values).all():
        raise SimlibError("bootstrap_ci: the sample holds NaN or inf")
    rows = np.random.default_rng(seed).integers(0, values.shape[0], size=(resamples, values.shape[0]))
    means = values[rows].mean(1)
    estimates = means if statistic is None else statistic(means)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(estimates, [tail, 100.0 - tail])
    return float(low), float(high)
