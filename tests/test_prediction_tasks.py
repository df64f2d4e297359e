"""The ten prediction tasks: priors and likelihoods match their moments; encodings and alphabets."""

import numpy as np
import pytest
import torch

from simlib import tasks
from simlib.random import make_generator

PREDICTION_TASKS = [name for name in tasks.names() if not tasks.get(name).closed_loop]

N = 40_000

# name -> (mean of theta columns, variance of theta columns)
PRIOR_MOMENTS = {
    "beta-bernoulli": ([0.5], [1 / 12]),
    "beta-bernoulli-fair": ([0.5], [0.25 / 21]),
    "beta-bernoulli-bent": ([0.5], [0.25 / 1.4]),
    "dirichlet-categorical": ([1 / 3] * 3, [2 / 36] * 3),
    "dirichlet-categorical-5": ([0.2] * 5, [0.2 * 0.8 / 3.5] * 5),
    "gamma-exponential": ([1.0], [0.5]),
    "gamma-exponential-tight": ([1.0], [0.05]),
    "normal-normal": ([0.0], [1.0]),
    "gamma-normal": ([1.0], [0.5]),
}


@pytest.mark.parametrize("name", sorted(PRIOR_MOMENTS))
def test_prior_moments(name):
    task = tasks.get(name)
    theta = task.sample_theta(N, make_generator(0)).numpy()
    mean, var = map(np.array, PRIOR_MOMENTS[name])
    assert (np.abs(theta.mean(0) - mean) <= 5 * np.sqrt(var / N)).all(), theta.mean(0)
    np.testing.assert_allclose(theta.var(0), var, rtol=0.05)


def test_normal_gamma_prior():
    task = tasks.get("normal-gamma")
    mu, tau = task.sample_theta(N, make_generator(1)).numpy().T
    assert tau.mean() == pytest.approx(1.0, rel=0.02) and tau.var() == pytest.approx(0.5, rel=0.06)
    # mu | tau ~ N(0, 1 / tau): the standardised mean is standard normal
    z = mu * np.sqrt(tau)
    assert abs(z.mean()) < 0.02 and z.var() == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("name", PREDICTION_TASKS)
def test_observations_follow_theta(name):
    task = tasks.get(name)
    generator = make_generator(2)
    theta = task.sample_theta(4000, generator)
    observations = task.sample_observations(theta, 50, generator)
    assert observations.shape == (4000, 50) and observations.dtype == torch.float64
    x = observations.numpy()
    th = theta.numpy()
    if name.startswith("beta"):
        np.testing.assert_allclose(x.mean(1).mean(), th[:, 0].mean(), atol=0.01)
        assert set(np.unique(x)) <= {0.0, 1.0}
    elif name.startswith("dirichlet"):
        frequencies = np.stack([(x == i).mean(1) for i in range(th.shape[1])], 1)
        assert np.abs(frequencies - th).mean() < 0.05
    elif name.startswith("gamma-exponential"):
        assert (x > 0).all()
        np.testing.assert_allclose((x * th[:, :1]).mean(), 1.0, rtol=0.02)  # E[x lambda] = 1
    elif name == "normal-normal":
        np.testing.assert_allclose((x - th[:, :1]).var(), 1.0, rtol=0.02)
    elif name == "normal-gamma":
        np.testing.assert_allclose(((x - th[:, :1]) ** 2 * th[:, 1:]).mean(), 1.0, rtol=0.02)
    else:
        np.testing.assert_allclose((x**2 * th[:, :1]).mean(), 1.0, rtol=0.02)


@pytest.mark.parametrize("name", PREDICTION_TASKS)
def test_encoding_and_overrides(name):
    task = tasks.get(name, horizon=7)
    assert task.horizon == 7 and tasks.from_config(task.config()) == task
    generator = make_generator(3)
    observations = task.sample_observations(task.sample_theta(5, generator), 7, generator)
    inputs = task.encode(observations)
    assert inputs.shape == (5, 7, task.input_dim)
    assert (inputs[:, 0] == 0).all() and (inputs[:, 1:, -1] == 1).all()


def test_categorical_alphabet_and_one_hot():
    task = tasks.get("dirichlet-categorical")
    rows, labels = task.input_alphabet()
    assert labels == ("start", "0", "1", "2") and rows.shape == (4, 4)
    encoded = task.encode(torch.tensor([[2.0, 0.0, 1.0]]))
    torch.testing.assert_close(encoded[0, 1:], rows[[3, 1]])


def test_bad_overrides_are_user_errors():
    from simlib import SimlibError

    with pytest.raises(SimlibError):
        tasks.get("dirichlet-categorical", alpha=(1.0,))
