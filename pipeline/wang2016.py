"""``simlib reproduce wang2016``: Wang et al. 2016's bandit experiments against exact Bayes agents.

:func:`plan` turns the settings into jobs: the agents' training runs
(:class:`simlib.pipeline.jobs.TrainJob`) and the evaluations that play them
(:mod:`simlib.pipeline.wang2016_jobs`); an executor runs them (:mod:`simlib.pipeline.execute`)
and :mod:`simlib.pipeline.wang2016_report` makes the tables, figures and page. One resumable
output folder::

    runs/TASK.pt                        the agent of each task (the shipped one, or trained by its recipe)
    curves/TEST/AGENT.nc                own play on TEST: per-trial cumulative regret (mean, SE), suboptimal pulls
    raster.nc                           Figure 2b: suboptimal pulls of 300 episodes of dependent-bandit-medium
    choices.nc                          Figure 3: per-trial choices on the informative-arm bandit
    fit.nc                              Figure 4c: per-episode Rescorla-Wagner fits on restless-bandit-test
    stays.nc                            Figure 5: two-step stay probabilities, regressions, hybrid fits
    fsm-two-step.json, fsm-harlow.json  the rnn's and opt's finite machines, simulation preorder
    runs/harlow-layersL-seedS.pt        Figure 6: more runs of the Harlow recipe, one and two LSTMs
    runs/one-shot-maze-layers2.pt       Figure 7: the maze recipe with two stacked LSTMs
    harlow.nc, maze.nc                  Figures 6 and 7: Harlow accuracy by trial and seed, maze latencies
    compare/TASK-STAGE.json             simlib compare rnn:TASK opt:TASK, untrained and trained
    regret.csv, cross.csv, compare.csv  the tables; figure2.png ... figure4.png, results-wang2016.md
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import simlib
from simlib import tasks as task_registry
from simlib.pipeline.execute import Executor, InProcessExecutor, Job, Log
from simlib.pipeline.jobs import QUICK_PHI_STEPS, TrainJob
from simlib.pipeline.wang2016_design import (
    AGENT_TASKS,
    BASELINES,
    INFORMATIVE,
    RASTER,
    RESTLESS,
    RESTLESS_TEST,
    HARLOW,
    MAZE,
    STRUCTURED,
    TWO_STEP,
)
from simlib.pipeline.wang2016_jobs import ChoicesJob, ComparisonJob, CurveJob, FitJob, RasterJob
from simlib.pipeline.wang2016_report import write_report
from simlib.pipeline.wang2016_harlow import HarlowJob, seed_jobs
from simlib.pipeline.wang2016_maze import MazeJob, stacked_job
from simlib.pipeline.wang2016_machines import PROBLEMS, FiniteMachineJob
from simlib.pipeline.wang2016_two_step import StayJob
from simlib.task import Task
from simlib.training.predictor import TrainSettings
from simlib.training.recipes import is_shipped_run, recipe


@dataclass(frozen=True)
class WangSettings:
    """What ``simlib reproduce wang2016`` runs.

    ``episodes``: own-play episodes per (agent, test task) for the regret curves (Wang: 150);
    ``raster_episodes``: Figure 2b; ``fit_episodes``: Figure 4c's per-episode fits;
    ``stay_episodes``: Figure 5's two-step episodes per agent; ``harlow_seeds``: runs of the
    Harlow recipe per architecture (one and two LSTMs) for Figure 6's share at ceiling;
    ``mdp_episodes``: held-out episodes per agent for Figures 6 and 7;
    ``compare_episodes``: each ``simlib compare``; ``steps``/``hidden``/``batch``: retrain every
    agent with its recipe overridden (None: the shipped agents); ``gittins``: include the Gittins
    baseline.
    """

    episodes: int = 10_000
    raster_episodes: int = 300
    fit_episodes: int = 2000
    stay_episodes: int = 5000
    harlow_seeds: int = 5
    mdp_episodes: int = 2000
    compare_episodes: int = 500
    steps: int | None = None
    hidden: int | None = None
    batch: int | None = None
    gittins: bool = True
    device: str = "auto"
    threads: int | None = None
    phi_steps: int | None = None
    """At most this many L-BFGS iterations per phi fit in each comparison (None: compare's default)."""

    @classmethod
    def quick(cls, **overrides) -> "WangSettings":
        """Tiny agents, few episodes, phi capped at :data:`~simlib.pipeline.jobs.QUICK_PHI_STEPS`
        iterations and no Gittins baseline (its index table at discount 0.99 takes two CPU minutes):
        the whole pipeline in about a minute on a CPU."""
        base = {"episodes": 60, "raster_episodes": 20, "fit_episodes": 40, "stay_episodes": 40, "compare_episodes": 25,
                "harlow_seeds": 1, "mdp_episodes": 20,
                "steps": 4, "hidden": 8, "batch": 16, "gittins": False,
                "phi_steps": QUICK_PHI_STEPS}
        return cls(**{**base, **overrides})

    def __post_init__(self) -> None:
        if min(self.episodes, self.raster_episodes, self.fit_episodes, self.stay_episodes, self.mdp_episodes) < 2 \
                or self.compare_episodes < 10 or self.harlow_seeds < 1:
            raise simlib.SimlibError(
                "reproduce wang2016 needs at least 2 episodes per curve, 10 per comparison and 1 Harlow seed")


def plan(settings: WangSettings, out: str | Path) -> list[Job]:
    """Every job of the reproduction into ``out``, in the order a single process runs them:
    the agents and the further Harlow runs, every agent's curves on its test tasks and the
    baselines', Figures 2b, 3, 4c, 5, 6 and 7's data, and each agent's comparison with opt, untrained and trained. Pure: reads the
    recipes, writes nothing."""
    out = Path(out)
    trains = [_train_job(settings, out, name) for name in AGENT_TASKS]
    needs = {job.name: (job.id,) for job in trains}
    harlow_runs = seed_jobs(out, _recipe(settings, task_registry.get(HARLOW)), settings.harlow_seeds,
                            settings.device, settings.threads)
    maze_stacked = stacked_job(out, _recipe(settings, task_registry.get(MAZE)), settings.device, settings.threads)
    curves = [CurveJob(out, f"rnn:{name}", test, settings.episodes, needs[name]) for name in STRUCTURED for test in STRUCTURED]
    curves += [CurveJob(out, kind, test, settings.episodes) for test, kinds in BASELINES.items() if test != INFORMATIVE
               for kind in kinds if kind != "gittins" or settings.gittins]
    curves += [CurveJob(out, f"rnn:{name}", name, settings.episodes, needs[name]) for name in (INFORMATIVE, RESTLESS)]
    return [
        *trains,
        *harlow_runs,
        maze_stacked,
        *curves,
        RasterJob(out, RASTER, settings.raster_episodes, needs[RASTER]),
        ChoicesJob(out, INFORMATIVE, BASELINES[INFORMATIVE], settings.episodes, needs[INFORMATIVE]),
        FitJob(out, RESTLESS, RESTLESS_TEST, settings.fit_episodes, needs[RESTLESS]),
        StayJob(out, settings.stay_episodes, needs[TWO_STEP]),
        *(FiniteMachineJob(out, name, settings.compare_episodes * 4, depends_on=needs[name]) for name in PROBLEMS),
        HarlowJob(out, settings.harlow_seeds, settings.mdp_episodes, needs[HARLOW] + tuple(job.id for job in harlow_runs)),
        MazeJob(out, settings.mdp_episodes, needs[MAZE] + (maze_stacked.id,)),
        *(ComparisonJob(out, name, stage, settings.compare_episodes, settings.threads, needs[name], settings.phi_steps)
          for name in AGENT_TASKS for stage in ("init", "final")),
    ]


def _recipe(settings: WangSettings, task: Task) -> TrainSettings:
    """The agent's recipe, with the settings' ``steps``, ``hidden`` and ``batch`` overrides."""
    run = recipe(task, 0, steps=settings.steps, hidden=settings.hidden)
    if settings.batch is not None:
        run = replace(run, batch=settings.batch, eval_episodes=min(run.eval_episodes, 100))
    return run


def _train_job(settings: WangSettings, out: Path, name: str) -> TrainJob:
    """The job that makes ``runs/NAME.pt``: copied from the zoo when its recipe is the shipped
    one, else trained; a run there that another recipe made is refused."""
    task = task_registry.get(name)
    run = _recipe(settings, task)
    return TrainJob(out, name, name, run, zoo=is_shipped_run(task, run), device=settings.device, threads=settings.threads)


class WangReproduction:
    """The pipeline over one output folder: :meth:`run` plans, executes what is not done yet
    and writes the report."""

    def __init__(
        self, settings: WangSettings, out: str | Path, log: Log = print, executor: Executor = InProcessExecutor()
    ) -> None:
        self.settings, self.out, self.log, self.executor = settings, Path(out), log, executor

    def plan(self) -> list[Job]:
        return plan(self.settings, self.out)

    def run(self) -> dict[str, Path]:
        """Train, play, fit, compare, tabulate and draw; returns the files written."""
        started = time.time()
        self.executor.run(self.plan(), self.log)
        return write_report(self.out, self.settings, time.time() - started)
