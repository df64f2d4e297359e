"""Wall time of ``compare`` on 500 episodes x 20 steps for two Bayes machines.

Both directions, phi fitted (MLP and linear), shuffled controls and bootstrap intervals
included; interpreter start-up and imports excluded. Target: under 5 s on a 2-core CPU.

    python benchmarks/compare.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from simlib import machines
from simlib.compare import compare

PAIRS = [("history", "opt"), ("posterior", "opt"), ("logodds", "opt"), ("forgetful", "opt")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=500)
    args = parser.parse_args()
    print(f"cpu cores: {os.cpu_count()}, torch {torch.__version__}, torch threads outside fits: {torch.get_num_threads()}")
    print(f"{'A':>10} {'B':>4}  {'median s':>9} {'min s':>7}  (each run: traces, both directions, controls)")
    for a, b in PAIRS:
        first, second = machines.load(f"{a}:beta-bernoulli"), machines.load(f"{b}:beta-bernoulli")
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            compare(first, second, episodes=args.episodes, seed=0)
            times.append(time.perf_counter() - start)
        print(f"{a:>10} {b:>4}  {statistics.median(times):9.2f} {min(times):7.2f}")


if __name__ == "__main__":
    main()
