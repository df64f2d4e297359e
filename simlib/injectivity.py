"""Where injectivity fails: histories one machine merges and another keeps apart.

Mikulik et al. (§5) explain a failed simulation by a failure of injectivity: if machine A
sends two histories to one state (heads-tails-heads and tails-heads-heads give the same
counts) while machine B keeps them apart, no map phi from A's states to B's can hit both of
B's states, so B cannot be reached from A. This module finds such pairs with witnesses.

* A *history* is an input prefix ``x_0 .. x_t``; its state is the machine's state after reading
  it and its output the one emitted on ``x_t`` (for a predictor, the prediction after the
  history; for an agent, its policy).
* Histories come from traced episodes (every prefix of every episode, duplicates merged) or,
  for a prediction task with a finite input alphabet, from every observation sequence up to a
  depth.
* Distances are in each machine's whitened units, those of D_s: the mean over components of
  the squared difference of whitened states (1 is the variance of the state cloud along each
  component, so two random states are about 2 apart). A pair is *merged* by a machine below
  ``merge_tol`` and *separated* at or above ``separate_tol``.
* Output gaps are the symmetrised KL divergence, ``(KL(p||q) + KL(q||p)) / 2`` nats, between
  the separating machine's outputs on the two histories.
* The *D_s floor* is the mean squared distance of B's whitened states to the weighted mean of
  their merge class under A: what any phi from A's states to B's must get wrong on these
  histories, whatever it is fitted on (with A's merges exact, a lower bound of D_s(A -> B) on
  the same histories and whitening).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr

from simlib.behaviour import divergence
from simlib.compare import resolve_task
from simlib.errors import SimlibError
from simlib.machine import StateMachine, unroll
from simlib.task import Task
from simlib.traces import sample_traces
from simlib.whitening import Whitening, fit_whitening

MAX_ENUMERATED = 200_000
"""Most histories an enumeration may produce (sum over lengths of alphabet**length)."""


@dataclass(frozen=True)
class Histories:
    """A set of distinct histories with both machines' view of them.

    Arrays (``N`` histories, ``L`` the longest, inputs padded with NaN after a history ends):
    ``inputs [N, L, input_dim]``, ``length [N]`` int (inputs read, 1..L), ``weight [N]`` (how
    often the history was traced; 1 when enumerated), ``states[m] [N, state_dim]`` and
    ``outputs[m] [N, n_params]`` per machine name ``m``.
    """

    inputs: np.ndarray
    length: np.ndarray
    weight: np.ndarray
    states: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    source: str


@dataclass(frozen=True)
class Failure:
    """Histories ``merging`` maps to (nearly) one state and ``separating`` keeps apart.

    ``pairs [P, 2]`` indexes the histories of every merged pair that is separated, largest
    output gap first, with ``merged_distance [P]``, ``separated_distance [P]`` (whitened,
    mean squared) and ``output_gap [P]`` (nats). ``per_length`` is a labelled dataset over the
    history length: histories, merge classes, merged and separated pairs, the D_s floor.
    """

    merging: str
    separating: str
    merged_pairs: int
    pairs: np.ndarray
    merged_distance: np.ndarray
    separated_distance: np.ndarray
    output_gap: np.ndarray
    d_s_floor: float
    per_length: xr.Dataset = field(repr=False)

    @property
    def separated_pairs(self) -> int:
        return int(self.pairs.shape[0])


@dataclass(frozen=True)
class InjectivityReport:
    """Both directions between machines ``a`` and ``b`` on one set of histories."""

    task: str
    a: str
    b: str
    histories: Histories = field(repr=False)
    a_merges: Failure
    b_merges: Failure
    settings: dict

    def witnesses(self, failure: Failure, top: int = 10) -> list[dict]:
        """The ``top`` pairs of ``failure`` with the largest output gaps, as readable records."""
        return [
            {
                "first": self.describe(int(i)),
                "second": self.describe(int(j)),
                "merged_distance": float(failure.merged_distance[k]),
                "separated_distance": float(failure.separated_distance[k]),
                "output_gap": float(failure.output_gap[k]),
            }
            for k, (i, j) in enumerate(failure.pairs[:top])
        ]

    def describe(self, index: int) -> str:
        """History ``index`` as a readable input sequence."""
        return self.settings["labels"][index]

    def to_dict(self, top: int = 10) -> dict:
        """Counts, floors and witnesses as plain JSON-ready data."""

        def direction(failure: Failure) -> dict:
            return {
                "merging": failure.merging,
                "separating": failure.separating,
                "merged_pairs": failure.merged_pairs,
                "separated_pairs": failure.separated_pairs,
                "d_s_floor": failure.d_s_floor,
                "output_gap": _quantiles(failure.output_gap),
                "per_length": {
                    name: failure.per_length[name].values.tolist() for name in failure.per_length.data_vars
                }
                | {"length": failure.per_length["length"].values.tolist()},
                "witnesses": self.witnesses(failure, top),
            }

        settings = {key: value for key, value in self.settings.items() if key not in ("labels", "task_config")}
        return {
            "task": self.task,
            "task_config": self.settings["task_config"],
            "a": self.a,
            "b": self.b,
            "histories": int(self.histories.length.shape[0]),
            "source": self.histories.source,
            "settings": settings,
            "a_merges": direction(self.a_merges),
            "b_merges": direction(self.b_merges),
        }


def injectivity(
    a: StateMachine,
    b: StateMachine,
    task: Task | None = None,
    *,
    depth: int | None = None,
    episodes: int = 500,
    seed: int = 0,
    n_components: int | str | None = None,
    merge_tol: float = 1e-6,
    separate_tol: float = 1e-2,
) -> InjectivityReport:
    """Find the histories one of ``a``, ``b`` merges and the other separates, both ways.

    Args:
        task: the task both machines are built for (default: their own ``task``).
        depth: enumerate every observation sequence of up to ``depth`` observations (a
            prediction task with a finite input alphabet); ``None`` traces ``episodes``
            episodes instead (closed-loop tasks: ``a`` acts).
        n_components: principal components kept per machine, as in :class:`simlib.Simulation`:
            ``None`` (default) is the paper's setting, the space D_s is measured in;
            ``"full"`` keeps every informative one, so nothing a machine distinguishes is
            projected away.
        merge_tol, separate_tol: whitened mean squared distances below which a pair counts as
            merged and at or above which it counts as separated.
    """
    task = resolve_task(a, b, task)
    if not (0 < merge_tol < separate_tol < math.inf):
        raise SimlibError(f"need 0 < merge_tol < separate_tol, got {merge_tol!r} and {separate_tol!r}")
    machines = {"a": a, "b": b}
    if depth is None:
        histories = traced_histories(task, machines, episodes, seed)
    else:
        histories = enumerated_histories(task, machines, depth)
    if histories.length.shape[0] < 2:
        raise SimlibError("injectivity needs at least two distinct histories")
    k = None if n_components == "full" else n_components
    if n_components is None:
        k = min(a.state_dim, b.state_dim)
    whitened = {name: _whiten(histories, name, k).transform(histories.states[name]) for name in machines}
    label_a, label_b = (getattr(m, "spec", None) or name for name, m in machines.items())
    failures = {
        merging: _failure(
            histories, whitened, merging, other, machines[other], names, merge_tol, separate_tol
        )
        for merging, other, names in (("a", "b", (label_a, label_b)), ("b", "a", (label_b, label_a)))
    }
    settings = {
        "depth": depth,
        "episodes": None if depth is not None else episodes,
        "seed": seed,
        "n_components": n_components,
        "merge_tol": merge_tol,
        "separate_tol": separate_tol,
        "task_config": json.loads(json.dumps(task.config())),
        "labels": history_labels(task, histories),
    }
    return InjectivityReport(task.name, label_a, label_b, histories, failures["a"], failures["b"], settings)


def _quantiles(values: np.ndarray) -> dict:
    """Median, 90th percentile and maximum of ``values`` (None when there are none)."""
    if not values.size:
        return {"median": None, "p90": None, "max": None}
    median, p90, top = np.quantile(values, [0.5, 0.9, 1.0]).tolist()
    return {"median": median, "p90": p90, "max": top}


def enumerated_histories(task: Task, machines: dict[str, StateMachine], depth: int) -> Histories:
    """Every history of a prediction task with a finite input alphabet: the start token and
    each sequence of up to ``depth`` observations (``sum_L K**L`` histories for K symbols)."""
    if task.closed_loop or not hasattr(task, "input_alphabet"):
        raise SimlibError(
            f"task {task.name!r} has no finite alphabet of observations to enumerate; trace episodes instead"
        )
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise SimlibError(f"depth must be a whole number >= 0, got {depth!r}")
    symbols = task.input_alphabet()[0].shape[0] - 1
    total = sum(symbols**length for length in range(depth + 1))
    if total > MAX_ENUMERATED:
        raise SimlibError(f"depth {depth} gives {total} histories, more than {MAX_ENUMERATED}: use a smaller depth")
    rows = list(itertools.product(range(symbols), repeat=depth)) or [()]
    observations = torch.tensor(rows, dtype=torch.float64).reshape(len(rows), depth)
    padded = torch.cat([observations, torch.zeros(len(rows), 1, dtype=torch.float64)], dim=1)
    inputs = task.encode(padded).to(torch.float64)
    runs = {name: _after_each_input(machine, inputs) for name, machine in machines.items()}
    keep = [
        (row, seen + 1)
        for seen in range(depth + 1)
        for row in range(len(rows))
        if not observations[row, seen:].any()
    ]
    return _collect(inputs.numpy(), keep, np.ones(len(keep)), runs, f"all histories of up to {depth} observations")


def traced_histories(task: Task, machines: dict[str, StateMachine], episodes: int, seed: int) -> Histories:
    """Every distinct input prefix of ``episodes`` traced episodes (closed loop: the first
    machine acts), weighted by how often it was traced."""
    traces = sample_traces(task, machines, episodes, seed)
    inputs = torch.from_numpy(traces["input"].values)
    runs = {
        name: _after_each_input(machine, inputs, traces[f"{name}_state"].values, traces[f"{name}_output"].values)
        for name, machine in machines.items()
    }
    flat = inputs.numpy()
    keep, weight = [], []
    for t in range(flat.shape[1]):
        prefixes = flat[:, : t + 1].reshape(flat.shape[0], -1)
        _, first, counts = np.unique(prefixes, axis=0, return_index=True, return_counts=True)
        keep += [(int(row), t + 1) for row in first]
        weight += counts.tolist()
    return _collect(flat, keep, np.asarray(weight, dtype=np.float64), runs, f"every prefix of {episodes} traced episodes")


@torch.no_grad()
def _after_each_input(
    machine: StateMachine, inputs: torch.Tensor, states: np.ndarray | None = None, outputs: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(states after each input [E, T, S], outputs on each input [E, T, P])``: from traced
    states and outputs plus one step past the end, or by unrolling the machine."""
    if states is None:
        y, s = unroll(machine, inputs)
        outputs, states = y.numpy(), s.numpy()
    last_input = inputs[:, -1]
    _, final = machine.step(last_input, torch.from_numpy(np.ascontiguousarray(states[:, -1])))
    after = np.concatenate([states[:, 1:], final.to(torch.float64).numpy()[:, None]], axis=1)
    return after, outputs


