"""Every bandit agent on every bandit task: expected return, gap to Bayes-optimal, Bayes regret.

For each task, each agent plays its own episodes on the same sampled arm means (same seeds);
returns use the pseudo-reward (the true mean of the chosen arm). The gap to ``opt`` is the
paired per-episode difference with its standard error; ``regret/step`` is the mean per-step
Bayes regret ``Q*(b, a*) - E_pi Q*(b, a)`` from ``opt``'s exact value function. The acceptance
bars for the shipped LSTM: within 0.02 of ``opt`` on ``bernoulli-bandit``, within 1% of the
optimal-minus-random gap elsewhere.

    python benchmarks/bandits.py [--episodes 100000] [--seed 11] [--tasks ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from simlib import machines, tasks
from simlib.behaviour import evaluate_play

TASKS = ("bernoulli-bandit", "bernoulli-bandit-bent", "gaussian-bandit", "gaussian-bandit-noisy")
AGENTS = ("opt", "gittins", "thompson", "ucb", "rnn@init", "rnn")


def spec(agent: str, task_name: str) -> str:
    kind, _, stage = agent.partition("@")
    return f"{kind}:{task_name}" + (f"@{stage}" if stage else "")


def bar(task_name: str, optimal: float, random: float) -> float:
    """Largest acceptable gap of the shipped LSTM to ``opt`` (reward units)."""
    return 0.02 if task_name == "bernoulli-bandit" else 0.01 * (optimal - random)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11, help="evaluation seed (training used other streams)")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    args = parser.parse_args()
    print(f"{args.episodes} episodes per agent, seed {args.seed}; returns are sums of pseudo-rewards over 20 pulls\n")
    header = f"{'task':<24}{'agent':<10}{'return':>10}{'± se':>8}{'gap to opt':>12}{'± se':>8}{'regret/step':>13}{'time':>8}"
    print(header)
    for task_name in args.tasks:
        task = tasks.get(task_name)
        opt = machines.load(f"opt:{task_name}")
        optimal = opt.expected_return()
        random = task.random_return()
        reference = None
        for agent in AGENTS:
            started = time.perf_counter()
            machine = machines.load(spec(agent, task_name))
            returns, regret = evaluate_play(task, machine, args.episodes, args.seed, critic=opt)
            reference = returns if reference is None else reference
            gap = reference - returns
            se = returns.std(ddof=1) / np.sqrt(returns.size)
            gap_se = gap.std(ddof=1) / np.sqrt(gap.size)
            print(
                f"{task_name:<24}{agent:<10}{returns.mean():>10.4f}{se:>8.4f}{gap.mean():>12.4f}{gap_se:>8.4f}"
                f"{regret.mean():>13.5f}{time.perf_counter() - started:>7.0f}s",
                flush=True,
            )
        print(
            f"{'':<24}exact opt {optimal:.5f}, random {random:.4f}; bar for rnn: gap <= "
            f"{bar(task_name, optimal, random):.4f}\n"
        )


if __name__ == "__main__":
    main()
