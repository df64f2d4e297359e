"""simlib's interactive tasks as Gymnasium environments, so any RL library can train on them.

Importing this module registers ``simlib/TASK`` for every interactive task of the registry
(:func:`register_envs` registers tasks added later)::

    import gymnasium
    import simlib.tasks.gym_env  # noqa: F401  (registers the ids)

    env = gymnasium.make("simlib/bernoulli-bandit")                 # one episode at a time
    envs = gymnasium.make_vec("simlib/bernoulli-bandit", num_envs=512,
                              vectorization_mode="vector_entry_point")  # one batched task

``gymnasium.make("simlib.tasks.gym_env:simlib/bernoulli-bandit")`` imports the module itself.
Keyword arguments override the task's parameters (``gymnasium.make("simlib/bernoulli-bandit",
horizon=50)``).

* observation: the task's input vector ``[E, input_dim]`` row -- previous action (one-hot),
  previous reward's code and ``t / horizon`` (zeros at t = 0) -- a ``Box`` bounded by
  ``task.input_bounds()`` where the task has them, float64 by default (``dtype=np.float32``
  for libraries that want it; float64 keeps the inputs bit-identical to simlib's own);
* action: ``Discrete(n_actions)``; reward: the sampled reward;
* ``info``: ``theta`` (the episode's task parameters) and, after a step, ``mean_reward``
  (every action's expected reward in the state acted in, what regret and the pseudo-reward
  are computed from; :class:`simlib.tasks.gym_task.GymTask` reads it back);
* the episode *terminates* (``terminated=True``, never ``truncated``) after ``horizon``
  steps: the horizon is part of the task -- the agent sees ``t / horizon`` and its objective is
  the finite-horizon return -- not a time limit imposed from outside;
* seeding: ``reset(seed=s)`` draws theta, the environment state and every reward from
  ``simlib.random.make_generator(s)``; later unseeded resets continue that stream;
  ``reset(options={"theta": ...})`` plays given task parameters instead of drawing them.

:class:`TaskVectorEnv` steps ``num_envs`` episodes as one batch through the task's own batched
``reset``/``step`` (no Python loop over episodes). ``reset(seed=s)`` draws the same theta as
``simlib.sample_traces(task, machines, num_envs, seed=s)``. All its episodes share the horizon,
so they end on the same step and are reset together, following the ``autoreset_mode`` (default
``AutoresetMode.NEXT_STEP``: the step after the last one resets every episode, ignores the
actions and returns reward 0; ``SAME_STEP``: the last step already returns the next episodes'
first observations, the final ones in ``info["final_obs"]``/``info["final_info"]``;
``DISABLED``: call ``reset`` yourself).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from simlib.errors import SimlibError
from simlib.random import MAX_SEED, make_generator, require_seed
from simlib.task import InteractiveTask
from simlib.tasks import registry

try:
    import gymnasium
    from gymnasium import spaces
    from gymnasium.vector import AutoresetMode, VectorEnv
    from gymnasium.vector.utils import batch_space
except ImportError:  # pragma: no cover - exercised only without the extra
    raise SimlibError(
        "simlib's Gymnasium environments need gymnasium>=1.1: pip install simlib-agents[gym]"
    ) from None

NAMESPACE = "simlib"
ENTRY_POINT = "simlib.tasks.gym_env:TaskEnv"
VECTOR_ENTRY_POINT = "simlib.tasks.gym_env:TaskVectorEnv"


def env_id(task_name: str) -> str:
    """The Gymnasium id of a simlib task: ``simlib/TASK``."""
    return f"{NAMESPACE}/{task_name}"


def register_envs() -> list[str]:
    """Register ``simlib/TASK`` (single and vector entry points) for every interactive task of
    ``simlib.tasks`` not registered yet, user tasks included; returns every simlib id."""
    ids = []
    for name in registry.names():
        if not registry.get(name).closed_loop:
            continue
        ids.append(env_id(name))
        if env_id(name) not in gymnasium.registry:
            gymnasium.register(
                id=env_id(name),
                entry_point=ENTRY_POINT,
                vector_entry_point=VECTOR_ENTRY_POINT,
                kwargs={"task": name},
            )
    return ids


def interactive_task(task: str | InteractiveTask, params: dict) -> InteractiveTask:
    """A task object from a name (with parameter overrides) or the object itself (no overrides)."""
    if isinstance(task, str):
        task = registry.get(task, **params)
    elif params:
        raise SimlibError(f"parameters {sorted(params)} only apply to a task given by name, not to {task.name!r}")
    if not getattr(task, "closed_loop", False):
        raise SimlibError(f"task {task.name!r} is open-loop (prediction); only interactive tasks are environments")
    return task


def observation_space(task: InteractiveTask, dtype: Any) -> spaces.Box:
    """The ``Box`` of one input vector: the task's ``input_bounds()`` where it has them, else unbounded."""
    if hasattr(task, "input_bounds"):
        low, high = (bound.numpy() for bound in task.input_bounds())
    else:
        low, high = np.full(task.input_dim, -np.inf), np.full(task.input_dim, np.inf)
    return spaces.Box(low.astype(dtype), high.astype(dtype), shape=(task.input_dim,), dtype=dtype)


