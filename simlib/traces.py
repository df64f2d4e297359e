"""Traces: machines run on the same sampled inputs, stored as a labelled ``xarray.Dataset``.

Layout (``E`` episodes, ``T`` steps, one state dimension per machine ``m``):

* ``theta (episode, theta_param)`` -- the task parameters of each episode;
* ``input (episode, time, input_dim)`` -- what every machine received at step t;
* ``observation (episode, time)`` -- open-loop tasks: the value step t predicts;
* ``action``, ``reward``, ``expected_reward (episode, time)`` -- closed-loop tasks: what the
  driver did at step t and what it earned (``expected_reward`` is the pseudo-reward);
* ``mean_reward (episode, time, action)`` -- closed-loop tasks: every action's expected reward
  in the environment state of step t, so any policy along the stream can be scored by the same
  pseudo-reward and every step has its regret ``max_a mean_reward - expected_reward``;
* ``{m}_state (episode, time, {m}_state_dim)`` -- the state in which ``m`` received
  ``input[:, t]`` (so ``s_0`` at t = 0), float64;
* ``{m}_output (episode, time, {m}_param)`` -- ``f_m(input[:, t], {m}_state[:, t])``.

Attributes are JSON strings (``task``, ``machines``) or scalars, so a trace file round-trips
through netCDF. Open-loop traces feed the task's observations to every machine; closed-loop
traces let one driver machine act and feed the same action-reward stream to all (paper §4.3).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import torch
import xarray as xr

import simlib
from simlib import formats
from simlib.errors import SimlibError
from simlib.io import atomic_path
from simlib.machine import StateMachine, check_machine, describe, state_names, unroll
from simlib.random import make_generator
from simlib.rollout import rollout
from simlib.task import Task

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def sample_traces(
    task: Task,
    machines: dict[str, StateMachine],
    episodes: int,
    seed: int = 0,
    *,
    driver: str | None = None,
) -> xr.Dataset:
    """Run every machine on ``episodes`` episodes of ``task``.

    Args:
        task: a prediction task (open-loop) or an interactive one (closed-loop).
        machines: name -> machine; names must be identifiers (they prefix variable names).
        episodes: number of episodes, each ``task.horizon`` steps.
        seed: seeds theta, observations, rewards and the driver's actions.
        driver: closed-loop only: the machine whose sampled actions drive the episode
            (default: the first machine); ignored on open-loop tasks, where nothing acts.
    """
    _check(task, machines, episodes)
    generator = make_generator(seed)
    theta = task.sample_theta(episodes, generator)
    if task.closed_loop:
        driver = driver if driver is not None else next(iter(machines))
        if driver not in machines:
            raise SimlibError(f"driver {driver!r} is not one of the traced machines {list(machines)}")
        data, runs = _closed_loop(task, machines, theta, driver, generator)
    else:
        driver = None
        observations = task.sample_observations(theta, task.horizon, generator)
        inputs = task.encode(observations)
        data = {"input": inputs, "observation": observations}
        runs = {name: unroll(machine, inputs) for name, machine in machines.items()}
    for name, (outputs, states) in runs.items():
        require_finite(machines[name], name, outputs, "outputs")
        require_finite(machines[name], name, states, "states")
    attrs = {
        "simlib_traces": 2,
        **formats.flat_stamp("traces"),
        "task": json.dumps(task.config()),
        "machines": json.dumps({name: describe(m) for name, m in machines.items()}),
        "seed": int(seed),
        "episodes": int(episodes),
        "closed_loop": int(task.closed_loop),
        "driver": driver or "",
        "discount": float(getattr(task, "discount", 1.0)),
        "simlib_version": simlib.__version__,
    }
    return _dataset(task, machines, theta, data, runs, attrs)


MEMORY_FACTOR = 3
"""Copies of the traces alive at once while they are built and labelled (tensors, arrays, dataset)."""


def require_memory_for(task: Task, machines: dict[str, StateMachine], episodes: int) -> None:
    """Refuse, before sampling, traces that would not fit in this machine's physical memory:
    ``episodes * horizon`` float64 rows of inputs, rewards and every machine's state and output."""
    width = task.input_dim + 4 + getattr(task, "n_actions", 0)
    width += sum(machine.state_dim + machine.output.n_params for machine in machines.values())
    needed = MEMORY_FACTOR * 8 * episodes * task.horizon * width
    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return
    if needed > available:
        raise SimlibError(
            f"{episodes} episodes of {task.horizon} steps need about {needed / 2**30:.0f} GiB for their traces; "
            f"this machine has {available / 2**30:.0f} GiB: use fewer episodes"
        )


def require_finite(machine: StateMachine, name: str, values: torch.Tensor, what: str, step: int | None = None) -> None:
    """Raise a :class:`SimlibError` naming the machine if ``values`` ([E, T, ...] or, at
    ``step``, [E, ...]) hold NaN or infinities: such a machine's metrics would be NaN, not results."""
    bad = ~torch.isfinite(values)
    if bad.any():
        where = bad.nonzero()[0].tolist()
        episode, at = (where[0], where[1]) if step is None else (where[0], step)
        label = getattr(machine, "spec", None) or name
        raise SimlibError(f"machine {label!r} gave non-finite {what} (NaN or inf) at episode {episode}, step {at}")


