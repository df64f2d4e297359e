"""Figures of own play on interactive tasks: regret curves, pull rasters, regret matrices, choices, fits.

Every function takes labelled data (``xarray`` datasets from :mod:`simlib.play` or plain arrays)
and returns a matplotlib figure; none names a task or a machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def regret_curves(panels: Mapping[str, Mapping[str, xr.Dataset]], columns: int = 3, highlight: str | None = None) -> Figure:
    """One panel per title: cumulative expected regret over trials of every agent, with SE bands;
    each label keeps its colour across panels, ``highlight`` is drawn thicker."""
    rows = int(np.ceil(len(panels) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    labels = sorted({label for curves in panels.values() for label in curves})
    colours = dict(zip(labels, plt.get_cmap("tab10").colors))
    for ax, (title, curves) in zip(axes.flat, panels.items()):
        for label, data in curves.items():
            mean, se = data["cumulative_regret"].values, data["cumulative_regret_se"].values
            trial = data["trial"].values
            ax.plot(trial, mean, label=label, color=colours[label], lw=2.4 if label == highlight else 1.2)
            ax.fill_between(trial, mean - se, mean + se, color=colours[label], alpha=0.25, lw=0)
        ax.set(title=title, xlabel="trial", ylabel="cumulative expected regret")
        ax.legend(fontsize=7, frameon=False)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    figure.tight_layout()
    return figure


def pull_raster(suboptimal: np.ndarray, title: str) -> Figure:
    """Suboptimal pulls ``[E, T]`` (1 = a worse arm) as a raster, with their share per trial below."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    episodes, trials = suboptimal.shape
    top.imshow(suboptimal, aspect="auto", cmap="Greys", interpolation="nearest", extent=(0.5, trials + 0.5, episodes, 0))
    top.set(ylabel="episode", title=title)
    bottom.plot(np.arange(1, trials + 1), suboptimal.mean(0), color="k")
    bottom.set(xlabel="trial", ylabel="share suboptimal", ylim=(0, max(0.05, float(suboptimal.mean(0).max()) * 1.1)))
    figure.tight_layout()
    return figure


def regret_matrix(matrix: np.ndarray, trained: Sequence[str], tested: Sequence[str], reference: np.ndarray, reference_label: str) -> Figure:
    """Cumulative regret ``[trained, tested]`` as an annotated heat map, with ``reference [tested]`` as a last row."""
    values = np.vstack([matrix, reference[None, :]])
    figure, ax = plt.subplots(figsize=(1.2 * len(tested) + 2.5, 0.8 * len(trained) + 2))
    image = ax.imshow(values, cmap="viridis_r")
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="w" if value > values.mean() else "k", fontsize=8)
    ax.set_xticks(range(len(tested)), tested)
    ax.set_yticks(range(len(trained) + 1), [*trained, reference_label])
    ax.set(xlabel="tested on", ylabel="trained on")
    ax.axhline(len(trained) - 0.5, color="w", lw=2)
    figure.colorbar(image, ax=ax, label="cumulative regret at the last trial")
    figure.tight_layout()
    return figure


def choice_shares(shares: xr.DataArray, regret: xr.DataArray) -> Figure:
    """Per agent, stacked bars of the share of each choice per trial (``shares [agent, choice, trial]``)."""
    agents = list(shares["agent"].values)
    figure, axes = plt.subplots(1, len(agents), figsize=(3.2 * len(agents), 3), sharey=True, squeeze=False)
    colours = ("tab:orange", "tab:green", "tab:grey")
    for ax, agent in zip(axes[0], agents):
        bottom = np.zeros(shares.sizes["trial"])
        for choice, colour in zip(shares["choice"].values, colours):
            height = shares.sel(agent=agent, choice=choice).values
            ax.bar(shares["trial"].values, height, bottom=bottom, color=colour, label=str(choice))
            bottom += height
        ax.set(title=f"{agent}: regret {float(regret.sel(agent=agent)):.2f}", xlabel="trial")
    axes[0, 0].set_ylabel("share of episodes")
    axes[0, -1].legend(fontsize=7, frameon=False, loc="lower right")
    figure.tight_layout()
    return figure


