"""Agents for Wang et al. 2016's restless bandit: an exact grid filter, the Bayes-optimal and Thompson machines.

The task (:class:`~simlib.tasks.RestlessBandit`): two arms with means ``(p1_t, 1 - p1_t)``,
``p1_0 ~ U[initial]``, after every pull ``p1 <- reflect(p1 + sd * z)`` with
``sd = task.walk_std(nu)`` and the volatility ``nu`` drawn once per episode from the uniform prior
on the union of ``task.volatilities``.

Key fact: a reward ``r`` from arm 1 is a Bernoulli(p1) flip ``y = r``; from arm 2 it is
Bernoulli(1 - p1), so ``y = 1 - r`` is a Bernoulli(p1) flip too. Every pull therefore shows one
Bernoulli(p1_t) flip whichever arm is pulled, and the belief's evolution does not depend on the
actions. A policy's expected return is ``sum_t discount**t * E[pi_t m_t + (1 - pi_t)(1 - m_t)]``
(``pi_t`` its probability of arm 1) with ``m_t = E[p1_t | history]`` a process the policy cannot
influence, so each term is maximised on its own and the Bayes-optimal policy is greedy: pull arm 1
iff ``m_t > 1/2`` (ties split evenly), for any horizon and discount.

* :class:`RestlessFilter` -- the exact Bayes filter of a grid model over ``(nu, p1)``: ``p1`` on
  ``cells`` equal cells of [0, 1] (represented by their centres), ``nu`` on Gauss-Legendre nodes of
  each interval of the volatility prior (or one fixed ``nu``); the walk moves mass between cells
  by the exact reflected-Gaussian cell probabilities;
* :class:`RestlessBayesAgent` -- the Bayes-optimal machine: state = the filter's belief, policy =
  greedy on ``E[p1]``; exposes its action values (for Bayes regret) and a Monte Carlo expected return;
* :class:`RestlessThompsonAgent` -- Wang's Thompson-sampling baseline: the same filter with one
  fixed volatility for every episode, output ``P(arm i is best | belief)``, so sampling from the
  output is Thompson sampling.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from simlib.families import Policy
from simlib.machines.bandit_agents import split_ties
from simlib.tasks import RestlessBandit

ROW_SUM_TOLERANCE = 1e-9
"""How far a walk kernel's row may sum from 1 before the image sum is deemed too short."""


def _check_cells(cells) -> int:
    if isinstance(cells, bool) or not isinstance(cells, (int, np.integer)) or cells < 2:
        raise ValueError(f"cells must be an integer of at least 2, got {cells!r}")
    return int(cells)


def _check_nodes(nodes) -> int:
    if isinstance(nodes, bool) or not isinstance(nodes, (int, np.integer)) or nodes < 1:
        raise ValueError(f"volatility_nodes must be an integer of at least 1, got {nodes!r}")
    return int(nodes)


def _check_volatility(volatility) -> float:
    try:
        value = float(volatility)
    except (TypeError, ValueError):
        raise ValueError(f"volatility must be a finite number >= 0, got {volatility!r}") from None
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"volatility must be a finite number >= 0, got {volatility!r}")
    return value


def _check_task(task) -> RestlessBandit:
    if not isinstance(task, RestlessBandit):
        raise TypeError(f"restless agents need a RestlessBandit task, got {type(task).__name__}")
    return task


def prior_mean_volatility(task: RestlessBandit) -> float:
    """``E[nu]`` under the task's prior: uniform on the union of ``task.volatilities``."""
    lengths = [high - low for low, high in task.volatilities]
    return sum(0.5 * (low + high) * (high - low) for low, high in task.volatilities) / sum(lengths)


