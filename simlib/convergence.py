"""Convergence analysis (paper §3.3, §4.2, Figure 2): how behaviour moves during training.

* :func:`within_episode` -- for one training run, the dissimilarity to the Bayes-optimal
  reference at every step of an episode, for every snapshot: KL(reference || snapshot) per
  step on shared inputs (prediction, nats) or the per-step Bayes regret of the snapshot's own
  play (bandits, reward);
* :func:`behavioural_distances` -- pairwise distances between machines: Jensen-Shannon
  divergence summed over an episode (prediction, nats) or the mean absolute difference of
  cumulative Bayes-regret curves (bandits, reward);
* :func:`embed` -- a 2-D multidimensional scaling of such a matrix;
* :func:`analyse` -- all of it over several runs, as one netCDF-ready ``xarray.Dataset``.

Every function is batched over episodes, seeded and deterministic; machines evaluated with the
same seed see the same inputs (prediction) or the same task parameters (bandits).
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr
from sklearn.manifold import MDS

import simlib
from simlib import formats
from simlib.errors import SimlibError
from simlib.io import atomic_path
from simlib.machine import StateMachine
from simlib.task import Task
from simlib.task_family import family_of
from simlib.threads import fit_threads

REFERENCE = "opt"
"""Name of the reference point in :func:`analyse`'s distance matrix and embedding."""

def within_episode(
    task: Task,
    snapshots: Mapping[int, StateMachine],
    reference: StateMachine,
    episodes: int = 500,
    seed: int = 0,
) -> xr.DataArray:
    """Per-step dissimilarity of each snapshot to ``reference``, mean over episodes: ``(step, time)``.

    Prediction tasks: ``KL(reference || snapshot)`` at each step (nats), every machine fed the
    same sampled inputs. Bandit tasks: each snapshot plays its own episodes on the same task
    parameters (same seed); the value is its per-step Bayes regret scored by
    ``reference.action_values`` (reward).
    """
    if not snapshots:
        raise SimlibError("within_episode needs at least one snapshot")
    steps = sorted(snapshots)
    rows = family_of(task).within_episode(task, [snapshots[step] for step in steps], reference, episodes, seed)
    measure, units = family_of(task).within_measure
    return xr.DataArray(
        rows,
        dims=("step", "time"),
        coords={"step": np.asarray(steps, dtype=np.int64), "time": np.arange(task.horizon)},
        attrs={"measure": measure, "units": units, "episodes": int(episodes), "seed": int(seed)},
    )


