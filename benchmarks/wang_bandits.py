"""Wang et al. 2016's bandits and two-step task: every agent on every task, and the shipped LSTMs' share of the gap.

For each task, each agent plays its own episodes on the same sampled task parameters (same
seed, so differences are paired); returns are undiscounted sums of pseudo-rewards (the chosen
arm's true mean). ``closed`` is the share of the random-to-opt gap in expected return an agent
closes, ``(R - R_random) / (R_opt - R_random)`` with R_opt from the same episodes, and its
standard error from the paired differences; the bar for the shipped ``rnn:TASK`` is 97% (Wang's
MDPs: 95%; ``harlow-test`` plays ``rnn:harlow`` on the held-out stimuli). The
cross table plays every structured task's LSTM on every structured task (Wang's Figure 2f).

    python benchmarks/wang_bandits.py [--episodes 20000] [--seed 11] [--tasks ...] [--no-cross]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from simlib import SimlibError, machines, tasks
from simlib.behaviour import evaluate_play
from simlib.pipeline.wang2016_design import AGENT_TASKS, MDP_TASKS, baseline_spec

TASKS = (*AGENT_TASKS, "harlow-test")
KINDS = ("opt", "rnn", "rnn@init", "gittins", "thompson", "ucb", "rescorla-wagner@0.2", "rescorla-wagner@0.8",
         "model-based", "model-free", "hybrid", "win-stay-side", "memoryless")
BAR = 0.97
MDP_BAR = 0.95
"""The bar of Wang's MDPs (two-step, Harlow on held-out stimuli, the maze)."""


TRAINED_ON = {"harlow-test": "harlow", "restless-bandit-test": "restless-bandit"}
"""Test distributions: their rnn is the agent of the training distribution."""


def available(kind: str, task_name: str):
    try:
        if kind.startswith("rnn"):
            return machines.load(baseline_spec(kind, TRAINED_ON.get(task_name, task_name)))
        return machines.load(baseline_spec(kind, task_name))
    except SimlibError:
        return None


def own_task_table(task_names, episodes: int, seed: int) -> None:
    print(f"{'task':<26}{'agent':<22}{'return':>10}{'± se':>8}{'- opt':>10}{'± se':>8}{'closed':>9}{'± se':>8}{'time':>7}")
    for name in task_names:
        task = tasks.get(name)
        random = task.random_return()
        reference = None
        for kind in KINDS:
            machine = available(kind, name)
            if machine is None:
                continue
            started = time.perf_counter()
            returns, _ = evaluate_play(task, machine, episodes, seed, chunk=1000)
            reference = returns if reference is None else reference
            gap = returns - reference
            scale = reference.mean() - random
            closed = (returns.mean() - random) / scale
            gap_se = gap.std(ddof=1) / np.sqrt(gap.size)
            print(
                f"{name:<26}{kind:<22}{returns.mean():>10.3f}{returns.std(ddof=1) / np.sqrt(returns.size):>8.3f}"
                f"{gap.mean():>10.3f}{gap_se:>8.3f}{closed:>9.2%}{gap_se / scale:>8.2%}"
                f"{time.perf_counter() - started:>6.0f}s",
                flush=True,
            )
        exact = getattr(machines.load(f"opt:{name}"), "exact_return", True)
        note = f"exact opt {machines.load(f'opt:{name}').expected_return():.4f}" if exact else "opt by Monte Carlo"
        bar = MDP_BAR if TRAINED_ON.get(name, name) in MDP_TASKS else BAR
        print(f"{'':<26}{note}, random {random:.4f}; bar for rnn: closed >= {bar:.0%}\n")


def cross_table(task_names, episodes: int, seed: int) -> None:
    structured = [n for n in task_names if tasks.get(n).horizon == 100]
    print("cumulative expected regret at the last trial: rnn trained on (rows) tested on (columns)")
    print(f"{'':<26}" + "".join(f"{n.replace('dependent-bandit', 'dep'):>14}" for n in structured))
    oracle = {test: _oracle_return(tasks.get(test), episodes, seed) for test in structured}
    for label in [*(f"rnn:{train}" for train in structured), "opt"]:
        cells = []
        for test in structured:
            agent = machines.load(label if label != "opt" else f"opt:{test}")
            returns, _ = evaluate_play(tasks.get(test), agent, episodes, seed, chunk=1000)
            cells.append(f"{oracle[test] - returns.mean():>14.3f}")
        print(f"{label:<26}" + "".join(cells), flush=True)


def _oracle_return(task, episodes: int, seed: int) -> float:
    """Mean of ``sum_t max_a mu_a``: what an agent that knew theta would earn on the same episodes."""
    from simlib.play import own_play_records

    play = own_play_records(task, machines.load(f"ucb:{task.name}"), episodes, seed, chunk=1000)
    return float((play.reward + play.regret).sum(1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11, help="evaluation seed (training used other streams)")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--no-cross", action="store_true", help="skip the trained-on x tested-on table")
    args = parser.parse_args()
    started, cpu = time.perf_counter(), time.process_time()
    print(f"{args.episodes} episodes per agent and task, seed {args.seed}; undiscounted pseudo-returns\n")
    own_task_table(args.tasks, args.episodes, args.seed)
    if not args.no_cross:
        cross_table(args.tasks, args.episodes, args.seed)
    print(f"\n{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")


if __name__ == "__main__":
    main()
