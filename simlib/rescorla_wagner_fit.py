"""Maximum-likelihood fits of a softmax Rescorla-Wagner learner to choice sequences.

The model (one fit per episode): values ``V_0 = initial_value`` (every arm); the choice at trial
t is drawn from ``softmax(beta * V_t)``; after it, ``V[a_t] += alpha * (r_t - V[a_t])``. The
parameters are the learning rate ``alpha in [0, 1]`` and the inverse temperature
``beta in [0, beta_max]``.

:func:`fit_rescorla_wagner` is batched over episodes in torch float64: a coarse grid over
(alpha, beta) picks each episode's start, then a damped Newton (Levenberg-Marquardt) ascent in
``alpha = sigmoid(u)``, ``beta = beta_max * sigmoid(v)`` runs on every episode at once, with the
exact gradient and Hessian of each episode's log-likelihood carried forward through the trials
alongside the values (no autograd), and accepts a step only where it raises that episode's
likelihood. :func:`learning_rate_regression` regresses fitted learning rates on a per-episode
covariate (Wang et al. 2016 regress them on the episode's volatility and report R^2 = 0.24).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch import Tensor

BETA_MAX = 100.0
"""Default upper bound of the fitted inverse temperature."""

_UV_BOUND = 30.0
"""|u|, |v| are kept below this (sigmoid(30) = 1 - 1e-13): the box edges, numerically."""

_GRID_ELEMENTS = 1 << 22
"""Episodes are scored on the starting grid in chunks of about this many (episode, point, arm) cells."""


@dataclass(frozen=True)
class RescorlaWagnerFit:
    """Per-episode maximum-likelihood parameters: every field ``[E]`` numpy.

    * ``alpha`` -- learning rate in [0, 1];
    * ``beta`` -- inverse temperature in [0, beta_max];
    * ``log_likelihood`` -- the summed log-probability of the episode's choices at the fit (nats);
    * ``converged`` -- whether the ascent met its gradient or step tolerance before ``max_iter``.
    """

    alpha: np.ndarray
    beta: np.ndarray
    log_likelihood: np.ndarray
    converged: np.ndarray


def fit_rescorla_wagner(
    actions,
    rewards,
    arms: int,
    initial_value=0.5,
    *,
    beta_max: float = BETA_MAX,
    grid: tuple[int, int] = (21, 20),
    max_iter: int = 100,
    gtol: float = 1e-6,
    ftol: float = 1e-8,
) -> RescorlaWagnerFit:
    """Fit ``(alpha, beta)`` of a softmax Rescorla-Wagner learner to each episode's choices.

    Args:
        actions: ``[E, T]`` chosen arms (integers in ``[0, arms)``, any integer-valued dtype),
            numpy or torch.
        rewards: ``[E, T]`` the reward each choice earned (floats).
        arms: number of arms ``K``.
        initial_value: the values before trial 0: a scalar or ``[K]``.
        beta_max: upper bound of beta (finite, > 0).
        grid: ``(alpha points, beta points)`` of the starting grid (alpha logistic-spaced in
            (0, 1), beta geometric up to ``beta_max``).
        max_iter: Newton iterations at most.
        gtol: an episode is converged when its gradient in ``(u, v)`` is below this (nats),
        ftol: or when a Newton step promises less than this much more log-likelihood (nats),
            or when its likelihood stops changing beyond round-off.

    Returns:
        a :class:`RescorlaWagnerFit` with ``[E]`` arrays.
    """
    a, r = _as_tensors(actions, rewards, arms)
    v0 = _initial_values(initial_value, arms)
    beta_max = float(beta_max)
    if not (math.isfinite(beta_max) and beta_max > 0.0):
        raise ValueError(f"beta_max must be finite and > 0, got {beta_max}")
    n_alpha, n_beta = (int(n) for n in grid)
    if n_alpha < 2 or n_beta < 2:
        raise ValueError(f"the starting grid needs at least 2 points per parameter, got {grid}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    episodes = a.shape[0]

    # Starting grid, evaluated for every episode at once: [E, P].
    u_grid = torch.linspace(-5.0, 5.0, n_alpha, dtype=torch.float64)
    low, high = math.log10(min(0.05, beta_max / 10)), math.log10(0.98 * beta_max)
    v_grid = torch.logit(torch.logspace(low, high, n_beta, dtype=torch.float64) / beta_max)
    uu, vv = (g.reshape(1, -1) for g in torch.meshgrid(u_grid, v_grid, indexing="ij"))
    chunk = max(1, _GRID_ELEMENTS // (uu.shape[1] * arms))
    alphas, betas = torch.sigmoid(uu), beta_max * torch.sigmoid(vv)
    best = torch.cat(
        [
            _log_likelihood(a[i : i + chunk], r[i : i + chunk], v0, alphas, betas).argmax(1)
            for i in range(0, episodes, chunk)
        ]
    )
    u = uu[0, best].clone()
    v = vv[0, best].clone()

    ll, grad, neg_hess = _uv_derivatives(a, r, v0, u, v, beta_max)
    damping = torch.ones(episodes, dtype=torch.float64)
    converged = (grad.abs().amax(dim=1) < gtol) | (_newton_decrement(grad, neg_hess) < 2.0 * ftol)
    for _ in range(max_iter):
        active = torch.nonzero(~converged).squeeze(1)
        if active.numel() == 0:
            break
        step = _damped_newton_step(grad[active], neg_hess[active], damping[active])
        u_new = (u[active] + step[:, 0]).clamp(-_UV_BOUND, _UV_BOUND)
        v_new = (v[active] + step[:, 1]).clamp(-_UV_BOUND, _UV_BOUND)
        ll_new, grad_new, hess_new = _uv_derivatives(a[active], r[active], v0, u_new, v_new, beta_max)
        # Gains below this are round-off in a sum of T log-probabilities.
        noise = 1e-12 * (1.0 + ll[active].abs())
        predicted = (grad[active] * step).sum(1)
        gain = ll_new - ll[active]
        accept = gain > 0
        take = active[accept]
        u[take], v[take] = u_new[accept], v_new[accept]
        ll[take], grad[take], neg_hess[take] = ll_new[accept], grad_new[accept], hess_new[accept]
        damping[active] = torch.where(accept, damping[active] / 3.0, damping[active] * 4.0).clamp(1e-12, 1e12)
        done = grad[active].abs().amax(dim=1) < gtol
        done |= _newton_decrement(grad[active], neg_hess[active]) < 2.0 * ftol
        done |= accept & (gain < noise)
        done |= ~accept & ((predicted < 10.0 * noise) | (damping[active] >= 1e12))
        converged[active] = done
    return RescorlaWagnerFit(
        alpha=torch.sigmoid(u).numpy(),
        beta=(beta_max * torch.sigmoid(v)).numpy(),
        log_likelihood=ll.numpy(),
        converged=converged.numpy(),
    )


def rescorla_wagner_log_likelihood(actions, rewards, arms: int, alpha, beta, initial_value=0.5) -> np.ndarray:
    """Each episode's summed log-probability of its choices ``[E]`` under ``(alpha, beta)``.

    ``alpha``, ``beta``: scalars or ``[E]`` (one pair per episode); other arguments as
    :func:`fit_rescorla_wagner`.
    """
    a, r = _as_tensors(actions, rewards, arms)
    v0 = _initial_values(initial_value, arms)
    alpha = torch.as_tensor(np.asarray(alpha, dtype=np.float64)).reshape(-1)
    beta = torch.as_tensor(np.asarray(beta, dtype=np.float64)).reshape(-1)
    if ((alpha < 0) | (alpha > 1)).any() or not torch.isfinite(beta).all() or (beta < 0).any():
        raise ValueError("alpha must be in [0, 1] and beta finite and >= 0")
    if alpha.numel() not in (1, a.shape[0]) or beta.numel() not in (1, a.shape[0]):
        raise ValueError(f"alpha and beta must be scalars or one value per episode ({a.shape[0]})")
    alpha = alpha.expand(a.shape[0]).reshape(-1, 1)
    beta = beta.expand(a.shape[0]).reshape(-1, 1)
    return _log_likelihood(a, r, v0, alpha, beta)[:, 0].numpy()


def learning_rate_regression(alpha, x) -> dict:
    """Least-squares line ``alpha ~ slope * x + intercept`` over episodes (``scipy.stats.linregress``).

    Args:
        alpha: ``[E]`` fitted learning rates (the response).
        x: ``[E]`` the per-episode covariate (e.g. the volatility).

    Returns:
        ``{"slope", "intercept", "r2", "p_value", "stderr", "n"}`` (plain floats; ``n`` int);
        ``p_value`` is two-sided for slope 0.
    """
    y = np.asarray(alpha, dtype=np.float64).reshape(-1)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if y.shape != x.shape:
        raise ValueError(f"alpha and x need one value per episode each, got {y.shape[0]} and {x.shape[0]}")
    if y.size < 3:
        raise ValueError(f"a regression needs at least 3 episodes, got {y.size}")
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise ValueError("alpha and x must be finite")
    if np.ptp(x) == 0:
        raise ValueError("x is constant: no regression on it")
    fit = stats.linregress(x, y)
    return {
        "slope": float(fit.slope),
        "intercept": float(fit.intercept),
        "r2": float(fit.rvalue**2),
        "p_value": float(fit.pvalue),
        "stderr": float(fit.stderr),
        "n": int(y.size),
    }


def _as_tensors(actions, rewards, arms: int) -> tuple[Tensor, Tensor]:
    """``(actions [E, T] int64, rewards [E, T] float64)`` on the CPU, validated."""
    if int(arms) != arms or arms < 2:
        raise ValueError(f"arms must be an integer >= 2, got {arms}")
    a = torch.as_tensor(np.asarray(actions.cpu() if isinstance(actions, Tensor) else actions))
    r = torch.as_tensor(np.asarray(rewards.cpu() if isinstance(rewards, Tensor) else rewards, dtype=np.float64))
    if a.ndim != 2 or a.shape != r.shape:
        shapes = f"{tuple(a.shape)} and {tuple(r.shape)}"
        raise ValueError(f"actions and rewards must both be [episodes, trials], got {shapes}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"need at least one episode and one trial, got shape {tuple(a.shape)}")
    if a.is_floating_point():
        if not torch.isfinite(a).all() or (a != a.round()).any():
            raise ValueError("actions must be integer arm indices")
    if (a < 0).any() or (a >= arms).any():
        raise ValueError(f"actions must be arm indices in [0, {int(arms)})")
    if not torch.isfinite(r).all():
        raise ValueError("rewards must be finite")
    return a.long(), r


def _initial_values(initial_value, arms: int) -> Tensor:
    v0 = torch.as_tensor(np.asarray(initial_value, dtype=np.float64)).reshape(-1)
    if v0.numel() == 1:
        v0 = v0.expand(arms)
    if v0.numel() != arms or not torch.isfinite(v0).all():
        raise ValueError(f"initial_value must be a finite scalar or one value per arm ({arms}), got {initial_value!r}")
    return v0.clone()


def _log_likelihood(a: Tensor, r: Tensor, v0: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
    """Summed choice log-probabilities ``[E, P]`` for parameters ``alpha, beta`` ``[E or 1, P]``.

    Arms lead the layout (``[K, E, P]``), so the softmax over arms is elementwise work.
    """
    episodes, horizon = a.shape
    arms = v0.numel()
    points = max(alpha.shape[1], beta.shape[1])
    values = v0[:, None, None].expand(arms, episodes, points).clone()
    total = torch.zeros(episodes, points, dtype=torch.float64)
    onehots = torch.nn.functional.one_hot(a, arms).to(torch.float64).permute(2, 1, 0)[..., None].contiguous()
    for t in range(horizon):
        m = onehots[:, t]
        z = beta * values
        top = z.amax(0)
        total += (z * m).sum(0) - top - (z - top).exp().sum(0).log()
        values += alpha * m * (r[None, :, t, None] - values)
    return total


def _derivatives(a: Tensor, r: Tensor, v0: Tensor, alpha: Tensor, beta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Log-likelihood ``[E]``, its gradient ``[E, 2]`` and Hessian ``[E, 2, 2]`` in ``(alpha, beta)``.

    Forward recursions for ``D = dV/dalpha`` and ``S = d2V/dalpha2`` (``V`` does not depend on
    beta); with ``pi = softmax(beta V)`` and ``E_pi``, ``Var_pi``, ``Cov_pi`` over arms, trial t adds
    ``d/dbeta = V_a - E V``, ``d/dalpha = beta (D_a - E D)``, ``d2/dbeta2 = -Var V``,
    ``d2/dalpha dbeta = (D_a - E D) - beta Cov(V, D)``, ``d2/dalpha2 = beta (S_a - E S) - beta^2 Var D``.
    """
    episodes, horizon = a.shape
    values = v0.expand(episodes, -1).clone()
    d = torch.zeros_like(values)
    s = torch.zeros_like(values)
    onehots = torch.nn.functional.one_hot(a, v0.numel()).to(torch.float64)
    ll = torch.zeros(episodes, dtype=torch.float64)
    g_a, g_b, h_aa, h_ab, h_bb = (torch.zeros_like(ll) for _ in range(5))
    al, be = alpha[:, None], beta[:, None]
    for t in range(horizon):
        m = onehots[:, t]
        logp = torch.log_softmax(be * values, dim=1)
        pi = logp.exp()
        ll += (logp * m).sum(1)
        v_a, v_bar = (values * m).sum(1), (pi * values).sum(1)
        d_a, d_bar = (d * m).sum(1), (pi * d).sum(1)
        s_a, s_bar = (s * m).sum(1), (pi * s).sum(1)
        var_v = (pi * values * values).sum(1) - v_bar * v_bar
        cov_vd = (pi * values * d).sum(1) - v_bar * d_bar
        var_d = (pi * d * d).sum(1) - d_bar * d_bar
        g_b += v_a - v_bar
        g_a += beta * (d_a - d_bar)
        h_bb -= var_v
        h_ab += (d_a - d_bar) - beta * cov_vd
        h_aa += beta * (s_a - s_bar) - beta * beta * var_d
        keep = 1.0 - al * m
        error = r[:, t, None] - values
        s = keep * s - 2.0 * m * d
        d = keep * d + m * error
        values = values + al * m * error
    grad = torch.stack([g_a, g_b], dim=1)
    hess = torch.stack([torch.stack([h_aa, h_ab], 1), torch.stack([h_ab, h_bb], 1)], 1)
    return ll, grad, hess


