"""Resampling over episodes: percentile bootstrap intervals, paired sign-flip permutation tests,
and the warning a report carries when either rests on few episodes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simlib.errors import SimlibError
from simlib.threads import blas_threads


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


FEW_EPISODES = 30
"""Below this many episodes an interval or a p-value rests on too few samples to trust."""


def sign_flip_p_value(
    real: np.ndarray, control: np.ndarray, flips: int = 2000, seed: int = 0
) -> float:
    """One-sided paired permutation (sign-flip) test that ``real`` is below ``control``.

    ``real [E]`` and ``control [E]`` are per-episode dissimilarities of the same episodes
    (e.g. D_s of the fitted phi and of the shuffled-pairing phi). Under the null hypothesis
    the two are exchangeable within each episode, so every per-episode difference
    ``control - real`` is as likely negated; p is the share of sign patterns whose mean
    difference is at least the observed one. With ``2**E <= flips`` every pattern is
    enumerated (exact, smallest p ``2**-E``); otherwise ``flips`` random patterns are drawn
    (seeded) and ``p = (1 + hits) / (1 + flips)``, never 0. Identical arrays give p = 1.
    """
    real, control = np.asarray(real, dtype=np.float64), np.asarray(control, dtype=np.float64)
    if real.ndim != 1 or real.size == 0 or real.shape != control.shape:
        raise SimlibError(f"sign_flip_p_value needs two non-empty 1-D samples of one length, got {real.shape}, {control.shape}")
    difference = control - real
    if not np.isfinite(difference).all():
        raise SimlibError("sign_flip_p_value: the samples hold NaN or inf")
    if flips < 1:
        raise SimlibError(f"sign_flip_p_value needs at least one flip, got {flips!r}")
    n = difference.size
    observed = difference.mean()
    tolerance = 1e-12 * max(1.0, float(np.abs(difference).max()))
    exact = n < 63 and 2**n <= flips
    total = 2**n if exact else flips
    rng = np.random.default_rng(seed)
    hits, chunk = 0, max(1, 2**22 // n)
    for start in range(0, total, chunk):
        size = min(chunk, total - start)
        if exact:
            codes = np.arange(start, start + size)[:, None] >> np.arange(n)
            signs = 1.0 - 2.0 * (codes & 1)
        else:
            signs = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
        hits += int(np.count_nonzero(signs @ difference / n >= observed - tolerance))
    return hits / total if exact else (1 + hits) / (1 + flips)


def few_samples_warning(count: int, what: str, consequence: str, minimum: int = FEW_EPISODES) -> list[str]:
    """``["only {count} {what} (fewer than {minimum}): {consequence}"]`` when ``count < minimum``, else ``[]``."""
    return [f"only {count} {what} (fewer than {minimum}): {consequence}"] if count < minimum else []


def paired_p_values(
    real: dict[str, np.ndarray | None], control: dict[str, np.ndarray | None], flips: int = 2000, seed: int = 0
) -> dict[str, float | None]:
    """:func:`sign_flip_p_value` of each measure (``{"d_s": [E], ...}``) that both sides hold (else
    None), on one BLAS thread (:func:`simlib.threads.blas_threads`)."""
    with blas_threads(1):
        return {
            name: None if values is None or control.get(name) is None else sign_flip_p_value(values, control[name], flips, seed)
            for name, values in real.items()
        }
