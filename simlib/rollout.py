"""The closed-loop rollout: one loop over time for every interactive task, whoever acts.

Trace sampling (:func:`simlib.traces.sample_traces`, a driver machine acting while every
machine is fed the same stream) and actor-critic training (the agent acting with gradients,
a critic valuing each step) both play episodes through :func:`rollout`; only what they do
at each decision differs, which the caller's ``act`` supplies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from simlib.task import InteractiveTask, Transition


@dataclass(frozen=True)
class Step:
    """One decision of a batch of episodes at time ``t``.

    ``input [E, input_dim]`` is what the machines saw, ``state [E, ...]`` the environment state
    acted in, ``action [E]`` (int64) the chosen actions and ``transition`` the task's answer.
    """

    t: int
    input: Tensor
    state: Tensor
    action: Tensor
    transition: Transition


Act = Callable[[int, Tensor, Tensor], Tensor]
"""``act(t, input [E, input_dim], environment state [E, ...]) -> action [E]``; it may draw from
the rollout's generator (the draw comes before the task's draw of step ``t``)."""


def rollout(task: InteractiveTask, theta: Tensor, generator: torch.Generator, act: Act) -> Iterator[Step]:
    """Play ``task.horizon`` steps of one episode per row of ``theta [E, P]``, yielding each :class:`Step`.

    Draws from ``generator`` in a fixed order (reset; then per step the caller's ``act``, then
    the task's step), so a seed fixes every episode whoever consumes the steps.
    """
    state, x = task.reset(theta, generator)
    for t in range(task.horizon):
        action = act(t, x, state)
        transition = task.step(state, action, t, generator)
        yield Step(t, x, state, action, transition)
        state, x = transition.state, transition.input
