"""Behavioural dissimilarity (paper §3.2).

* eq. (2), prediction tasks: ``KL(pi_ref || pi_other)`` summed over the steps of an episode,
  averaged over episodes, both machines fed the same observations;
* eq. (3), bandit tasks: the absolute difference of the mean return each machine earns when
  it plays its own episodes on the same sampled tasks, using the pseudo-reward (the true mean
  of the chosen arm) so the standard error is small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from simlib.families import OutputFamily
from simlib.machine import StateMachine
from simlib.task import Task
from simlib.traces import require_machine, sample_traces

MEASURES = ("kl", "js")


@dataclass(frozen=True)
class Behaviour:
    """A behavioural dissimilarity: ``value`` with its per-episode and per-step parts.

    ``per_episode [E]`` averages to ``value``; ``per_time [T]`` sums to it (eq. 2) or is the
    per-step difference of mean rewards (eq. 3, where ``value`` is the absolute total).
    """

    metric: str
    value: float
    per_episode: np.ndarray
    per_time: np.ndarray
    units: str


def divergence(family: OutputFamily, p: np.ndarray, q: np.ndarray, measure: str = "kl") -> np.ndarray:
    """Row-wise ``measure(p || q)`` for parameter arrays ``[..., n_params]`` -> ``[...]`` nats."""
    if measure not in MEASURES:
        raise ValueError(f"unknown divergence {measure!r}; use one of {MEASURES}")
    shape = p.shape[:-1]
    pt = torch.from_numpy(np.ascontiguousarray(p, dtype=np.float64).reshape(-1, p.shape[-1]))
    qt = torch.from_numpy(np.ascontiguousarray(q, dtype=np.float64).reshape(-1, q.shape[-1]))
    values = family.kl(pt, qt) if measure == "kl" else family.js(pt, qt)
    return values.numpy().reshape(shape)


def prediction_divergence(
    traces: xr.Dataset, reference: str, other: str, family: OutputFamily, measure: str = "kl"
) -> Behaviour:
    """Eq. (2): ``measure(pi_reference || pi_other)`` summed over time, mean over episodes."""
    require_machine(traces, reference)
    require_machine(traces, other)
    values = divergence(family, traces[f"{reference}_output"].values, traces[f"{other}_output"].values, measure)
    return Behaviour(
        metric=f"{measure}({reference}||{other})",
        value=float(values.sum(1).mean()),
        per_episode=values.sum(1),
        per_time=values.mean(0),
        units="nats",
    )


def pseudo_returns(task: Task, machine: StateMachine, episodes: int, seed: int) -> np.ndarray:
    """Expected reward of each chosen action when ``machine`` plays: ``[episodes, T]``."""
    traces = sample_traces(task, {"m": machine}, episodes, seed, driver="m")
    return traces["expected_reward"].values


def return_difference(task: Task, a: StateMachine, b: StateMachine, episodes: int, seed: int) -> Behaviour:
    """Eq. (3) with pseudo-rewards: ``|mean return(a) - mean return(b)|`` on the same sampled tasks."""
    rewards_a = pseudo_returns(task, a, episodes, seed)
    rewards_b = pseudo_returns(task, b, episodes, seed)
    per_episode = rewards_a.sum(1) - rewards_b.sum(1)
    return Behaviour(
        metric="|return(a)-return(b)|",
        value=float(abs(per_episode.mean())),
        per_episode=per_episode,
        per_time=(rewards_a - rewards_b).mean(0),
        units="reward",
    )
