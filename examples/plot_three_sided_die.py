"""
The three-sided die: paper Figures 1a and 3a
============================================

Each episode rolls a die whose three side probabilities are drawn from Dirichlet(1, 1, 1).
The Bayes-optimal predictor keeps the count of each side and predicts
(count + 1) / (rolls + 3); the shipped LSTM (32 units) learnt to predict the next roll from
rolls alone. We reproduce the paper's two views of the pair: behaviour, the predictions of
both agents along the same episodes (Figure 1a), and structure, whether each agent's states
can be mapped onto the other's (Figure 3a).
"""

# %%
# Figure 1a: predictions along three episodes
# -------------------------------------------
# Both agents see the same rolls (ticks along the bottom, coloured by side). Their predicted
# probabilities of the three sides are indistinguishable and approach the die's true
# probabilities (dotted). As in the paper the episodes run for 30 rolls although the LSTM
# was trained on 20: the shaded steps test generalisation beyond the training horizon.
import os

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from simlib import machines, tasks
from simlib.compare import compare
from simlib.plots import simulation_panel
from simlib.traces import sample_traces

EPISODES = int(os.environ.get("SIMLIB_GALLERY_EPISODES", 500))
SIDES = ("tab:red", "tab:green", "tab:blue")
task = tasks.get("dirichlet-categorical")
rnn, opt = machines.load("rnn:dirichlet-categorical"), machines.load("opt:dirichlet-categorical")
long_task = tasks.get("dirichlet-categorical", horizon=30)
traces = sample_traces(long_task, {"rnn": rnn, "opt": opt}, 3, seed=1)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained", sharey=True)
steps = np.arange(long_task.horizon)
for episode, ax in enumerate(axes):
    for side, colour in enumerate(SIDES):
        ax.plot(steps, traces["rnn_output"].values[episode, :, side], color=colour, lw=1.8)
        ax.plot(steps, traces["opt_output"].values[episode, :, side], "--", color="k", lw=0.9)
        ax.axhline(traces["theta"].values[episode, side], color=colour, ls=":", lw=1.2)
    rolls = traces["observation"].values[episode].astype(int)
    ax.scatter(steps, np.full(steps.shape, -0.03), c=[SIDES[r] for r in rolls], marker="|", s=60)
    ax.axvspan(task.horizon - 0.5, long_task.horizon - 0.5, color="0.9", zorder=0)
    ax.set_xlabel("roll t (prediction made after t rolls)")
    true_p = ", ".join(f"{p:.2f}" for p in traces["theta"].values[episode])
    ax.set_title(f"Episode {episode + 1}: true p = ({true_p})", fontsize=9)
axes[0].set_ylabel("predicted probability of the next roll")
axes[0].set_ylim(-0.06, 1.0)
handles = [Line2D([], [], color=colour, lw=1.8, label=f"LSTM, side {side}") for side, colour in enumerate(SIDES)]
handles += [
    Line2D([], [], color="k", ls="--", lw=0.9, label="Bayes-optimal"),
    Line2D([], [], color="0.5", ls=":", label="true probability"),
    Line2D([], [], color="0.5", marker="|", ls="none", label="roll observed"),
]
axes[2].legend(handles=handles, fontsize=7, loc="upper right", ncols=2)
fig.suptitle("Predictions on 30-roll episodes; shaded: beyond the 20 rolls the LSTM was trained on")

# %%
# The same episodes on the probability simplex
# --------------------------------------------
# A prediction over three sides is a point in a triangle whose corners are certainty of one
# side. Every episode starts in the centre (1/3, 1/3, 1/3) and walks towards the die's true
# probabilities (stars); the LSTM's walk lies on top of the Bayes-optimal one.
corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
fig, ax = plt.subplots(figsize=(6, 5.4), layout="constrained")
ax.add_patch(plt.Polygon(corners, fill=False, color="0.3"))
for side, (corner, colour) in enumerate(zip(corners, SIDES)):
    offset = (0, -14 if side < 2 else 6)
    ax.annotate(f"side {side} certain", corner, textcoords="offset points", xytext=offset, ha="center", color=colour)
for episode, colour in enumerate(("tab:purple", "tab:orange", "tab:cyan")):
    rnn_xy = traces["rnn_output"].values[episode] @ corners
    opt_xy = traces["opt_output"].values[episode] @ corners
    ax.plot(*rnn_xy.T, "-o", color=colour, ms=3, lw=1.5, label=f"episode {episode + 1}, LSTM")
    ax.plot(*opt_xy.T, "--", color="k", lw=0.8)
    ax.plot(*(traces["theta"].values[episode] @ corners), "*", color=colour, ms=14, mec="k")
ax.plot([], [], "--", color="k", lw=0.8, label="Bayes-optimal")
ax.plot([], [], "*", color="0.6", ms=12, mec="k", ls="none", label="true probabilities")
ax.set_aspect("equal")
ax.set_xlim(-0.08, 1.08)
ax.set_ylim(-0.1, 0.95)
ax.set_xlabel("barycentric x (simplex coordinate)")
ax.set_ylabel("barycentric y (simplex coordinate)")
ax.set_title("30-roll prediction trajectories on the probability simplex")
ax.legend(fontsize=8, loc="upper left")

# %%
# Figure 3a: approximate simulation in both directions
# ----------------------------------------------------
# On ``EPISODES`` 20-roll episodes, both agents' states are projected onto 3 principal
# components (the size of the Bayes agent's state, the three counts) and whitened, and an MLP
# phi is fitted from each state space into the other. Colour is the predicted distribution
# as an RGB mix of the three side probabilities. The counts simulate the LSTM almost
# perfectly (top right); the reverse map is also good here, though D_o is larger.
report = compare(rnn, opt, task, episodes=EPISODES, seed=0)
print(f"behaviour: {report.behaviour.metric} = {report.behaviour.value:.4f} nats per episode")
print(f"LSTM -> opt: D_s {report.a_to_b.mlp.d_s:.4f}, D_o {report.a_to_b.mlp.d_o:.4f} nats")
print(f"opt -> LSTM: D_s {report.b_to_a.mlp.d_s:.4f}, D_o {report.b_to_a.mlp.d_o:.4f} nats")
simulation_panel(report, fig=plt.figure(figsize=(9.5, 8.5)))
plt.show()
