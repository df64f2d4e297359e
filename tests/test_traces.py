"""Traces: open-loop and closed-loop sampling, splitting, shuffling, netCDF round trips."""

import json
import math

import numpy as np
import pytest
import torch
import xarray as xr

from simlib import SimlibError, machines, unroll
from simlib.traces import (
    load_traces,
    machine_names,
    sample_traces,
    save_traces,
    shuffled_pairing,
    split_episodes,
)


@pytest.fixture
def coin_traces(coin):
    pair = {"opt": machines.load("opt:beta-bernoulli"), "hist": machines.load("history:beta-bernoulli")}
    return sample_traces(coin, pair, episodes=50, seed=3)


def test_open_loop_layout(coin_traces):
    ds = coin_traces
    assert dict(ds.sizes) == {
        "episode": 50, "time": 20, "theta_param": 1, "input_dim": 2,
        "opt_state_dim": 2, "opt_param": 1, "hist_state_dim": 22, "hist_param": 1,
    }
    assert list(ds["opt_state_dim"].values) == ["heads", "flips"]
    assert ds["observation"].dims == ("episode", "time")
    assert machine_names(ds) == ["opt", "hist"]
    task = json.loads(ds.attrs["task"])
    assert task["name"] == "beta-bernoulli" and task["horizon"] == 20
    assert json.loads(ds.attrs["machines"])["hist"]["spec"] == "history:beta-bernoulli"


def test_states_are_those_in_which_each_input_arrives(coin_traces):
    ds = coin_traces
    inputs = torch.from_numpy(ds["input"].values)
    outputs, states = unroll(machines.load("opt:beta-bernoulli"), inputs)
    np.testing.assert_array_equal(ds["opt_state"].values, states.numpy())
    np.testing.assert_array_equal(ds["opt_output"].values, outputs.numpy())
    np.testing.assert_array_equal(ds["opt_state"].values[:, 0], 0.0)
    np.testing.assert_array_equal(ds["input"].values[:, 1:, 0], ds["observation"].values[:, :-1])


def test_traces_are_reproducible(coin):
    pair = {"opt": machines.load("opt:beta-bernoulli")}
    first = sample_traces(coin, pair, 20, seed=5)
    xr.testing.assert_identical(first, sample_traces(coin, pair, 20, seed=5))
    assert not np.array_equal(first["observation"].values, sample_traces(coin, pair, 20, seed=6)["observation"].values)


def test_netcdf_round_trip_is_exact_and_atomic(coin_traces, tmp_path):
    path = save_traces(coin_traces, tmp_path / "sub" / "traces.nc")
    xr.testing.assert_identical(load_traces(path), coin_traces)
    assert [p.name for p in path.parent.iterdir()] == ["traces.nc"]


def test_compact_netcdf_round_trips_float64_bit_for_bit(coin_traces, tmp_path):
    """Float64 values that are exactly float32 (a float32 network's states) are stored as float32,
    every other float64 as it is; loading gives back float64 with the same bits, and the file is compact."""
    rng = np.random.default_rng(0)
    shape = coin_traces["hist_state"].shape
    traces = coin_traces.assign(
        net_state=(coin_traces["hist_state"].dims, rng.normal(size=shape).astype(np.float32).astype(np.float64)),
        fine=(coin_traces["hist_state"].dims, rng.normal(size=shape) * 1e-300 + rng.normal(size=shape)),
    )
    traces["fine"].values[0, 0, :3] = [-0.0, 5e-324, 1e300]  # sign of zero, a subnormal, beyond float32
    path = save_traces(traces, tmp_path / "traces.nc")
    back = load_traces(path)
    xr.testing.assert_identical(back, traces)
    for name in ("net_state", "fine", "opt_state", "hist_state", "opt_output", "theta"):
        assert back[name].dtype == np.float64
        np.testing.assert_array_equal(back[name].values.view(np.uint64), traces[name].values.view(np.uint64))
    assert path.stat().st_size < 0.7 * traces.nbytes


def test_loading_a_foreign_file_is_a_user_error(tmp_path):
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not a netcdf file")
    with pytest.raises(SimlibError):
        load_traces(junk)
    plain = tmp_path / "plain.nc"
    xr.Dataset({"x": ("a", np.arange(3.0))}).to_netcdf(plain)
    with pytest.raises(SimlibError):
        load_traces(plain)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"machines": {"bad name": None}},
        {"machines": {}},
        {"episodes": 0},
    ],
)
def test_bad_arguments_are_user_errors(coin, kwargs):
    arguments = {"machines": {"opt": machines.load("opt:beta-bernoulli")}, "episodes": 5, **kwargs}
    with pytest.raises(SimlibError):
        sample_traces(coin, arguments["machines"], arguments["episodes"])


