"""The Bayes-optimal coin machine against scipy, and its analytic variants."""

import numpy as np
import pytest
import torch
from scipy import stats

from simlib import SimlibError, StateMachine, tasks, unroll
from simlib import machines
from simlib.random import make_generator

VARIANTS = ["opt", "posterior", "logodds", "rotated", "history"]


def _episodes(task, n=64, seed=0):
    generator = make_generator(seed)
    observations = task.sample_observations(task.sample_theta(n, generator), task.horizon, generator)
    return observations, task.encode(observations)


def test_opt_is_the_scipy_posterior_predictive_including_the_prior_at_t0():
    task = tasks.get("beta-bernoulli", a=2.0, b=3.0)
    observations, inputs = _episodes(task)
    outputs, states = unroll(machines.load("opt:beta-bernoulli", task), inputs)
    obs = observations.numpy()
    for t in range(task.horizon):
        heads = obs[:, :t].sum(1)
        expected = stats.betabinom(1, 2.0 + heads, 3.0 + t - heads).pmf(1)
        np.testing.assert_allclose(outputs[:, t, 0].numpy(), expected, rtol=1e-12)
        np.testing.assert_array_equal(states[:, t].numpy(), np.stack([obs[:, : max(t - 1, 0)].sum(1), np.full(len(obs), max(t - 1, 0))], 1))
    assert outputs[0, 0, 0].item() == pytest.approx(0.4)


@pytest.mark.parametrize("kind", VARIANTS + ["forgetful"])
def test_every_builtin_machine_satisfies_the_protocol(kind, coin):
    machine = machines.load(f"{kind}:beta-bernoulli")
    assert isinstance(machine, StateMachine)
    assert machine.spec == f"{kind}:beta-bernoulli" and machine.task == coin
    assert machine.initial_state(3).shape == (3, machine.state_dim)


@pytest.mark.parametrize("kind", VARIANTS[1:])
def test_reparametrisations_behave_identically(kind, coin):
    _, inputs = _episodes(coin)
    reference, _ = unroll(machines.load("opt:beta-bernoulli"), inputs)
    outputs, _ = unroll(machines.load(f"{kind}:beta-bernoulli"), inputs)
    torch.testing.assert_close(outputs, reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", VARIANTS + ["forgetful"])
def test_machines_run_from_any_state_and_rows_are_independent(kind, coin):
    machine = machines.load(f"{kind}:beta-bernoulli")
    _, inputs = _episodes(coin, n=16)
    outputs, states = unroll(machine, inputs)
    resumed, _ = unroll(machine, inputs[:, 7:], s0=states[:, 7])
    torch.testing.assert_close(resumed, outputs[:, 7:], rtol=0, atol=1e-12)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    permuted, _ = unroll(machine, inputs[order])
    torch.testing.assert_close(permuted, outputs[order], rtol=0, atol=1e-12)


def test_step_does_not_mutate_its_arguments(coin):
    machine = machines.load("history:beta-bernoulli")
    x = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    s = machine.initial_state(1)
    before = (x.clone(), s.clone())
    machine.step(x, s)
    assert torch.equal(x, before[0]) and torch.equal(s, before[1])


def test_history_machine_keeps_the_order_the_count_machine_forgets():
    history = machines.load("history:beta-bernoulli")
    heads_tails = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]], dtype=torch.float64)
    tails_heads = torch.tensor([[[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 1.0]]], dtype=torch.float64)
    out_a, states_a = unroll(history, heads_tails)
    out_b, states_b = unroll(history, tails_heads)
    assert not torch.equal(states_a[:, -1], states_b[:, -1])
    torch.testing.assert_close(out_a[:, -1], out_b[:, -1], rtol=0, atol=1e-15)


def test_forgetful_machine_predicts_from_the_last_flip_only():
    forgetful = machines.load("forgetful:beta-bernoulli")
    inputs = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 1.0]]], dtype=torch.float64)
    outputs, _ = unroll(forgetful, inputs)
    np.testing.assert_allclose(outputs[0, :, 0].numpy(), [0.5, 2 / 3, 2 / 3, 1 / 3])


def test_rotation_requires_an_orthogonal_matrix():
    count = machines.CountPredictor()
    with pytest.raises(ValueError):
        machines.rotate(count, torch.tensor([[2.0, 0.0], [0.0, 1.0]]))
    q = machines.random_orthogonal(2, seed=1, reflect=True)
    assert torch.linalg.det(q).item() == pytest.approx(-1.0)


@pytest.mark.parametrize(
    "spec",
    ["opt", "opt:", "nope:beta-bernoulli", "opt:no-such-task"],
)
def test_bad_specs_are_user_errors(spec):
    with pytest.raises(SimlibError):
        machines.load(spec)


def test_spec_and_task_must_agree():
    with pytest.raises(SimlibError):
        machines.load("opt:beta-bernoulli", task=type("T", (), {"name": "other"})())


def test_specs_listing_covers_every_kind():
    listed = {spec.split(":")[0] for spec, _ in machines.specs()}
    assert listed == set(machines.kinds())


def test_the_bayes_optimal_lookup_is_typed_and_says_when_there_is_none():
    task = tasks.get("beta-bernoulli", a=2.0, horizon=7)
    opt = machines.bayes_optimal(task)
    assert opt.task is task and opt.spec == "opt:beta-bernoulli"
    assert isinstance(opt, type(machines.load("opt:beta-bernoulli", task)))
    stranger = type("Stranger", (), {"name": "stranger"})()
    assert machines.bayes_optimal(stranger) is None
    with pytest.raises(SimlibError, match="no Bayes-optimal machine for task 'stranger'"):
        machines.require_bayes_optimal(stranger)

