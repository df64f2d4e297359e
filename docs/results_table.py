"""Print the markdown tables of docs/results.md from a ``simlib reproduce`` folder.

    python docs/results_table.py reproduce/      # reads results.nc and memory.nc there
"""

import sys
from pathlib import Path

import numpy as np
import xarray as xr

from simlib.pipeline.results import FIGURE4, median_rows


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows[1:])])


def quantile_rows(results: xr.Dataset, stage: str) -> list[list[str]]:
    """Median [5%, 95%] over seeds of every Figure 4 measure at ``stage``."""
    values = results["value"].sel(measure=list(FIGURE4), stage=stage)
    q = values.quantile([0.05, 0.5, 0.95], dim="seed", skipna=True)
    rows = [["task", *FIGURE4]]
    for task in results["task"].values:
        cells = []
        for m in FIGURE4:
            low, mid, high = (q.sel(task=task, measure=m, quantile=k).item() for k in (0.05, 0.5, 0.95))
            cells.append("–" if not np.isfinite(mid) else f"{mid:.3g} [{low:.2g}, {high:.2g}]")
        rows.append([str(task), *cells])
    return rows


def memory_rows(memory: xr.Dataset) -> list[list[str]]:
    names = ["behaviour", "rnn_to_opt_d_s", "rnn_to_opt_d_o", "opt_to_rnn_d_s", "opt_to_rnn_d_o"]
    rows = [["task", "N", *names]]
    for task in memory["task"].values:
        for width in memory["width"].values:
            cell = memory["value"].sel(task=task, width=width)
            if np.isfinite(cell.sel(measure="behaviour")):
                rows.append([str(task), str(int(width)), *(f"{cell.sel(measure=n).item():.3g}" for n in names)])
    return rows


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    results = xr.open_dataset(folder / "results.nc").load()
    print(markdown(median_rows(results)), end="\n\n")
    for stage in ("init", "final"):
        print(f"{stage}: median [5%, 95%] over seeds\n\n{markdown(quantile_rows(results, stage))}", end="\n\n")
    if (folder / "memory.nc").exists():
        print(markdown(memory_rows(xr.open_dataset(folder / "memory.nc").load())))
