"""Wang et al. 2016's bandits: tasks as environments, exact Bayes agents checked independently."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import betaln

from simlib import SimlibError, tasks
from simlib.behaviour import evaluate_play
from simlib.machines import load
from simlib.machines.bandit_dp import bernoulli_action_values
from simlib.machines.dependent_agents import DependentBayesAgent, dependent_action_values, posterior_mean_p1
from simlib.machines.two_arm_dp import two_arm_action_values
from simlib.pipeline.wang2016_design import BANDIT_TASKS
from simlib.random import make_generator

WANG = (*BANDIT_TASKS, "restless-bandit-test")


def test_dependent_priors_and_mirrored_arms():
    generator = make_generator(0)
    uniform = tasks.get("dependent-bandit").sample_theta(20_000, generator)[:, 0].numpy()
    assert stats.kstest(uniform, stats.uniform.cdf).pvalue > 1e-3
    hard = tasks.get("dependent-bandit-hard")
    theta = hard.sample_theta(20_000, generator)
    assert set(np.unique(theta.numpy())) == {0.4, 0.6} and abs(float((theta == 0.4).double().mean()) - 0.5) < 0.02
    state, _ = hard.reset(theta, generator)
    means = hard.step(state, torch.zeros(20_000, dtype=torch.long), 0, generator).mean_reward
    assert torch.allclose(means.sum(1), torch.ones(20_000, dtype=torch.float64)) and torch.equal(means[:, :1], theta)


def test_informative_arm_pays_as_wang_describes_and_codes_rewards_one_hot():
    task = tasks.get("informative-arm-bandit")
    theta = torch.tensor([[0.0], [6.0], [9.0]], dtype=torch.float64)
    state, first = task.reset(theta, make_generator(0))
    means = task.mean_rewards(task.split_state(state)[0])
    assert means[1, 6] == 5 and means[1, 0] == 1 and means[1, 10] == pytest.approx(0.7) and means[2, 10] == 1.0
    step = task.step(state, torch.tensor([10, 10, 9]), 0, make_generator(0))
    assert torch.allclose(step.reward, torch.tensor([0.1, 0.7, 5.0], dtype=torch.float64))
    code = step.input[:, task.arms : -1]
    assert torch.equal(code.sum(1), torch.ones(3, dtype=torch.float64)) and len(task.reward_values()) == 11
    pulled, reward = task.decode_input(step.input)
    assert torch.equal(pulled.argmax(1), torch.tensor([10, 10, 9])) and torch.allclose(reward, step.reward)
    assert torch.equal(first, torch.zeros(3, task.input_dim, dtype=torch.float64))
    assert task.prior_mean_reward() * 11 == pytest.approx(9 + 5 + 0.55)


def test_restless_walk_is_reflected_with_the_episode_volatility():
    task = tasks.get("restless-bandit")
    generator = make_generator(1)
    theta = task.sample_theta(40_000, generator)
    nu = theta[:, 0].numpy()
    assert nu.min() >= 0 and nu.max() <= 6 / 30 and not ((nu > 2 / 30) & (nu < 4 / 30)).any()
    state, _ = task.reset(theta, generator)
    p = task.split_state(state)[0][:, 0]
    after = task.step(state, torch.zeros(40_000, dtype=torch.long), 0, generator)
    moved = task.split_state(after.state)[0][:, 0]
    assert moved.min() >= 0 and moved.max() <= 1 and torch.equal(after.mean_reward[:, 0], p)
    middle = (p > 0.3) & (p < 0.7)
    z = ((moved - p) / theta[:, 0])[middle & (theta[:, 0] > 0.01)].numpy()
    assert abs(z.std() - 1) < 0.02 and abs(z.mean()) < 0.02
    test = tasks.get("restless-bandit-test").sample_theta(20_000, generator)[:, 0].numpy()
    assert stats.kstest(test, stats.uniform(0, 6 / 30).cdf).pvalue > 1e-3


@pytest.mark.parametrize("name", WANG)
def test_wang_tasks_round_trip_and_reject_bad_parameters(name):
    task = tasks.get(name)
    assert tasks.from_config(task.config()) == task
    assert task.horizon == {"informative-arm-bandit": 5, "restless-bandit": 150, "restless-bandit-test": 150}.get(name, 100)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("dependent-bandit", {"values": (0.4, 1.5)}),
        ("dependent-bandit", {"arms": 3}),
        ("informative-arm-bandit", {"reward_code": "binary"}),
        ("restless-bandit", {"volatilities": ((0.2, 0.1),)}),
        ("restless-bandit", {"volatility_is": "sd"}),
        ("restless-bandit", {"initial": (0.5, 0.5)}),
    ],
)
def test_bad_wang_parameters_are_user_errors(name, bad):
    with pytest.raises(SimlibError):
        tasks.get(name, **bad)


def _best_policy_return(horizon: int) -> float:
    """Max over every deterministic policy of two Beta(1, 1) Bernoulli arms, by enumeration."""
    nodes = sum(4**t for t in range(horizon))
    policies = np.arange(2**nodes, dtype=np.int64)
    best = np.zeros(policies.size)
    for rewards in itertools.product((0, 1), repeat=horizon):
        node, offset, counts = np.zeros_like(policies), 0, np.zeros((policies.size, 2, 2), dtype=np.int64)
        for t, r in enumerate(rewards):
            action = (policies >> (offset + node)) & 1
            counts[np.arange(policies.size), action, 1 - r] += 1
            offset += 4**t
            node = 4 * node + 2 * action + r
        s, f = counts[..., 0], counts[..., 1]
        probability = np.exp((betaln(1 + s, 1 + f)).sum(1))
        best += probability * sum(rewards)
    return float(best.max())


@pytest.mark.parametrize("horizon", [2, 3])
def test_opt_on_independent_bandits_equals_enumerating_every_policy(horizon):
    opt = load("opt:independent-bandit", tasks.get("independent-bandit", horizon=horizon))
    assert opt.expected_return() == pytest.approx(_best_policy_return(horizon), abs=1e-12)


def test_reachable_state_table_equals_the_dense_one():
    packed = two_arm_action_values(12, 0.5, 2.0, 0.9)
    dense = bernoulli_action_values(2, 12, 0.5, 2.0, 0.9)
    states = np.array([c for c in itertools.product(range(13), repeat=4) if sum(c) <= 13])
    np.testing.assert_allclose(packed.lookup(states), dense[tuple(states.T)], atol=1e-12)
    assert two_arm_action_values(100).values[0].max() == pytest.approx(
        load("opt:independent-bandit").expected_return()
    )


def _history_expectimax(task, nodes: np.ndarray, weights: np.ndarray, horizon: int) -> float:
    """Bayes-optimal value by search over raw histories; the posterior over ``nodes`` (theta) from
    the likelihood of each history alone, no sufficient statistic."""
    means = task.mean_rewards(torch.from_numpy(nodes[:, None])).numpy()
    stochastic = isinstance(task, tasks.DependentBandit)

    def value(posterior: np.ndarray, left: int) -> float:
        if left == 0:
            return 0.0
        best = -np.inf
        for arm in range(task.arms):
            outcomes = ((1.0, means[:, arm]), (0.0, 1 - means[:, arm])) if stochastic else None
            if outcomes is None:
                rewards = np.unique(means[:, arm])
                outcomes = tuple((r, (means[:, arm] == r).astype(float)) for r in rewards)
            total = 0.0
            for reward, likelihood in outcomes:
                joint = posterior * likelihood
                mass = joint.sum()
                if mass > 0:
                    total += mass * (reward + value(joint / mass, left - 1))
            best = max(best, total)
        return best

    return value(weights / weights.sum(), horizon)


@pytest.mark.parametrize("name", ["dependent-bandit", "dependent-bandit-easy", "dependent-bandit-hard"])
def test_dependent_opt_equals_search_over_histories(name):
    task = tasks.get(name, horizon=5)
    if task.values:
        nodes, weights = np.array(task.values), np.ones(len(task.values))
    else:  # Gauss-Legendre on [0, 1]: exact for the polynomial likelihoods of 5 pulls
        x, w = np.polynomial.legendre.leggauss(20)
        nodes, weights = (x + 1) / 2, w
    assert DependentBayesAgent(task).expected_return() == pytest.approx(
        _history_expectimax(task, nodes, weights, 5), abs=1e-10
    )


@pytest.mark.parametrize("name", ["dependent-bandit", "dependent-bandit-medium"])
def test_the_dependent_dp_reduces_to_greedy_on_the_posterior_mean(name):
    task = tasks.get(name)
    q = dependent_action_values(task)
    heads, flips = np.meshgrid(np.arange(101), np.arange(101), indexing="ij")
    valid = heads <= flips
    mean = posterior_mean_p1(task, heads, flips)
    gap = q[..., 0] - q[..., 1]
    np.testing.assert_allclose(gap[valid], (2 * mean - 1)[valid], atol=1e-9)


def test_informative_opt_is_exact():
    task = tasks.get("informative-arm-bandit")
    opt = load("opt:informative-arm-bandit")
    assert opt.expected_return() == pytest.approx(0.55 + 4 * 5)
    short = tasks.get("informative-arm-bandit", horizon=3)
    nodes = np.arange(10, dtype=np.float64)
    assert load("opt:informative-arm-bandit", short).expected_return() == pytest.approx(
        _history_expectimax(short, nodes, np.ones(10), 3), abs=1e-12
    )
    returns, regret = evaluate_play(task, opt, 2000, 0, critic=opt)
    assert np.abs(regret).max() < 1e-12 and abs(returns.mean() - 20.55) < 0.02
    thompson, _ = evaluate_play(task, load("thompson:informative-arm-bandit"), 2000, 0, critic=opt)
    assert thompson.mean() < returns.mean() - 5


@pytest.mark.parametrize("name", WANG)
def test_every_baseline_loads_and_plays_below_opt(name):
    task = tasks.get(name, horizon=min(tasks.get(name).horizon, 30))
    opt = load(f"opt:{name}", task)
    kinds = ["thompson", "ucb", "rescorla-wagner"] + (["gittins"] if "restless" not in name and "informative" not in name else [])
    best, _ = evaluate_play(task, opt, 1000, 0)
    for kind in kinds:
        other, _ = evaluate_play(task, load(f"{kind}:{name}", task), 1000, 0)
        assert other.mean() < best.mean() + 3 * (other - best).std() / np.sqrt(1000), kind


def test_specs_with_values_are_checked():
    assert load("ucb:restless-bandit").chi == 1.0 and load("ucb:independent-bandit@0.5").chi == 0.5
    assert load("rescorla-wagner:restless-bandit@0.8").alpha == 0.8
    for bad in ("ucb:independent-bandit@inf", "rescorla-wagner:restless-bandit@x", "opt:restless-bandit@2"):
        with pytest.raises(SimlibError):
            load(bad)