def _uv_derivatives(a: Tensor, r: Tensor, v0: Tensor, u: Tensor, v: Tensor, beta_max: float):
    """Log-likelihood ``[E]``, gradient ``[E, 2]`` and negative Hessian ``[E, 2, 2]`` in ``(u, v)``."""
    alpha = torch.sigmoid(u)
    sv = torch.sigmoid(v)
    beta = beta_max * sv
    ll, g, h = _derivatives(a, r, v0, alpha, beta)
    a1 = alpha * (1.0 - alpha)
    a2 = a1 * (1.0 - 2.0 * alpha)
    b1 = beta_max * sv * (1.0 - sv)
    b2 = b1 * (1.0 - 2.0 * sv)
    grad = torch.stack([g[:, 0] * a1, g[:, 1] * b1], dim=1)
    h_uu = h[:, 0, 0] * a1 * a1 + g[:, 0] * a2
    h_vv = h[:, 1, 1] * b1 * b1 + g[:, 1] * b2
    h_uv = h[:, 0, 1] * a1 * b1
    neg = -torch.stack([torch.stack([h_uu, h_uv], 1), torch.stack([h_uv, h_vv], 1)], 1)
    return ll, grad, neg


def _damped_newton_step(grad: Tensor, neg_hess: Tensor, damping: Tensor, max_norm: float = 4.0) -> Tensor:
    """``(N + shift I)^-1 g`` per episode, ``shift = damping + max(0, -lambda_min(N))``; length capped."""
    p, q, c = neg_hess[:, 0, 0], neg_hess[:, 0, 1], neg_hess[:, 1, 1]
    half_trace = 0.5 * (p + c)
    lam_min = half_trace - torch.sqrt((0.5 * (p - c)) ** 2 + q * q)
    shift = damping + (-lam_min).clamp_min(0.0)
    p, c = p + shift, c + shift
    det = p * c - q * q
    step = torch.stack([c * grad[:, 0] - q * grad[:, 1], p * grad[:, 1] - q * grad[:, 0]], dim=1) / det[:, None]
    if math.isinf(max_norm):
        return step
    norm = step.norm(dim=1, keepdim=True)
    return step * (max_norm / norm.clamp_min(max_norm))


def _newton_decrement(grad: Tensor, neg_hess: Tensor) -> Tensor:
    """``g^T (N + shift I)^-1 g`` ``[E]``: twice the gain the local quadratic model still promises."""
    step = _damped_newton_step(grad, neg_hess, torch.full_like(grad[:, 0], 1e-12), max_norm=math.inf)
    return (grad * step).sum(1)