def test_input_width_must_match_the_task(toy_bandit):
    with pytest.raises(SimlibError):
        sample_traces(toy_bandit, {"opt": machines.load("opt:beta-bernoulli")}, 5)


def test_split_is_a_disjoint_cover(coin_traces):
    train, test = split_episodes(coin_traces, 0.2, seed=0)
    assert test.sizes["episode"] == 10 and train.sizes["episode"] == 40
    assert sorted(np.concatenate([train.episode.values, test.episode.values])) == list(range(50))


def test_shuffled_pairing_permutes_one_machine_and_copies(coin_traces):
    before = coin_traces.copy(deep=True)
    shuffled = shuffled_pairing(coin_traces, "opt", seed=0)
    xr.testing.assert_identical(coin_traces, before)
    np.testing.assert_array_equal(shuffled["hist_state"].values, coin_traces["hist_state"].values)
    flat = lambda ds: ds["opt_state"].values.reshape(-1, 2)  # noqa: E731
    assert not np.array_equal(flat(shuffled), flat(coin_traces))
    np.testing.assert_array_equal(np.sort(flat(shuffled), axis=0), np.sort(flat(coin_traces), axis=0))


def test_closed_loop_feeds_every_machine_the_drivers_stream(toy_bandit, soft_greedy):
    from simlib.machines import rotate

    other = rotate(soft_greedy, torch.diag(torch.tensor([-1.0, 1.0, 1.0, -1.0], dtype=torch.float64)))
    ds = sample_traces(toy_bandit, {"greedy": soft_greedy, "other": other}, episodes=200, seed=0)
    assert ds.attrs["driver"] == "greedy" and ds.attrs["closed_loop"] == 1
    actions = ds["action"].values.astype(int)
    rewards = ds["reward"].values
    theta = ds["theta"].values
    np.testing.assert_array_equal(ds["expected_reward"].values, np.take_along_axis(theta, actions, 1))
    np.testing.assert_array_equal(ds["mean_reward"].values, np.broadcast_to(theta[:, None, :], (200, 10, 2)))
    encoded = ds["input"].values
    np.testing.assert_array_equal(encoded[:, 1:, :2], np.eye(2)[actions[:, :-1]])
    np.testing.assert_array_equal(encoded[:, 1:, 2], rewards[:, :-1])
    np.testing.assert_allclose(encoded[:, :, 3], np.broadcast_to(np.arange(10) / 10, (200, 10)))
    # the driver's counts are exactly its own actions and rewards: the state entering the last
    # step has seen the inputs of steps 0..T-2, which carry the actions of steps 0..T-3
    final = ds["greedy_state"].values[:, -1]
    successes = np.stack([((actions[:, :-2] == arm) * rewards[:, :-2]).sum(1) for arm in (0, 1)], 1)
    np.testing.assert_array_equal(final[:, 0::2], successes)
    # the non-driver saw the same stream: same outputs, states a fixed reflection of the driver's
    np.testing.assert_allclose(ds["other_output"].values, ds["greedy_output"].values, atol=1e-12)
    np.testing.assert_allclose(ds["other_state"].values * [-1, 1, 1, -1], ds["greedy_state"].values, atol=1e-12)
    # actions follow the driver's policy: the arm with the higher posterior mean is preferred
    policy = ds["greedy_output"].values
    chosen = np.take_along_axis(policy, actions[..., None], 2)[..., 0]
    assert chosen.mean() > 0.6
    # rewards are Bernoulli(theta[action])
    assert abs((rewards - ds["expected_reward"].values).mean()) < 0.02


def test_closed_loop_driver_choice(toy_bandit, soft_greedy):
    from simlib.machines import Reparametrised

    uniform = Reparametrised(soft_greedy, lambda s: s, lambda s: s)
    uniform.step = lambda x, s: (torch.full((x.shape[0], 2), 0.5, dtype=torch.float64), s)
    pair = {"greedy": soft_greedy, "uniform": uniform}
    by_greedy = sample_traces(toy_bandit, pair, 300, seed=1)
    by_uniform = sample_traces(toy_bandit, pair, 300, seed=1, driver="uniform")
    np.testing.assert_array_equal(by_greedy["theta"].values, by_uniform["theta"].values)
    assert by_greedy["expected_reward"].values.mean() > by_uniform["expected_reward"].values.mean() + 0.05
    with pytest.raises(SimlibError):
        sample_traces(toy_bandit, pair, 5, driver="nobody")