def _collect(
    inputs: np.ndarray,
    keep: list[tuple[int, int]],
    weight: np.ndarray,
    runs: dict[str, tuple[np.ndarray, np.ndarray]],
    source: str,
) -> Histories:
    rows = np.array([row for row, _ in keep], dtype=np.int64)
    length = np.array([length for _, length in keep], dtype=np.int64)
    padded = np.full((len(keep), inputs.shape[1], inputs.shape[2]), np.nan)
    for i, (row, n) in enumerate(keep):
        padded[i, :n] = inputs[row, :n]
    return Histories(
        inputs=padded,
        length=length,
        weight=weight,
        states={name: after[rows, length - 1] for name, (after, _) in runs.items()},
        outputs={name: out[rows, length - 1] for name, (_, out) in runs.items()},
        source=source,
    )


def _whiten(histories: Histories, name: str, k: int | None) -> Whitening:
    """The whitening of machine ``name`` fitted on its history states, weighted by repeats."""
    counts = np.maximum(1, np.round(histories.weight).astype(np.int64))
    states = np.repeat(histories.states[name], counts, axis=0)
    try:
        return fit_whitening(states, k)
    except ValueError as error:
        raise SimlibError(f"machine {name!r}: {error}") from None


def _failure(
    histories: Histories,
    whitened: dict[str, np.ndarray],
    merging: str,
    separating: str,
    separator: StateMachine,
    names: tuple[str, str],
    merge_tol: float,
    separate_tol: float,
) -> Failure:
    """Pairs merged by ``merging`` and separated by ``separating``, largest output gap first."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    z_merge, z_sep = whitened[merging], whitened[separating]
    radius = np.sqrt(merge_tol * z_merge.shape[1])
    pairs = cKDTree(z_merge).query_pairs(radius, output_type="ndarray").astype(np.int64).reshape(-1, 2)
    merged = _mean_squared(z_merge, pairs)
    separated = _mean_squared(z_sep, pairs)
    chosen = separated >= separate_tol
    first, second = histories.outputs[separating][pairs[chosen, 0]], histories.outputs[separating][pairs[chosen, 1]]
    family = separator.output
    gap = 0.5 * (divergence(family, first, second) + divergence(family, second, first))
    order = np.lexsort((-separated[chosen], -gap))
    n = histories.length.shape[0]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, classes = connected_components(graph, directed=False)
    floor = _floor(z_sep, classes, histories.weight)
    return Failure(
        merging=names[0],
        separating=names[1],
        merged_pairs=int(len(pairs)),
        pairs=pairs[chosen][order],
        merged_distance=merged[chosen][order],
        separated_distance=separated[chosen][order],
        output_gap=gap[order],
        d_s_floor=float(floor.sum() / histories.weight.sum()),
        per_length=_per_length(histories, pairs, chosen, classes, floor),
    )


def _mean_squared(z: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return ((z[pairs[:, 0]] - z[pairs[:, 1]]) ** 2).mean(-1)


def _floor(z: np.ndarray, classes: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per history: weight times the mean squared distance of ``z`` to its class's weighted mean."""
    n_classes = int(classes.max()) + 1
    totals = np.bincount(classes, weights=weight, minlength=n_classes)
    means = np.stack(
        [np.bincount(classes, weights=weight * z[:, d], minlength=n_classes) for d in range(z.shape[1])], axis=1
    ) / totals[:, None]
    return weight * ((z - means[classes]) ** 2).mean(-1)


