"""compare(): the report, its controls, closed-loop comparisons and task resolution."""

import json

import numpy as np
import pytest
import torch

from simlib import SimlibError, machines, tasks
from simlib.compare import compare, resolve_task


@pytest.fixture(scope="module")
def report():
    return compare(machines.load("history:beta-bernoulli"), machines.load("opt:beta-bernoulli"), episodes=200, seed=1)


def test_report_dict_has_the_documented_contract(report):
    summary = report.to_dict()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["task"] == "beta-bernoulli"
    assert (summary["a"], summary["b"]) == ("history:beta-bernoulli", "opt:beta-bernoulli")
    assert (summary["episodes"], summary["seed"], summary["test_episodes"]) == (200, 1, 40)
    assert summary["behaviour"]["metric"] == "kl(b||a)" and summary["behaviour"]["value"] == 0.0
    assert summary["settings"]["threads"] == 1
    assert (summary["a_to_b"]["simulated"], summary["a_to_b"]["simulator"]) == (summary["a"], summary["b"])
    assert (summary["b_to_a"]["simulated"], summary["b_to_a"]["simulator"]) == (summary["b"], summary["a"])
    for key in ("a_to_b", "b_to_a"):
        assert {"d_s", "d_o", "linear", "converged", "stopped", "n_components"} <= set(summary[key])
        assert set(summary["controls"]["shuffled"][key]) == {"d_s", "d_o"}
        low, high = summary["controls"]["bootstrap"][key]["d_s"]
        assert low <= summary[key]["d_s"] <= high
        p_values = summary["controls"]["p_values"][key]
        assert set(p_values) == {"d_s", "d_o"} and all(0 < p <= 1 for p in p_values.values())
        assert summary[key]["d_o_signed"] is None  # a divergence has no sign
    assert summary["controls"]["p_values"]["flips"] == 2000
    assert summary["controls"]["p_values"]["a_to_b"]["d_s"] == pytest.approx(1 / 2001)  # the count machine reads the history
    assert set(summary["baselines"]) == {"cka", "procrustes", "cca"}
    assert summary["behaviour"]["interval"] == summary["controls"]["bootstrap"]["behaviour"]
    assert summary["warnings"] == []  # 40 held-out episodes, 200 for behaviour


def test_bootstrap_intervals_cover_their_estimates(report):
    boot = report.intervals
    assert boot["level"] == 0.95 and boot["resamples"] == 1000
    for key, direction in (("a_to_b", report.a_to_b), ("b_to_a", report.b_to_a)):
        low, high = boot[key]["d_o"]
        assert low <= direction.mlp.d_o <= high
        assert high - low > 0


def test_bootstrap_interval_is_the_percentile_interval_of_the_mean():
    """For 2000 normal draws the 95% percentile interval is mean +- 1.96 standard errors (the
    bootstrap's extremes would be about +- 3.3) and a 50% interval is +- 0.67."""
    from simlib.bootstrap import bootstrap_ci

    values = np.random.default_rng(3).normal(size=2000)
    se = values.std(ddof=1) / np.sqrt(values.size)
    for level, z in ((0.95, 1.96), (0.5, 0.674)):
        low, high = bootstrap_ci(values, resamples=4000, level=level)
        assert low == pytest.approx(values.mean() - z * se, abs=0.1 * se)
        assert high == pytest.approx(values.mean() + z * se, abs=0.1 * se)
    low, high = bootstrap_ci(values, resamples=4000, statistic=lambda means: means + 1.0)
    assert low == pytest.approx(values.mean() + 1.0 - 1.96 * se, abs=0.1 * se)