def test_eq2_is_the_kl_from_the_reference_to_the_other_machine():
    """Mikulik's eq. (2) is KL(pi_opt || pi_rnn): at p = 0.9 against q = 0.5 that is 0.368 nats,
    the other direction 0.511."""
    from simlib.behaviour import prediction_divergence
    from simlib.families import Bernoulli

    def machine(name, p):
        return {f"{name}_output": (("episode", "time", f"{name}_param"), np.array(p)[:, :, None]),
                f"{name}_state": (("episode", "time", f"{name}_dim"), np.zeros((1, 2, 1)))}

    traces = xr.Dataset({**machine("opt", [[0.9, 0.5]]), **machine("rnn", [[0.5, 0.5]])})
    forward = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)
    backward = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    measured = prediction_divergence(traces, "opt", "rnn", Bernoulli())
    assert measured.value == pytest.approx(forward, rel=1e-9) and measured.metric == "kl(opt||rnn)"
    assert prediction_divergence(traces, "rnn", "opt", Bernoulli()).value == pytest.approx(backward, rel=1e-9)


@pytest.mark.parametrize("task_name", ["beta-bernoulli", "bernoulli-bandit"])
def test_a_machine_with_exploding_weights_is_an_error_naming_it_not_a_nan_result(task_name):
    from simlib import tasks

    rnn = machines.load(f"rnn:{task_name}")
    with torch.no_grad():
        rnn.core.weight_hh_l0.mul_(math.inf)
    with pytest.raises(SimlibError, match=f"machine 'rnn:{task_name}'.*(non-finite|NaN or inf)"):
        sample_traces(tasks.get(task_name), {"rnn": rnn}, 4, seed=0)


class _Drifting:
    """A counter whose outputs overflow to infinity at its fourth step (the probe sees one step)."""

    input_dim, state_dim = 2, 1
    output = machines.CountPredictor().output

    def initial_state(self, batch):
        return torch.zeros(batch, 1, dtype=torch.float64)

    def step(self, x, s):
        s = s + 1
        p = torch.where(s > 3, torch.full_like(s, math.inf), torch.full_like(s, 0.5))
        return p, s


def test_a_machine_that_turns_non_finite_later_is_named_with_where_it_happened():
    from simlib import tasks

    with pytest.raises(SimlibError, match=r"machine 'drift' gave non-finite outputs .* step 3"):
        sample_traces(tasks.get("beta-bernoulli"), {"drift": _Drifting()}, 4, seed=0)


@pytest.mark.parametrize("broken, message", [
    ("numpy", "must be a torch tensor"),
    ("shape", r"has shape \(3, 2\), expected \(3, 1\)"),
    ("impure", "is not pure"),
    ("members", "lacks step"),
])
def test_a_duck_typed_machine_with_a_broken_step_is_named_and_explained(broken, message):
    from simlib import tasks

    class Broken(_Drifting):
        calls = 0

        def step(self, x, s):
            Broken.calls += 1
            if broken == "numpy":
                return np.full((x.shape[0], 1), 0.5), s
            if broken == "shape":
                return torch.full((x.shape[0], 2), 0.5, dtype=torch.float64), s
            return torch.full((x.shape[0], 1), 0.25 + 0.5 * (Broken.calls % 2), dtype=torch.float64), s

    machine = Broken()
    if broken == "members":
        machine = type("NoStep", (), {"input_dim": 2, "state_dim": 1, "output": _Drifting.output,
                                      "initial_state": _Drifting.initial_state})()
    with pytest.raises(SimlibError, match=message):
        sample_traces(tasks.get("beta-bernoulli"), {"mine": machine}, 4, seed=0)


def test_whitening_refuses_non_finite_states_instead_of_dropping_them():
    from simlib.whitening import fit_whitening

    states = np.random.default_rng(0).normal(size=(50, 3))
    states[7, 1] = np.nan
    with pytest.raises(SimlibError, match=r"NaN or infinite values \(coordinates \[1\]\)"):
        fit_whitening(states)
