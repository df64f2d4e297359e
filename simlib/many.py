"""Many machines at once: a pairwise distance matrix, and one comparison repeated over seeds.

* :func:`distance_matrix` -- D_s, D_o and behaviour of every ordered pair of machines, from one
  set of traces (one driver on closed-loop tasks) and one train/test split, each direction
  fitted with :class:`simlib.simulation.Simulation` exactly as :func:`simlib.compare.compare`
  fits its MLP phi. Entry ``[simulated=i, simulator=j]`` is the direction in which phi maps
  machine i's states into machine j's: small values mean *j simulates i* (compare's ``a_to_b``
  with A = i, B = j).
* :func:`compare_seeds` -- :func:`simlib.compare.compare` once per seed, with mean and standard
  deviation across seeds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

import simlib
from simlib.compare import ComparisonReport, compare, resolve_task
from simlib.errors import SimlibError
from simlib.io import atomic_path
from simlib.machine import StateMachine
from simlib.simulation import Simulation
from simlib.task import Task
from simlib.task_family import family_of
from simlib.threads import FIT_THREADS, fit_threads
from simlib.traces import sample_traces, split_episodes

MATRIX_SUFFIXES = (".nc", ".csv")
MATRIX_VARIABLES = ("d_s", "d_o", "behaviour")


def distance_matrix(
    machines: Mapping[str, StateMachine] | Sequence[StateMachine],
    task: Task | None = None,
    episodes: int = 500,
    seed: int = 0,
    *,
    n_components: int | str | None = None,
    test_fraction: float = 0.2,
    hidden: int = 64,
    phi: str = "mlp",
    driver: str | None = None,
    threads: int | None = FIT_THREADS,
) -> xr.Dataset:
    """D_s, D_o and behaviour between every ordered pair of ``machines``.

    Args:
        machines: label -> machine, or a sequence of machines (labelled by their ``spec``;
            load specs with :func:`simlib.machines.load` first: the core reads no specs).
            At least two, with distinct labels.
        task: the task; if omitted, read from the machines' ``task`` attribute (all must agree).
        episodes, seed: traced episodes (``test_fraction`` held out for scoring) and the seed of
            the traces, the split and every phi.
        n_components, hidden, phi: see :class:`simlib.simulation.Simulation`.
        driver: closed-loop tasks: the label of the machine that acts (default: the first).
        threads: torch threads while fitting phi.

    Returns:
        A dataset with dims ``simulated`` and ``simulator`` (both the machine labels) holding
        ``d_s``, ``d_o`` (NaN where unavailable) and ``behaviour``: on prediction tasks
        ``KL(pi_simulator || pi_simulated)`` summed over an episode (compare's behaviour with
        A = simulated, B = simulator); on closed-loop tasks ``|return(simulated) -
        return(simulator)|``, each machine playing its own episodes of the same task parameters.
        The diagonal is 0 by definition (a machine simulates itself with phi the identity).
    """
    labels, members = _machines(machines, task)
    task = _common_task(members, task)
    names = [f"m{i}" for i in range(len(members))]
    if driver is not None and driver not in labels:
        raise SimlibError(f"driver {driver!r} is not one of the machines {labels}")
    driven = names[labels.index(driver)] if driver is not None else names[0]
    family = family_of(task)
    traces = sample_traces(task, dict(zip(names, members)), episodes, seed, driver=driven)
    train, test = split_episodes(traces, test_fraction, seed)
    measure = family.output_measure
    n = len(members)
    d_s, d_o = np.zeros((n, n)), np.zeros((n, n))
    units = ""
    with fit_threads(threads):
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                estimator = Simulation(
                    members[j], names[i], names[j], n_components=n_components, phi=phi, hidden=hidden,
                    output_measure=measure, random_state=seed, threads=threads,
                )
                result = estimator.fit(train).evaluate(test)
                d_s[i, j] = result.d_s
                d_o[i, j] = np.nan if result.d_o is None else result.d_o
                units = result.output_measure
    behaviour, metric, behaviour_units = family.pair_behaviour(task, traces, names, members, episodes, seed)
    dims = ("simulated", "simulator")
    dataset = xr.Dataset(
        {
            "d_s": (dims, d_s, {"long_name": "D_s: phi(simulated states) vs simulator states, whitened MSE"}),
            "d_o": (dims, d_o, {"long_name": f"D_o: {units}"}),
            "behaviour": (dims, behaviour, {"long_name": f"behaviour: {metric}", "units": behaviour_units}),
        },
        coords={"simulated": list(labels), "simulator": list(labels)},
        attrs={
            "simlib_matrix": 1,
            "task": task.name,
            "task_config": json.dumps(task.config()),
            "episodes": int(episodes),
            "test_episodes": int(test.sizes["episode"]),
            "seed": int(seed),
            "closed_loop": int(family.closed_loop),
            "family": family.name,
            "driver": labels[names.index(driven)] if family.closed_loop else "",
            "d_o_measure": units,
            "behaviour_metric": metric,
            "behaviour_units": behaviour_units,
            "n_components": "paper default (smaller state dimension)" if n_components is None else str(n_components),
            "phi": phi,
            "hidden": int(hidden),
            "test_fraction": float(test_fraction),
            "simlib_version": simlib.__version__,
        },
    )
    return dataset


def _machines(
    machines: Mapping[str, StateMachine] | Sequence[StateMachine], task: Task | None
) -> tuple[list[str], list[StateMachine]]:
    if isinstance(machines, Mapping):
        labels, members = [str(label) for label in machines], list(machines.values())
    elif isinstance(machines, (str, bytes)) or not isinstance(machines, Sequence):
        raise SimlibError("machines must be a mapping label -> machine or a sequence of machines and specs")
    else:
        labels, members = [], []
        for item in machines:
            if isinstance(item, str):
                raise SimlibError(f"{item!r} is a spec, not a machine: load it with simlib.machines.load first")
            labels.append(str(getattr(item, "spec", None) or type(item).__name__))
            members.append(item)
    if len(members) < 2:
        raise SimlibError(f"a distance matrix needs at least two machines, got {len(members)}")
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise SimlibError(f"machine labels must be distinct; repeated: {', '.join(repeated)}")
    return labels, members


def _common_task(members: list[StateMachine], task: Task | None) -> Task:
    """The task every machine is built for (as :func:`simlib.compare.resolve_task` checks a pair)."""
    task = task or next((m.task for m in members if getattr(m, "task", None) is not None), None)
    if task is None:
        raise SimlibError("a distance matrix needs a task: pass task=... or machines that carry one")
    for machine in members:
        resolve_task(machine, machine, task)
    return task


def save_matrix(dataset: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write :func:`distance_matrix`'s dataset atomically: ``.nc`` (netCDF, attrs included) or
    ``.csv`` (one row per ordered pair: simulated, simulator, d_s, d_o, behaviour)."""
    path = Path(path)
    require_matrix_suffix(path)
    with atomic_path(path) as temporary:
        if path.suffix.lower() == ".nc":
            dataset.to_netcdf(temporary)
        else:
            dataset[list(MATRIX_VARIABLES)].to_dataframe().to_csv(temporary)
    return path


