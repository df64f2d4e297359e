"""Simulation preorder and bisimulation between two finite (partial) Mealy machines.

The machines may come from different extractions: their output symbols are matched by value
(rounded to ``decimals``); their inputs must carry identical labels.
"""

from __future__ import annotations

import numpy as np

from simlib.errors import SimlibError
from simlib.fsm.mealy import FiniteMealy


def _check_comparable(a: FiniteMealy, b: FiniteMealy) -> None:
    """Raise unless the machines share their input labels and the width of their outputs."""
    if a.input_labels != b.input_labels:
        raise SimlibError(f"machines have different inputs: {a.input_labels} vs {b.input_labels}")
    width_a, width_b = a.output_values.shape[1], b.output_values.shape[1]
    if width_a != width_b:
        raise SimlibError(f"machines have outputs of different widths: {width_a} vs {width_b}")


def _aligned_outputs(a: FiniteMealy, b: FiniteMealy, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """Both output arrays ``[n_states, n_inputs]`` re-expressed in one shared symbol table (-1 kept)."""
    _check_comparable(a, b)
    values = np.round(np.concatenate([a.output_values, b.output_values]), decimals) + 0.0
    shared = np.unique(values, axis=0, return_inverse=True)[1].ravel().astype(np.int64)
    split = a.n_symbols
    return np.append(shared[:split], -1)[a.output], np.append(shared[split:], -1)[b.output]


def simulation_preorder(n: FiniteMealy, m: FiniteMealy, *, decimals: int = 9) -> np.ndarray:
    """``bool [n.n_states, m.n_states]``: ``R[s, t]`` iff state t of m simulates state s of n.

    The greatest relation such that wherever n is defined at (s, i), m is defined at (t, i)
    with the same output and ``R[delta_n(s, i), delta_m(t, i)]``; computed as a greatest
    fixpoint over the whole matrix.
    """
    out_n, out_m = _aligned_outputs(n, m, decimals)
    defined_n, defined_m = n.delta >= 0, m.delta >= 0
    next_n, next_m = np.where(defined_n, n.delta, 0), np.where(defined_m, m.delta, 0)
    relation = np.ones((n.n_states, m.n_states), dtype=bool)
    for i in range(n.n_inputs):
        matches = defined_m[None, :, i] & (out_n[:, i, None] == out_m[None, :, i])
        relation &= ~defined_n[:, i, None] | matches
    while True:
        refined = relation.copy()
        for i in range(n.n_inputs):
            refined &= ~defined_n[:, i, None] | relation[np.ix_(next_n[:, i], next_m[:, i])]
        if refined.sum() == relation.sum():
            return relation
        relation = refined


def outputs_match(values_a: np.ndarray, values_b: np.ndarray, *, within: bool = False, decimals: int = 9) -> np.ndarray:
    """``bool [Na, Nb]``: whether output vector ``values_a[i]`` matches ``values_b[j]`` -- equal
    (rounded to ``decimals``), or with ``within`` a's support (its nonzero entries) inside b's,
    where a row of -1 ("any") covers everything."""
    values_a = np.round(np.asarray(values_a, dtype=np.float64), decimals) + 0.0
    values_b = np.round(np.asarray(values_b, dtype=np.float64), decimals) + 0.0
    if not within:
        return (values_a[:, None, :] == values_b[None, :, :]).all(axis=2)
    support_a, support_b = values_a != 0, values_b != 0
    support_b |= (values_b == -1).all(axis=1, keepdims=True)
    return ~(support_a[:, None, :] & ~support_b[None, :, :]).any(axis=2)


def _first_failure(
    a: FiniteMealy, b: FiniteMealy, symmetric: bool, decimals: int, definedness: bool = True, within: bool = False
) -> list[str] | None:
    """Shortest word (labels) from the initial pair on which the product fails, else None.

    Fails where both are defined and the outputs do not match (:func:`outputs_match`), and
    (``definedness``) where a is defined and b is not; with ``symmetric`` also where b is
    defined and a is not. Breadth-first over reachable state pairs, level by level.
    """
    _check_comparable(a, b)
    matching = outputs_match(a.output_values, b.output_values, within=within, decimals=decimals)
    width = b.n_states
    visited = np.array([a.initial * width + b.initial])
    levels = [(visited, np.array([-1]), np.array([-1]))]
    while True:
        codes = levels[-1][0]
        s, t = codes // width, codes % width
        next_a, next_b = a.delta[s], b.delta[t]
        defined_a, defined_b = next_a >= 0, next_b >= 0
        same = (a.output[s] >= 0) & (b.output[t] >= 0) & matching[np.maximum(a.output[s], 0), np.maximum(b.output[t], 0)]
        fail = defined_a & (~defined_b | ~same) if definedness else defined_a & defined_b & ~same
        if symmetric:
            fail |= defined_b & ~defined_a
        if fail.any():
            pair, symbol = np.argwhere(fail)[0]
            return _word(levels, int(pair), int(symbol), a.input_labels)
        parent, symbol = np.nonzero(defined_a & defined_b & same)
        successors = next_a[parent, symbol] * width + next_b[parent, symbol]
        first = np.sort(np.unique(successors, return_index=True)[1])
        first = first[~np.isin(successors[first], visited)]
        if first.size == 0:
            return None
        visited = np.concatenate([visited, successors[first]])
        levels.append((successors[first], parent[first], symbol[first]))


def _word(
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]], pair: int, symbol: int, labels: tuple[str, ...]
) -> list[str]:
    """Read the word back through the BFS levels' (codes, parent, symbol) arrays."""
    word = [labels[symbol]]
    for _, parents, symbols in reversed(levels[1:]):
        word.append(labels[symbols[pair]])
        pair = parents[pair]
    return word[::-1]


