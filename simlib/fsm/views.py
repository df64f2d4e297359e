"""Views of a policy machine that keep only the decisions a comparison should judge."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simlib.errors import SimlibError
from simlib.fsm.mealy import FiniteMealy

TIE_MARGIN = 0.2
"""Actions whose probabilities lie within this of the largest count as tied in a decision view."""


def greedy_outputs(policies: np.ndarray, margin: float) -> np.ndarray:
    """``policies [N, A]`` -> ``[N, A]`` the uniform policy over the actions within ``margin`` of
    the most probable one: ``[1, 0]`` for a clear preference, ``[0.5, 0.5]`` for a tie."""
    policies = np.asarray(policies, dtype=np.float64)
    chosen = policies >= policies.max(axis=1, keepdims=True) - margin
    return chosen / chosen.sum(axis=1, keepdims=True)


def greedy_view(
    machine: FiniteMealy,
    margin: float,
    *,
    indifferent: Sequence[bool] | None = None,
    start: str | None = None,
) -> FiniteMealy:
    """``machine`` (whose outputs are policies) with every output replaced by its greedy choice
    (:func:`greedy_outputs`), so machines that make the same decisions with different
    confidence look alike.

    Args:
        margin: actions whose probabilities lie within it of the largest count as tied.
        indifferent: ``[K]`` flags of the inputs after which every action is equally good; their
            outputs become one "any" symbol (a row of -1).
        start: the view starts where ``machine`` is after this input, so words begin after it.
    """
    values = np.asarray(machine.output_values, dtype=np.float64)
    n_actions = values.shape[1]
    rows = np.vstack([greedy_outputs(values, margin), np.full((1, n_actions), -1.0)])
    table, code = np.unique(np.round(rows, 9), axis=0, return_inverse=True)
    code = code.ravel()
    output = np.where(machine.output >= 0, code[:-1][np.maximum(machine.output, 0)], -1)
    if indifferent is not None:
        flags = np.asarray(indifferent, dtype=bool)
        if flags.shape != (machine.n_inputs,):
            raise SimlibError(f"indifferent must give {machine.n_inputs} flags, got shape {flags.shape}")
        output = np.where((machine.output >= 0) & flags[None, :], code[-1], output)
    initial = machine.initial
    if start is not None:
        initial = int(machine.delta[machine.initial, list(machine.input_labels).index(start)])
        if initial < 0:
            raise SimlibError(f"the machine has no transition on the {start!r} input")
    return FiniteMealy(machine.delta, output, initial, table, machine.input_labels, machine.state_vectors,
                       machine.state_depth)
