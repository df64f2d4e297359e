"""The Ray executor: each job one Ray task with declared resources, on a local instance or a cluster.

``RayExecutor()`` starts a local Ray instance sized to this machine; ``RayExecutor(address=...)``
joins a running cluster (``ray start --head`` on the head node, ``ray start --address HEAD:6379``
on each worker). Every node needs simlib installed and the output folder on a shared filesystem:
jobs are plain data naming registered tasks, and each writes its own files atomically, so a
killed worker or driver loses at most the jobs in flight and a rerun picks up from the folder.

A job is submitted once the jobs it depends on have finished. Resources: ``threads`` CPUs (one
when a job does not fix its threads, which are then the worker's one) and, for jobs that train
or analyse on a device, a GPU or ``gpu_fraction`` of one when the job's ``device`` asks for one
(``cuda``, or ``auto`` on a cluster that has GPUs). A job's results do not depend on the backend
for the same ``--threads``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from simlib.errors import SimlibError
from simlib.pipeline.execute import Job, Log, Outcome, first_failure, in_dependency_order, skip

RAY_EXTRA = 'pip install "simlib-agents[ray]"'


def _ray():
    """The ``ray`` module, or one line naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise SimlibError(f"--backend ray needs Ray: {RAY_EXTRA}") from None
    return ray


def run_job(job: Job) -> tuple[bool, list[str], float]:
    """What a Ray worker does with one job: ``(did work, its log lines, seconds)``."""
    lines: list[str] = []
    started = time.perf_counter()
    did_work = job.run(lines.append)
    return did_work, lines, time.perf_counter() - started


@dataclass(frozen=True)
class RayExecutor:
    """Runs jobs as Ray tasks in dependency order (see the module docstring).

    ``address``: a running cluster's (None: start a local instance with ``num_cpus`` CPUs, by
    default all of this machine's); ``retries``: Ray's retries of a job whose worker died;
    ``keep_going``: after a failure, still run the jobs that do not depend on it.
    """

    address: str | None = None
    num_cpus: int | None = None
    gpu_fraction: float = 1.0
    retries: int = 1
    keep_going: bool = False

    def run(self, jobs: Sequence[Job], log: Log = print) -> dict[str, Outcome]:
        ray = self._connect()
        remote = ray.remote(run_job)
        gpus = float(ray.cluster_resources().get("GPU", 0.0))
        waiting = in_dependency_order(jobs)
        outcomes: dict[str, Outcome] = {}
        failures: list[str] = []
        running: dict = {}
        started = time.perf_counter()
        while waiting or running:
            for job in list(waiting):
                skipped = skip(job, outcomes, failures, self.keep_going)
                if skipped is not None:
                    waiting.remove(job)
                    outcomes[job.id] = skipped
                elif all(need in outcomes for need in job.depends_on):
                    waiting.remove(job)
                    running[remote.options(**self.resources(job, gpus)).remote(job)] = (job, time.perf_counter())
            if not running:
                continue
            (done,), _ = ray.wait(list(running), num_returns=1)
            job, submitted = running.pop(done)
            outcomes[job.id] = self._outcome(ray, done, submitted, log)
            if outcomes[job.id].status == "failed":
                failures.append(job.id)
            self._progress(log, job, outcomes, self._running(ray, running), len(jobs), started)
        if failures:
            raise first_failure(outcomes, failures)
        return outcomes

    def resources(self, job: Job, cluster_gpus: float) -> dict:
        """The Ray options of ``job``: CPUs for its threads, a GPU share where its device asks for one."""
        threads = getattr(job, "threads", None) or 1
        device = str(getattr(job, "device", "cpu"))
        wants_gpu = device.startswith("cuda") or (device == "auto" and cluster_gpus > 0)
        return {"num_cpus": threads, "num_gpus": self.gpu_fraction if wants_gpu else 0, "max_retries": self.retries}

    def _connect(self):
        ray = _ray()
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if self.address is not None:
                ray.init(address=self.address, **options)
            else:
                ray.init(num_cpus=self.num_cpus or os.cpu_count(), **options)
        return ray

    @staticmethod
    def _outcome(ray, done, submitted: float, log: Log) -> Outcome:
        """The finished task's outcome; its log lines go to ``log``, its error stays a one-line one."""
        try:
            did_work, lines, seconds = ray.get(done)
        except ray.exceptions.RayTaskError as error:
            cause = error.cause if isinstance(error.cause, Exception) else SimlibError(str(error).splitlines()[0])
            return Outcome("failed", time.perf_counter() - submitted, error=cause)
        except ray.exceptions.RayError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return Outcome("failed", time.perf_counter() - submitted, error=SimlibError(f"a Ray worker died: {reason}"))
        for line in lines:
            log(line)
        return Outcome("ran" if did_work else "cached", seconds)

    def _running(self, ray, in_flight: dict) -> tuple[int, int]:
        """``(running, queued)`` of the submitted jobs: the oldest ones that fit in the CPUs Ray
        reports busy run, the rest wait for resources."""
        busy = float(ray.cluster_resources().get("CPU", 0.0)) - float(ray.available_resources().get("CPU", 0.0))
        running = 0
        for job, _ in sorted(in_flight.values(), key=lambda entry: entry[1]):
            busy -= self.resources(job, 0.0)["num_cpus"]
            if busy < -1e-9:
                break
            running += 1
        return running, len(in_flight) - running

    @staticmethod
    def _progress(log: Log, job: Job, outcomes: dict[str, Outcome], in_flight: tuple[int, int], total: int,
                  started: float) -> None:
        """One line per job that did work or failed: finished, running, queued and failed counts,
        elapsed time and the time left at the pace of the jobs that did work so far."""
        outcome = outcomes[job.id]
        if outcome.status == "cached":
            return
        finished = sum(o.status in ("ran", "cached") for o in outcomes.values())
        worked = sum(o.status in ("ran", "failed") for o in outcomes.values())
        failed = sum(o.status == "failed" for o in outcomes.values())
        elapsed = time.perf_counter() - started
        left = elapsed / max(1, worked) * (total - len(outcomes))
        running, queued = in_flight
        log(f"[{finished}/{total} done, {running} running, {queued} queued, {failed} failed] {job.id} {outcome.status} "
            f"in {outcome.seconds:.0f} s; {elapsed:.0f} s elapsed, about {left:.0f} s left")
