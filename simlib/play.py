"""A machine's own play on an interactive task, summarised per trial (Wang et al. 2016's measures).

* cumulative expected regret ``R_t = sum_{j <= t} max_a mu_a(j) - mu_{a_j}(j)`` (the true means,
  so the noise of the sampled rewards is gone);
* suboptimal pulls: whether ``a_t`` is not an arm of largest mean at step t;
* the pseudo-return (the undiscounted sum of chosen means).

Episodes are played in chunks (chunk ``i`` seeded ``seed + i``), so machines evaluated with the
same arguments face the same task parameters: differences between them are paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from simlib.behaviour import expected_regret, step_mean_rewards, unavailable_measures
from simlib.errors import SimlibError
from simlib.machine import StateMachine
from simlib.task import Task
from simlib.traces import sample_traces


@dataclass(frozen=True)
class Play:
    """Per-episode, per-trial records of own play: every array ``[E, T]`` float64 (``theta [E, P]``).

    ``reward`` is the chosen arm's mean (the pseudo-reward), ``observed`` the sampled reward the
    machine saw.
    """

    regret: np.ndarray
    suboptimal: np.ndarray
    reward: np.ndarray
    observed: np.ndarray
    action: np.ndarray
    theta: np.ndarray
    mean_reward: np.ndarray | None = None

    def curves(self) -> xr.Dataset:
        """Per-trial means and standard errors over episodes (trial 1..T) as a labelled dataset."""
        cumulative = self.regret.cumsum(1)
        episodes = cumulative.shape[0]

        def sem(values: np.ndarray) -> np.ndarray:
            return values.std(0, ddof=1) / np.sqrt(episodes) if episodes > 1 else np.full(values.shape[1], np.nan)

        returns = self.reward.sum(1)
        trial = np.arange(1, cumulative.shape[1] + 1)
        return xr.Dataset(
            {
                "cumulative_regret": ("trial", cumulative.mean(0)),
                "cumulative_regret_se": ("trial", sem(cumulative)),
                "suboptimal": ("trial", self.suboptimal.mean(0)),
                "return_per_episode": ("episode", returns),
            },
            coords={"trial": trial, "episode": np.arange(episodes)},
            attrs={"episodes": episodes, "return": float(returns.mean()), "return_se": float(sem(returns[:, None])[0])},
        )


def own_play_records(
    task: Task, machine: StateMachine, episodes: int, seed: int = 0, chunk: int = 500, keep_means: bool = False
) -> Play:
    """``machine`` acts on ``episodes`` episodes of ``task``; the per-trial records of :class:`Play`."""
    parts: dict[str, list[np.ndarray]] = {key: [] for key in ("regret", "suboptimal", "reward", "observed", "action", "theta", "means")}
    for i, start in enumerate(range(0, episodes, chunk)):
        traces = sample_traces(task, {"m": machine}, min(chunk, episodes - start), seed + i, driver="m")
        missing = unavailable_measures(traces)
        if missing:
            raise SimlibError(f"own play's regret and suboptimal choices are unavailable on {task.name}: {missing['expected_regret']}")
        means = step_mean_rewards(traces)
        actions = traces["action"].values.astype(int)
        chosen = np.take_along_axis(means, actions[..., None], -1)[..., 0]
        parts["regret"].append(expected_regret(traces))
        parts["suboptimal"].append((chosen < means.max(-1) - 1e-12).astype(np.float64))
        parts["reward"].append(traces["expected_reward"].values)
        parts["observed"].append(traces["reward"].values)
        parts["action"].append(actions.astype(np.float64))
        parts["theta"].append(traces["theta"].values)
        if keep_means:
            parts["means"].append(means)
    joined = {key: np.concatenate(values) for key, values in parts.items() if values}
    means = joined.pop("means", None)
    return Play(**joined, mean_reward=means)