def require_matrix_suffix(path: str | os.PathLike) -> None:
    """A :class:`SimlibError` unless ``path`` ends in ``.nc`` or ``.csv``."""
    if Path(path).suffix.lower() not in MATRIX_SUFFIXES:
        raise SimlibError(f"a distance matrix is written as {' or '.join(MATRIX_SUFFIXES)}, not {Path(path).name!r}")


def matrix_to_dict(dataset: xr.Dataset) -> dict:
    """The dataset as plain JSON-ready data: rows are ``simulated``, columns ``simulator``;
    NaN becomes None."""
    attrs = dataset.attrs

    def grid(name: str) -> list[list[float | None]]:
        return [[_finite(value) for value in row] for row in dataset[name].values.tolist()]

    return {
        "task": attrs["task"],
        "task_config": json.loads(attrs["task_config"]),
        "machines": [str(label) for label in dataset["simulated"].values],
        "episodes": int(attrs["episodes"]),
        "test_episodes": int(attrs["test_episodes"]),
        "seed": int(attrs["seed"]),
        "rows": "simulated",
        "columns": "simulator",
        "d_s": grid("d_s"),
        "d_o": {"measure": attrs["d_o_measure"], "value": grid("d_o")},
        "behaviour": {"metric": attrs["behaviour_metric"], "units": attrs["behaviour_units"], "value": grid("behaviour")},
        "settings": {
            key: attrs[key] for key in ("driver", "n_components", "phi", "hidden", "test_fraction") if key in attrs
        },
        "versions": {"simlib": attrs["simlib_version"]},
    }


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


