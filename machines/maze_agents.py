"""Machines for the one-shot maze (Wang et al. 2016 §3.2.3).

* :class:`MazeBayesAgent` -- Bayes-optimal. The agent's cell is read off the local view; the
  belief about the goal is the set of alcoves not yet ruled out (uniform over it): an alcove
  entered without reward is ruled out, the reward reveals the goal. Exact backward induction
  over (time, cell, alcove mask) gives its action values.
* :class:`MemorylessMazeAgent` -- Wang's feed-forward control: a stationary policy of the cell
  alone, ``pi(a | cell)``, the best such policy for the prior over goals (its exact expected
  return, computed by dynamic programming, maximised by L-BFGS over the softmax logits). With
  no memory it cannot learn where the goal is, so its latency from every respawn has one
  distribution, first hit or later.

Both read the cell from the view by nearest match, so they also run from embedded states.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_agents import split_ties
from simlib.machines.interpolation import multilinear
from simlib.tasks.maze import OneShotMaze, geometry

ALCOVES = 4


def _cell_of_view(task: OneShotMaze, x: Tensor) -> Tensor:
    """One-hot cell ``[B, C]`` float64 whose local view is nearest the input's observation."""
    views = torch.from_numpy(geometry().views).to(x.device)
    observation = task.decode_observation(x.to(torch.float64))
    nearest = torch.cdist(observation, views).argmin(1)
    return torch.nn.functional.one_hot(nearest, views.shape[0]).to(torch.float64)


@lru_cache(maxsize=8)
def maze_action_values(task: OneShotMaze) -> np.ndarray:
    """``Q*[t, cell, mask, a]`` over the belief MDP; ``mask`` bit k set = alcove k may hold the goal.

    Mask 0 (never reached) takes the full mask's values.
    """
    maze = geometry()
    cells, horizon, gamma, prize = len(maze.cells), task.length, task.discount, task.goal_reward
    spawn = maze.spawn / maze.spawn.sum()
    masks = np.arange(2**ALCOVES)
    bits = (masks[:, None] >> np.arange(ALCOVES)) & 1
    count = np.maximum(bits.sum(1), 1)
    alcove_of = np.full(cells, -1)
    alcove_of[maze.alcoves] = np.arange(ALCOVES)
    entered = alcove_of[maze.step]
    q = np.zeros((horizon, cells, 2**ALCOVES, 4))
    v = np.zeros((cells, 2**ALCOVES))
    for t in range(horizon - 1, -1, -1):
        found = {k: spawn @ v[:, 1 << k] for k in range(ALCOVES)}
        for cell in range(cells):
            for a in range(4):
                nxt, k = maze.step[cell, a], entered[cell, a]
                if k < 0:
                    q[t, cell, :, a] = gamma * v[nxt]
                    continue
                p = bits[:, k] / count
                ruled_out = np.where(bits[:, k] == 1, masks & ~(1 << k), masks)
                q[t, cell, :, a] = p * (prize + gamma * found[k]) + (1 - p) * gamma * v[nxt, ruled_out]
        v = q[t].max(-1)
        v[:, 0] = v[:, -1]
        q[t, :, 0] = q[t, :, -1]
    return q


