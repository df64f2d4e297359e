"""Figure of an injectivity report: where, by history length, one machine merges what the
other keeps apart, and how much the separated pairs differ in state and in output."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from simlib.injectivity import Failure, InjectivityReport


def injectivity_figure(report: InjectivityReport, top: int = 3) -> Figure:
    """Left: per history length, the pairs merged by each machine and the share the other
    separates, with the D_s floor. Right: separated pairs, state distance against output gap,
    the ``top`` widest output gaps labelled with their histories."""
    figure = Figure(figsize=(12, 5.2), layout="constrained")
    counts, floors, scatter = figure.subplots(1, 3)
    colours = {"a_merges": "tab:blue", "b_merges": "tab:orange"}
    lines: list[str] = []
    for key, failure in (("a_merges", report.a_merges), ("b_merges", report.b_merges)):
        table = failure.per_length
        length = table["length"].values
        label = f"{failure.merging} merges"
        counts.plot(length, table["merged_pairs"].values, "o-", color=colours[key], label=f"{label} (pairs)")
        counts.plot(length, table["separated_pairs"].values, "x--", color=colours[key], label=f"… {failure.separating} separates")
        floors.plot(length, table["d_s_floor"].values, "o-", color=colours[key], label=f"{failure.merging} -> {failure.separating}")
        lines += _scatter(scatter, report, failure, colours[key], top)
    counts.set(xlabel="history length (inputs read)", ylabel="pairs", yscale="symlog", title="merged and separated pairs")
    counts.legend(fontsize=7)
    floors.set(xlabel="history length (inputs read)", ylabel="D_s floor (whitened)", title="what no phi can undo")
    floors.legend(fontsize=7)
    scatter.set(
        xlabel="state distance in the separating machine (whitened)",
        ylabel="its output gap (nats)",
        title="separated pairs, widest gaps numbered",
    )
    figure.suptitle(f"injectivity on {report.task}: {report.histories.source}", fontsize=10)
    if lines:
        figure.supxlabel("\n".join(lines), fontsize=7, ha="left", x=0.01, family="monospace")
    return figure


def _scatter(ax, report: InjectivityReport, failure: Failure, colour: str, top: int) -> list[str]:
    """Draw ``failure``'s separated pairs; number the ``top`` widest gaps and return their legend lines."""
    if not failure.separated_pairs:
        return []
    gap = np.maximum(failure.output_gap, 1e-12)
    ax.scatter(failure.separated_distance, gap, s=6, alpha=0.4, color=colour, label=f"{failure.merging} merges")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lines = []
    for rank, (record, x, y) in enumerate(zip(report.witnesses(failure, top), failure.separated_distance, gap), 1):
        tag = f"{failure.merging[:1]}{rank}"
        ax.annotate(tag, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points", color=colour)
        lines.append(f"{tag}: {_shorten(record['first'])}  |  {_shorten(record['second'])}")
    ax.legend(fontsize=7)
    return [f"{failure.merging} merges, {failure.separating} separates:"] + lines


def _shorten(history: str, width: int = 60) -> str:
    return history if len(history) <= width else history[: width - 1] + "…"
