"""Maximum-likelihood fit of Daw et al. 2011's hybrid learner to first-stage choices on the two-step task.

The model is :class:`~simlib.machines.two_step_agents.HybridLearner` with five free parameters:
the model-based weight ``w``, learning rate ``alpha`` and eligibility ``trace`` (each in [0, 1]),
inverse temperature ``beta`` in [0, 50] and ``perseveration`` in [-5, 5]. The learner is run
on the recorded inputs of every episode at once (torch float64, one pass over time), its
first-stage choice probabilities scored against the recorded choices, and the summed
log-likelihood maximised by L-BFGS-B with autograd gradients from several starts. Standard
errors come from the inverse Hessian of the log-likelihood at the fit (interior parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize

from simlib.machines.two_step_agents import HybridLearner
from simlib.tasks.two_step import TwoStepTask

PARAMETERS = ("w", "alpha", "beta", "trace", "perseveration")
BOUNDS = ((0.0, 1.0), (0.0, 1.0), (0.0, 50.0), (0.0, 1.0), (-5.0, 5.0))
STARTS = ((0.5, 0.5, 5.0, 1.0, 0.0), (0.2, 0.8, 10.0, 0.5, 0.5), (0.8, 0.2, 3.0, 0.9, -0.5))


@dataclass(frozen=True)
class HybridFit:
    """The fitted parameters (:data:`PARAMETERS`), their standard errors (nan at a bound) and
    the summed log-likelihood of ``choices`` first-stage choices (nats)."""

    params: dict[str, float]
    se: dict[str, float]
    log_likelihood: float
    choices: int


def hybrid_log_likelihood(task: TwoStepTask, inputs: torch.Tensor, actions: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Summed log-probability of the first-stage ``actions`` ``[E, T]`` under the hybrid learner
    with ``params`` ``[5]`` (:data:`PARAMETERS` order) fed ``inputs`` ``[E, T, input_dim]``."""
    w, alpha, beta, trace, perseveration = params.unbind()
    learner = HybridLearner(task, w=w, alpha=alpha, beta=beta, trace=trace, perseveration=perseveration)
    s = learner.initial_state(inputs.shape[0])
    total = torch.zeros((), dtype=torch.float64)
    for t in range(inputs.shape[1]):
        probs, s = learner.step(inputs[:, t], s)
        if t % 2 == 0:
            total = total + torch.log(probs.gather(1, actions[:, t : t + 1]).clamp_min(1e-300)).sum()
    return total


def fit_hybrid(task: TwoStepTask, inputs, actions) -> HybridFit:
    """Fit the hybrid learner to closed-loop ``inputs`` ``[E, T, input_dim]`` and ``actions`` ``[E, T]``."""
    x = torch.as_tensor(np.asarray(inputs), dtype=torch.float64)
    a = torch.as_tensor(np.asarray(actions)).long()

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        value = -hybrid_log_likelihood(task, x, a, params)
        value.backward()
        return float(value.detach()), params.grad.numpy().copy()

    best = min(
        (optimize.minimize(negative, np.array(start), jac=True, method="L-BFGS-B", bounds=BOUNDS) for start in STARTS),
        key=lambda result: result.fun,
    )
    point = torch.tensor(best.x, dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(lambda p: -hybrid_log_likelihood(task, x, a, p), point).numpy()
    interior = np.array([low + 1e-6 < v < high - 1e-6 for v, (low, high) in zip(best.x, BOUNDS)])
    se = np.full(len(PARAMETERS), np.nan)
    if interior.any():
        block = hessian[np.ix_(interior, interior)]
        with np.errstate(invalid="ignore"):
            se[interior] = np.sqrt(np.diag(np.linalg.pinv(block)))
    return HybridFit(
        params=dict(zip(PARAMETERS, map(float, best.x))),
        se=dict(zip(PARAMETERS, map(float, se))),
        log_likelihood=-float(best.fun),
        choices=int(a[:, 0::2].numel()),
    )
