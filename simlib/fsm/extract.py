"""Turn a continuous StateMachine (or its traces) into a :class:`FiniteMealy`.

* :func:`extract_exact` -- breadth-first enumeration of the reachable states of a machine
  whose states are finitely many (count-based Bayes agents), up to a depth;
* :func:`extract_quantised` -- k-means quantisation of the states seen in traces (networks);
* :func:`symbolise` -- map continuous input rows to alphabet ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from simlib.errors import SimlibError
from simlib.fsm.mealy import FiniteMealy
from simlib.machine import StateMachine

_MATCH_TOLERANCE = 1e-6
_KMEANS_INITS = 10


class TooManyStates(SimlibError):
    """Exact extraction reached ``max_states`` reachable states (the machine may have infinitely many)."""


def _as_numpy(array: Tensor | np.ndarray, dtype: type) -> np.ndarray:
    if isinstance(array, Tensor):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=dtype)


def _round(rows: np.ndarray, decimals: int) -> np.ndarray:
    """Round and turn -0.0 into 0.0, so equal values have equal bytes."""
    return np.round(rows, decimals) + 0.0


def _unique_rows_in_order(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``rows [N, D]`` numbered by first occurrence: ``(unique [U, D], ids [N])``."""
    if rows.shape[0] == 0:
        return rows[:0], np.zeros(0, dtype=np.int64)
    unique, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return unique[order], rank[inverse.ravel()]


