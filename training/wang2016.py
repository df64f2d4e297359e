"""``simlib reproduce wang2016``: Wang et al. 2016's bandit experiments against exact Bayes agents.

One resumable output folder::

    runs/TASK.pt                        the agent of each task (the shipped one, or trained by its recipe)
    curves/TEST/AGENT.nc                own play on TEST: per-trial cumulative regret (mean, SE), suboptimal pulls
    raster.nc                           Figure 2b: suboptimal pulls of 300 episodes of dependent-bandit-medium
    choices.nc                          Figure 3: per-trial choices on the informative-arm bandit
    fit.nc                              Figure 4c: per-episode Rescorla-Wagner fits on restless-bandit-test
    compare/TASK-STAGE.json             simlib compare rnn:TASK opt:TASK, untrained and trained
    regret.csv, cross.csv, compare.csv  the tables; figure2.png ... figure4.png, results-wang2016.md
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import xarray as xr

import simlib
from simlib import tasks as task_registry
from simlib.compare import compare
from simlib.io import atomic_path
from simlib.machines import load, require_bayes_optimal
from simlib.machines.checkpoint import machine_from_checkpoint, read_checkpoint
from simlib.machines.zoo import shipped, zoo_path
from simlib.play import own_play_records
from simlib.rescorla_wagner_fit import fit_rescorla_wagner
from simlib.task import Task
from simlib.training.cache import cache_key, cached_dataset, record_key, write_record
from simlib.training.recipes import is_shipped_run, recipe, train
from simlib.threads import FIT_THREADS

STRUCTURED = (
    "independent-bandit",
    "dependent-bandit",
    "dependent-bandit-easy",
    "dependent-bandit-medium",
    "dependent-bandit-hard",
)
"""Wang's D_i, D_u, D_e, D_m, D_h (Figure 2)."""
INFORMATIVE = "informative-arm-bandit"
RESTLESS, RESTLESS_TEST = "restless-bandit", "restless-bandit-test"
AGENT_TASKS = (*STRUCTURED, INFORMATIVE, RESTLESS)
SHORT = dict(zip(STRUCTURED, ("D_i", "D_u", "D_e", "D_m", "D_h")))
"""Wang's names of the structured distributions."""
BASELINES = {
    **{name: ("opt", "gittins", "thompson", "ucb") for name in STRUCTURED},
    INFORMATIVE: ("opt", "thompson", "ucb"),
    RESTLESS: ("opt", "thompson", "ucb", "rescorla-wagner@0.2", "rescorla-wagner@0.8"),
}
TRAINING_VOLATILITY_GAP = (2 / 30, 4 / 30)


@dataclass(frozen=True)
class WangSettings:
    """What ``simlib reproduce wang2016`` runs.

    ``episodes``: own-play episodes per (agent, test task) for the regret curves (Wang: 150);
    ``raster_episodes``: Figure 2b; ``fit_episodes``: Figure 4c's per-episode fits;
    ``compare_episodes``: each ``simlib compare``; ``steps``/``hidden``/``batch``: retrain every
    agent with its recipe overridden (None: the shipped agents); ``gittins``: include the Gittins
    baseline.
    """

    episodes: int = 10_000
    raster_episodes: int = 300
    fit_episodes: int = 2000
    compare_episodes: int = 500
    steps: int | None = None
    hidden: int | None = None
    batch: int | None = None
    gittins: bool = True
    device: str = "auto"
    threads: int | None = None

    @classmethod
    def quick(cls, **overrides) -> "WangSettings":
        """Tiny agents, few episodes and no Gittins baseline (its index table at discount 0.99 takes two
        CPU minutes): the whole pipeline in about a minute on a CPU."""
        base = {"episodes": 60, "raster_episodes": 20, "fit_episodes": 40, "compare_episodes": 25,
                "steps": 4, "hidden": 8, "batch": 16, "gittins": False}
        return cls(**{**base, **overrides})

    def __post_init__(self) -> None:
        if min(self.episodes, self.raster_episodes, self.fit_episodes) < 2 or self.compare_episodes < 10:
            raise simlib.SimlibError("reproduce wang2016 needs at least 2 episodes per curve and 10 per comparison")


