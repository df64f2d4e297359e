"""Bayes-optimal bandit values: brute force over all policies, independent recursions, closed forms."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest
from scipy import integrate, special, stats

from simlib.machines.bandit_dp import (
    bernoulli_action_values,
    bernoulli_expected_return,
    bernoulli_policy_return,
    gaussian_action_values,
    greedy_policy,
    thompson_policy,
)

History = tuple[tuple[int, int], ...]
"""A sequence of (action, reward) pairs."""

REFINED = {"grid_size": 3201, "width": 8.0}
"""Half the default grid spacing on a wider grid: the refinement check of the Gaussian table."""


# Brute force over every deterministic history-dependent policy (2 Bernoulli arms)


def _decision_nodes(horizon: int) -> list[History]:
    """Every history with fewer than ``horizon`` pulls, parents before children."""
    nodes: list[History] = [()]
    for node in nodes:
        if len(node) < horizon - 1:
            nodes.extend(node + ((action, reward),) for action in (0, 1) for reward in (0, 1))
    return nodes


def _posterior_mean(history: History, arm: int, a, b):
    """``P(reward 1 | history, pull arm)``; exact when ``a, b`` are Fractions."""
    rewards = [reward for action, reward in history if action == arm]
    return (a + sum(rewards)) / (a + b + len(rewards))


def _exact_policy_return(
    policy: dict[History, int], horizon: int, a: Fraction, b: Fraction, discount: Fraction
) -> Fraction:
    """Expected return of a deterministic policy, by recursion over its histories (Fractions)."""

    def value(history: History) -> Fraction:
        if len(history) == horizon:
            return Fraction(0)
        action = policy[history]
        p = _posterior_mean(history, action, a, b)
        win, loss = history + ((action, 1),), history + ((action, 0),)
        return p * (1 + discount * value(win)) + (1 - p) * discount * value(loss)

    return value(())


def _brute_force_fraction(horizon: int, a: Fraction, b: Fraction, discount: Fraction) -> Fraction:
    """Max over all ``2**len(nodes)`` deterministic policies of the exact expected return."""
    nodes = _decision_nodes(horizon)
    returns = (
        _exact_policy_return(dict(zip(nodes, actions)), horizon, a, b, discount)
        for actions in itertools.product((0, 1), repeat=len(nodes))
    )
    return max(returns)


def _brute_force_float(horizon: int, a: float, b: float, discount: float) -> np.ndarray:
    """Expected return ``[2**len(nodes)]`` of every deterministic policy; bit k = action at node k."""
    nodes = _decision_nodes(horizon)
    policies = np.arange(2 ** len(nodes), dtype=np.int64)
    bits = {node: (policies >> k) & 1 for k, node in enumerate(nodes)}
    returns = np.zeros(policies.size)
    follows = {(): np.ones(policies.size, dtype=bool)}
    reach = {(): 1.0}
    for node in nodes:
        for action in (0, 1):
            chosen = follows[node] & (bits[node] == action)
            p = _posterior_mean(node, action, a, b)
            returns += discount ** len(node) * reach[node] * p * chosen
            for reward, probability in ((1, p), (0, 1.0 - p)):
                follows[node + ((action, reward),)] = chosen
                reach[node + ((action, reward),)] = reach[node] * probability
    return returns


def test_decision_nodes_give_the_stated_policy_counts():
    assert len(_decision_nodes(2)) == 5 and len(_decision_nodes(3)) == 21


@pytest.mark.parametrize("a, b, discount", [(1, 1, 1), (1, 1, Fraction(9, 10)), (Fraction(1, 2), Fraction(1, 2), 1)])
def test_bernoulli_t2_equals_the_best_of_all_32_policies_exactly(a, b, discount):
    exact = _brute_force_fraction(2, Fraction(a), Fraction(b), Fraction(discount))
    optimal = bernoulli_expected_return(2, 2, float(a), float(b), float(discount))
    assert optimal == pytest.approx(float(exact), abs=1e-15)
    assert _brute_force_float(2, float(a), float(b), float(discount)).max() == pytest.approx(float(exact), abs=1e-15)


@pytest.mark.parametrize("a, b, discount", [(1.0, 1.0, 1.0), (0.5, 0.5, 0.9)])
def test_bernoulli_t3_equals_the_best_of_all_2_to_the_21_policies(a, b, discount):
    returns = _brute_force_float(3, a, b, discount)
    assert returns.size == 2**21
    assert bernoulli_expected_return(2, 3, a, b, discount) == pytest.approx(returns.max(), abs=1e-12)


# Independent memoised recursion over sorted count tuples


def _recursion(arms: int, horizon: int, a: float, b: float, discount: float):
    """``q(counts, remaining) -> tuple of action values``; counts = per-arm (successes, failures)."""

    @lru_cache(maxsize=None)
    def value(counts: tuple[tuple[int, int], ...], remaining: int) -> float:
        return 0.0 if remaining == 0 else max(q(counts, remaining))

    def q(counts: tuple[tuple[int, int], ...], remaining: int) -> tuple[float, ...]:
        out = []
        for arm, (s, f) in enumerate(counts):
            p = (a + s) / (a + b + s + f)
            win = tuple(sorted(counts[:arm] + ((s + 1, f),) + counts[arm + 1 :]))
            loss = tuple(sorted(counts[:arm] + ((s, f + 1),) + counts[arm + 1 :]))
            later = discount * value(win, remaining - 1), discount * value(loss, remaining - 1)
            out.append(p * (1.0 + later[0]) + (1.0 - p) * later[1])
        return tuple(out)

    return q


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (0.5, 0.5)])
@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_bernoulli_t20_table_matches_an_independent_recursion(a, b, discount):
    horizon = 20
    table = bernoulli_action_values(2, horizon, a, b, discount)
    assert table.shape == (21, 21, 21, 21, 2)
    q = _recursion(2, horizon, a, b, discount)
    for s0, f0, s1, f1 in itertools.product(range(horizon), repeat=4):
        n = s0 + f0 + s1 + f1
        if n < horizon and (n % 3 == 0 or n > 16):
            np.testing.assert_allclose(table[s0, f0, s1, f1], q(((s0, f0), (s1, f1)), horizon - n), rtol=0, atol=1e-9)
    expected = max(q(((0, 0), (0, 0)), horizon))
    assert bernoulli_expected_return(2, horizon, a, b, discount) == pytest.approx(expected, abs=1e-9)


def test_bernoulli_three_arms_match_the_recursion_and_beyond_the_horizon_is_myopic():
    table = bernoulli_action_values(3, 6, 0.5, 2.0, 0.95)
    q = _recursion(3, 6, 0.5, 2.0, 0.95)
    np.testing.assert_allclose(table[0, 0, 0, 0, 0, 0], q(((0, 0),) * 3, 6), rtol=0, atol=1e-12)
    sorted_q = q(((0, 0), (0, 1), (1, 2)), 2)
    np.testing.assert_allclose(table[1, 2, 0, 0, 0, 1], [sorted_q[2], sorted_q[0], sorted_q[1]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(table[4, 6, 0, 1, 0, 0], [4.5 / 12.5, 0.5 / 3.5, 0.5 / 2.5], rtol=0, atol=1e-15)


def test_too_large_a_table_is_refused():
    with pytest.raises(ValueError, match="cells"):
        bernoulli_action_values(3, 13, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="2 arms"):
        gaussian_action_values(5, arms=3)


# Closed forms and simpler policies


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (0.5, 2.0), (3.0, 0.25)])
def test_one_pull_is_worth_the_prior_mean(a, b):
    assert bernoulli_expected_return(3, 1, a, b, 1.0) == pytest.approx(a / (a + b), abs=1e-15)
    table = gaussian_action_values(1, prior_mean=0.7, prior_std=1.3, noise_std=0.5)
    assert table.expected_return() == pytest.approx(0.7, abs=1e-12)


def _split_ties(values: tuple[float, ...]) -> tuple[float, ...]:
    best = [v == max(values) for v in values]
    return tuple(flag / sum(best) for flag in best)


def _thompson_quad(counts: tuple[tuple[int, int], ...], a: float, b: float) -> tuple[float, float]:
    """``P(p_0 > p_1)`` and its complement under the two Beta posteriors, by scipy quad."""
    (s0, f0), (s1, f1) = counts
    (a0, b0), (a1, b1) = (a + s0, b + f0), (a + s1, b + f1)
    log_norm = special.betaln(a0, b0)

    def integrand(x: float) -> float:
        return math.exp((a0 - 1) * math.log(x) + (b0 - 1) * math.log1p(-x) - log_norm) * special.betainc(a1, b1, x)

    p = integrate.quad(integrand, 0.0, 1.0, epsabs=1e-12, epsrel=1e-12, limit=200)[0]
    return p, 1.0 - p


def _policy_recursion(choose, horizon: int, a: float, b: float, discount: float) -> float:
    """Exact return of a count-based stochastic policy ``choose(counts) -> probabilities`` (2 arms)."""

    @lru_cache(maxsize=None)
    def value(counts: tuple[tuple[int, int], ...], remaining: int) -> float:
        if remaining == 0:
            return 0.0
        total = 0.0
        for arm, probability in enumerate(choose(counts)):
            if probability == 0:
                continue
            s, f = counts[arm]
            p = (a + s) / (a + b + s + f)
            win = counts[:arm] + ((s + 1, f),) + counts[arm + 1 :]
            loss = counts[:arm] + ((s, f + 1),) + counts[arm + 1 :]
            q = p * (1.0 + discount * value(win, remaining - 1)) + (1.0 - p) * discount * value(loss, remaining - 1)
            total += probability * q
        return total

    return value(((0, 0), (0, 0)), horizon)


def _greedy_choice(a: float, b: float):
    return lambda counts: _split_ties(tuple((a + s) / (a + b + s + f) for s, f in counts))


@pytest.mark.parametrize("a, b, discount", [(1.0, 1.0, 1.0), (0.5, 0.5, 0.9)])
def test_optimal_beats_greedy_whose_exact_return_matches_a_recursion(a, b, discount):
    greedy = _policy_recursion(_greedy_choice(a, b), 20, a, b, discount)
    assert bernoulli_policy_return(greedy_policy, 2, 20, a, b, discount) == pytest.approx(greedy, abs=1e-11)
    assert bernoulli_expected_return(2, 20, a, b, discount) > greedy + 0.01


def test_thompson_return_matches_a_recursion_with_scipy_quadrature():
    a, b, horizon = 0.5, 0.5, 8
    thompson = _policy_recursion(lambda counts: _thompson_quad(counts, a, b), horizon, a, b, 1.0)
    assert bernoulli_policy_return(thompson_policy, 2, horizon, a, b, 1.0) == pytest.approx(thompson, abs=1e-10)
    assert bernoulli_expected_return(2, horizon, a, b, 1.0) > thompson


def test_known_gaps_on_the_uniform_prior():
    optimal = bernoulli_expected_return(2, 20, 1.0, 1.0, 1.0)
    assert optimal - bernoulli_policy_return(greedy_policy, 2, 20, 1.0, 1.0) == pytest.approx(0.066, abs=5e-4)
    assert optimal - bernoulli_policy_return(thompson_policy, 2, 20, 1.0, 1.0) == pytest.approx(0.50, abs=5e-3)


# Gaussian arms


def _gaussian_t2_q(m0: float, m1: float, prior_std: float, noise_std: float, discount: float) -> np.ndarray:
    """Action values at the prior counts with 2 pulls left, integrating over the first reward."""
    predictive_std = math.hypot(prior_std, noise_std)
    gain = prior_std**2 / predictive_std**2
    values = []
    for pulled, other in ((m0, m1), (m1, m0)):
        def second_step(y: float, pulled: float = pulled, other: float = other) -> float:
            updated = pulled + gain * (y - pulled)
            return max(updated, other) * stats.norm.pdf(y, pulled, predictive_std)

        lo, hi = pulled - 12 * predictive_std, pulled + 12 * predictive_std
        kink = pulled + (other - pulled) / gain
        integral = integrate.quad(second_step, lo, hi, points=[min(max(kink, lo), hi)], epsabs=1e-13, epsrel=1e-13)[0]
        values.append(pulled + discount * integral)
    return np.array(values)


@pytest.mark.parametrize("prior_mean, prior_std, noise_std, discount", [(0.0, 1.0, 1.0, 1.0), (0.3, 1.5, 0.7, 0.9)])
def test_gaussian_t2_matches_numerical_integration(prior_mean, prior_std, noise_std, discount):
    table = gaussian_action_values(2, prior_mean, prior_std, noise_std, discount)
    step = prior_std**2 / math.hypot(prior_std, noise_std)
    closed_form = prior_mean * (1 + discount) + discount * step / math.sqrt(2 * math.pi)
    assert table.expected_return() == pytest.approx(closed_form, abs=1e-6)
    reference = _gaussian_t2_q(prior_mean, prior_mean, prior_std, noise_std, discount)
    assert table.expected_return() == pytest.approx(reference.max(), abs=1e-6)
    m1 = np.array([-0.4, 0.2, 1.0, 3.0])
    m0 = m1 + table.grid[[590, 610, 700, 1100]]
    expected = np.stack([_gaussian_t2_q(x, y, prior_std, noise_std, discount) for x, y in zip(m0, m1)])
    np.testing.assert_allclose(table.q(np.zeros(4), np.zeros(4), m0, m1), expected, rtol=0, atol=1e-6)
    between = m0 + 0.37 * (table.grid[1] - table.grid[0])
    expected = np.stack([_gaussian_t2_q(x, y, prior_std, noise_std, discount) for x, y in zip(between, m1)])
    np.testing.assert_allclose(table.q(np.zeros(4), np.zeros(4), between, m1), expected, rtol=0, atol=5e-5)


@pytest.mark.parametrize("noise_std", [1.0, 2.0])
def test_gaussian_t20_refinement_error_is_small(noise_std):
    default = gaussian_action_values(20, 0.0, 1.0, noise_std, 1.0)
    refined = gaussian_action_values(20, 0.0, 1.0, noise_std, 1.0, **REFINED)
    assert abs(default.expected_return() - refined.expected_return()) < 1e-4


def test_gaussian_values_shift_with_the_means_and_interpolate_in_the_counts():
    table = gaussian_action_values(6, prior_mean=0.0, prior_std=1.0, noise_std=1.5, discount=0.9)
    sums = 1 + 0.9 + 0.81
    base = table.q(np.array([2.0]), np.array([1.0]), np.array([0.3]), np.array([-0.2]))
    shifted = table.q(np.array([2.0]), np.array([1.0]), np.array([1.3]), np.array([0.8]))
    np.testing.assert_allclose(shifted - base, sums, rtol=0, atol=1e-12)
    lower = table.q(2.0, 1.0, 0.3, -0.2)
    upper = table.q(3.0, 1.0, 0.3, -0.2)
    np.testing.assert_allclose(table.q(2.25, 1.0, 0.3, -0.2), 0.75 * lower + 0.25 * upper, rtol=0, atol=1e-12)
    np.testing.assert_allclose(table.q(4.0, 9.5, 0.3, -0.2), [[0.3, -0.2]], rtol=0, atol=1e-12)


@pytest.mark.parametrize("d", [-11.0, 10.0, 12.0])
def test_gaussian_extrapolation_beyond_the_grid_follows_the_asymptotes(d):
    narrow = gaussian_action_values(20, noise_std=1.0)
    wide = gaussian_action_values(20, noise_std=1.0, grid_size=1801, width=9.0)
    assert abs(d) > narrow.grid[-1]
    counts = np.array([0.0, 3.0, 7.0, 12.0])
    expected = wide.q(counts, counts[::-1], d + 0.5, 0.5)
    np.testing.assert_allclose(narrow.q(counts, counts[::-1], d + 0.5, 0.5), expected, rtol=0, atol=1e-6)


# Regret sanity: symmetric states have symmetric values


def test_prior_state_values_are_equal_across_arms():
    np.testing.assert_allclose(np.ptp(bernoulli_action_values(2, 20, 1.0, 1.0, 1.0)[0, 0, 0, 0]), 0.0, atol=1e-13)
    np.testing.assert_allclose(np.ptp(bernoulli_action_values(3, 8, 0.5, 0.5, 0.9)[(0,) * 6]), 0.0, atol=1e-13)
    for noise_std in (1.0, 2.0):
        q = gaussian_action_values(20, 0.4, 1.0, noise_std, 1.0).q(0.0, 0.0, 0.4, 0.4)
        np.testing.assert_allclose(q[0, 0], q[0, 1], rtol=0, atol=1e-9)


def test_swapping_the_arms_swaps_the_action_values():
    table = bernoulli_action_values(2, 12, 0.5, 0.5, 1.0)
    np.testing.assert_allclose(table, table.transpose(2, 3, 0, 1, 4)[..., ::-1], rtol=0, atol=1e-12)
    gaussian = gaussian_action_values(12, 0.0, 1.0, 2.0, 1.0)
    n0, n1 = np.array([0.0, 1.0, 3.0, 5.0]), np.array([2.0, 4.0, 0.0, 5.0])
    m0, m1 = np.array([0.3, -0.2, 1.1, 0.05]), np.array([-0.1, 0.4, 0.9, 0.0])
    np.testing.assert_allclose(gaussian.q(n0, n1, m0, m1), gaussian.q(n1, n0, m1, m0)[:, ::-1], rtol=0, atol=1e-5)