def learning_rate_scatter(volatility: np.ndarray, fits: Mapping[str, np.ndarray], groups: Mapping[str, np.ndarray]) -> Figure:
    """Fitted learning rate against volatility, one panel per machine; points coloured by ``groups`` masks,
    each group with its least-squares line."""
    figure, axes = plt.subplots(1, len(fits), figsize=(4.5 * len(fits), 3.6), sharey=True, squeeze=False)
    for ax, (label, alpha) in zip(axes[0], fits.items()):
        for (group, mask), colour in zip(groups.items(), ("tab:blue", "tab:red", "tab:grey")):
            ax.scatter(volatility[mask], alpha[mask], s=4, alpha=0.4, color=colour, label=group)
            if mask.sum() > 2:
                slope, intercept = np.polyfit(volatility[mask], alpha[mask], 1)
                xs = np.linspace(volatility[mask].min(), volatility[mask].max(), 2)
                ax.plot(xs, intercept + slope * xs, color=colour, lw=2)
        ax.set(title=label, xlabel="volatility (walk sd per trial)", ylabel="fitted learning rate")
        ax.legend(fontsize=7, frameon=False, markerscale=3)
    figure.tight_layout()
    return figure


def grouped_bars(
    values: xr.DataArray, errors: xr.DataArray, title: str, ylabel: str, ylim: tuple[float, float] = (0.0, 1.05)
) -> Figure:
    """One panel per agent (``values``' first dim), one bar per group (its second dim) with
    ``errors`` as error bars: Wang's Figure 5 layout for stay probabilities, Figure 7's latencies."""
    agents, groups = values.dims
    count = values.sizes[agents]
    figure, axes = plt.subplots(1, count, figsize=(3.3 * count, 3.0), sharey=True, squeeze=False)
    colours = plt.get_cmap("tab10").colors
    labels = [str(g) for g in values[groups].values]
    for ax, agent in zip(axes[0], values[agents].values):
        ax.bar(range(len(labels)), values.sel({agents: agent}).values, yerr=errors.sel({agents: agent}).values,
               color=[colours[i % len(colours)] for i in range(len(labels))], capsize=3)
        ax.set_xticks(range(len(labels)), [label.replace(" ", "\n") for label in labels], fontsize=7)
        ax.set(title=str(agent), ylim=ylim)
    axes[0][0].set_ylabel(ylabel)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def accuracy_by_trial(curves: Mapping[str, np.ndarray], runs: Mapping[str, np.ndarray], ceiling: float) -> Figure:
    """Left: a probability per trial for each labelled curve (labels starting ``"rnn step"`` shaded
    from light to dark in order, the others in colour); right: one point per run and group, with
    the ``ceiling`` as a line (Wang's Figure 6)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    steps = [label for label in curves if label.startswith("rnn step")]
    shades = plt.get_cmap("Blues")(np.linspace(0.3, 1.0, max(len(steps), 1)))
    others = iter(plt.get_cmap("tab10").colors[1:])
    for label, values in curves.items():
        trial = np.arange(1, len(values) + 1)
        colour = shades[steps.index(label)] if label in steps else next(others)
        left.plot(trial, values, marker="o", ms=3, color=colour, label=label, lw=1.2)
    left.set(xlabel="trial", ylabel="P(select the rewarded stimulus)", ylim=(0, 1.05), title="held-out stimuli")
    left.legend(fontsize=6, frameon=False, ncol=2)
    for i, (label, values) in enumerate(runs.items()):
        right.scatter(np.full(len(values), i) + np.linspace(-0.15, 0.15, len(values)), values, s=18)
    right.axhline(ceiling, color="grey", ls="--", lw=1)
    right.set_xticks(range(len(runs)), list(runs))
    right.set(ylabel="accuracy on trials 2+", ylim=(0, 1.05), title="training runs")
    figure.tight_layout()
    return figure
