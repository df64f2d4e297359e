"""Exchange format: a :class:`FiniteMealy` as a ``networkx.MultiDiGraph``, and graph files.

Graph attributes: ``input_labels``, ``output_values`` (list per symbol), ``n_params``, ``has_depth``, and
``state_dim`` when states carry vectors. Nodes ``0..n_states-1``: ``initial`` (bool), ``state``
(list of floats, absent for synthetic states), ``depth`` (when known). One edge per defined
transition, keyed by its input label: ``input``, ``output`` (the output vector),
``output_symbol``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import numpy as np

from simlib.errors import SimlibError
from simlib.fsm.mealy import FiniteMealy
from simlib.io import atomic_path

_LIST_ATTRIBUTES = frozenset({"input_labels", "output_values", "state", "output"})


def to_networkx(m: FiniteMealy) -> nx.MultiDiGraph:
    """The machine as a MultiDiGraph (see the module docstring for the attributes)."""
    graph = nx.MultiDiGraph(
        input_labels=list(m.input_labels),
        output_values=m.output_values.tolist(),
        n_params=int(m.output_values.shape[1]),
        has_depth=m.state_depth is not None,
    )
    if m.state_vectors is not None:
        graph.graph["state_dim"] = int(m.state_vectors.shape[1])
    for state in range(m.n_states):
        attributes: dict = {"initial": state == m.initial}
        if m.state_vectors is not None and not np.isnan(m.state_vectors[state]).all():
            attributes["state"] = m.state_vectors[state].tolist()
        if m.state_depth is not None and m.state_depth[state] >= 0:
            attributes["depth"] = int(m.state_depth[state])
        graph.add_node(state, **attributes)
    for state, i in np.argwhere(m.delta >= 0):
        symbol = int(m.output[state, i])
        graph.add_edge(
            int(state),
            int(m.delta[state, i]),
            key=m.input_labels[i],
            input=m.input_labels[i],
            output=m.output_values[symbol].tolist(),
            output_symbol=symbol,
        )
    return graph


def _decoded(value: object) -> object:
    """List attributes arrive as JSON strings from GraphML/GML files."""
    return json.loads(value) if isinstance(value, str) else value


def from_networkx(graph: nx.MultiDiGraph) -> FiniteMealy:
    """Inverse of :func:`to_networkx`; also accepts graphs read back from :func:`write_graph` files.

    Raises:
        SimlibError: missing attributes, nodes not ``0..n-1``, or two edges for one (state, input).
    """
    try:
        labels = tuple(_decoded(graph.graph["input_labels"]))
        rows = _decoded(graph.graph["output_values"])
        values = np.asarray(rows, dtype=np.float64).reshape(len(rows), int(graph.graph["n_params"]))
    except KeyError as missing:
        raise SimlibError(f"graph lacks the attribute {missing}; was it written by to_networkx?") from None
    nodes = {int(node): data for node, data in graph.nodes(data=True)}
    n_states = len(nodes)
    if sorted(nodes) != list(range(n_states)):
        raise SimlibError("graph nodes must be the states 0..n_states-1")
    initial = [state for state, data in nodes.items() if data.get("initial")]
    if len(initial) != 1:
        raise SimlibError(f"graph must mark exactly one initial node, found {len(initial)}")
    delta = np.full((n_states, len(labels)), -1, dtype=np.int64)
    output = np.full_like(delta, -1)
    for u, v, data in graph.edges(data=True):
        state, i = int(u), labels.index(data["input"])
        if delta[state, i] >= 0:
            raise SimlibError(f"state {state} has two transitions on input {labels[i]!r}")
        delta[state, i], output[state, i] = int(v), int(data["output_symbol"])
    vectors = None
    if "state_dim" in graph.graph:
        vectors = np.full((n_states, int(graph.graph["state_dim"])), np.nan)
        for state, data in nodes.items():
            if "state" in data:
                vectors[state] = _decoded(data["state"])
    depth = None
    if graph.graph.get("has_depth"):
        depth = np.array([int(nodes[state].get("depth", -1)) for state in range(n_states)])
    return FiniteMealy(delta, output, initial[0], values, labels, vectors, depth)


def _with_json_lists(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose list attributes are JSON strings (GraphML and GML hold only scalars)."""

    def encode(attributes: dict) -> dict:
        return {k: json.dumps(v) if k in _LIST_ATTRIBUTES else v for k, v in attributes.items()}

    flat = nx.MultiDiGraph(**encode(graph.graph))
    flat.add_nodes_from((node, encode(data)) for node, data in graph.nodes(data=True))
    flat.add_edges_from((u, v, key, encode(data)) for u, v, key, data in graph.edges(keys=True, data=True))
    return flat


def _write_json(graph: nx.MultiDiGraph, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(nx.node_link_data(graph, edges="edges"), handle)


def _write_graphml(graph: nx.MultiDiGraph, path: str) -> None:
    nx.write_graphml(_with_json_lists(graph), path)


def _write_gml(graph: nx.MultiDiGraph, path: str) -> None:
    nx.write_gml(_with_json_lists(graph), path)


_WRITERS = {".json": _write_json, ".graphml": _write_graphml, ".gml": _write_gml}


def write_graph(m: FiniteMealy, path: str | os.PathLike) -> Path:
    """Write ``m`` as ``.graphml``, ``.gml`` or ``.json`` (node-link), chosen by suffix.

    Written to a temporary file in the same folder, then moved into place, so ``path`` is
    never half-written. Returns the path.

    Raises:
        SimlibError: unknown suffix.
    """
    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        raise SimlibError(f"cannot write a graph to {path.name!r}: use one of {', '.join(sorted(_WRITERS))}")
    graph = to_networkx(m)
    with atomic_path(path) as temporary:
        writer(graph, str(temporary))
    return path
