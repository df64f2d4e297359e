"""Wang et al. 2016's Harlow task (§3.2.2; Harlow 1949) in a form that trains on a CPU.

Every episode draws two stimuli from a pool of random feature vectors; one of them is rewarded
(+1) and the other punished (-1) for the whole episode. A trial has two phases:

1. **fixation** -- the screen shows only the fixation cross; action 0 (fixate) pays
   ``fixation_reward`` (0.2) and brings up the stimuli; the others (look left, look right)
   pay nothing and leave the cross on the screen;
2. **choice** -- the screen shows the two stimuli, left and right in an order drawn afresh
   every trial; action 1 selects the left one, 2 the right one (its reward: +1 or -1) and the
   next trial's fixation follows; action 0 selects neither and leaves the stimuli where they are.

An episode lasts ``2 * trials`` steps, so an agent that fixates and selects at once completes
``trials`` trials (Wang: at most 10 trials or 3 600 steps); one that dawdles completes fewer.

The observation is ``[cross, left stimulus, right stimulus, centre stimulus]`` (``features``
numbers each, zeros where nothing is shown) and the input ``[one-hot(a), r, observation]``:
Wang's a, r, x, no time. The centre shows the stimulus just selected, on the fixation screen
that follows, together with its reward: Wang's agent selects an image by turning until it is
centred in its view, so it is looking at the image when the reward comes.

What is simplified from Wang's 3-D screen: the 84 x 84 pixel screen, saccades of 4.4 degrees
with momentum, holding the cross for four steps, the 10-step intertrial interval and the action
repeat of 4 are gone: fixating and selecting are one action each, so a trial is two decisions
instead of 20-30. ImageNet images become random Gaussian feature vectors (``features``
numbers each, unit length on average); the pool is ``pool_size`` vectors (Wang: 1 000 images),
and ``pool="test"`` draws from a disjoint held-out pool of the same size (Wang's 1 000 held-out
images): the two pools are the two halves of one seeded draw. Kept: fixation before choice, the
reshuffled left-right order, and the one-shot binding of a stimulus to its role.

Finite machines: the stimuli are continuous, so the task has a finite input alphabet only on a
fixed pair of stimuli (``pair``: the rewarded and the punished pool index, every episode; Harlow's
single-problem condition). :meth:`HarlowTask.input_alphabet` names its 11 inputs by role --
``R`` the rewarded stimulus, ``P`` the punished one, ``R|P`` a screen with R on the left -- and
:meth:`HarlowTask.symbols_after` says which can follow which (a choice screen is followed by a
selection on that screen or by the same screen again), so every word is one the task can emit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from simlib import constraints
from simlib.fsm import FiniteMealy, greedy_view
from simlib.fsm.views import TIE_MARGIN
from simlib.tasks.mdp import MDPTask

FIXATE, LEFT, RIGHT = 0, 1, 2
POOLS = ("train", "test")
POOL_SEED = 1949


@dataclass(frozen=True)
class HarlowSymbol:
    """One input of the Harlow alphabet on a fixed pair: ``R`` the rewarded stimulus, ``P`` the
    punished one, ``R|P`` a choice screen with R on the left, ``+`` the fixation cross.

    ``action`` is the action it reports (None: the start), ``reward`` its reward (None: the
    fixation reward); ``after`` the environment state it shows (choosing, R on the left, the
    stimulus at the centre: +1 R, -1 P, 0 none) and ``before`` the screen it can arrive on
    (choosing, R on the left or None for either; None: only first).
    """

    label: str
    action: int | None
    reward: float | None
    after: tuple[float, float, float]
    before: tuple[float, float | None] | None


SYMBOLS = (
    HarlowSymbol("start", None, 0.0, (0, 0, 0), None),
    HarlowSymbol("fixate>R|P", FIXATE, None, (1, 1, 0), (0, None)),
    HarlowSymbol("fixate>P|R", FIXATE, None, (1, 0, 0), (0, None)),
    HarlowSymbol("look-left>+", LEFT, 0.0, (0, 0, 0), (0, None)),
    HarlowSymbol("look-right>+", RIGHT, 0.0, (0, 0, 0), (0, None)),
    HarlowSymbol("wait>R|P", FIXATE, 0.0, (1, 1, 0), (1, 1)),
    HarlowSymbol("wait>P|R", FIXATE, 0.0, (1, 0, 0), (1, 0)),
    HarlowSymbol("left=R r+1", LEFT, 1.0, (0, 0, 1), (1, 1)),
    HarlowSymbol("right=R r+1", RIGHT, 1.0, (0, 0, 1), (1, 0)),
    HarlowSymbol("left=P r-1", LEFT, -1.0, (0, 0, -1), (1, 0)),
    HarlowSymbol("right=P r-1", RIGHT, -1.0, (0, 0, -1), (1, 1)),
)
"""The Harlow alphabet on a fixed pair, in :meth:`HarlowTask.input_alphabet`'s order."""


