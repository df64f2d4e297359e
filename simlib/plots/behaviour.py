"""Figure 1 for any task: the agents' outputs beside the Bayes-optimal agent's on the same
episodes, and their dissimilarity from it at every step."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib.figure import Figure

from simlib.behaviour import divergence, own_play
from simlib.machine import StateMachine
from simlib.task import Task
from simlib.traces import sample_traces

EPISODE_COLOURS = ("tab:blue", "tab:orange", "tab:green")


def _summary(family, params: np.ndarray) -> tuple[np.ndarray, str]:
    """One number per output ``[..., P] -> [...]`` and its axis label."""
    name = type(family).__name__
    if name in ("Bernoulli", "Policy"):
        return params[..., -1], "P(x = 1)" if name == "Bernoulli" else "P(choose action 1)"
    if name == "Categorical":
        return params[..., 0], "P(x = 0)"
    flat = torch.from_numpy(np.ascontiguousarray(params).reshape(-1, params.shape[-1]))
    return family.mean(flat).numpy().reshape(params.shape[:-1]), "predictive mean of the next x"


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
    fig = fig or Figure(figsize=(12, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    name, agent = list(agents.items())[-1]
    driver = {"driver": "agent"} if task.closed_loop else {}
    traces = sample_traces(task, {"agent": agent, "reference": reference}, 3, seed, **driver)
    steps = np.arange(1, task.horizon + 1)
    agent_summary, label = _summary(task.output, traces["agent_output"].values)
    reference_summary, _ = _summary(task.output, traces["reference_output"].values)
    for episode, colour in enumerate(EPISODE_COLOURS):
        left.plot(steps, agent_summary[episode], color=colour, label=f"episode {episode + 1}: {name} agent")
        left.plot(steps, reference_summary[episode], color=colour, linestyle="--", label=f"episode {episode + 1}: Bayes-optimal")
    left.set_xlabel("time step t")
    left.set_ylabel(label)
    left.set_title(f"{task.name}: outputs on three episodes (solid {name} agent, dashed Bayes-optimal)", fontsize=9)
    left.legend(fontsize=7, ncol=2, framealpha=0.9)
    for stage, machine in agents.items():
        if task.closed_loop:
            _, regret = own_play(task, machine, episodes, seed, critic=reference)
            right.plot(steps, regret.cumsum(1).mean(0), marker="o", markersize=3, label=f"{stage} agent")
        else:
            traced = sample_traces(task, {"agent": machine, "reference": reference}, episodes, seed)
            kl = divergence(task.output, traced["reference_output"].values, traced["agent_output"].values)
            right.plot(steps, np.maximum(kl.mean(0), 1e-12), marker="o", markersize=3, label=f"{stage} agent")
    if task.closed_loop:
        right.set_ylabel("cumulative Bayes regret (reward)")
        right.set_title(f"mean over {episodes} episodes, each agent playing its own", fontsize=9)
    else:
        right.set_yscale("log")
        right.set_ylabel("KL(Bayes-optimal || agent) per step (nats)")
        right.set_title(f"mean over {episodes} episodes, same observations", fontsize=9)
    right.set_xlabel("time step t")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.suptitle(f"Behaviour of the meta-trained LSTM against the Bayes-optimal agent on {task.name} (paper Figure 1)")
    return fig
