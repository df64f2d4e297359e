"""
Your own environment: comparing two agents in a Gymnasium environment you write
===============================================================================

simlib's questions -- do two agents act alike, and can each simulate the other? -- do not
depend on simlib's tasks. Any Gymnasium environment with discrete actions will do:
``GymTask`` plays copies of it, one per episode, lets one agent act and feeds both agents the
same observation-action-reward stream. Here we write a small environment of our own -- two slot
machines -- and compare the meta-trained LSTM with the Bayes-optimal agent in it, once with the
environment telling simlib every lever's expected payout and once without: without them the
measures that need them are reported unavailable, not invented.
"""

# %%
# The environment: two slot machines
# ----------------------------------
# Each lever pays 1 with an unknown probability drawn from Beta(1, 1) when the episode starts,
# for 20 pulls. There is nothing to see but the payouts, so the observation is the single
# state of ``Discrete(1)``. An environment that knows its levers' expected payouts can pass
# them on as ``info["mean_reward"]``; that is what regret, the pseudo-reward and the
# return-based D_o are computed from. Gymnasium's own checker accepts the environment.
import os
from functools import partial

import gymnasium
import matplotlib.pyplot as plt
import numpy as np
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from simlib import machines
from simlib.compare import compare
from simlib.tasks.gym_task import GymTask

EPISODES = int(os.environ.get("SIMLIB_GALLERY_EPISODES", 300))
PULLS = 20


class SlotMachines(gymnasium.Env):
    """Two levers paying 1 with probabilities p ~ Beta(1, 1) per episode."""

    def __init__(self, reveal_means: bool = True) -> None:
        self.reveal_means = reveal_means
        self.observation_space = spaces.Discrete(1)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.p = self.np_random.beta(1.0, 1.0, size=2)
        self.pulls = 0
        return 0, {}

    def step(self, action):
        reward = float(self.np_random.random() < self.p[action])
        self.pulls += 1
        info = {"mean_reward": self.p.copy()} if self.reveal_means else {}
        return 0, reward, self.pulls >= PULLS, False, info


check_env(SlotMachines(), skip_render_check=True)

# %%
# Both agents in the environment
# ------------------------------
# ``encoding="history"`` gives the agents the input ``[one-hot(previous lever), previous
# payout, t / 20]`` -- the layout of simlib's ``bernoulli-bandit``, so its LSTM and its
# Bayes-optimal agent take it as it is (the default encoding also appends the flattened
# observation). ``compare`` traces both, the LSTM acting, and fits phi in both directions.
rnn, opt = machines.load("rnn:bernoulli-bandit"), machines.load("opt:bernoulli-bandit")
reports = {}
for reveal in (True, False):
    task = GymTask(partial(SlotMachines, reveal_means=reveal), horizon=PULLS, encoding="history")
    reports[reveal] = compare(rnn, opt, task, episodes=EPISODES, seed=0)
    task.close()

for reveal, report in reports.items():
    behaviour = report.behaviour
    print(f"expected payouts {'given' if reveal else 'hidden'}:")
    print(f"  return gap {behaviour.value:.3f} +- {behaviour.standard_error:.3f} {behaviour.units}")
    for label, direction in (("LSTM -> opt", report.a_to_b), ("opt -> LSTM", report.b_to_a)):
        d_o = "unavailable" if direction.mlp.d_o is None else f"{direction.mlp.d_o:.4f}"
        print(f"  {label}: D_s {direction.mlp.d_s:.3f}, D_o {d_o}")
    for measure, reason in report.unavailable.items():
        print(f"  unavailable: {measure} ({reason})")

# %%
# What hiding the expected payouts costs
# --------------------------------------
# The two environments draw the same levers and payouts from the same seeds, so the traced
# states, and D_s, are the same. Without the expected payouts the return gap is measured on
# the sampled payouts -- the same quantity, now carrying the payouts' noise as well as the
# agents' -- and D_o, which scores both policies by every lever's expected payout along the
# traced stream, cannot be measured at all: the report lists it as unavailable.
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
labels = ("expected payouts given", "expected payouts hidden")
directions = ["LSTM -> opt\n(opt simulates LSTM)", "opt -> LSTM\n(LSTM simulates opt)"]
for offset, (reveal, report) in zip((-0.2, 0.2), reports.items()):
    results = [report.a_to_b.mlp, report.b_to_a.mlp]
    axes[0].bar(np.arange(2) + offset, [r.d_s for r in results], width=0.4, label=labels[not reveal])
    for x, result in zip(np.arange(2) + offset, results):
        if result.d_o is None:
            axes[1].text(x, 0.0, " unavailable", rotation=90, ha="center", va="bottom", color="tab:orange")
        else:
            axes[1].bar(x, result.d_o, width=0.4, color="tab:blue")
for ax, title, unit in zip(axes[:2], ("State dissimilarity D_s", "Output dissimilarity D_o"),
                           ("whitened MSE", "|pseudo-return gap|")):
    ax.set_xticks([0, 1], directions)
    ax.set_title(title)
    ax.set_ylabel(f"{unit} (held-out episodes)")
axes[0].legend(fontsize=8)
for position, (reveal, report) in enumerate(reports.items()):
    behaviour = report.behaviour
    axes[2].errorbar(position, behaviour.value, yerr=behaviour.standard_error, fmt="o", capsize=6)
axes[2].set_xticks([0, 1], ["payouts given\n(pseudo-reward)", "payouts hidden\n(sampled payouts)"])
axes[2].set_xlim(-0.6, 1.6)
axes[2].set_ylabel("|return(LSTM) - return(opt)|")
axes[2].set_title(f"Behaviour, {EPISODES} episodes (+- 1 standard error)")
plt.show()
