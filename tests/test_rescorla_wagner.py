"""The Rescorla-Wagner agent and the per-episode maximum-likelihood fit of its softmax version."""

import numpy as np
import pytest
import torch

from simlib import tasks
from simlib.machine import unroll
from simlib.machines.rescorla_wagner import RescorlaWagnerAgent
from simlib.rescorla_wagner_fit import (
    fit_rescorla_wagner,
    learning_rate_regression,
    rescorla_wagner_log_likelihood,
)
from simlib.traces import sample_traces

torch.set_num_threads(1)

ALPHAS = (0.1, 0.5)
BETAS = (3.0, 10.0)
EPISODES = 50


def inputs(task, steps):
    """``[B, T, input_dim]`` inputs for ``steps[b] = [(arm, reward), ...]`` (t = 0 is the empty input)."""
    rows = []
    for sequence in steps:
        xs = [task.first_input(1)]
        for t, (arm, reward) in enumerate(sequence, start=1):
            xs.append(task.encode_step(torch.tensor([arm]), torch.tensor([reward], dtype=torch.float64), t))
        rows.append(torch.cat(xs))
    return torch.stack(rows)


def hand_values(sequence, alpha, arms, start):
    """The values after every input, by hand: ``[T + 1, arms]``."""
    v = [start] * arms
    out = [list(v)]
    for arm, reward in sequence:
        v[arm] += alpha * (reward - v[arm])
        out.append(list(v))
    return torch.tensor(out, dtype=torch.float64)


SEQUENCES = [[(0, 1.0), (1, 0.0), (0, 0.0), (0, 1.0)], [(1, 1.0), (1, 1.0), (0, 1.0), (1, 0.0)]]


def test_value_update_and_greedy_readout_match_hand_computation():
    task = tasks.get("restless-bandit")
    agent = RescorlaWagnerAgent(task, alpha=0.3)
    assert agent.state_dim == 2 and agent.input_dim == task.input_dim
    assert agent.state_names == ("value0", "value1")
    assert torch.equal(agent.initial_state(3), torch.full((3, 2), 0.5, dtype=torch.float64))
    x = inputs(task, SEQUENCES)
    outputs, states = unroll(agent, x)
    for b, sequence in enumerate(SEQUENCES):
        values = hand_values(sequence, 0.3, 2, 0.5)
        # states[:, t] is the state before reading input t; the state after it is values[t].
        assert torch.allclose(states[b], torch.cat([values[:1], values[:-1]]), atol=1e-12)
        _, final = agent.step(x[b, -1:], states[b, -1:])
        assert torch.allclose(final[0], values[-1], atol=1e-12)
        best = values.argmax(1)
        ties = values[:, 0] == values[:, 1]
        expected = torch.nn.functional.one_hot(best, 2).to(torch.float64)
        expected[ties] = 0.5
        assert torch.allclose(outputs[b], expected)
    # By hand, sequence 0: V0 = 0.5 -> 0.65 -> 0.455 -> 0.6185; V1 = 0.5 -> 0.35.
    assert torch.allclose(agent.step(x[0, -1:], states[0, -1:])[1], torch.tensor([[0.6185, 0.35]], dtype=torch.float64))


def test_softmax_readout_and_initial_value():
    task = tasks.get("independent-bandit")
    agent = RescorlaWagnerAgent(task, alpha=0.6, beta=4.0, initial_value=0.2)
    assert torch.equal(agent.initial_state(1), torch.full((1, 2), 0.2, dtype=torch.float64))
    x = inputs(task, SEQUENCES)
    outputs, _ = unroll(agent, x)
    for b, sequence in enumerate(SEQUENCES):
        values = hand_values(sequence, 0.6, 2, 0.2)
        assert torch.allclose(outputs[b], torch.softmax(4.0 * values, dim=1), atol=1e-12)
    zero = RescorlaWagnerAgent(task, alpha=0.6, beta=0.0)
    assert torch.allclose(unroll(zero, x)[0], torch.full((2, 5, 2), 0.5, dtype=torch.float64))
    # float32 inputs and states are accepted; the state comes back float64, the input untouched.
    x32 = x[:, 1].float()
    before = x32.clone()
    probs, state = agent.step(x32, agent.initial_state(2).float())
    assert state.dtype == torch.float64 and torch.equal(x32, before)
    assert torch.allclose(probs.sum(1), torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": -0.1},
        {"alpha": 1.5},
        {"alpha": float("nan")},
        {"alpha": 0.5, "beta": -1.0},
        {"alpha": 0.5, "beta": float("inf")},
        {"alpha": 0.5, "beta": float("nan")},
        {"alpha": 0.5, "initial_value": float("nan")},
    ],
)
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ValueError, match="alpha|beta|initial_value"):
        RescorlaWagnerAgent(tasks.get("restless-bandit"), **kwargs)


@pytest.fixture(scope="module")
def restless_choices():
    """Softmax R-W choosers on Wang's drifting two-armed bandit: 50 episodes of 400 per (alpha, beta)."""
    task = tasks.get("restless-bandit", horizon=400)
    actions, rewards, truth, own = [], [], [], []
    for i, alpha in enumerate(ALPHAS):
        for j, beta in enumerate(BETAS):
            name = "rw"
            traces = sample_traces(task, {name: RescorlaWagnerAgent(task, alpha, beta)}, EPISODES, seed=10 * i + j)
            a = traces.action.values.astype(int)
            actions.append(a)
            rewards.append(traces.reward.values)
            truth.append(np.tile([alpha, beta], (EPISODES, 1)))
            probs = np.take_along_axis(traces[f"{name}_output"].values, a[..., None], axis=2)[..., 0]
            own.append(np.log(probs).sum(1))
    actions, rewards, truth = np.concatenate(actions), np.concatenate(rewards), np.concatenate(truth)
    return actions, rewards, truth, np.concatenate(own), fit_rescorla_wagner(actions, rewards, arms=2)