def _generator_for(seed: int | None, np_random: np.random.Generator, current: torch.Generator | None) -> torch.Generator:
    """``make_generator(seed)`` for a seed; else the running generator, or one seeded from ``np_random``."""
    if seed is not None:
        return make_generator(require_seed(seed))
    if current is not None:
        return current
    return make_generator(int(np_random.integers(0, MAX_SEED)))


def _given_theta(task: InteractiveTask, options: dict | None, episodes: int) -> torch.Tensor | None:
    """``options["theta"]`` as ``[episodes, len(theta_names)]`` float64, or None."""
    if not options or options.get("theta") is None:
        return None
    width = len(task.theta_names)
    try:
        theta = torch.as_tensor(np.asarray(options["theta"], dtype=np.float64)).reshape(episodes, width)
    except (TypeError, ValueError, RuntimeError):
        raise SimlibError(
            f"options['theta'] must hold {episodes} x {width} numbers ({', '.join(task.theta_names)})"
        ) from None
    return theta.clone()


class TaskEnv(gymnasium.Env):
    """One episode at a time of a simlib interactive task (see the module docstring).

    Args:
        task: a registered task name (``params`` override its parameters) or a task object.
        dtype: the observations' dtype (float64 by default; float32 for libraries that want it).
        render_mode: only ``None`` (nothing to render).
    """

    metadata = {"render_modes": []}

    def __init__(
        self, task: str | InteractiveTask = "bernoulli-bandit", *, dtype: Any = np.float64,
        render_mode: str | None = None, **params: Any,
    ) -> None:
        if render_mode is not None:
            raise SimlibError(f"simlib environments render nothing; got render_mode={render_mode!r}")
        self.task = interactive_task(task, params)
        self.dtype = np.dtype(dtype)
        self.observation_space = observation_space(self.task, self.dtype)
        self.action_space = spaces.Discrete(self.task.n_actions)
        self.render_mode = None
        self._generator: torch.Generator | None = None
        self._state: torch.Tensor | None = None
        self._theta: torch.Tensor | None = None
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._generator = _generator_for(seed, self.np_random, self._generator)
        theta = _given_theta(self.task, options, 1)
        self._theta = self.task.sample_theta(1, self._generator) if theta is None else theta
        self._state, first = self.task.reset(self._theta, self._generator)
        self._t = 0
        return self._observation(first), {"theta": self._theta[0].numpy().copy()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._state is None:
            raise gymnasium.error.ResetNeeded("call reset before step")
        if self._t >= self.task.horizon:
            raise gymnasium.error.ResetNeeded(f"the episode ended after {self.task.horizon} steps; call reset")
        if not self.action_space.contains(action):
            raise gymnasium.error.InvalidAction(f"{action!r} is not an action of {self.action_space}")
        chosen = torch.tensor([int(action)], dtype=torch.long)
        self._state, reward, means, following = self.task.step(self._state, chosen, self._t, self._generator)
        self._t += 1
        info = {"mean_reward": means[0].to(torch.float64).numpy().copy(), "theta": self._theta[0].numpy().copy()}
        return self._observation(following), float(reward[0]), self._t >= self.task.horizon, False, info

    def _observation(self, x: torch.Tensor) -> np.ndarray:
        return np.array(x[0].to(torch.float64).numpy(), dtype=self.dtype)


class TaskVectorEnv(VectorEnv):
    """``num_envs`` episodes of a simlib interactive task stepped as one batch (see the module docstring).

    Args:
        task, dtype, render_mode, params: as :class:`TaskEnv`.
        num_envs: episodes stepped together.
        autoreset_mode: a ``gymnasium.vector.AutoresetMode`` (or its value): what happens after
            the last step of the (common) horizon.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self, task: str | InteractiveTask = "bernoulli-bandit", num_envs: int = 1, *, dtype: Any = np.float64,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP, render_mode: str | None = None, **params: Any,
    ) -> None:
        if render_mode is not None:
            raise SimlibError(f"simlib environments render nothing; got render_mode={render_mode!r}")
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise SimlibError(f"num_envs must be a whole number of at least 1, got {num_envs!r}")
        try:
            mode = autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else AutoresetMode(autoreset_mode)
        except ValueError:
            raise SimlibError(f"unknown autoreset_mode {autoreset_mode!r}; use one of {[m.value for m in AutoresetMode]}") from None
        self.task = interactive_task(task, params)
        self.num_envs = int(num_envs)
        self.dtype = np.dtype(dtype)
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.autoreset_mode = mode
        self.render_mode = None
        self.single_observation_space = observation_space(self.task, self.dtype)
        self.single_action_space = spaces.Discrete(self.task.n_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._generator: torch.Generator | None = None
        self._state: torch.Tensor | None = None
        self._theta: torch.Tensor | None = None
        self._t = 0

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start ``num_envs`` new episodes. ``seed``: an int seeds the whole batch (a list of
        per-episode seeds is combined into one, since the batch shares one random stream)."""
        if isinstance(seed, (list, tuple)):
            given = [s for s in seed if s is not None]
            seed = None if not given else int(np.random.SeedSequence(given).generate_state(1, np.uint64)[0] % MAX_SEED)
        if seed is not None:
            self._np_random, self._np_random_seed = gymnasium.utils.seeding.np_random(seed)
        self._generator = _generator_for(seed, self.np_random, self._generator)
        return self._start(_given_theta(self.task, options, self.num_envs))

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._state is None:
            raise gymnasium.error.ResetNeeded("call reset before step")
        ended = self._t >= self.task.horizon
        if ended and self.autoreset_mode == AutoresetMode.NEXT_STEP:
            observations, info = self._start(None)
            flags = np.zeros(self.num_envs, dtype=bool)
            return observations, np.zeros(self.num_envs), flags, flags.copy(), info
        if ended:
            raise gymnasium.error.ResetNeeded(f"the episodes ended after {self.task.horizon} steps; call reset")
        chosen = np.asarray(actions)
        if chosen.shape != (self.num_envs,) or not self.action_space.contains(chosen.astype(np.int64)):
            raise gymnasium.error.InvalidAction(f"actions must be {self.num_envs} integers in [0, {self.task.n_actions})")
        chosen = torch.as_tensor(chosen.astype(np.int64))
        self._state, reward, means, following = self.task.step(self._state, chosen, self._t, self._generator)
        self._t += 1
        observations = self._observations(following)
        info = self._info(mean_reward=means.to(torch.float64).numpy().copy())
        terminated = np.full(self.num_envs, self._t >= self.task.horizon)
        if terminated.all() and self.autoreset_mode == AutoresetMode.SAME_STEP:
            final_obs = np.empty(self.num_envs, dtype=object)
            final_obs[:] = list(observations)
            every = np.ones(self.num_envs, dtype=bool)
            observations, first_info = self._start(None)
            info = {**first_info, "final_obs": final_obs, "_final_obs": every, "final_info": info, "_final_info": every.copy()}
        return observations, reward.to(torch.float64).numpy().copy(), terminated, np.zeros(self.num_envs, dtype=bool), info

    def _start(self, theta: torch.Tensor | None) -> tuple[np.ndarray, dict]:
        self._theta = self.task.sample_theta(self.num_envs, self._generator) if theta is None else theta
        self._state, first = self.task.reset(self._theta, self._generator)
        self._t = 0
        return self._observations(first), self._info()

    def _observations(self, x: torch.Tensor) -> np.ndarray:
        return np.array(x.to(torch.float64).numpy(), dtype=self.dtype)

    def _info(self, **arrays: np.ndarray) -> dict:
        """Batched info with Gymnasium's ``_key`` masks (every episode has every key)."""
        info = {"theta": self._theta.numpy().copy(), **arrays}
        return {**info, **{f"_{key}": np.ones(self.num_envs, dtype=bool) for key in info}}


register_envs()
