"""Task families: what a kind of task decides about measuring, comparing and drawing its machines.

A task family is one object that answers, for every task of its kind, the questions the core
used to answer with ``if task.closed_loop`` branches: which behavioural metric ``compare``
reports (eq. 2 or eq. 3), which output measure D_o uses, which machine scores Bayes regret,
how convergence is measured within an episode and between machines, what Figure 1's right
panel plots and which training curves a run records. The core ships the two families its
protocol has shapes for:

* :data:`PREDICTION` -- open-loop tasks (:class:`simlib.task.PredictionTask`): KL between
  predictions on shared inputs, Jensen-Shannon distances, no critic;
* :data:`INTERACTIVE` -- closed-loop tasks (:class:`simlib.task.InteractiveTask`): the return
  difference of each machine's own play, Bayes regret scored by a critic with exact
  ``action_values``, D_o on pseudo-returns.

A task names its family with a ``family`` attribute (default: by ``closed_loop``). A new kind
of task is a subclass in its own module and one :func:`register_family` line; the layers above
look trainers and recipes up by family (``simlib.training.trainers``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import torch
import xarray as xr

from simlib.behaviour import Behaviour, divergence, has_expected_rewards, own_play, prediction_divergence, return_difference
from simlib.device import resolve_device
from simlib.errors import SimlibError
from simlib.machine import StateMachine, unroll
from simlib.task import Task
from simlib.traces import sample_traces

PAIR_ROWS = 1 << 20
"""Rows (pair x episode x step) per chunk of divergence evaluations: bounds memory."""


class TaskFamily:
    """The decisions shared by every task of one kind; subclass and :func:`register_family`.

    Class attributes: ``name`` (registry key), ``closed_loop`` (the protocol shape its tasks
    follow), ``output_measure`` (D_o's measure, see :class:`simlib.simulation.Simulation`),
    ``within_measure`` and ``distance_measure`` ((name, units) of the convergence measures) and
    ``behaviour_samples`` (what the behaviour's per-episode values are samples of).
    """

    name: ClassVar[str]
    closed_loop: ClassVar[bool]
    output_measure: ClassVar[str]
    within_measure: ClassVar[tuple[str, str]]
    distance_measure: ClassVar[tuple[str, str]]
    behaviour_samples: ClassVar[str] = "episodes"
    measures_regret: ClassVar[bool] = False
    """Whether ``compare`` scores each machine's Bayes regret with a :meth:`critic`."""
    training_curves: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    """(history key, short name, axis label) of the curves its trainers record, for Figure 2 (d)."""

    def critic(self, a: StateMachine, b: StateMachine, given: StateMachine | None = None) -> StateMachine | None:
        """The machine that scores Bayes regret in ``compare(a, b)``: None where regret is not measured."""
        return None

    def behaviour(
        self, task: Task, a: StateMachine, b: StateMachine, traces: xr.Dataset, episodes: int, seed: int,
        critic: StateMachine | None,
    ) -> Behaviour:
        """``compare``'s behavioural dissimilarity of ``a`` from reference ``b`` (traced as ``"a"``, ``"b"``)."""
        raise NotImplementedError

    def behaviour_summary(self, behaviour: Behaviour) -> dict:
        """What the JSON report adds to ``metric``, ``value``, ``units`` and ``interval``."""
        return {"interval_of": "mean over episodes"}

    def pair_behaviour(
        self, task: Task, traces: xr.Dataset, names: Sequence[str], members: Sequence[StateMachine], episodes: int, seed: int
    ) -> tuple[np.ndarray, str, str]:
        """Behaviour of every ordered pair ``[simulated, simulator]`` (traced as ``names``), its metric and units."""
        raise NotImplementedError

    def within_episode(
        self, task: Task, snapshots: Sequence[StateMachine], reference: StateMachine, episodes: int, seed: int
    ) -> np.ndarray:
        """Each snapshot's per-step dissimilarity to ``reference``, mean over episodes: ``[S, T]``."""
        raise NotImplementedError

    def distances(
        self, task: Task, machines: Sequence[StateMachine], critic: StateMachine | None, episodes: int, seed: int,
        device: str, log: Callable[[str], None],
    ) -> np.ndarray:
        """Symmetric behavioural distances between ``machines``, zero diagonal: ``[N, N]``."""
        raise NotImplementedError

    def behaviour_curve(
        self, task: Task, machine: StateMachine, reference: StateMachine, episodes: int, seed: int
    ) -> np.ndarray:
        """Figure 1's right panel for one machine: a per-step curve ``[T]`` (see :attr:`curve_axis`)."""
        raise NotImplementedError

    curve_axis: ClassVar[dict] = {}
    """How to draw :meth:`behaviour_curve`: ``ylabel``, ``title`` (with ``{episodes}``), ``log`` (bool)."""

    def __repr__(self) -> str:
        return f"<task family {self.name!r}>"


class PredictionFamily(TaskFamily):
    """Open-loop prediction (paper §4.1-4.2): every machine sees the same sampled observations."""

    name = "prediction"
    closed_loop = False
    output_measure = "kl"
    within_measure = ("KL(opt || snapshot) per step", "nats")
    distance_measure = ("Jensen-Shannon divergence summed over the episode", "nats")
    training_curves = (
        ("loss", "log-loss", "training log-loss per step (nats)"),
        ("kl", "KL to opt", "KL(opt || agent) per episode (nats)"),
    )
    curve_axis = {
        "ylabel": "KL(Bayes-optimal || agent) per step (nats)",
        "title": "mean over {episodes} episodes, same observations",
        "log": True,
    }

    def behaviour(self, task, a, b, traces, episodes, seed, critic):
        return prediction_divergence(traces, "b", "a", b.output)

    def pair_behaviour(self, task, traces, names, members, episodes, seed):
        n = len(members)
        values = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                if members[i].output.config() != members[j].output.config():
                    values[i, j] = np.nan  # no divergence between outputs of two families
                else:
                    values[i, j] = prediction_divergence(traces, names[j], names[i], members[j].output).value
        return values, "kl(simulator||simulated)", "nats"

    def within_episode(self, task, snapshots, reference, episodes, seed):
        ref, outputs = predictions(task, list(snapshots), episodes, seed, reference)
        return np.stack([divergence(reference.output, ref, output, "kl").mean(0) for output in outputs])

    def distances(self, task, machines, critic, episodes, seed, device, log):
        _, outputs = predictions(task, list(machines), episodes, seed)
        return pairwise_js(machines[0].output, outputs, resolve_device(device), log)

    def behaviour_curve(self, task, machine, reference, episodes, seed):
        traced = sample_traces(task, {"agent": machine, "reference": reference}, episodes, seed)
        kl = divergence(task.output, traced["reference_output"].values, traced["agent_output"].values)
        return np.maximum(kl.mean(0), 1e-12)


class InteractiveFamily(TaskFamily):
    """Closed-loop tasks (paper §4.3; Wang et al.): each machine's own play, regret scored by a critic."""

    name = "interactive"
    closed_loop = True
    output_measure = "return"
    within_measure = ("Bayes regret per step", "reward")
    distance_measure = ("mean |difference of cumulative Bayes regret|", "reward")
    behaviour_samples = "episodes of own play per machine"
    measures_regret = True
    training_curves = (
        ("return", "return", "mean return per episode (reward)"),
        ("regret", "regret", "regret per episode vs opt (reward)"),
    )
    curve_axis = {
        "ylabel": "cumulative Bayes regret (reward)",
        "title": "mean over {episodes} episodes, each agent playing its own",
        "log": False,
    }

    def critic(self, a, b, given=None):
        return given or next((m for m in (b, a) if hasattr(m, "action_values")), None)

    def behaviour(self, task, a, b, traces, episodes, seed, critic):
        return return_difference(task, a, b, episodes, seed, critic)

    def behaviour_summary(self, behaviour):
        return {
            "difference": behaviour.difference,
            "interval_of": "mean over episodes of return(a) - return(b), signed",
            "standard_error": behaviour.standard_error,
            "returns": behaviour.returns,
            "regret_per_step": behaviour.regret,
        }

    def pair_behaviour(self, task, traces, names, members, episodes, seed):
        returns = np.stack([own_play(task, machine, episodes, seed)[0].sum(1) for machine in members])
        values = np.abs((returns[:, None, :] - returns[None, :, :]).mean(-1))
        units = "reward" if has_expected_rewards(traces) else "reward (sampled)"
        return values, "|return(simulated)-return(simulator)|", units

    def within_episode(self, task, snapshots, reference, episodes, seed):
        critic = require_critic(reference)
        return np.stack([regret_per_step(task, snapshot, critic, episodes, seed) for snapshot in snapshots])

    def distances(self, task, machines, critic, episodes, seed, device, log):
        critic = require_critic(critic)
        curves = np.stack([regret_per_step(task, m, critic, episodes, seed).cumsum() for m in machines])
        return np.abs(curves[:, None, :] - curves[None, :, :]).mean(-1)

    def behaviour_curve(self, task, machine, reference, episodes, seed):
        _, regret = own_play(task, machine, episodes, seed, critic=reference)
        return regret.cumsum(1).mean(0)


PREDICTION = PredictionFamily()
INTERACTIVE = InteractiveFamily()
FAMILIES: dict[str, TaskFamily] = {}
"""Registered task families by name."""


def register_family(family: TaskFamily) -> TaskFamily:
    """Add ``family`` to :data:`FAMILIES` (a name may be registered once); returns it."""
    if family.name in FAMILIES and FAMILIES[family.name] is not family:
        raise SimlibError(f"a task family named {family.name!r} is already registered")
    FAMILIES[family.name] = family
    return family


register_family(PREDICTION)
register_family(INTERACTIVE)


def family_of(task: Task) -> TaskFamily:
    """``task``'s family: its ``family`` attribute, else the core family of its protocol shape."""
    family = getattr(task, "family", None)
    if family is None:
        return INTERACTIVE if getattr(task, "closed_loop", False) else PREDICTION
    if not isinstance(family, TaskFamily):
        raise SimlibError(f"task {getattr(task, 'name', task)!r} has family {family!r}, not a TaskFamily")
    if family.closed_loop != bool(getattr(task, "closed_loop", family.closed_loop)):
        raise SimlibError(
            f"task {task.name!r} has closed_loop={task.closed_loop} but its family {family.name!r} has {family.closed_loop}"
        )
    return family


def recorded_family(attrs: dict) -> TaskFamily:
    """The family a saved dataset's ``attrs`` name (files before families: by ``closed_loop``)."""
    if attrs.get("family") in FAMILIES:
        return FAMILIES[attrs["family"]]
    return INTERACTIVE if int(attrs.get("closed_loop", 0)) else PREDICTION


def require_critic(critic: StateMachine | None) -> StateMachine:
    """``critic`` if it has exact ``action_values``; else a :class:`SimlibError`."""
    if critic is None or not hasattr(critic, "action_values"):
        raise SimlibError("closed-loop tasks need a Bayes-optimal critic with action_values (e.g. opt:TASK)")
    return critic


def regret_per_step(task: Task, machine: StateMachine, critic: StateMachine, episodes: int, seed: int) -> np.ndarray:
    """Mean Bayes regret of ``machine``'s own play at each step: ``[T]`` (reward)."""
    return own_play(task, machine, episodes, seed, critic=critic)[1].mean(0)


def predictions(
    task: Task, machines: list[StateMachine], episodes: int, seed: int, reference: StateMachine | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Outputs on one set of sampled inputs: (reference ``[E, T, P]``, machines ``[N, E, T, P]``).

    The inputs are sampled once (with the reference, or the first machine, traced); every
    machine is then unrolled on them.
    """
    traced = reference if reference is not None else machines[0]
    traces = sample_traces(task, {"ref": traced}, episodes, seed)
    inputs = torch.from_numpy(traces["input"].values)
    outputs = np.stack([unroll(machine, inputs)[0].cpu().numpy() for machine in machines])
    return traces["ref_output"].values, outputs


def pairwise_js(family, outputs: np.ndarray, device: torch.device, log: Callable[[str], None]) -> np.ndarray:
    """Jensen-Shannon divergence summed over time, mean over episodes, every pair: ``[N, N]``."""
    n, episodes, horizon, n_params = outputs.shape
    flat = torch.from_numpy(outputs).to(device=device, dtype=torch.float64).reshape(n, -1, n_params)
    first, second = torch.triu_indices(n, n, 1, device=device)
    chunk = max(1, PAIR_ROWS // (episodes * horizon))
    values, started, reported = [], time.monotonic(), time.monotonic()
    for i, j in zip(first.split(chunk), second.split(chunk), strict=True):
        js = family.js(flat[i].reshape(-1, n_params), flat[j].reshape(-1, n_params))
        values.append(js.reshape(len(i), episodes, horizon).sum(-1).mean(-1))
        if time.monotonic() - reported > 30:
            done = sum(len(v) for v in values)
            log(f"  {done}/{len(first)} pairs after {time.monotonic() - started:.0f} s")
            reported = time.monotonic()
    upper = torch.cat(values).cpu().numpy() if values else np.zeros(0)
    matrix = np.zeros((n, n))
    matrix[first.cpu().numpy(), second.cpu().numpy()] = upper
    return matrix + matrix.T
