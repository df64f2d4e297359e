"""AALpy, both ways: round trips, minimisation and bisimulation against AALpy's, L* on machines."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import deque
from itertools import product

import numpy as np
import pytest

aalpy = pytest.importorskip("aalpy")

from aalpy.utils import bisimilar as aalpy_bisimilar  # noqa: E402
from aalpy.utils import generate_random_mealy_machine  # noqa: E402

from simlib import machines, tasks  # noqa: E402
from simlib.errors import SimlibError  # noqa: E402
from simlib.fsm import (  # noqa: E402
    FiniteMealy,
    bisimilar,
    distinguishing_word,
    extract_exact,
    extract_on_task,
    minimise,
    simulates,
)
from simlib.fsm import aalpy_bridge  # noqa: E402
from simlib.fsm.aalpy_bridge import (  # noqa: E402
    UNDEFINED,
    MachineSUL,
    from_aalpy,
    learn_with_lstar,
    to_aalpy,
    truncate,
)

SEEDS = range(30)
HORIZON = 5
TASK = tasks.get("beta-bernoulli", horizon=HORIZON)
ALPHABET, LABELS = TASK.input_alphabet()


def episode_words(t: int, label: str) -> bool:
    """The coin task's episodes: the start token first, then flips."""
    return (label == "start") == (t == 0)


@pytest.fixture(scope="module")
def opt():
    return machines.load("opt:beta-bernoulli")


# ---------------------------------------------------------------- random machines and brute force


def random_machine(
    seed: int, *, n_states: int = 6, n_inputs: int = 2, n_symbols: int = 3, partial: float = 0.15,
    clones: int = 3, unreachable: int = 1,
) -> FiniteMealy:
    """A random machine with ``clones`` redundant copies of states and a few unreachable states.

    A clone copies a state's row and takes over some of its incoming transitions, so behaviour is
    unchanged and minimisation has something to merge. Unreachable states keep one defined
    transition (a state with none and no incoming one does not survive a round trip). States are
    then renumbered at random.
    """
    rng = np.random.default_rng(seed)
    delta = rng.integers(0, n_states, (n_states, n_inputs))
    output = rng.integers(0, n_symbols, (n_states, n_inputs))
    undefined = rng.random((n_states, n_inputs)) < partial
    delta[undefined], output[undefined] = -1, -1
    for _ in range(clones):
        source = int(rng.integers(delta.shape[0]))
        clone = delta.shape[0]
        delta, output = np.vstack([delta, delta[source]]), np.vstack([output, output[source]])
        redirect = (delta == source) & (rng.random(delta.shape) < 0.5)
        delta[redirect] = clone
    for _ in range(unreachable):
        row = rng.integers(0, delta.shape[0] + 1, n_inputs)
        delta, output = np.vstack([delta, row]), np.vstack([output, rng.integers(0, n_symbols, n_inputs)])
    entered = np.isin(np.arange(delta.shape[0]), delta[delta >= 0])
    lost = (delta < 0).all(axis=1) & ~entered
    lost[0] = False
    delta[lost, 0], output[lost, 0] = np.flatnonzero(lost), 0  # unreachable anyway: behaviour unchanged
    permutation = rng.permutation(delta.shape[0])  # new id of each old state
    inverse = np.argsort(permutation)
    delta = np.where(delta >= 0, permutation[np.maximum(delta, 0)], -1)[inverse]
    return FiniteMealy(
        delta=delta,
        output=output[inverse],
        initial=int(permutation[0]),
        output_values=np.linspace(0.1, 0.9, n_symbols)[:, None],
        input_labels=tuple("abcdefgh"[:n_inputs]),
    )


def simlib_outputs(m: FiniteMealy, word) -> list:
    """Outputs as AALpy sees them: value tuples, UNDEFINED from the first undefined input on."""
    state, out = m.initial, []
    for label in word:
        i = m.input_index(label)
        if state < 0 or m.delta[state, i] < 0:
            state = -1
            out.append(UNDEFINED)
            continue
        out.append(tuple(float(v) for v in m.output_values[m.output[state, i]]))
        state = int(m.delta[state, i])
    return out


def aalpy_outputs(a, word) -> list:
    a.reset_to_initial()
    return [a.step(letter) for letter in word]


def words(labels, max_len: int):
    return [w for n in range(1, max_len + 1) for w in product(labels, repeat=n)]


def prune_unreachable(a) -> None:
    """Drop the states AALpy's minimize would keep but simlib's minimise drops."""
    seen, queue = {id(a.initial_state)}, deque([a.initial_state])
    while queue:
        for target in queue.popleft().transitions.values():
            if id(target) not in seen:
                seen.add(id(target))
                queue.append(target)
    a.states = [s for s in a.states if id(s) in seen]


