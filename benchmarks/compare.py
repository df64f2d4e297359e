"""Time of ``compare`` on 500 episodes x 20 steps, where it goes, and how it grows with episodes.

Part 1: two Bayes machines. Part 2: the shipped LSTM against the Bayes-optimal agent on every
task, in process (wall and CPU seconds) and as the whole ``simlib compare rnn:NAME opt:NAME``
command (wall). ``--profile``: one in-process ``compare rnn:beta-bernoulli opt:beta-bernoulli``
split into its stages (trace sampling, behaviour, each phi fit, bootstrap and permutation
tests) and the command's import time. ``--scaling``: CPU seconds at 500, 2 000, 8 000 and
32 000 episodes. Both directions, phi fitted (MLP and linear), shuffled controls and bootstrap
intervals are always included; in-process figures exclude interpreter start-up and imports.
The issue-12 target is 1 s of CPU in process and 3 s wall for the command at 500 x 20.

    python benchmarks/compare.py [--repeats 3] [--profile] [--scaling] [--tasks NAME ...]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import time

import torch

from simlib import machines
from simlib.compare import compare
from simlib.machines.zoo import shipped

PAIRS = [("history", "opt"), ("posterior", "opt"), ("logodds", "opt"), ("forgetful", "opt")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="only the stage profile")
    parser.add_argument("--scaling", action="store_true", help="only the growth with episodes")
    parser.add_argument("--tasks", nargs="*", help="rnn:NAME vs opt:NAME rows (default: every shipped agent)")
    args = parser.parse_args()
    if args.profile:
        return profile(args.episodes)
    if args.scaling:
        return scaling()
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
    print(f"\n{'rnn:NAME vs opt:NAME':<26}{'in process s':>14}{'CPU s':>8}{'whole command s':>17}")
    for name in args.tasks or shipped():
        rnn, opt = machines.load(f"rnn:{name}"), machines.load(f"opt:{name}")
        inside, cpu = _timed(lambda: compare(rnn, opt, episodes=args.episodes, seed=0))
        start = time.perf_counter()
        subprocess.run([shutil.which("simlib"), "compare", f"rnn:{name}", f"opt:{name}"], check=True,
                       capture_output=True)
        print(f"{name:<26}{inside:>14.2f}{cpu:>8.2f}{time.perf_counter() - start:>17.2f}")


STAGES = {
    "trace sampling": ("simlib/traces.py", "sample_traces"),
    "behaviour": ("simlib/task_family.py", "behaviour"),
    "phi fits (6: MLP, linear, shuffled MLP per direction)": ("simlib/simulation.py", "fit"),
    "  of which L-BFGS iterations": ("simlib/lbfgs.py", "run"),
    "  of which output-layer solves (variable projection)": ("simlib/embedding.py", "solve"),
    "scoring (evaluate)": ("simlib/simulation.py", "evaluate"),
    "baselines (CKA, Procrustes, CCA)": ("simlib/baselines.py", "representation_baselines"),
    "bootstrap intervals": ("simlib/bootstrap.py", "bootstrap_ci"),
    "sign-flip p-values": ("simlib/bootstrap.py", "paired_p_values"),
}


def profile(episodes: int) -> None:
    """Stage times of one in-process compare (cumulative, seconds) and the command's imports."""
    rnn, opt = machines.load("rnn:beta-bernoulli"), machines.load("opt:beta-bernoulli")
    compare(rnn, opt, episodes=50, seed=0)  # warm: first calls pay one-off costs
    profiler = cProfile.Profile()
    wall, cpu = _timed(lambda: profiler.runcall(compare, rnn, opt, episodes=episodes, seed=0))
    stats = pstats.Stats(profiler).stats
    print(f"compare rnn:beta-bernoulli opt:beta-bernoulli, {episodes} episodes: {wall:.2f} s wall, {cpu:.2f} s CPU "
          "(under cProfile)")
    for label, (module, function) in STAGES.items():
        seconds = sum(row[3] for (path, _, name), row in stats.items() if name == function and path.endswith(module))
        print(f"  {label:<56}{seconds:>7.2f} s")
    imports = "import simlib.cli.app, simlib.compare, simlib.machines"
    bare, loaded = (_timed(lambda c=c: subprocess.run([sys.executable, "-c", c], check=True))[0] for c in ("pass", imports))
    print(f"  imports of the command (simlib.cli.app, compare, machines), wall: {loaded - bare:.2f} s")
    print(f"  interpreter start-up, wall: {bare:.2f} s")
    command = [shutil.which("simlib"), "compare", "rnn:beta-bernoulli", "opt:beta-bernoulli"]
    walls = [_timed(lambda: subprocess.run(command, check=True, capture_output=True))[0] for _ in range(3)]
    print(f"  whole command 'simlib compare rnn:beta-bernoulli opt:beta-bernoulli', wall: median {statistics.median(walls):.2f} s "
          f"of 3 (min {min(walls):.2f})")


def scaling() -> None:
    """CPU seconds of compare (rnn vs opt, beta-bernoulli) at growing episode counts."""
    rnn, opt = machines.load("rnn:beta-bernoulli"), machines.load("opt:beta-bernoulli")
    compare(rnn, opt, episodes=50, seed=0)  # warm: first calls pay one-off costs
    print(f"{'episodes':>9}{'wall s':>9}{'CPU s':>9}{'CPU ms / episode':>18}")
    for episodes in (500, 2000, 8000, 32000):
        wall, cpu = _timed(lambda: compare(rnn, opt, episodes=episodes, seed=0))
        print(f"{episodes:>9}{wall:>9.2f}{cpu:>9.2f}{1000 * cpu / episodes:>18.3f}")


def _timed(work) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``work()``."""
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - start, time.process_time() - cpu


if __name__ == "__main__":
    main()
