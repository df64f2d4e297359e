"""Several training runs of one recipe, loaded for the convergence analysis (paper Figure 2)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from simlib import tasks as task_registry
from simlib.errors import SimlibError
from simlib.machines.adapter import RecurrentMachine
from simlib.machines.checkpoint import read_checkpoint, seed_of, snapshot_machines
from simlib.machines.zoo import zoo_path
from simlib.task import Task


class Runs(NamedTuple):
    """Training runs of one task: ``runs[name][step]`` a machine, ``histories[name]`` its training history
    (a dict of equally long lists: ``step``, ``loss``, ``kl`` or ``return``/``regret``, timings)."""

    task: Task
    runs: dict[str, dict[int, RecurrentMachine]]
    histories: dict[str, dict[str, list]]


def load_runs(sources: Sequence[str | os.PathLike]) -> Runs:
    """Load every snapshot of each run: ``PATH.pt`` (a checkpoint) or ``rnn:TASK`` (the shipped run).

    Runs are named by their recorded seed (``seed-3``; ``seed-3#2`` for a second run with the
    same seed). All runs must have been trained on the same task (name and parameters).
    """
    if not sources:
        raise SimlibError("load_runs needs at least one run")
    task_config, runs, histories = None, {}, {}
    for source in sources:
        path, label = _resolve(str(source))
        payload = read_checkpoint(path)
        if task_config is None:
            task_config, first = payload["task"], label
        elif payload["task"] != task_config:
            raise SimlibError(
                f"{label} was trained on {_describe(payload['task'])}, but {first} on {_describe(task_config)}"
            )
        name = _unique(f"seed-{seed_of(payload)}", runs)
        runs[name] = snapshot_machines(payload, source=label)
        histories[name] = {key: list(values) for key, values in payload["training"].get("history", {}).items()}
    return Runs(task_registry.from_config(task_config), runs, histories)


def _resolve(source: str) -> tuple[str, str]:
    """(checkpoint path, label for messages) of a run source."""
    if source.startswith("rnn:") and "@" not in source:
        return str(zoo_path(source[4:])), source
    if source.endswith(".pt"):
        return source, source
    raise SimlibError(f"bad run {source!r}: expected a checkpoint PATH.pt or rnn:TASK")


def _describe(config: dict) -> str:
    parameters = ", ".join(f"{key}={value}" for key, value in config.items() if key != "name")
    return f"{config.get('name')!r} ({parameters})"


def _unique(name: str, taken: dict) -> str:
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}#{k}", k + 1
    return candidate
