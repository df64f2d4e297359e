"""The Harlow task, its Bayes-optimal agent and the memoryless control."""

from functools import lru_cache

import numpy as np
import pytest
import torch

from simlib import machines, tasks
from simlib.behaviour import evaluate_play
from simlib.errors import SimlibError
from simlib.machines.harlow_agents import HarlowBayesAgent
from simlib.fsm import bisimilar, counterexample, extract_on_task, outputs_match, outputs_on_word, symbolise
from simlib.tasks.harlow import decision_view, selections
from simlib.traces import sample_traces


def test_pools_are_disjoint_and_the_screen_shows_the_stimuli():
    train, test = tasks.get("harlow"), tasks.get("harlow-test")
    assert train.stimuli().shape == (1000, 8) and train.input_dim == 3 + 1 + 25
    distances = torch.cdist(train.stimuli(), test.stimuli())
    assert float(distances.min()) > 0 and torch.equal(train.stimuli(), tasks.get("harlow").stimuli())
    generator = torch.Generator().manual_seed(0)
    theta = train.sample_theta(20_000, generator)
    assert bool((theta[:, 0] != theta[:, 1]).all())
    state, x = train.reset(theta, generator)
    assert torch.equal(train.decode_observation(x)[:, 0], torch.ones(20_000, dtype=torch.float64))
    after = train.step(state, torch.zeros(20_000, dtype=torch.long), 0, generator)
    assert torch.allclose(after.reward, torch.full((20_000,), 0.2, dtype=torch.float64))
    screen = train.decode_observation(after.input)
    pool = train.stimuli()
    rewarded_left = torch.isclose(screen[:, 1:9], pool[theta[:, 0].long()]).all(1)
    rewarded_right = torch.isclose(screen[:, 9:17], pool[theta[:, 0].long()]).all(1)
    assert bool((rewarded_left ^ rewarded_right).all()) and abs(float(rewarded_left.double().mean()) - 0.5) < 0.02
    assert torch.equal(screen[:, 17:], torch.zeros(20_000, 8, dtype=torch.float64))
    waited = train.step(after.state, torch.zeros(20_000, dtype=torch.long), 1, generator)
    assert torch.equal(waited.reward, torch.zeros(20_000, dtype=torch.float64))
    assert torch.equal(train.decode_observation(waited.input), screen)
    chose = train.step(after.state, torch.full((20_000,), 1, dtype=torch.long), 1, generator)
    assert torch.equal(chose.reward, torch.where(rewarded_left, 1.0, -1.0).to(torch.float64))
    centre = train.decode_observation(chose.input)[:, 17:]
    assert torch.equal(centre, screen[:, 1:9]) and bool((train.decode_observation(chose.input)[:, 0] == 1).all())
    with pytest.raises(SimlibError, match="pool"):
        tasks.get("harlow", pool="validation")


def _expectimax(task):
    """The optimal value by enumerating histories of (order, action, reward), the binding's posterior by Bayes."""
    gamma, bonus = task.discount, task.fixation_reward

    def posterior(history) -> float:
        """P(stimulus A is the rewarded one | history)."""
        like = {True: 1.0, False: 1.0}
        for a_left, action, reward in history:
            picked_a = (action == 1) == a_left
            for a_good in (True, False):
                like[a_good] *= float(reward == (1 if picked_a == a_good else -1))
        return like[True] / (like[True] + like[False])

    @lru_cache(maxsize=None)
    def fixation(history, left: int) -> float:
        if left == 0:
            return 0.0
        ahead = 0.5 * choice(history, left - 1, True) + 0.5 * choice(history, left - 1, False)
        return max(bonus + gamma * ahead, gamma * fixation(history, left - 1))

    @lru_cache(maxsize=None)
    def choice(history, left: int, a_left: bool) -> float:
        if left == 0:
            return 0.0
        q = posterior(history)
        best = gamma * choice(history, left - 1, a_left)
        for action in (1, 2):
            p_win = q if (action == 1) == a_left else 1 - q
            value = sum(p * (reward + gamma * fixation(history + ((a_left, action, reward),), left - 1))
                        for reward, p in ((1, p_win), (-1, 1 - p_win)) if p > 0)
            best = max(best, value)
        return best

    return fixation((), task.horizon)


@pytest.mark.parametrize("params", [dict(trials=1), dict(trials=3), dict(trials=4, discount=0.8, fixation_reward=0.5)])
def test_bayes_agent_matches_enumeration(params):
    task = tasks.get("harlow", pool_size=10, features=3, **params)
    assert HarlowBayesAgent(task).expected_return() == pytest.approx(_expectimax(task), abs=1e-12)


def test_bayes_agent_binds_in_one_shot_and_scores_every_step():
    task = tasks.get("harlow-test")
    opt = machines.load("opt:harlow-test")
    returns, regret = evaluate_play(task, opt, 5000, seed=1, critic=opt, summed=True)
    assert abs(returns.mean() - opt.expected_return()) < 4 * returns.std() / np.sqrt(5000)
    assert np.abs(regret).max() < 1e-9
    traces = sample_traces(task, {"m": opt}, 2000, seed=2, driver="m")
    choices = traces["action"].values[:, 1::2]
    fixations = traces["action"].values[:, 0::2]
    assert (fixations == 0).all() and (choices != 0).all()
    picked = selections(traces, task.trials)
    assert (picked[:, 1:] == 1).all() and abs(picked[:, 0].mean() - 0.5) < 0.05


