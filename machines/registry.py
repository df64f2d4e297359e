"""Machine specs: ``KIND:TASK`` strings -> machines (``opt:beta-bernoulli``, ``history:...``).

A spec names a kind of machine and the task it is built for; the task's own parameters (the
prior, the horizon) configure the machine. Every loaded machine carries ``spec`` and ``task``
attributes, so a comparison can read the task off its machines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simlib.errors import SimlibError
from simlib.machine import StateMachine
from simlib.machines.beta_bernoulli import (
    CountPredictor,
    ForgetfulPredictor,
    HistoryPredictor,
    logodds_predictor,
    posterior_predictor,
)
from simlib.machines.reparametrise import random_orthogonal, rotate
from simlib.task import Task
from simlib import tasks as task_registry
from simlib.tasks import BetaBernoulli


@dataclass(frozen=True)
class Kind:
    """A kind of machine: what it is and how to build it for a task it supports."""

    summary: str
    task_type: type
    build: Callable[[Task], StateMachine]


_KINDS: dict[str, Kind] = {
    "opt": Kind(
        "Bayes-optimal predictor; state = minimal sufficient statistics (heads, flips)",
        BetaBernoulli,
        lambda t: CountPredictor(t.a, t.b),
    ),
    "posterior": Kind(
        "Bayes-optimal, state = posterior Beta parameters (alpha, beta)",
        BetaBernoulli,
        lambda t: posterior_predictor(t.a, t.b),
    ),
    "logodds": Kind(
        "Bayes-optimal, state = (log posterior odds, flips)",
        BetaBernoulli,
        lambda t: logodds_predictor(t.a, t.b),
    ),
    "rotated": Kind(
        "Bayes-optimal, state = a fixed reflection-rotation of (heads, flips)",
        BetaBernoulli,
        lambda t: rotate(CountPredictor(t.a, t.b), random_orthogonal(2, seed=0, reflect=True)),
    ),
    "history": Kind(
        "Bayes readout of the whole history kept slot by slot (non-minimal sufficient statistic)",
        BetaBernoulli,
        lambda t: HistoryPredictor(t.a, t.b, capacity=t.horizon + 1),  # + 1: an FSM leaf at depth T steps once more
    ),
    "forgetful": Kind(
        "remembers only the last observation and predicts from it alone",
        BetaBernoulli,
        lambda t: ForgetfulPredictor(t.a, t.b),
    ),
}


def kinds() -> list[str]:
    """Registered machine kinds, sorted."""
    return sorted(_KINDS)


def specs() -> list[tuple[str, str]]:
    """Every loadable ``KIND:TASK`` spec with a one-line summary."""
    rows = []
    for kind_name in kinds():
        kind = _KINDS[kind_name]
        for task_name in task_registry.names():
            if isinstance(task_registry.get(task_name), kind.task_type):
                rows.append((f"{kind_name}:{task_name}", kind.summary))
    return rows


def load(spec: str, task: Task | None = None) -> StateMachine:
    """Build the machine a spec names.

    Args:
        spec: ``KIND:TASK``, e.g. ``opt:beta-bernoulli``.
        task: use this task object (e.g. with another horizon) instead of the registry's
            default; its name must match the spec's.
    """
    kind_name, sep, task_name = spec.partition(":")
    if not sep or not kind_name or not task_name:
        raise SimlibError(f"bad machine spec {spec!r}: expected KIND:TASK, e.g. opt:beta-bernoulli")
    if kind_name not in _KINDS:
        raise SimlibError(f"unknown machine kind {kind_name!r} in {spec!r}; known kinds: {', '.join(kinds())}")
    if task is None:
        task = task_registry.get(task_name)
    elif task.name != task_name:
        raise SimlibError(f"machine {spec!r} is built for task {task_name!r}, not {task.name!r}")
    kind = _KINDS[kind_name]
    if not isinstance(task, kind.task_type):
        raise SimlibError(f"no {kind_name!r} machine for task {task_name!r}")
    machine = kind.build(task)
    machine.spec = spec
    machine.task = task
    return machine