def counterexample(n: FiniteMealy, m: FiniteMealy, *, decimals: int = 9, within: bool = False) -> list[str] | None:
    """Shortest word on which n is defined but m is undefined or outputs otherwise; None if m simulates n.

    ``within``: n's output matches m's where n's support lies inside m's -- every action n
    takes, m takes too (a greedy view of an agent against a Bayes agent's set of optimal actions).
    """
    return _first_failure(n, m, symmetric=False, decimals=decimals, within=within)


def disagreement(a: FiniteMealy, b: FiniteMealy, *, decimals: int = 9, within: bool = False) -> list[str] | None:
    """Shortest word on which both machines are defined and their outputs do not match; None if
    they agree wherever both are defined (the check for partial machines, such as quantised ones,
    which leave unobserved transitions undefined). ``within`` as in :func:`counterexample`."""
    return _first_failure(a, b, symmetric=False, decimals=decimals, definedness=False, within=within)


def last_outputs(word: list[str], *machines: FiniteMealy) -> list[np.ndarray | None]:
    """The output vector each machine emits on the last input of ``word`` (None where the word
    runs into an undefined transition): what two machines disagree on at a counterexample."""
    said = []
    for machine in machines:
        run = machine.run(word)
        said.append(None if run is None or not run[0] else machine.output_values[run[0][-1]])
    return said


def simulates(m: FiniteMealy, n: FiniteMealy, *, decimals: int = 9) -> bool:
    """Whether m, from its initial state, simulates n from its initial state."""
    return counterexample(n, m, decimals=decimals) is None


def distinguishing_word(a: FiniteMealy, b: FiniteMealy, *, decimals: int = 9) -> list[str] | None:
    """Shortest word on which a and b differ in definedness or output; None if bisimilar."""
    return _first_failure(a, b, symmetric=True, decimals=decimals)


def bisimilar(a: FiniteMealy, b: FiniteMealy, *, decimals: int = 9) -> bool:
    """Whether a and b (deterministic) are bisimilar from their initial states."""
    return distinguishing_word(a, b, decimals=decimals) is None
