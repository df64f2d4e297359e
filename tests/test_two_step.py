"""The two-step task, its Bayes-optimal agent, Daw et al.'s learners and the stay analyses."""

from functools import lru_cache

import numpy as np
import pytest
import torch

from simlib import machines, tasks
from simlib.behaviour import evaluate_play
from simlib.errors import SimlibError
from simlib.fsm import counterexample, disagreement, extract_on_task, last_outputs
from simlib.machines.two_step_agents import HybridLearner, TwoStepBayesAgent, two_step_action_values
from simlib.machines.two_step_fit import fit_hybrid
from simlib.tasks.two_step import TwoStepTask
from simlib.tasks.two_step_trials import decision_view, stay_probabilities, stay_regression, trials_of
from simlib.traces import sample_traces


def test_task_dynamics_follow_wang():
    task = tasks.get("two-step")
    assert (task.horizon, task.input_dim, task.n_actions) == (20, 7, 2)
    generator = torch.Generator().manual_seed(0)
    episodes = 40_000
    theta = task.sample_theta(episodes, generator)
    state, x = task.reset(theta, generator)
    assert torch.equal(x[0], torch.tensor([0.0, 0, 0, 0, 1, 0, 0], dtype=torch.float64))
    action = torch.randint(2, (episodes,), generator=generator)
    first = task.step(state, action, 0, generator)
    assert torch.equal(first.reward, torch.zeros(episodes, dtype=torch.float64))
    s2_good = theta[:, 0] == 0
    worth = torch.tensor([0.7, 0.3], dtype=torch.float64)
    assert torch.allclose(first.mean_reward[s2_good], worth.expand(int(s2_good.sum()), 2))
    assert torch.allclose(first.mean_reward[~s2_good], worth.flip(0).expand(int((~s2_good).sum()), 2))
    second = task.decode_observation(first.input).argmax(1)
    assert set(second.tolist()) == {1, 2}
    common = ((action == 0) == (second == 1)).double().mean()
    assert abs(float(common) - 0.75) < 4 * (0.75 * 0.25 / episodes) ** 0.5
    paid = task.step(first.state, torch.zeros(episodes, dtype=torch.long), 1, generator)
    good = (second - 1) == theta[:, 0].long()
    assert torch.equal(paid.mean_reward, torch.zeros(episodes, 2, dtype=torch.float64))
    for mask, p in ((good, 0.9), (~good, 0.1)):
        assert abs(float(paid.reward[mask].mean()) - p) < 4 * (p * (1 - p) / int(mask.sum())) ** 0.5
    back = task.decode_observation(paid.input).argmax(1)
    assert torch.equal(back, torch.zeros(episodes, dtype=torch.long))
    assert torch.allclose(paid.input[:, 3], torch.full((episodes,), 2 / 20, dtype=torch.float64))


def test_pseudo_return_is_the_expected_return_given_the_choices():
    task = tasks.get("two-step", discount=0.9, common=0.6)
    traces = sample_traces(task, {"m": machines.load("hybrid:two-step", task)}, 20_000, seed=7, driver="m")
    weights = task.discounts().numpy()
    gap = ((traces["expected_reward"].values - traces["reward"].values) * weights).sum(1)
    assert abs(gap.mean()) < 4 * gap.std() / len(gap) ** 0.5
    assert np.allclose(traces["expected_reward"].values[:, 1::2], 0.0)


def test_task_rejects_a_good_state_that_pays_less():
    with pytest.raises(SimlibError, match="good state"):
        tasks.get("two-step", high=0.2, low=0.6)
    assert tasks.from_config(tasks.get("two-step", trials=4).config()) == tasks.get("two-step", trials=4)


