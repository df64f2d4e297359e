"""Closed-loop comparison on the bandit tasks: eq. (3), Bayes regret, D_o by pseudo-reward, drivers."""

import json

import numpy as np
import pytest
import torch

from simlib import SimlibError, machines, tasks
from simlib.behaviour import return_difference, reward_gap
from simlib.cli.app import main
from simlib.compare import compare
from simlib.simulation import Simulation
from simlib.traces import sample_traces, split_episodes


@pytest.fixture(scope="module")
def short_bandit():
    return tasks.get("bernoulli-bandit", horizon=10)


def test_a_reparametrised_optimal_agent_is_indistinguishable(short_bandit):
    opt = machines.BayesOptimalAgent(short_bandit)
    rotated = machines.rotate(opt, machines.random_orthogonal(4, seed=3, reflect=True))
    report = compare(rotated, opt, short_bandit, episodes=400, seed=0)
    behaviour = report.behaviour
    assert behaviour.value == 0.0 and behaviour.regret == {"a": pytest.approx(0.0, abs=1e-12), "b": 0.0}
    assert behaviour.difference == 0.0 and report.intervals["behaviour"] == [0.0, 0.0]
    for key, direction in (("a_to_b", report.a_to_b), ("b_to_a", report.b_to_a)):
        assert direction.mlp.d_s < 1e-3 and direction.linear.d_s < 1e-8
        assert direction.linear.d_o < 1e-9 and direction.shuffled.d_s > 0.5
        assert abs(direction.linear.d_o_signed) < 1e-9
        assert report.p_values[key] == {"d_s": pytest.approx(1 / 2001), "d_o": pytest.approx(1 / 2001)}
    assert report.a_to_b.mlp.output_measure.startswith("|pseudo-return")
    # a rotation and reflection of the same states: every closed-form baseline calls them identical
    assert report.baselines == {"cka": pytest.approx(1.0), "procrustes": pytest.approx(0.0, abs=1e-6), "cca": pytest.approx(1.0)}


@pytest.fixture(scope="module")
def close_policies(short_bandit):
    """Thompson sampling against UCB: mean returns within one standard error on 100 episodes."""
    thompson, ucb = machines.ThompsonAgent(short_bandit), machines.UCBAgent(short_bandit)
    return compare(thompson, ucb, short_bandit, episodes=100, seed=0, resamples=400)


def test_the_behaviour_interval_is_of_the_signed_difference_and_can_cover_zero(close_policies):
    from simlib.bootstrap import bootstrap_ci

    behaviour, summary = close_policies.behaviour, close_policies.to_dict()["behaviour"]
    assert behaviour.value == abs(behaviour.difference) and behaviour.difference == pytest.approx(behaviour.per_episode.mean())
    low, high = summary["interval"]
    assert summary["interval"] == close_policies.intervals["behaviour"] == list(bootstrap_ci(behaviour.per_episode, 400, 0.95, 0))
    assert low < 0.0 < high and low <= summary["difference"] <= high  # the interval of |gap| would exclude 0
    assert "signed" in summary["interval_of"]


def test_bandit_d_o_is_eq3_beside_per_step_absolute_gaps_that_cannot_cancel(close_policies):
    test = close_policies.test_traces
    cancelled = []
    for direction in (close_policies.a_to_b, close_policies.b_to_a):
        for result in (direction.mlp, direction.linear):
            original = test[f"{result.source}_output"].values
            gap = reward_gap(test, original, result.simulated_output)
            np.testing.assert_allclose(result.d_o_abs_per_episode, np.abs(gap).sum(1), atol=1e-12)
            np.testing.assert_allclose(result.d_o_signed_per_episode, gap.sum(1), atol=1e-12)
            np.testing.assert_allclose(result.d_o_per_episode, gap.sum(1), atol=1e-12)
            assert result.d_o == pytest.approx(abs(result.d_o_per_time.sum())) == pytest.approx(abs(result.d_o_signed))
            assert result.d_o_abs == pytest.approx(np.abs(gap).sum(1).mean())
            assert (result.d_o_abs_per_episode >= np.abs(result.d_o_signed_per_episode) - 1e-12).all()
            cancelled.append(result.d_o_abs - result.d_o)
    assert max(cancelled) > 0.1  # eq. (3)'s signed gap hides much of what the per-step gaps see
    boot, mlp = close_policies.intervals["a_to_b"], close_policies.a_to_b.mlp
    assert boot["d_o"][0] <= mlp.d_o_signed <= boot["d_o"][1]  # the interval is of the signed gap
    assert boot["d_o_abs"][0] <= mlp.d_o_abs <= boot["d_o_abs"][1]


