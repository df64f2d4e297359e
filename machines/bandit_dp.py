"""Exact Bayes-optimal action values for bandits with independent arms, by backward induction.

The return is ``sum_{t<T} discount**t * r_t`` over ``T = horizon`` pulls; all values are in
reward units (expected discounted reward from the current pull on).

Bernoulli arms, ``p_i ~ Beta(a, b)``: a dense table over the per-arm (successes, failures)
counts, axes ``[s_0, f_0, s_1, f_1, ..., action]``, each count in ``0..T``.

Gaussian arms (2 only), ``mu_i ~ N(prior_mean, prior_std**2)``, rewards ``N(mu_i, noise_std**2)``:
shifting both posterior means by ``c`` shifts every value by ``c * C_r`` (``C_r`` the discount
sum over the ``r`` remaining pulls), so the table runs over the pull counts and the difference of
the posterior means ``d = m0 - m1`` only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from numpy.polynomial.hermite_e import hermegauss

MAX_CELLS = 20_000_000
"""Largest dense Bernoulli table (cells, action axis included) that the solvers will build."""

BernoulliPolicy = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Posterior ``alpha, beta`` ``[N, arms]`` -> action probabilities ``[N, arms]`` (rows sum to 1)."""


def discount_sums(horizon: int, discount: float) -> np.ndarray:
    """``C_r = sum_{j<r} discount**j`` for ``r = 0..horizon``: ``[horizon + 1]``."""
    return np.concatenate([[0.0], np.cumsum(discount ** np.arange(horizon, dtype=np.float64))])


# Bernoulli arms


def _check_bernoulli(arms: int, horizon: int, a: float, b: float, discount: float) -> None:
    if arms < 1 or horizon < 0:
        raise ValueError(f"need arms >= 1 and horizon >= 0, got arms={arms}, horizon={horizon}")
    if a <= 0 or b <= 0:
        raise ValueError(f"Beta prior needs a, b > 0, got ({a}, {b})")
    if not 0.0 < discount <= 1.0:
        raise ValueError(f"discount must be in (0, 1], got {discount}")
    cells = (horizon + 1) ** (2 * arms) * arms
    if cells > MAX_CELLS:
        raise ValueError(
            f"the dense table for {arms} arms and horizon {horizon} has {cells:,} cells "
            f"(> {MAX_CELLS:,}); use fewer arms or a shorter horizon"
        )


def _count_axes(arms: int, horizon: int) -> list[np.ndarray]:
    """``0..T`` shaped to broadcast along each of the ``2 * arms`` count axes."""
    axes = []
    for axis in range(2 * arms):
        shape = [1] * (2 * arms)
        shape[axis] = horizon + 1
        axes.append(np.arange(horizon + 1).reshape(shape))
    return axes


def _myopic_table(arms: int, horizon: int, a: float, b: float) -> np.ndarray:
    """Posterior mean reward of every arm at every count state: ``[(T+1,)*2k + (k,)]``."""
    axes = _count_axes(arms, horizon)
    shape = (horizon + 1,) * (2 * arms)
    means = [np.broadcast_to((a + axes[2 * i]) / (a + b + axes[2 * i] + axes[2 * i + 1]), shape) for i in range(arms)]
    return np.stack(means, axis=-1)


def _states_by_level(arms: int, horizon: int) -> list[np.ndarray]:
    """Flat indices (into the count axes) of the states with ``n`` pulls, for ``n = 0..T-1``."""
    levels = sum(_count_axes(arms, horizon)).astype(np.int32)
    levels = np.broadcast_to(levels, (horizon + 1,) * (2 * arms)).ravel()
    order = np.argsort(levels, kind="stable")
    bounds = np.searchsorted(levels[order], np.arange(horizon + 1))
    return [order[bounds[n] : bounds[n + 1]] for n in range(horizon)]


