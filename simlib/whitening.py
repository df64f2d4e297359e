"""Standardise, project onto principal components and whiten (paper §4.3).

Each machine's states are z-scored per coordinate, projected onto their leading principal
components and scaled to unit variance, so that every retained direction counts the same in
D_s and a D_s of 1 means "no better than predicting the mean". Constant coordinates and
directions with (numerically) zero variance are dropped: they carry no information and would
blow up under whitening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlib.errors import SimlibError

_RANK_TOL = 1e-9


@dataclass(frozen=True)
class Whitening:
    """A fitted affine map from raw states ``[n, D]`` to whitened components ``[n, k]``.

    Attributes:
        mean, std: per-coordinate statistics ``[D]`` (std = 1 for dropped coordinates).
        keep: ``[D]`` bool, the non-constant coordinates used by the PCA.
        components: ``[k, D_kept]`` orthonormal principal axes, largest variance first.
        scale: ``[k]`` standard deviation along each axis (sqrt of its eigenvalue).
        explained: ``[k]`` fraction of the standardised variance along each axis.
    """

    mean: np.ndarray
    std: np.ndarray
    keep: np.ndarray
    components: np.ndarray
    scale: np.ndarray
    explained: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, states: np.ndarray) -> np.ndarray:
        """Raw states ``[..., D]`` -> whitened ``[..., k]``."""
        standard = (np.asarray(states, dtype=np.float64) - self.mean) / self.std
        return (standard[..., self.keep] @ self.components.T) / self.scale

    def inverse(self, whitened: np.ndarray) -> np.ndarray:
        """Whitened ``[..., k]`` -> raw ``[..., D]`` on the retained subspace (dropped parts at their mean)."""
        whitened = np.asarray(whitened, dtype=np.float64)
        standard = np.zeros(whitened.shape[:-1] + self.mean.shape, dtype=np.float64)
        standard[..., self.keep] = (whitened * self.scale) @ self.components
        return standard * self.std + self.mean


def fit_whitening(states: np.ndarray, n_components: int | None = None) -> Whitening:
    """Fit on states ``[n, D]``; keep ``n_components`` axes (all informative ones if None).

    The number kept is capped by the numerical rank, so it can be smaller than asked; the
    fitted object says how many it kept. Axis signs are fixed (largest loading positive) so a
    fit is reproducible.
    """
    x = np.asarray(states, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"fit_whitening needs states [n >= 2, D], got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = sorted({int(d) for d in np.nonzero(~np.isfinite(x))[1]})
        raise SimlibError(f"fit_whitening: states hold NaN or infinite values (coordinates {bad[:8]})")
    mean = x.mean(0)
    std = x.std(0)
    keep = std > _RANK_TOL * np.maximum(1.0, np.abs(mean))
    std = np.where(keep, std, 1.0)
    standard = (x - mean)[:, keep] / std[keep]
    if standard.shape[1] == 0:
        raise ValueError("fit_whitening: every state coordinate is constant")
    eigenvalues, vectors = np.linalg.eigh(standard.T @ standard / x.shape[0])
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    rank = int(np.sum(eigenvalues > _RANK_TOL * eigenvalues[0]))
    k = rank if n_components is None else max(1, min(int(n_components), rank))
    components = vectors[:, :k].T
    signs = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
    components = components * signs[:, None]
    return Whitening(
        mean=mean,
        std=std,
        keep=keep,
        components=components,
        scale=np.sqrt(eigenvalues[:k]),
        explained=eigenvalues[:k] / eigenvalues.sum(),
    )
