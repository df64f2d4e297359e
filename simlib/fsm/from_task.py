"""Finite machines of a StateMachine on a task: exact enumeration or quantised traces."""

from __future__ import annotations

from dataclasses import dataclass

from simlib.errors import SimlibError
from simlib.fsm.extract import QuantisedMealy, extract_exact, extract_quantised, symbolise
from simlib.fsm.mealy import FiniteMealy
from simlib.fsm.minimise import minimise
from simlib.machine import StateMachine
from simlib.task import Task
from simlib.traces import sample_traces

METHODS = ("exact", "quantised")


@dataclass(frozen=True)
class Extraction:
    """A machine's finite view: the extracted machine, its minimisation and how it was made.

    ``fidelity`` and ``ambiguous`` describe quantised extractions (None for exact ones).
    """

    method: str
    machine: FiniteMealy
    minimal: FiniteMealy
    fidelity: float | None = None
    ambiguous: int | None = None

    def summary(self) -> dict:
        """Counts as plain data."""
        return {
            "method": self.method,
            "states": self.machine.n_states,
            "transitions": int((self.machine.delta >= 0).sum()),
            "output_symbols": int(self.machine.output_values.shape[0]),
            "minimal_states": self.minimal.n_states,
            "transition_fidelity": self.fidelity,
            "ambiguous_transitions": self.ambiguous,
        }


def extract_on_task(
    machine: StateMachine,
    task: Task,
    method: str = "exact",
    *,
    depth: int | None = None,
    clusters: int = 64,
    episodes: int = 500,
    seed: int = 0,
    decimals: int | None = None,
    max_states: int = 100_000,
) -> Extraction:
    """Extract a finite Mealy machine over the task's input alphabet and minimise it.

    Args:
        method: ``"exact"`` enumerates every state reachable within ``depth`` inputs
            (default: the task horizon); ``"quantised"`` clusters the states of ``episodes``
            sampled episodes into ``clusters`` k-means states.
        decimals: rounding that identifies states and outputs (default 9 exact, 3 quantised).
    """
    if method not in METHODS:
        raise SimlibError(f"unknown extraction method {method!r}; use one of {METHODS}")
    if not hasattr(task, "input_alphabet"):
        raise SimlibError(f"task {task.name!r} has no finite input alphabet, so it has no finite machine")
    alphabet, labels = task.input_alphabet()
    if method == "exact":
        depth = task.horizon if depth is None else depth
        try:
            finite = extract_exact(machine, alphabet, labels, depth, decimals=decimals or 9, max_states=max_states)
        except SimlibError as error:
            raise SimlibError(f"{error}, or use quantised extraction") from None
        return Extraction("exact", finite, minimise(finite)[0])
    traces = sample_traces(task, {"m": machine}, episodes, seed)
    quantised: QuantisedMealy = extract_quantised(
        traces["m_state"].values,
        symbolise(traces["input"].values, alphabet),
        traces["m_output"].values,
        labels,
        clusters,
        random_state=seed,
        decimals=3 if decimals is None else decimals,
    )
    return Extraction(
        "quantised",
        quantised.machine,
        minimise(quantised.machine)[0],
        quantised.transition_fidelity,
        quantised.ambiguous,
    )