def test_bayes_regret_prices_a_wrong_pick_and_a_skipped_fixation():
    task = tasks.get("harlow", trials=3)
    opt = machines.load("opt:harlow", task)
    generator = torch.Generator().manual_seed(3)
    theta = task.sample_theta(1, generator)
    state, x = task.reset(theta, generator)
    s = opt.initial_state(1)
    q = opt.action_values(x, s)[0]
    # looking away leaves the cross up: fixating then is worth 0.2 + C_unknown(5) = 2.6, looking away F_unknown(5) = 1.6
    assert q[0] - q[1] == pytest.approx(1.0) and q[1] == q[2]
    s = opt.read(x, s)
    after = task.step(state, torch.tensor([0]), 0, generator)
    q = opt.action_values(after.input, s)[0]
    # an unknown binding with 4 steps after this one: selecting reveals it (then fixate, select right,
    # fixate: F_known(4) = 2.4); selecting neither leaves the choice, unknown (C_unknown(4) = 1.4)
    assert q[1] == q[2] and q[1] - q[0] == pytest.approx(1.0)
    s = opt.read(after.input, s)
    chose = task.step(after.state, torch.tensor([1]), 1, generator)
    s = opt.read(chose.input, s)
    screen = task.step(chose.state, torch.tensor([0]), 2, generator)
    q = opt.action_values(screen.input, s)[0]
    left_is_good = float(task.step(screen.state, torch.tensor([1]), 3, generator).reward) > 0
    assert (q[1] - q[2]) == pytest.approx(2.0 if left_is_good else -2.0)
    assert max(q[1], q[2]) - q[0] == pytest.approx(1.0)


def test_the_memoryless_control_is_at_chance_after_the_first_trial():
    task = tasks.get("harlow")
    traces = sample_traces(task, {"m": machines.load("win-stay-side:harlow")}, 4000, seed=0, driver="m")
    assert (traces["action"].values[:, 0::2] == 0).all()
    assert abs(selections(traces, task.trials)[:, 1:].mean() - 0.5) < 0.02


def test_the_fixed_pair_alphabet_names_every_input_and_what_can_follow_it(uniform_policy):
    task = tasks.get("harlow-test", pair=(3, 7), trials=4)
    assert tasks.get("harlow").alphabet_task().pair == (0, 1) and task.alphabet_task() is task
    alphabet, labels = task.input_alphabet()
    assert alphabet.shape == (11, task.input_dim) and len(set(labels)) == 11
    traces = sample_traces(task, {"m": uniform_policy(task.input_dim, 3)}, 400, seed=3)
    assert bool((traces["theta"].values == [3, 7]).all())
    symbols = symbolise(traces["input"].values, alphabet)  # every input the task emits is in the alphabet
    assert set(symbols[:, 0]) == {labels.index("start")} and task.symbols_at(0) == [True] + [False] * 10
    seen = {(int(a), int(b)) for a, b in zip(symbols[:, :-1].ravel(), symbols[:, 1:].ravel())}
    allowed = {(k, j) for k in range(11) for j, ok in enumerate(task.symbols_after(k)) if ok}
    assert seen == allowed  # the random agent reaches exactly the successions the table allows
    with pytest.raises(ValueError, match="pair"):
        tasks.get("harlow", pair=(2, 2))
    with pytest.raises(ValueError, match="the same input"):
        tasks.get("harlow", fixation_reward=0.0).input_alphabet()


def test_finite_machines_on_a_pair_bind_in_one_shot_and_part_from_the_memoryless_control():
    task = tasks.get("harlow", pair=(5, 9), trials=3)
    exact = extract_on_task(machines.load("opt:harlow", task), task, "exact")
    other = tasks.get("harlow", pair=(9, 5), trials=3)
    view = decision_view(exact.machine, task)
    assert bisimilar(view, decision_view(extract_on_task(machines.load("opt:harlow", other), other, "exact").machine, other))
    tie, left, right, fixate = [0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]

    def decision(*word: str) -> list[float]:
        outputs, _ = view.run(list(word))
        return view.output_values[outputs[-1]].tolist()

    assert decision("fixate>R|P") == tie  # both bindings equally likely before the first selection
    assert decision("fixate>R|P", "right=P r-1") == fixate
    assert decision("fixate>R|P", "right=P r-1", "fixate>R|P") == left  # one punished selection binds R
    assert decision("fixate>P|R", "left=P r-1", "fixate>P|R") == right
    assert view.run(["fixate>R|P", "right=R r+1"]) is None  # R is on the left of that screen
    quantised = extract_on_task(machines.load("opt:harlow", task), task, "quantised", clusters=8, episodes=200)
    assert counterexample(decision_view(quantised.machine, task), view) is None
    control = decision_view(extract_on_task(machines.load("win-stay-side:harlow", task), task, "quantised",
                                            clusters=8, episodes=200).machine, task)
    word = counterexample(control, view, within=True)
    assert word is not None and len(word) == 3 and word[-1].startswith("fixate>")  # trial 2: opt knows R, it does not
    assert counterexample(view, view, within=True) is None and outputs_match([tie], [left], within=True).tolist() == [[False]]
    network = outputs_on_word(machines.load("opt:harlow", task), task, ["start", *word])
    assert network.shape == (4, 3) and decision(*word) in (left, right)