def test_fit_recovers_parameters(restless_choices):
    actions, rewards, truth, _, fit = restless_choices
    assert fit.alpha.shape == fit.beta.shape == fit.log_likelihood.shape == (len(ALPHAS) * len(BETAS) * EPISODES,)
    assert fit.converged.all()
    assert ((fit.alpha >= 0) & (fit.alpha <= 1) & (fit.beta >= 0) & (fit.beta <= 100)).all()
    blocks = {}
    for k, (alpha, beta) in enumerate((a, b) for a in ALPHAS for b in BETAS):
        rows = slice(k * EPISODES, (k + 1) * EPISODES)
        blocks[alpha, beta] = fit.alpha[rows]
        assert abs(np.median(fit.alpha[rows]) - alpha) < 0.2 * alpha, (alpha, beta)
        assert abs(np.median(fit.beta[rows]) - beta) < 0.2 * beta, (alpha, beta)
    for beta in BETAS:
        low, high = blocks[ALPHAS[0], beta], blocks[ALPHAS[1], beta]
        assert (low[:, None] < high[None, :]).mean() >= 0.99, beta


def test_fit_is_a_maximiser_and_matches_the_agent(restless_choices):
    actions, rewards, truth, own, fit = restless_choices
    at_truth = rescorla_wagner_log_likelihood(actions, rewards, 2, truth[:, 0], truth[:, 1])
    # The fit's model is the agent's: its likelihood at the true parameters is the agent's own.
    np.testing.assert_allclose(at_truth, own, rtol=1e-10, atol=1e-8)
    assert (fit.log_likelihood >= at_truth - 1e-8).all()
    at_fit = rescorla_wagner_log_likelihood(actions, rewards, 2, fit.alpha, fit.beta)
    np.testing.assert_allclose(fit.log_likelihood, at_fit, rtol=1e-12, atol=1e-9)
    # No nearby point is better: a local maximum in every episode.
    for da, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-2), (0, -1e-2)]:
        alpha, beta = np.clip(fit.alpha + da, 0, 1), np.clip(fit.beta + db, 0, 100)
        assert (rescorla_wagner_log_likelihood(actions, rewards, 2, alpha, beta) <= fit.log_likelihood + 1e-9).all()


def test_fit_three_arms_torch_inputs_and_validation():
    task = tasks.get("independent-bandit", arms=3, horizon=300)
    traces = sample_traces(task, {"rw": RescorlaWagnerAgent(task, 0.3, 5.0)}, 12, seed=3)
    actions = torch.from_numpy(traces.action.values)  # float-valued arm indices, as traces store them
    rewards = torch.from_numpy(traces.reward.values)
    fit = fit_rescorla_wagner(actions, rewards, arms=3)
    at_truth = rescorla_wagner_log_likelihood(actions, rewards, 3, 0.3, 5.0)
    assert (fit.log_likelihood >= at_truth - 1e-8).all()
    assert 0.15 < np.median(fit.alpha) < 0.6 and 2.5 < np.median(fit.beta) < 10
    same = fit_rescorla_wagner(actions.numpy().astype(int), rewards.numpy(), arms=3)
    np.testing.assert_allclose(same.alpha, fit.alpha)
    with pytest.raises(ValueError, match="arm indices"):
        fit_rescorla_wagner(np.full((2, 3), 3), np.zeros((2, 3)), arms=3)
    with pytest.raises(ValueError, match="integer"):
        fit_rescorla_wagner(np.full((2, 3), 0.5), np.zeros((2, 3)), arms=3)
    with pytest.raises(ValueError, match="episodes, trials"):
        fit_rescorla_wagner(np.zeros((2, 3), int), np.zeros((2, 4)), arms=3)
    with pytest.raises(ValueError, match="beta_max"):
        fit_rescorla_wagner(np.zeros((2, 3), int), np.zeros((2, 3)), arms=3, beta_max=0)
    with pytest.raises(ValueError, match="initial_value"):
        fit_rescorla_wagner(np.zeros((2, 3), int), np.zeros((2, 3)), arms=3, initial_value=[0.5, 0.5])


def test_learning_rate_regression():
    x = np.linspace(0.0, 0.2, 30)
    exact = learning_rate_regression(0.1 + 2.0 * x, x)
    assert exact["r2"] == pytest.approx(1.0, abs=1e-12)
    assert exact["slope"] == pytest.approx(2.0, rel=1e-10) and exact["intercept"] == pytest.approx(0.1, abs=1e-10)
    assert exact["n"] == 30
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.2, 200)
    strong = learning_rate_regression(0.2 + x + rng.normal(0, 0.02, 200), x)
    assert strong["p_value"] < 1e-10 and 0.8 < strong["r2"] < 1 and strong["slope"] == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ValueError, match="one value per episode"):
        learning_rate_regression(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="constant"):
        learning_rate_regression(np.arange(5.0), np.ones(5))
