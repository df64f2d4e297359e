"""Shared fixtures: small tasks and a toy two-armed bandit for the closed-loop path."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import torch
from torch import Tensor

from simlib import tasks
from simlib.task import Transition

_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:  # pytest -n: the workers share the cores, so each (and what it starts) takes its share
    _SHARE = max(1, (os.cpu_count() or 1) // _WORKERS)
    torch.set_num_threads(_SHARE)
    os.environ.setdefault("OMP_NUM_THREADS", str(_SHARE))


@dataclass(frozen=True)
class ToyBandit:
    """Two Bernoulli arms with uniform priors, written against the environment protocol as a user would;
    input = [one-hot previous action, reward, t / T]."""

    horizon: int = 10
    name: str = "toy-bandit"
    closed_loop = True
    n_actions = 2
    input_dim = 4
    theta_names = ("p0", "p1")

    @property
    def output(self):
        from simlib.families import Policy

        return Policy(2)

    def config(self) -> dict:
        return {"name": self.name, "horizon": self.horizon}

    def sample_theta(self, episodes: int, generator: torch.Generator) -> Tensor:
        return torch.rand(episodes, 2, generator=generator, dtype=torch.float64)

    def reset(self, theta: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return theta, torch.zeros(theta.shape[0], 4, dtype=torch.float64)

    def step(self, state: Tensor, action: Tensor, t: int, generator: torch.Generator) -> Transition:
        u = torch.rand(state.shape[0], generator=generator, dtype=torch.float64)
        reward = (u < state.gather(1, action[:, None]).squeeze(1)).to(torch.float64)
        return Transition(state, reward, state, self.encode_step(action, reward, t + 1))

    def decode_input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x[:, :2], x[:, 2]

    def encode_step(self, action: Tensor, reward: Tensor, t: int) -> Tensor:
        onehot = torch.nn.functional.one_hot(action, 2).to(torch.float64)
        time = torch.full_like(reward, t / self.horizon)
        return torch.cat([onehot, reward[:, None], time[:, None]], dim=1)


class SoftGreedy:
    """Softmax over posterior means from per-arm (successes, failures); state [s0, f0, s1, f1]."""

    input_dim = 4
    state_dim = 4

    def __init__(self, temperature: float = 0.1) -> None:
        from simlib.families import Policy

        self.output = Policy(2)
        self.temperature = temperature

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, 4, dtype=torch.float64)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        x, s = x.to(torch.float64), s.to(torch.float64)
        action, reward = x[:, :2], x[:, 2:3]
        update = torch.stack([action * reward, action * (1 - reward)], dim=2).reshape(-1, 4)
        s = s + update
        means = (1 + s[:, 0::2]) / (2 + s[:, 0::2] + s[:, 1::2])
        return torch.softmax(means / self.temperature, dim=1), s


@pytest.fixture
def toy_bandit() -> ToyBandit:
    return ToyBandit()


@pytest.fixture
def soft_greedy() -> SoftGreedy:
    return SoftGreedy()


@pytest.fixture
def coin():
    """The beta-bernoulli task at its default horizon (T = 20)."""
    return tasks.get("beta-bernoulli")


@pytest.fixture
def resumes_exactly():
    """Check that a run interrupted at step 40 and rerun ends with the uninterrupted run's weights.

    Call as ``resumes_exactly(train, path, uninterrupted, metric)`` where ``train(path, callback)``
    runs training to ``path``.
    """

    def check(train, path, uninterrupted: dict, metric: str) -> None:
        def interrupt(step, metrics):
            if step == 40:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            train(path, interrupt)
        partial = torch.load(path, weights_only=True)
        assert partial["training"]["step"] == 40 and not partial["training"]["finished"] and partial["resume"]
        resumed = train(path, None)
        for name, tensor in uninterrupted["state_dict"].items():
            assert torch.equal(resumed["state_dict"][name], tensor), name
        assert resumed["training"]["history"][metric] == uninterrupted["training"]["history"][metric]

    return check


class UniformPolicy:
    """Every action with equal probability whatever it sees; state: the step count."""

    state_dim = 1

    def __init__(self, input_dim: int, actions: int = 2) -> None:
        from simlib.families import Policy

        self.input_dim, self.output = input_dim, Policy(actions)

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, 1, dtype=torch.float64)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        n = self.output.n_params
        return torch.full((x.shape[0], n), 1.0 / n, dtype=torch.float64), s.to(torch.float64) + 1


@pytest.fixture
def uniform_policy():
    """``uniform_policy(input_dim, actions=2)``: a machine that acts uniformly at random."""
    return UniformPolicy
