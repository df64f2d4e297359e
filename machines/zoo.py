"""The shipped meta-trained LSTMs (package data).

* ``checkpoints/TASK.pt`` -- ``rnn:TASK``, seed 0;
* ``checkpoints/runs/TASK/seed-S.pt`` -- further training runs (other seeds) of the same recipe,
  for the convergence analysis across runs (paper Figure 2);
* ``checkpoints/runs/TASK/width-N-seed-0.pt`` -- reduced-memory agents of width N (Appendix D.7).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from simlib.errors import SimlibError

PREDICTION_KL_BAR = 0.001
"""Eq. (2) (nats summed over an episode, 500 held-out episodes) that every shipped prediction
agent stays at or under against its task's Bayes-optimal predictor."""


def _folder() -> Path:
    return Path(str(resources.files("simlib.machines"))) / "checkpoints"


def zoo_path(task_name: str) -> Path:
    """Path of the shipped checkpoint for ``task_name``."""
    path = _folder() / f"{task_name}.pt"
    if not path.is_file():
        raise SimlibError(f"no shipped meta-trained LSTM for task {task_name!r}")
    return path


def shipped() -> list[str]:
    """Task names that have a shipped checkpoint, sorted."""
    folder = _folder()
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []


def seed_paths(task_name: str) -> list[Path]:
    """Every shipped run of ``task_name``'s recipe, seed 0 (``rnn:TASK``) first, then by seed."""
    runs = _numbered(_folder() / "runs" / task_name, r"seed-(\d+)\.pt")
    return [zoo_path(task_name), *(path for seed, path in sorted(runs.items()) if seed != 0)]


def reduced_memory_paths(task_name: str) -> dict[int, Path]:
    """Shipped reduced-memory agents of ``task_name``: width N -> checkpoint, sorted by N."""
    return dict(sorted(_numbered(_folder() / "runs" / task_name, r"width-(\d+)-seed-0\.pt").items()))


def _numbered(folder: Path, pattern: str) -> dict[int, Path]:
    if not folder.is_dir():
        return {}
    matches = ((re.fullmatch(pattern, path.name), path) for path in folder.iterdir())
    return {int(match.group(1)): path for match, path in matches if match}