@torch.no_grad()
def extract_exact(
    machine: StateMachine,
    alphabet: Tensor,
    labels: Sequence[str],
    depth: int,
    *,
    decimals: int = 9,
    max_states: int = 100_000,
    stamp: Callable[[Tensor, int], Tensor] | None = None,
    allowed: Callable[[int], Sequence[bool]] | None = None,
    follows: Callable[[int], Sequence[bool]] | None = None,
) -> FiniteMealy:
    """Enumerate the states reachable in at most ``depth`` inputs, breadth first.

    Every row of ``alphabet [K, input_dim]`` is applied to every expanded state, one batched
    ``step`` per level. States are identified by their vector rounded to ``decimals``; outputs
    likewise become symbols. States first reached at level ``depth`` are stepped too (their
    outputs are recorded), but a successor that is not already known goes to one absorbing
    END state (no transitions, NaN state vector, depth -1).

    Inputs that carry a clock: ``stamp(alphabet, level)`` gives the rows as they arrive at
    step ``level`` (the time slot set), and ``allowed(level)`` the ``[K]`` symbols that can
    arrive then; the others are left undefined at that level (a two-step task's second-stage
    inputs never arrive at a first-stage step). With a clock, a state is also identified by
    its level, since the same vector meets other inputs at another step.

    Inputs that an environment's state constrains: ``follows(k)`` gives the ``[K]`` symbols
    that can arrive right after symbol ``k`` (a Harlow choice screen is followed by a selection
    on that screen or by the same screen again); the others are left undefined there, and a
    state is also identified by the symbol it was reached on.

    Raises:
        SimlibError: bad arguments, or more than ``max_states`` states (END not counted).
    """
    alphabet = torch.as_tensor(alphabet)
    labels = tuple(str(label) for label in labels)
    if alphabet.ndim != 2 or alphabet.shape[0] != len(labels) or alphabet.shape[1] != machine.input_dim:
        expected = f"[{len(labels)} labels, input_dim={machine.input_dim}]"
        raise SimlibError(f"alphabet must be {expected}, got {tuple(alphabet.shape)}")
    if depth < 0:
        raise SimlibError(f"depth must be >= 0, got {depth}")
    n_inputs = alphabet.shape[0]
    start = machine.initial_state(1)
    alphabet = alphabet.to(start.device)
    clocked = stamp is not None or allowed is not None
    after = _successor_table(follows, n_inputs)

    def identity(key: np.ndarray, at: int) -> tuple[int, bytes]:
        """What identifies a state: its key (rounded vector, and with ``follows`` the symbol it
        was reached on), and with a clock the level it is at."""
        return (at if clocked else 0, key.tobytes())

    def keyed(vectors: np.ndarray, reached_on: np.ndarray) -> np.ndarray:
        rounded = _round(vectors, decimals)
        return rounded if follows is None else np.concatenate([rounded, reached_on[:, None].astype(np.float64)], axis=1)

    index = {identity(keyed(_as_numpy(start[:1], np.float64), np.array([-1]))[0], 0): 0}
    states, depths, lasts = [start[0]], [0], [-1]
    successor_rows, output_rows = [], []
    frontier, level, end = [0], 0, -2
    usable_rows = []
    while frontier:
        batch = torch.stack([states[i] for i in frontier]).repeat_interleave(n_inputs, dim=0)
        rows = alphabet if stamp is None else torch.as_tensor(stamp(alphabet, level)).to(start.device)
        usable = np.ones(n_inputs, dtype=bool) if allowed is None else np.asarray(allowed(level), dtype=bool)
        if usable.shape != (n_inputs,):
            raise SimlibError(f"allowed({level}) must give {n_inputs} flags, got shape {usable.shape}")
        y, s_next = machine.step(rows.repeat(len(frontier), 1), batch)
        use = (usable[None, :] & after[[lasts[i] for i in frontier]]).ravel()
        where = np.flatnonzero(use)
        keys, ids = _unique_rows_in_order(keyed(_as_numpy(s_next, np.float64)[use], where % n_inputs))
        first = where[np.unique(ids, return_index=True)[1]] if len(where) else where
        known = np.empty(len(keys), dtype=np.int64)
        frontier = []
        for u, key in enumerate(keys):
            state = index.get(identity(key, level + 1))
            if state is None and level < depth:
                if len(states) >= max_states:
                    raise TooManyStates(
                        f"exact extraction passed max_states={max_states} at depth {level + 1}; "
                        "lower the depth or raise max_states"
                    )
                state = index[identity(key, level + 1)] = len(states)
                states.append(s_next[first[u]])
                depths.append(level + 1)
                lasts.append(int(first[u] % n_inputs))
                frontier.append(state)
            known[u] = end if state is None else state
        successors = np.full(len(use), -1, dtype=np.int64)
        successors[use] = known[ids]
        successor_rows.append(successors.reshape(-1, n_inputs))
        output_rows.append(_round(_as_numpy(y, np.float64), decimals))
        usable_rows.append(use)
        level += 1
    delta = np.concatenate(successor_rows)
    use = np.concatenate(usable_rows)
    values, symbols = _unique_rows_in_order(np.concatenate(output_rows)[use])
    output = np.full(len(use), -1, dtype=np.int64)
    output[use] = symbols
    output = output.reshape(-1, n_inputs)
    vectors = torch.stack(states).to(torch.float64).cpu().numpy()
    depths = np.array(depths)
    if (delta == end).any():
        delta[delta == end] = len(states)
        delta = np.vstack([delta, np.full((1, n_inputs), -1)])
        output = np.vstack([output, np.full((1, n_inputs), -1)])
        vectors = np.vstack([vectors, np.full((1, vectors.shape[1]), np.nan)])
        depths = np.append(depths, -1)
    return FiniteMealy(delta, output, 0, values, labels, vectors, depths)


def _successor_table(follows: Callable[[int], Sequence[bool]] | None, n_inputs: int) -> np.ndarray:
    """``bool [K + 1, K]``: row k the symbols that may follow symbol k; the last row (no symbol
    read yet, index -1) allows all."""
    table = np.ones((n_inputs + 1, n_inputs), dtype=bool)
    if follows is not None:
        for k in range(n_inputs):
            row = np.asarray(follows(k), dtype=bool)
            if row.shape != (n_inputs,):
                raise SimlibError(f"follows({k}) must give {n_inputs} flags, got shape {row.shape}")
            table[k] = row
    return table


@dataclass(frozen=True, eq=False)
class QuantisedMealy:
    """A machine quantised from traces, with how well the clusters respect the dynamics.

    Attributes:
        machine: states ``0..n_clusters-1`` are clusters; one extra absorbing END state exists
            when some (cluster, symbol) was seen only at a trace's last step.
        transition_fidelity: fraction of observed transitions that go to the majority successor
            (NaN when the traces have a single step).
        ambiguous: number of (cluster, symbol) pairs with more than one observed successor.
        per_state_fidelity: ``[n_clusters]`` the same fraction per source cluster (NaN if none).
        labels: ``int [E, T]`` the cluster of every trace state.
        centers: ``[n_clusters, state_dim]`` k-means centres.
    """

    machine: FiniteMealy
    transition_fidelity: float
    ambiguous: int
    per_state_fidelity: np.ndarray
    labels: np.ndarray
    centers: np.ndarray


