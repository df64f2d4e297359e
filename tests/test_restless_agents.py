"""The restless bandit's grid filter, its Bayes-optimal (greedy) agent and Wang's Thompson baseline."""

import math

import numpy as np
import pytest
import torch

from simlib import tasks
from simlib.behaviour import bayes_regret, evaluate_play
from simlib.machines.restless_agents import (
    RestlessBayesAgent,
    RestlessFilter,
    RestlessThompsonAgent,
    prior_mean_volatility,
    volatility_quadrature,
    walk_kernel,
)
from simlib.random import make_generator
from simlib.tasks.restless import RestlessBandit, reflect
from simlib.traces import sample_traces

torch.set_num_threads(1)


def flips(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def run_filter(filt: RestlessFilter, sequences: np.ndarray) -> torch.Tensor:
    """The belief after feeding each row of flips ``sequences [B, n]`` (every flip seen)."""
    belief = filt.initial(sequences.shape[0])
    seen = torch.ones(sequences.shape[0], dtype=torch.bool)
    for t in range(sequences.shape[1]):
        belief = filt.update(belief, torch.from_numpy(sequences[:, t]).to(torch.float64), seen)
    return belief


@pytest.mark.parametrize("cells", [2, 7, 50])
@pytest.mark.parametrize("sd", [0.0, 0.004, 0.05, 0.2, math.sqrt(0.2), 1.5])
def test_walk_kernel_rows_are_distributions(cells, sd):
    kernel = walk_kernel(cells, sd)
    assert kernel.shape == (cells, cells) and kernel.dtype == torch.float64
    assert torch.all(kernel >= 0)
    assert torch.allclose(kernel.sum(1), torch.ones(cells, dtype=torch.float64), atol=1e-12)
    if sd == 0.0:
        assert torch.equal(kernel, torch.eye(cells, dtype=torch.float64))
    # the reflected walk is symmetric under p -> 1 - p
    assert torch.allclose(kernel, kernel.flip(0).flip(1), atol=1e-12)


@pytest.mark.parametrize("sd", [0.03, 0.3, 0.9])
def test_walk_kernel_matches_sampled_reflected_walk(sd):
    cells, draws = 7, 100_000
    centres = (torch.arange(cells, dtype=torch.float64) + 0.5) / cells
    generator = make_generator(1)
    z = torch.randn(cells, draws, dtype=torch.float64, generator=generator)
    moved = reflect(centres[:, None] + sd * z)
    index = (moved * cells).floor().clamp(0, cells - 1).long()
    sampled = torch.nn.functional.one_hot(index, cells).to(torch.float64).mean(1)
    kernel = walk_kernel(cells, sd)
    se = (kernel * (1 - kernel) / draws).sqrt()
    assert torch.all((sampled - kernel).abs() <= 5 * se + 1e-12)


def test_volatility_quadrature_and_prior():
    task = tasks.get("restless-bandit")
    nodes, weights = volatility_quadrature(task, 3)
    assert nodes.shape == (6,) and abs(weights.sum() - 1) < 1e-14
    assert np.all((nodes > 0) & (nodes < 6 / 30)) and not np.any((nodes > 2 / 30) & (nodes < 4 / 30))
    assert abs(weights[:3].sum() - 0.5) < 1e-14  # the two intervals are equally long
    assert abs(prior_mean_volatility(task) - 0.1) < 1e-15
    filt = RestlessFilter(task, cells=9, volatility_nodes=2)
    prior = filt.initial(3)
    assert prior.shape == (3, 4 * 9) and torch.allclose(prior.sum(1), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(filt.mean_volatility(prior), torch.full((3,), 0.1, dtype=torch.float64))
    assert torch.allclose(filt.mean_p1(prior), torch.full((3,), 0.5, dtype=torch.float64))
    assert torch.allclose(filt.prob_above_half(prior), torch.full((3,), 0.5, dtype=torch.float64))
    narrow = RestlessFilter(RestlessBandit(initial=(0.2, 0.45)), cells=20, volatility_nodes=1)
    marginal = narrow.p1_marginal(narrow.initial(1))[0]
    assert torch.allclose(marginal[4:9], torch.tensor([0.2, 0.2, 0.2, 0.2, 0.2], dtype=torch.float64))
    assert abs(float(narrow.mean_p1(narrow.initial(1))) - 0.325) < 1e-12
    assert float(narrow.prob_above_half(narrow.initial(1))) == 0.0
    variance = RestlessFilter(RestlessBandit(volatility_is="variance"), cells=5, volatility_nodes=1)
    assert torch.allclose(variance.walk_stds, variance.volatilities.sqrt())


def test_frozen_walk_gives_the_beta_posterior_mean():
    task = tasks.get("restless-bandit")
    filt = RestlessFilter(task, cells=200, volatility=0.0)
    assert filt.n_volatilities == 1
    rows = [(h, n) for n in (1, 5, 12, 30) for h in range(0, n + 1, max(1, n // 4))]
    length = max(n for _, n in rows)
    sequences = np.zeros((len(rows), length))
    seen = np.zeros((len(rows), length), dtype=bool)
    for r, (h, n) in enumerate(rows):
        sequences[r, :h] = 1.0
        seen[r, :n] = True
    belief = filt.initial(len(rows))
    for t in range(length):
        belief = filt.update(belief, torch.from_numpy(sequences[:, t]), torch.from_numpy(seen[:, t]))
    exact = np.array([(h + 1) / (n + 2) for h, n in rows])
    assert np.abs(filt.mean_p1(belief).numpy() - exact).max() < 1e-3


def test_filter_matches_an_importance_weighted_particle_estimate():
    """The grid filter against the continuous model: particles with nu from the prior, weighted by the flips."""
    task = tasks.get("restless-bandit")
    observed = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0]
    generator = make_generator(7)
    particles = 400_000
    nu = task.sample_theta(particles, generator)[:, 0]
    p = torch.rand(particles, dtype=torch.float64, generator=generator)
    log_w = torch.zeros(particles, dtype=torch.float64)
    for y in observed:
        log_w += torch.log(p if y else 1.0 - p)
        z = torch.randn(particles, dtype=torch.float64, generator=generator)
        p = reflect(p + task.walk_std(nu) * z)
    w = torch.exp(log_w - log_w.max())
    w /= w.sum()
    ess = float(1.0 / (w**2).sum())
    assert ess > 0.1 * particles

    filt = RestlessFilter(task, cells=200, volatility_nodes=8)
    belief = run_filter(filt, np.array([observed], dtype=np.float64))
    for statistic, grid_value in (
        (p, filt.mean_p1(belief)),
        (nu, filt.mean_volatility(belief)),
        ((p > 0.5).to(torch.float64), filt.prob_above_half(belief)),
    ):
        estimate = float((w * statistic).sum())
        se = math.sqrt(float((w * (statistic - estimate) ** 2).sum()) / ess)
        assert abs(float(grid_value) - estimate) < 4 * se + 5e-4, (float(grid_value), estimate, se)


def test_filter_matches_a_forward_recursion_by_hand():
    """Batched update (mixed seen / unseen rows) against a per-episode, per-volatility numpy loop."""
    task = RestlessBandit(initial=(0.1, 0.9))
    filt = RestlessFilter(task, cells=5, volatility_nodes=1)
    kernels = [walk_kernel(5, float(sd)).numpy() for sd in filt.walk_stds]
    centres = (np.arange(5) + 0.5) / 5
    rng = np.random.default_rng(3)
    batch, steps = 6, 9
    ys = rng.integers(0, 2, (batch, steps)).astype(np.float64)
    seen = rng.random((batch, steps)) < 0.7
    belief = filt.initial(batch)
    for t in range(steps):
        belief = filt.update(belief, torch.from_numpy(ys[:, t]), torch.from_numpy(seen[:, t]))
    prior_p1 = np.array([0.5, 1.0, 1.0, 1.0, 0.5]) / 4.0
    for e in range(batch):
        joint = np.outer(filt.volatility_weights.numpy(), prior_p1)
        for t in range(steps):
            if not seen[e, t]:
                continue
            joint = joint * np.where(ys[e, t] == 1, centres, 1 - centres)
            joint /= joint.sum()
            joint = np.stack([joint[k] @ kernels[k] for k in range(len(kernels))])
        assert np.allclose(belief[e].numpy(), joint.reshape(-1), atol=1e-13)


def test_either_arm_shows_the_same_flip():
    """Arm 1 paying r and arm 2 paying 1 - r leave the same belief: the belief ignores which arm was pulled."""
    task = tasks.get("restless-bandit")
    agent = RestlessBayesAgent(task, cells=20, volatility_nodes=2)
    s = agent.initial_state(1)
    for t, (arm, reward) in enumerate([(0, 1.0), (1, 0.0), (1, 1.0), (0, 1.0)]):
        other = 1 - arm
        x_a = task.encode_step(torch.tensor([arm]), torch.tensor([reward], dtype=torch.float64), t + 1)
        x_b = task.encode_step(torch.tensor([other]), torch.tensor([1.0 - reward], dtype=torch.float64), t + 1)
        y_a, s_a = agent.step(x_a, s)
        y_b, s_b = agent.step(x_b, s)
        assert torch.allclose(s_a, s_b, atol=1e-15) and torch.allclose(y_a, y_b)
        s = s_a
    first_policy, first_state = agent.step(task.first_input(2), agent.initial_state(2))
    assert torch.equal(first_state, agent.initial_state(2))  # nothing seen at t = 0: no walk step either
    assert torch.allclose(first_policy, torch.full((2, 2), 0.5, dtype=torch.float64))


def expectimax(agent: RestlessBayesAgent, belief: torch.Tensor, t: int, visited: list) -> tuple[float, float]:
    """(optimal value, greedy policy's value) from decision belief ``belief`` at step ``t`` by exhaustive search.

    Transitions go through the machine's input: the chosen arm and its reward, with
    ``P(r = 1 | arm)`` the arm's expected mean under the belief; the Q values depend on the arm
    explicitly (nothing assumes the flip trick).
    """
    task = agent.task
    if t == task.horizon:
        return 0.0, 0.0
    marginal = agent.filter.p1_marginal(belief)[0]
    arm_means = [float(marginal @ agent.filter.centres), float(marginal @ (1 - agent.filter.centres))]
    q_opt, q_greedy = [], []
    for arm in (0, 1):
        v_opt = v_greedy = arm_means[arm]
        for reward, prob in ((1.0, arm_means[arm]), (0.0, 1.0 - arm_means[arm])):
            x = task.encode_step(torch.tensor([arm]), torch.tensor([reward], dtype=torch.float64), t + 1)
            following = agent.read(x, belief)
            child_opt, child_greedy = expectimax(agent, following, t + 1, visited)
            v_opt += task.discount * prob * child_opt
            v_greedy += task.discount * prob * child_greedy
        q_opt.append(v_opt)
        q_greedy.append(v_greedy)
    policy = agent.policy(belief)[0].numpy()
    visited.append((np.array(q_opt), agent.action_values_at(belief)[0].numpy(), policy))
    return max(q_opt), float(policy @ np.array(q_greedy))


@pytest.mark.parametrize(
    "nodes, discount, initial",
    [(1, 1.0, (0.0, 1.0)), (1, 0.9, (0.1, 0.8)), (2, 1.0, (0.3, 0.65))],
)
def test_greedy_is_the_full_belief_mdp_solution(nodes, discount, initial):
    task = RestlessBandit(horizon=4, discount=discount, initial=initial, volatilities=((0.0, 0.1), (0.25, 0.4)))
    agent = RestlessBayesAgent(task, cells=6, volatility_nodes=nodes)
    visited = []
    optimal, greedy = expectimax(agent, agent.initial_state(1), 0, visited)
    assert len(visited) == sum(4**t for t in range(task.horizon))
    assert abs(optimal - greedy) < 1e-12
    gaps = 0
    for q, values, policy in visited:
        # Q* differs between the arms exactly as the immediate expected rewards do (equal continuation)
        assert abs((q[0] - q[1]) - (values[0] - values[1])) < 1e-12
        if abs(q[0] - q[1]) > 1e-9:
            gaps += 1
            assert policy[int(np.argmax(q))] == 1.0
        else:
            assert np.allclose(policy, 0.5)
    assert gaps > len(visited) // 2


def test_bayes_agent_beats_thompson_and_uniform(uniform_policy):
    task = tasks.get("restless-bandit", horizon=30)
    bayes = RestlessBayesAgent(task, cells=30, volatility_nodes=2)
    thompson = RestlessThompsonAgent(task, cells=30)
    episodes = 2000
    optimal, _ = evaluate_play(task, bayes, episodes, 0)
    sampled, _ = evaluate_play(task, thompson, episodes, 0)
    uniform, _ = evaluate_play(task, uniform_policy(4), episodes, 0)
    for other in (sampled, uniform):
        difference = optimal - other
        assert difference.mean() > 4 * difference.std(ddof=1) / math.sqrt(episodes)
    assert abs(uniform.mean() / task.horizon - 0.5) < 0.02
    estimate = bayes.expected_return(episodes=episodes, seed=0, chunk=5000)  # evaluate_play's chunking
    assert estimate == pytest.approx(optimal.mean(), abs=1e-12) and bayes.expected_return_se > 0
    assert bayes.expected_return_se == pytest.approx(optimal.std(ddof=1) / math.sqrt(episodes))
    assert bayes.expected_return(episodes=episodes, seed=0, chunk=5000) == estimate  # cached

    traces = sample_traces(task, {"opt": bayes, "ts": thompson}, 300, seed=2)
    inputs = torch.from_numpy(traces["input"].values).reshape(-1, task.input_dim)
    states = torch.from_numpy(traces["opt_state"].values).reshape(-1, bayes.state_dim)
    values = bayes.action_values(inputs, states).numpy()
    policy = traces["opt_output"].values.reshape(-1, 2)
    gap = values[:, 0] - values[:, 1]
    clear = np.abs(gap) > 1e-9
    assert clear.mean() > 0.9
    assert np.all(np.argmax(values[clear], 1) == np.argmax(policy[clear], 1))
    assert np.allclose(policy[~clear], 0.5)
    assert np.abs(bayes_regret(traces, "opt", "opt", bayes)).max() < 1e-12
    assert bayes_regret(traces, "ts", "opt", bayes).mean() > 0.01
    ts_output = traces["ts_output"].values
    assert np.allclose(ts_output.sum(-1), 1.0) and np.allclose(ts_output[:, 0], 0.5)


def test_refining_the_grid_barely_moves_the_posterior_mean():
    task = tasks.get("restless-bandit", horizon=60)
    coarse = RestlessBayesAgent(task, cells=50, volatility_nodes=4)
    fine = RestlessBayesAgent(task, cells=200, volatility_nodes=4)
    traces = sample_traces(task, {"coarse": coarse, "fine": fine}, 100, seed=5)
    m_coarse = coarse.mean_p1(torch.from_numpy(traces["coarse_state"].values).reshape(-1, coarse.state_dim))
    m_fine = fine.mean_p1(torch.from_numpy(traces["fine_state"].values).reshape(-1, fine.state_dim))
    assert float((m_coarse - m_fine).abs().max()) < 5e-3
    assert float((m_coarse - m_fine).abs().mean()) < 1e-3
    nu_coarse = coarse.mean_volatility(torch.from_numpy(traces["coarse_state"].values[:, -1]))
    nu_fine = fine.mean_volatility(torch.from_numpy(traces["fine_state"].values[:, -1]))
    assert float((nu_coarse - nu_fine).abs().max()) < 5e-3


def test_machine_protocol_and_validation():
    task = tasks.get("restless-bandit")
    agent = RestlessBayesAgent(task, cells=10, volatility_nodes=3)
    assert agent.state_dim == 60 and agent.input_dim == task.input_dim
    assert agent.state_names[:2] == ("b0_0", "b0_1") and agent.state_names[-1] == "b5_9"
    thompson = RestlessThompsonAgent(task, cells=10)
    assert thompson.volatility == pytest.approx(0.1) and thompson.state_dim == 10
    assert RestlessThompsonAgent(task, volatility=0.0).filter.walk_stds.tolist() == [0.0]
    x = task.encode_step(torch.tensor([0, 1, 1]), flips([1.0, 0.0, 1.0]), 1).to(torch.float32)
    for machine in (agent, thompson):
        s = machine.initial_state(3).to(torch.float32)
        x_before, s_before = x.clone(), s.clone()
        y, s_next = machine.step(x, s)
        assert y.dtype == torch.float64 and s_next.dtype == torch.float64 and y.shape == (3, 2)
        assert torch.equal(x, x_before) and torch.equal(s, s_before)
        assert torch.allclose(s_next.sum(1), torch.ones(3, dtype=torch.float64))
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match="cells"):
            RestlessBayesAgent(task, cells=bad)
        with pytest.raises(ValueError, match="cells"):
            RestlessThompsonAgent(task, cells=bad)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="volatility_nodes"):
            RestlessBayesAgent(task, volatility_nodes=bad)
    for bad in (-0.1, math.nan, math.inf, "fast"):
        with pytest.raises(ValueError, match="volatility"):
            RestlessThompsonAgent(task, volatility=bad)
    with pytest.raises(TypeError, match="RestlessBandit"):
        RestlessBayesAgent(tasks.get("bernoulli-bandit"))
