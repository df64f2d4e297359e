"""The evaluation jobs of ``simlib reproduce wang2016``: frozen, picklable plain data, each keyed.

Each job makes one file in the output folder ``out`` and does nothing when the file already
holds its key. An agent ``rnn:TASK`` is the final agent of ``runs/TASK.pt`` (made by a
:class:`simlib.pipeline.jobs.TrainJob`); in keys it stands for its training command and step,
so a retrained agent is played again. Files::

    curves/TEST/AGENT.nc    CurveJob curve/TEST/AGENT    own play: per-trial cumulative regret, suboptimal pulls
    raster.nc               RasterJob raster             Figure 2b: suboptimal pulls per episode and trial
    choices.nc              ChoicesJob choices           Figure 3: per-trial choices on the informative-arm bandit
    fit.nc                  FitJob fit                   Figure 4c: per-episode Rescorla-Wagner fits
    compare/TASK-STAGE.json ComparisonJob compare/TASK-STAGE   compare(rnn, opt), untrained or trained
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from simlib import tasks as task_registry
from simlib.compare import compare
from simlib.machines import load, require_bayes_optimal
from simlib.machines.checkpoint import machine_from_checkpoint, read_checkpoint
from simlib.pipeline.cache import cache_key, dataset_key, phi_key, record_key, write_dataset, write_record
from simlib.pipeline.execute import Log
from simlib.pipeline.wang2016_design import baseline_spec
from simlib.play import own_play_records
from simlib.rescorla_wagner_fit import fit_rescorla_wagner
from simlib.simulation import PHI_STEPS
from simlib.threads import FIT_THREADS


def run_path(out: Path, name: str) -> Path:
    """Where the agent of task ``name`` is kept."""
    return out / "runs" / f"{name}.pt"


def agent(out: Path, name: str, stage: str = "final"):
    """The agent ``rnn:NAME`` (``stage`` ``"init"``: its untrained snapshot, ``rnn:NAME@init``)."""
    path = run_path(out, name)
    spec = f"rnn:{name}" if stage == "final" else f"rnn:{name}@{stage}"
    machine = machine_from_checkpoint(read_checkpoint(path), stage, source=str(path) if stage == "final" else spec)
    machine.spec = spec
    return machine


def machine_for(out: Path, label: str, test: str):
    """The machine an agent label stands for on task ``test``: ``rnn:NAME`` or a baseline kind."""
    return agent(out, label[4:]) if label.startswith("rnn:") else load(baseline_spec(label, test))


def identity(out: Path, label: str) -> str:
    """What an agent label stands for in cache keys: an rnn's training command, else the label."""
    if not label.startswith("rnn:"):
        return label
    training = read_checkpoint(run_path(out, label[4:]))["training"]
    return f"{training['command']} (step {training['step']})"


