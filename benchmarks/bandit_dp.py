"""Bayes-optimal bandit values: build times, expected returns, discretisation errors, baselines.

For the four 2-armed bandit tasks (T = 20, undiscounted): the time to build the action-value
table, the Bayes-optimal expected return and, for the Gaussian tasks, the refinement error
(default table against one with half the grid spacing on a wider grid), the same for the
Gauss-Hermite variant of the expectation, and the interpolation error of ``q`` off the grid
nodes. For the Bernoulli tasks: the exact returns of greedy-on-posterior-mean and Thompson
sampling.

    python benchmarks/bandit_dp.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from simlib import tasks
from simlib.machines.bandit_dp import (
    GaussianActionValues,
    bernoulli_action_values,
    bernoulli_policy_return,
    gaussian_action_values,
    greedy_policy,
    thompson_policy,
)
from simlib.tasks.bandits import BernoulliBandit, GaussianBandit

REFINED = {"grid_size": 3201, "width": 8.0}
"""Half the default spacing (default: 1201 points over +-6 prior sd of d) on a wider grid."""

HERMITE = {"quadrature_nodes": 48, "extrapolate": False}
HERMITE_REFINED = {"quadrature_nodes": 96, "extrapolate": False, **REFINED}

Result = TypeVar("Result")


def timed(build: Callable[[], Result], repeats: int = 3) -> tuple[Result, float]:
    """The result of ``build()`` and its fastest wall time in seconds over ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = build()
        best = min(best, time.perf_counter() - start)
    return result, best


def bernoulli_report(task: BernoulliBandit) -> None:
    args = (task.arms, task.horizon, task.a, task.b, task.discount)
    table, seconds = timed(lambda: bernoulli_action_values(*args))
    optimal = float(table.reshape(-1, task.arms)[0].max())
    greedy = bernoulli_policy_return(greedy_policy, *args)
    thompson, thompson_seconds = timed(lambda: bernoulli_policy_return(thompson_policy, *args), repeats=1)
    print(f"{task.name:<22} Beta({task.a:g}, {task.b:g}): build {seconds * 1e3:6.1f} ms, optimal return {optimal:.9f}")
    print(f"{'':<22} greedy {greedy:.9f} (gap {optimal - greedy:.6f}), "
          f"Thompson {thompson:.9f} (gap {optimal - thompson:.6f}, {thompson_seconds:.2f} s)")


def off_node_error(
    table: GaussianActionValues, refined: GaussianActionValues, samples: int = 4000
) -> tuple[float, float]:
    """Max and mean ``|q - q_refined|`` at random integer counts and posterior means near the prior."""
    rng = np.random.default_rng(0)
    n = rng.integers(0, table.horizon, samples)
    n0 = rng.integers(0, n + 1)
    m0, m1 = rng.normal(0.0, table.prior_std, (2, samples)) + table.prior_mean
    gap = np.abs(table.q(n0, n - n0, m0, m1) - refined.q(n0, n - n0, m0, m1))
    return float(gap.max()), float(gap.mean())


def gaussian_report(task: GaussianBandit) -> None:
    args = (task.horizon, task.prior_mean, task.prior_std, task.noise_std, task.discount)
    table, seconds = timed(lambda: gaussian_action_values(*args))
    refined, refined_seconds = timed(lambda: gaussian_action_values(*args, **REFINED), repeats=1)
    optimal = table.expected_return()
    worst, mean = off_node_error(table, refined)
    print(f"{task.name:<22} noise sd {task.noise_std:g}: build {seconds * 1e3:6.1f} ms, optimal return {optimal:.9f}, "
          f"refinement error {abs(optimal - refined.expected_return()):.1e} (refined build {refined_seconds:.2f} s)")
    print(f"{'':<22} q off the grid nodes vs refined: max {worst:.1e}, mean {mean:.1e}")
    hermite, hermite_seconds = timed(lambda: gaussian_action_values(*args, **HERMITE), repeats=1)
    hermite_refined = gaussian_action_values(*args, **HERMITE_REFINED).expected_return()
    print(f"{'':<22} Gauss-Hermite variant: {hermite.expected_return():.9f} in {hermite_seconds:.2f} s, "
          f"refinement error {abs(hermite.expected_return() - hermite_refined):.1e}, "
          f"error vs exact {abs(hermite.expected_return() - refined.expected_return()):.1e}")


def main() -> None:
    for name in ("bernoulli-bandit", "bernoulli-bandit-bent"):
        bernoulli_report(tasks.get(name))
    for name in ("gaussian-bandit", "gaussian-bandit-noisy"):
        gaussian_report(tasks.get(name))


if __name__ == "__main__":
    main()
