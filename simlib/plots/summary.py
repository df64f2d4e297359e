"""Figure 4 (every task: behaviour and both simulation directions, init beside final) and the
reduced-memory figure, drawn from the tidy tables of ``simlib reproduce``."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

COLUMNS = {
    "behaviour": "a  behaviour\n(KL(opt||rnn) or |Δ return|)",
    "rnn_to_opt_d_s": "b  D_s, RNN → Opt",
    "rnn_to_opt_d_o": "c  D_o, RNN → Opt",
    "opt_to_rnn_d_s": "d  D_s, Opt → RNN",
    "opt_to_rnn_d_o": "e  D_o, Opt → RNN",
}
STAGE_COLOURS = {"init": "tab:grey", "final": "tab:blue"}
FLOOR = 1e-5
"""Values are drawn on a log axis from this floor (smaller values sit at the floor)."""


def quantile_summary(values: xr.DataArray, dim: str = "seed") -> xr.Dataset:
    """Median and the 5% and 95% quantiles over ``dim``, NaNs skipped: ``median``, ``low``, ``high``."""
    quantiles = values.quantile([0.05, 0.5, 0.95], dim=dim, skipna=True)
    parts = {name: quantiles.sel(quantile=q, drop=True) for name, q in (("low", 0.05), ("median", 0.5), ("high", 0.95))}
    return xr.Dataset(parts)


def figure4(values: xr.DataArray, fig: Figure | None = None) -> Figure:
    """Paper Figure 4 from ``values [task, seed, stage, measure]``: bars are medians over seeds,
    error bars the 5–95% quantiles, ``init`` (untrained) beside ``final``; log axes."""
    summary = quantile_summary(values.sel(measure=list(COLUMNS)))
    tasks = list(values["task"].values)
    seeds = int(values.sizes["seed"])
    fig = fig or Figure(figsize=(15, 0.42 * len(tasks) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(COLUMNS), sharey=True)
    rows = np.arange(len(tasks))
    for ax, (measure, title) in zip(axes, COLUMNS.items()):
        for offset, stage in ((0.2, "init"), (-0.2, "final")):
            part = summary.sel(measure=measure, stage=stage)
            median = np.maximum(part["median"].values, FLOOR)
            errors = np.stack([median - np.maximum(part["low"].values, FLOOR), np.maximum(part["high"].values, FLOOR) - median])
            ax.barh(rows + offset, median - FLOOR, left=FLOOR, height=0.38, color=STAGE_COLOURS[stage],
                    xerr=np.maximum(errors, 0), error_kw={"elinewidth": 0.8, "capsize": 1.5}, label=stage)
        ax.set_xscale("log")
        ax.set_xlim(left=FLOOR)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("nats (prediction) or reward (bandits)" if measure.endswith("d_o") or measure == "behaviour"
                      else "D_s (1 = no better than the mean state)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(rows, tasks)
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=9,
               title=f"bars: median over each task's seeds (up to {seeds}); error bars: 5–95% quantiles")
    fig.suptitle("Meta-trained LSTM vs Bayes-optimal agent: behaviour and structure (paper Figure 4)")
    return fig


MEMORY_PANELS = {
    "behaviour": ("behaviour", "KL(opt||rnn) nats, or |Δ return|"),
    "d_s": ("D_s", "state dissimilarity"),
    "d_o": ("D_o", "output dissimilarity"),
}


def memory_figure(values: xr.DataArray, fig: Figure | None = None) -> Figure:
    """Reduced-memory agents from ``values [task, width, measure]``: behaviour, D_s and D_o in
    both directions against the width N of the LSTM (one row per task; log axes)."""
    tasks = list(values["task"].values)
    fig = fig or Figure(figsize=(12, 3.1 * len(tasks)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(tasks), len(MEMORY_PANELS), squeeze=False))
    for row, task in zip(axes, tasks):
        part = values.sel(task=task).dropna("width", how="all")
        widths = part["width"].values
        for ax, (key, (label, ylabel)) in zip(row, MEMORY_PANELS.items()):
            if key == "behaviour":
                ax.plot(widths, part.sel(measure="behaviour"), "o-", color="k", label="rnn vs opt")
            else:
                for direction, colour in (("rnn_to_opt", "tab:blue"), ("opt_to_rnn", "tab:orange")):
                    name = direction.replace("_to_", " → ").replace("rnn", "RNN").replace("opt", "Opt")
                    ax.plot(widths, part.sel(measure=f"{direction}_{key}"), "o-", color=colour, label=name)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(widths, [str(int(w)) for w in widths])
            ax.set_xlabel("LSTM width N (units)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{task}: {label}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle("Reduced-memory agents: behaviour and simulation break down as the width N falls")
    return fig
