"""
Finite machines: the LSTM's automaton against the Bayes agent's counter
=======================================================================

Approximate simulation compares continuous states. Finite machines ask the same question
exactly: quantise a network's states into a Mealy machine (states, input symbols on the
transitions, a prediction on each transition), minimise it, and compare it with the finite
machine of the Bayes-optimal agent, which for coin flips is a counter of (heads, flips).
On short episodes of 5 steps (a start token, then 4 flips) the machines are small enough to
draw, and the shipped LSTM ``rnn:beta-bernoulli`` turns out to be a counter too, up to
differences in the third decimal of its predictions: it keeps apart some histories that the
counter merges, the paper's "non-minimal sufficient statistic".
"""

# %%
# The Bayes agent's counter, extracted exactly
# --------------------------------------------
# ``extract_on_task(..., "exact")`` enumerates every state reachable in at most ``depth``
# inputs. An episode of 5 steps visits states after at most 3 flips (the transition on the
# 4th flip leads to an absorbing END state), so depth 3 suffices: one state per
# (heads, flips) with at most 3 flips, plus END. The start token leaves the counts as they
# are. No two count states predict alike on every continuation, so minimisation merges
# nothing.
import os
import warnings
from itertools import product

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from matplotlib.lines import Line2D

from simlib import machines, tasks
from simlib.fsm import (
    FiniteMealy,
    counterexample,
    distinguishing_word,
    extract_on_task,
    last_outputs,
    simulates,
    to_networkx,
)

EPISODES = int(os.environ.get("SIMLIB_GALLERY_EPISODES", 500))
HORIZON = 5
task = tasks.get("beta-bernoulli", horizon=HORIZON)
rnn, opt = machines.load("rnn:beta-bernoulli"), machines.load("opt:beta-bernoulli")

counter = extract_on_task(opt, task, "exact", depth=HORIZON - 2)
print("Bayes agent, exact:", counter.summary())

# %%
# The LSTM's machine, quantised
# -----------------------------
# ``extract_on_task(..., "quantised")`` clusters the LSTM's 64-number states on ``EPISODES``
# episodes with k-means and reads off the majority transition of every (cluster, input).
# A 5-step episode has 16 distinct histories (the initial state, the start token, then 2, 4
# and 8 flip sequences), so from 16 clusters on every history has its own state. Minimising
# merges states whose predictions agree on every continuation; predictions are compared as
# rounded numbers. Rounded to 3 decimals nothing merges: the LSTM's prediction after
# heads-tails differs from that after tails-heads in the third decimal. Rounded to 1
# decimal, the 17 states (16 clusters and END) minimise to 12: the counter's 11 and the
# LSTM's own initial state. With fewer clusters than count states, histories with different
# counts share a cluster: transitions become ambiguous and the counter no longer simulates the
# result (right; "simulates" compares predictions to one decimal).
clusters = np.arange(2, 17)
sweep = {"quantised": [], "minimised, predictions to 3 decimals": [], "minimised, to 1 decimal": []}
fidelity, simulated = [], []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # k-means warns when fewer distinct states than clusters were seen
    for k in clusters:
        fine = extract_on_task(rnn, task, "quantised", clusters=k, episodes=EPISODES, decimals=3)
        coarse = extract_on_task(rnn, task, "quantised", clusters=k, episodes=EPISODES, decimals=1)
        sweep["quantised"].append(fine.machine.n_states)
        sweep["minimised, predictions to 3 decimals"].append(fine.minimal.n_states)
        sweep["minimised, to 1 decimal"].append(coarse.minimal.n_states)
        fidelity.append(fine.fidelity)
        simulated.append(simulates(counter.minimal, coarse.minimal, decimals=1))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
styles = ({"lw": 5, "alpha": 0.35}, {"marker": "s", "mfc": "none"}, {"marker": "D", "ms": 4})
for (label, counts), style in zip(sweep.items(), styles):
    axes[0].plot(clusters, counts, label=label, **style)
