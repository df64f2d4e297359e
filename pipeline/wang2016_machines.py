"""Finite machines in ``simlib reproduce wang2016``: the meta-trained LSTM's against the Bayes agent's.

On the tasks whose beliefs are finite -- two-step, and Harlow on a fixed pair of stimuli --
:class:`FiniteMachineJob` extracts ``rnn:TASK``'s machine (quantised step by step) and
``opt:TASK``'s (exact), reduces both to their decisions (the task's ``decision_view``) and
checks the simulation preorder both ways, with the shortest word that breaks each relation
(``fsm-TASK.json``); :func:`machine_lines` writes the page's table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from simlib import tasks as task_registry
from simlib.fsm import (
    FiniteMealy,
    counterexample,
    disagreement,
    extract_on_task,
    finite_task,
    greedy_outputs,
    last_outputs,
    outputs_match,
    outputs_on_word,
    symbolise,
)
from simlib.fsm.views import TIE_MARGIN
from simlib.machines import load
from simlib.pipeline.cache import cache_key, record_key, write_record
from simlib.pipeline.execute import Log
from simlib.pipeline.wang2016_design import HARLOW, HARLOW_TEST, TWO_STEP
from simlib.pipeline.wang2016_jobs import agent, identity
from simlib.task import Task
from simlib.traces import sample_traces
from simlib.tasks import harlow, two_step_trials

SEED = 4
"""The episodes' and k-means' seed."""


@dataclass(frozen=True)
class FiniteProblem:
    """Where an agent's finite machine is extracted: the registered ``task``, each of the
    ``variants`` (task overrides; Harlow: one stimulus pair each), and the decision ``view``."""

    task: str
    variants: tuple[dict, ...]
    view: Callable[[FiniteMealy, Task], FiniteMealy]
    what: str


PROBLEMS = {
    TWO_STEP: FiniteProblem(
        TWO_STEP, ({},), two_step_trials.decision_view,
        "the 9 clock-free inputs; decisions: the greedy first-stage choice after each return to S1 (indifferent "
        "within |P(a1) − P(a2)| ≤ 0.2), any output after an arrival at S2 or S3"),
    HARLOW: FiniteProblem(
        HARLOW_TEST, tuple({"pair": (2 * k, 2 * k + 1)} for k in range(5)), harlow.decision_view,
        "the 11 role-named inputs of one held-out stimulus pair (R rewarded, P punished; R\\|P: R on the left), on "
        "each of 5 pairs; decisions: the greedy action (ties within 0.2)"),
}
"""The agents whose finite machines the reproduction extracts, by run name."""

RELATIONS = {
    "opt_simulates_rnn": ("rnn", "opt", counterexample, False, "opt simulates rnn"),
    "rnn_choices_optimal": ("rnn", "opt", counterexample, True, "every rnn decision is one of opt's optimal ones"),
    "rnn_simulates_opt": ("opt", "rnn", counterexample, False, "rnn simulates opt"),
    "agree_where_both_defined": ("rnn", "opt", disagreement, False, "rnn and opt agree where both are defined"),
}
"""Each relation: (simulated, simulator, check, whether an output within the simulator's optimal
set counts as matching, the page's wording)."""


@dataclass(frozen=True)
class FiniteMachineJob:
    """The finite machines of ``rnn:NAME`` (quantised into ``clusters`` k-means states per step
    on ``episodes`` episodes) and ``opt`` (exact) on :data:`PROBLEMS` ``[name]``, and every
    relation of :data:`RELATIONS` on each variant (``fsm-NAME.json``)."""

    out: Path
    name: str
    episodes: int
    clusters: int = 64
    depends_on: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"fsm/{self.name}"

    @property
    def target(self) -> Path:
        return self.out / f"fsm-{self.name}.json"

    def key(self) -> str:
        problem = PROBLEMS[self.name]
        return cache_key(episodes=self.episodes, clusters=self.clusters, seed=SEED, task=problem.task,
                         variants=[sorted(v.items()) for v in problem.variants], relations=sorted(RELATIONS), network_check=True, own_episodes=True,
                         agent=identity(self.out, f"rnn:{self.name}"))

    def run(self, log: Log) -> bool:
        key = self.key()
        if record_key(self.target) == key:
            return False
        problem = PROBLEMS[self.name]
        rnn_machine = agent(self.out, self.name)
        variants = []
        for overrides in problem.variants:
            task = task_registry.get(problem.task, **overrides)
            log(f"extract the finite machines of rnn:{self.name} ({self.clusters} clusters per step) and opt on "
                f"{task_registry.label(task)}")
            rnn = extract_on_task(rnn_machine, task, "quantised", clusters=self.clusters, episodes=self.episodes, seed=SEED)
            bayes = load(f"opt:{problem.task}", task)
            opt = extract_on_task(bayes, task, "exact")
            views = {"rnn": problem.view(rnn.machine, task), "opt": problem.view(opt.machine, task)}
            relations = {name: _relation(views, *spec[:4]) for name, spec in RELATIONS.items()}
            for name, relation in relations.items():
                relation["network"] = _network_check(rnn_machine, task, relation, RELATIONS[name][3])
            variants.append({"task": task_registry.label(task), "rnn": rnn.summary(), "opt": opt.summary(), **relations,
                             "own_episodes": _own_decisions(rnn_machine, bayes, task, self.episodes)})
        write_record(self.target, key, {"name": self.name, "variants": variants})
        return True


def _relation(views: dict, simulated: str, simulator: str, check, within: bool) -> dict:
    """Whether the relation holds, the shortest word that breaks it and both outputs there."""
    word = check(views[simulated], views[simulator], within=within)
    said = last_outputs(word, views[simulated], views[simulator]) if word else [None, None]
    return {"holds": word is None, "word": word,
            "outputs": {simulated: _listed(said[0]), simulator: _listed(said[1])}}


def _network_check(network, task: Task, relation: dict, within: bool) -> dict | None:
    """At a relation's counterexample, the network's own greedy decision (run on the word's
    inputs, not through its quantised machine) and whether it too breaks the relation against
    opt's output there (None where opt is undefined or every action is equally good): a
    quantised machine's counterexample can be an artefact of the clusters."""
    if relation["word"] is None:
        return None
    said = greedy_outputs(outputs_on_word(network, task, ["start", *relation["word"]])[-1:], TIE_MARGIN)
    opt, rnn = relation["outputs"]["opt"], relation["outputs"]["rnn"]
    breaks = None
    if opt is not None and rnn is not None and min(rnn) >= 0:
        pair = (said, [opt]) if list(relation["outputs"])[0] == "rnn" else ([opt], said)
        breaks = not bool(outputs_match(*pair, within=within)[0, 0])
    return {"decision": _listed(said[0]), "breaks": breaks}


def _own_decisions(network, bayes, task: Task, episodes: int) -> dict:
    """On ``episodes`` of the network's own episodes (seed :data:`SEED`, the ones it is quantised
    on), the share of its greedy decisions that are among opt's optimal actions at the same
    history, and the shortest history (input labels after the start) where one is not."""
    traces = sample_traces(task, {"rnn": network, "opt": bayes}, episodes, SEED, driver="rnn")
    rnn, opt = traces["rnn_output"].values, traces["opt_output"].values
    greedy = greedy_outputs(rnn.reshape(-1, rnn.shape[-1]), TIE_MARGIN).reshape(rnn.shape)
    outside = ((greedy > 0) & (opt <= 1e-9)).any(axis=-1)
    word = None
    if outside.any():
        episode, step = min(zip(*np.nonzero(outside)), key=lambda pair: (pair[1], pair[0]))
        alphabet, labels = finite_task(task).input_alphabet()
        inputs = task.stamp_time(torch.from_numpy(traces["input"].values[episode, : step + 1]), 0).numpy()
        word = [labels[k] for k in symbolise(inputs[None], alphabet)[0][1:]]
    return {"decisions": int(outside.size), "outside": int(outside.sum()), "optimal_share": float(1.0 - outside.mean()),
            "first_suboptimal": word}


def _listed(values) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


def _vector(values: list[float] | None) -> str:
    return "undefined" if values is None else "[" + ", ".join(f"{v:.3g}" for v in values) + "]"


def _network(relation: dict | None) -> str:
    """The network's own decision at a counterexample, and whether it confirms the break."""
    check = None if relation is None else relation.get("network")
    if check is None:
        return "–"
    if check["breaks"] is None:
        return _vector(check["decision"])
    verdict = "breaks it too" if check["breaks"] else "does not: an artefact of the clusters"
    return f"{_vector(check['decision'])}: {verdict}"


def machine_lines(record: dict) -> list[str]:
    """The page's account of one :class:`FiniteMachineJob` record."""
    problem, variants = PROBLEMS[record["name"]], record["variants"]
    opt, rnns = variants[0]["opt"], [v["rnn"] for v in variants]
    sizes = ", ".join(str(r["states"]) for r in rnns)
    fidelity = ", ".join(f"{r['transition_fidelity']:.3f}" for r in rnns)
    lines = [
        "### Finite machines", "",
        f"Over {problem.what}. `opt:{problem.task}` extracted exactly: {opt['states']} states (minimised: "
        f"{opt['minimal_states']}). `rnn:{record['name']}` quantised step by step (k-means within each step and "
        f"last input, so no cluster mixes steps or screens): {sizes} states (transition fidelity {fidelity}). Both "
        "machines read from the state after the start input. The quantised machine leaves unobserved transitions "
        "undefined, so a relation that asks the rnn to be defined everywhere opt is fails on definedness; the "
        "relations asked of the rnn's own words are the informative ones. Where a relation breaks, the last column "
        "runs the network itself on the word's inputs: a break that the network does not repeat comes from merging "
        "states into clusters.", "",
        "| relation | holds on | shortest word that breaks it | outputs there (simulated, simulator) | the network itself there |",
        "|---|---|---|---|---|",
    ]
    for name, spec in RELATIONS.items():
        held = sum(v[name]["holds"] for v in variants)
        broken = [v for v in variants if not v[name]["holds"]]
        first = min(broken, key=lambda v: len(v[name]["word"]))[name] if broken else None
        word = "–" if first is None else " · ".join(first["word"]).replace("|", "\\|")
        said = "–" if first is None else ", ".join(_vector(v) for v in first["outputs"].values())
        lines.append(f"| {spec[4]} | {held} of {len(variants)} | {word} | {said} | {_network(first)} |")
    own = [v["own_episodes"] for v in variants]
    first = min((o["first_suboptimal"] for o in own if o["first_suboptimal"] is not None), key=len, default=None)
    outside = ", ".join(str(o["outside"]) for o in own)
    lines += ["", f"On the network's own episodes (the {own[0]['decisions']} decisions per variant it was quantised "
              f"on), without clusters: {outside} of its greedy decisions fall outside opt's optimal actions at the "
              "same history" +
              ("." if first is None else "; the shortest history where one is not: " +
               " · ".join(first).replace("|", "\\|") + ".")]
    return [*lines, ""]