def _check(task: Task, machines: dict[str, StateMachine], episodes: int) -> None:
    if episodes < 1:
        raise SimlibError(f"episodes must be at least 1, got {episodes}")
    if not machines:
        raise SimlibError("sample_traces needs at least one machine")
    for name, machine in machines.items():
        if not _NAME.match(name):
            raise SimlibError(f"machine name {name!r} must be an identifier (letters, digits, _)")
        check_machine(machine, getattr(machine, "spec", None) or name)
        if machine.input_dim != task.input_dim:
            raise SimlibError(
                f"machine {name!r} takes {machine.input_dim} inputs but task {task.name!r} gives {task.input_dim}"
            )
    require_memory_for(task, machines, episodes)


@torch.no_grad()
def _closed_loop(
    task: Task,
    machines: dict[str, StateMachine],
    theta: torch.Tensor,
    driver: str,
    generator: torch.Generator,
) -> tuple[dict[str, torch.Tensor], dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """One driver acts; every machine steps on the same inputs. Returns (data, runs)."""
    episodes = theta.shape[0]
    states = {name: m.initial_state(episodes) for name, m in machines.items()}
    record: dict[str, list] = {"input": [], "action": [], "reward": [], "expected_reward": [], "mean_reward": []}
    outputs: dict[str, list] = {name: [] for name in machines}
    visited: dict[str, list] = {name: [] for name in machines}

    def act(t: int, x: torch.Tensor, _state: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float64)
        for name, machine in machines.items():
            visited[name].append(states[name].to(torch.float64))
            y, states[name] = machine.step(x, states[name])
            require_finite(machine, name, y, "outputs", t)
            outputs[name].append(y.to(torch.float64))
        return machines[driver].output.sample(outputs[driver][-1], generator).long()

    for step in rollout(task, theta, generator, act):
        means = step.transition.mean_reward
        record["input"].append(step.input.to(torch.float64))
        record["action"].append(step.action.to(torch.float64))
        record["reward"].append(step.transition.reward.to(torch.float64))
        record["expected_reward"].append(means.gather(1, step.action[:, None]).squeeze(1).to(torch.float64))
        record["mean_reward"].append(means.to(torch.float64))
    data = {key: torch.stack(values, 1) for key, values in record.items()}
    runs = {name: (torch.stack(outputs[name], 1), torch.stack(visited[name], 1)) for name in machines}
    for name, (_, states_seen) in runs.items():
        require_finite(machines[name], name, states_seen, "states")
    return data, runs


def _dataset(
    task: Task,
    machines: dict[str, StateMachine],
    theta: torch.Tensor,
    data: dict[str, torch.Tensor],
    runs: dict[str, tuple[torch.Tensor, torch.Tensor]],
    attrs: dict,
) -> xr.Dataset:
    episodes, horizon = data["input"].shape[:2]
    variables = {
        "theta": (("episode", "theta_param"), theta.cpu().numpy()),
        "input": (("episode", "time", "input_dim"), data["input"].cpu().numpy()),
    }
    for key in ("observation", "action", "reward", "expected_reward"):
        if key in data:
            variables[key] = (("episode", "time"), data[key].cpu().numpy())
    if "mean_reward" in data:
        variables["mean_reward"] = (("episode", "time", "action"), data["mean_reward"].cpu().numpy())
    coords = {
        "episode": np.arange(episodes),
        "time": np.arange(horizon),
        "theta_param": list(task.theta_names),
    }
    for name, (outputs, states) in runs.items():
        machine = machines[name]
        variables[f"{name}_state"] = (("episode", "time", f"{name}_state_dim"), states.cpu().numpy())
        variables[f"{name}_output"] = (("episode", "time", f"{name}_param"), outputs.cpu().numpy())
        coords[f"{name}_state_dim"] = list(state_names(machine))
        coords[f"{name}_param"] = list(machine.output.param_names)
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def machine_names(traces: xr.Dataset) -> list[str]:
    """Names of the machines recorded in a trace."""
    return list(json.loads(traces.attrs["machines"]))


def require_machine(traces: xr.Dataset, name: str) -> None:
    """Raise a clear error if ``name`` is not a machine of ``traces``."""
    if f"{name}_state" not in traces:
        raise SimlibError(f"no machine {name!r} in these traces; they hold {machine_names(traces)}")


def split_episodes(traces: xr.Dataset, test_fraction: float, seed: int) -> tuple[xr.Dataset, xr.Dataset]:
    """Random disjoint (train, test) episode subsets, ``test_fraction`` of them held out."""
    if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
        raise SimlibError(f"test_fraction must be a number strictly between 0 and 1, got {test_fraction!r}")
    episodes = traces.sizes["episode"]
    n_test = int(round(test_fraction * episodes))
    if not 1 <= n_test < episodes - 1:
        raise SimlibError(f"cannot hold out {test_fraction:.0%} of {episodes} episodes and still fit")
    order = np.random.default_rng(seed).permutation(episodes)
    return traces.isel(episode=np.sort(order[n_test:])), traces.isel(episode=np.sort(order[:n_test]))


def shuffled_pairing(traces: xr.Dataset, name: str, seed: int) -> xr.Dataset:
    """A copy in which machine ``name``'s states are randomly re-paired across (episode, time).

    The control for approximate simulation: an embedding fitted on shuffled pairs shows what
    D_s and D_o look like when the states carry no correspondence.
    """
    require_machine(traces, name)
    states = traces[f"{name}_state"].values
    flat = states.reshape(-1, states.shape[-1])
    order = np.random.default_rng(seed).permutation(flat.shape[0])
    shuffled = traces.copy()
    shuffled[f"{name}_state"] = (traces[f"{name}_state"].dims, flat[order].reshape(states.shape))
    return shuffled


PACKED = "simlib_stored_as_float32"
"""Attribute of a float64 variable that :func:`save_traces` stored as float32 because every value
is exactly a float32 (a float32 network's states and outputs); :func:`load_traces` restores float64."""
COMPRESSION = {"zlib": True, "complevel": 4, "shuffle": True}
"""netCDF4/HDF5 compression of every numeric variable (lossless)."""


def netcdf_engine() -> str:
    """The xarray engine :func:`save_traces` writes with: ``netcdf4`` or ``h5netcdf`` (netCDF4 files,
    compressed) where installed, else ``scipy`` (netCDF3, which cannot compress)."""
    from importlib.util import find_spec

    if find_spec("netCDF4") is not None:
        return "netcdf4"
    if find_spec("h5netcdf") is not None and find_spec("h5py") is not None:
        return "h5netcdf"
    return "scipy"


def _exact_float32(values: np.ndarray) -> np.ndarray | None:
    """``values`` as float32 if that loses no bit (each value is exactly a float32), else None."""
    if values.dtype != np.float64:
        return None
    with np.errstate(over="ignore"):  # a value beyond float32's range keeps the variable float64
        narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow.astype(np.float64).view(np.uint64), values.view(np.uint64)) else None


