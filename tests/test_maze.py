"""The one-shot maze, its Bayes-optimal agent and the memoryless control."""

from functools import lru_cache

import numpy as np
import pytest
import torch

from simlib import machines, tasks
from simlib.behaviour import evaluate_play
from simlib.machines.maze_agents import MazeBayesAgent
from simlib.tasks.maze import geometry, oracle_values
from simlib.traces import sample_traces


def test_geometry_views_and_moves():
    maze = geometry()
    assert len(maze.cells) == 13 and maze.spawn.sum() == 9
    assert len({tuple(view) for view in maze.views}) == 13
    corridor = [i for i, (r, c) in enumerate(maze.cells) if c == 2 and 0 < r < 4]
    for cell in corridor:
        assert maze.step[cell, 2] == cell and maze.step[cell, 3] == cell  # walls left and right
    top_left = maze.alcoves[0]
    assert maze.step[top_left, 0] == top_left and maze.step[top_left, 3] != top_left


def test_goal_pays_and_respawns():
    task = tasks.get("one-shot-maze")
    maze = geometry()
    generator = torch.Generator().manual_seed(0)
    episodes = 9000
    theta = torch.zeros(episodes, 1, dtype=torch.float64)  # the goal is the top-left alcove
    beside = [i for i, (r, c) in enumerate(maze.cells) if (r, c) == (0, 1)][0]
    state = torch.cat([torch.full((episodes, 1), float(beside), dtype=torch.float64), theta], dim=1)
    hit = task.step(state, torch.full((episodes,), 2, dtype=torch.long), 3, generator)
    assert torch.equal(hit.reward, torch.full((episodes,), 10.0, dtype=torch.float64))
    landed = task.split_state(hit.state)[0][:, 0].long()
    counts = np.bincount(landed.numpy(), minlength=13)
    assert (counts[maze.alcoves] == 0).all() and counts[maze.spawn].min() > 850
    q, v = oracle_values(task)
    assert torch.allclose(hit.mean_reward[0], torch.from_numpy(q[0, 3, beside] - v[0, 3, beside]))
    assert float(hit.mean_reward[0].max()) == 0.0


def test_pseudo_return_is_the_expected_return_under_any_policy():
    task = tasks.get("one-shot-maze", length=20, discount=0.95)
    traces = sample_traces(task, {"m": machines.load("memoryless:one-shot-maze", task)}, 20_000, seed=1, driver="m")
    weights = task.discounts().numpy()
    gap = ((traces["expected_reward"].values - traces["reward"].values) * weights).sum(1)
    assert abs(gap.mean()) < 4 * gap.std() / np.sqrt(gap.size)


def _expectimax(task):
    """The optimal value by enumerating histories, the posterior over goals by Bayes on the alcoves entered."""
    maze = geometry()
    spawn = np.flatnonzero(maze.spawn)
    alcove_of = {int(cell): k for k, cell in enumerate(maze.alcoves)}

    @lru_cache(maxsize=None)
    def value(cell: int, evidence: tuple, left: int) -> float:
        if left == 0:
            return 0.0
        posterior = np.array([float(all(found == (k == goal) for k, found in evidence)) for goal in range(4)])
        posterior /= posterior.sum()
        best = -np.inf
        for a in range(4):
            nxt = int(maze.step[cell, a])
            if nxt not in alcove_of:
                total = task.discount * value(nxt, evidence, left - 1)
            else:
                k = alcove_of[nxt]
                p = posterior[k]
                total = 0.0
                if p > 0:
                    again = tuple(sorted(set(evidence) | {(k, True)}))
                    total += p * (task.goal_reward + task.discount * np.mean([value(int(s), again, left - 1) for s in spawn]))
                if p < 1:
                    missed = tuple(sorted(set(evidence) | {(k, False)}))
                    total += (1 - p) * task.discount * value(nxt, missed, left - 1)
            best = max(best, total)
        return best

    return float(np.mean([value(int(s), (), task.length) for s in spawn]))


@pytest.mark.parametrize("params", [dict(length=5), dict(length=9, discount=0.9, goal_reward=3.0)])
def test_bayes_agent_matches_enumeration(params):
    task = tasks.get("one-shot-maze", **params)
    assert MazeBayesAgent(task).expected_return() == pytest.approx(_expectimax(task), abs=1e-9)


def test_bayes_agent_plays_its_value_and_returns_straight_to_a_found_goal():
    task = tasks.get("one-shot-maze")
    opt = machines.load("opt:one-shot-maze")
    returns, regret = evaluate_play(task, opt, 4000, seed=2, critic=opt, summed=True)
    assert abs(returns.mean() - opt.expected_return()) < 4 * returns.std() / np.sqrt(4000)
    assert np.abs(regret).max() < 1e-9
    traces = sample_traces(task, {"m": opt}, 500, seed=3, driver="m")
    states = traces["m_state"].values
    hits = traces["reward"].values > 0
    known = states[:, 2:, 13:17].sum(-1) == 1  # a hit at step t is read with input t + 1: the state at t + 2
    assert known[hits[:, :-2]].all() and not (states[:, 0, 13:17].sum(-1) == 1).any()


def test_memoryless_control_is_far_below_opt_and_above_a_random_walk():
    task = tasks.get("one-shot-maze")
    memoryless, _ = evaluate_play(task, machines.load("memoryless:one-shot-maze"), 4000, seed=4)
    assert task.random_return() + 10 < memoryless.mean() < machines.load("opt:one-shot-maze").expected_return() - 50