def _per_length(
    histories: Histories, pairs: np.ndarray, chosen: np.ndarray, classes: np.ndarray, floor: np.ndarray
) -> xr.Dataset:
    lengths = np.arange(1, int(histories.length.max()) + 1)
    at = histories.length
    pair_length = at[pairs[:, 0]]
    weight = np.bincount(at, weights=histories.weight, minlength=lengths[-1] + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        floor_per_length = np.bincount(at, weights=floor, minlength=lengths[-1] + 1)[1:] / weight
    return xr.Dataset(
        {
            "histories": ("length", np.bincount(at, minlength=lengths[-1] + 1)[1:]),
            "merge_classes": ("length", np.array([len(np.unique(classes[at == n])) for n in lengths])),
            "merged_pairs": ("length", np.bincount(pair_length, minlength=lengths[-1] + 1)[1:]),
            "separated_pairs": ("length", np.bincount(pair_length[chosen], minlength=lengths[-1] + 1)[1:]),
            "d_s_floor": ("length", floor_per_length),
        },
        coords={"length": lengths},
        attrs={"note": "pairs are counted at the length of their first history (merged pairs may differ in length)"},
    )


def history_labels(task: Task, histories: Histories) -> list[str]:
    """Every history as a readable input sequence: alphabet labels after the start token for
    finite alphabets, ``a0:r1`` steps for interactive tasks, rounded vectors otherwise."""
    inputs = [histories.inputs[i, :n] for i, n in enumerate(histories.length)]
    if hasattr(task, "input_alphabet"):
        alphabet, labels = task.input_alphabet()
        rows = alphabet.numpy()
        words = []
        for history in inputs:
            match = np.abs(history[:, None, :] - rows[None]).max(-1).argmin(-1)
            symbols = [labels[int(k)] for k in match]
            if symbols and symbols[0] == "start":
                symbols = symbols[1:]
            words.append(" ".join(symbols) if symbols else "(start)")
        return words
    if hasattr(task, "decode_input"):
        return [_bandit_words(task, history) for history in inputs]
    return [" ".join("[" + ", ".join(f"{v:.3g}" for v in row) + "]" for row in history) for history in inputs]


def _bandit_words(task: Task, history: np.ndarray) -> str:
    actions, rewards = task.decode_input(torch.from_numpy(np.ascontiguousarray(history[1:])))
    steps = [f"a{int(a)}:r{float(r):.3g}" for a, r in zip(actions.argmax(-1).tolist(), rewards.tolist())]
    return " ".join(steps) if steps else "(start)"
