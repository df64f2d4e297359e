"""Minimisation of a finite (partial) Mealy machine by partition refinement."""

from __future__ import annotations

import numpy as np

from simlib.fsm.mealy import FiniteMealy


def _refine(delta: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Coarsest stable partition: ``int [n_states]`` block of each state (arbitrary numbering).

    Starts from the output rows (-1 = undefined) and splits by (block, successor blocks)
    until the number of blocks stops growing.
    """
    block = np.unique(output, axis=0, return_inverse=True)[1].ravel()
    n_blocks = block.max() + 1
    while True:
        successor_blocks = np.where(delta >= 0, block[delta], -1)
        signature = np.column_stack([block, successor_blocks])
        refined = np.unique(signature, axis=0, return_inverse=True)[1].ravel()
        if refined.max() + 1 == n_blocks:
            return block
        block, n_blocks = refined, refined.max() + 1


def minimise(m: FiniteMealy) -> tuple[FiniteMealy, np.ndarray]:
    """The minimal machine behaving like ``m`` from its initial state.

    Unreachable states are dropped, then equivalent states (same definedness and outputs on
    every word) are merged. Blocks are numbered by first reach in breadth-first order, so the
    initial block is 0; each block keeps the state vector and depth of its first-reached state.

    Returns:
        ``(minimal machine, block [m.n_states])``: the block of every original state, -1 for
        unreachable ones.
    """
    order = m.bfs_order()
    reachable = m.reachable()
    sub = m.restrict(reachable)
    sub_index = np.cumsum(reachable) - 1
    block = _refine(sub.delta, sub.output)
    blocks_in_order = block[sub_index[order]]
    first = np.sort(np.unique(blocks_in_order, return_index=True)[1])
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[blocks_in_order[first]] = np.arange(len(first))
    representatives = sub_index[order[first]]
    delta = sub.delta[representatives]
    minimal = FiniteMealy(
        delta=np.where(delta >= 0, renumber[block[delta]], -1),
        output=sub.output[representatives],
        initial=0,
        output_values=m.output_values,
        input_labels=m.input_labels,
        state_vectors=None if sub.state_vectors is None else sub.state_vectors[representatives],
        state_depth=None if sub.state_depth is None else sub.state_depth[representatives],
    )
    original_block = np.full(m.n_states, -1, dtype=np.int64)
    original_block[reachable] = renumber[block]
    return minimal, original_block
