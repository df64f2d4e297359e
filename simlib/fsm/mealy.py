"""A finite deterministic (possibly partial) Mealy machine on integer arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simlib.errors import SimlibError


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy, so a frozen machine cannot be changed through its arrays."""
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class FiniteMealy:
    """States ``0..n_states-1``, inputs ``0..n_inputs-1``, output symbols ``0..n_symbols-1``.

    Attributes:
        delta: ``int [n_states, n_inputs]`` next state, ``-1`` where the machine is undefined.
        output: ``int [n_states, n_inputs]`` output symbol, ``-1`` exactly where delta is ``-1``.
        initial: the start state.
        output_values: ``float [n_symbols, n_params]`` the output vector each symbol stands for.
        input_labels: one distinct label per input.
        state_vectors: optional ``float [n_states, state_dim]`` representative continuous state
            of each state; a NaN row for synthetic states (such as an absorbing END).
        state_depth: optional ``int [n_states]`` extraction depth, ``-1`` where unknown.
    """

    delta: np.ndarray
    output: np.ndarray
    initial: int
    output_values: np.ndarray
    input_labels: tuple[str, ...]
    state_vectors: np.ndarray | None = None
    state_depth: np.ndarray | None = None

    def __post_init__(self) -> None:
        delta = np.asarray(self.delta)
        output = np.asarray(self.output)
        values = np.asarray(self.output_values, dtype=np.float64)
        labels = tuple(str(label) for label in self.input_labels)
        if delta.ndim != 2 or delta.shape[0] < 1:
            raise SimlibError(f"delta must be [n_states >= 1, n_inputs], got shape {delta.shape}")
        if not (np.issubdtype(delta.dtype, np.integer) and np.issubdtype(output.dtype, np.integer)):
            raise SimlibError("delta and output must be integer arrays")
        if output.shape != delta.shape:
            raise SimlibError(f"output shape {output.shape} differs from delta shape {delta.shape}")
        n_states, n_inputs = delta.shape
        if values.ndim != 2:
            raise SimlibError(f"output_values must be [n_symbols, n_params], got shape {values.shape}")
        if len(labels) != n_inputs or len(set(labels)) != n_inputs:
            raise SimlibError(f"need {n_inputs} distinct input labels, got {labels}")
        if delta.size and (delta.min() < -1 or delta.max() >= n_states):
            raise SimlibError(f"delta entries must lie in -1..{n_states - 1}")
        if not np.array_equal(delta < 0, output < 0):
            raise SimlibError("output must be -1 exactly where delta is -1")
        if output.size and output.max() >= values.shape[0]:
            raise SimlibError(f"output symbol {output.max()} has no row in output_values")
        initial = int(self.initial)
        if not 0 <= initial < n_states:
            raise SimlibError(f"initial state {initial} is not in 0..{n_states - 1}")
        object.__setattr__(self, "delta", _frozen(delta.astype(np.int64)))
        object.__setattr__(self, "output", _frozen(output.astype(np.int64)))
        object.__setattr__(self, "initial", initial)
        object.__setattr__(self, "output_values", _frozen(values))
        object.__setattr__(self, "input_labels", labels)
        if self.state_vectors is not None:
            vectors = np.asarray(self.state_vectors, dtype=np.float64)
            if vectors.ndim != 2 or vectors.shape[0] != n_states:
                raise SimlibError(f"state_vectors must be [{n_states}, state_dim], got {vectors.shape}")
            object.__setattr__(self, "state_vectors", _frozen(vectors))
        if self.state_depth is not None:
            depth = np.asarray(self.state_depth)
            if depth.shape != (n_states,) or not np.issubdtype(depth.dtype, np.integer):
                raise SimlibError(f"state_depth must be an int array [{n_states}], got {depth.shape}")
            object.__setattr__(self, "state_depth", _frozen(depth.astype(np.int64)))

    @property
    def n_states(self) -> int:
        return int(self.delta.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.delta.shape[1])

    @property
    def n_symbols(self) -> int:
        return int(self.output_values.shape[0])

    def input_index(self, symbol: str | int) -> int:
        """The input id of a label (or an id, checked)."""
        if isinstance(symbol, (int, np.integer)):
            if not 0 <= symbol < self.n_inputs:
                raise SimlibError(f"input id {symbol} is not in 0..{self.n_inputs - 1}")
            return int(symbol)
        try:
            return self.input_labels.index(symbol)
        except ValueError:
            raise SimlibError(f"unknown input {symbol!r}; inputs are {self.input_labels}") from None

    def bfs_order(self) -> np.ndarray:
        """``int [n_reachable]``: reachable states in breadth-first order (inputs in id order)."""
        seen = np.zeros(self.n_states, dtype=bool)
        seen[self.initial] = True
        order, frontier = [np.array([self.initial])], np.array([self.initial])
        while frontier.size:
            successors = self.delta[frontier].ravel()
            successors = successors[successors >= 0]
            _, first = np.unique(successors, return_index=True)
            successors = successors[np.sort(first)]
            frontier = successors[~seen[successors]]
            seen[frontier] = True
            order.append(frontier)
        return np.concatenate(order)

    def reachable(self) -> np.ndarray:
        """``bool [n_states]``: states reachable from the initial state."""
        mask = np.zeros(self.n_states, dtype=bool)
        mask[self.bfs_order()] = True
        return mask

    def restrict(self, mask: np.ndarray) -> FiniteMealy:
        """The sub-machine on the states where ``mask [n_states]`` is True, renumbered in order.

        Transitions into dropped states become undefined. The initial state must be kept.
        """
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_states,) or not mask[self.initial]:
            raise SimlibError("restrict needs a bool mask over all states that keeps the initial state")
        new_index = np.where(mask, np.cumsum(mask) - 1, -1)
        delta = self.delta[mask]
        delta = np.where(delta >= 0, new_index[delta], -1)
        output = np.where(delta >= 0, self.output[mask], -1)
        return FiniteMealy(
            delta=delta,
            output=output,
            initial=int(new_index[self.initial]),
            output_values=self.output_values,
            input_labels=self.input_labels,
            state_vectors=None if self.state_vectors is None else self.state_vectors[mask],
            state_depth=None if self.state_depth is None else self.state_depth[mask],
        )

    def run(self, word: Sequence[str | int], start: int | None = None) -> tuple[list[int], int] | None:
        """Feed ``word`` (labels or input ids) from ``start`` (default: initial).

        Returns ``(output symbols, final state)``, or None if a transition is undefined; map the
        symbols to vectors with ``output_values``.
        """
        state = self.initial if start is None else int(start)
        outputs = []
        for symbol in word:
            i = self.input_index(symbol)
            if self.delta[state, i] < 0:
                return None
            outputs.append(int(self.output[state, i]))
            state = int(self.delta[state, i])
        return outputs, state

    def equals(self, other: FiniteMealy) -> bool:
        """Exact structural equality (same numbering; NaN equals NaN in the optional arrays)."""

        def same(x: np.ndarray | None, y: np.ndarray | None) -> bool:
            if x is None or y is None:
                return x is None and y is None
            return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))

        return (
            self.initial == other.initial
            and self.input_labels == other.input_labels
            and same(self.delta, other.delta)
            and same(self.output, other.output)
            and same(self.output_values, other.output_values)
            and same(self.state_vectors, other.state_vectors)
            and same(self.state_depth, other.state_depth)
        )