@lru_cache(maxsize=8)
def stimulus_pool(pool_size: int, features: int, pool: str) -> Tensor:
    """The pool's feature vectors ``[pool_size, features]`` float64: one half of a seeded draw of ``2 * pool_size``."""
    generator = torch.Generator().manual_seed(POOL_SEED)
    both = torch.randn(2 * pool_size, features, generator=generator, dtype=torch.float64) / features**0.5
    return both[:pool_size] if pool == "train" else both[pool_size:]


@dataclass(frozen=True)
class HarlowTask(MDPTask):
    """Two stimuli per episode, one rewarded; fixate, then choose; the order reshuffled every trial."""

    trials: int = 10
    pool_size: int = 1000
    features: int = 8
    pool: str = "train"
    fixation_reward: float = 0.2
    time_input: bool = False
    pair: tuple[int, int] | None = None
    name: str = "harlow"

    n_actions: ClassVar[int] = 3
    arg_constraints = {**MDPTask.arg_constraints, "trials": constraints.positive_integer,
                       "pool_size": constraints.integer_at_least(2), "features": constraints.positive_integer,
                       "fixation_reward": constraints.real}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {self.pool!r}")
        if self.fixation_reward < 0:
            raise ValueError(f"fixation_reward must be >= 0, got {self.fixation_reward}")
        if self.pair is not None:
            pair = tuple(self.pair)
            if (len(pair) != 2 or not all(isinstance(i, int) and not isinstance(i, bool) for i in pair)
                    or pair[0] == pair[1] or not all(0 <= i < self.pool_size for i in pair)):
                raise ValueError(f"pair must be two distinct pool indices in 0..{self.pool_size - 1}, got {self.pair!r}")
            object.__setattr__(self, "pair", pair)

    @property
    def observation_dim(self) -> int:
        return 1 + 3 * self.features

    @property
    def horizon(self) -> int:
        return 2 * self.trials

    @property
    def theta_names(self) -> tuple[str, ...]:
        return ("rewarded", "punished")

    def stimuli(self) -> Tensor:
        """This task's pool ``[pool_size, features]`` float64."""
        return stimulus_pool(self.pool_size, self.features, self.pool)

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        """Two distinct pool indices per episode: the rewarded stimulus and the punished one
        (``pair`` in every episode where it is set)."""
        if self.pair is not None:
            return torch.tensor(self.pair, dtype=torch.float64, device=generator.device).expand(episodes, 2).clone()
        first = torch.randint(self.pool_size, (episodes,), generator=generator, device=generator.device)
        offset = torch.randint(1, self.pool_size, (episodes,), generator=generator, device=generator.device)
        return torch.stack([first, (first + offset) % self.pool_size], dim=1).to(torch.float64)

    def initial_state(self, theta: Tensor, generator: torch.Generator) -> Tensor:
        """``[E, 3]``: (stage: 0 fixation, 1 choice; 1 if the rewarded stimulus is on the left;
        the stimulus just selected, shown at the centre: +1 the rewarded, -1 the punished, 0 none)."""
        return torch.zeros(theta.shape[0], 3, dtype=torch.float64, device=theta.device)

    def observe(self, state: Tensor, theta: Tensor) -> Tensor:
        pool = self.stimuli().to(state.device)
        choice, left_good, shown = state[:, :1], state[:, 1:2], state[:, 2:3]
        rewarded, punished = pool[theta[:, 0].long()], pool[theta[:, 1].long()]
        left = left_good * rewarded + (1 - left_good) * punished
        right = left_good * punished + (1 - left_good) * rewarded
        centre = (shown > 0) * rewarded + (shown < 0) * punished
        return torch.cat([1 - choice, choice * left, choice * right, centre], dim=1)

    def oracle_features(self, theta: Tensor, state: Tensor) -> Tensor:
        """What a privileged critic may see: the rewarded stimulus's features and the state ``[E, features + 3]``."""
        return torch.cat([self.stimuli().to(state.device)[theta[:, 0].long()], state], dim=1)

    @property
    def oracle_dim(self) -> int:
        return self.features + 3

    def input_bounds(self) -> tuple[Tensor, Tensor]:
        """Bounds of every input ``(low, high)`` ``[input_dim]`` float64: the stimuli's columns span both pools."""
        low, high = super().input_bounds()
        both = torch.cat([stimulus_pool(self.pool_size, self.features, pool) for pool in POOLS])
        start = self.n_actions + 1 + int(self.time_input) + 1
        low[start:] = float(both.min().clamp(max=0.0))
        high[start:] = float(both.max().clamp(min=0.0))
        return low, high

    def alphabet_task(self) -> HarlowTask:
        """This task on one pair of stimuli, where its inputs are finitely many: ``pair``, or the
        pool's first two stimuli (0 rewarded, 1 punished) where it is unset."""
        return self if self.pair is not None else replace(self, pair=(0, 1))

    def input_alphabet(self) -> tuple[Tensor, tuple[str, ...]]:
        """The 11 inputs of :meth:`alphabet_task` (:data:`SYMBOLS`), ``([11, input_dim] rows, labels)``."""
        task = self.alphabet_task()
        if task.fixation_reward == 0:
            raise ValueError("with fixation_reward 0 fixating and selecting neither stimulus arrive as the same "
                             "input, so the Harlow alphabet does not name them apart")
        theta = torch.tensor([task.pair], dtype=torch.float64)
        rows = []
        for symbol in SYMBOLS:
            action = None if symbol.action is None else torch.tensor([symbol.action])
            reward = task.fixation_reward if symbol.reward is None else symbol.reward
            screen = task.observe(torch.tensor([symbol.after], dtype=torch.float64), theta)
            rows.append(task.encode(action, torch.tensor([reward], dtype=torch.float64), 0, screen))
        return torch.cat(rows), tuple(symbol.label for symbol in SYMBOLS)

    def symbols_at(self, t: int) -> list[bool]:
        """Which of :meth:`input_alphabet`'s symbols can arrive at step ``t``: the start at 0 only."""
        return [symbol.before is None if t == 0 else symbol.before is not None for symbol in SYMBOLS]

    def symbols_after(self, k: int) -> list[bool]:
        """Which of :meth:`input_alphabet`'s symbols can follow symbol ``k``: those whose screen
        before is the screen ``k`` leaves."""
        choosing, left_good, _ = SYMBOLS[k].after
        return [symbol.before is not None and symbol.before[0] == choosing
                and symbol.before[1] in (None, left_good) for symbol in SYMBOLS]

    def random_return(self) -> float:
        """The uniformly random policy's return: every selection nets zero on average, so only
        fixations count (a Markov chain over the two phases)."""
        at_fixation, total = 1.0, 0.0
        for weight in self.discounts().tolist():
            total += weight * at_fixation * self.fixation_reward / 3
            at_fixation = at_fixation * 2 / 3 + (1 - at_fixation) * 2 / 3
        return total

    def reward_bounds(self) -> tuple[float, float]:
        return (-1.0, max(1.0, self.fixation_reward))

    def transition(self, state, theta, action, t, generator):
        choosing = state[:, 0] > 0.5
        left_good = state[:, 1] > 0.5
        side = torch.where(left_good, 1.0, -1.0).to(torch.float64)
        means = torch.zeros(state.shape[0], 3, dtype=torch.float64, device=state.device)
        means[:, FIXATE] = torch.where(choosing, 0.0, self.fixation_reward)
        means[:, LEFT] = torch.where(choosing, side, 0.0)
        means[:, RIGHT] = torch.where(choosing, -side, 0.0)
        reward = means.gather(1, action[:, None]).squeeze(1)
        order = (torch.rand(state.shape[0], generator=generator, dtype=torch.float64, device=state.device) < 0.5)
        fixated, selected = ~choosing & (action == FIXATE), choosing & (action != FIXATE)
        shown = torch.where(selected, reward.sign(), torch.zeros_like(reward))
        left = torch.where(fixated, order.to(torch.float64), state[:, 1])
        following = torch.stack([(fixated | (choosing & ~selected)).to(torch.float64), left, shown], dim=1)
        return following, reward, means


def decision_view(machine: FiniteMealy, task: HarlowTask, margin: float = TIE_MARGIN) -> FiniteMealy:
    """``machine`` (over :meth:`HarlowTask.input_alphabet`) with its policies reduced to greedy
    choices (:func:`~simlib.fsm.greedy_view`; actions within ``margin`` tie), from the state
    after the start input: whether it fixates, and which side it selects on each screen."""
    if tuple(machine.input_labels) != task.input_alphabet()[1]:
        raise ValueError("the machine's inputs are not the Harlow task's alphabet")
    return greedy_view(machine, margin, start="start")


def selections(traces, trials: int) -> np.ndarray:
    """Each trial's selection in closed-loop ``traces`` of a Harlow task: ``[E, trials]`` float64,
    1 where the k-th selection of the episode was the rewarded stimulus, 0 the punished one, NaN
    where the episode had fewer than k selections."""
    rewards = traces["reward"].values
    picked = np.abs(np.abs(rewards) - 1.0) < 1e-9
    out = np.full((rewards.shape[0], trials), np.nan)
    for episode, row in enumerate(rewards):
        made = row[picked[episode]][:trials]
        out[episode, : made.size] = made > 0
    return out
