"""Meta-training a predictor: Adam on the log-loss of its predictions, fresh episodes every batch.

``train_predictor(task, settings, out)`` trains the paper's LSTM agent and writes a checkpoint
(:mod:`simlib.machines.checkpoint`) at every snapshot interval through the shared resumable
loop (:mod:`simlib.training.loop`), so an interrupted run ends exactly where an uninterrupted
one would (on the same device type).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path

import torch

from simlib.errors import SimlibError
from simlib.machine import unroll
from simlib.machines import bayes_optimal, lstm_agent
from simlib.random import MAX_SEED, make_generator, require_seed
from simlib.task import Task
from simlib.training.loop import run_training

EVAL_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a run (resuming requires the same settings)."""

    steps: int = 4000
    batch: int = 256
    lr: float = 3e-3
    seed: int = 0
    hidden: int = 32
    snapshot_every: int = 200
    eval_episodes: int = 500
    layers: int = 1
    """Stacked LSTM layers of width ``hidden`` (Wang's Harlow agents: 1 or 2)."""
    skip_inputs: bool = False
    """Stacked layers above the first also read the encoded input (Wang's two-LSTM agent)."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "hidden", "snapshot_every", "eval_episodes", "layers"):
            if getattr(self, name) < 1:
                raise SimlibError(f"{name} must be at least 1, got {getattr(self, name)}")
        require_seed(self.seed, MAX_SEED)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SimlibError(f"lr must be a finite positive number, got {self.lr}")
        if self.skip_inputs and self.layers < 2:
            raise SimlibError("skip_inputs needs a stack: give layers of at least 2")

    @classmethod
    def from_record(cls, recorded: dict):
        """The settings a checkpoint recorded; fields added since it was written take their
        defaults, so an old run still matches the settings that would train it today."""
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in recorded.items() if key in names})

    def command(self, task_name: str) -> str:
        """The ``simlib train`` command line that reproduces this run."""
        return (
            f"simlib train {task_name} --steps {self.steps} --batch {self.batch} --lr {self.lr} "
            f"--seed {self.seed} --hidden {self.hidden} --snapshot-every {self.snapshot_every}"
            + (f" --layers {self.layers}" if self.layers != 1 else "")
            + (" --skip-inputs" if self.skip_inputs else "")
        )


class _Evaluator:
    """Held-out quality on a fixed batch of episodes: the behavioural KL (eq. 2) to the
    Bayes-optimal predictor, or the log-loss where the task has none (nats per episode)."""

    def __init__(self, task: Task, episodes: int, seed: int, device: torch.device) -> None:
        generator = make_generator(seed + EVAL_SEED_OFFSET)
        self.observations = task.sample_observations(task.sample_theta(episodes, generator), task.horizon, generator)
        self.inputs = task.encode(self.observations)
        opt = bayes_optimal(task)
        self.reference = None if opt is None else unroll(opt, self.inputs)[0]
        self.metric = "log_loss" if opt is None else "kl"
        self.family = task.output
        self.device = device

    @torch.no_grad()
    def __call__(self, machine: torch.nn.Module) -> float:
        params = machine(self.inputs.to(self.device)).to("cpu", torch.float64)
        size = params.shape[-1]
        if self.reference is None:
            per_step = -self.family.log_prob(params.reshape(-1, size), self.observations.reshape(-1).to(params.dtype))
        else:
            per_step = self.family.kl(self.reference.reshape(-1, size), params.reshape(-1, size))
        return float(per_step.reshape(self.inputs.shape[:2]).sum(1).mean())


class LogLossObjective:
    """Adam on the log-loss of the agent's predictions of fresh episodes (no auxiliary modules).

    Its metric is ``kl`` to the Bayes-optimal predictor, or ``log_loss`` for a task without one.
    """

    max_gradient_norm = None

    def __init__(self, task: Task, settings: TrainSettings, device: torch.device) -> None:
        self.task, self.batch = task, settings.batch
        self.agent = lstm_agent(task.input_dim, task.output, settings.hidden, settings.seed, settings.layers,
                                settings.skip_inputs).to(device)
        self.auxiliary = torch.nn.Module()
        self.evaluator = _Evaluator(task, settings.eval_episodes, settings.seed, device)
        self.metrics = (self.evaluator.metric,)

    def loss(self, step: int, generator: torch.Generator) -> torch.Tensor:
        theta = self.task.sample_theta(self.batch, generator)
        observations = self.task.sample_observations(theta, self.task.horizon, generator)
        params = self.agent(self.task.encode(observations))
        flat = params.reshape(-1, params.shape[-1])
        return -self.task.output.log_prob(flat, observations.reshape(-1).to(flat.dtype)).mean()

    def evaluate(self) -> dict[str, float]:
        return {self.evaluator.metric: self.evaluator(self.agent)}


def train_predictor(task: Task, settings: TrainSettings, out: str | Path, **options) -> dict:
    """Train (or resume, or return a finished) run of the LSTM agent on ``task``; returns the checkpoint.

    ``options`` are :func:`simlib.training.loop.run_training`'s: ``device``, ``threads`` (default
    one, measured most CPU-efficient for width 32), ``progress`` and ``callback``.
    """
    if task.closed_loop:
        raise SimlibError(f"task {task.name!r} is a bandit task; train_predictor trains predictors")
    if options.get("threads") is None:
        options["threads"] = 1
    return run_training(task, settings, out, partial(LogLossObjective, task, settings), **options)
