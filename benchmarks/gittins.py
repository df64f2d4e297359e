"""Cost and accuracy of the Gittins indices in ``simlib.machines.gittins_index``.

Bernoulli: the table of a 2-arm bandit policy of horizon 20 from a Beta(1, 1) prior (231 states)
for gamma = 0.9, 0.95, 0.99: wall time uncached and cached, the certified truncation gap (upper
minus lower bound at the default depth N) and the largest change when N is doubled and the
tolerances are tightened to 1e-9 (target: below 1e-6). Normal: nu(n) for n = 1..21, same
gammas: wall time, and the largest change under a finer lattice (2x and 4x), a doubled depth, and
the full-information instead of the no-learning cut (target: below 1e-4). The discretisation
error is O(step^2), so the default's error is about 4/3 of its change under the 2x finer lattice.

    python benchmarks/gittins.py [--horizon 20]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from simlib.machines import gittins_index as gi

GAMMAS = (0.9, 0.95, 0.99)


def timed(function: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def bernoulli_report(horizon: int) -> None:
    s, f = np.meshgrid(np.arange(horizon + 1), np.arange(horizon + 1), indexing="ij")
    reachable = s + f <= horizon
    a, b = 1.0 + s[reachable], 1.0 + f[reachable]
    print(f"Bernoulli, Beta(1 + s, 1 + f) for s + f <= {horizon}: {a.size} states")
    print(f"{'gamma':>6}{'depth N':>9}{'table s':>10}{'cached s':>10}{'bound gap':>11}{'2N, tol 1e-9':>14}"
          f"{'refined s':>11}")
    for gamma in GAMMAS:
        gi._BERNOULLI_CACHE.clear()
        table, cold = timed(lambda: gi.gittins_bernoulli_table(1.0, 1.0, horizon, gamma))
        _, warm = timed(lambda: gi.gittins_bernoulli_table(1.0, 1.0, horizon, gamma))
        depth = gi._truncation_depth(gamma, gi.TRUNCATION_TOL)
        lower, upper = gi._bernoulli_bounds(a, b, gamma, depth)
        refined, seconds = timed(lambda: gi._bernoulli_index(a, b, gamma, tol=1e-9, depth=2 * depth))
        change = np.abs(table[reachable] - refined).max()
        gap = (upper - lower).max()
        print(f"{gamma:>6}{depth:>9}{cold:>10.3f}{warm:>10.4f}{gap:>11.1e}{change:>14.1e}{seconds:>11.2f}")


def normal_report() -> None:
    n = np.arange(1.0, 22.0)
    offsets = np.arange(21)
    print(f"\nNormal, nu(n) for n = 1..21; default lattice {gi.LATTICE_POINTS_PER_STEP} steps per predictive sd")
    print(f"{'gamma':>6}{'depth N':>9}{'nu s':>8}{'cached s':>10}{'2x finer':>10}{'4x finer':>10}{'2N':>10}"
          f"{'full-info cut':>15}")
    for gamma in GAMMAS:
        gi._NORMAL_CACHE.clear()
        nu, cold = timed(lambda: gi.gittins_normal(n, gamma))
        _, warm = timed(lambda: gi.gittins_normal(n, gamma))
        depth = gi._truncation_depth(gamma, gi.TRUNCATION_TOL)
        points = gi.LATTICE_POINTS_PER_STEP
        finer = gi._normal_chain(1.0, offsets, gamma, depth, points_per_step=2 * points)
        finest = gi._normal_chain(1.0, offsets, gamma, depth, points_per_step=4 * points)
        deeper = gi._normal_chain(1.0, offsets, gamma, 2 * depth)
        upper = gi._normal_chain(1.0, offsets, gamma, depth, full_information=True)
        changes = [np.abs(nu - other).max() for other in (finer, finest, deeper, upper)]
        print(f"{gamma:>6}{depth:>9}{cold:>8.3f}{warm:>10.4f}" + "".join(f"{c:>10.1e}" for c in changes[:3])
              + f"{changes[3]:>15.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=20)
    args = parser.parse_args()
    bernoulli_report(args.horizon)
    normal_report()


if __name__ == "__main__":
    main()
