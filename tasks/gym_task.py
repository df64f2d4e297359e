"""Any Gymnasium environment with discrete actions as a simlib interactive task.

:class:`GymTask` plays a batch of ``E`` copies of a user's environment (one per episode), so
``simlib.traces.sample_traces``, ``simlib.compare.compare`` and the behaviour measures run
unchanged: one driver machine acts and every compared machine receives the same
observation-action-reward stream::

    task = GymTask(lambda: MyEnv(), horizon=20)
    traces = sample_traces(task, {"a": agent_a, "b": agent_b}, episodes=200, seed=0)

**Inputs.** The input at step t is, with ``encoding=``

* ``"history+observation"`` (default): ``[one-hot(a_{t-1}), r_{t-1}, t / horizon, flat(o_t)]``
  -- simlib's bandit layout with the observation appended (``gymnasium.spaces.flatten`` of the
  observation space: a ``Discrete`` becomes a one-hot, a ``Box`` its values);
* ``"history"``: ``[one-hot(a_{t-1}), r_{t-1}, t / horizon]`` -- exactly the bandits' layout,
  for environments whose observation says nothing (so simlib's bandit agents take the inputs);
* ``"observation"``: ``flat(o_t)`` alone -- for environments whose observation already carries
  what the agents read (simlib's own tasks through :mod:`simlib.tasks.gym_env`).

The action, reward and time parts are zero at t = 0.

**theta.** The environment's parameters are unknown to simlib; the one recorded per episode is
the seed its copy was reset with (``theta_names == ("seed",)``, whole numbers below 2**53
drawn from the sampler's generator), so an episode can be replayed with ``env.reset(seed=...)``.

**Expected rewards.** Regret, the pseudo-reward and the return-based D_o need every action's
expected reward in the state acted in. An environment that knows them returns them from
``step`` as ``info["mean_reward"]`` (``[n_actions]``, about the state the step acted in; the key
is ``mean_reward_key``), as simlib's own environments do. Where a step's info lacks them the
trace records NaN, and the measures that need them say they are unavailable
(``simlib.behaviour.unavailable_measures``) instead of reporting numbers; the behavioural
return difference then uses the sampled rewards.

**Episodes that end early.** A copy that terminates or truncates before ``horizon`` is not
stepped again: it stays at its last observation and every later step pays 0 (expected reward
0 for every action); the machines still act, and their inputs carry the chosen action,
reward 0, the time and the last observation. Episodes thus all last ``horizon`` steps, and
returns count only what the environment paid. A copy still running at ``horizon`` is cut off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from simlib.errors import SimlibError
from simlib.families import Policy
from simlib.task_family import INTERACTIVE
from simlib.task import Transition

try:
    import gymnasium
    from gymnasium import spaces
except ImportError:  # pragma: no cover - exercised only without the extra
    raise SimlibError("simlib's Gymnasium adapter needs gymnasium>=1.1: pip install simlib-agents[gym]") from None

ENCODINGS = ("history+observation", "history", "observation")
SEED_LIMIT = 2**53
"""Seeds recorded as theta stay below this, so float64 holds them exactly."""


class GymTask:
    """An interactive task played in copies of a Gymnasium environment (see the module docstring).

    Args:
        env: a registered Gymnasium id (``gymnasium.make(env, **env_kwargs)`` builds each copy)
            or a function of no arguments returning a new environment.
        horizon: steps per episode; default the id's ``max_episode_steps`` (a simlib environment's:
            its task's horizon).
        encoding: ``"history+observation"``, ``"history"`` or ``"observation"`` (module docstring).
        discount: the return's discount (recorded in traces, used by the return measures).
        name: the task's name in reports; default ``gym:ID`` or ``gym:FACTORY``.
        mean_reward_key: the ``step`` info key holding every action's expected reward.
        env_kwargs: keyword arguments for ``gymnasium.make`` (an id only).
    """

    closed_loop = True
    family = INTERACTIVE
    theta_names = ("seed",)

    def __init__(
        self,
        env: str | Callable[[], Any],
        horizon: int | None = None,
        *,
        encoding: str = "history+observation",
        discount: float = 1.0,
        name: str | None = None,
        mean_reward_key: str = "mean_reward",
        env_kwargs: dict | None = None,
    ) -> None:
        self._factory, label = _factory(env, env_kwargs)
        if encoding not in ENCODINGS:
            raise SimlibError(f"unknown encoding {encoding!r}; use one of {ENCODINGS}")
        self.env_label = label
        probe = self._build()
        if label is None:
            label = self.env_label = type(getattr(probe, "unwrapped", probe)).__qualname__
        space = probe.action_space
        if not isinstance(space, spaces.Discrete):
            probe.close()
            raise SimlibError(f"GymTask needs an environment with discrete actions (gymnasium.spaces.Discrete); {label} has {space}")
        if horizon is None:
            spec = getattr(probe, "spec", None)
            inner = getattr(getattr(probe, "unwrapped", None), "task", None)
            horizon = getattr(spec, "max_episode_steps", None) or getattr(inner, "horizon", None)
            if horizon is None:
                probe.close()
                raise SimlibError(f"give GymTask a horizon: {label} declares no max_episode_steps")
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise SimlibError(f"horizon must be a whole number of at least 1, got {horizon!r}")
        if not (isinstance(discount, (int, float)) and 0.0 < discount <= 1.0):
            raise SimlibError(f"discount must be in (0, 1], got {discount!r}")
        self.observation_space = probe.observation_space
        try:
            observation_dim = int(spaces.flatdim(self.observation_space)) if encoding != "history" else 0
        except (ValueError, NotImplementedError, TypeError):
            raise SimlibError(
                f"{label}'s observation space {self.observation_space} cannot be flattened into a vector; "
                "use encoding='history' or give the environment a flat space"
            ) from None
        self.env_label = label
        self.name = name or f"gym:{label}"
        self.horizon = int(horizon)
        self.discount = float(discount)
        self.encoding = encoding
        self.mean_reward_key = mean_reward_key
        self.n_actions = int(space.n)
        self.action_start = int(space.start)
        self.observation_dim = observation_dim
        history = 0 if encoding == "observation" else self.n_actions + 2
        self.input_dim = history + observation_dim
        self.output = Policy(self.n_actions)
        self._envs = [probe]
        self._batch = 0
        self._finished = np.zeros(0, dtype=bool)
        self._last = np.zeros((0, observation_dim))
        if encoding == "observation" and self.input_dim == 0:
            raise SimlibError(f"{label}'s observations are empty; use encoding='history'")

    @property
    def arms(self) -> int:
        """The number of actions (bandit agents such as Rescorla-Wagner read ``task.arms``)."""
        return self.n_actions

    def config(self) -> dict:
        """Plain data describing the task (the environment only by its id or factory name)."""
        return {
            "name": self.name,
            "env": self.env_label,
            "horizon": self.horizon,
            "encoding": self.encoding,
            "discount": self.discount,
            "mean_reward_key": self.mean_reward_key,
        }

    def accepts_machines_for(self, task: Any) -> bool:
        """Whether machines built for ``task`` can play here: an interactive task with the same
        input width and number of actions (the user vouches that the inputs mean the same)."""
        return bool(getattr(task, "closed_loop", False)) and task.input_dim == self.input_dim and getattr(
            task, "n_actions", None
        ) == self.n_actions

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        """A seed per episode for its copy of the environment: ``[episodes, 1]`` float64 whole numbers."""
        seeds = torch.randint(0, SEED_LIMIT, (episodes, 1), generator=generator, device=generator.device)
        return seeds.to(torch.float64)

    def reset(self, theta: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Reset copy ``i`` with seed ``theta[i, 0]``; the state ``[E, 2]`` is (copy, batch number)."""
        episodes = theta.shape[0]
        while len(self._envs) < episodes:
            self._envs.append(self._build())
        self._batch += 1
        self._finished = np.zeros(episodes, dtype=bool)
        observations = []
        for env, seed in zip(self._envs, theta[:, 0].tolist()):
            observation, _ = env.reset(seed=int(seed))
            observations.append(self._flat(observation))
        self._last = np.stack(observations) if self.observation_dim else np.zeros((episodes, 0))
        state = torch.stack(
            [torch.arange(episodes, dtype=torch.float64), torch.full((episodes,), float(self._batch), dtype=torch.float64)], 1
        )
        zeros = torch.zeros(episodes, dtype=torch.float64)
        return state, self._encode(torch.zeros(episodes, dtype=torch.long), zeros, 0, first=True)

    def step(self, state: Tensor, action: Tensor, t: int, generator: torch.Generator) -> Transition:
        """Step every copy still running with its action; finished copies pay 0 and stay put."""
        if state.shape[0] != self._finished.shape[0] or not bool((state[:, 1] == self._batch).all()):
            raise SimlibError(
                f"{self.name}: these episodes were superseded by a later reset; a GymTask runs one batch at a time"
            )
        episodes = state.shape[0]
        reward = np.zeros(episodes)
        means = np.zeros((episodes, self.n_actions))
        for i, a in enumerate(action.long().tolist()):
            if self._finished[i]:
                continue
            env = self._envs[i]
            observation, r, terminated, truncated, info = env.step(self.action_start + a)
            r = float(r)
            if not math.isfinite(r):
                raise SimlibError(f"{self.env_label} paid a non-finite reward {r} (episode {i}, step {t})")
            reward[i] = r
            means[i] = self._means(info)
            if self.observation_dim:
                self._last[i] = self._flat(observation)
            self._finished[i] = bool(terminated or truncated)
        reward_t = torch.from_numpy(reward)
        following = self._encode(action.long().cpu(), reward_t, t + 1)
        return Transition(state, reward_t, torch.from_numpy(means), following)

    def decode_input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(one-hot previous action [B, n_actions], previous reward [B])`` from inputs ``[B, input_dim]``
        (encodings with the history; ``"observation"``: read by the wrapped simlib task, where there is one)."""
        x = x.to(torch.float64)
        if self.encoding != "observation":
            return x[:, : self.n_actions], x[:, self.n_actions]
        inner = getattr(getattr(self._envs[0], "unwrapped", None), "task", None)
        if inner is None or not hasattr(inner, "decode_input"):
            raise SimlibError(
                f"{self.name}: with encoding='observation' the inputs hold no previous action and reward to decode; "
                "use an encoding with the history"
            )
        return inner.decode_input(x)

    def close(self) -> None:
        """Close every copy of the environment."""
        for env in self._envs:
            env.close()
        self._envs = []

    def __enter__(self) -> GymTask:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GymTask({self.env_label!r}, horizon={self.horizon}, encoding={self.encoding!r})"

    def _build(self) -> Any:
        env = self._factory()
        if not isinstance(env, gymnasium.Env):
            raise SimlibError(f"{self.env_label or 'the factory'} built {type(env).__name__}, not a gymnasium.Env")
        return env

    def _flat(self, observation: Any) -> np.ndarray:
        if not self.observation_dim:
            return np.zeros(0)
        return np.asarray(spaces.flatten(self.observation_space, observation), dtype=np.float64).reshape(-1)

    def _means(self, info: dict) -> np.ndarray:
        """The step's ``info[mean_reward_key]`` as ``[n_actions]`` float64, or NaN where absent."""
        given = info.get(self.mean_reward_key) if isinstance(info, dict) else None
        if given is None:
            return np.full(self.n_actions, np.nan)
        means = np.asarray(given, dtype=np.float64).reshape(-1)
        if means.shape != (self.n_actions,):
            raise SimlibError(
                f"{self.env_label}'s info[{self.mean_reward_key!r}] must hold {self.n_actions} expected rewards, got {means.shape[0]}"
            )
        return means

    def _encode(self, action: Tensor, reward: Tensor, t: int, first: bool = False) -> Tensor:
        observation = torch.from_numpy(self._last.copy())
        if self.encoding == "observation":
            return observation
        episodes = reward.shape[0]
        onehot = torch.zeros(episodes, self.n_actions, dtype=torch.float64)
        if not first:
            onehot = torch.nn.functional.one_hot(action, self.n_actions).to(torch.float64)
        time = torch.full((episodes, 1), t / self.horizon, dtype=torch.float64)
        return torch.cat([onehot, reward.to(torch.float64)[:, None], time, observation], dim=1)


def _factory(env: str | Callable[[], Any], env_kwargs: dict | None) -> tuple[Callable[[], Any], str | None]:
    """``(a function building one copy, a label for messages and config)``; no label for a lambda
    or a partial (the environment's class names it once built)."""
    kwargs = dict(env_kwargs or {})
    if isinstance(env, str):
        if env not in gymnasium.registry and ":" not in env:
            raise SimlibError(f"no Gymnasium environment {env!r} is registered (gymnasium.register it first)")
        return (lambda: gymnasium.make(env, **kwargs)), env
    if isinstance(env, gymnasium.Env):
        raise SimlibError(
            "GymTask needs a function that builds the environment (e.g. lambda: MyEnv()) or its registered id, "
            "not an environment: it makes one copy per episode"
        )
    if not callable(env):
        raise SimlibError(f"GymTask's env must be a registered id or a function returning an environment, got {type(env).__name__}")
    if kwargs:
        raise SimlibError("env_kwargs apply to a registered id; bind them in your function instead")
    label = getattr(env, "__qualname__", None)
    return env, None if label is None or "<lambda>" in label else label
