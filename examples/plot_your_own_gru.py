"""
Analysing your own recurrent agent: a GRU through the adapter
=============================================================

simlib compares any recurrent agent with any other, as long as it is a StateMachine.
``RecurrentMachine`` turns a torch recurrent module -- here a GRU we meta-train ourselves on
coin flips -- into one: the GRU's hidden state becomes the machine's state and a readout maps
it to the parameters of a Bernoulli prediction.
"""

# %%
# Build and meta-train a small GRU predictor
# ------------------------------------------
# Sixteen GRU units and a linear readout, trained with Adam on the log-loss of their
# predictions, on fresh episodes every step. The dashed line is the log-loss of the
# Bayes-optimal predictor on such episodes: the floor no predictor can beat on average. The
# GRU's curve is a running mean of losses on different batches, so it wanders a few
# thousandths of a nat either side of the floor once trained.
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from simlib import machines, tasks, unroll
from simlib.compare import compare
from simlib.families import Bernoulli
from simlib.machines import RecurrentMachine
from simlib.plots import simulation_panel
from simlib.random import make_generator

EPISODES = int(os.environ.get("SIMLIB_GALLERY_EPISODES", 500))
task = tasks.get("beta-bernoulli")
torch.manual_seed(0)
gru = RecurrentMachine(nn.GRU(task.input_dim, 16, batch_first=True), Bernoulli(), readout=nn.Linear(16, 1))

optimiser = torch.optim.Adam(gru.parameters(), lr=1e-2)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=800)
generator = make_generator(0)
losses = []
for step in range(800):
    observations = task.sample_observations(task.sample_theta(128, generator), task.horizon, generator)
    p = gru(task.encode(observations))[..., 0].clamp(1e-6, 1 - 1e-6)
    loss = nn.functional.binary_cross_entropy(p, observations.float())
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    schedule.step()
    losses.append(loss.item())

observations = task.sample_observations(task.sample_theta(4096, generator), task.horizon, generator)
p_bayes = unroll(machines.load("opt:beta-bernoulli"), task.encode(observations))[0][..., 0]
floor = nn.functional.binary_cross_entropy(p_bayes, observations).item()

fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
running = torch.tensor(losses).unfold(0, 50, 10).mean(1)
ax.plot(np.arange(50, len(losses) + 1, 10), running, label="GRU, mean of the last 50 steps")
ax.axhline(floor, color="k", ls="--", label=f"Bayes-optimal predictor: {floor:.3f}")
ax.set_xlabel("training step (batch of 128 episodes)")
ax.set_ylabel("log-loss (nats per flip)")
ax.set_title("Meta-training a GRU on coin flips, p ~ Beta(1, 1)")
ax.legend(fontsize=8)

# %%
# Compare it with the Bayes-optimal predictor
# -------------------------------------------
# ``compare`` needs only the machines and the task. Behaviour is the KL of eq. (2); D_s and
# D_o say how well each machine simulates the other.
gru.eval()
gru.spec = "our GRU (N = 16)"
report = compare(gru, machines.load("opt:beta-bernoulli"), task, episodes=EPISODES, seed=0)
print(f"behaviour: {report.behaviour.metric} = {report.behaviour.value:.4f} nats")
print(f"GRU -> opt: D_s {report.a_to_b.mlp.d_s:.3f}, D_o {report.a_to_b.mlp.d_o:.4f} nats")
print(f"opt -> GRU: D_s {report.b_to_a.mlp.d_s:.3f}, D_o {report.b_to_a.mlp.d_o:.4f} nats")

# %%
# The simulation panel
# --------------------
# The GRU's 16-dimensional state, projected on its first two principal components, already
# looks like the triangle of (heads, flips) counts the Bayes-optimal agent keeps.
simulation_panel(report, fig=plt.figure(figsize=(9.5, 8.5)))
# sphinx_gallery_thumbnail_number = 2
plt.show()
