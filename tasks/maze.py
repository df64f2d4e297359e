"""Wang et al. 2016's one-shot navigation (§3.2.3; Mirowski et al. 2017) on a small grid.

An I-maze of 13 cells: two horizontal bars joined by a vertical corridor, an alcove at each
of the bars' four ends::

    A . . . A        row 0
    # # . # #
    # # . # #
    # # . # #
    A . . . A        row 4

The goal, drawn per episode among the four alcoves (theta ``goal`` 0..3: top-left, top-right,
bottom-left, bottom-right), pays ``goal_reward`` (10) when the agent steps into it; the agent
is then respawned at a random cell of the corridor and bars (not an alcove), where every
episode also starts. Actions move up, down, left or right (into a wall: stay). The
observation is the local view, the 24 cells of the 5 x 5 square around the agent (1 = open,
0 = wall or outside, row by row; a 3 x 3 view would confuse the top and bottom alcoves),
which tells every cell apart, so the agent knows where it is and what it must remember is
where the goal is. An episode lasts ``length`` steps (default 60).

``mean_reward`` credits each move with its consequences given theta: the advantage
``Q_theta(s, a) - V_theta(s)`` of the agent that knows the goal (``Q_theta`` itself at the
first step), so ``max_a`` minus the chosen one is the regret of an agent that knew theta and,
by the performance-difference identity, the pseudo-return has the return's expectation
under any policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from simlib import constraints
from simlib.tasks.mdp import MDPTask

LAYOUT = ("A...A", "##.##", "##.##", "##.##", "A...A")
VIEW_RADIUS = 2
"""The local view is the (2r + 1) x (2r + 1) square around the agent, its own cell left out."""
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))
"""Row and column change of up, down, left, right."""


@dataclass(frozen=True)
class MazeGeometry:
    """The maze's cells and moves as arrays.

    ``cells [C, 2]`` (row, col) of the open cells; ``step [C, 4]`` the cell each action leads
    to; ``views [C, 24]`` the local view of each cell; ``alcoves [4]`` the alcoves' cell indices
    (top-left, top-right, bottom-left, bottom-right); ``spawn [C]`` True where the agent may
    be (re)spawned.
    """

    cells: np.ndarray
    step: np.ndarray
    views: np.ndarray
    alcoves: np.ndarray
    spawn: np.ndarray


@lru_cache(maxsize=1)
def geometry() -> MazeGeometry:
    """The I-maze of :data:`LAYOUT`."""
    rows, cols = len(LAYOUT), len(LAYOUT[0])
    cells = [(r, c) for r in range(rows) for c in range(cols) if LAYOUT[r][c] != "#"]
    index = {cell: i for i, cell in enumerate(cells)}
    step = np.array([[index.get((r + dr, c + dc), index[(r, c)]) for dr, dc in MOVES] for r, c in cells])
    reach = range(-VIEW_RADIUS, VIEW_RADIUS + 1)
    around = [(dr, dc) for dr in reach for dc in reach if (dr, dc) != (0, 0)]
    views = np.array([[float((r + dr, c + dc) in index) for dr, dc in around] for r, c in cells])
    alcoves = np.array([index[(0, 0)], index[(0, cols - 1)], index[(rows - 1, 0)], index[(rows - 1, cols - 1)]])
    spawn = np.ones(len(cells), dtype=bool)
    spawn[alcoves] = False
    if len({tuple(v) for v in views}) != len(cells):
        raise AssertionError("the maze's local views must tell every cell apart")
    return MazeGeometry(np.array(cells), step, views, alcoves, spawn)


@dataclass(frozen=True)
class OneShotMaze(MDPTask):
    """Find the goal alcove, then return to it after every respawn; theta = the goal alcove."""

    length: int = 60
    goal_reward: float = 10.0
    time_input: bool = True
    name: str = "one-shot-maze"

    n_actions: ClassVar[int] = 4
    observation_dim: ClassVar[int] = (2 * VIEW_RADIUS + 1) ** 2 - 1
    arg_constraints = {**MDPTask.arg_constraints, "length": constraints.positive_integer,
                       "goal_reward": constraints.positive}

    @property
    def horizon(self) -> int:
        return self.length

    @property
    def theta_names(self) -> tuple[str, ...]:
        return ("goal",)

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        goal = torch.randint(4, (episodes, 1), generator=generator, device=generator.device)
        return goal.to(torch.float64)

    def _spawn(self, episodes: int, generator: torch.Generator, device) -> Tensor:
        """Uniform over the spawn cells: ``[E]`` float64 cell indices."""
        allowed = torch.from_numpy(np.flatnonzero(geometry().spawn)).to(device)
        pick = torch.randint(len(allowed), (episodes,), generator=generator, device=device)
        return allowed[pick].to(torch.float64)

    def initial_state(self, theta: Tensor, generator: torch.Generator) -> Tensor:
        """``[E, 1]``: the cell index."""
        return self._spawn(theta.shape[0], generator, theta.device)[:, None]

    def observe(self, state: Tensor, theta: Tensor) -> Tensor:
        views = torch.from_numpy(geometry().views).to(state.device)
        return views[state[:, 0].long()]

    def input_alphabet(self) -> tuple[Tensor, tuple[str, ...]]:
        """Every input without its clock (:meth:`stamp_time` sets it): the start in each spawn
        cell, then (move, reward 0 or the goal's, the cell's view) for every cell."""
        maze = geometry()
        views = torch.from_numpy(maze.views)
        rows, labels = [], []
        for cell in np.flatnonzero(maze.spawn):
            rows.append(self.encode(None, torch.zeros(1, dtype=torch.float64), 0, views[cell : cell + 1]))
            labels.append(f"start@{cell}")
        for a, move in enumerate(("up", "down", "left", "right")):
            for reward in (0.0, self.goal_reward):
                for cell in range(len(maze.cells)):
                    rows.append(self.encode(torch.tensor([a]), torch.tensor([reward], dtype=torch.float64), 0,
                                            views[cell : cell + 1]))
                    labels.append(f"{move} r{reward:g} @{cell}")
        return torch.cat(rows), tuple(labels)

    def symbols_at(self, t: int) -> list[bool]:
        """The starts arrive at step 0, the moves after it."""
        starts = int(geometry().spawn.sum())
        total = starts + 4 * 2 * len(geometry().cells)
        return [t == 0] * starts + [t > 0] * (total - starts)

    def random_return(self) -> float:
        """The uniformly random walk's expected return, by dynamic programming over (cell, time) per goal."""
        return float(np.mean([random_walk_values(self, goal)[0][geometry().spawn].mean() for goal in range(4)]))

    def reward_bounds(self) -> tuple[float, float]:
        return (0.0, self.goal_reward)

    def transition(self, state, theta, action, t, generator):
        maze = geometry()
        cell = state[:, 0].long()
        moved = torch.from_numpy(maze.step).to(state.device)[cell, action]
        goal_cell = torch.from_numpy(maze.alcoves).to(state.device)[theta[:, 0].long()]
        hit = moved == goal_cell
        respawn = self._spawn(state.shape[0], generator, state.device)
        following = torch.where(hit, respawn, moved.to(torch.float64))
        reward = hit.to(torch.float64) * self.goal_reward
        q, v = (torch.from_numpy(table).to(state.device) for table in oracle_values(self))
        goal = theta[:, 0].long()
        means = q[goal, t, cell] - (v[goal, t, cell][:, None] if t > 0 else 0.0)
        return following[:, None], reward, means