def extract_quantised(
    states: Tensor | np.ndarray,
    symbols: Tensor | np.ndarray,
    outputs: Tensor | np.ndarray,
    input_labels: Sequence[str],
    n_clusters: int,
    *,
    random_state: int = 0,
    decimals: int = 3,
    by_level: bool = False,
    by_last_symbol: bool = False,
) -> QuantisedMealy:
    """Cluster trace states with k-means and read off majority transitions.

    Args:
        states: ``[E, T, S]``; ``states[:, t]`` received ``symbols[:, t]`` and emitted
            ``outputs[:, t]``, so ``states[:, t] --symbols[:, t]--> states[:, t + 1]``.
        symbols: ``int [E, T]`` input ids into ``input_labels``.
        outputs: ``[E, T, P]``.

    The output of a (cluster, symbol) pair is the mean output over its steps, rounded to
    ``decimals``; unobserved pairs are undefined; the initial state is the majority cluster
    of ``states[:, 0]``.

    ``by_level`` clusters the states of every step ``t`` apart (at most ``n_clusters`` each,
    fewer where step t has fewer distinct states), so no cluster mixes steps: the machine is
    layered like an exact extraction of a clocked task (``state_depth`` = t), and a simulation
    preorder against such a machine compares like with like. ``by_last_symbol`` also clusters
    apart the states reached on different symbols (as exact extraction with ``follows`` tells
    them apart), so no cluster mixes states that accept different next symbols.
    """
    x = _as_numpy(states, np.float64)
    sym = _as_numpy(symbols, np.int64)
    y = _as_numpy(outputs, np.float64)
    labels_in = tuple(str(label) for label in input_labels)
    n_inputs = len(labels_in)
    if x.ndim != 3 or sym.shape != x.shape[:2] or y.ndim != 3 or y.shape[:2] != x.shape[:2]:
        raise SimlibError(
            f"need states [E, T, S], symbols [E, T], outputs [E, T, P]; got {x.shape}, {sym.shape}, {y.shape}"
        )
    if sym.size and (sym.min() < 0 or sym.max() >= n_inputs):
        raise SimlibError(f"symbols must lie in 0..{n_inputs - 1}")
    if n_clusters < 1 or (not by_level and n_clusters > x.shape[0] * x.shape[1]):
        raise SimlibError(f"n_clusters must be between 1 and the number of states {x.shape[0] * x.shape[1]}")
    if by_level or by_last_symbol:
        steps = np.broadcast_to(np.arange(x.shape[1]), sym.shape) if by_level else np.zeros(sym.shape, np.int64)
        last = np.concatenate([np.full((sym.shape[0], 1), -1), sym[:, :-1]], axis=1) if by_last_symbol else 0 * sym
        cluster, centers, depths = _cluster_in_groups(x, steps * (n_inputs + 1) + last + 1, n_clusters, random_state)
        depths = depths // (n_inputs + 1) if by_level else None
        n_clusters = centers.shape[0]
    else:
        cluster, centers = _kmeans(x.reshape(-1, x.shape[2]), n_clusters, random_state)
        cluster, depths = cluster.reshape(sym.shape), None

    pair = (cluster[:, :-1] * n_inputs + sym[:, :-1]).ravel()
    target = cluster[:, 1:].ravel()
    triples, counts = np.unique(np.stack([pair, target], axis=1), axis=0, return_counts=True)
    order = np.lexsort((triples[:, 1], -counts, triples[:, 0]))
    triples, counts = triples[order], counts[order]
    is_majority = np.r_[True, triples[1:, 0] != triples[:-1, 0]] if len(triples) else np.zeros(0, bool)
    majority_pairs, majority_targets = triples[is_majority, 0], triples[is_majority, 1]
    n_pairs = n_clusters * n_inputs
    successors_per_pair = np.bincount(triples[:, 0], minlength=n_pairs)
    agree = np.bincount(majority_pairs // n_inputs, weights=counts[is_majority], minlength=n_clusters)
    total = np.bincount(pair // n_inputs, minlength=n_clusters)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_state = agree / total
    fidelity = float(agree.sum() / total.sum()) if total.sum() else float("nan")

    all_pairs = (cluster * n_inputs + sym).ravel()
    seen = np.bincount(all_pairs, minlength=n_pairs)
    flat_outputs = y.reshape(-1, y.shape[2])
    sums = np.zeros((n_pairs, y.shape[2]))
    np.add.at(sums, all_pairs, flat_outputs)
    observed = np.flatnonzero(seen)
    values, symbol_ids = _unique_rows_in_order(_round(sums[observed] / seen[observed, None], decimals))
    output = np.full(n_pairs, -1)
    output[observed] = symbol_ids
    delta = np.full(n_pairs, -1)
    delta[majority_pairs] = majority_targets
    vectors = centers
    dangling = (output >= 0) & (delta < 0)
    if dangling.any():
        delta[dangling] = n_clusters
        delta = np.append(delta, np.full(n_inputs, -1))
        output = np.append(output, np.full(n_inputs, -1))
        vectors = np.vstack([vectors, np.full((1, vectors.shape[1]), np.nan)])
        depths = None if depths is None else np.append(depths, -1)
    initial = int(np.bincount(cluster[:, 0], minlength=n_clusters).argmax())
    machine = FiniteMealy(
        delta.reshape(-1, n_inputs), output.reshape(-1, n_inputs), initial, values, labels_in, vectors, depths
    )
    return QuantisedMealy(
        machine=machine,
        transition_fidelity=fidelity,
        ambiguous=int((successors_per_pair > 1).sum()),
        per_state_fidelity=per_state,
        labels=cluster,
        centers=centers,
    )


def _kmeans(points: np.ndarray, n_clusters: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means of ``points [N, S]``: ``(cluster int [N], centres [n_clusters, S])``."""
    from sklearn.cluster import KMeans  # deferred: importing scikit-learn costs ~1 s of start-up

    kmeans = KMeans(n_clusters=n_clusters, n_init=_KMEANS_INITS, random_state=random_state)
    cluster = kmeans.fit_predict(points).astype(np.int64)
    return cluster, kmeans.cluster_centers_.astype(np.float64)


def _cluster_in_groups(
    x: np.ndarray, groups: np.ndarray, n_clusters: int, random_state: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster the states ``x [E, T, S]`` of every group apart (``groups int [E, T]``): ``(cluster
    int [E, T] numbered across groups, centres [C, S], group of each centre [C])``; a group gets
    min(n_clusters, its distinct states) clusters."""
    cluster = np.empty(groups.shape, dtype=np.int64)
    centers, owners = [], []
    for group in np.unique(groups):
        where = groups == group
        points = x[where]
        distinct, inverse = np.unique(_round(points, 9), axis=0, return_inverse=True)
        if distinct.shape[0] <= n_clusters:
            ids, group_centers = inverse.ravel().astype(np.int64), distinct
        else:
            ids, group_centers = _kmeans(points, n_clusters, random_state)
        cluster[where] = ids + sum(len(c) for c in centers)
        centers.append(group_centers)
        owners.append(np.full(len(group_centers), group))
    return cluster, np.concatenate(centers), np.concatenate(owners)


def symbolise(inputs: Tensor | np.ndarray, alphabet: Tensor | np.ndarray) -> np.ndarray:
    """``inputs [E, T, input_dim]`` -> ``int [E, T]`` index of the matching ``alphabet [K, input_dim]`` row.

    An input matches a row within 1e-6 (max abs difference), so inputs that passed through
    single precision (a float32 reward) still match.

    Raises:
        SimlibError: some input matches no alphabet row.
    """
    x = _as_numpy(inputs, np.float64)
    rows = _as_numpy(alphabet, np.float64)
    if rows.ndim != 2 or x.shape[-1] != rows.shape[1]:
        raise SimlibError(f"inputs [..., {x.shape[-1]}] do not fit alphabet {rows.shape}")
    match = np.abs(x[..., None, :] - rows).max(axis=-1) <= _MATCH_TOLERANCE
    matched = match.any(axis=-1)
    if not matched.all():
        where = tuple(int(i) for i in np.argwhere(~matched)[0])
        raise SimlibError(f"input {x[where].tolist()} at {where} is not in the alphabet")
    return match.argmax(axis=-1).astype(np.int64)