def _brute_force_value(task: TwoStepTask):
    """V(counts, completed) by expectimax over explicit count histories (no shared code with the agent)."""
    h, l, c, gamma = task.high, task.low, task.common, task.discount

    @lru_cache(maxsize=None)
    def value(k2: int, f2: int, k3: int, f3: int, left: int) -> float:
        if left == 0:
            return 0.0
        like_good2 = h**k2 * (1 - h) ** f2 * l**k3 * (1 - l) ** f3
        like_good3 = l**k2 * (1 - l) ** f2 * h**k3 * (1 - h) ** f3
        q = like_good2 / (like_good2 + like_good3)
        pay2, pay3 = q * h + (1 - q) * l, q * l + (1 - q) * h
        at2 = pay2 + gamma * (pay2 * value(k2 + 1, f2, k3, f3, left - 1) + (1 - pay2) * value(k2, f2 + 1, k3, f3, left - 1))
        at3 = pay3 + gamma * (pay3 * value(k2, f2, k3 + 1, f3, left - 1) + (1 - pay3) * value(k2, f2, k3, f3 + 1, left - 1))
        return max(gamma * (c * at2 + (1 - c) * at3), gamma * ((1 - c) * at2 + c * at3))

    return value


@pytest.mark.parametrize(
    "params",
    [dict(trials=3), dict(trials=4, common=0.6, high=0.8, low=0.3, discount=0.9), dict(trials=3, common=0.9, high=0.7, low=0.05)],
)
def test_bayes_agent_matches_enumeration(params):
    task = tasks.get("two-step", **params)
    value = _brute_force_value(task)
    table = two_step_action_values(task)
    trials = task.trials
    for completed in range(trials):
        for k2 in range(completed + 1):
            for f2 in range(completed + 1 - k2):
                for k3 in range(completed + 1 - k2 - f2):
                    f3 = completed - k2 - f2 - k3
                    expected = value(k2, f2, k3, f3, trials - completed)
                    got = table[k2 - k3 + trials, f2 - f3 + trials, 1, completed].max()
                    assert got == pytest.approx(expected, abs=1e-12)
    assert TwoStepBayesAgent(task).expected_return() == pytest.approx(value(0, 0, 0, 0, trials), abs=1e-12)


def test_bayes_agent_plays_its_expected_return_and_counts_evidence():
    task = tasks.get("two-step")
    opt = machines.load("opt:two-step")
    returns, regret = evaluate_play(task, opt, 20_000, seed=3, critic=opt, summed=True)
    assert abs(returns.mean() - opt.expected_return()) < 4 * returns.std() / len(returns) ** 0.5
    assert np.abs(regret).max() < 1e-12
    traces = sample_traces(task, {"m": opt}, 200, seed=1, driver="m")
    states, rewards = traces["m_state"].values, traces["reward"].values
    inputs = traces["input"].values
    second = task.decode_observation(inputs[:, 1::2]).argmax(-1)
    wins2 = ((second == 1) * rewards[:, 1::2]).sum(1) - ((second == 2) * rewards[:, 1::2]).sum(1)
    last = ((second[:, -1] == 1).astype(float) - (second[:, -1] == 2)) * rewards[:, -1]
    # the state at step T - 1 is the one the last input arrived in: every trial but the last read
    assert np.array_equal(states[:, -1, 0] + last, wins2)
    assert np.array_equal(states[:, -1, 3], np.full(200, task.trials - 1.0))


def test_stay_profiles_separate_model_based_from_model_free():
    task = tasks.get("two-step")
    profile = {}
    for spec in ("opt:two-step", "model-based:two-step", "model-free:two-step"):
        traces = sample_traces(task, {"m": machines.load(spec)}, 3000, seed=0, driver="m")
        trials = trials_of(task, traces)
        profile[spec] = (stay_probabilities(trials), stay_regression(trials))
    opt_stay = profile["opt:two-step"][0]["stay"].values
    assert opt_stay[0] == 1.0 and opt_stay[3] == 1.0  # evidence that confirms the choice never switches it
    assert 0.3 < opt_stay[1] < 0.7 and 0.3 < opt_stay[2] < 0.7  # one contrary outcome ties the belief or not
    based = profile["model-based:two-step"][1]
    free = profile["model-free:two-step"][1]
    assert abs(based["reward"]["coef"]) < 3 * based["reward"]["se"] + 0.05
    assert based["reward_x_transition"]["coef"] > 0.8
    assert free["reward"]["coef"] > 0.8
    assert free["reward"]["coef"] > 2 * free["reward_x_transition"]["coef"]