def _counts_at(index: np.ndarray, arms: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Successes and failures ``[N, arms]`` of the states with flat ``index`` ``[N]``."""
    counts = np.stack(np.unravel_index(index, (horizon + 1,) * (2 * arms)), axis=1)
    return counts[:, 0::2], counts[:, 1::2]


def _bernoulli_backward(
    arms: int, horizon: int, a: float, b: float, discount: float, policy: BernoulliPolicy | None
) -> np.ndarray:
    """Action values of the optimal policy (``policy=None``) or of ``policy``; layout as the table."""
    _check_bernoulli(arms, horizon, a, b, discount)
    q = _myopic_table(arms, horizon, a, b)
    flat_q = q.reshape(-1, arms)
    value = np.zeros(flat_q.shape[0])
    strides = (horizon + 1) ** np.arange(2 * arms - 1, -1, -1)
    for index in reversed(_states_by_level(arms, horizon)):
        successes, failures = _counts_at(index, arms, horizon)
        alpha, beta = a + successes, b + failures
        p = alpha / (alpha + beta)
        after_success = value[index[:, None] + strides[0::2]]
        after_failure = value[index[:, None] + strides[1::2]]
        level_q = p * (1.0 + discount * after_success) + (1.0 - p) * discount * after_failure
        flat_q[index] = level_q
        if policy is None:
            value[index] = level_q.max(axis=1)
        else:
            value[index] = (policy(alpha, beta) * level_q).sum(axis=1)
    return q


def bernoulli_action_values(arms: int, horizon: int, a: float, b: float, discount: float = 1.0) -> np.ndarray:
    """Bayes-optimal action values ``Q[s_0, f_0, ..., s_{k-1}, f_{k-1}, action]`` (float64).

    Shape ``(T+1,)*(2*arms) + (arms,)``. Where the total count ``n < T``: the expected discounted
    return of pulling ``action`` then acting optimally for the other ``T - n - 1`` pulls. Where
    ``n >= T`` (beyond the horizon, never reached): the myopic value, the posterior mean of the arm.
    Raises ``ValueError`` past ``MAX_CELLS`` cells.
    """
    return _bernoulli_backward(arms, horizon, a, b, discount, None)


def bernoulli_expected_return(arms: int, horizon: int, a: float, b: float, discount: float = 1.0) -> float:
    """Bayes-optimal expected discounted return from the prior (reward units)."""
    if horizon == 0:
        return 0.0
    return float(bernoulli_action_values(arms, horizon, a, b, discount).reshape(-1, arms)[0].max())


def bernoulli_policy_return(
    policy: BernoulliPolicy, arms: int, horizon: int, a: float, b: float, discount: float = 1.0
) -> float:
    """Exact expected discounted return of a count-based stochastic ``policy`` from the prior."""
    if horizon == 0:
        return 0.0
    q = _bernoulli_backward(arms, horizon, a, b, discount, policy).reshape(-1, arms)[:1]
    prior = np.full((1, arms), float(a)), np.full((1, arms), float(b))
    return float((policy(*prior) * q).sum())


def greedy_policy(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Greedy on the posterior mean, ties split evenly: ``[N, arms]`` -> ``[N, arms]``."""
    means = alpha / (alpha + beta)
    best = np.isclose(means, means.max(axis=1, keepdims=True), rtol=0.0, atol=1e-12)
    return best / best.sum(axis=1, keepdims=True)


def thompson_policy(alpha: np.ndarray, beta: np.ndarray, nodes: int = 64) -> np.ndarray:
    """Thompson sampling: ``P(arm i has the largest p)`` under Beta posteriors ``[N, arms]``.

    ``int pdf_i(x) prod_{j != i} F_j(x) dx`` by Gauss-Legendre quadrature in ``theta`` with
    ``x = sin(theta)**2``, which makes the integrand smooth for integer and half-integer parameters.
    """
    from scipy.special import betainc, betaln  # deferred, like scipy.signal: scipy.special adds a quarter second to start-up

    theta, w = np.polynomial.legendre.leggauss(nodes)
    theta, w = (theta + 1.0) * math.pi / 4.0, w * math.pi / 4.0
    x = np.sin(theta) ** 2
    al, be = alpha[:, :, None], beta[:, :, None]
    log_pdf = 2.0 * (al - 1.0) * np.log(np.sin(theta)) + 2.0 * (be - 1.0) * np.log(np.cos(theta)) - betaln(al, be)
    density = np.exp(log_pdf) * np.sin(2.0 * theta)
    cdf = betainc(al, be, x)
    others = np.stack([np.prod(np.delete(cdf, i, axis=1), axis=1) for i in range(alpha.shape[1])], axis=1)
    probs = (density * others * w).sum(axis=2)
    return probs / probs.sum(axis=1, keepdims=True)


# Gaussian arms (2)


def _posterior_step_std(horizon: int, prior_std: float, noise_std: float) -> np.ndarray:
    """``s(n)``: std of the change of an arm's posterior mean at its pull ``n + 1``, ``[T + 1]``."""
    precision = 1.0 / prior_std**2 + np.arange(horizon + 2) / noise_std**2
    return np.sqrt(1.0 / precision[:-1] - 1.0 / precision[1:])


def _upper_slopes(horizon: int, discount: float) -> np.ndarray:
    """Slopes in ``d`` of the relative action values far above the grid: ``[T+1, T+1, 2]``.

    Pulling arm 0 for the ``r`` remaining pulls (``C_r``), or arm 1 once then arm 0 (``g C_{r-1}``);
    states with ``r <= 1`` (and the myopic ones beyond the horizon) use ``(1, 0)``.
    """
    sums = discount_sums(horizon, discount)
    n = np.arange(horizon + 1)
    remaining = np.clip(horizon - n[:, None] - n[None, :], 1, None)
    return np.stack([sums[remaining], discount * sums[remaining - 1]], axis=-1)


@dataclass(frozen=True)
class GaussianActionValues:
    """Bayes-optimal action values of the 2-armed Gaussian bandit, relative to ``C_r * m1``.

    ``grid`` ``[G]``: values of ``d = m0 - m1``. ``relative`` ``[T+1, T+1, G, 2]``: at pull counts
    ``(n0, n1)`` with ``r = T - n0 - n1 >= 1`` remaining, ``Q_a - C_r * m1``; where ``r <= 0`` the
    myopic values ``(d, 0)``. Reward units throughout.
    """

    grid: np.ndarray
    relative: np.ndarray
    horizon: int
    prior_mean: float
    prior_std: float
    noise_std: float
    discount: float

    def _relative_at(self, i: np.ndarray, j: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Relative values ``[B, 2]`` at integer counts ``i, j`` ``[B]``, linear in ``d`` ``[B]``."""
        grid = self.grid
        spacing = grid[1] - grid[0]
        k = np.clip(np.floor((d - grid[0]) / spacing).astype(np.int64), 0, grid.size - 2)
        t = np.clip((d - grid[k]) / spacing, 0.0, 1.0)[:, None]
        inside = (1.0 - t) * self.relative[i, j, k] + t * self.relative[i, j, k + 1]
        above = np.clip(d - grid[-1], 0.0, None)[:, None] * _upper_slopes(self.horizon, self.discount)[i, j]
        below = np.clip(d - grid[0], None, 0.0)[:, None] * np.array([1.0, 0.0])
        return inside + above + below

    def q(self, n0: ArrayLike, n1: ArrayLike, m0: ArrayLike, m1: ArrayLike) -> np.ndarray:
        """Action values ``[B, 2]`` at pull counts ``n0, n1`` and posterior means ``m0, m1`` (``[B]``, broadcast).

        Counts may be fractional: bilinear interpolation between the integer counts (clamped to
        ``[0, T]``) of the full values ``C_r * m1 + relative``; counts at or past the horizon give
        the myopic values ``(m0, m1)``.
        """
        arrays = (np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (n0, n1, m0, m1))
        n0, n1, m0, m1 = np.broadcast_arrays(*arrays)
        horizon = self.horizon
        sums = discount_sums(horizon, self.discount)
        u0, u1 = np.clip(n0, 0.0, horizon), np.clip(n1, 0.0, horizon)
        i0 = np.minimum(np.floor(u0).astype(np.int64), max(horizon - 1, 0))
        j0 = np.minimum(np.floor(u1).astype(np.int64), max(horizon - 1, 0))
        w0, w1 = u0 - i0, u1 - j0
        d = m0 - m1
        total = np.zeros((d.size, 2))
        for di, dj in ((0, 0), (1, 0), (0, 1), (1, 1)):
            i, j = np.minimum(i0 + di, horizon), np.minimum(j0 + dj, horizon)
            weight = (w0 if di else 1.0 - w0) * (w1 if dj else 1.0 - w1)
            scale = sums[np.clip(horizon - i - j, 1, None)] if horizon else np.ones_like(d)  # C_r, myopic: 1
            total += weight[:, None] * (self._relative_at(i, j, d) + (scale * m1)[:, None])
        return total

    def expected_return(self) -> float:
        """Bayes-optimal expected discounted return from the prior: ``C_T mu0 + W(0, 0, 0)``."""
        if self.horizon == 0:
            return 0.0
        mean = np.array([self.prior_mean])
        return float(self.q(np.zeros(1), np.zeros(1), mean, mean).max())


Expectation = Callable[[np.ndarray, float, float], np.ndarray]
"""``(W [G], slope above the grid, step std s) -> E_Z W(grid + s Z)`` ``[G]``."""


def _hermite_expectation(grid: np.ndarray, nodes: int) -> Expectation:
    """``E_Z`` by ``nodes``-point Gauss-Hermite quadrature of the linear interpolant (``np.interp``)."""
    z, weights = hermegauss(nodes)
    weights = weights / weights.sum()

    def expectation(w: np.ndarray, slope: float, step: float) -> np.ndarray:
        points = grid[:, None] + step * z
        values = np.interp(points, grid, w) + slope * np.clip(points - grid[-1], 0.0, None)
        return values @ weights

    return expectation


def _gaussian_call(x: np.ndarray, step: float) -> np.ndarray:
    """``E[(x + step Z)_+]`` for ``Z ~ N(0, 1)``, elementwise."""
    u = x / step
    from scipy.special import ndtr

    return x * ndtr(u) + step * np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


def _hat_kernel(step: float, spacing: float, reach: float) -> np.ndarray:
    """``E[hat(m h + step Z)]`` for ``|m| <= reach * step / h``: ``[2L + 1]``.

    ``hat`` is the linear-interpolation basis function of half-width ``h = spacing``; the kernel
    maps the node values of a piecewise-linear function to its exact Gaussian expectations.
    """
    half = max(1, math.ceil(reach * step / spacing))
    c = spacing * np.arange(-half, half + 1)
    calls = _gaussian_call(c + spacing, step), _gaussian_call(c, step), _gaussian_call(c - spacing, step)
    return (calls[0] - 2.0 * calls[1] + calls[2]) / spacing


def _exact_expectation(grid: np.ndarray, reach: float = 9.0) -> Expectation:
    """``E_Z`` of the linear interpolant, exactly: a discrete convolution with ``_hat_kernel``.

    Outside the grid the interpolant follows the asymptotes (flat below, ``slope`` above), which
    are linear, so padding the node values with them keeps the convolution exact.
    """
    from scipy.signal import convolve  # deferred: scipy.signal adds about a second to every start-up

    spacing = grid[1] - grid[0]
    kernels: dict[float, np.ndarray] = {}

    def expectation(w: np.ndarray, slope: float, step: float) -> np.ndarray:
        if step not in kernels:
            kernels[step] = _hat_kernel(step, spacing, reach)
        kernel = kernels[step]
        half = kernel.size // 2
        padded = np.concatenate([np.full(half, w[0]), w, w[-1] + slope * spacing * np.arange(1, half + 1)])
        return convolve(padded, kernel, mode="valid")

    return expectation


def _solve_relative(
    horizon: int, prior_std: float, noise_std: float, discount: float, grid: np.ndarray, expectation: Expectation
) -> np.ndarray:
    """Backward induction on ``W(n0, n1, d)``; returns the relative action values ``[T+1, T+1, G, 2]``."""
    steps = _posterior_step_std(horizon, prior_std, noise_std)
    sums = discount_sums(horizon, discount)
    relative = np.zeros((horizon + 1, horizon + 1, grid.size, 2))
    relative[..., 0] = grid
    w = np.zeros((horizon + 1, horizon + 1, grid.size))
    for n in range(horizon - 1, -1, -1):
        child_slope = sums[horizon - n - 1]
        for n0 in range(n + 1):
            n1 = n - n0
            pull0 = grid + discount * expectation(w[n0 + 1, n1], child_slope, steps[n0])
            pull1 = discount * expectation(w[n0, n1 + 1], child_slope, steps[n1])
            relative[n0, n1, :, 0], relative[n0, n1, :, 1] = pull0, pull1
            w[n0, n1] = np.maximum(pull0, pull1)
    return relative


def _check_gaussian(
    horizon: int, prior_std: float, noise_std: float, discount: float, arms: int, grid_size: int, width: float
) -> None:
    if arms != 2:
        raise ValueError(f"the Gaussian solver handles exactly 2 arms, got {arms}")
    if horizon < 0 or prior_std <= 0 or noise_std <= 0 or not 0.0 < discount <= 1.0:
        raise ValueError(
            f"need horizon >= 0, positive standard deviations and discount in (0, 1]; got horizon={horizon}, "
            f"prior_std={prior_std}, noise_std={noise_std}, discount={discount}"
        )
    if grid_size < 3 or width <= 0:
        raise ValueError(f"need grid_size >= 3 and width > 0, got {grid_size} and {width}")


def gaussian_action_values(
    horizon: int,
    prior_mean: float = 0.0,
    prior_std: float = 1.0,
    noise_std: float = 1.0,
    discount: float = 1.0,
    grid_size: int = 1201,
    quadrature_nodes: int | None = None,
    width: float = 6.0,
    extrapolate: bool = True,
    arms: int = 2,
) -> GaussianActionValues:
    """Bayes-optimal action values of the 2-armed Gaussian bandit by backward induction on ``W``.

    ``W(n0, n1, d) = max(d + g E W(n0+1, n1, d + s(n0) Z), g E W(n0, n1+1, d - s(n1) Z))``, ``W = 0``
    at ``r = 0``, on a uniform grid of ``grid_size`` values of ``d`` spanning ``+-width`` prior
    standard deviations of ``d`` (``sqrt(2) prior_std``); ``W`` is interpolated linearly and
    extrapolated by its asymptotes (flat below, slope ``C_r`` above).

    ``E_Z``: exact Gaussian expectation of the interpolant (``quadrature_nodes=None``), or
    Gauss-Hermite quadrature with that many nodes. The exact scheme's error is ``O(h**2)`` in the
    grid spacing; ``extrapolate`` (Richardson) also solves on the grid with half the spacing and
    returns ``(4 fine - coarse) / 3`` at the ``grid_size`` nodes. With the defaults at T = 20
    (``benchmarks/bandit_dp.py``): expected return within about 4e-6, ``q`` between the grid nodes
    within about 3e-4 (linear interpolation in ``d``), built in about 0.1 s. The Gauss-Hermite
    variant's errors stay at 1e-4 to 1e-3 as grid and nodes grow: the piecewise-linear interpolant
    is not the smooth function the quadrature rule is built for.
    """
    _check_gaussian(horizon, prior_std, noise_std, discount, arms, grid_size, width)
    half = width * math.sqrt(2.0) * prior_std
    sizes = (grid_size, 2 * grid_size - 1) if extrapolate else (grid_size,)
    solutions = []
    for size in sizes:
        grid = np.linspace(-half, half, size)
        if quadrature_nodes is None:
            expectation = _exact_expectation(grid)
        else:
            expectation = _hermite_expectation(grid, quadrature_nodes)
        solutions.append(_solve_relative(horizon, prior_std, noise_std, discount, grid, expectation))
    relative = solutions[0]
    if extrapolate:
        relative = (4.0 * solutions[1][:, :, ::2] - solutions[0]) / 3.0
    grid = np.linspace(-half, half, grid_size)
    return GaussianActionValues(grid, relative, horizon, prior_mean, prior_std, noise_std, discount)
