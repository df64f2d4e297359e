"""AALpy, both ways: export and import Mealy machines, and learn one from any machine with L*.

`AALpy <https://github.com/DES-Lab/AALpy>`_ is an automata-learning library. This module is
optional (``pip install simlib-agents[automata]``); ``import simlib.fsm`` never imports it, and
without AALpy every entry point raises a :class:`~simlib.errors.SimlibError` saying so.

* :func:`to_aalpy` / :func:`from_aalpy` -- a :class:`FiniteMealy` as an AALpy ``MealyMachine``
  and back;
* :class:`MachineSUL` -- an AALpy system under learning wrapping a simlib
  :class:`~simlib.machine.StateMachine` over a finite input alphabet, outputs rounded as the
  quantised extraction rounds them;
* :func:`learn_with_lstar` -- AALpy's L* on such a machine, over a finite horizon, with a
  complete equivalence oracle; :func:`truncate` -- a finite machine cut to the same horizon,
  to compare with what L* learned.

Conventions (fixed so that a round trip is exact):

* **Inputs.** AALpy letters are simlib's input labels (strings).
* **Outputs.** Output symbol ``i`` is exported as ``tuple(float(v) for v in output_values[i])``
  (``outputs="values"``, the default: outputs mean the same thing in both libraries, and
  machines from different extractions compare by value), or as the int ``i``
  (``outputs="symbols"``). :func:`from_aalpy` reads tuples (or plain numbers) back as vectors and
  ints as indices into ``output_values``. State vectors and depths are not exported.
* **Partial machines.** AALpy's algorithms (minimisation, L*, its oracles) want complete
  machines, so by default (``partial="sink"``) every undefined transition goes to one added sink
  state (id :data:`SINK_STATE`) with the output :data:`UNDEFINED`, and the sink loops on every
  input with that output. :func:`from_aalpy` turns :data:`UNDEFINED` outputs back into undefined
  transitions and drops the states that are then dead (every transition undefined) and entered by
  no defined transition, which is the sink. The completed machine has the partial machine's
  semantics: two states agree on every word iff they agree on definedness and outputs, the
  simlib notion, except that a state of the partial machine with no defined transition (such as
  an extraction's END) is equivalent to the sink.
* **Finite horizon.** L* learns a machine on words of any length, but a task's episodes have a
  fixed number of inputs. :class:`MachineSUL` answers :data:`UNDEFINED` to every input after the
  first ``horizon`` of a query, and from the first input that ``admissible(t, label)`` rejects (for good: once
  undefined, a query stays undefined). The learned machine is therefore finite even for a network,
  and :func:`from_aalpy` reads it as a partial machine defined exactly on the words of at most
  ``horizon`` admissible inputs, the same convention as simlib's extractions.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from simlib.errors import SimlibError
from simlib.fsm.extract import _as_numpy, _round
from simlib.fsm.mealy import FiniteMealy
from simlib.machine import StateMachine

try:
    from aalpy.base import SUL as _SUL
    from aalpy.base import Oracle as _Oracle

    _IMPORT_ERROR: ImportError | None = None
except ImportError as error:  # the classes below still exist; constructing them raises
    _SUL = _Oracle = object  # type: ignore[assignment,misc]
    _IMPORT_ERROR = error

UNDEFINED = "undefined"
"""The AALpy output of an undefined transition (and of every input past a SUL's horizon)."""

SINK_STATE = "sink"
"""The id of the state :func:`to_aalpy` adds to complete a partial machine."""

_INSTALL_HINT = "AALpy is not installed; install it with: pip install simlib-agents[automata]"


def _require() -> None:
    """Raise the one-line install hint when AALpy cannot be imported."""
    if _IMPORT_ERROR is not None:
        raise SimlibError(_INSTALL_HINT)


# ---------------------------------------------------------------- export and import


def to_aalpy(
    m: FiniteMealy,
    *,
    outputs: Literal["values", "symbols"] = "values",
    partial: Literal["sink", "missing"] = "sink",
) -> Any:
    """``m`` as an AALpy ``MealyMachine``: state ids ``0..n_states-1``, letters = input labels.

    Args:
        outputs: ``"values"`` exports symbol ``i`` as the tuple of floats ``output_values[i]``
            (the rows must then be distinct); ``"symbols"`` exports it as the int ``i``.
        partial: ``"sink"`` sends undefined transitions to an added sink state
            (:data:`SINK_STATE`) with output :data:`UNDEFINED`; ``"missing"`` leaves them out
            (AALpy's minimisation and learning refuse such machines; its ``bisimilar`` accepts
            them).

    Unreachable states are exported too; AALpy's ``minimize`` keeps them, simlib's drops them.
    The initial state is listed first in ``states``.
    """
    _require()
    from aalpy.automata import MealyMachine, MealyState

    if outputs not in ("values", "symbols"):
        raise SimlibError(f"outputs must be 'values' or 'symbols', got {outputs!r}")
    if partial not in ("sink", "missing"):
        raise SimlibError(f"partial must be 'sink' or 'missing', got {partial!r}")
    if outputs == "values":
        symbols: list[Hashable] = [tuple(float(v) for v in row) for row in m.output_values]
        if len(set(symbols)) < len(symbols):
            raise SimlibError("two output symbols have equal output_values; export them with outputs='symbols'")
    else:
        symbols = list(range(m.n_symbols))
    states = [MealyState(state) for state in range(m.n_states)]
    sink = None
    for state, aalpy_state in enumerate(states):
        for i, label in enumerate(m.input_labels):
            target = int(m.delta[state, i])
            if target >= 0:
                aalpy_state.transitions[label] = states[target]
                aalpy_state.output_fun[label] = symbols[m.output[state, i]]
            elif partial == "sink":
                if sink is None:
                    sink = MealyState(SINK_STATE)
                aalpy_state.transitions[label] = sink
                aalpy_state.output_fun[label] = UNDEFINED
    if sink is not None:
        for label in m.input_labels:
            sink.transitions[label] = sink
            sink.output_fun[label] = UNDEFINED
    # The initial state goes first: AALpy's ``minimize`` keeps the first of two equivalent states
    # and does not move ``initial_state`` when it removes the other.
    listed = [states[m.initial]] + states[: m.initial] + states[m.initial + 1 :]
    return MealyMachine(states[m.initial], listed + ([sink] if sink is not None else []))


def _state_order(machine: Any, letters: list[Hashable]) -> list[Any]:
    """States numbered by their ids when these are ``0..n-1`` (besides the sink), else breadth first."""
    def numbered(state: Any) -> bool:
        return isinstance(state.state_id, (int, np.integer)) and not isinstance(state.state_id, bool)

    ints = [s for s in machine.states if numbered(s)]
    others = [s for s in machine.states if not numbered(s)]
    ids = sorted(int(s.state_id) for s in ints)
    if ids == list(range(len(ints))) and all(s.state_id == SINK_STATE for s in others):
        return sorted(ints, key=lambda s: int(s.state_id)) + others
    seen, order, queue = {id(machine.initial_state)}, [machine.initial_state], deque([machine.initial_state])
    while queue:
        state = queue.popleft()
        for letter in letters:
            target = state.transitions.get(letter)
            if target is not None and id(target) not in seen:
                seen.add(id(target))
                order.append(target)
                queue.append(target)
    return order + [s for s in machine.states if id(s) not in seen]


class _OutputTable:
    """AALpy outputs -> simlib symbols, by the rules of :func:`from_aalpy`."""

    def __init__(self, output_values: np.ndarray | Mapping | Sequence | None) -> None:
        self.fixed = output_values is not None
        self.mapping = isinstance(output_values, Mapping)
        self.index: dict[Hashable, int] = {}
        self.rows: list[np.ndarray] = []
        if self.mapping:
            for key, row in output_values.items():  # type: ignore[union-attr]
                self.index[key] = len(self.rows)
                self.rows.append(np.atleast_1d(np.asarray(row, dtype=np.float64)))
        elif self.fixed:
            values = np.asarray(output_values, dtype=np.float64)
            if values.ndim != 2:
                raise SimlibError(f"output_values must be [n_symbols, n_params], got shape {values.shape}")
            self.rows = list(values)
            for i, row in enumerate(values):
                self.index.setdefault(tuple(float(v) for v in row), i)

    def symbol(self, output: Hashable) -> int:
        if self.mapping:
            if output not in self.index:
                raise SimlibError(f"AALpy output {output!r} is not a key of output_values")
            return self.index[output]
        if self.fixed and isinstance(output, (int, np.integer)) and not isinstance(output, bool):
            if not 0 <= output < len(self.rows):
                raise SimlibError(f"AALpy output {output} is not a symbol in 0..{len(self.rows) - 1}")
            return int(output)
        try:
            key = tuple(float(v) for v in np.atleast_1d(np.asarray(output, dtype=np.float64)))
        except (TypeError, ValueError):
            raise SimlibError(
                f"AALpy output {output!r} is not a number or a tuple of numbers; pass output_values "
                "(a mapping from AALpy outputs to output vectors)"
            ) from None
        if key not in self.index:
            if self.fixed:
                raise SimlibError(f"AALpy output {output!r} is not a row of output_values")
            self.index[key] = len(self.rows)
            self.rows.append(np.array(key))
        return self.index[key]

    def values(self) -> np.ndarray:
        widths = {row.shape[0] for row in self.rows}
        if len(widths) > 1:
            raise SimlibError(f"AALpy outputs have different lengths {sorted(widths)}; pass output_values")
        return np.array(self.rows, dtype=np.float64).reshape(len(self.rows), widths.pop() if widths else 0)


def from_aalpy(
    machine: Any,
    output_values: np.ndarray | Mapping[Hashable, Sequence[float]] | None = None,
    input_labels: Sequence[Hashable] | None = None,
    *,
    undefined: Hashable = UNDEFINED,
) -> FiniteMealy:
    """An AALpy ``MealyMachine`` as a :class:`FiniteMealy` (the inverse of :func:`to_aalpy`).

    Args:
        output_values: how AALpy outputs become simlib symbols. None: every output is a number
            or a tuple of numbers (as :func:`to_aalpy` exports them), and symbols are numbered by
            first appearance. An array ``[n_symbols, n_params]``: int outputs are indices into it,
            tuples are matched to its rows exactly. A mapping: AALpy output -> output vector,
            symbols in the mapping's order.
        input_labels: the machine's letters in the order simlib numbers its inputs (labels are
            ``str(letter)``); default: AALpy's order of first appearance.
        undefined: the output that marks an undefined transition (:data:`UNDEFINED`; AALpy's own
            ``make_input_complete`` uses ``"epsilon"``). Missing transitions are undefined too.

    ``from_aalpy(to_aalpy(m), m.output_values, m.input_labels)`` has the arrays of ``m`` (not its
    state vectors and depths) unless ``m`` has a dead state no defined transition enters.

    States with ids ``0..n-1`` (and the sink) keep them; otherwise they are numbered breadth first
    from the initial state, which is then 0. States left dead (no defined transition) and entered by no defined
    transition, such as :func:`to_aalpy`'s sink, are dropped.
    """
    _require()
    letters = machine.get_input_alphabet()
    if input_labels is None:
        labels = [str(letter) for letter in letters]
    else:
        labels = [str(label) for label in input_labels]
        missing = sorted({str(letter) for letter in letters} - set(labels))
        if missing:
            raise SimlibError(f"the machine reads {missing}, which are not in input_labels {labels}")
    column = {str(label): i for i, label in enumerate(labels)}
    if len(column) != len(labels) or len({str(letter) for letter in letters}) != len(letters):
        raise SimlibError(f"input labels must be distinct as strings, got {labels}")
    order = _state_order(machine, sorted(letters, key=lambda letter: column[str(letter)]))
    position = {id(state): k for k, state in enumerate(order)}
    delta = np.full((len(order), len(labels)), -1, dtype=np.int64)
    for k, state in enumerate(order):
        for letter, target in state.transitions.items():
            if state.output_fun[letter] != undefined:
                delta[k, column[str(letter)]] = position[id(target)]
    entered = np.zeros(len(order), dtype=bool)
    entered[delta[delta >= 0]] = True
    initial = position[id(machine.initial_state)]
    keep = (delta >= 0).any(axis=1) | entered
    keep[initial] = True
    new_index = np.cumsum(keep) - 1
    table = _OutputTable(output_values)
    output = np.full((int(keep.sum()), len(labels)), -1, dtype=np.int64)
    for k in np.flatnonzero(keep):
        state = order[k]
        for i, label in enumerate(labels):
            if delta[k, i] >= 0:
                letter = next(x for x in state.transitions if str(x) == label)
                output[new_index[k], i] = table.symbol(state.output_fun[letter])
    kept = delta[keep]
    return FiniteMealy(
        delta=np.where(kept >= 0, new_index[kept], -1),
        output=output,
        initial=int(new_index[initial]),
        output_values=table.values(),
        input_labels=tuple(labels),
    )


def truncate(m: FiniteMealy, horizon: int) -> FiniteMealy:
    """``m`` restricted to words of at most ``horizon`` inputs (longer ones are undefined).

    The product of ``m`` with a step counter ``0..horizon``, restricted to its reachable states
    (state vectors and depths are those of the underlying state of ``m``). This is the machine
    :func:`learn_with_lstar` learns when ``m`` is the machine under learning, up to minimisation.
    """
    if horizon < 0:
        raise SimlibError(f"horizon must be >= 0, got {horizon}")
    width = horizon + 1
    step = np.tile(np.arange(width), m.n_states)[:, None]
    delta = np.repeat(m.delta, width, axis=0)
    defined = (delta >= 0) & (step < horizon)
    product = FiniteMealy(
        delta=np.where(defined, delta * width + step + 1, -1),
        output=np.where(defined, np.repeat(m.output, width, axis=0), -1),
        initial=m.initial * width,
        output_values=m.output_values,
        input_labels=m.input_labels,
        state_vectors=None if m.state_vectors is None else np.repeat(m.state_vectors, width, axis=0),
        state_depth=None if m.state_depth is None else np.repeat(m.state_depth, width, axis=0),
    )
    return product.restrict(product.reachable())


# ---------------------------------------------------------------- learning


class MachineSUL(_SUL):  # type: ignore[misc,valid-type]
    """An AALpy system under learning: a simlib :class:`StateMachine` over a finite alphabet.

    Letters are ``labels``; letter ``labels[k]`` feeds the input row ``alphabet[k]`` (the rows
    ``task.input_alphabet()`` gives, as :func:`~simlib.fsm.extract_exact` and
    :func:`~simlib.fsm.symbolise` use them). The output of a step is the machine's output vector
    rounded to ``decimals`` (None: unrounded), as a tuple of floats, the form :func:`to_aalpy`
    exports and :func:`from_aalpy` reads.

    The ``t``-th input of a query (from 0) answers :data:`UNDEFINED` when ``t >= horizon`` or
    ``admissible(t, label)`` is false, and so does every later input of that query.

    One batch-1 ``step`` per new prefix, memoised (up to 100,000 prefixes), so queries that share
    a prefix share its computation; :meth:`prefetch` computes them all up front, in batches.
    ``machine_steps`` counts the ``step`` calls.
    """

    _MEMO_LIMIT = 100_000

    def __init__(
        self,
        machine: StateMachine,
        alphabet: Tensor,
        labels: Sequence[str],
        *,
        decimals: int | None = 3,
        horizon: int | None = None,
        admissible: Callable[[int, str], bool] | None = None,
    ) -> None:
        _require()
        super().__init__()
        alphabet = torch.as_tensor(alphabet)
        self.labels = tuple(str(label) for label in labels)
        if alphabet.ndim != 2 or alphabet.shape[0] != len(self.labels) or alphabet.shape[1] != machine.input_dim:
            expected = f"[{len(self.labels)} labels, input_dim={machine.input_dim}]"
            raise SimlibError(f"alphabet must be {expected}, got {tuple(alphabet.shape)}")
        if len(set(self.labels)) != len(self.labels):
            raise SimlibError(f"input labels must be distinct, got {self.labels}")
        if horizon is not None and horizon < 0:
            raise SimlibError(f"horizon must be >= 0, got {horizon}")
        self.machine, self.decimals, self.horizon, self.admissible = machine, decimals, horizon, admissible
        with torch.no_grad():
            self._start = machine.initial_state(1)
        rows = alphabet.to(self._start.device)
        self._rows = {label: rows[k : k + 1] for k, label in enumerate(self.labels)}
        self._memo: dict[tuple[str, ...], tuple[tuple[float, ...], Tensor]] = {}
        self.machine_steps = 0
        self.pre()

    def prefetch(self) -> int:
        """Step every word of at most ``horizon`` admissible inputs, one batched ``step`` per level.

        Fills the memo breadth first (as :func:`~simlib.fsm.extract_exact` steps a machine) until
        the horizon or the memo's limit; returns the number of words stepped. Learning then needs
        no further ``step`` calls. Needs a horizon.
        """
        if self.horizon is None:
            raise SimlibError("prefetch needs a horizon")
        frontier: list[tuple[str, ...]] = [()]
        states = self._start
        stepped = 0
        for t in range(self.horizon):
            words = [word + (label,) for word in frontier for label in self.labels]
            parent = [k for k in range(len(frontier)) for _ in self.labels]
            keep = [j for j, word in enumerate(words) if self.admissible is None or self.admissible(t, word[-1])]
            if not keep or len(self._memo) + len(keep) > self._MEMO_LIMIT:
                break
            words = [words[j] for j in keep]
            x = torch.cat([self._rows[word[-1]] for word in words])
            with torch.no_grad():
                y, states = self.machine.step(x, states[[parent[j] for j in keep]])
            self.machine_steps += 1
            values = _as_numpy(y, np.float64)
            if self.decimals is not None:
                values = _round(values, self.decimals)
            for j, word in enumerate(words):
                self._memo[word] = (tuple(float(v) for v in values[j]), states[j : j + 1])
            stepped += len(words)
            frontier = words
        return stepped

    def pre(self) -> None:
        self._prefix: tuple[str, ...] = ()
        self._state = self._start
        self._dead = False

    def post(self) -> None:
        pass

    def step(self, letter: str | None) -> Hashable:
        if letter is None:  # AALpy's query of the empty word; a Mealy machine has no output there
            return None
        if letter not in self._rows:
            raise SimlibError(f"unknown input {letter!r}; inputs are {self.labels}")
        t = len(self._prefix)
        if self._dead or (self.horizon is not None and t >= self.horizon) or (
            self.admissible is not None and not self.admissible(t, letter)
        ):
            self._dead = True
            return UNDEFINED
        self._prefix += (letter,)
        hit = self._memo.get(self._prefix)
        if hit is None:
            with torch.no_grad():
                y, self._state = self.machine.step(self._rows[letter], self._state)
            self.machine_steps += 1
            values = _as_numpy(y[0], np.float64)
            if self.decimals is not None:
                values = _round(values, self.decimals)
            hit = (tuple(float(v) for v in values), self._state)
            if len(self._memo) < self._MEMO_LIMIT:
                self._memo[self._prefix] = hit
        output, self._state = hit
        return output


class HorizonOracle(_Oracle):  # type: ignore[misc,valid-type]
    """A complete equivalence oracle for a SUL whose queries turn :data:`UNDEFINED` for good.

    Tests every word breadth first, extending only those on which the SUL is still defined, so
    for a :class:`MachineSUL` with a horizon it tests every word of at most ``horizon``
    admissible inputs plus one more input. Where the SUL answers :data:`UNDEFINED` it checks,
    on the hypothesis alone, that every continuation is :data:`UNDEFINED` too. No counterexample
    then means the hypothesis equals the SUL on every word. Raises :class:`SimlibError` after
    ``max_words`` tests (the tree of words grows as ``len(alphabet) ** horizon``).
    """

    def __init__(self, alphabet: list, sul: Any, max_words: int = 100_000) -> None:
        _require()
        super().__init__(alphabet, sul)
        self.max_words = max_words

    def find_cex(self, hypothesis: Any) -> tuple | None:
        queue = deque([((), hypothesis.initial_state)])
        sinks: set[int] = set()
        tested = 0
        while queue:
            word, state = queue.popleft()
            for letter in self.alphabet:
                test = word + (letter,)
                tested += 1
                if tested > self.max_words:
                    raise SimlibError(
                        f"the exhaustive oracle passed max_words={self.max_words}; lower the horizon, "
                        "raise max_words or use oracle='random-walk'"
                    )
                self.num_queries += 1
                self.num_steps += len(test)
                expected = self.sul.query(test)[-1]
                if state.output_fun[letter] != expected:
                    return test
                target = state.transitions[letter]
                if expected != UNDEFINED:
                    queue.append((test, target))
                elif id(target) not in sinks:
                    tail = _defined_continuation(target, self.alphabet)
                    if tail is not None:
                        return test + tail
                    sinks.add(id(target))
        return None


def _defined_continuation(state: Any, alphabet: list) -> tuple | None:
    """Shortest word from ``state`` of a hypothesis whose last output is not :data:`UNDEFINED`."""
    seen, queue = {id(state)}, deque([((), state)])
    while queue:
        word, current = queue.popleft()
        for letter in alphabet:
            if current.output_fun[letter] != UNDEFINED:
                return word + (letter,)
            target = current.transitions[letter]
            if id(target) not in seen:
                seen.add(id(target))
                queue.append((word + (letter,), target))
    return None


@dataclass(frozen=True, eq=False)
class LStarResult:
    """What :func:`learn_with_lstar` learned, and what it cost.

    Attributes:
        machine: the learned machine, minimal, defined exactly on the words of at most
            ``horizon`` admissible inputs.
        automaton: AALpy's learned ``MealyMachine`` (complete, with the sink).
        rounds: L* learning rounds (hypotheses).
        queries: queries that reached the machine (L*'s and the oracle's; AALpy's cache
            answered ``cached_queries`` more).
        steps: inputs in those queries.
        machine_steps: ``StateMachine.step`` calls (a batched prefetch level counts once).
        oracle_tests: words the equivalence oracle tested.
    """

    machine: FiniteMealy
    automaton: Any
    rounds: int
    queries: int
    steps: int
    machine_steps: int
    cached_queries: int
    oracle_tests: int

    def summary(self) -> dict:
        """Counts as plain data."""
        return {
            "states": self.machine.n_states,
            "transitions": int((self.machine.delta >= 0).sum()),
            "output_symbols": self.machine.n_symbols,
            "rounds": self.rounds,
            "queries": self.queries,
            "steps": self.steps,
            "machine_steps": self.machine_steps,
            "cached_queries": self.cached_queries,
            "oracle_tests": self.oracle_tests,
        }


def learn_with_lstar(
    machine: StateMachine,
    alphabet: Tensor,
    labels: Sequence[str],
    *,
    horizon: int | None,
    decimals: int | None = 3,
    admissible: Callable[[int, str], bool] | None = None,
    oracle: Literal["exhaustive", "random-walk"] = "exhaustive",
    max_words: int = 100_000,
    walk_steps: int = 5000,
    seed: int = 0,
    max_rounds: int | None = None,
) -> LStarResult:
    """Learn a Mealy machine from ``machine`` with AALpy's L*, quietly and reproducibly.

    The machine under learning is a :class:`MachineSUL` (outputs rounded to ``decimals``,
    undefined after the first ``horizon`` inputs and from the first inadmissible one on). Horizon words only:
    for a task with episodes of T inputs, ``horizon=T``, and L* learns the minimal machine of the
    episodes' behaviour.

    Args:
        oracle: ``"exhaustive"`` (needs ``horizon``) tests every word up to the horizon with
            :class:`HorizonOracle`, so the result is exact: it equals the SUL on every word.
            ``"random-walk"`` uses AALpy's ``RandomWalkEqOracle`` for ``walk_steps`` steps,
            resetting after about ``horizon + 1`` steps (0.09 per step without a horizon), seeded
            with ``seed``; an approximation for alphabets and horizons too large to enumerate.
        max_words: bound on the exhaustive oracle's tests.
        max_rounds: stop L* after this many rounds (None: until the oracle finds no counterexample).
    """
    _require()
    from aalpy.learning_algs import run_Lstar
    from aalpy.oracles import RandomWalkEqOracle

    sul = MachineSUL(machine, alphabet, labels, decimals=decimals, horizon=horizon, admissible=admissible)
    if oracle == "exhaustive" and horizon is not None:
        sul.prefetch()  # the oracle will ask every one of these words anyway
    letters = list(sul.labels)
    if oracle == "exhaustive":
        if horizon is None:
            raise SimlibError("the exhaustive oracle needs a horizon; pass horizon= or use oracle='random-walk'")
        eq_oracle = HorizonOracle(letters, sul, max_words=max_words)
    elif oracle == "random-walk":
        reset = 1.0 / (horizon + 1) if horizon is not None else 0.09
        eq_oracle = RandomWalkEqOracle(letters, sul, num_steps=walk_steps, reset_prob=reset)
    else:
        raise SimlibError(f"unknown oracle {oracle!r}; use 'exhaustive' or 'random-walk'")
    saved = random.getstate()  # AALpy's random oracles draw from the global generator
    random.seed(seed)
    try:
        automaton, info = run_Lstar(
            letters,
            sul,
            eq_oracle,
            automaton_type="mealy",
            max_learning_rounds=max_rounds,
            return_data=True,
            print_level=0,
        )
    finally:
        random.setstate(saved)
    return LStarResult(
        machine=from_aalpy(automaton, input_labels=letters),
        automaton=automaton,
        rounds=int(info["learning_rounds"]),
        queries=sul.num_queries,
        steps=sul.num_steps,
        machine_steps=sul.machine_steps,
        cached_queries=int(info.get("cache_saved", 0)),
        oracle_tests=int(eq_oracle.num_queries),
    )
