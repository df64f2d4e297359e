"""How many torch threads should fitting phi use? Times one MLP fit per setting.

Fits phi as ``compare`` does, full batch on the unique rows, with 1 and 2 intra-op threads:
logodds -> opt (about 400 unique rows, 2 -> 2 components), history -> opt (about 3 300 unique
rows, 19 -> 2) and a shuffled pairing (8 000 unique rows).

    python benchmarks/threads.py
"""

from __future__ import annotations

import statistics
import time

from simlib import machines, tasks
from simlib.simulation import Simulation
from simlib.traces import sample_traces, shuffled_pairing, split_episodes


def main() -> None:
    pool = {name: machines.load(f"{name}:beta-bernoulli") for name in ("opt", "history", "logodds")}
    traces = sample_traces(tasks.get("beta-bernoulli"), pool, 500, seed=0)
    train, _ = split_episodes(traces, 0.2, seed=0)
    cases = {
        "logodds->opt": (train, "logodds"),
        "history->opt (full)": (train, "history"),
        "shuffled control": (shuffled_pairing(train, "opt", seed=1), "history"),
    }
    for name, (data, source) in cases.items():
        for threads in (1, 2):
            times = []
            for _ in range(3):
                start = time.perf_counter()
                Simulation(pool["opt"], source, "opt", n_components="full", threads=threads).fit(data)
                times.append(time.perf_counter() - start)
            print(f"{name:<22} threads={threads}: median {statistics.median(times):.2f} s, min {min(times):.2f} s")


if __name__ == "__main__":
    main()
