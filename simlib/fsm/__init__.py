"""Finite Mealy machines on integer arrays: extraction, minimisation, simulation, bisimulation."""

from simlib.fsm.extract import QuantisedMealy, extract_exact, extract_quantised, symbolise
from simlib.fsm.from_task import Extraction, extract_on_task, finite_task, outputs_on_word
from simlib.fsm.graph import from_networkx, to_networkx, write_graph
from simlib.fsm.mealy import FiniteMealy
from simlib.fsm.minimise import minimise
from simlib.fsm.views import greedy_outputs, greedy_view
from simlib.fsm.relations import (
    bisimilar,
    counterexample,
    disagreement,
    distinguishing_word,
    last_outputs,
    outputs_match,
    simulates,
    simulation_preorder,
)

__all__ = [
    "Extraction",
    "FiniteMealy",
    "QuantisedMealy",
    "bisimilar",
    "counterexample",
    "disagreement",
    "distinguishing_word",
    "last_outputs",
    "extract_exact",
    "extract_on_task",
    "extract_quantised",
    "finite_task",
    "from_networkx",
    "greedy_outputs",
    "greedy_view",
    "minimise",
    "outputs_match",
    "outputs_on_word",
    "simulates",
    "simulation_preorder",
    "symbolise",
    "to_networkx",
    "write_graph",
]
