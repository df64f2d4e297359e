"""Gymnasium, both ways: simlib's interactive tasks as environments, and any environment with
discrete actions as an interactive task."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gymnasium
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

from simlib import machines, tasks
from simlib.behaviour import has_expected_rewards, return_difference, unavailable_measures
from simlib.errors import SimlibError
from simlib.play import own_play_records
from simlib.simulation import Simulation
from simlib.tasks.gym_env import TaskEnv, TaskVectorEnv, env_id, register_envs
from simlib.tasks.gym_task import GymTask
from simlib.traces import sample_traces

INTERACTIVE = [name for name in tasks.names() if tasks.get(name).closed_loop]


class HideMeans(gymnasium.Wrapper):
    """The wrapped environment without its ``info["mean_reward"]``: a user's environment that cannot tell."""

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        return observation, reward, terminated, truncated, {k: v for k, v in info.items() if k != "mean_reward"}


@pytest.mark.parametrize("name", INTERACTIVE)
def test_every_interactive_task_passes_gymnasiums_checker(name):
    env = gymnasium.make(env_id(name))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    messages = [str(w.message) for w in caught]
    unbounded = "infinity" if name.startswith("gaussian") else "never"  # Gaussian rewards have no bound
    assert all(unbounded in message for message in messages), messages
    observation, info = env.reset(seed=0)
    assert observation.shape == (tasks.get(name).input_dim,) and observation.dtype == np.float64
    assert info["theta"].shape == (len(tasks.get(name).theta_names),)


def test_an_episode_terminates_at_the_horizon_with_every_actions_mean():
    env = gymnasium.make("simlib/bernoulli-bandit", horizon=5, dtype=np.float32)
    check_env(env.unwrapped)
    _, info = env.reset(seed=1)
    for t in range(5):
        observation, reward, terminated, truncated, step_info = env.step(t % 2)
        assert observation.dtype == np.float32 and observation[-1] == pytest.approx((t + 1) / 5)
        np.testing.assert_array_equal(step_info["mean_reward"], info["theta"])  # stationary arms
        assert reward in (0.0, 1.0) and terminated == (t == 4) and not truncated
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.unwrapped.step(0)
    _, fixed = env.reset(options={"theta": [0.2, 0.9]})
    np.testing.assert_array_equal(fixed["theta"], [0.2, 0.9])


def test_registration_is_idempotent_and_names_every_interactive_task():
    assert register_envs() == [env_id(name) for name in INTERACTIVE]
    assert gymnasium.make("simlib.tasks.gym_env:simlib/dependent-bandit").unwrapped.task.name == "dependent-bandit"
    with pytest.raises(SimlibError, match="open-loop"):
        TaskEnv("beta-bernoulli")


def test_the_vector_env_draws_simlibs_theta_and_replays_a_trace():
    task = tasks.get("informative-arm-bandit")  # deterministic payouts: the rewards replay exactly
    opt = machines.load("opt:informative-arm-bandit")
    traces = sample_traces(task, {"opt": opt}, 16, seed=7)
    envs = gymnasium.make_vec("simlib/informative-arm-bandit", num_envs=16, vectorization_mode="vector_entry_point")
    assert isinstance(envs, TaskVectorEnv)
    observations, info = envs.reset(seed=7)
    np.testing.assert_array_equal(info["theta"], traces["theta"].values)
    inputs = traces["input"].values
    np.testing.assert_array_equal(observations, inputs[:, 0])
    for t in range(task.horizon):
        observations, reward, terminated, truncated, info = envs.step(traces["action"].values[:, t].astype(int))
        np.testing.assert_array_equal(reward, traces["reward"].values[:, t])
        np.testing.assert_array_equal(info["mean_reward"], traces["mean_reward"].values[:, t])
        if t + 1 < task.horizon:
            np.testing.assert_array_equal(observations, inputs[:, t + 1])
        assert terminated.all() == (t + 1 == task.horizon) and not truncated.any()
    observations, reward, terminated, _, info = envs.step(np.zeros(16, dtype=int))  # next-step autoreset
    assert not reward.any() and not terminated.any() and not observations.any()
    assert not np.array_equal(info["theta"], traces["theta"].values)


