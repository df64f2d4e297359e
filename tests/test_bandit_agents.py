"""Bandit tasks and agents: priors, beliefs, the Bayes-optimal machine, Gittins, Thompson, UCB."""

import numpy as np
import pytest
import torch
from scipy import stats

from simlib import SimlibError, machines, tasks
from simlib.behaviour import evaluate_play, own_play
from simlib.machine import unroll
from simlib.machines import BayesOptimalAgent, GittinsAgent, ThompsonAgent, UCBAgent, gittins_bernoulli, gittins_normal
from simlib.machines.bandit_dp import bernoulli_expected_return, bernoulli_policy_return, thompson_policy
from simlib.random import make_generator

BANDITS = ("bernoulli-bandit", "bernoulli-bandit-bent", "gaussian-bandit", "gaussian-bandit-noisy")


def step_input(task, action: int, reward: float, t: int) -> torch.Tensor:
    return task.encode_step(torch.tensor([action]), torch.tensor([reward], dtype=torch.float64), t)


@pytest.mark.parametrize("name", BANDITS)
def test_bandit_priors_rewards_and_inputs(name):
    task = tasks.get(name)
    generator = make_generator(0)
    theta = task.sample_theta(40_000, generator)
    if "bernoulli" in name:
        assert stats.kstest(theta[:, 0].numpy(), stats.beta(task.a, task.b).cdf).pvalue > 1e-3
    else:
        assert stats.kstest(theta[:, 1].numpy(), stats.norm(0, 1).cdf).pvalue > 1e-3
    action = torch.randint(0, 2, (40_000,), generator=generator)
    state, first = task.reset(theta, generator)
    assert torch.equal(first, torch.zeros(40_000, 4, dtype=torch.float64))
    following, rewards, means, x = task.step(state, action, 4, generator)
    assert torch.equal(following, state) and torch.equal(means, theta)
    residual = rewards - theta.gather(1, action[:, None]).squeeze(1)
    assert abs(float(residual.mean())) < 0.03 * (1 if "bernoulli" in name else task.noise_std)
    assert x.shape == (40_000, 4) and torch.allclose(x[:, 3], torch.full((40_000,), 5 / 20, dtype=torch.float64))
    pulled, decoded = task.decode_input(x)
    assert torch.equal(pulled.argmax(1), action) and torch.equal(decoded, rewards)
    assert tasks.from_config(task.config()) == task


def test_bad_bandit_parameters_are_user_errors():
    with pytest.raises(SimlibError):
        tasks.get("bernoulli-bandit", arms=1)
    with pytest.raises(SimlibError):
        tasks.get("gaussian-bandit", discount=1.5)


def test_optimal_agent_matches_the_exact_return_and_has_zero_regret():
    task = tasks.get("bernoulli-bandit", horizon=8)
    opt = BayesOptimalAgent(task)
    assert opt.expected_return() == pytest.approx(bernoulli_expected_return(2, 8, 1.0, 1.0))
    rewards, regret = own_play(task, opt, 20_000, 0, critic=opt)
    returns = rewards.sum(1)
    assert abs(returns.mean() - opt.expected_return()) < 4 * returns.std() / np.sqrt(returns.size)
    assert np.abs(regret).max() < 1e-12
    ucb_regret = own_play(task, UCBAgent(task), 2_000, 0, critic=opt)[1]
    assert ucb_regret.min() >= -1e-12 and ucb_regret.mean() > 1e-3



def test_summed_bayes_regret_is_the_discounted_performance_difference():
    task = tasks.get("bernoulli-bandit", horizon=6, discount=0.8)
    opt = BayesOptimalAgent(task)
    returns, regret = evaluate_play(task, UCBAgent(task), 40_000, 3, critic=opt, summed=True)
    gap = opt.expected_return() - returns
    assert regret.mean() > 0.01
    assert abs(regret.mean() - gap.mean()) < 4 * gap.std() / np.sqrt(gap.size)
    assert regret.std() < gap.std() / 3
    _, per_step = evaluate_play(task, UCBAgent(task), 40_000, 3, critic=opt)
    assert not np.allclose(per_step * task.horizon, regret)


