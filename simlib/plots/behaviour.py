"""Figure 1 for any task: the agents' outputs beside the Bayes-optimal agent's on the same
episodes, and their dissimilarity from it at every step."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simlib.task_family import family_of
from simlib.machine import StateMachine
from simlib.task import Task
from simlib.traces import sample_traces

EPISODE_COLOURS = ("tab:blue", "tab:orange", "tab:green")
CONSTANT = 1e-12
"""A summary whose Bayes-optimal values all lie within this of each other is constant (fixed by the prior)."""


def per_class(family) -> bool:
    """Whether Figure 1 draws every class's probability (categorical predictions, and policies over
    more than two actions) instead of one number per output."""
    k = getattr(family, "k", None)
    return k is not None and (family.name == "categorical" or k > 2)


def _median(family, params: np.ndarray) -> np.ndarray | None:
    """The predictive median of the next x, ``[..., P] -> [...]``: finite wherever the parameters
    are (unlike the mean, which is infinite for a Lomax of shape <= 1 or a Student-t of df <= 1);
    None for families without a closed form here."""
    names = family.param_names
    column = dict(zip(names, np.moveaxis(params, -1, 0)))
    if names == ("shape", "scale"):  # Lomax
        return column["scale"] * np.expm1(np.log(2.0) / column["shape"])
    if names == ("rate",):  # exponential
        return np.log(2.0) / column["rate"]
    if "loc" in column:  # normal, Student-t: symmetric about loc
        return column["loc"]
    return None


def output_summary(
    family, params: np.ndarray, reference: np.ndarray | None = None, reference_name: str = "the Bayes-optimal"
) -> tuple[np.ndarray, np.ndarray, str]:
    """One number per output of a machine (``params [..., P]``) and of the reference, and its label.

    Continuous predictions are summarised by their median (finite where the mean is not); where
    the reference's median is the same in every episode and step (fixed by the prior, e.g. a
    Normal of known mean), by the quantity that moves instead: the predictive scale.
    """
    reference = params if reference is None else reference
    name = type(family).__name__
    if name in ("Bernoulli", "Policy") and params.shape[-1] <= 2:
        label = "P(x = 1)" if name == "Bernoulli" else "P(choose action 1)"
        return params[..., -1], reference[..., -1], label
    median = _median(family, params)
    if median is None:
        flat = lambda values: torch.from_numpy(np.ascontiguousarray(values).reshape(-1, values.shape[-1]))  # noqa: E731
        means = [family.mean(flat(v)).numpy().reshape(v.shape[:-1]) for v in (params, reference)]
        return means[0], means[1], "predictive mean of the next x"
    fixed = _median(family, reference)
    if "scale" in family.param_names and np.ptp(fixed) <= CONSTANT:
        column = family.param_names.index("scale")
        label = f"predictive scale of the next x\n({reference_name} median is fixed at {float(fixed.flat[0]):.3g})"
        return params[..., column], reference[..., column], label
    return median, fixed, "predictive median of the next x"


def _not_drawn(*arrays: np.ndarray) -> int:
    """How many values a line plot leaves out (NaN or infinite)."""
    return int(sum((~np.isfinite(a)).sum() for a in arrays))


def _outputs(left, task: Task, name: str, agent: np.ndarray, reference: np.ndarray, steps: np.ndarray) -> None:
    """Left panel: one number per output, agent solid and Bayes-optimal dashed, on three episodes."""
    agent_summary, reference_summary, label = output_summary(task.output, agent, reference)
    for episode, colour in enumerate(EPISODE_COLOURS[: agent.shape[0]]):
        left.plot(steps, agent_summary[episode], color=colour, marker=".", ms=4, label=f"episode {episode + 1}: {name} agent")
        left.plot(steps, reference_summary[episode], color=colour, linestyle="--", marker=".", ms=4,
                  label=f"episode {episode + 1}: Bayes-optimal")
    missing = _not_drawn(agent_summary[:3], reference_summary[:3])
    note = f"; {missing} non-finite value(s) not drawn" if missing else ""
    left.set_xlabel("time step t")
    left.set_ylabel(label)
    left.set_title(f"{task.name}: outputs on three episodes (solid {name} agent, dashed Bayes-optimal){note}", fontsize=9)
    left.legend(fontsize=7, ncol=2, framealpha=0.9)


def _class_probabilities(panel, task: Task, name: str, agent: np.ndarray, reference: np.ndarray, steps: np.ndarray) -> None:
    """Left half for categorical outputs: every class's probability, one small panel per episode."""
    k = agent.shape[-1]
    colours = colormaps["tab10" if k <= 10 else "tab20"].colors
    what = "action" if task.output.name == "policy" else "x"
    axes = list(np.atleast_1d(panel.subplots(1, agent.shape[0], sharey=True)))
    for episode, ax in enumerate(axes):
        for c in range(k):
            ax.plot(steps, agent[episode, :, c], color=colours[c % len(colours)], lw=1.3)
            ax.plot(steps, reference[episode, :, c], color=colours[c % len(colours)], lw=1.0, linestyle="--")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"episode {episode + 1}", fontsize=8)
        ax.set_xlabel("time step t", fontsize=8)
    axes[0].set_ylabel("P(x = class)" if what == "x" else "P(choose action)")
    handles = [Line2D([], [], color=colours[c % len(colours)], lw=1.5, label=f"{what} = {c}") for c in range(k)]
    handles += [Line2D([], [], color="k", lw=1.3, label=f"{name} agent"),
                Line2D([], [], color="k", lw=1.0, linestyle="--", label="Bayes-optimal")]
    panel.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
    panel.suptitle(f"{task.name}: every class's probability on three episodes\n(solid {name} agent, dashed Bayes-optimal)",
                   fontsize=9)


def behaviour_figure(
    task: Task,
    agents: Mapping[str, StateMachine],
    reference: StateMachine,
    episodes: int = 500,
    seed: int = 0,
    fig: Figure | None = None,
) -> Figure:
    """Paper Figure 1 for ``task``: left, the last agent's and the reference's outputs on three
    episodes (bandits: the agent acts, both see its stream); right, each agent's mean per-step
    KL(reference || agent) in nats or, on bandits, cumulative Bayes regret in reward."""
    fig = fig or Figure(figsize=(12, 4))
    fig.set_layout_engine("constrained")
    left, right = fig.subfigures(1, 2)
    name, agent = list(agents.items())[-1]
    family = family_of(task)
    traces = sample_traces(task, {"agent": agent, "reference": reference}, 3, seed, driver="agent")
    steps = np.arange(1, task.horizon + 1)
    outputs = traces["agent_output"].values, traces["reference_output"].values
    if per_class(task.output):
        _class_probabilities(left, task, name, *outputs, steps)
    else:
        _outputs(left.subplots(), task, name, *outputs, steps)
    right = right.subplots()
    for stage, machine in agents.items():
        curve = family.behaviour_curve(task, machine, reference, episodes, seed)
        right.plot(steps, curve, marker="o", markersize=3, label=f"{stage} agent")
    if family.curve_axis["log"]:
        right.set_yscale("log")
    right.set_ylabel(family.curve_axis["ylabel"])
    right.set_title(family.curve_axis["title"].format(episodes=episodes), fontsize=9)
    right.set_xlabel("time step t")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.suptitle(f"Behaviour of the meta-trained LSTM against the Bayes-optimal agent on {task.name} (paper Figure 1)")
    return fig
