"""Behavioural quality of the shipped meta-trained LSTMs against the Bayes-optimal predictors.

For every prediction task: eq. (2) -- KL(opt || rnn) summed over the 20 steps and averaged over
500 held-out episodes -- for the untrained (``rnn:NAME@init``) and the shipped (``rnn:NAME``)
agent, against the acceptance bar (0.001 nats on every task); and
generalisation: the mean per-step KL when the agents run for 100 steps, five times the
training horizon, with the worst step.

    python benchmarks/quality.py [--episodes 500] [--seed 7] [--horizon 100]
"""

from __future__ import annotations

import argparse

import numpy as np

from simlib import machines, tasks
from simlib.behaviour import prediction_divergence
from simlib.machines.zoo import PREDICTION_KL_BAR, shipped
from simlib.traces import sample_traces


def kl_per_step(task_name: str, spec: str, episodes: int, seed: int, horizon: int) -> np.ndarray:
    """Mean over episodes of KL(opt || machine) at each step: ``[horizon]`` nats."""
    task = tasks.get(task_name, horizon=horizon)
    # the agent keeps its 20-step training task (a machine refuses another horizon as its task);
    # the episodes and the Bayes-optimal predictor are the longer task's
    pair = {"rnn": machines.load(spec), "opt": machines.load(f"opt:{task_name}", task)}
    traces = sample_traces(task, pair, episodes, seed)
    return prediction_divergence(traces, "opt", "rnn", task.output).per_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7, help="evaluation seed (training used other streams)")
    parser.add_argument("--horizon", type=int, default=100, help="horizon of the generalisation test")
    args = parser.parse_args()
    print(f"eq. (2) KL(opt || rnn), nats, {args.episodes} held-out episodes of 20 steps; "
          f"generalisation: per-step KL over {args.horizon} steps")
    header = f"{'task':<26}{'init':>10}{'final':>11}{'bar':>8}  {'ok':<4}{'per-step 1-20':>15}{'per-step 21-' + str(args.horizon):>17}{'worst step':>12}"
    print(header)
    print("-" * len(header))
    failures = 0
    prediction = [name for name in tasks.names() if not tasks.get(name).closed_loop]
    for name in prediction:
        if name not in shipped():
            print(f"{name:<26}  (no shipped checkpoint)")
            failures += 1
            continue
        init = kl_per_step(name, f"rnn:{name}@init", args.episodes, args.seed, 20).sum()
        final = kl_per_step(name, f"rnn:{name}", args.episodes, args.seed, 20).sum()
        long = kl_per_step(name, f"rnn:{name}", args.episodes, args.seed, args.horizon)
        ok = final <= PREDICTION_KL_BAR
        failures += not ok
        print(
            f"{name:<26}{init:>10.3g}{final:>11.3g}{PREDICTION_KL_BAR:>8.3g}  {'yes' if ok else 'NO':<4}"
            f"{long[:20].mean():>15.2e}{long[20:].mean():>17.2e}{long.max():>9.2e} @{int(long.argmax()) + 1}"
        )
    print(f"\n{len(prediction) - failures} of {len(prediction)} prediction tasks meet the bar")


if __name__ == "__main__":
    main()
