"""The beta-bernoulli task and the task registry."""

import numpy as np
import pytest
import torch

from simlib import SimlibError, tasks
from simlib.random import make_generator


def test_registry_lists_and_builds_tasks():
    assert "beta-bernoulli" in tasks.names()
    task = tasks.get("beta-bernoulli", horizon=8, a=2.0)
    assert (task.horizon, task.a, task.b) == (8, 2.0, 1.0)
    assert tasks.from_config(task.config()) == task
    assert "Beta" in tasks.summary("beta-bernoulli")


@pytest.mark.parametrize("call", [lambda: tasks.get("nope"), lambda: tasks.get("beta-bernoulli", sides=3)])
def test_registry_errors_are_user_errors(call):
    with pytest.raises(SimlibError):
        call()


def test_inputs_carry_the_previous_observation_after_a_start_token(coin):
    generator = make_generator(0)
    observations = coin.sample_observations(coin.sample_theta(5, generator), coin.horizon, generator)
    inputs = coin.encode(observations)
    assert inputs.shape == (5, 20, 2)
    assert torch.equal(inputs[:, 0], torch.zeros(5, 2, dtype=torch.float64))
    assert torch.equal(inputs[:, 1:, 0], observations[:, :-1])
    assert torch.equal(inputs[:, 1:, 1], torch.ones(5, 19, dtype=torch.float64))


def test_prior_and_likelihood_match_their_moments():
    task = tasks.get("beta-bernoulli", a=2.0, b=5.0)
    generator = make_generator(1)
    theta = task.sample_theta(40_000, generator)
    mean, var = 2 / 7, (2 * 5) / (7**2 * 8)
    assert abs(theta.mean().item() - mean) < 4 * np.sqrt(var / 40_000)
    assert abs(theta.var().item() - var) < 0.02 * var
    observations = task.sample_observations(theta, 20, generator)
    rate = observations.mean(1)
    assert abs((rate - theta[:, 0]).mean().item()) < 0.005


def test_sampling_is_reproducible(coin):
    first = coin.sample_theta(4, make_generator(3))
    assert torch.equal(first, coin.sample_theta(4, make_generator(3)))
    assert not torch.equal(first, coin.sample_theta(4, make_generator(4)))


def test_gamma_sampling_leaves_the_global_rng_alone(coin):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    coin.sample_theta(10, make_generator(0))
    assert torch.equal(torch.rand(3), expected)
