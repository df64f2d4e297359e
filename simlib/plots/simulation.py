"""Figures: the Figure 3-style 2x2 simulation panel (paper §4.3).

Rows are the machine whose states are shown (A on top, B below); columns the space they are
drawn in (A's whitened principal components on the left, B's on the right). The diagonal shows
each machine in its own space; the off-diagonal panels show phi's embedding into the other
machine's space. Colour is the output emitted in each state -- for the embedded panels, the
output the other machine computes from the embedded state -- and white lines follow three
held-out episodes.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from simlib.compare import ComparisonReport
from simlib.families import OutputFamily


def output_colours(family: OutputFamily, params: np.ndarray) -> tuple[np.ndarray, str]:
    """Colour data for outputs ``[N, n_params]``: an RGB array ``[N, 3]`` for three-way
    categorical outputs (as in the paper), else a scalar ``[N]``, with a label for it."""
    if params.shape[-1] == 3 and family.discrete:
        return np.clip(params, 0.0, 1.0), "colour = (red, green, blue) = predicted probabilities of classes (0, 1, 2)"
    values = family.mean(torch.from_numpy(np.ascontiguousarray(params, dtype=np.float64))).numpy()
    if values.ndim == 2:
        if family.name == "policy" and values.shape[1] == 2:
            return values[:, 1], "P(choose action 1)"
        values = values @ np.arange(values.shape[1])
        return values, "expected class"
    if family.param_names == ("p",):
        return values, "predicted p(next = 1)"
    return values, "predicted mean"


def _panel(ax, points: np.ndarray, colours: np.ndarray, norm, title: str, axis_label: str):
    """Scatter ``points [E, T, k]`` and trace three episodes; k = 1 is drawn against time."""
    episodes, horizon, k = points.shape
    if k >= 2:
        xy = points[..., :2]
        xlabel, ylabel = f"{axis_label} PC1 (whitened)", f"{axis_label} PC2 (whitened)"
    else:
        times = np.broadcast_to(np.arange(horizon)[None, :, None], (episodes, horizon, 1))
        xy = np.concatenate([times, points[..., :1]], axis=-1)
        xlabel, ylabel = "time step", f"{axis_label} PC1 (whitened)"
    flat = xy.reshape(-1, 2)
    colour = colours.reshape(episodes * horizon, -1)
    kwargs = {"c": colour} if colour.shape[1] == 3 else {"c": colour[:, 0], "cmap": "viridis", "norm": norm}
    artist = ax.scatter(flat[:, 0], flat[:, 1], s=9, edgecolors="none", **kwargs)
    for episode in range(min(3, episodes)):
        ax.plot(xy[episode, :, 0], xy[episode, :, 1], color="white", lw=1.2, alpha=0.9)
    ax.set_facecolor("0.35")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    return artist


def _robust_norm(values: list[np.ndarray]) -> Normalize:
    """Colour limits from the machines' own outputs: the 1st to 99th percentile of finite values,
    so one extreme (or infinite) output cannot wash out the scale; embedded panels share it."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    low, high = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
    return Normalize(low, high if high > low else low + 1e-9, clip=True)


def simulation_panel(report: ComparisonReport, fig: Figure | None = None) -> Figure:
    """The 2x2 panel for a comparison, on its held-out episodes.

    Draws into ``fig`` (e.g. ``plt.figure(figsize=(9.5, 8.5))``) or a new pyplot-free Figure.
    """
    test = report.test_traces
    directions = {"a": report.a_to_b, "b": report.b_to_a}
    spaces = {"a": report.a_to_b.simulation.source_whitening_, "b": report.a_to_b.simulation.target_whitening_}
    labels = {"a": f"A = {report.a}", "b": f"B = {report.b}"}
    family = report.a_to_b.simulation.simulator_.output
    own = {name: spaces[name].transform(test[f"{name}_state"].values) for name in ("a", "b")}
    colours = {
        ("a", "a"): output_colours(family, test["a_output"].values.reshape(-1, family.n_params)),
        ("b", "b"): output_colours(family, test["b_output"].values.reshape(-1, family.n_params)),
        ("a", "b"): output_colours(family, directions["a"].mlp.simulated_output.reshape(-1, family.n_params)),
        ("b", "a"): output_colours(family, directions["b"].mlp.simulated_output.reshape(-1, family.n_params)),
    }
    scalars = [c for c, _ in colours.values() if c.ndim == 1]
    norm = _robust_norm([colours[("a", "a")][0], colours[("b", "b")][0]]) if scalars else None
    fig = fig if fig is not None else Figure(figsize=(9.5, 8.5))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(2, 2)
    artist = None
    for row, shown in enumerate(("a", "b")):
        for col, space in enumerate(("a", "b")):
            colour, colour_label = colours[(shown, space)]
            if shown == space:
                points, title = own[shown], f"{labels[shown]}\nin its own state space"
            else:
                result = directions[shown].mlp
                points = result.embedded
                title = (
                    f"{shown.upper()} embedded in {space.upper()} ({space.upper()} simulates {shown.upper()})\n"
                    f"D_s = {result.d_s:.3g}, "
                    + ("D_o unavailable" if result.d_o is None else f"D_o = {result.d_o:.3g} {report.behaviour.units}")
                )
            colour = colour.reshape(points.shape[0], points.shape[1], -1)
            artist = _panel(axes[row, col], points, colour, norm, title, space.upper())
    if scalars:
        fig.colorbar(artist, ax=axes, shrink=0.6, label=colour_label)
    rgb_note = "" if scalars else f"\n{colour_label}"
    fig.suptitle(
        f"Simulation on {report.task.name}: {report.behaviour.metric} = {report.behaviour.value:.3g} "
        f"{report.behaviour.units} ({report.test_traces.sizes['episode']} held-out episodes){rgb_note}",
        fontsize=10,
    )
    return fig