def test_the_vector_env_is_seeded_and_resets_on_the_same_step_when_asked():
    def run(mode):
        envs = TaskVectorEnv("bernoulli-bandit", num_envs=8, horizon=3, autoreset_mode=mode)
        assert envs.metadata["autoreset_mode"] == AutoresetMode(mode)
        envs.reset(seed=3)
        steps = [envs.step(np.arange(8) % 2) for _ in range(3)]
        return envs, steps

    _, first = run(AutoresetMode.NEXT_STEP)
    _, again = run("NextStep")
    for a, b in zip(first, again):
        for x, y in zip(a[:4], b[:4]):
            np.testing.assert_array_equal(x, y)
    envs, same = run(AutoresetMode.SAME_STEP)
    observations, _, terminated, _, info = same[-1]
    assert terminated.all() and not observations.any()  # already the next episodes' first inputs
    np.testing.assert_array_equal(np.stack(info["final_obs"]), first[-1][0])
    np.testing.assert_array_equal(info["final_info"]["mean_reward"], first[-1][4]["mean_reward"])
    assert envs.observation_space.shape == (8, 4) and envs.action_space.shape == (8,)


def test_a_simlib_task_round_trips_through_gymnasium():
    """TaskEnv fed back through GymTask gives the traces simlib gives on the task itself."""
    task = tasks.get("informative-arm-bandit")
    opt, rnn = machines.load("opt:informative-arm-bandit"), machines.load("rnn:informative-arm-bandit")
    via_gym = sample_traces(GymTask(lambda: TaskEnv(task), encoding="observation"), {"opt": opt, "rnn": rnn}, 24, 3)
    assert via_gym["opt_output"].values.max(-1).min() == 1.0  # a deterministic driver
    seeds = via_gym["theta"].values[:, 0]
    theta = torch.from_numpy(np.stack([TaskEnv(task).reset(seed=int(s))[1]["theta"] for s in seeds]))

    class Replayed:
        def __getattr__(self, name):
            return getattr(task, name)

        def sample_theta(self, episodes, generator):
            return theta.clone()

    direct = sample_traces(Replayed(), {"opt": opt, "rnn": rnn}, 24, 3)
    for key in ("input", "action", "reward", "mean_reward", "opt_state", "rnn_state", "rnn_output"):
        np.testing.assert_array_equal(via_gym[key].values, direct[key].values, err_msg=key)


def test_expected_rewards_pass_through_and_their_absence_is_reported():
    task = tasks.get("bernoulli-bandit")
    opt, thompson = machines.load("opt:bernoulli-bandit"), machines.load("thompson:bernoulli-bandit")
    given = GymTask("simlib/bernoulli-bandit", encoding="observation")
    traces = sample_traces(given, {"opt": opt, "thompson": thompson}, 20, 0)
    theta = np.stack([TaskEnv(task).reset(seed=int(s))[1]["theta"] for s in traces["theta"].values[:, 0]])
    np.testing.assert_array_equal(traces["mean_reward"].values, np.broadcast_to(theta[:, None], (20, 20, 2)))
    assert has_expected_rewards(traces) and unavailable_measures(traces) == {}

    hidden = GymTask(lambda: HideMeans(TaskEnv(task)), horizon=task.horizon, encoding="observation")
    blind = sample_traces(hidden, {"opt": opt, "thompson": thompson}, 20, 0)
    np.testing.assert_array_equal(blind["opt_state"].values, traces["opt_state"].values)  # the same stream
    assert not has_expected_rewards(blind)
    assert set(unavailable_measures(blind)) == {"pseudo_reward", "expected_regret", "d_o"}
    simulation = Simulation(opt, "thompson", "opt", phi="linear", output_measure="return").fit(blind)
    result = simulation.evaluate(blind)
    assert result.d_o is None and result.d_o_per_episode is None and result.output_measure.startswith("unavailable")
    assert np.isfinite(result.d_s) and result.to_dict()["d_o"] is None
    labelled = result.to_dataset()
    assert "d_o" not in labelled and np.isnan(labelled.attrs["d_o"]) and labelled.attrs["d_s"] == result.d_s
    behaviour = return_difference(hidden, thompson, opt, 20, 0)
    assert behaviour.units == "reward (sampled)" and np.isfinite([behaviour.value, behaviour.standard_error]).all()
    assert return_difference(given, thompson, opt, 20, 0).units == "reward"
    with pytest.raises(SimlibError, match="unavailable"):
        own_play_records(hidden, thompson, 10)