def test_few_episodes_are_reported_as_warnings_not_on_stderr(capsys):
    from simlib.cli.app import main

    assert main(["compare", "posterior:beta-bernoulli", "opt:beta-bernoulli", "--episodes", "20"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "warnings:" in captured.out and "only 4 held-out episodes" in captured.out
    assert "only 20 episodes" in captured.out and "at least 150" in captured.out
    summary = compare(machines.load("posterior:beta-bernoulli"), machines.load("opt:beta-bernoulli"), episodes=20,
                      resamples=50).to_dict()
    assert len(summary["warnings"]) == 2 and all("\n" not in line for line in summary["warnings"])
    # 4 held-out episodes: the 16 sign patterns are enumerated, so no p-value is below 1/16
    assert min(summary["controls"]["p_values"]["a_to_b"].values()) >= 1 / 16


def test_shuffled_control_is_at_chance(report):
    for direction in (report.a_to_b, report.b_to_a):
        assert 0.8 < direction.shuffled.d_s < 1.2
        assert direction.shuffled.d_s > direction.mlp.d_s


def test_closed_loop_compare_uses_eq3_and_the_shared_stream(toy_bandit, soft_greedy):
    reflected = machines.rotate(soft_greedy, torch.diag(torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64)))
    result = compare(soft_greedy, reflected, toy_bandit, episodes=300, seed=0)
    assert result.behaviour.metric == "|return(a)-return(b)|"
    assert result.behaviour.value == 0.0  # same policy, same seeds: identical pseudo-returns
    assert result.a_to_b.mlp.d_o < 1e-3 and result.b_to_a.mlp.d_s < 0.01
    traces = result.traces
    assert traces.attrs["driver"] == "a"
    np.testing.assert_allclose(traces["a_output"].values, traces["b_output"].values, atol=1e-12)



def test_task_is_read_off_the_machines_and_must_agree(coin):
    opt = machines.load("opt:beta-bernoulli")
    assert resolve_task(opt, machines.load("history:beta-bernoulli"), None) == coin
    stranger = machines.CountPredictor()
    with pytest.raises(SimlibError, match="needs a task"):
        resolve_task(stranger, machines.CountPredictor(), None)
    stranger.task = tasks.get("beta-bernoulli-fair")
    with pytest.raises(SimlibError, match="beta-bernoulli-fair"):
        resolve_task(stranger, opt, None)
    other_prior = tasks.get("beta-bernoulli", a=10.0, b=10.0)
    with pytest.raises(SimlibError, match="other parameters"):
        resolve_task(opt, machines.load("opt:beta-bernoulli", other_prior), None)
    with pytest.raises(SimlibError, match="other parameters"):
        machines.load("rnn:beta-bernoulli", other_prior)
    with pytest.raises(SimlibError):
        compare(opt, opt, coin, driver="c")

def test_return_difference_detects_a_worse_policy(toy_bandit, soft_greedy, uniform_policy):
    from simlib.behaviour import return_difference

    gap = return_difference(toy_bandit, soft_greedy, uniform_policy(4), 2000, seed=0)
    # uniform earns 0.5 per step; greedy on two U(0, 1) arms approaches E[max] = 2/3
    assert 0.5 < gap.value < 10 * (2 / 3 - 0.5)
    assert gap.per_time.shape == (10,)


def test_library_inputs_outside_their_domain_are_named():
    from simlib.behaviour import divergence
    from simlib.bootstrap import bootstrap_ci
    from simlib.families import Bernoulli, Categorical, Normal, StudentT
    from simlib.traces import sample_traces, split_episodes

    traces = sample_traces(tasks.get("beta-bernoulli"), {"opt": machines.load("opt:beta-bernoulli")}, 10, seed=0)
    for fraction in (float("nan"), 0.0, 1.0, -0.5, "0.2"):
        with pytest.raises(SimlibError, match="test_fraction must be"):
            split_episodes(traces, fraction, seed=0)
    with pytest.raises(SimlibError, match="non-empty"):
        bootstrap_ci(np.array([]))
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(SimlibError, match="level in"):
            bootstrap_ci(np.ones(5), level=level)
    with pytest.raises(SimlibError, match="NaN"):
        bootstrap_ci(np.array([1.0, np.nan]))
    for family, bad, good in [
        (Bernoulli(), [1.5], [0.5]),
        (Categorical(3), [0.5, 0.5, 0.5], [0.2, 0.3, 0.5]),
        (Normal(), [0.0, -1.0], [0.0, 1.0]),
        (StudentT(), [0.0, 0.0, 1.0], [3.0, 0.0, 1.0]),
    ]:
        with pytest.raises(SimlibError, match="is not a parameter of"):
            divergence(family, np.array([bad]), np.array([good]))
        assert np.isfinite(divergence(family, np.array([good]), np.array([good]))).all()