def test_eq3_reports_standard_error_returns_and_regret(short_bandit):
    opt = machines.BayesOptimalAgent(short_bandit)
    thompson = machines.ThompsonAgent(short_bandit)
    behaviour = return_difference(short_bandit, thompson, opt, 2000, 1, critic=opt)
    assert behaviour.returns["b"] > behaviour.returns["a"]
    assert behaviour.value == pytest.approx(behaviour.returns["b"] - behaviour.returns["a"])
    assert 0 < behaviour.standard_error < behaviour.value
    assert behaviour.regret["a"] > 0.005 and behaviour.regret["b"] == 0.0
    # the regret sums to the return gap in expectation (both measured on each machine's own play)
    assert behaviour.regret["a"] * 10 == pytest.approx(behaviour.value, abs=4 * behaviour.standard_error)


def test_the_driver_acts_and_every_machine_sees_its_stream(short_bandit):
    opt, ucb = machines.BayesOptimalAgent(short_bandit), machines.UCBAgent(short_bandit)
    traces = sample_traces(short_bandit, {"ucb": ucb, "opt": opt}, 200, seed=0, driver="opt")
    chosen = traces["action"].values.astype(int)
    opt_policy = traces["opt_output"].values
    assert (np.take_along_axis(opt_policy, chosen[..., None], -1) > 0).all()
    np.testing.assert_allclose(traces["mean_reward"].values, np.broadcast_to(traces["theta"].values[:, None], (200, short_bandit.horizon, 2)))
    assert (traces["ucb_state"].values[:, -1].sum(-1) == short_bandit.horizon - 2).all()
    report = compare(ucb, opt, short_bandit, episodes=200, seed=0, driver="b", resamples=50)
    assert report.traces.attrs["driver"] == "b"
    summary = report.to_dict()["behaviour"]
    assert set(summary) >= {"standard_error", "returns", "regret_per_step"}


def test_output_dissimilarity_scores_both_policies_by_the_true_means(short_bandit):
    traces = sample_traces(short_bandit, {"opt": machines.BayesOptimalAgent(short_bandit)}, 50, seed=0)
    policy = traces["opt_output"].values
    flipped = policy[..., ::-1]
    gap = reward_gap(traces, policy, flipped)
    means = traces["mean_reward"].values
    expected = ((policy[..., 0] - policy[..., 1]) * (means[..., 0] - means[..., 1]))
    np.testing.assert_allclose(gap, expected, atol=1e-12)
    discounted = sample_traces(tasks.get("bernoulli-bandit", horizon=10, discount=0.5), {"x": machines.UCBAgent(
        tasks.get("bernoulli-bandit", horizon=10, discount=0.5))}, 5, seed=0)
    assert discounted.attrs["discount"] == 0.5


def test_a_machine_that_ignores_its_evidence_does_not_simulate_the_optimal_agent(short_bandit):
    opt = machines.BayesOptimalAgent(short_bandit)

    class Stubborn:
        input_dim, state_dim, output = 4, 4, opt.output

        def initial_state(self, batch):
            return torch.zeros(batch, 4, dtype=torch.float64)

        def step(self, x, s):
            return torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(x.shape[0], 2), s + x

    traces = sample_traces(short_bandit, {"opt": opt, "stubborn": Stubborn()}, 400, seed=0)
    train, test = split_episodes(traces, 0.25, 0)
    fitted = Simulation(Stubborn(), "opt", "stubborn", output_measure="return").fit(train)
    result = fitted.evaluate(test)
    assert result.d_o > 0.3
    labelled = result.to_dataset()  # closed loop: the signed and absolute gaps per episode
    assert abs(float(labelled["d_o_signed"].mean())) == pytest.approx(result.d_o)
    assert float(labelled["d_o_abs"].mean()) == pytest.approx(result.d_o_abs)
    assert float(labelled["d_o"].sum("time").mean()) == pytest.approx(result.d_o_signed)
    coin = machines.load("opt:beta-bernoulli")
    open_loop = sample_traces(tasks.get("beta-bernoulli"), {"a": machines.load("opt:beta-bernoulli"), "b": coin}, 20)
    with pytest.raises(SimlibError, match="closed-loop"):
        Simulation(coin, output_measure="return").fit(open_loop)


def test_cli_compares_bandit_baselines(capsys):
    code = main(["compare", "thompson:bernoulli-bandit", "opt:bernoulli-bandit", "--episodes", "100", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["behaviour"]["regret_per_step"]["b"] == 0.0 and report["behaviour"]["standard_error"] > 0
    code = main(["compare", "ucb:gaussian-bandit", "thompson:gaussian-bandit", "--episodes", "100", "--driver", "b"])
    out = capsys.readouterr().out
    assert code == 0 and "mean Bayes regret per step" in out and "D_o (reward)" in out
    assert main(["compare", "ucb:gaussian-bandit", "opt:gaussian-bandit", "--driver", "c"]) == 2
    assert main(["compare", "gittins:bernoulli-bandit@7", "opt:bernoulli-bandit"]) == 2
    assert "simlib: error:" in capsys.readouterr().err
