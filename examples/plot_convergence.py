"""
Convergence during meta-training: every snapshot against the Bayes-optimal agent
================================================================================

An LSTM meta-trained on coin flips (p ~ Beta(1, 1), 20 flips per episode) is saved every 200
optimiser steps. How does its behaviour approach the Bayes-optimal predictor's over training,
which parts of the episode are learnt first, and do separate training runs take the same road
(paper Figure 2a)? The shipped runs of the recipe are analysed: one run (seed 0) ships with
simlib, and further seeds are picked up when present.
"""

# %%
# The runs and their snapshots
# ----------------------------
# Each checkpoint holds the weights at every snapshot; the untrained weights (step 0) are
# rebuilt from the recorded seed when they were not stored. The reference is the
# Bayes-optimal predictor, which keeps (heads, flips).
import os

import matplotlib.pyplot as plt

from simlib import machines
from simlib.convergence import analyse, behavioural_distances, summary
from simlib.machines.runs import load_runs
from simlib.machines.zoo import seed_paths
from simlib.plots import convergence_figure

EPISODES = int(os.environ.get("SIMLIB_GALLERY_EPISODES", 500))
task, runs, histories = load_runs(seed_paths("beta-bernoulli"))
opt = machines.load("opt:beta-bernoulli", task)
for name, snapshots in runs.items():
    print(f"{name}: {len(snapshots)} snapshots, steps {min(snapshots)} to {max(snapshots)}")

# %%
# Within-episode dissimilarity and distances between all snapshots
# ----------------------------------------------------------------
# For every snapshot, KL(opt || snapshot) at each step of the episode, averaged over
# ``EPISODES`` episodes that every machine sees alike. Across runs, the Jensen-Shannon
# divergence between every pair of machines (all snapshots and opt), summed over the episode,
# on fewer episodes; multidimensional scaling draws that matrix in two dimensions. For scale:
# a predictor that remembers only the last flip sits this far from opt.
dataset = analyse(task, runs, opt, histories, episodes=EPISODES, distance_episodes=max(20, EPISODES // 5), seed=0)
control = {"opt": opt, "forgetful": machines.load("forgetful:beta-bernoulli", task)}
scale = float(behavioural_distances(task, control, episodes=max(20, EPISODES // 5)).sel(point="opt", other="forgetful"))
print(f"JS distance opt - forgetful (remembers the last flip only): {scale:.4f} nats")
for name, row in summary(dataset).items():
    print(
        f"{name}: KL(opt || snapshot) per episode {row['within_first']:.3f} -> {row['within_last']:.2g} nats, "
        f"JS distance to opt {row['distance_first']:.3f} -> {row['distance_last']:.2g} nats "
        f"(steps {row['first_step']} -> {row['last_step']})"
    )

# %%
# Figure 2a
# ---------
# (a) Early in training only the first steps of an episode are right (the prior's mean needs
# no memory); integrating evidence over the later steps is learnt afterwards -- the
# 'staggered' meta-learning of paper §4.2. (b) The same rows as curves. (c) Every run moves
# from its own random start to the Bayes-optimal agent at the origin; the zoom leaves out the
# untrained snapshots. (d) The recorded training curves.
convergence_figure(dataset, fig=plt.figure(figsize=(12.5, 8.5)))
plt.show()