def test_optimal_policy_splits_ties_and_follows_the_evidence():
    task = tasks.get("bernoulli-bandit")
    opt = BayesOptimalAgent(task)
    s = opt.initial_state(1)
    policy, s = opt.step(task.first_input(1), s)
    assert torch.allclose(policy, torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    policy, s = opt.step(step_input(task, 0, 1.0, 1), s)
    assert torch.equal(s, torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64))
    assert torch.equal(policy, torch.tensor([[1.0, 0.0]], dtype=torch.float64))


def test_optimal_values_are_multilinear_between_count_states():
    opt = BayesOptimalAgent(tasks.get("bernoulli-bandit"))
    lo = torch.tensor([[2.0, 1.0, 0.0, 3.0]], dtype=torch.float64)
    hi = torch.tensor([[3.0, 1.0, 0.0, 3.0]], dtype=torch.float64)
    middle = opt.action_values_at(0.25 * lo + 0.75 * hi)
    assert torch.allclose(middle, 0.25 * opt.action_values_at(lo) + 0.75 * opt.action_values_at(hi))


@pytest.mark.parametrize("name", ("gaussian-bandit", "gaussian-bandit-noisy"))
def test_gaussian_optimal_agent_plays_its_expected_return(name):
    task = tasks.get(name)
    opt = BayesOptimalAgent(task)
    thompson_returns = own_play(task, ThompsonAgent(task), 4_000, 1)[0].sum(1)
    returns = own_play(task, opt, 4_000, 1)[0].sum(1)
    assert abs(returns.mean() - opt.expected_return()) < 4 * returns.std() / np.sqrt(returns.size)
    paired = returns - thompson_returns
    assert paired.mean() > 4 * paired.std() / np.sqrt(paired.size)


def test_gaussian_belief_is_the_conjugate_posterior():
    task = tasks.get("gaussian-bandit-noisy")
    opt = BayesOptimalAgent(task)
    s = opt.initial_state(1)
    for t, (action, reward) in enumerate([(0, 1.5), (0, -0.5), (1, 2.0)], start=1):
        _, s = opt.step(step_input(task, action, reward, t), s)
    precision0 = 1.0 + 2 / 4.0
    assert s[0, 0] == 2 and s[0, 1] == pytest.approx((1.5 - 0.5) / 4.0 / precision0)
    assert s[0, 2] == 1 and s[0, 3] == pytest.approx(2.0 / 4.0 / 1.25)


def test_thompson_outputs_the_probability_that_each_arm_is_best():
    bernoulli = ThompsonAgent(tasks.get("bernoulli-bandit"))
    s = torch.tensor([[3.0, 1.0, 1.0, 2.0]], dtype=torch.float64)
    samples = np.random.default_rng(0).beta([4.0, 2.0], [2.0, 3.0], size=(400_000, 2))
    assert float(bernoulli.policy(s)[0, 0]) == pytest.approx((samples[:, 0] > samples[:, 1]).mean(), abs=3e-3)
    gaussian = ThompsonAgent(tasks.get("gaussian-bandit"))
    s = torch.tensor([[2.0, 0.3, 5.0, -0.1]], dtype=torch.float64)
    exact = stats.norm.cdf(0.4 / np.sqrt(1 / 3 + 1 / 6))
    assert float(gaussian.policy(s)[0, 0]) == pytest.approx(exact, abs=1e-6)


def test_thompson_machine_earns_its_exact_return():
    task = tasks.get("bernoulli-bandit", horizon=10)
    exact = bernoulli_policy_return(thompson_policy, 2, 10, 1.0, 1.0)
    returns = own_play(task, ThompsonAgent(task), 20_000, 2)[0].sum(1)
    assert abs(returns.mean() - exact) < 4 * returns.std() / np.sqrt(returns.size)