def assert_same_arrays(a: FiniteMealy, b: FiniteMealy) -> None:
    assert a.initial == b.initial and a.input_labels == b.input_labels
    np.testing.assert_array_equal(a.delta, b.delta)
    np.testing.assert_array_equal(a.output, b.output)
    np.testing.assert_array_equal(a.output_values, b.output_values)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("outputs", ["values", "symbols"])
def test_round_trip_is_exact_and_preserves_behaviour(outputs):
    for seed in SEEDS:
        m = random_machine(seed, partial=0.0 if seed % 3 == 0 else 0.2)
        a = to_aalpy(m, outputs=outputs)
        assert a.is_input_complete()
        back = from_aalpy(a, output_values=m.output_values)
        assert_same_arrays(back, m)
        if outputs == "values":
            for word in words(m.input_labels, 5):
                assert aalpy_outputs(a, word) == simlib_outputs(m, word)
            assert bisimilar(from_aalpy(a), m)  # symbols renumbered by first appearance, same behaviour


def test_round_trip_of_a_partial_machine_without_a_sink():
    m = random_machine(7, partial=0.3)
    a = to_aalpy(m, partial="missing")
    assert not a.is_input_complete() and all(s.state_id != aalpy_bridge.SINK_STATE for s in a.states)
    # without a sink, AALpy's order of first appearance of the letters may differ
    assert_same_arrays(from_aalpy(a, output_values=m.output_values, input_labels=m.input_labels), m)


def test_round_trip_of_the_bayes_counter_extraction(opt):
    counter = extract_on_task(opt, TASK, "exact").machine  # partial: an END state with no transitions
    assert (counter.delta < 0).any()
    a = to_aalpy(counter)
    assert_same_arrays(from_aalpy(a, output_values=counter.output_values), counter)
    for word in words(LABELS, HORIZON + 1):
        assert aalpy_outputs(a, word) == simlib_outputs(counter, word)


def test_a_native_aalpy_machine_comes_in_through_an_output_mapping():
    state = random.getstate()
    random.seed(3)
    try:
        native = generate_random_mealy_machine(5, ["x", "y"], ["o1", "o2", "o3"])
    finally:
        random.setstate(state)
    with pytest.raises(SimlibError, match="output_values"):
        from_aalpy(native)
    mapping = {"o1": [0.25], "o2": [0.5], "o3": [0.75]}
    m = from_aalpy(native, output_values=mapping, input_labels=["x", "y"])
    assert m.input_labels == ("x", "y") and m.n_states == 5 and m.n_symbols == 3
    for word in words(["x", "y"], 5):
        expected = [tuple(mapping[o]) for o in aalpy_outputs(native, word)]
        assert simlib_outputs(m, word) == expected
    assert aalpy_bisimilar(to_aalpy(from_aalpy(to_aalpy(m))), to_aalpy(m))  # and back again


def test_export_refuses_equal_output_values_as_values():
    m = random_machine(0)
    twins = FiniteMealy(m.delta, m.output, m.initial, np.zeros((m.n_symbols, 1)), m.input_labels)
    with pytest.raises(SimlibError, match="symbols"):
        to_aalpy(twins)
    assert_same_arrays(from_aalpy(to_aalpy(twins, outputs="symbols"), output_values=twins.output_values), twins)


# ---------------------------------------------------------------- minimisation and bisimulation


def test_minimisation_gives_aalpys_number_of_states():
    reduced = 0
    for seed in SEEDS:
        complete = seed % 2 == 0
        m = random_machine(seed, n_states=5 + seed % 4, partial=0.0 if complete else 0.2)
        minimal = minimise(m)[0]
        a = to_aalpy(m)
        prune_unreachable(a)
        a.minimize()
        learned_back = from_aalpy(a)
        assert learned_back.n_states == minimal.n_states, seed
        assert bisimilar(learned_back, minimal), seed
        if complete:
            assert len(a.states) == minimal.n_states, seed
        reduced += minimal.n_states < m.reachable().sum()
    assert reduced >= len(SEEDS) // 2  # the clones gave minimisation work to do


