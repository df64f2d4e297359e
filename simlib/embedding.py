"""Embeddings phi: maps from one machine's whitened states to another's.

Two regressors with one interface (``fit(x, y, x_val, y_val)``, ``predict(x)``, ``curves``):

* :class:`MLPEmbedding` -- the paper's three-hidden-layer MLP, fitted by L-BFGS on the mean
  squared error, early-stopped on validation episodes, best weights kept;
* :class:`LinearEmbedding` -- affine least squares in closed form, the baseline.

Both fit on unique (x, y) rows weighted by their multiplicity, which is exactly the same
objective as the full data and much cheaper for machines with discrete states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from simlib.errors import SimlibError
from simlib.threads import FIT_THREADS, torch_threads


@dataclass(frozen=True)
class FitCurves:
    """Loss (mean squared error in whitened units) at each evaluation of a fit.

    ``steps [n]`` optimiser steps taken, ``train [n]`` and ``validation [n]`` losses;
    ``converged`` says the fit ended on its own, not at the step cap; ``stopped`` says why it
    ended: ``"closed form"``, ``"L-BFGS converged"``, ``"validation loss stopped improving"``,
    ``"step cap"`` or ``"loss not finite"`` (see :class:`MLPEmbedding`).
    """

    steps: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    converged: bool
    stopped: str


def unique_rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deduplicate paired rows: ``(x_unique [m, dx], y_unique [m, dy], counts [m])``."""
    joint = np.concatenate([x, y], axis=1)
    rows, counts = np.unique(joint, axis=0, return_counts=True)
    return rows[:, : x.shape[1]], rows[:, x.shape[1] :], counts.astype(np.float64)


def _weighted_mse(pred: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w[:, None] * (pred - y) ** 2) / (w.sum() * y.shape[1]))


class LinearEmbedding:
    """Affine map ``y = x W + b`` by (weighted) least squares."""

    name = "linear"

    def fit(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> LinearEmbedding:
        xu, yu, w = unique_rows(x, y)
        design = np.concatenate([xu, np.ones((xu.shape[0], 1))], axis=1) * np.sqrt(w)[:, None]
        self.coef_, *_ = np.linalg.lstsq(design, yu * np.sqrt(w)[:, None], rcond=None)
        train = _weighted_mse(self.predict(xu), yu, w)
        validation = float(np.mean((self.predict(x_val) - y_val) ** 2))
        self.curves_ = FitCurves(np.array([0]), np.array([train]), np.array([validation]), True, "closed form")
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1) @ self.coef_


class MLPEmbedding:
    """Three hidden layers of ``hidden`` SiLU units fitted by full-batch L-BFGS, early-stopped.

    The network (float32) is fitted on the unique training rows weighted by multiplicity.
    L-BFGS runs in rounds of ``eval_every`` iterations; after each round the validation MSE is
    measured and the best weights so far are kept. Training stops after ``max_steps``
    iterations, when L-BFGS itself converges, or when ``patience`` rounds in a row improve the
    best validation loss by less than a relative ``tol``; the last two count as converged.
    Full-batch quasi-Newton reaches a far lower error than Adam on these small smooth
    regressions in a tenth of the time (``benchmarks/compare.py``).
    """

    name = "mlp"

    def __init__(
        self,
        hidden: int = 64,
        layers: int = 3,
        max_steps: int = 400,
        eval_every: int = 20,
        patience: int = 3,
        tol: float = 1e-2,
        random_state: int = 0,
        threads: int | None = FIT_THREADS,
    ) -> None:
        self.hidden, self.layers, self.max_steps = hidden, layers, max_steps
        self.eval_every, self.patience, self.tol = eval_every, patience, tol
        self.random_state, self.threads = random_state, threads

    def _network(self, d_in: int, d_out: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            widths = [d_in] + [self.hidden] * self.layers
            blocks: list[nn.Module] = []
            for w_in, w_out in zip(widths[:-1], widths[1:]):
                blocks += [nn.Linear(w_in, w_out), nn.SiLU()]
            return nn.Sequential(*blocks, nn.Linear(widths[-1], d_out))

    def fit(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> MLPEmbedding:
        with torch_threads(self.threads):
            return self._fit(x, y, x_val, y_val)

    def _fit(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray) -> MLPEmbedding:
        xu, yu, counts = unique_rows(x, y)
        xt, yt = _tensor(xu), _tensor(yu)
        weights = _tensor(counts / counts.sum())[:, None] / yt.shape[1]
        xv, yv = _tensor(x_val), _tensor(y_val)
        net = self._network(xt.shape[1], yt.shape[1])
        optimiser = torch.optim.LBFGS(
            net.parameters(),
            max_iter=self.eval_every,
            history_size=20,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-10,
            tolerance_change=1e-12,
        )

        def closure() -> torch.Tensor:
            optimiser.zero_grad(set_to_none=True)
            loss = (weights * (net(xt) - yt) ** 2).sum()
            loss.backward()
            return loss

        first = next(net.parameters())
        best, best_state, stalled, stopped = np.inf, None, 0, "step cap"
        steps, train_curve, val_curve = [], [], []
        while not steps or steps[-1] < self.max_steps:
            optimiser.step(closure)
            taken = optimiser.state[first]["n_iter"]
            with torch.no_grad():
                train = float((weights * (net(xt) - yt) ** 2).sum())
                validation = float(((net(xv) - yv) ** 2).mean())
            stuck = bool(steps) and taken - steps[-1] < self.eval_every
            steps.append(taken)
            train_curve.append(train)
            val_curve.append(validation)
            stalled = 0 if validation < best * (1.0 - self.tol) else stalled + 1
            if validation < best:
                best, best_state = validation, {k: v.clone() for k, v in net.state_dict().items()}
            if not np.isfinite(train):
                stopped = "loss not finite"
            elif stuck:
                stopped = "L-BFGS converged"
            elif stalled >= self.patience:
                stopped = "validation loss stopped improving"
            if stopped != "step cap":
                break
        net.load_state_dict(best_state)
        self.network_ = net
        ended = stopped in ("L-BFGS converged", "validation loss stopped improving")
        self.curves_ = FitCurves(np.array(steps), np.array(train_curve), np.array(val_curve), ended, stopped)
        return self

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        with torch_threads(self.threads):
            return self.network_(_tensor(x)).to(torch.float64).numpy()


def _tensor(a: np.ndarray) -> torch.Tensor:
    """A float32 copy (never a view of the caller's array)."""
    return torch.tensor(np.asarray(a), dtype=torch.float32)


@dataclass(frozen=True)
class EmbeddingSettings:
    """What :class:`simlib.simulation.Simulation` hands an embedding factory."""

    hidden: int
    max_steps: int
    random_state: int
    threads: int | None


EMBEDDINGS: dict[str, Callable[[EmbeddingSettings], object]] = {
    "mlp": lambda s: MLPEmbedding(hidden=s.hidden, max_steps=s.max_steps, random_state=s.random_state, threads=s.threads),
    "linear": lambda s: LinearEmbedding(),
}
"""phi kinds by name: a factory from :class:`EmbeddingSettings` to an object with
``fit(x, y, x_val, y_val)`` (returning itself, setting ``curves_``) and ``predict(x)``."""


def register_embedding(name: str, factory: Callable[[EmbeddingSettings], object]) -> None:
    """Add a phi kind: ``Simulation(phi=name)`` then fits ``factory(settings)``."""
    if name in EMBEDDINGS:
        raise SimlibError(f"a phi kind called {name!r} is already registered")
    EMBEDDINGS[name] = factory
