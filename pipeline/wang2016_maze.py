"""The one-shot maze in ``simlib reproduce wang2016`` (Wang et al. 2016, Figure 7): job and page section.

:class:`MazeJob` plays the maze with the meta-trained LSTM, the Bayes agent and the memoryless
control and records, for the k-th goal hit of an episode, the mean latency (steps from the
episode's start or from the respawn after the previous hit) with its standard error and the
share of episodes that reached it. Wang (after Mirowski et al.): the first hit takes a search,
later hits are fast; a feed-forward agent shows no such drop. :func:`stacked_job` trains the
agent's recipe with two stacked LSTMs, the architecture Wang and Mirowski et al. navigate with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import xarray as xr

from simlib import tasks as task_registry
from simlib.machines import load
from simlib.pipeline.cache import cache_key
from simlib.pipeline.execute import Log
from simlib.pipeline.jobs import TrainJob
from simlib.pipeline.figures import save_figure
from simlib.pipeline.wang2016_design import MAZE
from simlib.pipeline.wang2016_jobs import DatasetJob, agent, identity, mean_of_present
from simlib.plots.bandit_curves import grouped_bars
from simlib.tasks.maze import hit_latencies
from simlib.traces import sample_traces
from simlib.training.predictor import TrainSettings

STACKED = f"{MAZE}-layers2"
"""The run name of the two-LSTM agent (``runs/NAME.pt``)."""
AGENTS = ("rnn", "rnn-2-lstms", "opt", "memoryless")
HITS = 4
SEED = 7


def stacked_job(out: Path, recipe: TrainSettings, device: str, threads: int | None) -> TrainJob:
    """The agent's recipe with two stacked LSTMs, the second reading the input too
    (``runs/one-shot-maze-layers2.pt``)."""
    return TrainJob(out, STACKED, MAZE, replace(recipe, layers=2, skip_inputs=True), device=device, threads=threads)


def _machine(out: Path, label: str):
    """The machine an agent label of :data:`AGENTS` stands for."""
    if label.startswith("rnn"):
        return agent(out, STACKED if label == "rnn-2-lstms" else MAZE)
    return load(f"{label}:{MAZE}")


@dataclass(frozen=True)
class MazeJob(DatasetJob):
    """Figure 7's data on ``episodes`` episodes per agent (``maze.nc``)."""

    out: Path
    episodes: int
    depends_on: tuple[str, ...] = ()
    id = "maze"

    @property
    def target(self) -> Path:
        return self.out / "maze.nc"

    def key(self) -> str:
        return cache_key(episodes=self.episodes, seed=SEED, agent=identity(self.out, f"rnn:{MAZE}"),
                         stacked=identity(self.out, f"rnn:{STACKED}"), agents=AGENTS)

    def build(self, log: Log) -> xr.Dataset:
        task = task_registry.get(MAZE)
        mean, se, reached, returns = [], [], [], []
        for label in AGENTS:
            machine = _machine(self.out, label)
            log(f"play {label} on {MAZE} ({self.episodes} episodes)")
            traces = sample_traces(task, {"m": machine}, self.episodes, SEED, driver="m")
            latency = hit_latencies(traces, HITS)
            seen = ~np.isnan(latency)
            count = seen.sum(0)
            mean.append(mean_of_present(latency))
            spread = np.array([latency[seen[:, k], k].std(ddof=1) if count[k] > 1 else np.nan for k in range(HITS)])
            se.append(spread / np.sqrt(np.maximum(count, 1)))
            reached.append(count / self.episodes)
            returns.append(traces["reward"].values.sum(1))
        returns = np.array(returns)
        return xr.Dataset(
            {
                "latency": (("agent", "hit"), np.array(mean)),
                "latency_se": (("agent", "hit"), np.array(se)),
                "reached": (("agent", "hit"), np.array(reached)),
                "return": ("agent", returns.mean(1)),
                "return_se": ("agent", returns.std(1, ddof=1) / np.sqrt(returns.shape[1])),
            },
            coords={"agent": list(AGENTS), "hit": np.arange(1, HITS + 1)},
            attrs={"episodes": self.episodes, "seed": SEED, "random_return": task.random_return(),
                   "opt_return": load(f"opt:{MAZE}").expected_return()},
        )


def section(out: Path, data: xr.Dataset) -> tuple[Path, list[str]]:
    """Figure 7 (``figure7.png``) and the page's lines about it."""
    first = data["reached"].isel(hit=0).values
    labelled = data.assign_coords(hit=[f"hit {int(k)}" for k in data["hit"].values],
                                  agent=[f"{agent} ({share:.0%} reach a goal)" for agent, share in zip(data["agent"].values, first)])
    top = float(np.nanmax(data["latency"].values + data["latency_se"].values)) * 1.1
    figure = grouped_bars(labelled["latency"], labelled["latency_se"], "Figure 7: steps to the goal, first hit and later",
                          "latency (steps)", ylim=(0.0, top))
    path = save_figure(figure, out / "figure7.png")
    lines = [
        "## Figure 7: one-shot navigation", "",
        f"Latency (steps) to the k-th goal hit of an episode on `{MAZE}`, {data.attrs['episodes']} episodes per agent, "
        "± SE over the episodes that reached it, and the share that did. Wang: after the first hit the meta-trained "
        "agent returns to the goal faster; a memoryless agent cannot. `rnn-2-lstms` is the agent's recipe with two "
        "stacked LSTMs (Wang's and Mirowski et al.'s navigation architecture). The gap closed is the sampled return's "
        "share of the way from the uniformly random walk's expected return to opt's (both exact).", "",
        "| agent | return ± SE | gap closed | " + " | ".join(f"hit {int(k)}" for k in data["hit"].values) + " |",
        "|---|---|---|" + "---|" * data.sizes["hit"],
    ]
    best, floor = data.attrs["opt_return"], data.attrs["random_return"]
    for label in data["agent"].values:
        row = data.sel(agent=label)
        cells = " | ".join("– (0%)" if r == 0 else f"{m:.2f} ± {s:.2f} ({r:.0%})" for m, s, r in
                           zip(row["latency"].values, row["latency_se"].values, row["reached"].values))
        closed = (float(row["return"]) - floor) / (best - floor)
        lines.append(f"| {label} | {float(row['return']):.1f} ± {float(row['return_se']):.1f} | {closed:.1%} | {cells} |")
    lines += ["", "![Figure 7](figure7.png)", ""]
    return path, lines
