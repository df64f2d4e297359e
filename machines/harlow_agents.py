"""Machines for the Harlow task (Wang et al. 2016 §3.2.2).

* :class:`HarlowBayesAgent` -- Bayes-optimal. Before the first selection both bindings of
  stimulus to role are equally likely; the first selection's reward reveals the binding (+1:
  the selected stimulus is the rewarded one; -1: the other is). The state is ``[known,
  rewarded stimulus (features), last left, last right (features each), choosing, steps]``:
  whether the binding is known, the stimulus known to be rewarded, the screen the last choice
  was made on (its reward arrives with the next input), whether the last screen was a choice
  screen, and the inputs read. It fixates at once and selects at once; it picks the stimulus
  nearest the rewarded one (squared distance) once the binding is known, either side before.
* :class:`SideWinStayAgent` -- the control with no memory of the episode's stimuli: win-stay
  lose-shift on the *side* of its last selection, blind to which stimulus is where, so it is at
  chance on every trial (the order is reshuffled).
"""

from __future__ import annotations

import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_agents import split_ties
from simlib.tasks.harlow import FIXATE, LEFT, RIGHT, HarlowTask


def _screen(task: HarlowTask, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(choosing [B], left [B, d], right [B, d])`` of inputs ``x``: 1 where the stimuli are shown."""
    observation = task.decode_observation(x.to(torch.float64))
    d = task.features
    return 1.0 - observation[:, 0], observation[:, 1 : 1 + d], observation[:, 1 + d : 1 + 2 * d]


def harlow_values(task: HarlowTask) -> dict[str, Tensor]:
    """Values with n steps left (this one included), ``[T + 1]`` each: ``fixation_known``,
    ``choice_known``, ``fixation_unknown``, ``choice_unknown`` (binding known or not)."""
    gamma, bonus = task.discount, task.fixation_reward
    steps = task.horizon
    table = {key: torch.zeros(steps + 1, dtype=torch.float64)
             for key in ("fixation_known", "choice_known", "fixation_unknown", "choice_unknown")}
    for n in range(1, steps + 1):
        fk, ck, fu, cu = (table[key][n - 1] for key in ("fixation_known", "choice_known", "fixation_unknown", "choice_unknown"))
        table["fixation_known"][n] = max(bonus + gamma * ck, gamma * fk)
        table["choice_known"][n] = max(1.0 + gamma * fk, gamma * ck)
        table["fixation_unknown"][n] = max(bonus + gamma * cu, gamma * fu)
        table["choice_unknown"][n] = max(gamma * fk, gamma * cu)
    return table


def _between(table: Tensor, n: Tensor) -> Tensor:
    """``table [T + 1]`` read at real ``n [B]`` (linear between whole numbers, clamped to 0..T)."""
    n = n.clamp(0, table.shape[0] - 1)
    low = n.floor().long().clamp(max=table.shape[0] - 2) if table.shape[0] > 1 else n.floor().long()
    frac = n - low
    high = (low + 1).clamp(max=table.shape[0] - 1)
    return (1 - frac) * table.to(n.device)[low] + frac * table.to(n.device)[high]


class HarlowBayesAgent:
    """Bayes-optimal on the Harlow task; see the module docstring for its state."""

    def __init__(self, task: HarlowTask) -> None:
        self.task = task
        d = task.features
        self.input_dim = task.input_dim
        self.state_dim = 3 * d + 3
        self.output = Policy(3)
        self.state_names = ("known", *(f"rewarded{i}" for i in range(d)), *(f"left{i}" for i in range(d)),
                            *(f"right{i}" for i in range(d)), "choosing", "steps")
        self.values = harlow_values(task)

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, self.state_dim, dtype=torch.float64)

    def _parts(self, s: Tensor) -> tuple[Tensor, ...]:
        d = self.task.features
        return s[:, 0], s[:, 1 : 1 + d], s[:, 1 + d : 1 + 2 * d], s[:, 1 + 2 * d : 1 + 3 * d], s[:, -2], s[:, -1]

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        """Learn the binding from a selection's reward; keep the screen now shown."""
        known, rewarded, left, right, was_choosing, steps = self._parts(s.to(torch.float64))
        action, reward = self.task.decode_input(x)
        picked_left, picked_right = action[:, LEFT] * was_choosing, action[:, RIGHT] * was_choosing
        chosen = picked_left[:, None] * left + picked_right[:, None] * right
        other = picked_left[:, None] * right + picked_right[:, None] * left
        learned = (picked_left + picked_right) * (1.0 - known) * (reward != 0).to(torch.float64)
        positive = (reward > 0).to(torch.float64)[:, None]
        revealed = positive * chosen + (1.0 - positive) * other
        rewarded = rewarded + learned[:, None] * (revealed - rewarded)
        known = known + learned
        choosing, new_left, new_right = _screen(self.task, x)
        return torch.cat([known[:, None], rewarded, new_left, new_right, choosing[:, None], (steps + 1)[:, None]], dim=1)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.read(x, s)
        return self.policy(s), s

    def action_values_at(self, s: Tensor) -> Tensor:
        """``Q*(b, a)`` ``[B, 3]`` in belief ``s`` (linear in ``known`` and ``steps`` between lattice points).

        With n steps left after this one and the tables of :func:`harlow_values` (F: fixation,
        C: choice, of the binding as it stands): at a fixation step, fixating is worth
        ``bonus + discount * C(n)`` and looking away ``discount * F(n)``; at a choice step,
        selecting is worth ``+-known + discount * F_known(n)`` (+ for the stimulus nearer the
        rewarded one) and selecting neither ``discount * C(n)``.
        """
        known, rewarded, left, right, choosing, steps = self._parts(s.to(torch.float64))
        gamma, bonus, horizon = self.task.discount, self.task.fixation_reward, self.task.horizon
        n = (horizon - steps).clamp(0, horizon)
        table = {key: _between(values, n) for key, values in self.values.items()}
        fixation_later = known * table["fixation_known"] + (1 - known) * table["fixation_unknown"]
        choice_later = known * table["choice_known"] + (1 - known) * table["choice_unknown"]
        away = gamma * fixation_later
        fixation = torch.stack([bonus + gamma * choice_later, away, away], dim=1)
        closer = ((right - rewarded).pow(2).sum(1) - (left - rewarded).pow(2).sum(1)).sign()
        picks = known[:, None] * torch.stack([closer, -closer], dim=1) + gamma * table["fixation_known"][:, None]
        choice = torch.cat([(gamma * choice_later)[:, None], picks], dim=1)
        return choosing[:, None] * choice + (1 - choosing[:, None]) * fixation

    def action_values(self, x: Tensor, s: Tensor) -> Tensor:
        """``Q*`` for the decision made on input ``x`` in the belief ``s`` before reading it."""
        return self.action_values_at(self.read(x, s))

    def policy(self, s: Tensor) -> Tensor:
        return split_ties(self.action_values_at(s))

    def expected_return(self) -> float:
        """The Bayes-optimal expected return (reward units, the task's discount)."""
        return float(self.values["fixation_unknown"][self.task.horizon])


class SideWinStayAgent:
    """Win-stay lose-shift on the side of the last selection; always fixates. State ``[last left, last right, choosing]``."""

    def __init__(self, task: HarlowTask) -> None:
        self.task = task
        self.input_dim = task.input_dim
        self.state_dim = 3
        self.output = Policy(3)
        self.state_names = ("stay_left", "stay_right", "choosing")

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, 3, dtype=torch.float64)

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        s = s.to(torch.float64)
        action, reward = self.task.decode_input(x)
        selected = action[:, [LEFT, RIGHT]] * s[:, 2:3]
        won = (reward > 0).to(torch.float64)[:, None]
        preferred = won * selected + (1 - won) * selected.flip(1)
        made = selected.sum(1, keepdim=True)
        return torch.cat([made * preferred + (1 - made) * s[:, :2], _screen(self.task, x)[0][:, None]], dim=1)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.read(x, s)
        return self.policy(s), s

    def policy(self, s: Tensor) -> Tensor:
        preferred = s[:, :2]
        weights = torch.where(preferred.sum(1, keepdim=True) > 0, preferred, torch.full_like(preferred, 0.5))
        choice = torch.cat([torch.zeros_like(weights[:, :1]), weights / weights.sum(1, keepdim=True)], dim=1)
        fixation = torch.zeros_like(choice)
        fixation[:, FIXATE] = 1.0
        return s[:, 2:3] * choice + (1 - s[:, 2:3]) * fixation