def test_any_discrete_environment_plays_with_early_ends_padded(uniform_policy):
    """CartPole as a user's environment: the default encoding appends its observation; a pole that
    falls before the horizon ends the episode, which then pays 0 and gives no more observations."""
    task = GymTask("CartPole-v1", horizon=40)
    assert task.input_dim == 2 + 2 + 4 and task.name == "gym:CartPole-v1"
    traces = sample_traces(task, {"u": uniform_policy(task.input_dim)}, 12, 5)
    rewards = traces["reward"].values
    assert set(np.unique(rewards)) <= {0.0, 1.0} and (np.diff(rewards, axis=1) <= 0).all()
    ended = rewards.sum(1).astype(int)
    assert (ended < 40).any()
    inputs = traces["input"].values
    for episode, last in enumerate(ended):
        if last < 39:  # after the end: reward 0 in the input, the last observation repeated
            assert not inputs[episode, last + 1 :, 2].any()
            np.testing.assert_array_equal(inputs[episode, last + 1 :, 4:], inputs[episode, last + 1, None, 4:].repeat(39 - last, 0))
    np.testing.assert_allclose(inputs[:, :, 3], np.broadcast_to(np.arange(40) / 40, (12, 40)))
    assert not has_expected_rewards(traces)
    again = sample_traces(task, {"u": uniform_policy(task.input_dim)}, 12, 5)
    np.testing.assert_array_equal(again["input"].values, inputs)


def test_without_gymnasium_the_adapters_say_how_to_install_it(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "gymnasium", None)
    for module in ("simlib.tasks.gym_env", "simlib.tasks.gym_task"):
        monkeypatch.delitem(sys.modules, module)
        with pytest.raises(SimlibError, match=r"pip install simlib-agents\[gym\]"):
            importlib.import_module(module)


def test_environments_simlib_cannot_play_are_refused_in_one_line(uniform_policy):
    with pytest.raises(SimlibError, match="discrete actions"):
        GymTask("Pendulum-v1", horizon=10)
    with pytest.raises(SimlibError, match="function that builds"):
        GymTask(TaskEnv("bernoulli-bandit"), horizon=10)
    with pytest.raises(SimlibError, match="no Gymnasium environment"):
        GymTask("NoSuchEnv-v0", horizon=10)
    with pytest.raises(SimlibError, match="horizon"):
        GymTask(lambda: TaskEnv("bernoulli-bandit"), horizon=0)

    class Roulette(gymnasium.Env):
        observation_space, action_space = spaces.Discrete(1), spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return 0, {}

        def step(self, action):
            return 0, 1.0, False, False, {"mean_reward": [1.0, 1.0, 1.0]}

    with pytest.raises(SimlibError, match="give GymTask a horizon"):
        GymTask(Roulette)
    with pytest.raises(SimlibError, match="must hold 2 expected rewards"):
        sample_traces(GymTask(Roulette, horizon=3, encoding="history"), {"u": uniform_policy(4)}, 2, 0)


def test_compare_in_a_users_environment_says_what_is_unavailable():
    """Machines built for bernoulli-bandit compared in an environment shaped like it that hides its
    expected rewards: D_s and the behaviour (on sampled rewards) are measured, D_o is not, and the
    report's JSON holds no NaN."""
    import json

    from simlib.compare import compare

    task = GymTask(lambda: HideMeans(TaskEnv("bernoulli-bandit")), encoding="observation")
    thompson, opt = machines.load("thompson:bernoulli-bandit"), machines.load("opt:bernoulli-bandit")
    summary = compare(thompson, opt, task, episodes=40, resamples=100).to_dict()
    assert set(summary["unavailable"]) == {"pseudo_reward", "expected_regret", "d_o"}
    for direction in ("a_to_b", "b_to_a"):
        assert summary[direction]["d_o"] is None and np.isfinite(summary[direction]["d_s"])
        assert summary["controls"]["bootstrap"][direction]["d_o"] is None
    assert summary["behaviour"]["units"] == "reward (sampled)"
    json.dumps(summary, allow_nan=False)
