"""Actor-critic meta-training of bandit agents: the estimator, learning, checkpoints, exact resume."""

import math
from dataclasses import asdict, replace

import pytest
import torch

from simlib import SimlibError, machines, tasks
from simlib.cli.app import main
from simlib.training import ActorCriticSettings, TrainSettings, train_bandit_agent, train_predictor
from simlib.training.actor_critic import advantages, later_expected_rewards, rewards_left

TASK = tasks.get("bernoulli-bandit", horizon=6)
TINY = ActorCriticSettings(steps=60, batch=128, lr=1e-2, hidden=16, critic_hidden=16, snapshot_every=20,
                           eval_episodes=4000)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "bandit.pt"
    return path, train_bandit_agent(TASK, TINY, path, device="cpu", progress=False)


def test_monte_carlo_advantages_are_the_discounted_future_rewards():
    expected = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    values = torch.tensor([[0.5, 0.25, 0.0, 1.0]])
    rewards = later_expected_rewards(expected, 0.5)
    assert torch.allclose(rewards, torch.tensor([[1.0, 1.5, 2.0, 0.0]]))
    advantage, target = advantages(rewards, values, 0.5, 1.0)
    future = torch.tensor([[2.0 * 0.5 + 3.0 * 0.25 + 4.0 * 0.125, 3.0 * 0.5 + 4.0 * 0.25, 4.0 * 0.5, 0.0]])
    assert torch.allclose(target, future) and torch.allclose(advantage, future - values)
    one_step, _ = advantages(rewards, values, 0.5, 0.0)
    assert torch.allclose(one_step, torch.tensor([[0.5 * (2.0 + 0.25) - 0.5, 0.5 * 3.0 - 0.25, 0.5 * 5.0, -1.0]]))


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_rewards_left_counts_the_discounted_terms_of_each_critic_target(discount):
    ones = torch.ones(1, 5)
    monte_carlo, _ = advantages(ones, torch.zeros(1, 5), discount, 1.0)
    assert torch.allclose(rewards_left(5, discount, after_step=False), monte_carlo[0])
    later, _ = advantages(later_expected_rewards(ones, discount), torch.zeros(1, 5), discount, 1.0)
    assert torch.allclose(rewards_left(5, discount, after_step=True), later[0])
    assert rewards_left(5, discount, after_step=True)[-1] == 0


def test_a_per_step_critic_learns_and_is_recorded_in_the_command(tmp_path):
    settings = ActorCriticSettings(**{**asdict(TINY), "per_step_critic": True, "steps": 20, "snapshot_every": 20})
    payload = train_bandit_agent(TASK, settings, tmp_path / "per-step.pt", device="cpu", progress=False)
    assert "--per-step-critic" in payload["training"]["command"]
    history = payload["training"]["history"]
    assert history["return"][-1] > history["return"][0]


def test_plain_a2c_also_learns_and_its_critic_does_not_see_the_arm_means(tmp_path):
    settings = ActorCriticSettings(**{**asdict(TINY), "estimator": "a2c", "steps": 20, "snapshot_every": 20})
    payload = train_bandit_agent(TASK, settings, tmp_path / "a2c.pt", device="cpu", progress=False)
    assert "--estimator a2c" in payload["training"]["command"]
    history = payload["training"]["history"]
    assert len(history["return"]) == 2 and all(map(math.isfinite, history["return"]))
    with pytest.raises(SimlibError):
        ActorCriticSettings(estimator="ppo")


def test_training_approaches_the_bayes_optimal_return(trained):
    _, payload = trained
    history = payload["training"]["history"]
    assert history["step"] == [0, 20, 40, 60]
    optimal = machines.load("opt:bernoulli-bandit", TASK).expected_return()
    random = 6 * 0.5
    # the Bayes regret and opt's return minus the agent's are one expectation (4000 episodes:
    # the returns' standard error is about 0.03, the regret's far smaller)
    for regret, mean_return in zip(history["regret"], history["return"]):
        assert 0 < regret == pytest.approx(optimal - mean_return, abs=0.12)
    # a quarter of the way from random to optimal, at least, after 60 tiny steps
    assert history["return"][-1] > random + 0.25 * (optimal - random)
    assert payload["training"]["command"].startswith("simlib train bernoulli-bandit --steps 60")