def mean_of_present(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """The mean over ``axis`` of the values that are not NaN; NaN where none is (no warning)."""
    present = ~np.isnan(values)
    count = present.sum(axis)
    return np.where(count > 0, np.where(present, values, 0.0).sum(axis) / np.maximum(count, 1), np.nan)


class DatasetJob(ABC):
    """A job whose result is one netCDF file, ``target``, keyed by :meth:`key` (read when it
    runs: an agent's identity is known only once it is trained)."""

    @property
    @abstractmethod
    def target(self) -> Path:
        """The file the job makes."""

    @abstractmethod
    def key(self) -> str:
        """What the file depends on."""

    @abstractmethod
    def build(self, log: Log) -> xr.Dataset:
        """The dataset, computed."""

    def run(self, log: Log) -> bool:
        key = self.key()
        if dataset_key(self.target) == key:
            return False
        write_dataset(self.target, key, self.build(log))
        return True


@dataclass(frozen=True)
class CurveJob(DatasetJob):
    """Own play of agent ``label`` on ``test`` over ``episodes`` episodes (seed 0): per-trial curves."""

    out: Path
    label: str
    test: str
    episodes: int
    depends_on: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"curve/{self.test}/{self.label}"

    @property
    def target(self) -> Path:
        return self.out / "curves" / self.test / f"{self.label.replace(':', '_').replace('@', '_')}.nc"

    def key(self) -> str:
        return cache_key(episodes=self.episodes, seed=0, agent=identity(self.out, self.label))

    def build(self, log: Log) -> xr.Dataset:
        machine = machine_for(self.out, self.label, self.test)
        log(f"play {self.label} on {self.test} ({self.episodes} episodes)")
        curves = own_play_records(task_registry.get(self.test), machine, self.episodes, seed=0).curves()
        curves.attrs.update(agent=self.label, test=self.test)
        return curves


@dataclass(frozen=True)
class RasterJob(DatasetJob):
    """Figure 2b: which of ``episodes`` episodes (seed 1) of ``task`` its own agent played a
    suboptimal arm in, at each trial (``suboptimal [episode, trial]``)."""

    out: Path
    task: str
    episodes: int
    depends_on: tuple[str, ...] = ()
    id = "raster"

    @property
    def target(self) -> Path:
        return self.out / "raster.nc"

    def key(self) -> str:
        return cache_key(episodes=self.episodes, seed=1, agent=identity(self.out, f"rnn:{self.task}"))

    def build(self, log: Log) -> xr.Dataset:
        play = own_play_records(task_registry.get(self.task), agent(self.out, self.task), self.episodes, 1)
        return xr.Dataset({"suboptimal": (("episode", "trial"), play.suboptimal)},
                          coords={"trial": np.arange(1, play.suboptimal.shape[1] + 1)})


@dataclass(frozen=True)
class ChoicesJob(DatasetJob):
    """Figure 3: per trial, the share of ``episodes`` episodes (seed 0) of the informative-arm
    ``task`` in which its agent and each of ``baselines`` pulls the informative arm, the target
    or another (``share [agent, choice, trial]``), and each one's regret (``regret [agent]``)."""

    out: Path
    task: str
    baselines: tuple[str, ...]
    episodes: int
    depends_on: tuple[str, ...] = ()
    id = "choices"

    @property
    def target(self) -> Path:
        return self.out / "choices.nc"

    def key(self) -> str:
        return cache_key(episodes=self.episodes, seed=0, agent=identity(self.out, f"rnn:{self.task}"),
                         baselines=self.baselines)

    def build(self, log: Log) -> xr.Dataset:
        task = task_registry.get(self.task)
        agents = {"rnn": agent(self.out, self.task), **{kind: load(baseline_spec(kind, self.task)) for kind in self.baselines}}
        shares, regret = [], []
        for machine in agents.values():
            play = own_play_records(task, machine, self.episodes, seed=0)
            informative = play.action == task.arms - 1
            target = play.action == play.theta[:, :1]
            shares.append(np.stack([informative.mean(0), target.mean(0), (~informative & ~target).mean(0)]))
            regret.append(play.regret.sum(1).mean())
        return xr.Dataset(
            {"share": (("agent", "choice", "trial"), np.array(shares)), "regret": ("agent", np.array(regret))},
            coords={"agent": list(agents), "choice": ["informative", "target", "other"],
                    "trial": np.arange(1, task.horizon + 1)},
        )


@dataclass(frozen=True)
class FitJob(DatasetJob):
    """Figure 4c: a softmax Rescorla-Wagner fit to each of ``episodes`` episodes (seed 3) of
    ``test``, played by the agent of ``task`` and by ``opt:TEST`` (``LABEL_alpha``,
    ``LABEL_beta``, ``volatility``, all ``[episode]``)."""

    out: Path
    task: str
    test: str
    episodes: int
    depends_on: tuple[str, ...] = ()
    id = "fit"

    @property
    def target(self) -> Path:
        return self.out / "fit.nc"

    def key(self) -> str:
        return cache_key(episodes=self.episodes, seed=3, agent=identity(self.out, f"rnn:{self.task}"))

    def build(self, log: Log) -> xr.Dataset:
        test = task_registry.get(self.test)
        variables = {}
        for label, machine in (("rnn", agent(self.out, self.task)), ("opt", require_bayes_optimal(test))):
            log(f"fit Rescorla-Wagner to {label} on {self.test} ({self.episodes} episodes)")
            play = own_play_records(test, machine, self.episodes, seed=3, chunk=250)
            fitted = fit_rescorla_wagner(play.action.astype(int), play.observed, 2, initial_value=0.5)
            variables[f"{label}_alpha"] = ("episode", fitted.alpha)
            variables[f"{label}_beta"] = ("episode", fitted.beta)
            variables["volatility"] = ("episode", play.theta[:, 0])
        return xr.Dataset(variables)


@dataclass(frozen=True)
class ComparisonJob:
    """``compare(rnn, opt)`` on ``task`` for its trained (``final``) or untrained (``init``)
    agent, ``episodes`` episodes, seed 0, 200 resamples; the report as JSON."""

    out: Path
    task: str
    stage: str
    episodes: int
    threads: int | None = None
    depends_on: tuple[str, ...] = ()
    phi_steps: int | None = None

    @property
    def id(self) -> str:
        return f"compare/{self.task}-{self.stage}"

    @property
    def target(self) -> Path:
        return self.out / "compare" / f"{self.task}-{self.stage}.json"

    def key(self) -> str:
        return cache_key(episodes=self.episodes, seed=0, resamples=200, stage=self.stage,
                         agent=identity(self.out, f"rnn:{self.task}"), **phi_key(self.phi_steps))

    def run(self, log: Log) -> bool:
        key = self.key()
        if record_key(self.target) == key:
            return False
        task = task_registry.get(self.task)
        rnn, opt = agent(self.out, self.task, self.stage), require_bayes_optimal(task)
        log(f"compare {rnn.spec} with opt:{self.task} ({self.episodes} episodes)")
        report = compare(rnn, opt, task, episodes=self.episodes, seed=0, resamples=200, critic=opt,
                         max_steps=self.phi_steps or PHI_STEPS, threads=self.threads or FIT_THREADS)
        write_record(self.target, key, report.to_dict())
        return True