def test_bisimilarity_agrees_with_aalpy():
    verdicts = []
    for seed in SEEDS:
        rng = np.random.default_rng(1000 + seed)
        m = random_machine(seed, partial=0.0 if seed % 2 else 0.2, clones=0)
        twin = random_machine(seed, partial=0.0 if seed % 2 else 0.2, clones=3)  # m with redundant states
        output = m.output.copy()
        defined = np.argwhere(m.delta >= 0)
        s, i = defined[rng.integers(len(defined))]
        output[s, i] = (output[s, i] + 1) % m.n_symbols
        mutant = FiniteMealy(m.delta, output, m.initial, m.output_values, m.input_labels)
        stranger = random_machine(seed + 500, partial=0.0 if seed % 2 else 0.2, clones=0)
        for other in (twin, mutant, stranger):
            ours = distinguishing_word(m, other)
            theirs = aalpy_bisimilar(to_aalpy(m), to_aalpy(other), return_cex=True)
            assert (ours is None) == (theirs is None) == bisimilar(m, other), seed
            assert aalpy_bisimilar(to_aalpy(m), to_aalpy(other)) == bisimilar(m, other), seed
            if ours is not None:
                assert len(ours) == len(theirs), seed  # both shortest
            verdicts.append(ours is None)
    assert any(verdicts) and not all(verdicts)


def test_truncate_keeps_exactly_the_words_up_to_the_horizon():
    m = random_machine(11, partial=0.1)
    cut = truncate(m, 3)
    for word in words(m.input_labels, 5):
        expected = simlib_outputs(m, word)[:3] + [UNDEFINED] * max(0, len(word) - 3)
        assert simlib_outputs(cut, word) == expected


# ---------------------------------------------------------------- L*


def test_lstar_learns_the_bayes_counter_exactly(opt):
    result = learn_with_lstar(opt, ALPHABET, LABELS, horizon=HORIZON, decimals=6)
    exact = minimise(truncate(extract_exact(opt, ALPHABET, LABELS, HORIZON - 1), HORIZON))[0]
    assert bisimilar(result.machine, exact, decimals=6)
    assert result.machine.n_states == exact.n_states  # L* learns the minimal machine
    assert result.queries > 0 and result.oracle_tests > 0 and result.summary()["states"] == exact.n_states
    again = learn_with_lstar(opt, ALPHABET, LABELS, horizon=HORIZON, decimals=6)
    assert again.machine.equals(result.machine)


def test_lstar_with_a_seeded_random_walk_is_reproducible(opt):
    runs = [
        learn_with_lstar(opt, ALPHABET, LABELS, horizon=3, decimals=6, oracle="random-walk", walk_steps=3000, seed=1)
        for _ in range(2)
    ]
    assert runs[0].machine.equals(runs[1].machine)
    exact = learn_with_lstar(opt, ALPHABET, LABELS, horizon=3, decimals=6)
    assert bisimilar(exact.machine, runs[0].machine, decimals=6)  # 3000 steps find every state here


def test_lstar_on_episodes_only(opt):
    full = learn_with_lstar(opt, ALPHABET, LABELS, horizon=HORIZON, decimals=6)
    episodes = learn_with_lstar(opt, ALPHABET, LABELS, horizon=HORIZON, decimals=6, admissible=episode_words)
    for word in words(LABELS, HORIZON + 1):
        in_episode = len(word) <= HORIZON and all(episode_words(t, x) for t, x in enumerate(word))
        assert (episodes.machine.run(word) is not None) == in_episode, word
    assert simulates(full.machine, episodes.machine, decimals=6)
    assert episodes.machine.n_states < full.machine.n_states


def test_sul_outputs_are_rounded_and_undefined_past_the_horizon(opt):
    sul = MachineSUL(opt, ALPHABET, LABELS, decimals=2, horizon=2, admissible=episode_words)
    assert sul.query(("start", "1", "1")) == [(0.5,), (0.67,), UNDEFINED]
    assert sul.query(("1", "start")) == [UNDEFINED, UNDEFINED]
    assert sul.prefetch() == 3 and sul.query(("start", "0")) == [(0.5,), (0.33,)]


def test_bad_arguments_are_simlib_errors(opt):
    with pytest.raises(SimlibError, match="alphabet"):
        MachineSUL(opt, ALPHABET[:, :1], LABELS)
    with pytest.raises(SimlibError, match="horizon"):
        learn_with_lstar(opt, ALPHABET, LABELS, horizon=None)
    with pytest.raises(SimlibError, match="max_words"):
        learn_with_lstar(opt, ALPHABET, LABELS, horizon=6, max_words=50)
    with pytest.raises(SimlibError, match="oracle"):
        learn_with_lstar(opt, ALPHABET, LABELS, horizon=2, oracle="w-method")


def test_without_aalpy_simlib_fsm_imports_and_the_bridge_says_how_to_install(tmp_path):
    code = (
        "import sys; sys.modules['aalpy'] = None\n"
        "import simlib.fsm\n"
        "assert 'simlib.fsm.aalpy_bridge' not in sys.modules\n"
        "from simlib.errors import SimlibError\n"
        "from simlib.fsm.aalpy_bridge import to_aalpy\n"
        "try:\n"
        "    to_aalpy(None)\n"
        "except SimlibError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={**os.environ}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "AALpy is not installed; install it with: pip install simlib-agents[automata]"
