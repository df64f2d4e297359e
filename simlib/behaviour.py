"""Behavioural dissimilarity (paper §3.2).

* eq. (2), prediction tasks: ``KL(pi_ref || pi_other)`` summed over the steps of an episode,
  averaged over episodes, both machines fed the same observations;
* eq. (3), bandit tasks: the absolute difference of the mean return each machine earns when
  it plays its own episodes on the same sampled tasks, using the pseudo-reward (the true mean
  of the chosen arm) so the standard error is small; and, given an exact belief-MDP value
  function, each machine's per-step Bayes regret ``Q*(b, a*) - Q*(b, a)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr

from simlib.errors import SimlibError
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
    Eq. (3) also carries the paired ``standard_error``, each machine's mean return and, where
    an exact value function was given, each machine's mean per-step Bayes ``regret``.
    """

    metric: str
    value: float
    per_episode: np.ndarray
    per_time: np.ndarray
    units: str
    standard_error: float = float("nan")
    returns: dict[str, float] = field(default_factory=dict)
    regret: dict[str, float] = field(default_factory=dict)


def divergence(family: OutputFamily, p: np.ndarray, q: np.ndarray, measure: str = "kl") -> np.ndarray:
    """Row-wise ``measure(p || q)`` for parameter arrays ``[..., n_params]`` -> ``[...]`` nats."""
    if measure not in MEASURES:
        raise ValueError(f"unknown divergence {measure!r}; use one of {MEASURES}")
    shape = p.shape[:-1]
    pt = torch.from_numpy(np.ascontiguousarray(p, dtype=np.float64).reshape(-1, p.shape[-1]))
    qt = torch.from_numpy(np.ascontiguousarray(q, dtype=np.float64).reshape(-1, q.shape[-1]))
    for side in (pt, qt):
        outside = ~family.in_domain(side)
        if outside.any():
            row = side[int(outside.nonzero()[0, 0])].tolist()
            raise SimlibError(f"{measure}: {row} is not a parameter of {family!r} ({', '.join(family.param_names)})")
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


def discounts(traces: xr.Dataset) -> np.ndarray:
    """``discount**t`` for the steps of a closed-loop trace: ``[T]``."""
    return float(traces.attrs.get("discount", 1.0)) ** np.arange(traces.sizes["time"])


def reward_gap(traces: xr.Dataset, policy: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Discounted pseudo-reward of ``policy`` minus ``other`` at every step: ``[E, T]``.

    Both are action probabilities ``[E, T, A]`` along the trace's stream; each is scored by the
    true mean reward of every action at that step (``mean_reward``), as eq. (3) scores actions
    taken. Traces written before environments had a state (``mean_reward [E, A]``) broadcast.
    """
    means = step_mean_rewards(traces)
    return ((policy - other) * means).sum(-1) * discounts(traces)


def step_mean_rewards(traces: xr.Dataset) -> np.ndarray:
    """Every action's expected reward at every step of a closed-loop trace: ``[E, T, A]``."""
    means = traces["mean_reward"].values
    return means if means.ndim == 3 else np.broadcast_to(means[:, None, :], (*means.shape[:1], traces.sizes["time"], means.shape[1]))


def expected_regret(traces: xr.Dataset) -> np.ndarray:
    """The driver's expected regret per step, ``max_a mean_reward - expected_reward``: ``[E, T]`` (Wang's R_T summand)."""
    return step_mean_rewards(traces).max(-1) - traces["expected_reward"].values


def bayes_regret(traces: xr.Dataset, name: str, critic: str, critic_machine: StateMachine) -> np.ndarray:
    """Per-step Bayes regret of machine ``name``'s policy: ``max_a Q*(b_t, a) - E_pi Q*(b_t, a)``, ``[E, T]``.

    ``critic_machine`` (traced as ``critic``) exposes ``action_values(x, s) -> [B, A]``, the
    exact belief-MDP action values of the decision made on input ``x`` in its state ``s``.
    """
    inputs = torch.from_numpy(traces["input"].values)
    states = torch.from_numpy(traces[f"{critic}_state"].values)
    flat = critic_machine.action_values(inputs.reshape(-1, inputs.shape[-1]), states.reshape(-1, states.shape[-1]))
    values = flat.reshape(*inputs.shape[:2], -1).cpu().numpy()
    return values.max(-1) - (traces[f"{name}_output"].values * values).sum(-1)


def own_play(
    task: Task, machine: StateMachine, episodes: int, seed: int, critic: StateMachine | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``machine`` plays its own episodes: (discounted pseudo-rewards ``[E, T]``, Bayes regret ``[E, T]`` or None)."""
    machines = {"m": machine} if critic is None else {"m": machine, "critic": critic}
    traces = sample_traces(task, machines, episodes, seed, driver="m")
    rewards = traces["expected_reward"].values * discounts(traces)
    regret = None if critic is None else bayes_regret(traces, "m", "critic", critic)
    return rewards, regret


def evaluate_play(
    task: Task, machine: StateMachine, episodes: int, seed: int, critic: StateMachine | None = None, chunk: int = 5000
) -> tuple[np.ndarray, np.ndarray | None]:
    """Many episodes of own play in chunks of ``chunk`` (memory stays bounded).

    Returns the discounted pseudo-return of each episode ``[episodes]`` and, with a ``critic``,
    each episode's mean per-step Bayes regret ``[episodes]``. Chunk ``i`` is seeded with
    ``seed + i``, so machines evaluated with the same arguments face the same task parameters.
    """
    returns, regrets = [], []
    for i, start in enumerate(range(0, episodes, chunk)):
        rewards, regret = own_play(task, machine, min(chunk, episodes - start), seed + i, critic)
        returns.append(rewards.sum(1))
        regrets.append(None if regret is None else regret.mean(1))
    return np.concatenate(returns), None if critic is None else np.concatenate(regrets)


def pseudo_returns(task: Task, machine: StateMachine, episodes: int, seed: int) -> np.ndarray:
    """Discounted expected reward of each chosen action when ``machine`` plays: ``[episodes, T]``."""
    return own_play(task, machine, episodes, seed)[0]


def return_difference(
    task: Task, a: StateMachine, b: StateMachine, episodes: int, seed: int, critic: StateMachine | None = None
) -> Behaviour:
    """Eq. (3) with pseudo-rewards: ``|mean return(a) - mean return(b)|`` on the same sampled tasks.

    Both play the same task parameters (same seed); the standard error is that of the paired
    per-episode differences. With a ``critic`` (a machine with ``action_values``), also each
    machine's mean per-step Bayes regret.
    """
    rewards_a, regret_a = own_play(task, a, episodes, seed, critic)
    rewards_b, regret_b = own_play(task, b, episodes, seed, critic)
    per_episode = rewards_a.sum(1) - rewards_b.sum(1)
    regret = {} if critic is None else {"a": float(regret_a.mean()), "b": float(regret_b.mean())}
    return Behaviour(
        metric="|return(a)-return(b)|",
        value=float(abs(per_episode.mean())),
        per_episode=per_episode,
        per_time=(rewards_a - rewards_b).mean(0),
        units="reward",
        standard_error=float(per_episode.std(ddof=1) / np.sqrt(episodes)) if episodes > 1 else float("nan"),
        returns={"a": float(rewards_a.sum(1).mean()), "b": float(rewards_b.sum(1).mean())},
        regret=regret,
    )