axes[0].axhline(counter.minimal.n_states, color="k", ls=":", label="Bayes agent's counter (exact)")
axes[0].set_xlabel("k-means clusters")
axes[0].set_ylabel("states of the LSTM's machine")
axes[0].set_title("Quantised and minimised LSTM machines")
axes[0].legend(fontsize=8)
axes[1].plot(clusters, fidelity, "o-", label="transition fidelity: transitions to the majority successor")
axes[1].step(clusters, simulated, "k--", where="mid", label="counter simulates the minimised machine (1 = yes)")
axes[1].set_xlabel("k-means clusters")
axes[1].set_ylabel("fraction / yes-no")
axes[1].set_title("Consistency of the quantised machine")
axes[1].set_ylim(-0.05, 1.25)
axes[1].legend(fontsize=8, loc="upper left")
fig.suptitle(f"The LSTM's finite machine on {EPISODES} five-step episodes")

# %%
# Simulation and bisimulation
# ---------------------------
# We keep 16 clusters, one per history, with predictions to 3 decimals. The counter simulates
# the LSTM's machine: every word the LSTM's machine reads, the counter reads with the same
# predictions to one decimal; to two decimals a counterexample appears. The reverse fails on
# the word ``0``, a flip before the start token: the exact counter answers every word up to
# its depth, while a machine read off traces knows only the words that episodes contain. So
# the two are not bisimilar, and the shortest word that tells them apart says why.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    lstm = {d: extract_on_task(rnn, task, "quantised", clusters=16, episodes=EPISODES, decimals=d) for d in (3, 1)}
print("LSTM, quantised:", lstm[3].summary())
raw = lstm[3].machine
for decimals in (1, 2):
    word = counterexample(raw, counter.minimal, decimals=decimals)
    verdict = "yes" if word is None else f"no, on {word}"
    if word is not None:
        said = last_outputs(word, raw, counter.minimal)
        verdict += f" (LSTM {said[0][0]:.3f}, counter {said[1][0]:.3f})"
    print(f"counter simulates the LSTM's machine to {decimals} decimal(s): {verdict}")
print("LSTM's machine simulates the counter:", simulates(raw, counter.minimal, decimals=1),
      "- counterexample:", counterexample(counter.minimal, raw, decimals=1))
print("shortest distinguishing word:", distinguishing_word(raw, counter.minimal, decimals=1))

# %%
# Where injectivity fails
# -----------------------
# Run every history through both machines. Histories that reach one count state but
# different LSTM states are where the LSTM keeps more than the minimal sufficient statistic:
# a map from the counter's states to the LSTM's would have to send one state to two. Before
# minimisation the LSTM keeps every order of the flips apart; minimised to one decimal it
# merges them, and only the start token is left: the counter's state does not change on it,
# the LSTM's does. The picture shows the 16 cluster centres, the LSTM's states, on their
# first two principal components: histories with equal counts lie close together, but apart.
histories = [("start",) + flips for n in range(HORIZON - 1) for flips in product("01", repeat=n)]
histories.insert(0, ())


def name(history: tuple[str, ...]) -> str:
    """``("start", "1", "0")`` -> ``"HT"``; the initial and the start-token states by name."""
    if not history:
        return "initial"
    return "".join("TH"[int(flip)] for flip in history[1:]) or "start"


def state_after(machine: FiniteMealy, history: tuple[str, ...]) -> int:
    """The state ``machine`` is in after reading ``history`` from its initial state."""
    return machine.run(history)[1]


groups: dict[int, list[tuple[str, ...]]] = {}
for history in histories:
    groups.setdefault(state_after(counter.minimal, history), []).append(history)
print(f"{'counter state (heads, flips)':>28} | {'histories':<20} | LSTM states | minimised LSTM states")
for state, members in groups.items():
    heads, flips = counter.minimal.state_vectors[state].astype(int)
    kept = {state_after(raw, h) for h in members}
    merged = {state_after(lstm[1].minimal, h) for h in members}
    print(f"{f'({heads}, {flips})':>28} | {' '.join(map(name, members)):<20} | {len(kept):>11} | {len(merged):>21}")

