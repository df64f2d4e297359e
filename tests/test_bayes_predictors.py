"""Every Bayes-optimal predictor against scipy: the posterior predictive by numerical integration
(or scipy's own compound distributions), on random sequences, including t = 0 (the prior predictive)."""

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.special import gammaln

from simlib import machines, tasks, unroll
from simlib.random import make_generator

PREDICTION_TASKS = [name for name in tasks.names() if not tasks.get(name).closed_loop]


def _run(name, episodes=3, horizon=6, seed=0, **overrides):
    task = tasks.get(name, horizon=horizon, **overrides)
    generator = make_generator(seed)
    observations = task.sample_observations(task.sample_theta(episodes, generator), horizon, generator)
    outputs, states = unroll(machines.load(f"opt:{name}", task), task.encode(observations))
    return task, observations.numpy(), outputs, states


def _log_prob(machine_family, params, values):
    rows = torch.as_tensor(params, dtype=torch.float64).expand(len(values), -1)
    return machine_family.log_prob(rows, torch.as_tensor(values, dtype=torch.float64)).numpy()


def _posterior_predictive_1d(log_prior, log_lik, data, y, support):
    """p(y | data) = int p(y|theta) p(theta) prod p(x|theta) / int p(theta) prod p(x|theta)."""
    unnormalised = lambda th: np.exp(log_prior(th) + sum(log_lik(x, th) for x in data))  # noqa: E731
    evidence = integrate.quad(unnormalised, *support, epsabs=0, epsrel=1e-11, limit=400)[0]
    joint = integrate.quad(
        lambda th: unnormalised(th) * np.exp(log_lik(y, th)), *support, epsabs=0, epsrel=1e-11, limit=400
    )[0]
    return np.log(joint / evidence)


@pytest.mark.parametrize("name", ["beta-bernoulli", "beta-bernoulli-fair", "beta-bernoulli-bent"])
def test_beta_bernoulli_family(name):
    task, obs, outputs, _ = _run(name, episodes=8, horizon=20)
    for t in range(task.horizon):
        heads = obs[:, :t].sum(1)
        expected = stats.betabinom(1, task.a + heads, task.b + t - heads).pmf(1)
        np.testing.assert_allclose(outputs[:, t, 0].numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["dirichlet-categorical", "dirichlet-categorical-5"])
def test_dirichlet_categorical(name):
    task, obs, outputs, states = _run(name, episodes=8, horizon=20)
    for e in range(obs.shape[0]):
        for t in range(task.horizon):
            counts = np.bincount(obs[e, :t].astype(int), minlength=task.k)
            posterior = np.array(task.alpha) + counts
            expected = [stats.dirichlet_multinomial(posterior, 1).pmf(np.eye(task.k)[i]) for i in range(task.k)]
            np.testing.assert_allclose(outputs[e, t].numpy(), expected, rtol=1e-12)
    assert outputs[0, 0].sum().item() == pytest.approx(1.0)


def _log_gamma_pdf(x, shape, rate):
    return shape * np.log(rate) - gammaln(shape) + (shape - 1) * np.log(x) - rate * x


def _log_normal_pdf(x, mean, precision):
    return 0.5 * np.log(precision / (2 * np.pi)) - 0.5 * precision * (x - mean) ** 2


# name -> (log prior of theta, log likelihood of x given theta, support of theta, grid of y)
CONTINUOUS = {
    "gamma-exponential": (
        lambda task: lambda lam: _log_gamma_pdf(lam, task.shape, task.rate),
        lambda x, lam: np.log(lam) - lam * x,
        (0.0, np.inf),
        [0.05, 0.7, 3.0],
    ),
    "gamma-exponential-tight": (
        lambda task: lambda lam: _log_gamma_pdf(lam, task.shape, task.rate),
        lambda x, lam: np.log(lam) - lam * x,
        (0.0, np.inf),
        [0.05, 0.7, 3.0],
    ),
    "normal-normal": (
        lambda task: lambda mu: _log_normal_pdf(mu, task.prior_mean, task.prior_std**-2),
        lambda x, mu: _log_normal_pdf(x, mu, 1.0),
        (-np.inf, np.inf),
        [-2.0, 0.3, 1.5],
    ),
    "gamma-normal": (
        lambda task: lambda tau: _log_gamma_pdf(tau, task.alpha, task.beta),
        lambda x, tau: _log_normal_pdf(x, 0.0, tau),
        (0.0, np.inf),
        [-2.5, 0.1, 1.2],
    ),
}


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_one_parameter_continuous_predictives(name):
    make_prior, log_lik, support, grid = CONTINUOUS[name]
    task, obs, outputs, _ = _run(name)
    log_prior = make_prior(task)
    for e in range(obs.shape[0]):
        for t in (0, 1, 3, 5):
            expected = [_posterior_predictive_1d(log_prior, log_lik, obs[e, :t], y, support) for y in grid]
            np.testing.assert_allclose(_log_prob(task.output, outputs[e, t], grid), expected, atol=1e-7)


def test_normal_gamma_predictive_by_nested_integration():
    task, obs, outputs, _ = _run("normal-gamma", episodes=1, horizon=5)

    def log_joint(mu, tau, data):
        prior = _log_gamma_pdf(tau, task.alpha, task.beta) + _log_normal_pdf(mu, task.mu0, task.kappa * tau)
        return prior + sum(_log_normal_pdf(x, mu, tau) for x in data)

    def integral(function):
        inner = lambda tau: integrate.quad(lambda mu: function(mu, tau), -np.inf, np.inf, epsabs=0, epsrel=1e-12)[0]  # noqa: E731
        return integrate.quad(inner, 0.0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]

    for e in range(obs.shape[0]):
        for t in (0, 4):
            data = obs[e, :t]
            evidence = integral(lambda mu, tau: np.exp(log_joint(mu, tau, data)))
            for y in (-1.5, 0.4):
                joint = integral(lambda mu, tau: np.exp(log_joint(mu, tau, data) + _log_normal_pdf(y, mu, tau)))
                df, loc, scale = outputs[e, t].tolist()
                assert stats.t(df, loc, scale).logpdf(y) == pytest.approx(np.log(joint / evidence), abs=1e-8)
                assert _log_prob(task.output, outputs[e, t], [y])[0] == pytest.approx(np.log(joint / evidence), abs=1e-8)


@pytest.mark.parametrize("name", PREDICTION_TASKS)
def test_state_is_the_minimal_statistic_and_starts_at_zero(name):
    task, obs, outputs, states = _run(name, episodes=4, horizon=6)
    opt = machines.load(f"opt:{name}", task)
    assert torch.equal(states[:, 0], torch.zeros(4, opt.state_dim, dtype=torch.float64))
    assert states.shape[-1] == {"dirichlet-categorical": 3, "dirichlet-categorical-5": 5, "normal-gamma": 3}.get(name, 2)
    assert outputs.dtype == torch.float64 and torch.isfinite(outputs).all()
