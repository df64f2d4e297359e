"""Limited-memory BFGS on one flat parameter vector, resumable in rounds.

:class:`LBFGS` minimises ``objective(x) -> (value, gradient)`` over a 1-D tensor ``x``: the
two-loop recursion over the last ``history`` steps (Nocedal and Wright, *Numerical
Optimization*, Algorithm 7.4, with the initial Hessian scaled by ``s'y / y'y``), a backtracking
line search on the Armijo condition from the unit step, and curvature pairs kept only when
``s'y > 0``, so the implicit Hessian stays positive definite without a Wolfe search.
``run(n)`` takes up to ``n`` iterations and can be called again to continue with the same
history, which is how :class:`simlib.embedding.MLPEmbedding` measures validation error
between rounds.

It exists because ``torch.optim`` imports ``torch._dynamo`` on the first optimiser it builds,
about two seconds of every ``simlib compare``, and scipy's would add ``scipy.optimize``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import torch

Objective = Callable[[torch.Tensor], tuple[float, torch.Tensor]]


class LBFGS:
    """State of one minimisation: ``x`` (the current point), ``value``, ``iterations`` taken,
    ``evaluations`` of the objective, and ``converged`` with the reason in ``stopped``."""

    def __init__(
        self,
        objective: Objective,
        x: torch.Tensor,
        history: int = 20,
        armijo: float = 1e-4,
        backtracks: int = 30,
        tolerance_grad: float = 1e-10,
        tolerance_change: float = 1e-12,
    ) -> None:
        self.objective, self.armijo, self.backtracks = objective, armijo, backtracks
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.pairs: deque[tuple[torch.Tensor, torch.Tensor, float]] = deque(maxlen=history)
        self.x = x.detach().clone()
        self.value, self.gradient = objective(self.x)
        self.iterations, self.evaluations = 0, 1
        self.converged, self.stopped = False, ""

    def direction(self) -> torch.Tensor:
        """``-H g``: the two-loop recursion over the stored pairs ``(s, y, 1 / s'y)``."""
        q = -self.gradient.clone()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * float(s @ q)
            q.add_(y, alpha=-alpha)
            alphas.append(alpha)
        if self.pairs:
            s, y, rho = self.pairs[-1]
            q.mul_(1.0 / (rho * float(y @ y)))
        else:
            q.mul_(min(1.0, 1.0 / float(self.gradient.abs().sum())))
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas)):
            beta = rho * float(y @ q)
            q.add_(s, alpha=alpha - beta)
        return q

    def run(self, iterations: int) -> int:
        """Take up to ``iterations`` more iterations; returns how many were taken (fewer once
        converged: the gradient vanished, the value stopped changing, or no step along the
        search direction decreased it)."""
        taken = 0
        while taken < iterations and not self.converged:
            if float(self.gradient.abs().max()) <= self.tolerance_grad:
                self._stop("gradient vanished")
                break
            d = self.direction()
            slope = float(self.gradient @ d)
            if slope >= 0:  # rounding spoilt the curvature pairs: restart from steepest descent
                self.pairs.clear()
                d = self.direction()
                slope = float(self.gradient @ d)
            step, accepted = 1.0, None
            for _ in range(self.backtracks):
                candidate = self.x + step * d
                value, gradient = self.objective(candidate)
                self.evaluations += 1
                if value <= self.value + self.armijo * step * slope:
                    accepted = candidate, value, gradient
                    break
                step *= 0.5
            if accepted is None:
                self._stop("no decrease along the search direction")
                break
            candidate, value, gradient = accepted
            s, y = candidate - self.x, gradient - self.gradient
            curvature = float(s @ y)
            if curvature > 1e-10 * float(y @ y):
                self.pairs.append((s, y, 1.0 / curvature))
            change = self.value - value
            self.x, self.value, self.gradient = candidate, value, gradient
            self.iterations += 1
            taken += 1
            if abs(change) < self.tolerance_change:
                self._stop("value stopped changing")
        return taken

    def _stop(self, reason: str) -> None:
        self.converged, self.stopped = True, reason