class MazeBayesAgent:
    """Bayes-optimal on the one-shot maze; state ``[cell one-hot (C), possible alcoves (4), steps]``."""

    def __init__(self, task: OneShotMaze) -> None:
        self.task = task
        maze = geometry()
        self.cells = len(maze.cells)
        self.input_dim = task.input_dim
        self.state_dim = self.cells + ALCOVES + 1
        self.output = Policy(4)
        self.state_names = (*(f"at{c}" for c in range(self.cells)), *(f"possible{k}" for k in range(ALCOVES)), "steps")
        self._moves = torch.from_numpy(np.stack([np.eye(self.cells)[maze.step[:, a]] for a in range(4)]))
        self._alcoves = torch.from_numpy(np.eye(self.cells)[maze.alcoves].T)
        table = torch.from_numpy(maze_action_values(task))
        self._flat = table.reshape(-1, 4)
        self._powers = 2 ** torch.arange(ALCOVES)

    def initial_state(self, batch: int) -> Tensor:
        s = torch.zeros(batch, self.state_dim, dtype=torch.float64)
        s[:, self.cells : self.cells + ALCOVES] = 1.0
        return s

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        """Move the cell by the last action, rule out or confirm the alcove entered, re-read the cell."""
        s = s.to(torch.float64)
        cell, mask, steps = s[:, : self.cells], s[:, self.cells : -1], s[:, -1]
        action, reward = self.task.decode_input(x)
        moved = torch.einsum("bc,acd,ba->bd", cell, self._moves.to(s.device), action)
        entered = moved @ self._alcoves.to(s.device)
        hit = (reward > 0).to(torch.float64)[:, None]
        mask = hit * entered + (1 - hit) * mask * (1 - entered)
        return torch.cat([_cell_of_view(self.task, x), mask, (steps + 1)[:, None]], dim=1)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.read(x, s)
        return self.policy(s), s

    def _lookup(self, points: Tensor) -> Tensor:
        """Integer points ``[N, 1 + 4 + 1]`` (cell, mask bits, t) -> ``Q`` ``[N, 4]``."""
        cell, bits, t = points[:, 0], points[:, 1:-1], points[:, -1]
        mask = (bits * self._powers.to(points.device)).sum(1)
        index = (t * self.cells + cell) * 2**ALCOVES + mask
        return self._flat.to(points.device)[index]

    def action_values_at(self, s: Tensor) -> Tensor:
        """``Q*(b, a)`` ``[B, 4]``: cells weighted by their one-hot, multilinear in the mask and time."""
        s = s.to(torch.float64)
        cell, mask, t = s[:, : self.cells], s[:, self.cells : -1], (s[:, -1] - 1).clamp_min(0)
        weights = cell.clamp_min(0)
        weights = weights / weights.sum(1, keepdim=True).clamp_min(1e-12)
        upper = torch.tensor([self.cells - 1, *([1.0] * ALCOVES), self.task.length - 1], dtype=torch.float64).to(s.device)

        def at(cell: Tensor) -> Tensor:
            return multilinear(self._lookup, torch.cat([cell[:, None], mask, t[:, None]], dim=1), upper)

        if bool((weights.max(1).values == 1).all()):
            return at(weights.argmax(1).to(torch.float64))
        values = torch.zeros(s.shape[0], 4, dtype=torch.float64, device=s.device)
        for c in torch.nonzero(weights.sum(0) > 0).flatten().tolist():
            values += weights[:, c : c + 1] * at(torch.full_like(t, float(c)))
        return values

    def action_values(self, x: Tensor, s: Tensor) -> Tensor:
        """``Q*`` for the decision made on input ``x`` in the belief ``s`` before reading it."""
        return self.action_values_at(self.read(x, s))

    def policy(self, s: Tensor) -> Tensor:
        return split_ties(self.action_values_at(s))

    def expected_return(self) -> float:
        """The Bayes-optimal expected return: the full mask's value at t = 0, averaged over spawn cells."""
        maze = geometry()
        first = maze_action_values(self.task)[0, :, -1].max(-1)
        return float(first[maze.spawn].mean())


@lru_cache(maxsize=8)
def memoryless_policy(task: OneShotMaze, iterations: int = 200) -> np.ndarray:
    """The best stationary policy of the cell alone, ``pi [C, 4]``, for the prior over goals."""
    maze = geometry()
    step = torch.from_numpy(maze.step)
    spawn = torch.from_numpy(maze.spawn / maze.spawn.sum())
    hits = [torch.from_numpy(maze.step == maze.alcoves[g]).to(torch.float64) for g in range(ALCOVES)]
    logits = torch.zeros(len(maze.cells), 4, dtype=torch.float64, requires_grad=True)

    def negative_return() -> Tensor:
        policy = torch.softmax(logits, dim=1)
        total = torch.zeros((), dtype=torch.float64)
        for hit in hits:
            v = torch.zeros(len(maze.cells), dtype=torch.float64)
            for _ in range(task.length):
                after_hit = spawn @ v
                q = hit * (task.goal_reward + task.discount * after_hit) + (1 - hit) * task.discount * v[step]
                v = (policy * q).sum(1)
            total = total + spawn @ v
        return -total / ALCOVES

    optimiser = torch.optim.LBFGS([logits], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimiser.zero_grad()
        value = negative_return()
        value.backward()
        return value

    optimiser.step(closure)
    return torch.softmax(logits.detach(), dim=1).numpy()


class MemorylessMazeAgent:
    """``pi(a | cell)`` of :func:`memoryless_policy`; its state is the cell alone (one-hot)."""

    def __init__(self, task: OneShotMaze) -> None:
        self.task = task
        self.cells = len(geometry().cells)
        self.input_dim = task.input_dim
        self.state_dim = self.cells
        self.output = Policy(4)
        self.state_names = tuple(f"at{c}" for c in range(self.cells))
        self._policy = torch.from_numpy(memoryless_policy(task))

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, self.cells, dtype=torch.float64)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = _cell_of_view(self.task, x)
        return s @ self._policy.to(s.device), s
