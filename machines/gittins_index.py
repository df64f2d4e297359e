"""Gittins indices of Bernoulli (Beta posterior) and Normal (known variance) arms, by calibration.

An arm's Gittins index is the retirement reward ``lam`` per step at which one is indifferent
between retiring for ever (worth ``lam / (1 - gamma)``) and pulling the arm at least once more,
then continuing optimally. For a given ``lam`` that choice is a one-armed optimal stopping
problem, solved by backward induction over the posterior states below the arm's state; the index
is the root in ``lam`` of "continue minus retire" at the arm's state.

* :func:`gittins_bernoulli` -- posterior Beta(a, b) over the success probability; index in reward
  units, between a / (a + b) and 1; absolute error below 1e-6. The tree of states
  ``Beta(a + i, b + j)`` is cut at depth ``N = ceil(0.5 ln(1 / tol) / (1 - gamma))`` (70, 139 and
  691 for gamma = 0.9, 0.95, 0.99). The cut is solved twice: with value ``max(lam, p) / (1 - gamma)``
  at depth N (no more learning: a lower bound on the index) and with ``E max(lam, theta) / (1 - gamma)``
  (the success probability revealed: an upper bound). The result is the midpoint, and N is doubled
  for any state whose bounds lie more than tol apart, so the truncation error is certified. The
  root in ``lam`` is found by Newton's method: "continue minus retire" is convex and decreasing in
  ``lam`` with slope at most -1, so iterates started below the root stay below it and the gap
  bounds the remaining error. Starts come from the cuts at N / 8 and N / 4 (shallower cuts give
  lower indices). All states are solved at once: the induction runs on arrays
  ``[tree diagonal, states]``.
* :func:`gittins_normal` -- the standardised index nu(n, gamma) of a Normal arm with observation
  variance 1 and posterior N(0, 1 / n) over its mean; the arm with posterior mean m, noise sd
  sigma and precision worth n observations has index ``m + sigma * nu(n, gamma)``. Absolute error
  below 1e-4 (about 1e-5 in practice). Translation invariance removes ``lam``: in ``x = m - lam``
  the excess of the optimal value over retiring, ``W_n(x) = max(0, x + gamma E W_{n+1}(x + s_n Z))``
  with ``s_n = sqrt(1/n - 1/(n+1))``, is one function per n, and ``-nu(n)`` is the root of the
  continuation term ``x + gamma E W_{n+1}(x + s_n Z)``. ``W_n`` is kept on a dyadic lattice in x
  with step at most ``s_n / 64``. The predictive expectation is computed exactly for the
  piecewise-linear interpolant (interpolant plus a short convolution of its kinks with
  ``s psi(|u| / s)``, ``psi(u) = E (Z - u)^+``) instead of by Gauss-Hermite quadrature, whose
  nodes straddle the kink of ``W`` at the retirement boundary and err by about 1e-3. The
  recursion is cut at the same depth N as above (tolerance 1e-6) with the no-more-learning value.

Results are cached per (state, gamma), so repeated calls are free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import numpy as np

__all__ = ["gittins_bernoulli", "gittins_bernoulli_table", "gittins_normal"]

BERNOULLI_TOL = 1e-6
TRUNCATION_TOL = 1e-6  # sets the depth of both recursions
LATTICE_POINTS_PER_STEP = 64  # Normal arm: lattice steps per predictive sd s_n
RIGHT_REACH = 6.0  # Normal arm: the lattice ends this many posterior sd above the retirement reward
KERNEL_REACH = 7.0  # psi(u) < 1e-13 beyond this many predictive sd
CHUNK = 256  # Bernoulli states solved together
MAX_DOUBLINGS = 4

Terminal = Callable[[np.ndarray, np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]

_BERNOULLI_CACHE: dict[Hashable, float] = {}
_NORMAL_CACHE: dict[Hashable, float] = {}


def gittins_bernoulli(a: np.ndarray | float, b: np.ndarray | float, gamma: float) -> np.ndarray | float:
    """Gittins index of a Bernoulli arm with posterior Beta(a, b), in reward units per step.

    ``a``, ``b``: positive reals, broadcast together; ``gamma`` in (0, 1). Returns an array of the
    broadcast shape, or a float when both are scalars. Absolute error below 1e-6.
    """
    gamma = _check_gamma(gamma)
    a_arr, b_arr = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    if not (np.all(a_arr > 0) and np.all(b_arr > 0) and np.all(np.isfinite(a_arr + b_arr))):
        raise ValueError("a and b must be positive and finite")
    keys = [(x, y, gamma) for x, y in zip(a_arr.ravel().tolist(), b_arr.ravel().tolist(), strict=True)]
    values = _cached(_BERNOULLI_CACHE, keys, _solve_bernoulli_keys).reshape(a_arr.shape)
    return float(values) if values.ndim == 0 else values


def gittins_bernoulli_table(a0: float, b0: float, horizon: int, gamma: float) -> np.ndarray:
    """Indices of every state reachable in ``horizon`` pulls from Beta(a0, b0).

    Returns ``[horizon + 1, horizon + 1]``: entry ``[s, f]`` is the index of Beta(a0 + s, b0 + f)
    for ``s + f <= horizon`` and NaN elsewhere.
    """
    if horizon < 0:
        raise ValueError("horizon must be non-negative")
    s, f = np.meshgrid(np.arange(horizon + 1), np.arange(horizon + 1), indexing="ij")
    reachable = s + f <= horizon
    table = np.full(s.shape, np.nan)
    table[reachable] = gittins_bernoulli(a0 + s[reachable], b0 + f[reachable], gamma)
    return table


def gittins_normal(n: np.ndarray | float, gamma: float) -> np.ndarray | float:
    """Standardised Gittins index nu(n, gamma) of a Normal arm with known observation variance 1.

    ``n``: posterior precision in observations (> 0, any shape); ``gamma`` in (0, 1). The arm with
    posterior mean m, noise sd sigma and precision worth n observations has index
    ``m + sigma * nu(n, gamma)``. Returns an array of ``n``'s shape, or a float for a scalar.
    Absolute error below 1e-4.
    """
    gamma = _check_gamma(gamma)
    n_arr = np.asarray(n, dtype=float)
    if not (np.all(n_arr > 0) and np.all(np.isfinite(n_arr))):
        raise ValueError("n must be positive and finite")
    keys = [(x, gamma) for x in n_arr.ravel().tolist()]
    values = _cached(_NORMAL_CACHE, keys, _solve_normal_keys).reshape(n_arr.shape)
    return float(values) if values.ndim == 0 else values


def _check_gamma(gamma: float) -> float:
    gamma = float(gamma)
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"gamma must lie in (0, 1), got {gamma}")
    return gamma


def _cached(cache: dict[Hashable, float], keys: list[tuple], solve: Callable[[list[tuple]], np.ndarray]) -> np.ndarray:
    """Values ``[len(keys)]`` for ``keys``, solving only the distinct keys not yet in ``cache``."""
    missing = list(dict.fromkeys(key for key in keys if key not in cache))
    if missing:
        cache.update(zip(missing, solve(missing).tolist(), strict=True))
    return np.array([cache[key] for key in keys], dtype=float)


def _truncation_depth(gamma: float, tol: float) -> int:
    """Depth N at which a posterior recursion is cut: ``ceil(0.5 ln(1 / tol) / (1 - gamma))``."""
    return max(4, math.ceil(0.5 * math.log(1.0 / tol) / (1.0 - gamma)))


# ----------------------------------------------------------------------------- Bernoulli arm


def _solve_bernoulli_keys(keys: list[tuple[float, float, float]]) -> np.ndarray:
    """Indices ``[len(keys)]`` for keys ``(a, b, gamma)``, grouped by gamma and solved in chunks."""
    out = np.empty(len(keys))
    by_gamma: dict[float, list[int]] = {}
    for i, key in enumerate(keys):
        by_gamma.setdefault(key[2], []).append(i)
    for gamma, rows in by_gamma.items():
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            a = np.array([keys[i][0] for i in chunk])
            b = np.array([keys[i][1] for i in chunk])
            out[chunk] = _bernoulli_index(a, b, gamma)
    return out


def _bernoulli_index(a: np.ndarray, b: np.ndarray, gamma: float, tol: float = BERNOULLI_TOL,
                     depth: int | None = None) -> np.ndarray:
    """Uncached indices ``[T]`` of Beta(a, b) (``a``, ``b``: ``[T]``) with certified error below tol / 2.

    Starts at ``depth`` (default: from TRUNCATION_TOL) and doubles it, up to MAX_DOUBLINGS times,
    for the states whose lower and upper bounds lie more than ``tol`` apart.
    """
    depth = depth or _truncation_depth(gamma, min(tol, TRUNCATION_TOL))
    lower, upper = _bernoulli_bounds(a, b, gamma, depth, tol)
    for _ in range(MAX_DOUBLINGS):
        loose = upper - lower > tol
        if not loose.any():
            break
        depth *= 2
        lower[loose], upper[loose] = _bernoulli_bounds(a[loose], b[loose], gamma, depth, tol)
    return 0.5 * (lower + upper)


def _bernoulli_bounds(a: np.ndarray, b: np.ndarray, gamma: float, depth: int,
                      tol: float = BERNOULLI_TOL) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds ``[T]`` on the indices from the tree cut at ``depth``."""
    lam = a / (a + b)
    for level in (max(depth // 8, 1), max(depth // 4, 1), depth):
        lam = _newton(a, b, lam, gamma, level, _no_learning_terminal, tol)
    upper = _newton(a, b, lam, gamma, depth, _full_information_terminal, tol)
    return lam, upper


def _newton(a: np.ndarray, b: np.ndarray, start: np.ndarray, gamma: float, depth: int,
            terminal: Terminal, tol: float) -> np.ndarray:
    """Root ``[T]`` in lam of continue-minus-retire, from ``start`` below it, to within tol / 1000."""
    lam = start.copy()
    active = np.arange(len(lam))
    for _ in range(100):
        gap, slope = _continue_minus_retire(a[active], b[active], lam[active], gamma, depth, terminal)
        unconverged = gap > 1e-3 * tol  # the slope is at most -1, so lam is within gap of the root
        active, gap, slope = active[unconverged], gap[unconverged], slope[unconverged]
        if active.size == 0:
            return lam
        lam[active] -= gap / slope
    raise RuntimeError("Newton's method on the retirement reward did not converge")


def _continue_minus_retire(a: np.ndarray, b: np.ndarray, lam: np.ndarray, gamma: float, depth: int,
                           terminal: Terminal) -> tuple[np.ndarray, np.ndarray]:
    """Pulling once then acting optimally, minus retiring, at Beta(a, b), and its lam-derivative.

    Backward induction over the diagonals of the posterior tree: row j of the depth-d arrays
    ``[d + 1, T]`` is the state Beta(a + j, b + d - j). Returns two ``[T]`` arrays.
    """
    retire_value = lam / (1.0 - gamma)
    retire_slope = 1.0 / (1.0 - gamma)
    successes = np.arange(depth + 1.0)[:, None]
    value, slope = terminal(a + successes, b + depth - successes, lam, gamma)
    for d in range(depth - 1, -1, -1):
        p = (a + successes[:d + 1]) / (a + b + d)
        pull_value = gamma * (value[:-1] + p * (value[1:] - value[:-1])) + p
        pull_slope = gamma * (slope[:-1] + p * (slope[1:] - slope[:-1]))
        if d == 0:
            return pull_value[0] - retire_value, pull_slope[0] - retire_slope
        retire = pull_value <= retire_value
        value = np.maximum(pull_value, retire_value, out=pull_value)
        slope = np.where(retire, retire_slope, pull_slope)
    raise ValueError("depth must be at least 1")


def _no_learning_terminal(a: np.ndarray, b: np.ndarray, lam: np.ndarray,
                          gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Value ``max(lam, p) / (1 - gamma)`` at Beta(a, b) and its lam-derivative: below the true value."""
    p = a / (a + b)
    return np.maximum(lam, p) / (1.0 - gamma), np.where(lam >= p, 1.0 / (1.0 - gamma), 0.0)


def _full_information_terminal(a: np.ndarray, b: np.ndarray, lam: np.ndarray,
                               gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Value ``E max(lam, theta) / (1 - gamma)``, theta ~ Beta(a, b), and its lam-derivative:
    above the true value."""
    from scipy import special  # deferred, like scipy.signal: scipy.special adds a quarter second to start-up

    below = special.betainc(a, b, lam)
    # I_lam(a + 1, b) = I_lam(a, b) - lam^a (1 - lam)^b / (a B(a, b))
    step = np.exp(a * np.log(lam) + b * np.log1p(-lam) - special.betaln(a, b) - np.log(a))
    mean_above = a / (a + b) * (1.0 - below + step)
    return (lam * below + mean_above) / (1.0 - gamma), below / (1.0 - gamma)


# ----------------------------------------------------------------------------- Normal arm


def _solve_normal_keys(keys: list[tuple[float, float]]) -> np.ndarray:
    """Indices ``[len(keys)]`` for keys ``(n, gamma)``; precisions a whole number apart share a recursion."""
    out = np.empty(len(keys))
    groups: dict[tuple[float, float], list[int]] = {}
    for i, (n, gamma) in enumerate(keys):
        groups.setdefault((round(n % 1.0, 9) % 1.0, gamma), []).append(i)
    for (_, gamma), rows in groups.items():
        depth = _truncation_depth(gamma, TRUNCATION_TOL)
        for chain in _chains(sorted(rows, key=keys.__getitem__), keys, depth):
            n0 = keys[chain[0]][0]
            offsets = np.array([round(keys[i][0] - n0) for i in chain])
            out[chain] = _normal_chain(n0, offsets, gamma, depth)
    return out


def _chains(rows: list[int], keys: list[tuple[float, float]], span: int) -> list[list[int]]:
    """Split ``rows`` (sorted by n) into runs whose n lie within ``span`` of the run's first n."""
    chains: list[list[int]] = []
    for i in rows:
        if chains and keys[i][0] - keys[chains[-1][0]][0] <= span:
            chains[-1].append(i)
        else:
            chains.append([i])
    return chains


def _normal_chain(n0: float, offsets: np.ndarray, gamma: float, depth: int,
                  points_per_step: float = LATTICE_POINTS_PER_STEP, full_information: bool = False) -> np.ndarray:
    """Uncached nu(n0 + k, gamma) ``[K]`` for integer ``offsets`` k ``[K]`` (>= 0), in one recursion.

    The recursion runs from precision ``n0 + max(offsets) + depth`` down to n0. Its last stage is
    closed-form: no learning after it (lower bound) or, with ``full_information``, the mean
    revealed after it (upper bound).
    """
    u_plus = _one_step_full_information_root(gamma)
    last = int(offsets.max()) + depth - 1
    lattice = _Lattice.for_precision(n0 + last, u_plus, points_per_step)
    spread = 1.0 / math.sqrt(n0 + last) if full_information else _predictive_sd(n0 + last)
    excess = np.maximum(0.0, lattice.x + gamma / (1.0 - gamma) * spread * _psi(-lattice.x / spread))
    wanted = set(offsets.tolist())
    nu: dict[int, float] = {}
    for k in range(last - 1, -1, -1):
        stage = _Lattice.for_precision(n0 + k, u_plus, points_per_step)
        step = _Step(lattice, excess, stage, _predictive_sd(n0 + k), gamma)
        if k in wanted:
            nu[k] = -step.continuation_root()
        lattice, excess = stage, np.maximum(0.0, step.continuation())[::step.ratio]
    return np.array([nu[k] for k in offsets.tolist()])


def _predictive_sd(n: float) -> float:
    """sd of the move of the posterior mean after one more observation at precision n."""
    return math.sqrt(1.0 / n - 1.0 / (n + 1.0))


def _psi(u: np.ndarray | float) -> np.ndarray:
    """``E (Z - u)^+`` for standard normal Z, elementwise."""
    u = np.asarray(u, dtype=float)
    from scipy import special

    return np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi) - u * special.ndtr(-u)


def _full_information_excess(u: float, gamma: float) -> float:
    return u * (1.0 - gamma) - gamma * float(_psi(u))


def _one_step_full_information_root(gamma: float) -> float:
    """u with ``u (1 - gamma) = gamma psi(u)``: the index with the mean revealed after one pull,
    ``u / sqrt(n)``, bounds nu(n) from above."""
    from scipy import optimize  # deferred, as below: scipy.optimize and scipy.signal add about a second to start-up

    return optimize.brentq(_full_information_excess, 0.0, 100.0, args=(gamma,), xtol=1e-12)


class _Lattice:
    """Points ``x = k h``, ``k = lo..hi``; h is a power of 2."""

    def __init__(self, h: float, lo: int, hi: int) -> None:
        self.h, self.lo, self.hi = h, lo, hi
        self.x = np.arange(lo, hi + 1) * h

    @classmethod
    def for_precision(cls, n: float, u_plus: float, points_per_step: float) -> _Lattice:
        """Step at most ``s_n / points_per_step``, covering [-u_plus / sqrt(n), RIGHT_REACH / sqrt(n)]:
        all of it below ``-nu(n)`` lies in the retirement region."""
        h = 2.0 ** -math.ceil(math.log2(points_per_step / _predictive_sd(n)))
        lo = math.floor(-u_plus / math.sqrt(n) / h)
        return cls(h, lo, max(lo + 2, math.ceil(RIGHT_REACH / math.sqrt(n) / h)))

    def refined(self, h: float) -> _Lattice:
        """The same interval on the finer lattice of step h (a power-of-2 fraction of self.h)."""
        ratio = round(self.h / h)
        return _Lattice(h, self.lo * ratio, self.hi * ratio)


class _Step:
    """One backward step ``W_{n+1} -> x + gamma E W_{n+1}(x + s Z)``.

    ``W_{n+1}`` is piecewise linear through ``values`` on ``source``, 0 left of it (retirement)
    and of slope 1 / (1 - gamma) right of it. The continuation is evaluated on ``target`` refined
    to the source step (``ratio`` fine points per target point), where the expectation of the
    interpolant is exact: the interpolant plus its kinks convolved with ``s psi(|u| / s)``.
    """

    def __init__(self, source: _Lattice, values: np.ndarray, target: _Lattice, s: float, gamma: float) -> None:
        self.fine = target.refined(source.h)
        self.ratio = round(target.h / source.h)
        self.s, self.gamma = s, gamma
        k = np.arange(self.fine.lo, self.fine.hi + 1)
        self.interpolant = np.interp(k, np.arange(source.lo, source.hi + 1), values, left=0.0, right=np.nan)
        beyond = k > source.hi
        self.interpolant[beyond] = values[-1] + (k[beyond] - source.hi) * source.h / (1.0 - gamma)
        inside = np.diff(self.interpolant) / source.h
        self.kinks = np.diff(np.concatenate([[0.0], inside, [1.0 / (1.0 - gamma)]]))
        reach = math.ceil(KERNEL_REACH * s / source.h)
        kernel = s * _psi(np.abs(np.arange(-reach, reach + 1)) * source.h / s)
        from scipy import signal

        self.expected = self.interpolant + signal.oaconvolve(np.pad(self.kinks, reach), kernel, mode="valid")

    def continuation(self) -> np.ndarray:
        """``x + gamma E W_{n+1}(x + s Z)`` on the fine lattice: ``[fine points]``."""
        return self.fine.x + self.gamma * self.expected

    def continuation_at(self, x: float) -> float:
        """``x + gamma E W_{n+1}(x + s Z)`` at any x inside the lattice."""
        interpolant = np.interp(x, self.fine.x, self.interpolant)
        kinks = self.s * np.dot(self.kinks, _psi(np.abs(self.fine.x - x) / self.s))
        return float(x + self.gamma * (interpolant + kinks))

    def continuation_root(self) -> float:
        """The x where the continuation (increasing, slope >= 1) crosses 0."""
        i = int(np.searchsorted(self.continuation(), 0.0, side="right"))
        if i == 0 or i == self.fine.x.size:
            raise RuntimeError("the retirement boundary fell outside the lattice")
        lo, hi = self.fine.x[max(i - 2, 0)], self.fine.x[min(i + 1, self.fine.x.size - 1)]
        from scipy import optimize

        return optimize.brentq(self.continuation_at, lo, hi, xtol=1e-13)