def test_hybrid_learner_updates_by_hand():
    task = tasks.get("two-step", trials=2)
    learner = HybridLearner(task, w=0.0, alpha=0.5, beta=1.0, trace=0.5)
    s = learner.initial_state(1)
    s = learner.read(task.encode(None, torch.zeros(1), 0, torch.tensor([[1.0, 0, 0]])), s)
    s = learner.read(task.encode(torch.tensor([1]), torch.zeros(1), 1, torch.tensor([[0.0, 0, 1]])), s)
    assert s[0, :4].tolist() == [0.5, 0.5, 0.5, 0.5]  # Q_mf(a2) moved towards Q(S3) = 0.5: no change
    s = learner.read(task.encode(torch.tensor([0]), torch.ones(1), 2, torch.tensor([[1.0, 0, 0]])), s)
    assert s[0, :4].tolist() == [0.5, 0.5 + 0.5 * 0.5 * 0.5, 0.5, 0.75]
    policy = learner.policy(s)
    assert torch.allclose(policy, torch.softmax(torch.tensor([[0.5, 0.625]], dtype=torch.float64), 1))


def test_hybrid_fit_recovers_the_weight():
    task = tasks.get("two-step")
    truth = HybridLearner(task, w=0.3, alpha=0.6, beta=4.0, trace=0.7, perseveration=0.4)
    traces = sample_traces(task, {"m": truth}, 1000, seed=2, driver="m")
    fit = fit_hybrid(task, traces["input"].values, traces["action"].values)
    for name, true in (("w", 0.3), ("alpha", 0.6), ("beta", 4.0), ("perseveration", 0.4)):
        assert abs(fit.params[name] - true) < 4 * fit.se[name], name
    assert fit.choices == 10_000


def test_the_bayes_agents_finite_machine_is_model_based_on_its_clock_free_alphabet():
    task = tasks.get("two-step", trials=4)
    extraction = extract_on_task(machines.load("opt:two-step", task), task, "exact")
    view = decision_view(extraction.machine, task)
    greedy = {"a1": [1.0, 0.0], "a2": [0.0, 1.0], "tie": [0.5, 0.5]}

    def choice_after(*word: str) -> list[float]:
        outputs, _ = view.run(list(word))
        return view.output_values[outputs[-1]].tolist()

    assert choice_after("a1>S2", "a1 r1") == greedy["a1"]  # common, rewarded: stay
    assert choice_after("a2>S2", "a2 r1") == greedy["a1"]  # rare, rewarded: switch to the action that leads there
    assert choice_after("a1>S2", "a1 r0") == greedy["a2"]
    assert choice_after("a1>S2", "a1 r0", "a2>S2", "a1 r1") == greedy["tie"]  # one win, one loss at S2
    assert view.run(["a1 r1"]) is None  # a return to S1 never arrives at a second-stage step
    assert view.output_values[view.run(["a1>S3"])[0][-1]].tolist() == [-1.0, -1.0]
    assert counterexample(view, view) is None
    free = extract_on_task(machines.load("model-free:two-step", task), task, "quantised", clusters=32, episodes=300)
    itself = extract_on_task(machines.load("opt:two-step", task), task, "quantised", clusters=32, episodes=300)
    assert itself.machine.state_depth is not None and counterexample(decision_view(itself.machine, task), view) is None
    free = decision_view(extract_on_task(machines.load("model-free:two-step", task), task, "quantised",
                                         clusters=32, episodes=300).machine, task)
    word = counterexample(free, view)  # clustered step by step, the preorder compares like with like
    assert word == ["a1>S3", "a1 r0"]  # a rare, unrewarded trial: model-free switches, model-based stays
    assert [said.tolist() for said in last_outputs(word, free, view)] == [greedy["a2"], greedy["a1"]]
    assert disagreement(free, view) == word