def test_ucb_pulls_untried_arms_first_then_adds_the_bonus():
    task = tasks.get("bernoulli-bandit")
    ucb = UCBAgent(task)
    policy, s = ucb.step(task.first_input(1), ucb.initial_state(1))
    assert torch.allclose(policy, torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    policy, s = ucb.step(step_input(task, 0, 1.0, 1), s)
    assert torch.equal(policy, torch.tensor([[0.0, 1.0]], dtype=torch.float64))
    # arm 0: 6 of 10 pulls paid, arm 1: 1 of 2; the greedy choice is arm 0, the bonus picks arm 1
    s = torch.tensor([[6.0, 4.0, 1.0, 1.0]], dtype=torch.float64)
    n, t = np.array([10.0, 2.0]), 12.0
    index = np.array([0.6, 0.5]) + np.sqrt(2 * np.log(t) / n)
    assert index[1] > index[0]
    assert torch.equal(ucb.policy(s), torch.tensor([[0.0, 1.0]], dtype=torch.float64))
    # with a small enough chi the bonus no longer outweighs arm 0's lead
    assert torch.equal(UCBAgent(task, chi=0.01).policy(s), torch.tensor([[1.0, 0.0]], dtype=torch.float64))


def test_gittins_agent_uses_the_published_indices():
    task = tasks.get("bernoulli-bandit")
    agent = GittinsAgent(task, 0.9)
    s = torch.tensor([[2.0, 1.0, 0.0, 0.0], [0.0, 3.0, 1.0, 1.0]], dtype=torch.float64)
    expected = np.array([[gittins_bernoulli(3, 2, 0.9), gittins_bernoulli(1, 1, 0.9)],
                         [gittins_bernoulli(1, 4, 0.9), gittins_bernoulli(2, 2, 0.9)]])
    assert np.allclose(agent.indices(s).numpy(), expected, atol=1e-12)
    assert gittins_bernoulli(1, 1, 0.9) == pytest.approx(0.7029, abs=5e-5)
    gaussian = GittinsAgent(tasks.get("gaussian-bandit-noisy"), 0.95)
    s = torch.tensor([[3.0, 0.2, 0.0, 0.0]], dtype=torch.float64)
    nu = [gittins_normal(4.0 + 3.0, 0.95), gittins_normal(4.0, 0.95)]
    assert np.allclose(gaussian.indices(s).numpy(), [[0.2 + 2.0 * nu[0], 0.0 + 2.0 * nu[1]]], atol=1e-12)


def test_bandit_specs_load_and_gittins_takes_a_discount():
    for name in BANDITS:
        for kind in ("opt", "gittins", "thompson", "ucb"):
            machine = machines.load(f"{kind}:{name}")
            assert machine.task.name == name and machine.output.n_params == 2
    assert machines.load("gittins:bernoulli-bandit").gamma == pytest.approx(0.95)
    assert machines.load("gittins:bernoulli-bandit@0.9").gamma == pytest.approx(0.9)
    for bad in ("gittins:bernoulli-bandit@1.5", "gittins:bernoulli-bandit@x", "ucb:bernoulli-bandit@-1", "thompson:bernoulli-bandit@2",
                "thompson:beta-bernoulli", "opt:gaussian-bandit@3"):
        with pytest.raises(SimlibError):
            machines.load(bad)
    specs = dict(machines.specs())
    assert "gittins:gaussian-bandit" in specs and "ucb:bernoulli-bandit-bent" in specs


def test_machines_run_batched_from_any_state():
    task = tasks.get("gaussian-bandit")
    inputs = torch.zeros(3, 5, 4, dtype=torch.float64)
    for machine in (BayesOptimalAgent(task), GittinsAgent(task, 0.9), ThompsonAgent(task), UCBAgent(task)):
        outputs, states = unroll(machine, inputs)
        assert outputs.shape == (3, 5, 2) and states.shape == (3, 5, 4)
        assert torch.allclose(outputs.sum(-1), torch.ones(3, 5, dtype=torch.float64))


def test_action_values_read_the_input_first_and_action_values_at_take_the_belief():
    """``action_values(x, s)`` is Q after reading x from s; at t = 0 the input is all zeros, so
    it equals ``action_values_at`` of the prior belief, and after a rewarded pull of arm 0 it
    equals ``action_values_at`` of the updated belief."""
    opt = machines.load("opt:bernoulli-bandit")
    prior = opt.initial_state(1)
    zeros = torch.zeros(1, opt.input_dim, dtype=torch.float64)
    assert torch.equal(opt.action_values(zeros, prior), opt.action_values_at(prior))
    pulled = torch.tensor([[1.0, 0.0, 1.0, 1 / 20]], dtype=torch.float64)
    _, after = opt.step(pulled, prior)
    assert torch.equal(opt.action_values(pulled, prior), opt.action_values_at(after))
    q = opt.action_values_at(after)[0]
    assert q[0] > q[1]
