"""Exact Bayes-optimal action values for two independent Bernoulli arms at long horizons.

The dense table of :mod:`simlib.machines.bandit_dp` has ``(T + 1)**4`` cells per action (1.6 GB
at Wang et al.'s T = 100); only the count states with ``s0 + f0 + s1 + f1 <= T`` are reachable,
``C(T + 4, 4)`` of them (4.6 million at T = 100). This module stores exactly those, layer by
layer (layer n = the states after n pulls), and ranks a state within its layer in closed form:

    rank(s0, f0, s1; n) = Tet(n + 1) - Tet(n + 1 - s0) + Tri(m + 1) - Tri(m + 1 - f0) + s1,

with ``m = n - s0``, ``Tri(k) = k (k + 1) / 2``, ``Tet(k) = k (k + 1) (k + 2) / 6`` (``f1`` is
implied by n). Values are in reward units: the expected discounted reward from the current pull
on, as in the dense table; past the horizon they are the myopic posterior means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _tri(k: np.ndarray) -> np.ndarray:
    return k * (k + 1) // 2


def _tet(k: np.ndarray) -> np.ndarray:
    return k * (k + 1) * (k + 2) // 6


def layer_rank(s0: np.ndarray, f0: np.ndarray, s1: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Index of count state ``(s0, f0, s1, n - s0 - f0 - s1)`` within layer ``n`` (int64 arrays)."""
    m = n - s0
    return _tet(n + 1) - _tet(n + 1 - s0) + _tri(m + 1) - _tri(m + 1 - f0) + s1


def layer_states(n: int) -> np.ndarray:
    """Every count state ``(s0, f0, s1, f1)`` with total ``n``, in rank order: ``[Tet(n + 1), 4]``."""
    s0, f0, s1 = np.meshgrid(*(np.arange(n + 1),) * 3, indexing="ij")
    keep = s0 + f0 + s1 <= n
    s0, f0, s1 = s0[keep], f0[keep], s1[keep]
    return np.stack([s0, f0, s1, n - s0 - f0 - s1], axis=1)


@dataclass(frozen=True)
class TwoArmTable:
    """Action values of every reachable count state: ``values[offsets[n] + rank] -> [2]``."""

    horizon: int
    a: float
    b: float
    values: np.ndarray
    offsets: np.ndarray

    def lookup(self, counts: np.ndarray) -> np.ndarray:
        """Action values ``[N, 2]`` at integer count states ``[N, 4]`` (``s0, f0, s1, f1``).

        States with ``T`` or more pulls get the myopic posterior means.
        """
        counts = np.asarray(counts, dtype=np.int64)
        s0, f0, s1, f1 = counts.T
        n = counts.sum(axis=1)
        inside = n < self.horizon
        result = np.stack([(self.a + s0) / (self.a + self.b + s0 + f0), (self.a + s1) / (self.a + self.b + s1 + f1)], 1)
        if inside.any():
            index = self.offsets[n[inside]] + layer_rank(s0[inside], f0[inside], s1[inside], n[inside])
            result[inside] = self.values[index]
        return result


def two_arm_action_values(horizon: int, a: float = 1.0, b: float = 1.0, discount: float = 1.0) -> TwoArmTable:
    """Backward induction over the reachable count states of two Beta(a, b) Bernoulli arms."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if not (a > 0 and b > 0):
        raise ValueError(f"Beta prior needs a, b > 0, got ({a}, {b})")
    sizes = np.array([int(_tet(np.int64(n + 1))) for n in range(horizon)], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    values = np.empty((int(offsets[-1]), 2), dtype=np.float64)
    following = np.zeros(int(_tet(np.int64(horizon + 1))))
    for n in range(horizon - 1, -1, -1):
        s0, f0, s1, f1 = layer_states(n).T
        up = n + 1
        q = np.empty((s0.size, 2))
        for arm, (s, f) in enumerate(((s0, f0), (s1, f1))):
            p = (a + s) / (a + b + s + f)
            if arm == 0:
                win, lose = layer_rank(s0 + 1, f0, s1, up), layer_rank(s0, f0 + 1, s1, up)
            else:
                win, lose = layer_rank(s0, f0, s1 + 1, up), layer_rank(s0, f0, s1, up)
            q[:, arm] = p * (1.0 + discount * following[win]) + (1.0 - p) * discount * following[lose]
        values[offsets[n] : offsets[n + 1]] = q
        following = q.max(axis=1)
    return TwoArmTable(horizon, float(a), float(b), values, offsets)
