"""Harlow's task in ``simlib reproduce wang2016`` (Wang et al. 2016, Figure 6): jobs and page section.

The agent ``rnn:harlow`` and further training runs of its recipe, one-layer and stacked
(two LSTMs, the second reading the input too, as Wang's second LSTM reads the reward and the
last action), seeds ``0..S-1``, are played on ``harlow-test`` (the held-out stimulus pool).
:class:`HarlowJob` records the probability of selecting the rewarded stimulus at each trial
for every snapshot of ``rnn:harlow``, the Bayes agent and the memoryless control, and for
every run its accuracy on trials 2 and later; a run is *at ceiling* when that accuracy is at
least :data:`CEILING` (Wang: 26% of 100 one-LSTM seeds, 43% of stacked ones).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import xarray as xr

from simlib import tasks as task_registry
from simlib.machines import load
from simlib.machines.checkpoint import machine_from_checkpoint, read_checkpoint
from simlib.pipeline.cache import cache_key
from simlib.pipeline.execute import Log
from simlib.pipeline.figures import save_figure
from simlib.pipeline.jobs import TrainJob
from simlib.pipeline.wang2016_design import HARLOW, HARLOW_TEST
from simlib.pipeline.wang2016_jobs import DatasetJob, identity, mean_of_present, run_path
from simlib.plots.bandit_curves import accuracy_by_trial
from simlib.tasks.harlow import selections
from simlib.traces import sample_traces
from simlib.training.predictor import TrainSettings

CEILING = 0.95
"""Accuracy on trials 2+ (held-out stimuli) from which a run counts as at ceiling."""
LAYERS = (1, 2)
SEED = 6


def seed_run_name(layers: int, seed: int) -> str:
    """The run name of one seed of the Harlow recipe with ``layers`` LSTMs (``runs/NAME.pt``)."""
    return HARLOW if (layers, seed) == (1, 0) else f"{HARLOW}-layers{layers}-seed{seed}"


def seed_jobs(out: Path, recipe: TrainSettings, seeds: int, device: str, threads: int | None) -> list[TrainJob]:
    """The training runs of every (layers, seed) but the agent itself (``runs/harlow.pt``, trained elsewhere)."""
    return [
        TrainJob(out, seed_run_name(layers, seed), HARLOW, replace(recipe, seed=seed, layers=layers, skip_inputs=layers > 1),
                 device=device, threads=threads)
        for layers in LAYERS for seed in range(seeds) if (layers, seed) != (1, 0)
    ]


def _accuracy(task, machine, episodes: int) -> np.ndarray:
    """P(the k-th selection is the rewarded stimulus) for k = 1..trials ``[trials]`` (NaN: never made)."""
    traces = sample_traces(task, {"m": machine}, episodes, SEED, driver="m")
    return mean_of_present(selections(traces, task.trials))


@dataclass(frozen=True)
class HarlowJob(DatasetJob):
    """Figure 6's data on ``episodes`` held-out episodes per agent (``harlow.nc``)."""

    out: Path
    seeds: int
    episodes: int
    depends_on: tuple[str, ...] = ()
    id = "harlow"

    @property
    def target(self) -> Path:
        return self.out / "harlow.nc"

    def key(self) -> str:
        runs = [identity(self.out, f"rnn:{seed_run_name(layers, seed)}") for layers in LAYERS for seed in range(self.seeds)]
        return cache_key(episodes=self.episodes, seed=SEED, runs=runs)

    def build(self, log: Log) -> xr.Dataset:
        test = task_registry.get(HARLOW_TEST)
        payload = read_checkpoint(run_path(self.out, HARLOW))
        steps = [snapshot["step"] for snapshot in payload["snapshots"]]
        log(f"play {len(steps)} snapshots of rnn:{HARLOW} on {HARLOW_TEST} ({self.episodes} episodes each)")
        snapshots = np.stack([_accuracy(test, machine_from_checkpoint(payload, str(step)), self.episodes) for step in steps])
        references = np.stack([_accuracy(test, load(f"{kind}:{HARLOW_TEST}"), self.episodes) for kind in ("opt", "win-stay-side")])
        later = np.full((len(LAYERS), self.seeds), np.nan)
        for i, layers in enumerate(LAYERS):
            for seed in range(self.seeds):
                run = read_checkpoint(run_path(self.out, seed_run_name(layers, seed)))
                later[i, seed] = mean_of_present(_accuracy(test, machine_from_checkpoint(run, "final"), self.episodes)[1:])
        return xr.Dataset(
            {
                "snapshot_accuracy": (("step", "trial"), snapshots),
                "reference_accuracy": (("agent", "trial"), references),
                "later_accuracy": (("layers", "seed"), later),
            },
            coords={"step": steps, "trial": np.arange(1, test.trials + 1), "agent": ["opt", "win-stay-side"],
                    "layers": list(LAYERS), "seed": np.arange(self.seeds)},
            attrs={"episodes": self.episodes, "ceiling": CEILING, "test": HARLOW_TEST},
        )


def section(out: Path, data: xr.Dataset) -> tuple[Path, list[str]]:
    """Figure 6 (``figure6.png``) and the page's lines about it."""
    curves = {f"rnn step {int(step)}": data["snapshot_accuracy"].sel(step=step).values for step in data["step"].values}
    curves.update({str(agent): data["reference_accuracy"].sel(agent=agent).values for agent in data["agent"].values})
    later = data["later_accuracy"]
    figure = accuracy_by_trial(curves, {f"{int(n)} LSTM{'s' if n > 1 else ''}": later.sel(layers=n).values
                                        for n in data["layers"].values}, data.attrs["ceiling"])
    path = save_figure(figure, out / "figure6.png")
    final = data["snapshot_accuracy"].isel(step=-1).values
    lines = [
        "## Figure 6: Harlow's task, one-shot binding on held-out stimuli", "",
        f"Probability of selecting the rewarded stimulus at each trial on `{data.attrs['test']}` (the held-out pool), "
        f"{data.attrs['episodes']} episodes per agent. Wang: after training, the agent is at chance on trial 1 and "
        "at ceiling from trial 2, on held-out images.", "",
        "| agent | trial 1 | trials 2+ |", "|---|---|---|",
        f"| rnn (final) | {final[0]:.3f} | {float(mean_of_present(final[1:])):.3f} |",
    ]
    for agent in data["agent"].values:
        row = data["reference_accuracy"].sel(agent=agent).values
        lines.append(f"| {agent} | {row[0]:.3f} | {float(mean_of_present(row[1:])):.3f} |")
    lines += ["", f"Runs of the recipe at ceiling (accuracy on trials 2+ at least {data.attrs['ceiling']:.0%}); "
              "Wang: 26% of 100 one-LSTM seeds, 43% of 100 stacked ones. The stacked agent's second LSTM reads the "
              "first's output and the input (`--layers 2 --skip-inputs`), as Wang's second LSTM reads the reward and "
              "the last action; a plain stack, whose second LSTM sees only the first's output, stayed at chance on "
              "trials 2+ on all 3 seeds of the previous run of this page.", "",
              "| LSTMs | seeds | at ceiling | accuracy on trials 2+ by seed |", "|---|---|---|---|"]
    for n in data["layers"].values:
        values = later.sel(layers=n).values
        lines.append(f"| {int(n)} | {values.size} | {int((values >= data.attrs['ceiling']).sum())} | "
                     + ", ".join(f"{v:.3f}" for v in values) + " |")
    lines += ["", "![Figure 6](figure6.png)", ""]
    return path, lines