SEED_COLUMNS = ("behaviour", "a_to_b_d_s", "a_to_b_d_o", "b_to_a_d_s", "b_to_a_d_o")


@dataclass(frozen=True)
class SeedComparison:
    """:func:`simlib.compare.compare` once per seed.

    ``values[name]`` holds one figure per seed (NaN where unavailable), for ``name`` in
    :data:`SEED_COLUMNS`: behaviour's value, and D_s and D_o of both directions (``a_to_b``:
    B simulates A).
    """

    seeds: tuple[int, ...]
    reports: tuple[ComparisonReport, ...] = field(repr=False)
    values: dict[str, np.ndarray] = field(repr=False)

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Per figure: ``mean`` and ``sd`` (sample standard deviation, ``n - 1``) over the seeds where
        it is available, and that count ``n``; None where undefined (no value; sd of one value)."""
        out = {}
        for name, column in self.values.items():
            finite = column[np.isfinite(column)]
            out[name] = {
                "mean": float(finite.mean()) if finite.size else None,
                "sd": float(finite.std(ddof=1)) if finite.size > 1 else None,
                "n": int(finite.size),
            }
        return out

    def to_dataset(self) -> xr.Dataset:
        """The per-seed figures over dim ``seed``, with the means and sds as attrs."""
        stats = self.summary()
        attrs = {f"{name}_{key}": value for name, s in stats.items() for key, value in s.items() if value is not None}
        return xr.Dataset(
            {name: ("seed", column) for name, column in self.values.items()}, coords={"seed": list(self.seeds)},
            attrs=attrs,
        )

    def to_dict(self) -> dict:
        """``runs``: every seed's ``ComparisonReport.to_dict()``; ``values``: one row of figures per
        seed; ``summary``: mean, sd and n per figure."""
        runs = [report.to_dict() for report in self.reports]
        first = runs[0]
        return {
            "task": first["task"],
            "task_config": first["task_config"],
            "a": first["a"],
            "b": first["b"],
            "episodes": first["episodes"],
            "seeds": list(self.seeds),
            "behaviour_metric": first["behaviour"]["metric"],
            "columns": list(SEED_COLUMNS),
            "values": [
                {"seed": seed, **{name: _finite(self.values[name][k]) for name in SEED_COLUMNS}}
                for k, seed in enumerate(self.seeds)
            ],
            "summary": self.summary(),
            "runs": runs,
        }


def compare_seeds(
    a: StateMachine, b: StateMachine, task: Task | None = None, seeds: Sequence[int] = (0, 1, 2), **compare_kwargs
) -> SeedComparison:
    """Run :func:`simlib.compare.compare` (``compare_kwargs``: ``episodes``, ``n_components``, ...)
    once per seed: the spread across seeds shows how much of a difference is the seed's."""
    if "seed" in compare_kwargs:
        raise SimlibError("compare_seeds takes seeds=..., not seed=...")
    chosen = tuple(seeds)
    if not chosen:
        raise SimlibError("compare_seeds needs at least one seed")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in chosen):
        raise SimlibError(f"seeds must be whole numbers, got {list(chosen)}")
    chosen = tuple(int(s) for s in chosen)
    if len(set(chosen)) != len(chosen):
        raise SimlibError(f"seeds must be distinct, got {list(chosen)}")
    reports = tuple(compare(a, b, task, seed=seed, **compare_kwargs) for seed in chosen)
    rows = [report.to_dict() for report in reports]

    def figure(row: dict, name: str) -> float:
        if name == "behaviour":
            value = row["behaviour"]["value"]
        else:
            direction, measure = name[:6], name[7:]
            value = row[direction][measure]
        return np.nan if value is None else float(value)

    values = {name: np.array([figure(row, name) for row in rows]) for name in SEED_COLUMNS}
    return SeedComparison(seeds=chosen, reports=reports, values=values)
