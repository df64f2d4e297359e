"""``simlib reproduce``: train (or reuse) every task's agents over seeds, evaluate, tabulate, draw.

The output folder holds everything and makes the run resumable: a finished step is never
redone, an interrupted one restarts from its last file::

    runs/TASK/seed-S.pt              training runs (snapshots kept), seed 0 copied from the zoo
                                     when the recipe is the shipped one
    runs/TASK/width-N-seed-0.pt      reduced-memory agents (Appendix D.7)
    evaluations/TASK/seed-S-STAGE.json, evaluations/TASK/width-N-final.json
    results.nc, results.csv          task x seed x stage x measure (tidy)
    memory.nc, memory.csv            task x width x measure
    figure4.png, memory.png, TASK/figure1.png, TASK/figure2.png, TASK/figure3.png,
    TASK/convergence.nc
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from simlib import tasks as task_registry
from simlib.compare import ComparisonReport, compare
from simlib.errors import SimlibError
from simlib.io import atomic_path
from simlib.machines import require_bayes_optimal
from simlib.machines.checkpoint import machine_from_checkpoint, read_checkpoint, seed_of
from simlib.machines.zoo import zoo_path
from simlib.task import Task
from simlib.task_family import INTERACTIVE, PREDICTION, family_of
from simlib.training.cache import KEY, cache_key, record_key, write_record
from simlib.training.loop import architecture_of
from simlib.training.recipes import is_shipped_run, recipe, train
from simlib.training.reproduce_results import measures_of, tidy_memory, tidy_results, write_table
from simlib.threads import FIT_THREADS

STAGES = ("init", "final")
MEMORY_TASKS = ("dirichlet-categorical-5", "normal-gamma", "bernoulli-bandit")
GROUPS = ("all", "prediction", "bandit")
GROUP_FAMILIES = {"prediction": PREDICTION.name, "bandit": INTERACTIVE.name}
"""The task family of each group but ``all`` (the paper's interactive tasks are its bandits)."""
PAPER_TASKS = (
    "beta-bernoulli", "beta-bernoulli-fair", "beta-bernoulli-bent", "dirichlet-categorical", "dirichlet-categorical-5",
    "gamma-exponential", "gamma-exponential-tight", "normal-normal", "normal-gamma", "gamma-normal",
    "bernoulli-bandit", "bernoulli-bandit-bent", "gaussian-bandit", "gaussian-bandit-noisy",
)
"""The fourteen tasks of Mikulik et al. 2020, which the groups select from."""


def select_tasks(selection: list[str] | None) -> tuple[str, ...]:
    """Task names from names and groups (``all``, ``prediction``, ``bandit``: of Mikulik et al.'s
    fourteen tasks), in registry order."""
    names = task_registry.names()
    if selection is not None and not [item for item in selection if item.strip()]:
        raise SimlibError("no task chosen: name tasks or a group (all, prediction, bandit), or leave --tasks out")
    chosen: set[str] = set()
    for item in (item.strip() for item in selection or ["all"]):
        if item in GROUPS:
            group = [n for n in names if n in PAPER_TASKS]
            chosen |= {n for n in group if item == "all" or family_of(task_registry.get(n)).name == GROUP_FAMILIES[item]}
        elif item in names:
            chosen.add(item)
        else:
            raise SimlibError(f"unknown task or group {item!r}; use a task name or one of {', '.join(GROUPS)}")
    return tuple(n for n in names if n in chosen)


@dataclass(frozen=True)
class ReproduceSettings:
    """What ``simlib reproduce`` runs.

    ``steps`` overrides every recipe's training steps (None: the shipped recipes);
    ``widths`` are the reduced-memory widths N trained on :data:`MEMORY_TASKS`; the heat map of
    Figure 2 uses ``episodes`` episodes, its pairwise distances ``distance_episodes`` episodes
    and ``distance_snapshots`` snapshots per run.
    """

    tasks: tuple[str, ...] = field(default_factory=lambda: select_tasks(None))
    seeds: int = 10
    episodes: int = 500
    steps: int | None = None
    widths: tuple[int, ...] = (1, 2, 4)
    distance_episodes: int = 50
    distance_snapshots: int = 6
    device: str = "auto"
    threads: int | None = None
    train: bool = True
    eval_episodes: int | None = None
    """At most this many held-out episodes per snapshot in training (None: the recipe's)."""
    batch: int | None = None
    """At most this many episodes per training batch (None: the recipe's)."""

    @classmethod
    def quick(cls, **overrides) -> "ReproduceSettings":
        """Two seeds, 100 episodes, 30 training steps on batches of at most 64, one reduced width: minutes on a CPU."""
        base = {"seeds": 2, "episodes": 100, "steps": 30, "widths": (2,), "distance_episodes": 20, "distance_snapshots": 3,
                "eval_episodes": 100, "batch": 64}
        return cls(**{**base, **overrides})

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.episodes < 10 or self.distance_episodes < 2:
            raise SimlibError("reproduce needs at least 1 seed, 10 episodes and 2 distance episodes")
        if any(width < 1 for width in self.widths):
            raise SimlibError(f"reduced-memory widths must be positive, got {self.widths}")


class Reproduction:
    """The pipeline over one output folder; :meth:`run` does every step that is not done yet."""

    def __init__(self, settings: ReproduceSettings, out: str | Path, log: Callable[[str], None] = print) -> None:
        self.settings, self.out, self.log = settings, Path(out), log
        self.redrawn: set[str] = set()
        """Tasks whose seed-0 final evaluation was (re)made in this invocation: their figures are redrawn."""

    def run(self) -> dict[str, Path]:
        """Train, evaluate, tabulate and draw; returns the files written."""
        for name in self.settings.tasks:
            task = task_registry.get(name)
            for seed in range(self.settings.seeds):
                self.evaluate(task, seed)
            for width in self._widths(task):
                self.evaluate_memory(task, width)
        return self.write()

    def _widths(self, task: Task) -> tuple[int, ...]:
        return self.settings.widths if task.name in MEMORY_TASKS else ()

    def run_path(self, task: Task, seed: int, width: int | None = None) -> Path | None:
        """The checkpoint of ``task``'s run for ``seed`` (trained, reused or copied from the zoo);
        None when it is missing and training is off."""
        stem = f"seed-{seed}" if width is None else f"width-{width}-seed-{seed}"
        path = self.out / "runs" / task.name / f"{stem}.pt"
        settings = recipe(task, seed, steps=self.settings.steps, hidden=width)
        for field_name in ("eval_episodes", "batch"):
            cap = getattr(self.settings, field_name)
            if cap is not None:
                settings = replace(settings, **{field_name: min(getattr(settings, field_name), cap)})
        if not path.exists() and width is None and is_shipped_run(task, settings):
            with atomic_path(path) as temporary:
                shutil.copyfile(zoo_path(task.name), temporary)
        if not self.settings.train:
            if not (path.exists() and read_checkpoint(path)["training"]["finished"]):
                self.log(f"no finished run {path} (--no-train): only its untrained agent is evaluated")
                return None
            return path
        if not (path.exists() and read_checkpoint(path)["training"]["finished"]):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.log(f"train {task.name} {stem}: {settings.command(task.name)}")
        train(task, settings, path, device=self.settings.device, threads=self.settings.threads, progress=False)
        return path

    def evaluate(self, task: Task, seed: int) -> None:
        """Compare the run's ``init`` and ``final`` agents with ``opt`` (cached as JSON); without
        a run (``--no-train``), the ``init`` agent its recipe and seed determine."""
        targets = {stage: self._evaluation_path(task, f"seed-{seed}-{stage}") for stage in STAGES}
        keys = {stage: self._evaluation_key(task, seed, stage) for stage in STAGES}
        stale = [stage for stage in STAGES if record_key(targets[stage]) != keys[stage]]
        if not stale:
            return
        path = self.run_path(task, seed)
        payload = read_checkpoint(path) if path else self._untrained(task, seed)
        for stage in stale:
            if path or stage == "init":
                report = self._compare(task, payload, stage, seed)
                self._save_evaluation(targets[stage], keys[stage], "seed", payload, stage, seed, report)
                if seed == 0 and stage == "final":
                    self._figure3(task, report)
                    self.redrawn.add(task.name)

    def _evaluation_key(self, task: Task, seed: int, stage: str, width: int | None = None) -> str:
        """What an evaluation depends on: the run's recipe (its training command), stage, seed, episodes."""
        run = recipe(task, seed, steps=self.settings.steps, hidden=width).command(task.name)
        return cache_key(run=run, stage=stage, seed=seed, episodes=self.settings.episodes)

    def _untrained(self, task: Task, seed: int) -> dict:
        """A checkpoint-like record of the recipe's untrained agent (rebuilt from its seed)."""
        settings = recipe(task, seed, steps=self.settings.steps)
        return {
            "architecture": architecture_of(task, settings.hidden),
            "task": task.config(),
            "snapshots": [],
            "training": {
                "settings": asdict(settings),
                "command": settings.command(task.name),
                "step": 0,
                "wall_seconds": 0.0,
                "cpu_seconds": 0.0,
                "device_type": "none",
            },
        }

    def evaluate_memory(self, task: Task, width: int) -> None:
        """Compare the reduced-memory agent of width ``width`` with ``opt`` (cached as JSON)."""
        target = self._evaluation_path(task, f"width-{width}-final")
        key = self._evaluation_key(task, 0, "final", width)
        run = None if record_key(target) == key else self.run_path(task, 0, width)
        if run is not None:
            payload = read_checkpoint(run)
            self._save_evaluation(target, key, "memory", payload, "final", 0, self._compare(task, payload, "final", 0))

    def _compare(self, task: Task, payload: dict, stage: str, seed: int) -> ComparisonReport:
        started = time.perf_counter()
        rnn = machine_from_checkpoint(payload, stage)
        rnn.spec = f"rnn(N={payload['architecture']['hidden']}, seed {seed})@{stage}"
        opt = require_bayes_optimal(task)
        report = compare(rnn, opt, task, self.settings.episodes, seed, threads=self.settings.threads or FIT_THREADS)
        self.log(f"evaluated {rnn.spec} on {task.name} in {time.perf_counter() - started:.0f} s")
        return report

    def _evaluation_path(self, task: Task, stem: str) -> Path:
        return self.out / "evaluations" / task.name / f"{stem}.json"

    def _save_evaluation(
        self, path: Path, key: str, kind: str, payload: dict, stage: str, seed: int, report: ComparisonReport
    ) -> None:
        training = payload["training"]
        record = {
            "kind": kind,
            "task": report.task.name,
            "seed": seed,
            "stage": stage,
            "width": payload["architecture"]["hidden"],
            "training": {key: training[key] for key in ("command", "step", "wall_seconds", "cpu_seconds", "device_type")},
            "measures": measures_of(report),
            "report": report.to_dict(),
        }
        write_record(path, key, record)

    def _figure3(self, task: Task, report: ComparisonReport) -> None:
        from simlib.plots import simulation_panel

        self._save_figure(simulation_panel(report), self.out / task.name / "figure3.png")

    def _save_figure(self, figure, path: Path) -> None:
        import matplotlib.pyplot as plt

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=110)
        plt.close(figure)

    def evaluations(self) -> list[dict]:
        """Every evaluation in the output folder (all tasks, also those of earlier invocations)."""
        return [json.loads(path.read_text()) for path in sorted((self.out / "evaluations").glob("*/*.json"))]

    def write(self) -> dict[str, Path]:
        """The tidy tables and Figure 4 of every evaluation in the folder (earlier invocations'
        tasks too), and the per-task figures of this invocation's tasks."""
        records = self.evaluations()
        if not records:
            raise SimlibError(f"no evaluations in {self.out}")
        files = write_table(tidy_results(records), self.out / "results")
        memory = tidy_memory(records)
        if memory is not None:
            files.update(write_table(memory, self.out / "memory"))
        files.update(self._figures(records))
        return files

    def _figures(self, records: list[dict]) -> dict[str, Path]:
        from simlib.plots import figure4, memory_figure

        files = {"figure4": self.out / "figure4.png"}
        self._save_figure(figure4(tidy_results(records)["value"]), files["figure4"])
        memory = tidy_memory(records)
        if memory is not None:
            files["memory"] = self.out / "memory.png"
            self._save_figure(memory_figure(memory["value"]), files["memory"])
        for name in self.settings.tasks:
            files.update(self._task_figures(task_registry.get(name)))
        return files

    def _task_figures(self, task: Task) -> dict[str, Path]:
        from simlib.plots import behaviour_figure

        folder = self.out / task.name
        runs = sorted(
            (path for path in (self.out / "runs" / task.name).glob("seed-*.pt") if read_checkpoint(path)["training"]["finished"]),
            key=lambda path: int(path.stem.split("-")[1]),
        )
        if not runs:
            return {}
        files = {f"{task.name}/figure{k}": folder / f"figure{k}.png" for k in (1, 2, 3)}
        first = read_checkpoint(runs[0])
        if not files[f"{task.name}/figure1"].exists() or task.name in self.redrawn:
            agents = {stage: machine_from_checkpoint(first, stage) for stage in STAGES}
            figure = behaviour_figure(task, agents, require_bayes_optimal(task), self.settings.episodes, seed=0)
            self._save_figure(figure, files[f"{task.name}/figure1"])
        key = self._convergence_key([f"seed-{seed_of(read_checkpoint(run))}" for run in runs])
        if self._convergence_drawn_with(folder) != key:
            self._figure2(task, runs, files[f"{task.name}/figure2"], key)
        if not files[f"{task.name}/figure3"].exists():
            self._figure3(task, self._compare(task, first, "final", 0))
        return files

    def _convergence_key(self, runs: list[str]) -> str:
        """What Figure 2 depends on: the runs it analyses and the episode and snapshot settings."""
        settings = self.settings
        return cache_key(runs=runs, steps=settings.steps, episodes=settings.episodes,
                         distance_episodes=settings.distance_episodes, distance_snapshots=settings.distance_snapshots)

    @staticmethod
    def _convergence_drawn_with(folder: Path) -> str | None:
        """The key of the task's drawn Figure 2 (None if none is drawn yet)."""
        from simlib.convergence import load_convergence

        if not (folder / "figure2.png").exists() or not (folder / "convergence.nc").exists():
            return None
        return load_convergence(folder / "convergence.nc").attrs.get(KEY)

    def _figure2(self, task: Task, runs: list[Path], path: Path, key: str) -> None:
        from simlib.convergence import analyse, save_convergence
        from simlib.machines.runs import load_runs
        from simlib.plots import convergence_figure

        started = time.perf_counter()
        loaded = load_runs(runs)
        dataset = analyse(
            task,
            loaded.runs,
            require_bayes_optimal(task),
            loaded.histories,
            episodes=self.settings.episodes,
            distance_episodes=self.settings.distance_episodes,
            seed=0,
            device=self.settings.device,
            threads=self.settings.threads,
            distance_snapshots=self.settings.distance_snapshots,
        )
        dataset.attrs[KEY] = key
        save_convergence(dataset, path.with_name("convergence.nc"))
        self._save_figure(convergence_figure(dataset), path)
        self.log(f"convergence of {len(runs)} runs on {task.name} in {time.perf_counter() - started:.0f} s")