@lru_cache(maxsize=8)
def oracle_values(task: OneShotMaze) -> tuple[np.ndarray, np.ndarray]:
    """``(Q [4, T, C, 4], V [4, T + 1, C])`` of the agent that knows the goal (backward induction)."""
    maze = geometry()
    cells, horizon, gamma = len(maze.cells), task.length, task.discount
    spawn = maze.spawn / maze.spawn.sum()
    q = np.zeros((4, horizon, cells, 4))
    v = np.zeros((4, horizon + 1, cells))
    for goal in range(4):
        hit = maze.step == maze.alcoves[goal]
        for t in range(horizon - 1, -1, -1):
            after_hit = spawn @ v[goal, t + 1]
            q[goal, t] = hit * (task.goal_reward + gamma * after_hit) + ~hit * gamma * v[goal, t + 1][maze.step]
            v[goal, t] = q[goal, t].max(-1)
    return q, v


def random_walk_values(task: OneShotMaze, goal: int) -> np.ndarray:
    """``V [T + 1, C]`` of the uniformly random policy for one goal."""
    maze = geometry()
    spawn = maze.spawn / maze.spawn.sum()
    hit = maze.step == maze.alcoves[goal]
    v = np.zeros((task.length + 1, len(maze.cells)))
    for t in range(task.length - 1, -1, -1):
        after_hit = spawn @ v[t + 1]
        q = hit * (task.goal_reward + task.discount * after_hit) + ~hit * task.discount * v[t + 1][maze.step]
        v[t] = q.mean(-1)
    return v


def hit_latencies(traces, hits: int = 4) -> np.ndarray:
    """Steps from each (re)spawn to the goal in closed-loop ``traces`` of the maze: ``[E, hits]``
    float64, column k the k-th hit's latency (the first from the episode's start, later ones
    from the respawn after the previous hit), NaN where the episode had fewer hits."""
    rewards = traces["reward"].values
    out = np.full((rewards.shape[0], hits), np.nan)
    for episode, row in enumerate(rewards):
        times = np.flatnonzero(row > 0)[:hits]
        starts = np.concatenate([[-1], times[:-1]])
        out[episode, : times.size] = times - starts
    return out
