"""The bandit training estimator against plain advantage actor-critic, same budget and seed.

Trains the width-256 LSTM on one bandit task twice -- ``estimator="expected"`` (what
``simlib train`` uses: pseudo-rewards, the immediate term over all actions, a critic that sees
the arm means) and ``estimator="a2c"`` (sampled rewards, score function for every term, a
critic that sees only what the agent sees) -- and prints the expected return and the regret to
the Bayes-optimal agent at every snapshot (5 000 evaluation episodes), with the CPU time.

    python benchmarks/train_bandits.py [--task bernoulli-bandit] [--steps 600] [--every 100]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from simlib import tasks
from simlib.training import ActorCriticSettings, train_bandit_agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="bernoulli-bandit")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = tasks.get(args.task)
    histories = {}
    with tempfile.TemporaryDirectory() as folder:
        for estimator in ("expected", "a2c"):
            settings = ActorCriticSettings(
                steps=args.steps, snapshot_every=args.every, seed=args.seed, estimator=estimator
            )
            payload = train_bandit_agent(
                task, settings, Path(folder) / f"{estimator}.pt", device="cpu", threads=1, progress=False
            )
            histories[estimator] = payload["training"]["history"]
    print(f"{args.task}: width 256, batch 256, lr 1e-3 (warm-up, cosine over {args.steps} steps), seed {args.seed}")
    print(f"{'step':>6}" + "".join(f"{name + ' return':>18}{'regret':>9}{'CPU s':>8}" for name in histories))
    for row, step in enumerate(histories["expected"]["step"]):
        cells = "".join(
            f"{h['return'][row]:>18.4f}{h['regret'][row]:>9.4f}{h['cpu_seconds'][row]:>8.0f}" for h in histories.values()
        )
        print(f"{step:>6}{cells}")


if __name__ == "__main__":
    main()
