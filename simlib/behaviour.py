"""Behavioural dissimilarity (paper §3.2).

* eq. (2), prediction tasks: ``KL(pi_ref || pi_other)`` summed over the steps of an episode,
  averaged over episodes, both machines fed the same observations;
* eq. (3), bandit tasks: the absolute difference of the mean return each machine earns when
  it plays its own episodes on the same sampled tasks, using the pseudo-reward (the true mean
  of the chosen arm) so the standard error is small, beside the signed difference it is the
  absolute value of (intervals belong to the signed one, which can cover 0); and, given an
  exact belief-MDP value function, each machine's per-step Bayes regret ``Q*(b, a*) - Q*(b, a)``.

An environment that gives no expected rewards (a user's, through ``simlib.tasks.gym_task``)
leaves them NaN in the traces: eq. (3) then uses the sampled rewards, and
:func:`unavailable_measures` names what cannot be measured rather than reporting NaN.
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

    ``per_episode [E]`` averages to ``value`` (eq. 2); for eq. (3) it holds the signed
    per-episode differences ``return(a) - return(b)``, which average to ``difference``, and
    ``value = |difference|``; ``per_time [T]`` sums to the value (eq. 2) or to the difference
    (eq. 3). Eq. (3) also carries the paired ``standard_error``, each machine's mean return and,
    where an exact value function was given, each machine's mean per-step Bayes ``regret``.
    """

    metric: str
    value: float
    per_episode: np.ndarray
    per_time: np.ndarray
    units: str
    standard_error: float = float("nan")
    returns: dict[str, float] = field(default_factory=dict)
    regret: dict[str, float] = field(default_factory=dict)
    difference: float | None = None


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


def has_expected_rewards(traces: xr.Dataset) -> bool:
    """Whether a closed-loop trace knows every action's expected reward at every step; an
    environment that does not give them (``simlib.tasks.gym_task``) leaves ``mean_reward`` NaN."""
    return "mean_reward" in traces and bool(np.isfinite(traces["mean_reward"].values).all())


def unavailable_measures(traces: xr.Dataset) -> dict[str, str]:
    """The measures these traces cannot give, each with the reason (empty when none is missing).

    Without expected rewards: the pseudo-reward (the behavioural return difference falls back to
    the sampled rewards), the expected regret and suboptimal choices of own play, and D_o with the
    ``"return"`` output measure (which scores both policies by every action's expected reward).
    """
    if not int(traces.attrs.get("closed_loop", "mean_reward" in traces)) or has_expected_rewards(traces):
        return {}
    why = "the environment gives no expected reward of every action (info['mean_reward'])"
    return {
        "pseudo_reward": f"{why}; the behavioural return difference uses the sampled rewards",
        "expected_regret": why,
        "d_o": f"{why}, which D_o ('return') scores both policies by",
    }


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
    """``machine`` plays its own episodes: (discounted pseudo-rewards ``[E, T]``, Bayes regret ``[E, T]`` or None).

    In an environment that gives no expected rewards (:func:`has_expected_rewards`) the rewards
    are the sampled ones."""
    traces = _played(task, machine, episodes, seed, critic)
    return _rewards(traces, has_expected_rewards(traces)), _regret(traces, critic)


def _played(task: Task, machine: StateMachine, episodes: int, seed: int, critic: StateMachine | None) -> xr.Dataset:
    machines = {"m": machine} if critic is None else {"m": machine, "critic": critic}
    return sample_traces(task, machines, episodes, seed, driver="m")


def _rewards(traces: xr.Dataset, expected: bool) -> np.ndarray:
    """Discounted pseudo-rewards ``[E, T]``, or the sampled rewards if ``expected`` is False."""
    return traces["expected_reward" if expected else "reward"].values * discounts(traces)


def _regret(traces: xr.Dataset, critic: StateMachine | None) -> np.ndarray | None:
    return None if critic is None else bayes_regret(traces, "m", "critic", critic)


def evaluate_play(
    task: Task,
    machine: StateMachine,
    episodes: int,
    seed: int,
    critic: StateMachine | None = None,
    chunk: int = 5000,
    summed: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Many episodes of own play in chunks of ``chunk`` (memory stays bounded).

    Returns the discounted pseudo-return of each episode ``[episodes]`` and, with a ``critic``,
    each episode's mean per-step Bayes regret ``[episodes]``; with ``summed``, its discounted sum
    instead, which estimates the critic's return minus the machine's (the performance
    difference) without the returns' spread across tasks. Chunk ``i`` is seeded with
    ``seed + i``, so machines evaluated with the same arguments face the same task parameters.
    """
    weights = task.discounts().numpy() if summed else None
    returns, regrets = [], []
    for i, start in enumerate(range(0, episodes, chunk)):
        rewards, regret = own_play(task, machine, min(chunk, episodes - start), seed + i, critic)
        returns.append(rewards.sum(1))
        if regret is not None:
            regrets.append((regret * weights).sum(1) if summed else regret.mean(1))
    return np.concatenate(returns), None if critic is None else np.concatenate(regrets)


def pseudo_returns(task: Task, machine: StateMachine, episodes: int, seed: int) -> np.ndarray:
    """Discounted expected reward of each chosen action when ``machine`` plays: ``[episodes, T]``."""
    return own_play(task, machine, episodes, seed)[0]


def return_difference(
    task: Task, a: StateMachine, b: StateMachine, episodes: int, seed: int, critic: StateMachine | None = None
) -> Behaviour:
    """Eq. (3) with pseudo-rewards: ``|mean return(a) - mean return(b)|`` on the same sampled tasks,
    and the signed ``difference`` (a - b) whose per-episode values ``per_episode`` holds.

    Both play the same task parameters (same seed); the standard error is that of the paired
    per-episode differences. Where the environment gives no expected rewards the returns are
    of the sampled rewards (units ``"reward (sampled)"``; the paper's eq. 3 as written). With a ``critic`` (a machine with ``action_values``), also each
    machine's mean per-step Bayes regret.
    """
    played = [_played(task, machine, episodes, seed, critic) for machine in (a, b)]
    expected = all(has_expected_rewards(traces) for traces in played)
    rewards_a, rewards_b = (_rewards(traces, expected) for traces in played)
    regret_a, regret_b = (_regret(traces, critic) for traces in played)
    per_episode = rewards_a.sum(1) - rewards_b.sum(1)
    regret = {} if critic is None else {"a": float(regret_a.mean()), "b": float(regret_b.mean())}
    return Behaviour(
        metric="|return(a)-return(b)|",
        value=float(abs(per_episode.mean())),
        difference=float(per_episode.mean()),
        per_episode=per_episode,
        per_time=(rewards_a - rewards_b).mean(0),
        units="reward" if expected else "reward (sampled)",
        standard_error=float(per_episode.std(ddof=1) / np.sqrt(episodes)) if episodes > 1 else float("nan"),
        returns={"a": float(rewards_a.sum(1).mean()), "b": float(rewards_b.sum(1).mean())},
        regret=regret,
    )
