"""Closed-form representation-similarity baselines (the measures of netrep and its peers).

Each compares two machines' states on the same rows, ``x [n, D_a]`` and ``y [n, D_b]`` (row
``i`` of both is one (episode, step)), in closed form, with no fitted phi and no held-out set:

* :func:`linear_cka` -- linear centred kernel alignment (Kornblith et al. 2019): 1 when the
  states are a rotation and isotropic scaling of each other, near 0 for independent states;
* :func:`procrustes_distance` -- orthogonal Procrustes distance ``min_Q ||X - Y Q||_F`` on
  centred, unit-Frobenius-norm states (the narrower one padded with zero columns), a metric
  in ``[0, sqrt(2)]``: 0 for a rotated and scaled copy;
* :func:`mean_cca` -- mean canonical correlation between the whitened states, ridge-regularised,
  over the smaller numerical rank: 1 for any invertible linear map.

They see linear relations only, and say nothing about outputs; D_s and D_o are the measures of
simulation. A new baseline is one function ``(x, y) -> float`` and one line in
:data:`BASELINES`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simlib.errors import SimlibError
from simlib.threads import blas_threads

def _centred(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 ``[n, D]`` with column means removed (checks shapes and values)."""
    x, y = (np.asarray(v, dtype=np.float64) for v in (x, y))
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise SimlibError(f"baselines compare states [n >= 2, D] on the same rows, got shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise SimlibError("baselines: the states hold NaN or inf")
    return x - x.mean(0), y - y.mean(0)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA ``||Y'X||_F^2 / (||X'X||_F ||Y'Y||_F)`` of centred states, in [0, 1] (NaN if either is constant)."""
    x, y = _centred(x, y)
    denominator = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(np.linalg.norm(y.T @ x) ** 2 / denominator) if denominator > 0 else float("nan")


def procrustes_distance(x: np.ndarray, y: np.ndarray) -> float:
    """``min over orthogonal Q of ||X - Y Q||_F = sqrt(2 - 2 ||X'Y||_*)`` for centred states scaled
    to unit Frobenius norm (zero columns pad the narrower); in [0, sqrt(2)], NaN if either is constant."""
    x, y = _centred(x, y)
    norms = np.linalg.norm(x), np.linalg.norm(y)
    if min(norms) == 0:
        return float("nan")
    nuclear = np.linalg.svd((x / norms[0]).T @ (y / norms[1]), compute_uv=False).sum()
    return float(np.sqrt(max(0.0, 2.0 - 2.0 * nuclear)))


def mean_cca(x: np.ndarray, y: np.ndarray, ridge: float = 1e-9) -> float:
    """Mean of the ``min(rank x, rank y)`` canonical correlations, in [0, 1] (NaN if either is constant).

    Each side is whitened through the eigendecomposition of its covariance: directions whose
    variance is at most ``ridge`` times the largest are dropped (this sets the rank), the others
    are scaled by ``1 / sqrt(variance + ridge * largest)`` (ridge CCA). The canonical
    correlations are the singular values of the whitened cross-covariance. Works on ``D x D``
    covariances, so wide states cost one ``n D^2`` product each.
    """
    x, y = _centred(x, y)
    whiten = [_whitening(v.T @ v, ridge) for v in (x, y)]
    if min(w.shape[1] for w in whiten) == 0:
        return float("nan")
    correlations = np.linalg.svd(whiten[0].T @ (x.T @ y) @ whiten[1], compute_uv=False)
    return float(np.clip(correlations, 0.0, 1.0).mean())


def _whitening(gram: np.ndarray, ridge: float) -> np.ndarray:
    """``[D, rank]`` map taking centred states with this ``X'X`` to ridge-whitened coordinates."""
    variances, axes = np.linalg.eigh(gram)
    floor = ridge * max(float(variances[-1]), 0.0)
    keep = variances > floor if floor > 0 else np.zeros(variances.shape, dtype=bool)
    return axes[:, keep] / np.sqrt(variances[keep] + floor)


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "cka": linear_cka,
    "procrustes": procrustes_distance,
    "cca": mean_cca,
}
"""Name -> baseline ``(x [n, D_a], y [n, D_b]) -> float``; one line per new baseline."""


def representation_baselines(states_a: np.ndarray, states_b: np.ndarray) -> dict[str, float | None]:
    """Every baseline in :data:`BASELINES` on two machines' states ``[..., D_a]``, ``[..., D_b]``
    with the same leading shape (``[E, T, D]`` traces are flattened to ``[E * T, D]`` rows), on
    one BLAS thread (:func:`simlib.threads.blas_threads`). Undefined values (a constant machine)
    are None, so the dict is JSON-ready."""
    a, b = np.asarray(states_a), np.asarray(states_b)
    if a.shape[:-1] != b.shape[:-1]:
        raise SimlibError(f"baselines compare states on the same rows, got shapes {a.shape} and {b.shape}")
    x, y = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    with blas_threads(1):
        values = {name: baseline(x, y) for name, baseline in BASELINES.items()}
    return {name: value if np.isfinite(value) else None for name, value in values.items()}