heads, flips = counter.minimal.state_vectors[[state_after(counter.minimal, h) for h in histories]].T
bayes = (heads + 1) / (flips + 2)
centres = raw.state_vectors[[state_after(raw, h) for h in histories]]
centred = centres - centres.mean(0)
xy = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
fig, ax = plt.subplots(figsize=(7.5, 5.5), layout="constrained")
for members in groups.values():
    ax.plot(*xy[[histories.index(h) for h in members]].T, "-", color="0.75", lw=4, zorder=0)
points = ax.scatter(*xy.T, c=bayes, cmap="coolwarm", vmin=0, vmax=1, s=40, zorder=1)
for history, (x, y) in zip(histories, xy):
    ax.annotate(name(history), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
ax.set_xlabel("LSTM state PC1 (cluster centres)")
ax.set_ylabel("LSTM state PC2 (cluster centres)")
ax.set_title("The LSTM's states after each history (grey bars join histories with equal counts)")
fig.colorbar(points, ax=ax, label="Bayes-optimal P(next flip = heads) after the history")

# %%
# The two minimised machines
# --------------------------
# Each node is a state, labelled by the first history that reaches it (the empty history
# last) and placed by that history: flips seen (left to right) and the Bayes-optimal
# prediction after it (bottom to top). Node colour is the machine's own prediction on
# arrival (the LSTM's rounded to one decimal); edges are coloured by the input they read.
# The counter's start token is a self-loop. Apart from the LSTM's own initial state, the
# drawings match edge for edge: the minimised LSTM machine is the counter.
EDGES = {"start": ("0.6", "start token"), "0": ("tab:orange", "tails (0)"), "1": ("tab:purple", "heads (1)")}


def draw_machine(ax: plt.Axes, machine: FiniteMealy, title: str) -> None:
    """Draw a finite Mealy machine, each state placed by the first history that reaches it."""
    graph = to_networkx(machine)
    position, labels = {}, {}
    for history, p in list(zip(histories, bayes))[1:] + [(histories[0], bayes[0])]:
        state = state_after(machine, history)
        if state not in position:
            position[state] = (len(history) - 1 if history else -1, p)
            labels[state] = name(history)
    for state in graph:
        if state not in position:
            position[state], labels[state] = (HORIZON - 1, 0.5), "END"
    arrivals = {v: data["output"][0] for _, v, data in graph.edges(data=True)}
    for symbol, (colour, _) in EDGES.items():
        edges = [(u, v) for u, v, data in graph.edges(data=True) if data["input"] == symbol]
        nx.draw_networkx_edges(
            graph, position, edgelist=edges, ax=ax, edge_color=colour, arrowsize=9, node_size=420,
            connectionstyle="arc3,rad=0.06",
        )
    colours = [plt.cm.coolwarm(arrivals[v]) if v in arrivals and labels[v] != "END" else "0.85" for v in graph]
    nx.draw_networkx_nodes(graph, position, ax=ax, node_color=colours, node_size=420, edgecolors="k", linewidths=0.6)
    nx.draw_networkx_labels(graph, position, ax=ax, labels=labels, font_size=6)
    ax.set_title(f"{title}: {machine.n_states} states", fontsize=10)
    ax.set_xlabel("flips seen (-1: before the start token)")
    ax.set_ylabel("Bayes-optimal P(next flip = heads) after the history")
    ax.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True)
    ax.set_xlim(-1.5, HORIZON - 0.5)
    ax.set_ylim(0.1, 0.9)


fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained", sharey=True)
# sphinx_gallery_thumbnail_number = 3
draw_machine(axes[0], counter.minimal, "Bayes agent's counter, exact, minimised")
draw_machine(axes[1], lstm[1].minimal, "LSTM, 16 clusters, minimised to 1 decimal")
handles = [Line2D([], [], color=colour, label=f"input: {label}") for colour, label in EDGES.values()]
axes[0].legend(handles=handles, fontsize=8, loc="upper left")
colour_scale = plt.cm.ScalarMappable(cmap="coolwarm")
fig.colorbar(colour_scale, ax=axes, shrink=0.8, label="node: the machine's predicted P(heads) on arrival")
plt.show()
