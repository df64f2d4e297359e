"""
The two-armed bandit: a meta-trained LSTM against the Bayes-optimal agent
=========================================================================

Two arms pay 1 with unknown probabilities p_0, p_1 ~ Beta(1, 1), for 20 pulls. The
Bayes-optimal agent keeps (successes, failures) per arm and solves the exploration problem
exactly by backward induction; the shipped LSTM (256 units) learnt to play from rewards alone.
Do they act alike (paper Figure 1b), and can each simulate the other (Figure 3b)?
"""

# %%
# Behaviour: policies along the same episodes, and Bayes regret
# -------------------------------------------------------------
# Both agents are fed the action-reward stream the LSTM generates (closed-loop traces), so
# their action probabilities can be compared step by step. Regret is measured from the
# Bayes-optimal value function, each agent playing its own episodes.
import os

import matplotlib.pyplot as plt
import numpy as np

from simlib import machines, tasks
from simlib.behaviour import own_play
from simlib.compare import compare
from simlib.plots import simulation_panel
from simlib.traces import sample_traces

EPISODES = int(os.environ.get("SIMLIB_GALLERY_EPISODES", 500))
task = tasks.get("bernoulli-bandit")
rnn, opt = machines.load("rnn:bernoulli-bandit"), machines.load("opt:bernoulli-bandit")
traces = sample_traces(task, {"rnn": rnn, "opt": opt}, 3, seed=4, driver="rnn")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
steps = np.arange(1, task.horizon + 1)
for episode, colour in zip(range(3), ("tab:blue", "tab:orange", "tab:green")):
    p = traces["theta"].values[episode]
    label = f"episode {episode + 1}: p = ({p[0]:.2f}, {p[1]:.2f})"
    axes[0].plot(steps, traces["rnn_output"].values[episode, :, 1], color=colour, label=f"LSTM, {label}")
    axes[0].plot(steps, traces["opt_output"].values[episode, :, 1], color=colour, linestyle="--")
axes[0].set_xlabel("pull t")
axes[0].set_ylabel("P(pull arm 1)")
axes[0].set_ylim(-0.05, 1.45)
axes[0].set_yticks(np.linspace(0, 1, 6))
axes[0].set_title("Policies on the LSTM's episodes (solid: LSTM, dashed: Bayes-optimal)")
axes[0].legend(fontsize=7, loc="upper center")

agents = {
    "Bayes-optimal": opt,
    "meta-trained LSTM": rnn,
    "untrained LSTM": machines.load("rnn:bernoulli-bandit@init"),
    "Gittins (gamma 0.95)": machines.load("gittins:bernoulli-bandit"),
    "Thompson sampling": machines.load("thompson:bernoulli-bandit"),
}
for name, agent in agents.items():
    cumulative = own_play(task, agent, EPISODES, seed=1, critic=opt)[1].mean(0).cumsum()
    axes[1].plot(steps, cumulative, label=f"{name}: {cumulative[-1]:.3f} after 20 pulls")
axes[1].set_xlabel("pull t")
axes[1].set_ylabel("cumulative Bayes regret (reward)")
axes[1].set_title(f"Cumulative Bayes regret, mean of {EPISODES} episodes")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.set_xticks(range(0, task.horizon + 1, 5))

# %%
# Structure: approximate simulation in both directions
# ----------------------------------------------------
# The LSTM's 512-number state is projected onto 4 principal components (the size of the
# Bayes-optimal state) and an MLP phi maps it onto the counts, and back. D_o scores the
# policy each machine computes from the embedded state by the pseudo-reward it would earn.
report = compare(rnn, opt, task, episodes=EPISODES, seed=0)
# sphinx_gallery_thumbnail_number = 2
behaviour = report.behaviour
print(f"return gap {behaviour.value:.3f} +- {behaviour.standard_error:.3f} (eq. 3, pseudo-reward)")
print(f"Bayes regret per step: LSTM {behaviour.regret['a']:.5f}, opt {behaviour.regret['b']:.5f}")
print(f"LSTM -> opt: D_s {report.a_to_b.mlp.d_s:.3f}, D_o {report.a_to_b.mlp.d_o:.4f}")
print(f"opt -> LSTM: D_s {report.b_to_a.mlp.d_s:.3f}, D_o {report.b_to_a.mlp.d_o:.4f}")
simulation_panel(report, fig=plt.figure(figsize=(9.5, 8.5)))
plt.show()
