"""Finite Mealy machines: extraction, minimisation, simulation, bisimulation, graph exchange."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest
import torch

from simlib.errors import SimlibError
from simlib.fsm import (
    FiniteMealy,
    bisimilar,
    counterexample,
    distinguishing_word,
    extract_exact,
    extract_quantised,
    from_networkx,
    minimise,
    simulates,
    simulation_preorder,
    symbolise,
    to_networkx,
    write_graph,
)
from simlib.machine import unroll
from simlib.machines.beta_bernoulli import CountPredictor, ForgetfulPredictor, HistoryPredictor
from simlib.tasks.beta_bernoulli import BetaBernoulli

DEPTH = 8
ALPHABET, LABELS = BetaBernoulli(horizon=DEPTH).input_alphabet()


@pytest.fixture(scope="module")
def count() -> FiniteMealy:
    return extract_exact(CountPredictor(), ALPHABET, LABELS, DEPTH)


@pytest.fixture(scope="module")
def history() -> FiniteMealy:
    # Capacity 9, not 8: leaves (8 flips) are stepped once more to record their outputs, and a
    # 9th flip must be stored for the readout to stay Bayes-optimal (see the capacity-8 test).
    return extract_exact(HistoryPredictor(capacity=DEPTH + 1), ALPHABET, LABELS, DEPTH)


# ---------------------------------------------------------------- brute-force oracles


def failure_lengths(a: FiniteMealy, b: FiniteMealy, max_len: int, symmetric: bool, starts=None):
    """Length of the shortest failing word from each start pair (0 = none up to ``max_len``).

    ``starts``: ``[N, 2]`` (state of a, state of b) pairs, giving ``[N]``; default every pair,
    giving ``[a.n_states, b.n_states]``.

    Enumerates every word explicitly (one array entry per word, no merging by state). A word
    fails where a is defined and b is undefined or outputs another value; with ``symmetric``
    also where b is defined and a is not. Words on which a is undefined (or, symmetric, both)
    have only undefined extensions, so they are dropped.
    """
    every_pair = starts is None
    if every_pair:
        starts = np.stack(np.meshgrid(np.arange(a.n_states), np.arange(b.n_states), indexing="ij"), -1)
    starts = np.asarray(starts).reshape(-1, 2)
    k = a.n_inputs
    origin = np.arange(len(starts))
    sa, sb = starts[:, 0], starts[:, 1]
    result = np.zeros(len(starts), dtype=int)
    for length in range(1, max_len + 1):
        origin, sa, sb = np.repeat(origin, k), np.repeat(sa, k), np.repeat(sb, k)
        symbol = np.tile(np.arange(k), len(sa) // k)
        da, db = a.delta[sa, symbol], b.delta[sb, symbol]
        va, vb = a.output_values[a.output[sa, symbol]], b.output_values[b.output[sb, symbol]]
        both = (da >= 0) & (db >= 0) & np.all(va == vb, axis=1)
        fail = (da >= 0) & ~both
        if symmetric:
            fail |= (db >= 0) & (da < 0)
        result[np.unique(origin[fail])] = length
        keep = both & (result[origin] == 0)
        origin, sa, sb = origin[keep], da[keep], db[keep]
        if not origin.size:
            break
    return result.reshape(a.n_states, b.n_states) if every_pair else result


def random_machine(rng: np.random.Generator, n_states: int, n_symbols: int, p_undefined: float = 0.3):
    delta = rng.integers(0, n_states, size=(n_states, 2))
    output = rng.integers(0, n_symbols, size=(n_states, 2))
    undefined = rng.random((n_states, 2)) < p_undefined
    delta[undefined], output[undefined] = -1, -1
    values = np.arange(n_symbols, dtype=float)[:, None]
    return FiniteMealy(delta, output, int(rng.integers(n_states)), values, ("a", "b"))


def relabelled_extension(rng: np.random.Generator, m: FiniteMealy) -> FiniteMealy:
    """m with its undefined transitions filled at random, states and symbols permuted."""
    delta, output = m.delta.copy(), m.output.copy()
    undefined = delta < 0
    fill = rng.random(delta.shape) < 0.5
    delta[undefined & fill] = rng.integers(0, m.n_states, size=(undefined & fill).sum())
    output[undefined & fill] = rng.integers(0, m.n_symbols, size=(undefined & fill).sum())
    states, symbols = rng.permutation(m.n_states), rng.permutation(m.n_symbols)
    inverse_states = np.argsort(states)
    delta = np.where(delta >= 0, states[delta], -1)[inverse_states]
    output = np.where(output >= 0, symbols[output], -1)[inverse_states]
    values = np.empty_like(m.output_values)
    values[symbols] = m.output_values
    return FiniteMealy(delta, output, int(states[m.initial]), values, m.input_labels)


def random_pairs(count_: int, seed: int):
    rng = np.random.default_rng(seed)
    for trial in range(count_):
        n = random_machine(rng, int(rng.integers(2, 5)), int(rng.integers(2, 4)))
        if trial % 2:
            yield n, relabelled_extension(rng, n)
        else:
            yield n, random_machine(rng, int(rng.integers(2, 5)), int(rng.integers(2, 4)))


def outputs_along(m: FiniteMealy, word: list[str]) -> list[tuple[float, ...]] | None:
    run = m.run(word)
    return None if run is None else [tuple(m.output_values[symbol]) for symbol in run[0]]


# ---------------------------------------------------------------- FiniteMealy


def test_mealy_validation_run_and_restrict() -> None:
    values = np.array([[0.0], [1.0]])
    m = FiniteMealy(np.array([[1, -1], [0, 1]]), np.array([[0, -1], [1, 0]]), 0, values, ("a", "b"))
    assert m.run(["a", "b", "a"]) == ([0, 0, 1], 0)
    assert m.run(["b"]) is None
    assert m.run([1, 0], start=1) == ([0, 1], 0)
    with pytest.raises(ValueError):
        m.delta[0, 0] = 1
    with pytest.raises(SimlibError):
        FiniteMealy(np.array([[1, -1]]), np.array([[0, -1]]), 0, values, ("a", "b"))  # state 1 missing
    with pytest.raises(SimlibError):
        FiniteMealy(np.array([[0, -1]]), np.array([[0, 0]]), 0, values, ("a", "b"))  # output where undefined
    with pytest.raises(SimlibError):
        FiniteMealy(np.array([[0, 0]]), np.array([[0, 2]]), 0, values, ("a", "b"))  # no such symbol
    with pytest.raises(SimlibError):
        FiniteMealy(np.array([[0, 0]]), np.array([[0, 0]]), 0, values, ("a", "a"))
    with pytest.raises(SimlibError):
        m.run(["c"])
    three = FiniteMealy(np.array([[1, 2], [1, 1], [0, 1]]), np.zeros((3, 2), int), 0, values, ("a", "b"))
    sub = three.restrict(np.array([True, True, False]))
    assert sub.delta.tolist() == [[1, -1], [1, 1]] and sub.output.tolist() == [[0, -1], [0, 0]]
    assert three.bfs_order().tolist() == [0, 1, 2]


# ---------------------------------------------------------------- exact extraction


def test_count_machine_exact(count: FiniteMealy) -> None:
    assert count.n_states == 46
    end = count.n_states - 1
    assert (count.delta[end] == -1).all() and np.isnan(count.state_vectors[end]).all()
    assert count.state_depth[end] == -1
    states = {tuple(v) for v in count.state_vectors[:end]}
    assert states == {(h, n) for n in range(DEPTH + 1) for h in range(n + 1)}
    assert np.array_equal(count.state_depth[:end], count.state_vectors[:end, 1].astype(int))
    start, zero, one = (LABELS.index(label) for label in ("start", "0", "1"))
    assert np.array_equal(count.delta[:end, start], np.arange(end))  # start token: self-loop
    leaves = count.state_vectors[:end, 1] == DEPTH
    assert (count.delta[:end][leaves][:, [zero, one]] == end).all()
    # every output is the posterior predictive (1 + heads') / (2 + flips')
    heads, flips = count.state_vectors[:end].T
    after_one = count.output_values[count.output[:end, one], 0]
    assert np.allclose(after_one, (2 + heads) / (3 + flips))
    minimal, block = minimise(count)
    assert minimal.equals(count) and np.array_equal(block, np.arange(count.n_states))


def test_history_machine_minimises_to_count(count: FiniteMealy, history: FiniteMealy) -> None:
    assert history.n_states == 2 ** (DEPTH + 1) - 1 + 1
    minimal, block = minimise(history)
    assert minimal.n_states == count.n_states == 46
    assert bisimilar(minimal, count) and distinguishing_word(minimal, count) is None
    assert bisimilar(history, count) and distinguishing_word(history, count) is None
    assert simulates(history, count) and simulates(count, history)
    # the minimisation merges exactly the histories with equal (heads, flips)
    real = ~np.isnan(history.state_vectors[:, 0])
    flips = history.state_vectors[real, 0]
    heads = (history.state_vectors[real, 1:].sum(1) + flips) / 2
    pairs = set(zip(heads, flips))
    assert len(pairs) == 45 == len(set(block[real])) == len(set(zip(heads, flips, block[real])))


def test_history_capacity_shows_at_the_leaves(count: FiniteMealy) -> None:
    """With capacity 8, the 9th flip (stepped from the depth-8 leaves) is not stored."""
    short = extract_exact(HistoryPredictor(capacity=DEPTH), ALPHABET, LABELS, DEPTH)
    assert short.n_states == 512 and minimise(short)[0].n_states == 46
    word = distinguishing_word(short, count)
    assert word == ["0"] * (DEPTH + 1)


@pytest.mark.parametrize("other", [CountPredictor(a=2, b=1), ForgetfulPredictor()], ids=["prior", "forget"])
def test_differing_machines_have_shortest_distinguishing_words(count: FiniteMealy, other) -> None:
    m = extract_exact(other, ALPHABET, LABELS, DEPTH)
    assert not bisimilar(count, m)
    word = distinguishing_word(count, m)
    assert word is not None
    start = [[count.initial, m.initial]]
    assert failure_lengths(count, m, len(word), symmetric=True, starts=start)[0] == len(word)
    ours, theirs = outputs_along(count, word), outputs_along(m, word)
    assert ours is None or theirs is None or ours[-1] != theirs[-1]
    assert ours is None or theirs is None or ours[:-1] == theirs[:-1]


def test_extract_exact_limits() -> None:
    with pytest.raises(SimlibError, match="max_states"):
        extract_exact(HistoryPredictor(), ALPHABET, LABELS, 12, max_states=1000)
    with pytest.raises(SimlibError):
        extract_exact(CountPredictor(), ALPHABET, LABELS[:2], 3)
    shallow = extract_exact(CountPredictor(), ALPHABET, LABELS, 0)
    assert shallow.n_states == 2 and shallow.delta.tolist() == [[0, 1, 1], [-1, -1, -1]]


# ---------------------------------------------------------------- relations on random machines


def test_simulation_preorder_matches_trace_inclusion() -> None:
    seen = {True: 0, False: 0}
    for n, m in random_pairs(200, seed=1):
        bound = n.n_states * m.n_states
        relation = simulation_preorder(n, m)
        lengths = failure_lengths(n, m, bound, symmetric=False)
        assert np.array_equal(relation, lengths == 0)
        seen[True] += int(relation.sum())
        seen[False] += int((~relation).sum())
        word = counterexample(n, m)
        at_start = relation[n.initial, m.initial]
        assert simulates(m, n) == at_start == (word is None)
        if word is not None:
            assert len(word) == lengths[n.initial, m.initial]
            ours, theirs = outputs_along(n, word), outputs_along(m, word)
            assert ours is not None and (theirs is None or ours[-1] != theirs[-1])
    assert min(seen.values()) > 200


def test_bisimulation_is_mutual_simulation() -> None:
    outcomes, rng = set(), np.random.default_rng(5)
    for n, m in random_pairs(200, seed=2):
        word = distinguishing_word(n, m)
        mutual = simulates(m, n) and simulates(n, m)
        assert bisimilar(n, m) == (word is None) == mutual
        length = failure_lengths(n, m, n.n_states * m.n_states, True, [[n.initial, m.initial]])[0]
        assert (word is None and length == 0) or len(word) == length
        extension = relabelled_extension(rng, n)
        assert bisimilar(n, extension) == simulates(n, extension)
        outcomes.add(word is None)
    assert outcomes == {True, False}


def test_minimise_random_machines() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        m = random_machine(rng, int(rng.integers(2, 9)), int(rng.integers(2, 4)), p_undefined=0.2)
        minimal, block = minimise(m)
        assert bisimilar(m, minimal) and minimal.initial == 0
        again, again_block = minimise(minimal)
        assert again.equals(minimal) and np.array_equal(again_block, np.arange(minimal.n_states))
        assert np.array_equal(block >= 0, m.reachable())
        equivalent = simulation_preorder(minimal, minimal)
        assert np.array_equal(equivalent & equivalent.T, np.eye(minimal.n_states, dtype=bool))
        for state in np.flatnonzero(m.reachable()):
            assert bisimilar(replace(m, initial=state), replace(minimal, initial=block[state]))


def test_minimise_drops_unreachable_states() -> None:
    values = np.array([[0.0], [1.0]])
    delta = np.array([[1, 1], [0, -1], [0, 1], [2, 2]])
    output = np.array([[0, 1], [0, -1], [0, 1], [1, 1]])
    m = FiniteMealy(delta, output, 0, values, ("a", "b"), state_vectors=np.arange(8.0).reshape(4, 2))
    minimal, block = minimise(m)
    assert minimal.n_states == 2 and block.tolist() == [0, 1, -1, -1]
    assert np.array_equal(minimal.state_vectors, m.state_vectors[:2])


def test_relations_align_symbols_and_reject_other_inputs(count: FiniteMealy) -> None:
    shifted = replace(count, output_values=count.output_values + 1e-12, state_vectors=None)
    assert not bisimilar(count, shifted, decimals=13) and bisimilar(count, shifted)
    renamed = replace(count, input_labels=("s", "t", "h"))
    for relation in (simulation_preorder, simulates, counterexample, bisimilar, distinguishing_word):
        with pytest.raises(SimlibError, match="inputs"):
            relation(count, renamed)


# ---------------------------------------------------------------- graphs


def test_networkx_round_trip(count: FiniteMealy) -> None:
    graph = to_networkx(count)
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.number_of_nodes() == 46 and graph.number_of_edges() == int((count.delta >= 0).sum())
    assert {key for _, _, key in graph.edges(keys=True)} == set(LABELS)
    assert graph.graph["input_labels"] == list(LABELS)
    assert graph.nodes[0] == {"initial": True, "state": [0.0, 0.0], "depth": 0}
    assert graph.nodes[45] == {"initial": False}
    edge = graph.edges[0, 2, "1"]
    assert edge["input"] == "1" and edge["output"] == [round(2 / 3, 9)]
    assert count.output_values[edge["output_symbol"]].tolist() == edge["output"]
    assert from_networkx(graph).equals(count)
    bare = random_machine(np.random.default_rng(4), 4, 3)
    assert from_networkx(to_networkx(bare)).equals(bare)


@pytest.mark.parametrize("suffix", [".graphml", ".gml", ".json"])
def test_write_graph_formats(tmp_path, count: FiniteMealy, suffix: str) -> None:
    path = write_graph(count, tmp_path / f"count{suffix}")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    if suffix == ".graphml":
        graph = nx.read_graphml(path)
    elif suffix == ".gml":
        graph = nx.read_gml(path)
    else:
        data = json.loads(path.read_text())
        graph = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
    assert graph.number_of_edges() == int((count.delta >= 0).sum())
    assert from_networkx(graph).equals(count)


def test_write_graph_rejects_unknown_suffix(tmp_path, count: FiniteMealy) -> None:
    with pytest.raises(SimlibError, match="graphml"):
        write_graph(count, tmp_path / "count.dot")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- quantised extraction


@pytest.fixture(scope="module")
def count_traces():
    task = BetaBernoulli(horizon=6)
    generator = torch.Generator().manual_seed(0)
    observations = task.sample_observations(task.sample_theta(300, generator), task.horizon, generator)
    inputs = task.encode(observations)
    outputs, states = unroll(CountPredictor(), inputs)
    return inputs, outputs, states


def test_symbolise(count_traces) -> None:
    inputs = count_traces[0]
    symbols = symbolise(inputs, ALPHABET)
    assert symbols.shape == inputs.shape[:2] and (symbols[:, 0] == 0).all()
    assert np.array_equal(ALPHABET.numpy()[symbols], inputs.numpy())
    with pytest.raises(SimlibError, match="not in the alphabet"):
        symbolise(inputs + 0.5, ALPHABET)


def test_quantised_count_machine_is_exact(count_traces) -> None:
    inputs, outputs, states = count_traces
    distinct = len(np.unique(states.reshape(-1, 2).numpy(), axis=0))
    assert distinct == 15  # (heads, flips) with flips <= 4 seen before the last step
    result = extract_quantised(states, symbolise(inputs, ALPHABET), outputs, LABELS, distinct)
    assert result.transition_fidelity == 1.0 and result.ambiguous == 0
    assert result.labels.shape == inputs.shape[:2] and result.centers.shape == (15, 2)
    exact = extract_exact(CountPredictor(), ALPHABET, LABELS, 4)
    assert result.machine.n_states == exact.n_states == 16  # 15 clusters + END for the last step
    # exact extraction is defined wherever the quantised machine is, with equal outputs
    assert simulates(exact, result.machine, decimals=3)
    assert counterexample(result.machine, exact, decimals=3) is None
    # the quantised machine only lacks what the traces never show (start tokens mid-episode)
    word = counterexample(exact, result.machine, decimals=3)
    assert word is not None and word[-1] == "start"
    observed = ~np.isnan(result.per_state_fidelity)
    assert (result.per_state_fidelity[observed] == 1.0).all()


def test_quantised_with_too_few_clusters_is_ambiguous(count_traces) -> None:
    inputs, outputs, states = count_traces
    result = extract_quantised(states, symbolise(inputs, ALPHABET), outputs, LABELS, 3)
    assert result.transition_fidelity < 1.0 and result.ambiguous > 0
    assert result.machine.n_states in (3, 4)
    assert not math.isnan(result.transition_fidelity)


# ---------------------------------------------------------------- extract_on_task: auto, exact, quantised


def test_auto_is_exact_for_a_counter_and_quantised_past_max_states() -> None:
    from simlib.fsm import extract_on_task
    from simlib.fsm.extract import TooManyStates

    task = BetaBernoulli(horizon=6)
    counter = extract_on_task(CountPredictor(), task)  # auto is the default
    assert counter.method == "exact" and counter.requested == "auto"
    assert counter.summary()["states"] == extract_exact(CountPredictor(), ALPHABET, LABELS, 6).n_states
    assert "fit max_states=100000" in counter.summary()["method_note"]
    history = extract_on_task(HistoryPredictor(capacity=7), task, max_states=50, clusters=5, episodes=40)
    assert history.method == "quantised" and history.requested == "auto" and history.fidelity is not None
    assert history.note.startswith("auto: more than 50 reachable states within 6 inputs")
    with pytest.raises(TooManyStates, match="or use quantised extraction"):
        extract_on_task(HistoryPredictor(capacity=7), task, "exact", max_states=50)
    explicit = extract_on_task(CountPredictor(), task, "exact")
    assert explicit.note is None and explicit.summary()["requested_method"] == "exact"
    for bad in (0, -1, 2.5, True):
        with pytest.raises(SimlibError, match="max_states"):
            extract_on_task(CountPredictor(), task, max_states=bad)
    with pytest.raises(SimlibError, match="auto, exact, quantised"):
        extract_on_task(CountPredictor(), task, "magic")


def test_last_outputs_say_what_each_machine_emits_at_a_counterexample():
    from simlib.fsm import FiniteMealy, counterexample, last_outputs

    values = np.array([[0.25], [0.75]])
    n = FiniteMealy(np.array([[0, 0]]), np.array([[0, 1]]), 0, values, ("a", "b"))
    m = FiniteMealy(np.array([[0, -1]]), np.array([[0, -1]]), 0, values, ("a", "b"))
    word = counterexample(n, m)
    assert word == ["b"]
    said = last_outputs(word, n, m)
    assert said[0].tolist() == [0.75] and said[1] is None


# ---------------------------------------------------------------- layered quantisation, successions, views


def test_level_quantisation_layers_the_machine_by_step(count_traces) -> None:
    inputs, outputs, states = count_traces
    result = extract_quantised(states, symbolise(inputs, ALPHABET), outputs, LABELS, 64, by_level=True)
    machine, depth = result.machine, result.machine.state_depth
    per_step = [len(np.unique(states[:, t].numpy(), axis=0)) for t in range(states.shape[1])]
    assert [(depth == t).sum() for t in range(states.shape[1])] == per_step  # every distinct state its own cluster
    source, symbol = np.nonzero(machine.delta >= 0)
    target = machine.delta[source, symbol]
    inner = depth[target] >= 0
    assert (depth[target[inner]] == depth[source[inner]] + 1).all()  # transitions only go one step on
    exact = extract_exact(CountPredictor(), ALPHABET, LABELS, 6)
    assert counterexample(machine, exact, decimals=3) is None and result.transition_fidelity == 1.0
    few = extract_quantised(states, symbolise(inputs, ALPHABET), outputs, LABELS, 2, by_level=True)
    assert max((few.machine.state_depth == t).sum() for t in range(6)) == 2


def test_follows_leaves_impossible_successions_undefined_and_tells_states_apart_by_them() -> None:
    def no_two_heads(k: int) -> list[bool]:
        return [False, True, LABELS[k] != "1"]

    free = extract_exact(CountPredictor(), ALPHABET, LABELS, 4)
    bound = extract_exact(CountPredictor(), ALPHABET, LABELS, 4, follows=no_two_heads)
    assert bound.run(["start", "1", "1"]) is None and bound.run(["start", "1", "0", "1"]) is not None
    assert bound.run(["start", "start"]) is None  # nothing may follow as a second start
    assert counterexample(bound, free) is None and counterexample(free, bound) == ["start", "start"]
    with pytest.raises(SimlibError, match="follows"):
        extract_exact(CountPredictor(), ALPHABET, LABELS, 2, follows=lambda k: [True])


def test_greedy_views_and_matching_within_the_optimal_set() -> None:
    from simlib.fsm import greedy_outputs, greedy_view, outputs_match

    assert greedy_outputs(np.array([[0.7, 0.3], [0.55, 0.45], [0.1, 0.1]]), 0.2).tolist() == [[1, 0], [0.5, 0.5], [0.5, 0.5]]
    values = np.array([[0.9, 0.1], [0.5, 0.5]])
    m = FiniteMealy(np.array([[0, 0]]), np.array([[0, 1]]), 0, values, ("a", "b"))
    view = greedy_view(m, 0.2, indifferent=[False, True])
    assert view.output_values[view.output[0]].tolist() == [[1.0, 0.0], [-1.0, -1.0]]
    tie = FiniteMealy(np.array([[0, 0]]), np.array([[0, 0]]), 0, np.array([[0.5, 0.5]]), ("a", "b"))
    assert counterexample(view, tie) == ["a"] and counterexample(view, tie, within=True) is None
    assert counterexample(tie, view, within=True) == ["a"]  # a tie is not within a clear choice
    assert outputs_match([[-1.0, -1.0]], [[0.0, 1.0]], within=True).tolist() == [[False]]
    assert outputs_match([[0.0, 1.0]], [[-1.0, -1.0]], within=True).tolist() == [[True]]
    with pytest.raises(SimlibError, match="no transition"):
        greedy_view(FiniteMealy(np.array([[-1, 0]]), np.array([[-1, 0]]), 0, values, ("a", "b")), 0.2, start="a")


def test_symbolise_matches_inputs_that_passed_through_single_precision() -> None:
    rows = torch.tensor([[1.0, 0.2], [0.0, 0.2]], dtype=torch.float64)
    single = rows.to(torch.float32).to(torch.float64)
    assert (single - rows).abs().max() > 1e-9 and symbolise(single[None], rows).tolist() == [[0, 1]]
