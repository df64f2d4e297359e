"""The restless bandit's Bayes-optimal (greedy) agent: discretisation error of its grid filter by refinement.

For every grid -- ``cells`` equal cells of p1 and ``nodes`` Gauss-Legendre volatility nodes per
interval of the prior -- the greedy agent (:class:`~simlib.machines.restless_agents.RestlessBayesAgent`)
plays the same episodes (same seeds, so the same volatilities, walks and reward draws up to its
own choices). Reported: the mean return, the expected regret per step (``max(p1, 1 - p1)`` minus
the chosen arm's mean, Wang's R_T summand), the regret difference to the finest grid with the
standard error of the paired per-episode differences, and wall and CPU seconds. The grid error
is small when the differences are small against their standard errors and against the regret.

Episodes run in chunks of ``--chunk`` (chunk ``i`` seeded ``seed + i``, the same for every grid);
a chunk holds the beliefs of every step, ``chunk * horizon * K * cells * 16`` bytes at its peak
(``K`` = nodes times the prior's intervals).

    python benchmarks/restless_filter.py [--episodes 20000] [--seed 0] [--task restless-bandit]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from simlib import tasks
from simlib.machines.restless_agents import RestlessBayesAgent
from simlib.traces import sample_traces

CELLS = (25, 50, 100, 200)
NODES = (2, 4, 8)


def play(task, agent, episodes: int, seed: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-episode (discounted pseudo-return ``[E]``, mean expected regret per step ``[E]``) of greedy own play."""
    returns, regrets = [], []
    discounts = task.discounts().numpy()
    for i, start in enumerate(range(0, episodes, chunk)):
        traces = sample_traces(task, {"opt": agent}, min(chunk, episodes - start), seed + i)
        earned = traces["expected_reward"].values
        best = traces["mean_reward"].values.max(-1)
        returns.append((earned * discounts).sum(1))
        regrets.append((best - earned).mean(1))
        del traces
    return np.concatenate(returns), np.concatenate(regrets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", default="restless-bandit")
    parser.add_argument("--horizon", type=int, default=None, help="override the task's horizon (150)")
    parser.add_argument("--cells", type=int, nargs="*", default=list(CELLS))
    parser.add_argument("--nodes", type=int, nargs="*", default=list(NODES))
    parser.add_argument("--chunk", type=int, default=100, help="episodes per sample_traces call (memory)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = tasks.get(args.task) if args.horizon is None else tasks.get(args.task, horizon=args.horizon)
    grids = [(cells, nodes) for nodes in sorted(args.nodes) for cells in sorted(args.cells)]
    finest = (max(args.cells), max(args.nodes))

    print(f"{task.name}: horizon {task.horizon}, volatilities {task.volatilities} ({task.volatility_is}), "
          f"{args.episodes} episodes, seed {args.seed}, chunks of {args.chunk}, {args.threads} thread(s)")
    results = {}
    for cells, nodes in grids:
        agent = RestlessBayesAgent(task, cells=cells, volatility_nodes=nodes)
        wall, cpu = time.perf_counter(), time.process_time()
        returns, regrets = play(task, agent, args.episodes, args.seed, args.chunk)
        elapsed = (time.perf_counter() - wall, time.process_time() - cpu)
        results[cells, nodes] = (returns, regrets, *elapsed, agent.state_dim)

    reference_returns, reference_regrets = results[finest][:2]

    def se(values: np.ndarray) -> float:
        return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")

    print(f"{'cells':>5} {'nodes':>5} {'state':>5}  {'return':>17}  {'regret/step':>19}  "
          f"{'d return vs finest':>21}  {'d regret/step vs finest':>25}  {'wall s':>7} {'CPU s':>7}")
    for cells, nodes in grids:
        returns, regrets, wall, cpu, dim = results[cells, nodes]
        d_return = returns - reference_returns
        d_regret = regrets - reference_regrets
        mark = "  (finest)" if (cells, nodes) == finest else ""
        print(f"{cells:>5} {nodes:>5} {dim:>5}  {returns.mean():8.3f} +- {se(returns):6.3f}  "
              f"{regrets.mean():.6f} +- {se(regrets):.6f}  "
              f"{d_return.mean():+9.4f} +- {se(d_return):7.4f}  {d_regret.mean():+.7f} +- {se(d_regret):.7f}  "
              f"{wall:7.1f} {cpu:7.1f}{mark}")


if __name__ == "__main__":
    main()
