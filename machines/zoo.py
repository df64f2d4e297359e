"""The shipped meta-trained LSTMs: ``rnn:TASK`` -> ``checkpoints/TASK.pt`` (package data)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from simlib.errors import SimlibError


def zoo_path(task_name: str) -> Path:
    """Path of the shipped checkpoint for ``task_name``."""
    path = Path(str(resources.files("simlib.machines"))) / "checkpoints" / f"{task_name}.pt"
    if not path.is_file():
        raise SimlibError(f"no shipped meta-trained LSTM for task {task_name!r}")
    return path


def shipped() -> list[str]:
    """Task names that have a shipped checkpoint, sorted."""
    folder = Path(str(resources.files("simlib.machines"))) / "checkpoints"
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []
