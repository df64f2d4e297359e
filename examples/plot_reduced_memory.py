"""
Reduced memory: LSTMs too narrow to hold the sufficient statistics
==================================================================

The Bayes-optimal five-sided-die predictor keeps five counts; the normal-gamma predictor keeps
(n, sum, sum of squares); the two-armed Bernoulli bandit agent keeps four counts. The shipped
LSTMs have N = 32 (prediction) and N = 256 (bandit) units. What happens when the memory is
too small to hold those statistics (paper Appendix D.7)? simlib ships agents of width N = 1, 2
and 4 trained with the same recipe as the full-width ones; we compare each with the
Bayes-optimal agent, behaviourally and structurally.
"""

# %%
# Compare every width with the Bayes-optimal agent
# ------------------------------------------------
# ``compare`` measures behaviour (KL for prediction, the return gap for the bandit) and fits
# the simulation map phi in both directions: RNN -> Opt (can Opt simulate the RNN?) and
# Opt -> RNN. The shipped full-width agent is the last point of every curve.
import os

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from simlib import machines, tasks
from simlib.compare import compare
from simlib.machines.zoo import reduced_memory_paths, zoo_path
from simlib.plots import memory_figure
from simlib.pipeline.results import MEASURES, measures_of

EPISODES = int(os.environ.get("SIMLIB_GALLERY_EPISODES", 500))
TASKS = ("dirichlet-categorical-5", "normal-gamma", "bernoulli-bandit")

rows = {}
for name in TASKS:
    task = tasks.get(name)
    opt = machines.load(f"opt:{name}", task)
    paths = {**reduced_memory_paths(name), "full": zoo_path(name)}
    for label, path in paths.items():
        rnn = machines.load(str(path), task)
        width = rnn.state_dim // 2
        report = compare(rnn, opt, task, episodes=EPISODES, seed=0, threads=1)
        rows[name, width] = measures_of(report)
        print(f"{name:24s} N = {width:3d}: behaviour {report.behaviour.value:.3g} {report.behaviour.units}, "
              f"D_s RNN->Opt {report.a_to_b.mlp.d_s:.3f}, Opt->RNN {report.b_to_a.mlp.d_s:.3f}")

# %%
# Behaviour and simulation against the width
# ------------------------------------------
# Narrow agents behave worse and, in both directions, their states map less well onto the
# Bayes-optimal agent's: with fewer units than sufficient statistics, different evidence has
# to share a memory state, so neither machine can simulate the other.
widths = sorted({width for _, width in rows})
values = np.full((len(TASKS), len(widths), len(MEASURES)), np.nan)
for (name, width), measures in rows.items():
    values[TASKS.index(name), widths.index(width)] = [measures[m] for m in MEASURES]
table = xr.DataArray(values, dims=("task", "width", "measure"),
                     coords={"task": list(TASKS), "width": widths, "measure": list(MEASURES)})
memory_figure(table, fig=plt.figure(figsize=(12, 9.3), layout="constrained"))
plt.show()