def test_checkpoint_loads_as_a_policy_machine(trained):
    path, payload = trained
    agent = machines.load(str(path), TASK)
    assert agent.output.n_params == 2 and agent.state_dim == 32 and agent.task.horizon == 6
    pruned = machines.keep_final_snapshot(payload)
    assert [snap["step"] for snap in pruned["snapshots"]] == [60]
    rebuilt = machines.machine_from_checkpoint(pruned, "init").state_dict()
    for name, tensor in payload["snapshots"][0]["state_dict"].items():
        assert torch.equal(rebuilt[name], tensor), name


def test_interrupted_bandit_run_resumes_to_the_same_weights(tmp_path, trained, resumes_exactly):
    def train(path, callback):
        return train_bandit_agent(TASK, TINY, path, device="cpu", progress=False, callback=callback)

    resumes_exactly(train, tmp_path / "resumed.pt", trained[1], "return")
    assert torch.load(trained[0], weights_only=True)["training"]["finished"]


def test_a_run_recorded_before_newer_settings_existed_is_still_the_same_run(tmp_path, trained):
    """Shipped checkpoints predate ``estimator`` and ``per_step_critic``: resuming (or
    ``simlib reproduce`` without ``--no-train``) must accept them at those fields' defaults."""
    payload = machines.read_checkpoint(trained[0])
    for newer in ("estimator", "per_step_critic", "discount"):
        del payload["training"]["settings"][newer]
    machines.save_checkpoint(payload, tmp_path / "old.pt")
    again = train_bandit_agent(TASK, TINY, tmp_path / "old.pt", device="cpu", progress=False)
    assert again["training"]["finished"] and again["training"]["step"] == TINY.steps
    with pytest.raises(SimlibError, match="different run"):
        train_bandit_agent(TASK, replace(TINY, per_step_critic=True), tmp_path / "old.pt", progress=False)


def test_task_kinds_and_settings_are_checked(tmp_path):
    with pytest.raises(SimlibError):
        train_bandit_agent(tasks.get("beta-bernoulli"), TINY, tmp_path / "x.pt", progress=False)
    with pytest.raises(SimlibError):
        train_predictor(TASK, TrainSettings(), tmp_path / "y.pt")
    with pytest.raises(SimlibError):
        ActorCriticSettings(trace_decay=1.5)


def test_cli_trains_a_bandit_agent_and_keeps_only_the_ends(tmp_path, capsys):
    out = tmp_path / "cli.pt"
    code = main(["train", "bernoulli-bandit", "--steps", "4", "--batch", "8", "--hidden", "8",
                 "--snapshot-every", "2", "--final-only", "--quiet", "--out", str(out), "--device", "cpu"])
    assert code == 0 and "expected return" in capsys.readouterr().out
    payload = torch.load(out, weights_only=True)
    assert [snap["step"] for snap in payload["snapshots"]] == [4]
    assert "--entropy 0.01" in payload["training"]["command"] and payload["training"]["command"].endswith(" --final-only")
    assert main(["train", "beta-bernoulli", "--entropy", "0.1", "--out", str(tmp_path / "z.pt")]) == 2


def test_a_training_discount_learns_a_task_with_a_drifting_state(tmp_path, capsys):
    """Wang's restless bandit trains with discount 0.8 and still earns more than chance; the
    discount shapes the advantages only, and the command records it."""
    task = tasks.get("restless-bandit", horizon=20)
    settings = ActorCriticSettings(steps=40, batch=64, lr=1e-2, hidden=16, critic_hidden=16, snapshot_every=40,
                                   eval_episodes=2000, discount=0.8, entropy=0.0)
    payload = train_bandit_agent(task, settings, tmp_path / "restless.pt", device="cpu", progress=False)
    returns = payload["training"]["history"]["return"]
    assert returns[-1] > returns[0] + 1.0 and returns[-1] > 0.5 * task.horizon + 1.0
    assert "--discount 0.8" in settings.command(task.name)
    with pytest.raises(SimlibError):
        ActorCriticSettings(discount=1.5)
    assert main(["train", "beta-bernoulli", "--discount", "0.9", "--out", str(tmp_path / "d.pt")]) == 2
