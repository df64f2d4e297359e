"""The aggregate step of ``simlib reproduce``: tables and figures from every evaluation in a folder.

Reads ``evaluations/*/*.json`` (this and earlier invocations' tasks) and writes
``results.nc``/``.csv``, ``memory.nc``/``.csv``, ``figure4.png`` and ``memory.png``; lists the
per-task figures the jobs drew (:mod:`simlib.pipeline.jobs`).
"""

from __future__ import annotations

import json
from pathlib import Path

from simlib.pipeline.figures import save_figure
from simlib.pipeline.results import tidy_memory, tidy_results, write_table


def read_evaluations(out: Path) -> list[dict]:
    """Every evaluation record in ``out``, in file-name order."""
    return [json.loads(path.read_text()) for path in sorted((out / "evaluations").glob("*/*.json"))]


def write_tables(records: list[dict], out: Path) -> dict[str, Path]:
    """``results.nc``/``.csv`` (task x seed x stage x measure) and, where reduced-memory agents
    were evaluated, ``memory.nc``/``.csv`` (task x width x measure)."""
    files = write_table(tidy_results(records), out / "results")
    memory = tidy_memory(records)
    if memory is not None:
        files.update(write_table(memory, out / "memory"))
    return files


def draw_figures(records: list[dict], out: Path, tasks: tuple[str, ...]) -> dict[str, Path]:
    """Figure 4 and the reduced-memory figure of ``records``, and the drawn Figures 1-3 of ``tasks``."""
    from simlib.plots import figure4, memory_figure

    files = {"figure4": save_figure(figure4(tidy_results(records)["value"]), out / "figure4.png")}
    memory = tidy_memory(records)
    if memory is not None:
        files["memory"] = save_figure(memory_figure(memory["value"]), out / "memory.png")
    for task in tasks:
        drawn = {f"{task}/figure{k}": out / task / f"figure{k}.png" for k in (1, 2, 3)}
        files.update({name: path for name, path in drawn.items() if path.exists()})
    return files