def behavioural_distances(
    task: Task,
    machines: Mapping[str, StateMachine],
    critic: StateMachine | None = None,
    episodes: int = 200,
    seed: int = 0,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> xr.DataArray:
    """Symmetric matrix of behavioural distances, zero diagonal: ``(point, other)``.

    Prediction tasks: Jensen-Shannon divergence between two machines' predictions on the same
    inputs, summed over the steps of an episode, mean over episodes (nats, at most
    ``horizon * log 2``); computed on ``device`` in chunks of pairs. Cost per (pair, episode,
    step) on one busy CPU core: 0.15 µs for Bernoulli and Categorical (closed form), about
    12 µs for Lomax and 55 µs for Normal and Student-t (quadrature) -- so 111 machines at 200
    episodes of 20 steps take seconds, 5 minutes and 23 minutes; use fewer episodes or a GPU.
    Bandit tasks: each machine plays its own episodes (same seed, so the same task parameters);
    ``CR_i(t)`` is its mean cumulative Bayes regret scored by ``critic.action_values`` (required
    here, unused for prediction), and ``d(i, j) = mean_t |CR_i(t) - CR_j(t)|`` (reward); a
    Bayes-optimal machine has ``CR = 0``, so its distance to ``i`` is ``mean_t CR_i(t)``.
    ``log`` (if given) receives progress lines.
    """
    names = list(machines)
    if not names:
        raise SimlibError("behavioural_distances needs at least one machine")
    values = family_of(task).distances(task, [machines[n] for n in names], critic, episodes, seed, device, log or _quiet)
    measure, units = family_of(task).distance_measure
    return xr.DataArray(
        values,
        dims=("point", "other"),
        coords={"point": names, "other": names},
        attrs={"measure": measure, "units": units, "episodes": int(episodes), "seed": int(seed)},
    )


def embed(distances: xr.DataArray, reference: str | None = None, seed: int = 0) -> xr.DataArray:
    """Metric MDS of a ``(point, other)`` distance matrix into two dimensions: ``(point, axis)``.

    Deterministic given ``seed``; translated so that the point named ``reference`` (if given)
    sits at the origin. Axes are in the distances' units.
    """
    values = np.asarray(distances.values, dtype=np.float64)
    points = list(distances["point"].values)
    if len(points) < 2:
        coordinates = np.zeros((len(points), 2))
    else:
        symmetric = 0.5 * (values + values.T)
        coordinates = _mds(seed).fit_transform(symmetric, init=classical_scaling(symmetric))
    if reference is not None:
        if reference not in points:
            raise SimlibError(f"no point {reference!r} to centre the embedding on")
        coordinates = coordinates - coordinates[points.index(reference)]
    return xr.DataArray(
        coordinates,
        dims=("point", "axis"),
        coords={"point": points, "axis": ["MDS 1", "MDS 2"]},
        attrs={"units": distances.attrs.get("units", ""), "seed": int(seed)},
    )


def analyse(
    task: Task,
    runs: Mapping[str, Mapping[int, StateMachine]],
    reference: StateMachine,
    histories: Mapping[str, Mapping[str, list]] | None = None,
    episodes: int = 500,
    distance_episodes: int = 200,
    seed: int = 0,
    device: str = "auto",
    threads: int | None = 1,
    log: Callable[[str], None] | None = None,
    distance_snapshots: int | None = None,
) -> xr.Dataset:
    """The whole of Figure 2 as data, for runs ``name -> {training step -> machine}``.

    Returns a Dataset with

    * ``within (run, step, time)`` -- :func:`within_episode` of every run on ``episodes``
      episodes (NaN where a run has no snapshot at that step);
    * ``distance (point, other)`` -- :func:`behavioural_distances` on ``distance_episodes``
      episodes between every run's snapshots (points ``RUN@STEP``) and the reference (``opt``);
      ``point_run (point)`` and ``point_step (point)`` say which run and step a point is
      (``"opt"`` and -1 for the reference); with ``distance_snapshots`` only that many of each
      run's snapshots, evenly spaced from the first to the last, enter (pairwise divergences of
      continuous predictions cost tens of microseconds per step by quadrature);
    * ``embedding (point, axis)`` -- :func:`embed` of the distances, the reference at the origin;
      ``embedding_zoom (point, axis)`` the same without each run's first snapshot (NaN there),
      which is usually far from everything else and would dominate the map;
    * ``train_KEY (run, record)`` -- each run's recorded training history (``step``, ``loss``,
      ``kl`` or ``return``/``regret``, timings), NaN-padded, when ``histories`` are given.

    Attributes name the task, the measures and their units, episodes and seed. The work runs
    under ``threads`` torch threads (None: torch's default); small recurrent networks unroll
    fastest on one. ``log`` (if given) receives a line per stage and progress of long ones.
    """
    if not runs or any(not snapshots for snapshots in runs.values()):
        raise SimlibError("analyse needs at least one run with at least one snapshot")
    if REFERENCE in runs:
        raise SimlibError(f"a run may not be called {REFERENCE!r}")
    chosen = [(run, step) for run, snaps in runs.items() for step in _spread(sorted(snaps), distance_snapshots)]
    points = {f"{run}@{step}": runs[run][step] for run, step in chosen}
    points[REFERENCE] = reference
    family = family_of(task)
    log = log or _quiet
    with fit_threads(threads):
        within = {}
        for name, snapshots in runs.items():
            log(f"within-episode dissimilarity: {name}, {len(snapshots)} snapshots x {episodes} episodes")
            within[name] = within_episode(task, snapshots, reference, episodes, seed)
        log(f"behavioural distances: {len(points)} machines x {distance_episodes} episodes")
        distance = behavioural_distances(task, points, reference, distance_episodes, seed, device, log)
    point_run = [run for run, _ in chosen] + [REFERENCE]
    point_step = [int(step) for _, step in chosen] + [-1]
    within_name, within_units = family.within_measure
    distance_name, distance_units = family.distance_measure
    return xr.Dataset(
        {
            "within": _stack_runs(within),
            "distance": distance,
            "embedding": embed(distance, REFERENCE, seed),
            "embedding_zoom": _zoom(distance, [f"{run}@{min(snapshots)}" for run, snapshots in runs.items()], seed),
            **_curves(list(runs), histories or {}),
        },
        coords={"point_run": ("point", point_run), "point_step": ("point", np.asarray(point_step, dtype=np.int64))},
        attrs={
            "simlib_convergence": 1,
            **formats.flat_stamp("convergence"),
            "task": task.name,
            "task_config": json.dumps(task.config()),
            "closed_loop": int(family.closed_loop),
            "family": family.name,
            "reference": REFERENCE,
            "episodes": int(episodes),
            "distance_episodes": int(distance_episodes),
            "seed": int(seed),
            "within_measure": within_name,
            "within_units": within_units,
            "distance_measure": distance_name,
            "distance_units": distance_units,
            "simlib_version": simlib.__version__,
        },
    )


def summary(dataset: xr.Dataset) -> dict[str, dict[str, float]]:
    """Per run, at its first and last snapshot: the within-episode dissimilarity summed over
    time (``within_first``, ``within_last``) and the distance to the reference
    (``distance_first``, ``distance_last``), with the steps (``first_step``, ``last_step``)."""
    reference = dataset.attrs.get("reference", REFERENCE)
    rows = {}
    for run in dataset["run"].values:
        totals = dataset["within"].sel(run=run).sum("time", skipna=False).dropna("step")
        first, last = int(totals["step"].values[0]), int(totals["step"].values[-1])
        to_reference = dataset["distance"].sel(other=reference)
        rows[str(run)] = {
            "first_step": first,
            "last_step": last,
            "within_first": float(totals.sel(step=first)),
            "within_last": float(totals.sel(step=last)),
            "distance_first": float(to_reference.sel(point=f"{run}@{first}")),
            "distance_last": float(to_reference.sel(point=f"{run}@{last}")),
        }
    return rows


def save_convergence(dataset: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write an :func:`analyse` result to netCDF (scipy engine) atomically."""
    with atomic_path(path) as temporary:
        dataset.to_netcdf(temporary, engine="scipy")
    return Path(path)


def load_convergence(path: str | os.PathLike) -> xr.Dataset:
    """Read a file written by :func:`save_convergence` (fully loaded; the file is closed)."""
    try:
        with xr.open_dataset(path, engine="scipy") as opened:
            dataset = opened.load()
    except (OSError, ValueError, TypeError) as error:
        raise SimlibError(f"cannot read a convergence analysis from {path}: {error}") from None
    if "simlib_convergence" not in dataset.attrs:
        raise SimlibError(f"{path} is not a simlib convergence file")
    formats.require_readable("convergence", int(dataset.attrs.get("format_version", dataset.attrs["simlib_convergence"])), str(path))
    return dataset


def _spread(steps: list[int], count: int | None) -> list[int]:
    """At most ``count`` of ``steps``, evenly spaced, first and last included."""
    if count is None or len(steps) <= count:
        return steps
    return [steps[i] for i in sorted({round(i) for i in np.linspace(0, len(steps) - 1, max(count, 2))})]


def _quiet(line: str) -> None:
    """A log that drops its lines."""


def _mds(seed: int) -> MDS:
    """Metric MDS on a precomputed matrix, started from :func:`classical_scaling`, in the
    keywords of the installed scikit-learn."""
    parameters = inspect.signature(MDS).parameters
    if "metric_mds" in parameters:  # scikit-learn >= 1.8
        return MDS(n_components=2, metric="precomputed", metric_mds=True, n_init=1, init="random", random_state=seed)
    return MDS(n_components=2, dissimilarity="precomputed", n_init=1, random_state=seed)


def classical_scaling(distances: np.ndarray) -> np.ndarray:
    """Classical (Torgerson) scaling of a symmetric distance matrix ``[n, n]`` -> ``[n, 2]``.

    The two largest eigenvalues of the double-centred squared distances, clipped at zero: a
    matrix that is not Euclidean (negative eigenvalues, as small behavioural matrices can be)
    gives finite coordinates where scikit-learn's own classical start takes a square root of a
    negative number and returns NaN.
    """
    n = distances.shape[0]
    centring = np.eye(n) - 1.0 / n
    gram = -0.5 * centring @ (distances**2) @ centring
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    top = np.argsort(eigenvalues)[::-1][:2]
    coordinates = eigenvectors[:, top] * np.sqrt(np.clip(eigenvalues[top], 0.0, None))
    return np.pad(coordinates, ((0, 0), (0, 2 - coordinates.shape[1])))


def _zoom(distance: xr.DataArray, left_out: list[str], seed: int) -> xr.DataArray:
    """:func:`embed` of ``distance`` without the points ``left_out`` (NaN rows there)."""
    kept = [point for point in distance["point"].values if point not in left_out]
    inner = embed(distance.sel(point=kept, other=kept), REFERENCE, seed)
    return inner.reindex(point=distance["point"].values)


def _stack_runs(within: dict[str, xr.DataArray]) -> xr.DataArray:
    """Per-run ``(step, time)`` arrays on the union of their steps: ``(run, step, time)``, NaN-filled."""
    steps = sorted({int(step) for array in within.values() for step in array["step"].values})
    first = next(iter(within.values()))
    values = np.full((len(within), len(steps), first.sizes["time"]), np.nan)
    for k, array in enumerate(within.values()):
        values[k, [steps.index(int(step)) for step in array["step"].values]] = array.values
    return xr.DataArray(
        values,
        dims=("run", "step", "time"),
        coords={"run": list(within), "step": np.asarray(steps, dtype=np.int64), "time": first["time"].values},
        attrs=first.attrs,
    )


def _curves(names: list[str], histories: Mapping[str, Mapping[str, list]]) -> dict[str, xr.DataArray]:
    """Training histories as ``train_KEY (run, record)`` arrays, NaN-padded to the longest."""
    keys = sorted({key for history in histories.values() for key in history})
    length = max((len(values) for history in histories.values() for values in history.values()), default=0)
    curves = {}
    for key in keys:
        values = np.full((len(names), length), np.nan)
        for k, name in enumerate(names):
            recorded = np.asarray((histories.get(name) or {}).get(key, []), dtype=np.float64)
            values[k, : recorded.size] = recorded
        curves[f"train_{key}"] = xr.DataArray(values, dims=("run", "record"), coords={"run": names})
    return curves