def volatility_quadrature(task: RestlessBandit, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(nu nodes [K], weights [K])``: ``nodes`` Gauss-Legendre points per interval of positive length,
    weights proportional to the interval's length (summing to 1)."""
    x, w = np.polynomial.legendre.leggauss(_check_nodes(nodes))
    values, weights = [], []
    for low, high in task.volatilities:
        if high > low:
            values.append(low + (high - low) * 0.5 * (x + 1.0))
            weights.append(w * 0.5 * (high - low))
    values, weights = np.concatenate(values), np.concatenate(weights)
    return values, weights / weights.sum()


def _normal_mass(low: Tensor, high: Tensor) -> Tensor:
    """``Phi(high) - Phi(low)`` elementwise, from the nearer tail (no cancellation far out)."""
    upper = low > 0
    direct = torch.special.ndtr(high) - torch.special.ndtr(low)
    mirrored = torch.special.ndtr(-low) - torch.special.ndtr(-high)
    return torch.where(upper, mirrored, direct)


def walk_kernel(cells: int, sd: float) -> Tensor:
    """``K[i, j] = P(reflect(c_i + sd * z) in cell j)`` for the cell centres ``c_i``: ``[cells, cells]`` float64.

    ``reflect(x)`` lies in cell ``[a, b]`` iff ``x`` lies in one of its images ``[a + 2m, b + 2m]``
    or ``[2m - b, 2m - a]`` (``m`` integer), so the probability is a sum of Gaussian CDF differences
    over the images within reach (``|m| <= ceil(5 sd) + 2``: more than 9 sd either side). ``sd = 0``
    is the identity. Rows are checked to sum to 1 (to 1e-9) and then normalised exactly.
    """
    cells = _check_cells(cells)
    sd = _check_volatility(sd)
    if sd == 0.0:
        return torch.eye(cells, dtype=torch.float64)
    edges = torch.linspace(0.0, 1.0, cells + 1, dtype=torch.float64)
    centres = 0.5 * (edges[:-1] + edges[1:])
    reach = math.ceil(5.0 * sd) + 2
    shifts = 2.0 * torch.arange(-reach, reach + 1, dtype=torch.float64)
    low, high = edges[:-1], edges[1:]
    c = centres[:, None, None]
    m = shifts[None, :, None]
    direct = _normal_mass((low + m - c) / sd, (high + m - c) / sd)
    mirror = _normal_mass((m - high - c) / sd, (m - low - c) / sd)
    kernel = (direct + mirror).sum(dim=1)
    rows = kernel.sum(dim=1)
    if not torch.all((rows - 1.0).abs() < ROW_SUM_TOLERANCE):
        raise RuntimeError(f"walk kernel rows sum to {rows.min():.3g}..{rows.max():.3g}, not 1 (sd={sd})")
    return kernel / rows[:, None]


class RestlessFilter:
    """The exact Bayes filter of a grid model of the restless bandit, batched over episodes.

    ``p1`` lives on ``cells`` equal cells of [0, 1] (likelihoods at the centres); ``nu`` on
    ``volatility_nodes`` Gauss-Legendre nodes per interval of the task's volatility prior, with
    prior weight proportional to the interval's length, or on the single value ``volatility`` when
    given. The prior over ``p1_0`` gives each cell its overlap with ``task.initial``.

    A belief is ``[B, K * G]`` float64 (``K`` volatility nodes, ``G`` cells, volatility-major): the
    posterior over ``(nu, p1_t)`` for the decision at step ``t``, given the flips ``y_0..y_{t-1}``.
    """

    def __init__(
        self, task: RestlessBandit, cells: int = 50, volatility_nodes: int = 2, volatility: float | None = None
    ) -> None:
        self.task = _check_task(task)
        self.cells = _check_cells(cells)
        if volatility is None:
            nodes, weights = volatility_quadrature(task, volatility_nodes)
        else:
            nodes, weights = np.array([_check_volatility(volatility)]), np.ones(1)
        self.volatilities = torch.from_numpy(nodes)
        """The volatility nodes ``nu_k`` ``[K]`` (the task's units)."""
        self.volatility_weights = torch.from_numpy(weights)
        """Their prior weights ``[K]``, summing to 1."""
        self.walk_stds = self.task.walk_std(self.volatilities)
        """The walk's standard deviation per step at each node ``[K]``."""
        self.kernels = torch.stack([walk_kernel(self.cells, float(sd)) for sd in self.walk_stds])
        """``[K, G, G]``: row ``i`` of kernel ``k`` is where ``p1`` moves from cell ``i`` in one step."""
        self.edges = torch.linspace(0.0, 1.0, self.cells + 1, dtype=torch.float64)
        self.centres = 0.5 * (self.edges[:-1] + self.edges[1:])
        low, high = task.initial
        overlap = (self.edges[1:].clamp(max=high) - self.edges[:-1].clamp(min=low)).clamp(min=0.0)
        self.initial_p1 = overlap / overlap.sum()
        """The prior over ``p1_0`` on the cells ``[G]``."""
        self.above_half = ((self.edges[1:] - 0.5) / (self.edges[1:] - self.edges[:-1])).clamp(0.0, 1.0)
        """The fraction of each cell above 1/2 ``[G]`` (1/2 for a cell centred on 1/2)."""
        self.prior = (self.volatility_weights[:, None] * self.initial_p1[None, :]).reshape(-1)

    @property
    def n_volatilities(self) -> int:
        return int(self.volatilities.shape[0])

    @property
    def size(self) -> int:
        """``K * G``: the width of a belief."""
        return self.n_volatilities * self.cells

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(f"b{k}_{i}" for k in range(self.n_volatilities) for i in range(self.cells))

    def initial(self, batch: int) -> Tensor:
        """The prior over ``(nu, p1_0)`` repeated ``batch`` times: ``[batch, K * G]``."""
        return self.prior.repeat(batch, 1)

    def _grid(self, belief: Tensor) -> Tensor:
        return belief.to(torch.float64).reshape(belief.shape[0], self.n_volatilities, self.cells)

    def update(self, belief: Tensor, y: Tensor, seen: Tensor) -> Tensor:
        """The belief for the next decision after flip ``y [B]`` of ``p1_t`` where ``seen [B]`` is true.

        Where seen: multiply by ``p**y (1 - p)**(1 - y)``, renormalise, then apply each volatility's
        walk kernel (predict ``p1_{t+1}``). Where not seen (step 0, no pull yet) the belief is
        returned unchanged. Pure: the arguments are not modified.
        """
        grid = self._grid(belief)
        seen = seen.to(torch.bool).reshape(-1)
        if not bool(seen.any()):
            return grid.reshape(grid.shape[0], -1).clone()
        y = y.to(torch.float64).reshape(-1, 1)
        log_p, log_q = self._log_centres(grid.device)
        likelihood = torch.exp(y * log_p + (1.0 - y) * log_q)
        posterior = grid * likelihood[:, None, :]
        posterior /= posterior.sum(dim=(1, 2), keepdim=True)
        predicted = torch.einsum("bkg,kgh->bkh", posterior, self.kernels.to(grid.device))
        if not bool(seen.all()):
            predicted = torch.where(seen.reshape(-1, 1, 1), predicted, grid)
        return predicted.reshape(grid.shape[0], -1)

    def _log_centres(self, device: torch.device) -> tuple[Tensor, Tensor]:
        p = self.centres.to(device)
        return p.log(), (1.0 - p).log()

    def p1_marginal(self, belief: Tensor) -> Tensor:
        """The belief's marginal over the ``p1`` cells ``[B, G]``."""
        return self._grid(belief).sum(dim=1)

    def volatility_marginal(self, belief: Tensor) -> Tensor:
        """The belief's marginal over the volatility nodes ``[B, K]``."""
        return self._grid(belief).sum(dim=2)

    def mean_p1(self, belief: Tensor) -> Tensor:
        """``E[p1_t]`` ``[B]`` (the mean of arm 1's reward)."""
        return self.p1_marginal(belief) @ self.centres.to(belief.device)

    def prob_above_half(self, belief: Tensor) -> Tensor:
        """``P(p1_t > 1/2)`` ``[B]``: the mass of the cells above 1/2, a cell straddling 1/2 split evenly."""
        return self.p1_marginal(belief) @ self.above_half.to(belief.device)

    def mean_volatility(self, belief: Tensor) -> Tensor:
        """The posterior mean of ``nu`` ``[B]``."""
        return self.volatility_marginal(belief) @ self.volatilities.to(belief.device)


class _FilterAgent:
    """A machine whose state is a :class:`RestlessFilter` belief; subclasses choose the policy."""

    def __init__(self, task: RestlessBandit, filter: RestlessFilter) -> None:
        self.task = task
        self.filter = filter
        self.input_dim = task.input_dim
        self.state_dim = filter.size
        self.output = Policy(2)
        self.state_names = filter.state_names

    def initial_state(self, batch: int) -> Tensor:
        return self.filter.initial(batch)

    def read(self, x: Tensor, s: Tensor) -> Tensor:
        """The belief for the decision made on input ``x [B, input_dim]`` in state ``s``.

        The input's previous reward becomes a flip of ``p1``: ``y = r`` after arm 1, ``1 - r`` after arm 2.
        """
        y, seen = self.task.decode_flip(x)
        return self.filter.update(s, y, seen > 0.5)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        s = self.read(x, s)
        return self.policy(s), s

    def policy(self, s: Tensor) -> Tensor:
        raise NotImplementedError

    def mean_p1(self, s: Tensor) -> Tensor:
        """``E[p1_t]`` ``[B]`` in state ``s`` (a belief)."""
        return self.filter.mean_p1(s)

    def mean_volatility(self, s: Tensor) -> Tensor:
        """The posterior mean of the volatility ``nu`` ``[B]`` in state ``s`` (useful for analyses)."""
        return self.filter.mean_volatility(s)


class RestlessBayesAgent(_FilterAgent):
    """Bayes-optimal on the restless bandit (up to the grid): greedy on ``E[p1_t | history]``.

    State: the :class:`RestlessFilter` belief over ``(nu, p1_t)`` (``state_names`` ``b{k}_{i}``:
    volatility node ``k``, cell ``i``). Policy: arm 1 iff ``E[p1] > 1/2``, ties split evenly. Greedy
    is the full belief-MDP solution because the belief moves the same way whichever arm is pulled
    (see the module docstring).

    The default grid (50 cells x 2 Gauss-Legendre nodes per volatility interval, 200 numbers) is
    within -8e-6 +- 6e-5 regret per pull of 200 x 8 (``benchmarks/restless_filter.py --episodes 5000``).
    """

    exact_return = False
    """``expected_return`` is a Monte Carlo estimate (the belief is continuous), not a closed form."""

    def __init__(self, task: RestlessBandit, cells: int = 50, volatility_nodes: int = 2) -> None:
        task = _check_task(task)
        super().__init__(task, RestlessFilter(task, cells, volatility_nodes))
        self.cells = self.filter.cells
        self.volatility_nodes = _check_nodes(volatility_nodes)
        self._returns: dict[tuple[int, int, int], tuple[float, float]] = {}
        self.expected_return_se = float("nan")
        """The standard error of the last :meth:`expected_return` estimate."""

    def action_values_at(self, s: Tensor) -> Tensor:
        """``(E[p1], 1 - E[p1])`` ``[B, 2]`` in belief state ``s``: each arm's expected reward now."""
        m = self.filter.mean_p1(s)
        return torch.stack([m, 1.0 - m], dim=1)

    def action_values(self, x: Tensor, s: Tensor) -> Tensor:
        """The action values ``[B, 2]`` of the decision made on input ``x`` in state ``s`` (``step``'s arguments).

        These are ``(E[p1], 1 - E[p1])``: the Bayes-optimal ``Q*(b, a)`` minus the continuation
        value ``discount * E[V*(b')]``, which is the same for both arms since the next belief ``b'``
        does not depend on the arm. Bayes regret needs only differences ``Q*(b, a*) - Q*(b, a)``
        (:func:`simlib.behaviour.bayes_regret`), which these give exactly: ``|2 E[p1] - 1|`` for the
        worse arm.
        """
        return self.action_values_at(self.read(x, s))

    def policy(self, s: Tensor) -> Tensor:
        return split_ties(self.action_values_at(s))

    def expected_return(self, episodes: int = 20000, seed: int = 0, chunk: int = 1000) -> float:
        """Monte Carlo estimate of the Bayes-optimal expected return (own play, the task's discount).

        ``simlib.behaviour.evaluate_play(task, self, episodes, seed, chunk=chunk)`` (chunks of
        ``chunk`` episodes bound the memory of the recorded beliefs; chunk ``i`` is seeded ``seed + i``).
        Cached per arguments; sets ``expected_return_se`` to the estimate's standard error.
        """
        from simlib.behaviour import evaluate_play

        key = (int(episodes), int(seed), int(chunk))
        if key not in self._returns:
            returns, _ = evaluate_play(self.task, self, key[0], key[1], chunk=key[2])
            se = float(returns.std(ddof=1) / np.sqrt(len(returns))) if len(returns) > 1 else float("nan")
            self._returns[key] = (float(returns.mean()), se)
        mean, self.expected_return_se = self._returns[key]
        return mean


class RestlessThompsonAgent(_FilterAgent):
    """Wang et al.'s Thompson-sampling baseline on the restless bandit.

    The grid filter with one fixed volatility ``volatility`` (the task's units of ``nu``; default:
    its prior mean) for every episode; output ``(P(p1 > 1/2), P(p1 < 1/2))`` -- the probability
    that each arm is best -- so sampling an arm from the output is Thompson sampling.
    """

    def __init__(self, task: RestlessBandit, volatility: float | None = None, cells: int = 50) -> None:
        task = _check_task(task)
        nu = prior_mean_volatility(task) if volatility is None else _check_volatility(volatility)
        super().__init__(task, RestlessFilter(task, cells, volatility=nu))
        self.volatility = nu
        self.cells = self.filter.cells

    def policy(self, s: Tensor) -> Tensor:
        above = self.filter.prob_above_half(s)
        return torch.stack([above, 1.0 - above], dim=1)
