"""The jobs of ``simlib reproduce``: frozen, picklable plain data, each keyed and idempotent.

A job names its task, seed, stage, width, output folder and the key of what it makes;
``run(log)`` does its work, writes its file atomically and returns True, or returns False at
once when the file already holds the job's key. Paths inside the output folder ``out``::

    runs/TASK/seed-S.pt, runs/TASK/width-N-seed-0.pt     TrainJob   train/TASK/seed-S
    evaluations/TASK/seed-S-STAGE.json                   EvaluateJob evaluate/TASK/seed-S-STAGE
    evaluations/TASK/width-N-final.json                  EvaluateJob evaluate/TASK/width-N-final
    TASK/figure3.png (with seed 0's final evaluation)
    TASK/figure1.png                                     BehaviourFigureJob figure1/TASK
    TASK/figure2.png, TASK/convergence.nc                ConvergenceJob convergence/TASK

:class:`TrainJob` also makes the agents of :mod:`simlib.pipeline.wang2016` (``runs/TASK.pt``).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from simlib import tasks as task_registry
from simlib.compare import ComparisonReport, compare
from simlib.io import atomic_path
from simlib.machines import require_bayes_optimal
from simlib.machines.checkpoint import machine_from_checkpoint, read_checkpoint, seed_of
from simlib.machines.zoo import zoo_path
from simlib.pipeline.cache import KEY, cache_key, record_key, write_record
from simlib.pipeline.execute import Log
from simlib.pipeline.figures import save_figure
from simlib.pipeline.results import measures_of
from simlib.task import Task
from simlib.simulation import PHI_STEPS
from simlib.threads import FIT_THREADS
from simlib.training.loop import architecture_of
from simlib.training.predictor import TrainSettings
from simlib.training import recipes

STAGES = ("init", "final")
"""The two agents of a run that are evaluated: its untrained snapshot and its last."""
QUICK_PHI_STEPS = 60
"""The quick reproductions' cap on phi's L-BFGS iterations (phi at 50-100 episodes stops after
80-120 iterations; the figures of a quick run show that the pipeline works, not the paper's values)."""


def is_finished(path: Path) -> bool:
    """Whether ``path`` holds a finished training run."""
    return path.exists() and read_checkpoint(path)["training"]["finished"]


def finished_runs(out: Path, task: str) -> list[Path]:
    """The finished ``runs/TASK/seed-S.pt`` in ``out`` (also other invocations' seeds), by seed."""
    runs = (path for path in (out / "runs" / task).glob("seed-*.pt") if is_finished(path))
    return sorted(runs, key=lambda path: int(path.stem.split("-")[1]))


@dataclass(frozen=True)
class TrainJob:
    """Make the finished run ``runs/NAME.pt`` of ``task`` trained with ``settings``.

    ``zoo``: the run is the shipped ``rnn:TASK``, copied from the zoo when missing.
    ``train``: train (or resume) it; False (``--no-train``): only the zoo copy. The key is the
    run's identity (task, architecture, settings), which the trainer checks: a finished run with
    it is left alone, a run with another is refused.
    """

    out: Path
    name: str
    task: str
    settings: TrainSettings
    zoo: bool = False
    train: bool = True
    device: str = "auto"
    threads: int | None = None
    depends_on: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"train/{self.name}"

    @property
    def path(self) -> Path:
        return self.out / "runs" / f"{self.name}.pt"

    def run(self, log: Log) -> bool:
        copied = self.zoo and not self.path.exists()
        if copied:
            with atomic_path(self.path) as temporary:
                shutil.copyfile(zoo_path(self.task), temporary)
        if not self.train:
            return copied
        done = is_finished(self.path)
        if not done:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            log(f"train {self.name}: {self.settings.command(self.task)}")
        task = task_registry.get(self.task)
        recipes.train(task, self.settings, self.path, device=self.device, threads=self.threads, progress=False)
        return copied or not done


@dataclass(frozen=True)
class EvaluateJob:
    """Compare one agent of a run with ``opt:TASK`` on ``episodes`` episodes (seeded by ``seed``)
    and keep every measure as ``evaluations/TASK/STEM.json``.

    ``width`` None: the agent at ``stage`` of seed ``seed``'s run, or without a finished run
    (``--no-train``) the untrained agent ``recipe`` rebuilds from its seed; else the final
    reduced-memory agent of width ``width``. ``figure3``: also draw the comparison's panel there
    (drawn again, without re-recording, when only the figure is missing). ``key``: the run's
    recipe command, stage, seed and episodes.
    """

    out: Path
    task: str
    seed: int
    stage: str
    recipe: TrainSettings
    key: str
    episodes: int
    width: int | None = None
    threads: int | None = None
    phi_steps: int | None = None
    figure3: Path | None = None
    depends_on: tuple[str, ...] = ()

    @property
    def stem(self) -> str:
        return f"seed-{self.seed}-{self.stage}" if self.width is None else f"width-{self.width}-final"

    @property
    def id(self) -> str:
        return f"evaluate/{self.task}/{self.stem}"

    @property
    def target(self) -> Path:
        return self.out / "evaluations" / self.task / f"{self.stem}.json"

    @property
    def run_path(self) -> Path:
        stem = f"seed-{self.seed}" if self.width is None else f"width-{self.width}-seed-{self.seed}"
        return self.out / "runs" / self.task / f"{stem}.pt"

    def run(self, log: Log) -> bool:
        stale = record_key(self.target) != self.key
        if not stale and (self.figure3 is None or self.figure3.exists()):
            return False
        task = task_registry.get(self.task)
        payload = self._payload(task)
        if payload is None:
            if stale:
                log(f"no finished run {self.run_path} (--no-train): only its untrained agent is evaluated")
            return False
        report = self.comparison(task, payload, log)
        if stale:
            write_record(self.target, self.key, self._record(payload, report))
        if self.figure3 is not None:
            from simlib.plots import simulation_panel

            save_figure(simulation_panel(report), self.figure3)
        return True

    def _payload(self, task: Task) -> dict | None:
        """The run's checkpoint when it is finished; else, for a seed's ``init`` agent, a
        checkpoint-like record of the untrained agent; else None."""
        if is_finished(self.run_path):
            return read_checkpoint(self.run_path)
        if self.width is not None or self.stage != "init":
            return None
        return {
            "architecture": architecture_of(task, self.recipe.hidden),
            "task": task.config(),
            "snapshots": [],
            "training": {
                "settings": asdict(self.recipe),
                "command": self.recipe.command(task.name),
                "step": 0,
                "wall_seconds": 0.0,
                "cpu_seconds": 0.0,
                "device_type": "none",
            },
        }

    def comparison(self, task: Task, payload: dict, log: Log) -> ComparisonReport:
        """``compare`` of the agent at this job's stage of ``payload`` with ``opt:TASK``."""
        started = time.perf_counter()
        rnn = machine_from_checkpoint(payload, self.stage)
        rnn.spec = f"rnn(N={payload['architecture']['hidden']}, seed {self.seed})@{self.stage}"
        opt = require_bayes_optimal(task)
        report = compare(rnn, opt, task, self.episodes, self.seed, max_steps=self.phi_steps or PHI_STEPS,
                         threads=self.threads or FIT_THREADS)
        log(f"evaluated {rnn.spec} on {task.name} in {time.perf_counter() - started:.0f} s")
        return report

    def _record(self, payload: dict, report: ComparisonReport) -> dict:
        training = payload["training"]
        return {
            "kind": "seed" if self.width is None else "memory",
            "task": report.task.name,
            "seed": self.seed,
            "stage": self.stage,
            "width": payload["architecture"]["hidden"],
            "training": {key: training[key] for key in ("command", "step", "wall_seconds", "cpu_seconds", "device_type")},
            "measures": measures_of(report),
            "report": report.to_dict(),
        }


@dataclass(frozen=True)
class BehaviourFigureJob:
    """Figure 1 of ``task``: the first finished run's init and final agents beside ``opt:TASK``
    on ``episodes`` episodes, as ``TASK/figure1.png``; drawn when missing or older than seed 0's
    final evaluation (its key is that evaluation's). Nothing without a finished run."""

    out: Path
    task: str
    episodes: int
    depends_on: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"figure1/{self.task}"

    @property
    def target(self) -> Path:
        return self.out / self.task / "figure1.png"

    def run(self, log: Log) -> bool:
        runs = finished_runs(self.out, self.task)
        evaluation = self.out / "evaluations" / self.task / "seed-0-final.json"
        drawn = self.target.exists() and not (
            evaluation.exists() and self.target.stat().st_mtime_ns < evaluation.stat().st_mtime_ns
        )
        if not runs or drawn:
            return False
        from simlib.plots import behaviour_figure

        task = task_registry.get(self.task)
        first = read_checkpoint(runs[0])
        agents = {stage: machine_from_checkpoint(first, stage) for stage in STAGES}
        save_figure(behaviour_figure(task, agents, require_bayes_optimal(task), self.episodes, seed=0), self.target)
        return True


@dataclass(frozen=True)
class ConvergenceJob:
    """Figure 2 of ``task``: every snapshot of every finished run against ``opt:TASK``
    (:func:`simlib.convergence.analyse`), as ``TASK/convergence.nc`` and ``TASK/figure2.png``.

    Its key (:meth:`key`) is the runs found when it runs (earlier invocations' seeds too) and
    the episode and snapshot settings; ``steps`` is the recipes' override (None: shipped).
    """

    out: Path
    task: str
    steps: int | None
    episodes: int
    distance_episodes: int
    distance_snapshots: int
    device: str = "auto"
    threads: int | None = None
    depends_on: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"convergence/{self.task}"

    @property
    def folder(self) -> Path:
        return self.out / self.task

    def key(self, runs: list[Path]) -> str:
        """What Figure 2 depends on: the runs it analyses and the episode and snapshot settings."""
        names = [f"seed-{seed_of(read_checkpoint(run))}" for run in runs]
        return cache_key(runs=names, steps=self.steps, episodes=self.episodes,
                         distance_episodes=self.distance_episodes, distance_snapshots=self.distance_snapshots)

    def drawn_with(self) -> str | None:
        """The key of the drawn Figure 2 (None if none is drawn yet)."""
        from simlib.convergence import load_convergence

        if not (self.folder / "figure2.png").exists() or not (self.folder / "convergence.nc").exists():
            return None
        return load_convergence(self.folder / "convergence.nc").attrs.get(KEY)

    def run(self, log: Log) -> bool:
        runs = finished_runs(self.out, self.task)
        key = self.key(runs) if runs else None
        if key is None or self.drawn_with() == key:
            return False
        from simlib.convergence import analyse, save_convergence
        from simlib.machines.runs import load_runs
        from simlib.plots import convergence_figure

        started = time.perf_counter()
        task = task_registry.get(self.task)
        loaded = load_runs(runs)
        dataset = analyse(
            task,
            loaded.runs,
            require_bayes_optimal(task),
            loaded.histories,
            episodes=self.episodes,
            distance_episodes=self.distance_episodes,
            seed=0,
            device=self.device,
            threads=self.threads,
            distance_snapshots=self.distance_snapshots,
        )
        dataset.attrs[KEY] = key
        save_convergence(dataset, self.folder / "convergence.nc")
        save_figure(convergence_figure(dataset), self.folder / "figure2.png")
        log(f"convergence of {len(runs)} runs on {task.name} in {time.perf_counter() - started:.0f} s")
        return True