def _packed(traces: xr.Dataset, engine: str) -> tuple[xr.Dataset, dict]:
    """A copy with float64 variables that are exactly float32 stored as float32 (marked
    :data:`PACKED`), and the per-variable encoding: compression wherever the engine has it."""
    packed = traces.copy(deep=False)
    for name, variable in traces.variables.items():
        if name in traces.indexes:
            continue
        narrow = _exact_float32(variable.values)
        if narrow is not None:
            packed = _replace(packed, name, xr.Variable(variable.dims, narrow, {**variable.attrs, PACKED: 1}))
    encoding = {}
    if engine != "scipy":
        encoding = {name: dict(COMPRESSION) for name, variable in packed.variables.items()
                    if name not in packed.indexes and variable.dtype.kind in "fiub" and variable.ndim}
    return packed, encoding


def save_traces(traces: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a trace to netCDF atomically (a temporary file in the same folder, then rename).

    Lossless and compact: float64 variables whose values are all exactly float32 (the states and
    outputs of float32 networks, counts) are stored as float32 and restored by :func:`load_traces`
    bit for bit, and with netCDF4 or h5netcdf installed every numeric variable is zlib-compressed.
    """
    engine = netcdf_engine()
    packed, encoding = _packed(traces, engine)
    with atomic_path(path) as temporary:
        packed.to_netcdf(temporary, engine=engine, encoding=encoding)
    return Path(path)


def load_traces(path: str | os.PathLike) -> xr.Dataset:
    """Read a trace written by :func:`save_traces` (fully loaded; the file is closed), float64
    variables stored as float32 restored to float64 exactly."""
    try:
        with xr.open_dataset(path) as opened:
            traces = opened.load()
    except (OSError, ValueError) as error:
        raise SimlibError(f"cannot read traces from {path}: {error}") from None
    if "simlib_traces" not in traces.attrs:
        raise SimlibError(f"{path} is not a simlib trace file")
    formats.require_readable("traces", int(traces.attrs.get("format_version", traces.attrs["simlib_traces"])), str(path))
    for name, variable in list(traces.variables.items()):
        if PACKED in variable.attrs:
            attrs = {key: value for key, value in variable.attrs.items() if key != PACKED}
            traces = _replace(traces, name, xr.Variable(variable.dims, variable.values.astype(np.float64), attrs))
    return traces


def _replace(dataset: xr.Dataset, name: str, variable: xr.Variable) -> xr.Dataset:
    """``dataset`` with variable ``name`` (a data variable or a coordinate, which it stays) replaced."""
    if name in dataset.coords:
        return dataset.assign_coords({name: variable})
    return dataset.assign({name: variable})
