"""Training recipes: the settings a task's agents are trained with, and one entry point.

A task's recipe is the one its shipped agent was trained with (recorded in the checkpoint),
so ``simlib reproduce`` trains every seed exactly like ``rnn:TASK``; tasks without a shipped
agent use the trainer's defaults.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from simlib.machines.checkpoint import read_checkpoint
from simlib.machines.zoo import shipped, zoo_path
from simlib.task import Task
from simlib.tasks import current_config
from simlib.training.predictor import TrainSettings
from simlib.training.trainers import trainer_for

SNAPSHOTS = 10
"""Snapshots kept when a recipe's number of steps is overridden (``steps // SNAPSHOTS`` apart)."""


def settings_class(task: Task) -> type[TrainSettings]:
    """The settings type of ``task``'s trainer (:mod:`simlib.training.trainers`)."""
    return trainer_for(task).settings


def recipe(task: Task, seed: int = 0, *, steps: int | None = None, hidden: int | None = None) -> TrainSettings:
    """The settings that train ``task``'s agent for ``seed``.

    Args:
        steps: override the number of optimiser steps (snapshots then every ``steps // 10``).
        hidden: override the width N (reduced-memory agents).
    """
    settings = replace(_shipped_settings(task) or settings_class(task)(), seed=seed)
    if steps is not None:
        settings = replace(settings, steps=steps, snapshot_every=max(1, steps // SNAPSHOTS))
    if hidden is not None:
        settings = replace(settings, hidden=hidden)
    return settings


def _shipped_settings(task: Task) -> TrainSettings | None:
    """The shipped agent's settings when it was trained on exactly ``task`` (else None)."""
    if task.name not in shipped():
        return None
    payload = read_checkpoint(zoo_path(task.name))
    if current_config(payload["task"]) != task.config():
        return None
    return settings_class(task).from_record(payload["training"]["settings"])


def is_shipped_run(task: Task, settings: TrainSettings) -> bool:
    """Whether the shipped ``rnn:TASK`` is the run these settings would train."""
    return _shipped_settings(task) == settings


def train(task: Task, settings: TrainSettings, out: str | Path, **options) -> dict:
    """Train (or resume, or return a finished) run with the trainer ``task`` needs; the checkpoint.

    ``options`` (``device``, ``threads``, ``progress``, ``callback``) go to that trainer.
    """
    return trainer_for(task).train(task, settings, out, **options)