class WangReproduction:
    """The pipeline over one output folder; :meth:`run` does every step not done yet."""

    def __init__(self, settings: WangSettings, out: str | Path, log: Callable[[str], None] = print) -> None:
        self.settings, self.out, self.log = settings, Path(out), log

    def run(self) -> dict[str, Path]:
        started = time.time()
        agents = {name: self.agent(name) for name in AGENT_TASKS}
        for train_name in STRUCTURED:
            for test_name in STRUCTURED:
                self.curve(f"rnn:{train_name}", agents[train_name], test_name)
        for test_name, kinds in BASELINES.items():
            if test_name != INFORMATIVE:
                for kind in kinds:
                    if kind != "gittins" or self.settings.gittins:
                        self.curve(kind, self.baseline(kind, test_name), test_name)
        self.curve(f"rnn:{INFORMATIVE}", agents[INFORMATIVE], INFORMATIVE)
        self.curve(f"rnn:{RESTLESS}", agents[RESTLESS], RESTLESS)
        raster = self.raster(agents["dependent-bandit-medium"])
        choices = self.choices(agents[INFORMATIVE])
        fit = self.fit(agents[RESTLESS])
        for name in AGENT_TASKS:
            for stage in ("init", "final"):
                self.comparison(name, stage)
        from simlib.training.wang2016_report import write_report

        return write_report(self, time.time() - started, raster=raster, choices=choices, fit=fit)

    # agents

    def agent(self, name: str):
        """The rnn agent of task ``name`` (loaded from ``runs/NAME.pt``, made first if missing; a
        run there that another recipe made is refused)."""
        task = task_registry.get(name)
        path = self.out / "runs" / f"{name}.pt"
        settings = self.recipe(task)
        if not path.exists() and name in shipped() and is_shipped_run(task, settings):
            with atomic_path(path) as temporary:
                shutil.copyfile(zoo_path(name), temporary)
        if not (path.exists() and read_checkpoint(path)["training"]["finished"]):
            self.log(f"train {name}: {settings.command(name)}")
        train(task, settings, path, device=self.settings.device, threads=self.settings.threads, progress=False)
        machine = machine_from_checkpoint(read_checkpoint(path), "final", source=str(path))
        machine.spec = f"rnn:{name}"
        return machine

    def recipe(self, task: Task):
        settings = recipe(task, 0, steps=self.settings.steps, hidden=self.settings.hidden)
        if self.settings.batch is not None:
            settings = replace(settings, batch=self.settings.batch, eval_episodes=min(settings.eval_episodes, 100))
        return settings

    def untrained(self, name: str):
        payload = read_checkpoint(self.out / "runs" / f"{name}.pt")
        machine = machine_from_checkpoint(payload, "init", source=f"rnn:{name}@init")
        machine.spec = f"rnn:{name}@init"
        return machine

    @staticmethod
    def baseline(kind: str, test_name: str):
        return load(baseline_spec(kind, test_name))

    # evaluations (each cached in its own file)

    def curve(self, label: str, machine, test_name: str) -> xr.Dataset:
        """Own play of ``machine`` on ``test_name``: per-trial curves, cached in ``curves/TEST/LABEL.nc``."""
        path = self.out / "curves" / test_name / f"{label.replace(':', '_').replace('@', '_')}.nc"

        def build() -> xr.Dataset:
            self.log(f"play {label} on {test_name} ({self.settings.episodes} episodes)")
            curves = own_play_records(task_registry.get(test_name), machine, self.settings.episodes, seed=0).curves()
            curves.attrs.update(agent=label, test=test_name)
            return curves

        return cached_dataset(path, cache_key(episodes=self.settings.episodes, seed=0, agent=self.identity(label)), build)

    def raster(self, agent) -> xr.Dataset:
        """Figure 2b: which of ``raster_episodes`` episodes pulled a suboptimal arm at each trial."""

        def build() -> xr.Dataset:
            play = own_play_records(task_registry.get("dependent-bandit-medium"), agent, self.settings.raster_episodes, 1)
            return xr.Dataset({"suboptimal": (("episode", "trial"), play.suboptimal)},
                              coords={"trial": np.arange(1, play.suboptimal.shape[1] + 1)})

        key = cache_key(episodes=self.settings.raster_episodes, seed=1, agent=self.identity("rnn:dependent-bandit-medium"))
        return cached_dataset(self.out / "raster.nc", key, build)

    def choices(self, agent) -> xr.Dataset:
        """Figure 3: per trial, the share of episodes pulling the informative arm, the target, another arm."""
        def build() -> xr.Dataset:
            task = task_registry.get(INFORMATIVE)
            agents = {"rnn": agent, **{kind: self.baseline(kind, INFORMATIVE) for kind in BASELINES[INFORMATIVE]}}
            shares, regret = [], []
            for machine in agents.values():
                play = own_play_records(task, machine, self.settings.episodes, seed=0)
                informative = play.action == task.arms - 1
                target = play.action == play.theta[:, :1]
                shares.append(np.stack([informative.mean(0), target.mean(0), (~informative & ~target).mean(0)]))
                regret.append(play.regret.sum(1).mean())
            return xr.Dataset(
                {"share": (("agent", "choice", "trial"), np.array(shares)), "regret": ("agent", np.array(regret))},
                coords={"agent": list(agents), "choice": ["informative", "target", "other"],
                        "trial": np.arange(1, task.horizon + 1)},
            )

        key = cache_key(episodes=self.settings.episodes, seed=0, agent=self.identity(f"rnn:{INFORMATIVE}"),
                        baselines=BASELINES[INFORMATIVE])
        return cached_dataset(self.out / "choices.nc", key, build)

    def fit(self, agent) -> xr.Dataset:
        """Figure 4c: a softmax Rescorla-Wagner fit per episode of restless-bandit-test, rnn and opt."""
        def build() -> xr.Dataset:
            task = task_registry.get(RESTLESS_TEST)
            variables = {}
            for label, machine in (("rnn", agent), ("opt", require_bayes_optimal(task))):
                self.log(f"fit Rescorla-Wagner to {label} on {RESTLESS_TEST} ({self.settings.fit_episodes} episodes)")
                play = own_play_records(task, machine, self.settings.fit_episodes, seed=3, chunk=250)
                fitted = fit_rescorla_wagner(play.action.astype(int), play.observed, 2, initial_value=0.5)
                variables[f"{label}_alpha"] = ("episode", fitted.alpha)
                variables[f"{label}_beta"] = ("episode", fitted.beta)
                variables["volatility"] = ("episode", play.theta[:, 0])
            return xr.Dataset(variables)

        key = cache_key(episodes=self.settings.fit_episodes, seed=3, agent=self.identity(f"rnn:{RESTLESS}"))
        return cached_dataset(self.out / "fit.nc", key, build)

    def comparison(self, name: str, stage: str) -> dict:
        """``compare(rnn, opt)`` on ``name`` for the trained (``final``) or untrained agent, cached as JSON."""
        path = self.out / "compare" / f"{name}-{stage}.json"
        key = cache_key(episodes=self.settings.compare_episodes, seed=0, resamples=200, stage=stage,
                        agent=self.identity(f"rnn:{name}"))
        if record_key(path) != key:
            task = task_registry.get(name)
            rnn = self.agent(name) if stage == "final" else self.untrained(name)
            opt = require_bayes_optimal(task)
            self.log(f"compare {rnn.spec} with opt:{name} ({self.settings.compare_episodes} episodes)")
            report = compare(rnn, opt, task, episodes=self.settings.compare_episodes, seed=0, resamples=200,
                             critic=opt, threads=self.settings.threads or FIT_THREADS)
            write_record(path, key, report.to_dict())
        return json.loads(path.read_text())

    def identity(self, label: str) -> str:
        """What an agent label stands for in cache keys: an rnn's training command, else the label."""
        if not label.startswith("rnn:"):
            return label
        training = read_checkpoint(self.out / "runs" / f"{label[4:]}.pt")["training"]
        return f"{training['command']} (step {training['step']})"

    def provenance(self, seconds: float) -> dict:
        return {
            "settings": asdict(self.settings),
            "simlib": simlib.__version__,
            "machine": _cpu(),
            "python": platform.python_version(),
            "seconds": round(seconds, 1),
        }



def baseline_spec(kind: str, task_name: str) -> str:
    """The machine spec of a baseline label on a task: ``"ucb@1"`` -> ``"ucb:TASK@1"``."""
    base, _, option = kind.partition("@")
    return f"{base}:{task_name}" + (f"@{option}" if option else "")


def _cpu() -> str:
    """The CPU model and core count (Linux), else the platform's machine name."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return f"{models[0]}, {len(models)} cores" if models else platform.machine()
