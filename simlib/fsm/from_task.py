"""Finite machines of a StateMachine on a task: exact enumeration or quantised traces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from simlib.errors import SimlibError
from simlib.fsm.extract import QuantisedMealy, TooManyStates, extract_exact, extract_quantised, symbolise
from simlib.fsm.mealy import FiniteMealy
from simlib.fsm.minimise import minimise
from simlib.machine import StateMachine
from simlib.task import Task
from simlib.traces import sample_traces

METHODS = ("auto", "exact", "quantised")


@dataclass(frozen=True)
class Extraction:
    """A machine's finite view: the extracted machine, its minimisation and how it was made.

    ``method`` is the one used (``"exact"`` or ``"quantised"``); ``requested`` the one asked
    for (``"auto"`` chooses) and ``note`` why auto chose it. ``fidelity`` and ``ambiguous``
    describe quantised extractions (None for exact ones).
    """

    method: str
    machine: FiniteMealy
    minimal: FiniteMealy
    fidelity: float | None = None
    ambiguous: int | None = None
    requested: str | None = None
    note: str | None = None

    def summary(self) -> dict:
        """Counts as plain data."""
        return {
            "method": self.method,
            "requested_method": self.requested or self.method,
            "method_note": self.note,
            "states": self.machine.n_states,
            "transitions": int((self.machine.delta >= 0).sum()),
            "output_symbols": int(self.machine.output_values.shape[0]),
            "minimal_states": self.minimal.n_states,
            "transition_fidelity": self.fidelity,
            "ambiguous_transitions": self.ambiguous,
        }


def finite_task(task: Task) -> Task:
    """The task a finite machine is taken on: ``task.alphabet_task()`` where the task's alphabet
    covers only some of its episodes (Harlow: one stimulus pair), else ``task`` itself."""
    return task.alphabet_task() if hasattr(task, "alphabet_task") else task


def extract_on_task(
    machine: StateMachine,
    task: Task,
    method: str = "auto",
    *,
    depth: int | None = None,
    clusters: int = 64,
    episodes: int = 500,
    seed: int = 0,
    decimals: int | None = None,
    max_states: int = 100_000,
    by_level: bool | None = None,
) -> Extraction:
    """Extract a finite Mealy machine over the task's input alphabet and minimise it.

    A task whose inputs carry a clock gives ``stamp_time(rows, t)`` and ``symbols_at(t)``: its
    alphabet is then the inputs without the clock, stamped with the step at each level (see
    :func:`~simlib.fsm.extract_exact`). A task whose state constrains what can arrive next gives
    ``symbols_after(k)``, the symbols that can follow symbol k. A task whose alphabet covers only
    some of its episodes (Harlow: one pair of stimuli) gives ``alphabet_task()``, the task
    restricted to them: the machine is extracted on it.

    Args:
        method: ``"exact"`` enumerates every state reachable within ``depth`` inputs
            (default: the task horizon), at most ``max_states`` of them; ``"quantised"``
            clusters the states of ``episodes`` sampled episodes into ``clusters`` k-means
            states; ``"auto"`` is exact when the reachable states fit ``max_states`` (count-based
            Bayes agents) and quantised otherwise (networks, whose states rarely repeat); the
            result's ``method`` and ``note`` say which it used and why.
        decimals: rounding that identifies states and outputs (default 9 exact, 3 quantised).
        by_level: quantise every step's states apart, ``clusters`` each (default: where the
            task says which symbols arrive when, so the machine is layered like opt's exact one;
            with ``symbols_after``, also the states reached on each symbol apart).
    """
    if method not in METHODS:
        raise SimlibError(f"unknown extraction method {method!r}; use one of {', '.join(METHODS)}")
    if not hasattr(task, "input_alphabet"):
        raise SimlibError(f"task {task.name!r} has no finite input alphabet, so it has no finite machine")
    if isinstance(max_states, bool) or not isinstance(max_states, int) or max_states < 1:
        raise SimlibError(f"max_states must be a positive integer, got {max_states!r}")
    task = finite_task(task)
    alphabet, labels = task.input_alphabet()
    stamp, allowed = getattr(task, "stamp_time", None), getattr(task, "symbols_at", None)
    follows = getattr(task, "symbols_after", None)
    by_level = (allowed is not None or follows is not None) if by_level is None else by_level
    note = None
    if method in ("exact", "auto"):
        depth = task.horizon if depth is None else depth
        try:
            finite = extract_exact(machine, alphabet, labels, depth, decimals=decimals or 9, max_states=max_states,
                                   stamp=stamp, allowed=allowed, follows=follows)
        except TooManyStates as error:
            if method == "exact":
                raise TooManyStates(f"{error}, or use quantised extraction") from None
            note = f"auto: more than {max_states} reachable states within {depth} inputs (max_states), so quantised"
        else:
            if method == "auto":
                note = f"auto: all {finite.n_states} reachable states within {depth} inputs fit max_states={max_states}"
            return Extraction("exact", finite, minimise(finite)[0], requested=method, note=note)
    if by_level:
        apart = "step and last input" if follows is not None else "step"
        note = f"{note}; " if note else ""
        note += f"{clusters} k-means clusters per {apart}, so no cluster mixes them"
    else:
        note = f"{note} into {clusters} clusters" if note else None
    traces = sample_traces(task, {"m": machine}, episodes, seed)
    inputs = traces["input"].values
    if stamp is not None:
        inputs = stamp(torch.from_numpy(inputs), 0).numpy()
    quantised: QuantisedMealy = extract_quantised(
        traces["m_state"].values,
        symbolise(inputs, alphabet),
        traces["m_output"].values,
        labels,
        clusters,
        random_state=seed,
        decimals=3 if decimals is None else decimals,
        by_level=by_level,
        by_last_symbol=by_level and follows is not None,
    )
    return Extraction(
        "quantised",
        quantised.machine,
        minimise(quantised.machine)[0],
        quantised.transition_fidelity,
        quantised.ambiguous,
        requested=method,
        note=note,
    )


@torch.no_grad()
def outputs_on_word(machine: StateMachine, task: Task, word: Sequence[str]) -> np.ndarray:
    """What ``machine`` itself (not a finite machine extracted from it) emits on the inputs of
    ``word`` (labels of the task's input alphabet, each stamped with its step where the inputs
    carry a clock): ``[len(word), output_dim]`` float64. A quantised machine's counterexample is
    checked against the network this way."""
    task = finite_task(task)
    alphabet, labels = task.input_alphabet()
    stamp = getattr(task, "stamp_time", None)
    unknown = [label for label in word if label not in labels]
    if unknown:
        raise SimlibError(f"{unknown[0]!r} is not an input of {task.name}; its inputs are {', '.join(labels)}")
    state, outputs = machine.initial_state(1), []
    for t, label in enumerate(word):
        row = alphabet[labels.index(label)][None, :]
        row = row if stamp is None else torch.as_tensor(stamp(row, t))
        output, state = machine.step(row.to(state.device), state)
        outputs.append(output[0].double().cpu().numpy())
    return np.stack(outputs) if outputs else np.zeros((0, machine.output.n_params))
