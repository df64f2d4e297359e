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
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize
from matplotlib.figure import Figure

from simlib.compare import ComparisonReport
from simlib.families import OutputFamily
from simlib.plots.behaviour import output_summary


def output_colours(family: OutputFamily, params: np.ndarray, reference: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Colour data for outputs ``[N, n_params]``, with a label saying what the colour means.

    * three-way categorical outputs (as in the paper): an RGB array ``[N, 3]``, the class
      probabilities themselves;
    * other categorical outputs (nominal classes have no mean): the most probable class ``[N]``
      as integers, to be drawn with a categorical colour map (see :func:`class_colours`);
    * two-action policies: P(choose action 1); Bernoulli: p;
    * continuous outputs: the predicted median (finite where a mean may not be), or, where the
      ``reference`` outputs' median never moves (fixed by the prior), the predicted scale
      (:func:`simlib.plots.behaviour.output_summary`); ``[N]`` floats.
    """
    if params.shape[-1] == 3 and family.discrete:
        return np.clip(params, 0.0, 1.0), "colour = (red, green, blue) = predicted probabilities of classes (0, 1, 2)"
    values = family.mean(torch.from_numpy(np.ascontiguousarray(params, dtype=np.float64))).numpy()
    if values.ndim == 2:
        if family.name == "policy" and values.shape[1] == 2:
            return values[:, 1], "P(choose action 1)"
        what = "action" if family.name == "policy" else "class"
        return values.argmax(axis=1).astype(np.int64), f"most probable {what} (argmax of the predicted probabilities)"
    if family.param_names == ("p",):
        return values, "predicted p(next = 1)"
    summary, _, label = output_summary(family, params, reference, reference_name="B's")
    return summary, label.replace("\n", " ").replace("predictive", "predicted")


def class_colours(k: int) -> tuple[ListedColormap, BoundaryNorm]:
    """A categorical colour map for class indices ``0..k-1`` (one distinct colour each)."""
    colours = colormaps["tab10" if k <= 10 else "tab20"].colors
    return ListedColormap([colours[c % len(colours)] for c in range(k)]), BoundaryNorm(np.arange(k + 1) - 0.5, k)


def _panel(ax, points: np.ndarray, colours: np.ndarray, cmap, norm, title: str, axis_label: str):
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
    kwargs = {"c": colour} if colour.shape[1] == 3 else {"c": colour[:, 0], "cmap": cmap, "norm": norm}
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
    family = report.a_to_b.simulation.simulator.output
    own = {name: spaces[name].transform(test[f"{name}_state"].values) for name in ("a", "b")}
    reference = test["b_output"].values.reshape(-1, family.n_params)  # decides what a continuous colour shows
    colours = {
        ("a", "a"): output_colours(family, test["a_output"].values.reshape(-1, family.n_params), reference),
        ("b", "b"): output_colours(family, reference, reference),
        ("a", "b"): output_colours(family, directions["a"].mlp.simulated_output.reshape(-1, family.n_params), reference),
        ("b", "a"): output_colours(family, directions["b"].mlp.simulated_output.reshape(-1, family.n_params), reference),
    }
    scalars = [c for c, _ in colours.values() if c.ndim == 1]
    nominal = bool(scalars) and np.issubdtype(scalars[0].dtype, np.integer)
    if nominal:
        cmap, norm = class_colours(family.n_params)
    else:
        cmap, norm = "viridis", _robust_norm([colours[("a", "a")][0], colours[("b", "b")][0]]) if scalars else None
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
            artist = _panel(axes[row, col], points, colour, cmap, norm, title, space.upper())
    if scalars:
        bar = fig.colorbar(artist, ax=axes, shrink=0.6, label=colour_label)
        if nominal:
            bar.set_ticks(np.arange(family.n_params))
            bar.minorticks_off()
    rgb_note = "" if scalars else f"\n{colour_label}"
    fig.suptitle(
        f"Simulation on {report.task.name}: {report.behaviour.metric} = {report.behaviour.value:.3g} "
        f"{report.behaviour.units} ({report.test_traces.sizes['episode']} held-out episodes){rgb_note}",
        fontsize=10,
    )
    return fig
