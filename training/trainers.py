"""Which trainer meta-trains the agents of each task family: one registration line per family.

A trainer is a settings class (a :class:`simlib.training.predictor.TrainSettings` subclass
with ``from_record``) and a function ``train(task, settings, out, **options) -> checkpoint``.
Lookup walks the family's class hierarchy, so a new family derived from
:class:`simlib.task_family.InteractiveFamily` trains with the actor-critic until it registers
its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simlib.errors import SimlibError
from simlib.task import Task
from simlib.task_family import InteractiveFamily, PredictionFamily, TaskFamily, family_of
from simlib.training.actor_critic import ActorCriticSettings, train_bandit_agent
from simlib.training.predictor import TrainSettings, train_predictor


@dataclass(frozen=True)
class Trainer:
    """A family's settings type and training function."""

    settings: type[TrainSettings]
    train: Callable[..., dict]


TRAINERS: dict[type[TaskFamily], Trainer] = {}
"""Trainers by task-family class."""


def register_trainer(family: type[TaskFamily], settings: type[TrainSettings], train: Callable[..., dict]) -> None:
    """Train tasks of ``family`` (and of its subclasses without their own) with ``train`` and ``settings``."""
    TRAINERS[family] = Trainer(settings, train)


def trainer_for(task: Task) -> Trainer:
    """The trainer of ``task``'s family; a :class:`SimlibError` if no family up its hierarchy has one."""
    family = family_of(task)
    for kind in type(family).__mro__:
        if kind in TRAINERS:
            return TRAINERS[kind]
    raise SimlibError(f"no trainer is registered for task family {family.name!r} (task {task.name!r})")


register_trainer(PredictionFamily, TrainSettings, train_predictor)
register_trainer(InteractiveFamily, ActorCriticSettings, train_bandit_agent)
