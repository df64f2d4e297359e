"""``simlib reproduce [mikulik2020]``: train (or reuse) every task's agents over seeds, evaluate, tabulate, draw.

:func:`plan` turns the settings into jobs (:mod:`simlib.pipeline.jobs`), an executor runs them
(:mod:`simlib.pipeline.execute`), and :mod:`simlib.pipeline.aggregate` makes the tables and
Figure 4 from the evaluations. The output folder holds everything and makes the run resumable:
a finished job is never redone, an interrupted one restarts from its last file::

    runs/TASK/seed-S.pt              training runs (snapshots kept), the shipped seed copied from the zoo
                                     when the recipe is the shipped one
    runs/TASK/width-N-seed-0.pt      reduced-memory agents (Appendix D.7)
    evaluations/TASK/seed-S-STAGE.json, evaluations/TASK/width-N-final.json
    results.nc, results.csv          task x seed x stage x measure (tidy)
    memory.nc, memory.csv            task x width x measure
    figure4.png, memory.png, TASK/figure1.png, TASK/figure2.png, TASK/figure3.png,
    TASK/convergence.nc
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from simlib import tasks as task_registry
from simlib.errors import SimlibError
from simlib.pipeline.aggregate import draw_figures, read_evaluations, write_tables
from simlib.pipeline.cache import cache_key, phi_key
from simlib.pipeline.execute import Executor, InProcessExecutor, Job, Log
from simlib.pipeline.jobs import QUICK_PHI_STEPS, STAGES, BehaviourFigureJob, ConvergenceJob, EvaluateJob, TrainJob
from simlib.task import Task
from simlib.task_family import INTERACTIVE, PREDICTION, family_of
from simlib.training.predictor import TrainSettings
from simlib.training.recipes import is_shipped_run, recipe

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
    phi_steps: int | None = None
    """At most this many L-BFGS iterations per phi fit in each comparison (None: compare's default)."""

    @classmethod
    def quick(cls, **overrides) -> "ReproduceSettings":
        """Two seeds, 100 episodes, 30 training steps on batches of at most 64, one reduced width, phi
        capped at :data:`~simlib.pipeline.jobs.QUICK_PHI_STEPS` iterations: minutes on a CPU."""
        base = {"seeds": 2, "episodes": 100, "steps": 30, "widths": (2,), "distance_episodes": 20, "distance_snapshots": 3,
                "eval_episodes": 100, "batch": 64, "phi_steps": QUICK_PHI_STEPS}
        return cls(**{**base, **overrides})

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.episodes < 10 or self.distance_episodes < 2:
            raise SimlibError("reproduce needs at least 1 seed, 10 episodes and 2 distance episodes")
        if any(width < 1 for width in self.widths):
            raise SimlibError(f"reduced-memory widths must be positive, got {self.widths}")


def plan(settings: ReproduceSettings, out: str | Path) -> list[Job]:
    """Every job of the reproduction into ``out``, in the order a single process runs them.

    Per task: per seed, its run (with ``--no-train`` only a shipped run's copy) and the ``init``
    and ``final`` evaluations that depend on it; on :data:`MEMORY_TASKS` the reduced-memory runs
    and their evaluations; then Figure 1 (after seed 0) and Figure 2 (after every seed's run).
    Pure: reads the recipes, writes nothing.
    """
    out = Path(out)
    return [job for name in settings.tasks for job in _task_jobs(settings, out, task_registry.get(name))]


def _task_jobs(settings: ReproduceSettings, out: Path, task: Task) -> list[Job]:
    jobs: list[Job] = []
    seeds: list[TrainJob] = []
    first: tuple[str, ...] = ()
    for seed in range(settings.seeds):
        run = _train_jobs(settings, out, task, seed)
        evaluations = [_evaluate_job(settings, out, task, seed, stage, run) for stage in STAGES]
        jobs += [*run, *evaluations]
        seeds += run
        if seed == 0:
            first = (*_ids(run), evaluations[-1].id)
    for width in settings.widths if task.name in MEMORY_TASKS else ():
        run = _train_jobs(settings, out, task, 0, width)
        jobs += [*run, _evaluate_job(settings, out, task, 0, "final", run, width)]
    jobs.append(BehaviourFigureJob(out, task.name, settings.episodes, depends_on=first))
    jobs.append(ConvergenceJob(
        out, task.name, settings.steps, settings.episodes, settings.distance_episodes, settings.distance_snapshots,
        device=settings.device, threads=settings.threads, depends_on=_ids(seeds),
    ))
    return jobs


def _ids(jobs: list[TrainJob]) -> tuple[str, ...]:
    return tuple(job.id for job in jobs)


def _recipe(settings: ReproduceSettings, task: Task, seed: int, width: int | None) -> TrainSettings:
    """The run's recipe, ``steps`` overridden (what its evaluations are keyed by)."""
    return recipe(task, seed, steps=settings.steps, hidden=width)


def _train_jobs(settings: ReproduceSettings, out: Path, task: Task, seed: int, width: int | None = None) -> list[TrainJob]:
    """The job that makes the run (its recipe with the ``eval_episodes`` and ``batch`` caps);
    none with ``--no-train`` unless the run is the shipped one, which is copied."""
    capped = _recipe(settings, task, seed, width)
    for field_name in ("eval_episodes", "batch"):
        cap = getattr(settings, field_name)
        if cap is not None:
            capped = replace(capped, **{field_name: min(getattr(capped, field_name), cap)})
    zoo = width is None and is_shipped_run(task, capped)
    if not (settings.train or zoo):
        return []
    stem = f"seed-{seed}" if width is None else f"width-{width}-seed-{seed}"
    return [TrainJob(out, f"{task.name}/{stem}", task.name, capped, zoo=zoo, train=settings.train,
                     device=settings.device, threads=settings.threads)]


def _evaluate_job(
    settings: ReproduceSettings, out: Path, task: Task, seed: int, stage: str, run: list[TrainJob], width: int | None = None
) -> EvaluateJob:
    """The evaluation of one agent, keyed by its run's recipe command, stage, seed and episodes;
    seed 0's final one also draws Figure 3."""
    run_recipe = _recipe(settings, task, seed, width)
    key = cache_key(run=run_recipe.command(task.name), stage=stage, seed=seed, episodes=settings.episodes,
                    **phi_key(settings.phi_steps))
    figure3 = out / task.name / "figure3.png" if (width, seed, stage) == (None, 0, "final") else None
    return EvaluateJob(out, task.name, seed, stage, run_recipe, key, settings.episodes, width=width,
                       threads=settings.threads, phi_steps=settings.phi_steps, figure3=figure3, depends_on=_ids(run))


class Reproduction:
    """The pipeline over one output folder: :meth:`run` plans, executes what is not done yet
    and aggregates."""

    def __init__(
        self, settings: ReproduceSettings, out: str | Path, log: Log = print, executor: Executor = InProcessExecutor()
    ) -> None:
        self.settings, self.out, self.log, self.executor = settings, Path(out), log, executor

    def plan(self) -> list[Job]:
        return plan(self.settings, self.out)

    def run(self) -> dict[str, Path]:
        """Train, evaluate, tabulate and draw; returns the files written."""
        self.executor.run(self.plan(), self.log)
        return self.write()

    def write(self) -> dict[str, Path]:
        """The tidy tables and Figure 4 of every evaluation in the folder (earlier invocations'
        tasks too), and the per-task figures of this invocation's tasks."""
        records = read_evaluations(self.out)
        if not records:
            raise SimlibError(f"no evaluations in {self.out}")
        files = write_tables(records, self.out)
        files.update(self._figures(records))
        return files

    def _figures(self, records: list[dict]) -> dict[str, Path]:
        return draw_figures(records, self.out, self.settings.tasks)
