"""``compare(a, b, task)``: behaviour, both simulation directions and their controls.

The report answers "does A compute what B computes?" with numbers:

* behaviour -- eq. (2) ``KL(pi_b || pi_a)`` for prediction tasks (b is the reference, as
  in ``simlib compare rnn:X opt:X``); for closed-loop tasks eq. (3) with its standard error,
  both mean returns and, given an exact value function, each machine's per-step Bayes regret;
* ``a_to_b`` -- phi maps A's states into B's, i.e. B simulates A; ``b_to_a`` the reverse;
  each with the MLP phi, a linear phi baseline, D_s and D_o on held-out episodes;
* controls -- phi fitted on a shuffled pairing of states, and bootstrap confidence
  intervals over the held-out episodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr

import simlib
from simlib.behaviour import Behaviour, prediction_divergence, return_difference, unavailable_measures
from simlib.bootstrap import bootstrap_ci
from simlib.errors import SimlibError
from simlib.machine import StateMachine
from simlib.simulation import Simulation, SimulationResult
from simlib.task import Task
from simlib.threads import FIT_THREADS, torch_threads
from simlib.traces import sample_traces, shuffled_pairing, split_episodes


@dataclass(frozen=True)
class Direction:
    """One simulation direction: the MLP phi, the linear baseline and the shuffled control."""

    mlp: SimulationResult
    linear: SimulationResult
    shuffled: SimulationResult
    simulation: Simulation = field(repr=False)

    def to_dict(self) -> dict:
        summary = self.mlp.to_dict()
        summary["linear"] = {"d_s": self.linear.d_s, "d_o": self.linear.d_o}
        return summary


@dataclass(frozen=True)
class ComparisonReport:
    """Everything ``compare`` measured; :meth:`to_dict` is what ``simlib compare --json`` prints."""

    task: Task
    a: str
    b: str
    episodes: int
    seed: int
    behaviour: Behaviour
    a_to_b: Direction
    b_to_a: Direction
    intervals: dict
    settings: dict
    traces: xr.Dataset = field(repr=False)
    test_traces: xr.Dataset = field(repr=False)
    unavailable: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        directions = {"a_to_b": self.a_to_b, "b_to_a": self.b_to_a}
        return {
            "task": self.task.name,
            "task_config": json.loads(json.dumps(self.task.config())),
            "a": self.a,
            "b": self.b,
            "episodes": self.episodes,
            "seed": self.seed,
            "test_episodes": int(self.test_traces.sizes["episode"]),
            "behaviour": self._behaviour_dict(),
            "unavailable": self.unavailable,
            "a_to_b": {"simulated": self.a, "simulator": self.b, **self.a_to_b.to_dict()},
            "b_to_a": {"simulated": self.b, "simulator": self.a, **self.b_to_a.to_dict()},
            "controls": {
                "shuffled": {
                    name: {"d_s": d.shuffled.d_s, "d_o": d.shuffled.d_o} for name, d in directions.items()
                },
                "bootstrap": self.intervals,
            },
            "settings": self.settings,
            "versions": {"simlib": simlib.__version__, "torch": torch.__version__, "numpy": np.__version__},
        }


    def _behaviour_dict(self) -> dict:
        behaviour = self.behaviour
        summary = {"metric": behaviour.metric, "value": behaviour.value, "units": behaviour.units}
        if self.task.closed_loop:
            summary["standard_error"] = behaviour.standard_error
            summary["returns"] = behaviour.returns
            summary["regret_per_step"] = behaviour.regret
        return summary


def compare(
    a: StateMachine,
    b: StateMachine,
    task: Task | None = None,
    episodes: int = 500,
    seed: int = 0,
    *,
    n_components: int | str | None = None,
    test_fraction: float = 0.2,
    hidden: int = 64,
    resamples: int = 1000,
    level: float = 0.95,
    driver: str = "a",
    critic: StateMachine | None = None,
    threads: int | None = FIT_THREADS,
) -> ComparisonReport:
    """Compare machine ``a`` with reference machine ``b`` on ``task``.

    Args:
        a, b: machines taking the task's inputs; ``b`` is the reference for behaviour.
        task: the task; if omitted, read from the machines' ``task`` attribute.
        episodes: traced episodes; ``test_fraction`` of them are held out for scoring.
        seed: seeds traces, the split, phi and the controls.
        n_components: see :class:`simlib.simulation.Simulation` (None = the paper's setting).
        hidden: MLP width; resamples, level: bootstrap settings.
        driver: closed-loop tasks: ``"a"`` or ``"b"``, the machine that acts in the traces.
        critic: closed-loop tasks: a machine with exact ``action_values(x, s)`` (a Bayes-optimal
            agent) that scores each machine's per-step Bayes regret; default: ``b`` or ``a`` if
            either has them.
        threads: torch threads while fitting phi (one by default: see :mod:`simlib.threads`).
    """
    task = resolve_task(a, b, task)
    if driver not in ("a", "b"):
        raise SimlibError(f"driver must be 'a' or 'b', got {driver!r}")
    traces = sample_traces(task, {"a": a, "b": b}, episodes, seed, driver=driver)
    train, test = split_episodes(traces, test_fraction, seed)
    if task.closed_loop:
        critic = critic or next((m for m in (b, a) if hasattr(m, "action_values")), None)
        behaviour, statistic = return_difference(task, a, b, episodes, seed, critic), np.abs
    else:
        behaviour, statistic = prediction_divergence(traces, "b", "a", b.output), None
    measure = "return" if task.closed_loop else "kl"
    settings = {
        "n_components": n_components, "test_fraction": test_fraction, "hidden": hidden, "driver": driver, "threads": threads
    }
    estimator = Simulation(
        n_components=n_components, hidden=hidden, output_measure=measure, random_state=seed, threads=threads
    )
    with torch_threads(threads):
        a_to_b = _direction(train, test, "a", "b", b, estimator)
        b_to_a = _direction(train, test, "b", "a", a, estimator)

    def interval(values: np.ndarray, statistic=None) -> list[float]:
        return list(bootstrap_ci(values, resamples, level, seed, statistic))

    intervals = {
        "level": level,
        "resamples": resamples,
        "behaviour": interval(behaviour.per_episode, statistic),
        **{
            name: {
                "d_s": interval(d.mlp.d_s_per_episode),
                "d_o": None if d.mlp.d_o_per_episode is None else interval(d.mlp.d_o_per_episode, statistic),
            }
            for name, d in (("a_to_b", a_to_b), ("b_to_a", b_to_a))
        },
    }
    return ComparisonReport(
        task=task,
        a=getattr(a, "spec", type(a).__name__),
        b=getattr(b, "spec", type(b).__name__),
        episodes=episodes,
        seed=seed,
        behaviour=behaviour,
        a_to_b=a_to_b,
        b_to_a=b_to_a,
        intervals=intervals,
        settings=settings,
        traces=traces,
        test_traces=test,
        unavailable=unavailable_measures(traces),
    )


def resolve_task(a: StateMachine, b: StateMachine, task: Task | None) -> Task:
    """The task both machines are built for (name and parameters): ``task`` if given, else their
    own ``task``."""
    named = [getattr(m, "task", None) for m in (a, b)]
    for machine, own in zip((a, b), named):
        reference = task or next((t for t in named if t is not None), None)
        accepts = getattr(task, "accepts_machines_for", None)  # a user's environment shaped like own
        if own is not None and reference is not None and own.config() != reference.config() and not (
            accepts is not None and accepts(own)
        ):
            other = "" if own.name != reference.name else " with other parameters"
            raise SimlibError(
                f"machine {getattr(machine, 'spec', type(machine).__name__)!r} is built for task "
                f"{own.name!r}, not {reference.name!r}{other}"
            )
    task = task or next((t for t in named if t is not None), None)
    if task is None:
        raise SimlibError("compare needs a task: pass task=... or machines that carry one")
    return task


def _direction(
    train: xr.Dataset,
    test: xr.Dataset,
    source: str,
    target: str,
    simulator: StateMachine,
    estimator: Simulation,
) -> Direction:
    """Fit and score phi: source -> target (``estimator``'s settings), with the linear baseline
    and the shuffled control."""
    params, seed = estimator.get_params(), estimator.random_state

    def fitted(phi: str, data: xr.Dataset) -> Simulation:
        return Simulation(**{**params, "phi": phi}).fit(data, source, target, simulator)

    mlp = fitted("mlp", train)
    linear = fitted("linear", train)
    shuffled = fitted("mlp", shuffled_pairing(train, target, seed + 1))
    return Direction(
        mlp=mlp.score(test),
        linear=linear.score(test),
        shuffled=shuffled.score(shuffled_pairing(test, target, seed + 2)),
        simulation=mlp,
    )
