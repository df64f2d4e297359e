"""``compare(a, b, task)``: behaviour, both simulation directions and their controls.

The report answers "does A compute what B computes?" with numbers:

* behaviour -- eq. (2) ``KL(pi_b || pi_a)`` for prediction tasks (b is the reference, as
  in ``simlib compare rnn:X opt:X``); for closed-loop tasks eq. (3): ``value`` is
  ``|mean return(a) - mean return(b)|``, ``difference`` the signed mean and ``interval`` the
  bootstrap interval of the signed mean (it can cover 0), with the standard error, both mean
  returns and, given an exact value function, each machine's per-step Bayes regret;
* ``a_to_b`` -- phi maps A's states into B's, i.e. B simulates A; ``b_to_a`` the reverse;
  each with the MLP phi, a linear phi baseline, D_s and D_o on held-out episodes (on
  closed-loop tasks D_o is eq. (3)'s pseudo-return gap, with the signed gap ``d_o_signed`` and
  ``d_o_abs``, the per-step absolute gaps that cannot cancel: see
  :class:`simlib.simulation.SimulationResult`);
* controls -- phi fitted on a shuffled pairing of states and scored on the held-out pairs;
  bootstrap confidence intervals over the held-out episodes; one-sided paired sign-flip
  p-values of the fitted phi against that control, episode by episode;
* baselines -- linear CKA, Procrustes distance and mean CCA of the two machines' held-out
  states (:mod:`simlib.baselines`);
* warnings -- one line each where an interval or p-value rests on few episodes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr

import simlib
from simlib.baselines import representation_baselines
from simlib.behaviour import Behaviour, unavailable_measures
from simlib.bootstrap import FEW_EPISODES, bootstrap_ci, few_samples_warning, paired_p_values
from simlib.errors import SimlibError
from simlib.estimator import clone
from simlib.machine import StateMachine
from simlib.simulation import PHI_STEPS, SIGN_FLIP_TEST, SMALL_TEST_CONSEQUENCE, Simulation, SimulationResult
from simlib.task import Task
from simlib.task_family import family_of
from simlib.threads import FIT_THREADS, fit_threads
from simlib.traces import sample_traces, shuffled_pairing, split_episodes


@dataclass(frozen=True)
class Direction:
    """One simulation direction: the MLP phi, the linear baseline and the shuffled control
    (phi fitted on shuffled pairs of training states, scored on the held-out pairs)."""

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
    p_values: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

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
                "p_values": self.p_values,
            },
            "baselines": self.baselines,
            "warnings": list(self.warnings),
            "settings": self.settings,
            "versions": {"simlib": simlib.__version__, "torch": torch.__version__, "numpy": np.__version__},
        }


    def _behaviour_dict(self) -> dict:
        behaviour = self.behaviour
        summary = {"metric": behaviour.metric, "value": behaviour.value, "units": behaviour.units}
        summary["interval"] = self.intervals["behaviour"]
        summary.update(family_of(self.task).behaviour_summary(behaviour))
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
    max_steps: int = PHI_STEPS,
    resamples: int = 1000,
    level: float = 0.95,
    driver: str = "a",
    critic: StateMachine | None = None,
    threads: int | None = FIT_THREADS,
    flips: int = 2000,
) -> ComparisonReport:
    """Compare machine ``a`` with reference machine ``b`` on ``task``.

    Args:
        a, b: machines taking the task's inputs; ``b`` is the reference for behaviour.
        task: the task; if omitted, read from the machines' ``task`` attribute.
        episodes: traced episodes; ``test_fraction`` of them are held out for scoring.
        seed: seeds traces, the split, phi and the controls.
        n_components: see :class:`simlib.simulation.Simulation` (None = the paper's setting).
        hidden: MLP width; max_steps: L-BFGS iterations at most per MLP fit (phi and the shuffled
            control); resamples, level: bootstrap settings.
        flips: sign patterns of the permutation test against the shuffled control.
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
    family = family_of(task)
    behaviour = family.behaviour(task, a, b, traces, episodes, seed, family.critic(a, b, critic))
    measure = family.output_measure
    settings = {
        "n_components": n_components, "test_fraction": test_fraction, "hidden": hidden, "max_steps": max_steps,
        "driver": driver, "threads": threads,
    }
    estimator = Simulation(
        n_components=n_components, hidden=hidden, max_steps=max_steps, output_measure=measure, random_state=seed,
        threads=threads,
    )
    with fit_threads(threads):
        a_to_b = _direction(train, test, "a", "b", b, estimator)
        b_to_a = _direction(train, test, "b", "a", a, estimator)

    def interval(values: np.ndarray | None) -> list[float] | None:
        return None if values is None else list(bootstrap_ci(values, resamples, level, seed))

    directions = {"a_to_b": a_to_b, "b_to_a": b_to_a}
    intervals = {
        "level": level,
        "resamples": resamples,
        "behaviour": interval(behaviour.per_episode),
        **{name: {key: interval(values) for key, values in _per_episode(d.mlp).items()} for name, d in directions.items()},
    }
    p_values = {
        "test": SIGN_FLIP_TEST,
        "flips": flips,
        **{
            name: paired_p_values(_non_negative(d.mlp), _non_negative(d.shuffled), flips, seed)
            for name, d in directions.items()
        },
    }
    n_test = int(test.sizes["episode"])
    enough = int(np.ceil(FEW_EPISODES / test_fraction))
    warnings = few_samples_warning(n_test, "held-out episodes", f"{SMALL_TEST_CONSEQUENCE} (at least {enough})")
    warnings += few_samples_warning(
        behaviour.per_episode.size, family.behaviour_samples,
        "the behaviour's interval" + (" rests" if np.isnan(behaviour.standard_error) else " and standard error rest") + " on few samples",
    )
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
        p_values=p_values,
        baselines=representation_baselines(test["a_state"].values, test["b_state"].values),
        warnings=warnings,
    )


def _per_episode(result: SimulationResult) -> dict[str, np.ndarray | None]:
    """A direction's per-episode D_s and D_o, whose bootstrap means give the intervals; on
    closed-loop traces D_o's are the signed pseudo-return gaps (an interval that can cover 0)
    and ``d_o_abs`` the per-step absolute gaps."""
    measures = {"d_s": result.d_s_per_episode, "d_o": result.d_o_per_episode}
    if result.d_o_abs_per_episode is not None:
        measures["d_o_abs"] = result.d_o_abs_per_episode
    return measures


def _non_negative(result: SimulationResult) -> dict[str, np.ndarray | None]:
    """Per-episode D_s and a D_o that cannot cancel (KL, or the per-step absolute reward gaps):
    what the one-sided test against the shuffled control compares."""
    d_o = result.d_o_per_episode if result.d_o_abs_per_episode is None else result.d_o_abs_per_episode
    if result.d_o_per_episode is None:
        d_o = None
    return {"d_s": result.d_s_per_episode, "d_o": d_o}


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
    """Fit and evaluate phi: source -> target (clones of ``estimator`` given the direction's
    simulator and names), with the linear baseline and the shuffled control."""

    def fitted(phi: str, data: xr.Dataset) -> Simulation:
        return clone(estimator).set_params(simulator=simulator, source=source, target=target, phi=phi).fit(data)

    mlp = fitted("mlp", train)
    linear = fitted("linear", train)
    shuffled = fitted("mlp", shuffled_pairing(train, target, estimator.random_state + 1))
    return Direction(
        mlp=mlp.evaluate(test), linear=linear.evaluate(test), shuffled=shuffled.evaluate(test), simulation=mlp
    )
