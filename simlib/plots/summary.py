"""Figure 4 (every task: behaviour and both simulation directions, init beside final) and the
reduced-memory figure, drawn from the tidy tables of ``simlib reproduce``."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

COLUMNS = {
    "behaviour": "a  behaviour\n(KL(opt||rnn) or |Δ return|)",
    "rnn_to_opt_d_s": "b  D_s, RNN → Opt",
    "rnn_to_opt_d_o": "c  D_o, RNN → Opt",
    "opt_to_rnn_d_s": "d  D_s, Opt → RNN",
    "opt_to_rnn_d_o": "e  D_o, Opt → RNN",
}
STAGE_COLOURS = {"init": "tab:grey", "final": "tab:blue"}
STAGE_MARKERS = {"init": "s", "final": "o"}
EDGE = "<"
"""Marker of a median that is zero or negative: it has no place on a log axis and sits at its left edge."""


def quantile_summary(values: xr.DataArray, dim: str = "seed") -> xr.Dataset:
    """Median and the 5% and 95% quantiles over ``dim``, NaNs skipped: ``median``, ``low``, ``high``."""
    with warnings.catch_warnings():  # a measure never made (all NaN) stays NaN, without a warning
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        quantiles = values.quantile([0.05, 0.5, 0.95], dim=dim, skipna=True)
    parts = {name: quantiles.sel(quantile=q, drop=True) for name, q in (("low", 0.05), ("median", 0.5), ("high", 0.95))}
    return xr.Dataset(parts)


def log_limits(values: np.ndarray, decades: float = 2.0) -> tuple[float, float]:
    """Limits of a log axis that hold every positive finite value, padded by a quarter decade and
    spanning at least ``decades`` (so that at least two powers of ten are labelled)."""
    positive = values[np.isfinite(values) & (values > 0)]
    if not positive.size:
        return 0.1, 10.0
    low, high = float(positive.min()) / 10**0.25, float(positive.max()) * 10**0.25
    missing = decades - np.log10(high / low)
    if missing > 0:
        low, high = low / 10 ** (missing / 2), high * 10 ** (missing / 2)
    return low, high


def _stage_points(ax, rows: np.ndarray, part: xr.Dataset, stage: str, left: float) -> int:
    """Medians of one stage as points with 5-95% bars; medians <= 0 at the left edge. Returns their count."""
    median, low, high = (part[key].values for key in ("median", "low", "high"))
    colour = STAGE_COLOURS[stage]
    drawn = np.isfinite(median)
    positive = drawn & (median > 0)
    low = np.where(np.isfinite(low) & (low > 0), low, left)
    high = np.where(np.isfinite(high), np.maximum(high, left), left)
    ax.errorbar(median[positive], rows[positive], xerr=np.stack([median[positive] - np.minimum(low[positive], median[positive]),
                np.maximum(high[positive], median[positive]) - median[positive]]), fmt=STAGE_MARKERS[stage], ms=5,
                color=colour, ecolor=colour, elinewidth=1.0, capsize=2, label=stage, zorder=3)
    edge = drawn & ~positive
    if edge.any():
        at = left * 10**0.1
        ax.plot(np.full(int(edge.sum()), at), rows[edge], EDGE, ms=7, color=colour, zorder=3)
        reach = edge & (high > at)  # the 95% quantile may still be positive: draw the bar up to it
        ax.hlines(rows[reach], at, high[reach], color=colour, lw=1.0, zorder=2)
    return int(edge.sum())


def figure4(values: xr.DataArray, fig: Figure | None = None) -> Figure:
    """Paper Figure 4 from ``values [task, seed, stage, measure]``: points are medians over seeds,
    bars the 5–95% quantiles, ``init`` (untrained) beside ``final``, on log axes whose limits hold
    every value (a median of zero or below is a ``<`` at the left edge, and the panel says how many)."""
    summary = quantile_summary(values.sel(measure=list(COLUMNS)))
    tasks = list(values["task"].values)
    seeds = int(values.sizes["seed"])
    fig = fig or Figure(figsize=(15, 0.42 * len(tasks) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(COLUMNS), sharey=True)
    rows = np.arange(len(tasks))
    for ax, (measure, title) in zip(axes, COLUMNS.items()):
        part = summary.sel(measure=measure)
        left, right = log_limits(np.concatenate([part[key].values.ravel() for key in ("median", "low", "high")]))
        at_edge = sum(_stage_points(ax, rows + offset, part.sel(stage=stage), stage, left)
                      for offset, stage in ((0.17, "init"), (-0.17, "final")))
        ax.set_xscale("log")
        ax.set_xlim(left, right)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(title, fontsize=10)
        label = ("nats (prediction) or reward (bandits)" if measure.endswith("d_o") or measure == "behaviour"
                 else "D_s (1 = no better than the mean state)")
        ax.set_xlabel(label + (f"\n{EDGE} at the left edge: {at_edge} median(s) ≤ 0" if at_edge else ""), fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        for row in rows[1:]:
            ax.axhline(row - 0.5, color="0.85", lw=0.6, zorder=0)
    axes[0].set_yticks(rows, tasks)
    axes[0].set_ylim(len(tasks) - 0.5, -0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=9,
               title=f"points: median over each task's seeds (up to {seeds}); bars: 5–95% quantiles")
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
