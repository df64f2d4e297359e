"""Wall time of ``compare`` on 500 episodes x 20 steps.

Part 1: two Bayes machines (target: under 5 s on a 2-core CPU). Part 2: the shipped LSTM
against the Bayes-optimal predictor on every prediction task, in process and as the whole
``simlib compare rnn:NAME opt:NAME`` command (target: under 10 s each). Both directions, phi
fitted (MLP and linear), shuffled controls and bootstrap intervals are always included;
in-process figures exclude interpreter start-up and imports.

    python benchmarks/compare.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import time

import torch

from simlib import machines, tasks
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
    print(f"\n{'rnn:NAME vs opt:NAME':<26}{'in process s':>14}{'whole command s':>17}")
    for name in tasks.names():
        rnn, opt = machines.load(f"rnn:{name}"), machines.load(f"opt:{name}")
        start = time.perf_counter()
        compare(rnn, opt, episodes=args.episodes, seed=0)
        inside = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([shutil.which("simlib"), "compare", f"rnn:{name}", f"opt:{name}"], check=True,
                       capture_output=True)
        print(f"{name:<26}{inside:>14.2f}{time.perf_counter() - start:>17.2f}")


if __name__ == "__main__":
    main()
