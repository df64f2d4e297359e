"""Figures: the convergence panel (paper Figure 2) from :func:`simlib.convergence.analyse`.

Left column, for one run: (a) the within-episode dissimilarity to the Bayes-optimal agent over
training step x time step, (b) the same for a few snapshots as curves. Right column, for every
run: (c) an MDS map of the pairwise behavioural distances, each run a line through its
snapshots coloured by training step, the Bayes-optimal agent a star at the origin, beside a
zoom (the map made without each run's first snapshot); (d) the recorded training curves.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simlib.task_family import recorded_family

_PROGRESS = "viridis"


def convergence_figure(dataset: xr.Dataset, run: str | None = None, fig: Figure | None = None) -> Figure:
    """The 2x2 Figure 2 panel; ``run`` picks the run of panels (a) and (b) (default: the first).

    Draws into ``fig`` (e.g. ``plt.figure(figsize=(12, 8.5))``) or a new pyplot-free Figure.
    """
    run = str(dataset["run"].values[0]) if run is None else run
    if run not in dataset["run"].values:
        raise ValueError(f"no run {run!r}; the dataset holds {list(dataset['run'].values)}")
    within = dataset["within"].sel(run=run).dropna("step", how="all")
    progress = Normalize(0, max(1, int(dataset["step"].max())))
    fig = fig if fig is not None else Figure(figsize=(12, 8.5))
    fig.set_layout_engine("constrained")
    left, right = fig.subfigures(1, 2, width_ratios=(1, 1.1))
    top_left, bottom_left = left.subplots(2, 1)
    rows = right.add_gridspec(2, 1)
    maps = [right.add_subplot(cell) for cell in rows[0].subgridspec(1, 2)]
    _heat_map(top_left, within, dataset.attrs, run)
    _snapshot_curves(bottom_left, within, dataset.attrs, run, progress)
    mappable = _embedding(maps[0], dataset, progress)
    _embedding(maps[1], dataset, progress, zoom=True)
    right.colorbar(mappable, ax=maps, label="training step")
    _training_curves(right, rows[1], dataset)
    attrs = dataset.attrs
    fig.suptitle(
        f"Convergence to the Bayes-optimal agent on {attrs['task']}, {dataset.sizes['run']} run(s)\n"
        f"(a, b) {attrs['within_measure']}, {attrs['episodes']} episodes; "
        f"(c) distance = {attrs['distance_measure']}, {attrs['distance_episodes']} episodes",
        fontsize=10,
    )
    return fig


def _heat_map(ax, within: xr.DataArray, attrs: dict, run: str) -> None:
    """(a) ``within (step, time)`` as a log-coloured image, time steps counted from 1."""
    values, steps = within.values, within["step"].values
    positive = values[np.isfinite(values) & (values > 0)]
    high = float(positive.max()) if positive.size else 1.0
    low = max(float(positive.min()) if positive.size else high * 1e-6, high * 1e-6)
    cmap = colormaps["magma"]
    cmap = cmap.with_extremes(under=cmap(0.0))
    time = within["time"].values + 1
    image = ax.pcolormesh(
        np.arange(time[0] - 0.5, time[-1] + 1),
        np.arange(len(steps) + 1) - 0.5,
        np.where(values > 0, values, low * 0.5),
        norm=LogNorm(low, high if high > low else low * 10),
        cmap=cmap,
    )
    ticks = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), 9)).round().astype(int))
    ax.set_yticks(ticks, [str(step) for step in steps[ticks]])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.figure.colorbar(image, ax=ax, extend="min", label=f"{attrs['within_measure']} ({attrs['within_units']})")
    ax.set_xlabel("time step within the episode")
    ax.set_ylabel("training step (snapshot)")
    ax.set_title(f"(a) {run}: dissimilarity to opt, mean of {attrs['episodes']} episodes", fontsize=9)


def _snapshot_curves(ax, within: xr.DataArray, attrs: dict, run: str, progress: Normalize) -> None:
    """(b) per-step dissimilarity of up to five snapshots, first and last included."""
    steps = within["step"].values
    chosen = steps[np.unique(np.linspace(0, len(steps) - 1, min(5, len(steps))).round().astype(int))]
    cmap = colormaps[_PROGRESS]
    time = within["time"].values + 1
    for step in chosen:
        values = within.sel(step=step).values
        shown = np.where(values > 0, values, np.nan)
        ax.plot(time, shown, marker="o", ms=3, color=cmap(progress(step)), label=str(step))
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time step within the episode")
    ax.set_ylabel(f"{attrs['within_measure']} ({attrs['within_units']})", fontsize=8)
    ax.legend(title="training step", fontsize=7, title_fontsize=7)
    ax.set_title(f"(b) {run}: the same at a few snapshots (zeros not drawn)", fontsize=9)


def _embedding(ax, dataset: xr.Dataset, progress: Normalize, zoom: bool = False):
    """(c) MDS map: a line per run through its snapshots coloured by step; opt a star.

    ``zoom`` draws ``embedding_zoom``, the map made without each run's first snapshot (usually far
    from the rest). Returns the mappable.
    """
    coordinates = dataset["embedding_zoom" if zoom else "embedding"].values
    runs, steps = dataset["point_run"].values, dataset["point_step"].values
    reference = dataset.attrs["reference"]
    cmap = colormaps[_PROGRESS]
    mappable = None
    for run in dataset["run"].values:
        mine = np.flatnonzero(runs == run)
        mine = mine[np.argsort(steps[mine])][1 if zoom else 0 :]
        xy = coordinates[mine]
        if len(mine) > 1:
            lines = LineCollection(np.stack([xy[:-1], xy[1:]], axis=1), cmap=cmap, norm=progress, linewidths=1.5)
            lines.set_array(0.5 * (steps[mine][:-1] + steps[mine][1:]))
            ax.add_collection(lines)
        mappable = ax.scatter(xy[:, 0], xy[:, 1], c=steps[mine], cmap=cmap, norm=progress, s=14, zorder=3)
        if len(mine):
            ax.annotate(str(run), xy[0], fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.scatter(*coordinates[runs == reference][0], marker="*", s=220, color="black", zorder=4, label=reference)
    units = dataset.attrs["distance_units"]
    shown = coordinates[np.isfinite(coordinates).all(axis=1)]
    note = _equal_aspect(ax, shown, _span(dataset["embedding"].values), units)
    ax.set_xlabel(f"MDS 1 ({units})")
    ax.set_ylabel(f"MDS 2 ({units})")
    ax.ticklabel_format(style="sci", scilimits=(-4, 4))
    if note:
        text = ax.text(0.5, 0.03, note, transform=ax.transAxes, fontsize=7, va="bottom", ha="center",
                       bbox={"facecolor": "white", "edgecolor": "0.6", "alpha": 0.9})
        text.set_in_layout(False)  # inside the axes: it must not shrink them
    if zoom:
        ax.set_title("(c) zoom: MDS without each\nrun's first snapshot", fontsize=9)
    else:
        ax.legend(fontsize=8, loc="best")
        ax.set_title("(c) MDS of the distances between\nall snapshots, one line per run", fontsize=9)
    return mappable


DEGENERATE = 1e-9
"""An embedding whose spread across some axis is below this share of its largest spread is degenerate."""
ROUND_OFF = 1e-12
"""Spreads below this (in distance units) are round-off, whatever the scale."""


def _span(points: np.ndarray) -> float:
    """The largest coordinate range of the finite ``points [n, 2]`` (0 for fewer than two)."""
    finite = points[np.isfinite(points).all(axis=1)]
    return float(np.ptp(finite, axis=0).max()) if len(finite) > 1 else 0.0


def embedding_shape(points: np.ndarray) -> str:
    """``"coincident"``, ``"line"`` or ``"plane"``: the dimension the points ``[n, 2]`` really span.

    Classical scaling of distances that embed in one dimension (or none) leaves round-off on the
    other axis; a panel that autoscales to it shows noise at 1e-23 as structure.
    """
    finite = points[np.isfinite(points).all(axis=1)]
    if len(finite) < 2:
        return "coincident"
    singular = np.linalg.svd(finite - finite.mean(axis=0), compute_uv=False)
    if singular[0] <= max(DEGENERATE * float(np.abs(finite).max()), ROUND_OFF):
        return "coincident"
    return "line" if singular[-1] <= max(DEGENERATE * singular[0], ROUND_OFF) else "plane"


def _equal_aspect(ax, points: np.ndarray, fallback: float, units: str) -> str:
    """Equal scales on both MDS axes (distances read the same in every direction) with limits from
    the data; for a degenerate embedding, limits from its real extent and a note saying so."""
    shape = embedding_shape(points)
    centre = points.mean(axis=0) if len(points) else np.zeros(2)
    if shape == "coincident":
        half = 0.5 * (fallback if fallback > 0 else 1.0)
        ax.update_datalim([centre - half, centre + half])
    ax.margins(0.08)
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="datalim")  # widens the shorter range about its centre
    if shape == "coincident":
        return f"degenerate: all {len(points)}\npoints coincide"
    if shape == "line":
        return f"degenerate: all {len(points)} points\non a line (the spread\nacross it is round-off)"
    return ""


def _training_curves(subfigure, cell, dataset: xr.Dataset) -> None:
    """(d) the recorded training curves of every run in grid ``cell``, side by side, against training step."""
    shown = [curve for curve in recorded_family(dataset.attrs).training_curves if f"train_{curve[0]}" in dataset]
    grid = cell.subgridspec(1, max(1, len(shown)))
    if not shown:
        ax = subfigure.add_subplot(grid[0])
        ax.text(0.5, 0.5, "no training history recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    for k, (key, name, label) in enumerate(shown):
        ax = subfigure.add_subplot(grid[k])
        for run in dataset["run"].values:
            ax.plot(dataset["train_step"].sel(run=run), dataset[f"train_{key}"].sel(run=run), lw=1.2, label=str(run))
        if key in ("kl", "regret"):
            _log_scale(ax, dataset[f"train_{key}"].values)
        ax.set_xlabel("training step")
        ax.set_ylabel(label, fontsize=8)
        ax.set_title(f"(d) training curves: {name}", fontsize=9)
        if k == 0 and dataset.sizes["run"] <= 10:
            ax.legend(fontsize=7, title="run", title_fontsize=7)


def _log_scale(ax, values: np.ndarray) -> None:
    """A log y axis, unless estimates dip to zero or below (sampling noise): then a linear one."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() > 0:
        ax.set_yscale("log")
