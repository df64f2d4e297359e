"""The tidy tables of ``simlib reproduce``: task x seed x stage x measure, and reduced memory."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import xarray as xr

from simlib.compare import ComparisonReport
from simlib.io import atomic_path

DIRECTIONS = {"rnn_to_opt": "a_to_b", "opt_to_rnn": "b_to_a"}
"""``rnn_to_opt``: phi maps the RNN's states into Opt's (Opt simulates the RNN), paper's RNN -> Opt."""

MEASURES = (
    "behaviour",
    *(f"{d}_{phi}{m}" for phi in ("", "linear_", "shuffled_") for d in DIRECTIONS for m in ("d_s", "d_o")),
    "rnn_return",
    "opt_return",
    "rnn_regret",
)
FIGURE4 = ("behaviour", "rnn_to_opt_d_s", "rnn_to_opt_d_o", "opt_to_rnn_d_s", "opt_to_rnn_d_o")


def measures_of(report: ComparisonReport) -> dict[str, float]:
    """Every measure of one comparison of an RNN (machine A) with Opt (machine B)."""
    values = {"behaviour": report.behaviour.value}
    for name, key in DIRECTIONS.items():
        direction = getattr(report, key)
        for phi, result in (("", direction.mlp), ("linear_", direction.linear), ("shuffled_", direction.shuffled)):
            values[f"{name}_{phi}d_s"], values[f"{name}_{phi}d_o"] = result.d_s, result.d_o
    returns, regret = report.behaviour.returns, report.behaviour.regret
    values["rnn_return"], values["opt_return"] = returns.get("a", np.nan), returns.get("b", np.nan)
    values["rnn_regret"] = regret.get("a", np.nan)
    return {key: float(value) for key, value in values.items()}


def _units(record: dict) -> str:
    return record["report"]["behaviour"]["units"]


def tidy_results(records: list[dict]) -> xr.Dataset:
    """``value [task, seed, stage, measure]`` (NaN where not measured) and per-task facts.

    Per task: ``units`` of behaviour and D_o (nats or reward), ``width`` N, training ``steps``
    and mean training ``cpu_seconds`` per run.
    """
    runs = [r for r in records if r["kind"] == "seed"]
    task_names = sorted({r["task"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    value = np.full((len(task_names), len(seeds), 2, len(MEASURES)), np.nan)
    for r in runs:
        index = (task_names.index(r["task"]), seeds.index(r["seed"]), ("init", "final").index(r["stage"]))
        value[index] = [r["measures"].get(m, np.nan) for m in MEASURES]
    finals = {name: [r for r in runs if r["task"] == name and r["stage"] == "final"] for name in task_names}
    return xr.Dataset(
        {
            "value": (("task", "seed", "stage", "measure"), value),
            "units": ("task", [_units(finals[n][0] if finals[n] else next(r for r in runs if r["task"] == n)) for n in task_names]),
            "width": ("task", [max(r["width"] for r in runs if r["task"] == n) for n in task_names]),
            "steps": ("task", [max((r["training"]["step"] for r in finals[n]), default=0) for n in task_names]),
            "cpu_seconds": ("task", [float(np.mean([r["training"]["cpu_seconds"] for r in finals[n]] or [np.nan])) for n in task_names]),
        },
        coords={"task": task_names, "seed": seeds, "stage": ["init", "final"], "measure": list(MEASURES)},
        attrs={"description": "simlib reproduce: RNN meta-learners against the Bayes-optimal agent"},
    )


def tidy_memory(records: list[dict]) -> xr.Dataset | None:
    """``value [task, width, measure]`` of the reduced-memory agents beside seed 0's full-width
    agent, for the tasks that have reduced-memory agents; None when there are none."""
    memory = [r for r in records if r["kind"] == "memory"]
    if not memory:
        return None
    task_names = sorted({r["task"] for r in memory})
    full = [r for r in records if r["kind"] == "seed" and r["seed"] == 0 and r["stage"] == "final" and r["task"] in task_names]
    chosen = memory + full
    widths = sorted({r["width"] for r in chosen})
    value = np.full((len(task_names), len(widths), len(MEASURES)), np.nan)
    for r in chosen:
        value[task_names.index(r["task"]), widths.index(r["width"])] = [r["measures"].get(m, np.nan) for m in MEASURES]
    return xr.Dataset(
        {"value": (("task", "width", "measure"), value)},
        coords={"task": task_names, "width": widths, "measure": list(MEASURES)},
    )


def write_table(dataset: xr.Dataset, stem: Path) -> dict[str, Path]:
    """``stem.nc`` (the dataset) and ``stem.csv`` (one row per value: its coordinates, then it)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    netcdf, table = stem.with_suffix(".nc"), stem.with_suffix(".csv")
    with atomic_path(netcdf) as temporary:
        dataset.to_netcdf(temporary)
    frame = dataset["value"]
    with atomic_path(table) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*frame.dims, "value"])
        for index in np.ndindex(frame.shape):
            labels = [frame[dim].values[i] for dim, i in zip(frame.dims, index)]
            if np.isfinite(frame.values[index]):
                writer.writerow([*labels, repr(float(frame.values[index]))])
    return {netcdf.name: netcdf, table.name: table}


def _number(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.3g}"


def median_rows(results: xr.Dataset) -> list[list[str]]:
    """Header and one row per task: seeds, units, then each Figure 4 measure's median over
    seeds as ``init -> final``."""
    medians = results["value"].sel(measure=list(FIGURE4)).median("seed", skipna=True)
    counts = np.isfinite(results["value"].sel(measure="behaviour", stage="final")).sum("seed")
    rows = [["task", "seeds", "units", *FIGURE4]]
    for task in results["task"].values:
        cells = [f"{_number(medians.sel(task=task, stage='init', measure=m).item())} -> "
                 f"{_number(medians.sel(task=task, stage='final', measure=m).item())}" for m in FIGURE4]
        rows.append([str(task), str(int(counts.sel(task=task))), str(results["units"].sel(task=task).item()), *cells])
    return rows
