"""Executors: run a plan's jobs in dependency order and report what became of each.

A job is plain data with an ``id``, the ids it ``depends_on`` and ``run(log) -> bool`` (True
when it did work, False when its target already held its key). An executor runs every job
after the jobs it depends on; a failed job's dependents are skipped, and its error is raised
once the executor stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Log = Callable[[str], None]
Status = Literal["ran", "cached", "failed", "skipped"]


class Job(Protocol):
    """What an executor needs of a job."""

    depends_on: tuple[str, ...]

    @property
    def id(self) -> str:
        """A stable name, e.g. ``train/beta-bernoulli/seed-0``."""
        ...

    def run(self, log: Log) -> bool:
        """Do the work unless its target holds its key already; whether it did any."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What became of one job: ``ran`` (did work), ``cached`` (a no-op), ``failed`` (``error``)
    or ``skipped`` (``cause``: the failed job it waited for or that stopped the executor)."""

    status: Status
    seconds: float = 0.0
    error: Exception | None = None
    cause: str | None = None


class Executor(Protocol):
    """Runs jobs in dependency order; returns each job's outcome by id, or raises the first
    failure after skipping what depends on it."""

    def run(self, jobs: Sequence[Job], log: Log) -> dict[str, Outcome]: ...


def in_dependency_order(jobs: Sequence[Job]) -> list[Job]:
    """``jobs`` sorted so that each comes after those it depends on: always the first job in plan
    order whose dependencies are placed (a plan already in order stays as it is). A repeated id,
    an unknown dependency or a cycle is a ValueError."""
    by_id: dict[str, Job] = {}
    for job in jobs:
        if job.id in by_id:
            raise ValueError(f"two jobs are called {job.id!r}")
        by_id[job.id] = job
    for job in jobs:
        unknown = [need for need in job.depends_on if need not in by_id]
        if unknown:
            raise ValueError(f"job {job.id!r} depends on jobs not in the plan: {', '.join(unknown)}")
    ordered: list[Job] = []
    placed: set[str] = set()
    waiting = list(jobs)
    while waiting:
        ready = next((job for job in waiting if placed.issuperset(job.depends_on)), None)
        if ready is None:
            raise ValueError(f"the jobs depend on each other in a cycle: {', '.join(job.id for job in waiting)}")
        ordered.append(ready)
        placed.add(ready.id)
        waiting.remove(ready)
    return ordered


@dataclass(frozen=True)
class InProcessExecutor:
    """Runs the jobs one after another in this process.

    ``keep_going``: after a failure, still run the jobs that do not depend on it (False: stop
    there, as a single script would). A progress line goes to ``log`` for every job that did work.
    """

    keep_going: bool = False

    def run(self, jobs: Sequence[Job], log: Log = print) -> dict[str, Outcome]:
        ordered = in_dependency_order(jobs)
        outcomes: dict[str, Outcome] = {}
        failures: list[str] = []
        started = time.perf_counter()
        for finished, job in enumerate(ordered, start=1):
            skipped = skip(job, outcomes, failures, self.keep_going)
            if skipped is not None:
                outcomes[job.id] = skipped
                continue
            begun = time.perf_counter()
            try:
                did_work = job.run(log)
            except Exception as error:
                outcomes[job.id] = Outcome("failed", time.perf_counter() - begun, error=error)
                failures.append(job.id)
                continue
            seconds = time.perf_counter() - begun
            outcomes[job.id] = Outcome("ran" if did_work else "cached", seconds)
            if did_work:
                log(f"[{finished}/{len(ordered)}] {job.id}: {seconds:.0f} s ({time.perf_counter() - started:.0f} s in all)")
        if failures:
            raise first_failure(outcomes, failures)
        return outcomes


def skip(job: Job, outcomes: dict[str, Outcome], failures: list[str], keep_going: bool) -> Outcome | None:
    """``job``'s ``skipped`` outcome if a job it depends on failed or was skipped, or if a job
    failed and the executor does not ``keep_going``; None if it may run (as far as failures go)."""
    stopped = [need for need in job.depends_on if need in outcomes and outcomes[need].status in ("failed", "skipped")]
    blocked = stopped[0] if stopped else None
    if blocked is not None:
        return Outcome("skipped", cause=outcomes[blocked].cause or blocked)
    if failures and not keep_going:
        return Outcome("skipped", cause=failures[0])
    return None


def first_failure(outcomes: dict[str, Outcome], failures: list[str]) -> Exception:
    """The first failed job's error, noting (for tracebacks) the jobs skipped because of failures."""
    error = outcomes[failures[0]].error
    skipped = [name for name, outcome in outcomes.items() if outcome.status == "skipped"]
    if skipped:
        shown = ", ".join(skipped[:8]) + (f" and {len(skipped) - 8} more" if len(skipped) > 8 else "")
        error.add_note(f"{len(failures)} job(s) failed, first {failures[0]}; skipped: {shown}")
    return error
