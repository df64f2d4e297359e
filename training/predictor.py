"""Meta-training a predictor: Adam on the log-loss of its predictions, fresh episodes every batch.

``train_predictor(task, settings, out)`` trains the paper's LSTM agent and writes a checkpoint
(:mod:`simlib.machines.checkpoint`) at every snapshot interval, with the optimiser and
generator state, so an interrupted run resumes from its last snapshot and ends exactly where
an uninterrupted one would (on the same device type).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from simlib.device import resolve_device
from simlib.errors import SimlibError
from simlib.machine import unroll
from simlib.machines import load, lstm_agent, read_checkpoint, save_checkpoint
from simlib.random import make_generator
from simlib.task import Task
from simlib.threads import torch_threads
from simlib.training.progress import Progress
from simlib.training.schedule import warmup_cosine

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

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "hidden", "snapshot_every", "eval_episodes"):
            if getattr(self, name) < 1:
                raise SimlibError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise SimlibError(f"lr must be positive, got {self.lr}")

    def command(self, task_name: str) -> str:
        """The ``simlib train`` command line that reproduces this run."""
        return (
            f"simlib train {task_name} --steps {self.steps} --batch {self.batch} --lr {self.lr} "
            f"--seed {self.seed} --hidden {self.hidden} --snapshot-every {self.snapshot_every}"
        )


class _Evaluator:
    """Behavioural KL (eq. 2) to the Bayes-optimal predictor on a fixed batch of episodes."""

    def __init__(self, task: Task, episodes: int, seed: int, device: torch.device) -> None:
        generator = make_generator(seed + EVAL_SEED_OFFSET)
        observations = task.sample_observations(task.sample_theta(episodes, generator), task.horizon, generator)
        self.inputs = task.encode(observations)
        self.reference, _ = unroll(load(f"opt:{task.name}", task), self.inputs)
        self.family = task.output
        self.device = device

    @torch.no_grad()
    def kl(self, machine: torch.nn.Module) -> float:
        params = machine(self.inputs.to(self.device)).to("cpu", torch.float64)
        size = self.reference.shape[-1]
        per_step = self.family.kl(self.reference.reshape(-1, size), params.reshape(-1, size))
        per_step = per_step.reshape(self.inputs.shape[:2])
        return float(per_step.sum(1).mean())


def _cpu_state(machine: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in machine.state_dict().items()}


def train_predictor(
    task: Task,
    settings: TrainSettings,
    out: str | Path,
    *,
    device: str = "auto",
    threads: int | None = 1,
    progress: bool = True,
    callback: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train (or resume, or return a finished) run of the LSTM agent on ``task``; returns the checkpoint.

    Args:
        out: checkpoint path, written atomically at every snapshot; an unfinished run there with
            the same task and settings is resumed, a finished one is returned as it is.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        threads: torch threads on the CPU (one measured most CPU-efficient for width 32).
        callback: called as ``callback(step, metrics)`` after every snapshot.
    """
    if task.closed_loop:
        raise SimlibError(f"task {task.name!r} is a bandit task; train_predictor trains predictors")
    torch_device = resolve_device(device)
    out = Path(out)
    architecture = {"kind": "lstm", "input_dim": task.input_dim, "hidden": settings.hidden, "output": task.output.config()}
    identity = {"task": task.config(), "architecture": architecture, "settings": asdict(settings)}
    payload = _resume_or_start(out, identity, torch_device, task, settings)
    if payload["training"]["finished"]:
        return payload
    with torch_threads(threads if torch_device.type == "cpu" else None):
        return _run(task, settings, out, payload, torch_device, progress, callback)


def _resume_or_start(out: Path, identity: dict, device: torch.device, task: Task, settings: TrainSettings) -> dict:
    if out.exists():
        payload = read_checkpoint(out)
        recorded = {
            "task": payload["task"],
            "architecture": payload["architecture"],
            "settings": payload["training"].get("settings"),
        }
        if recorded != identity:
            raise SimlibError(f"{out} holds a different run (task or settings differ); choose another --out")
        if not payload["training"]["finished"] and payload["training"]["device_type"] != device.type:
            raise SimlibError(f"{out} was started on {payload['training']['device_type']}; resume it there")
        return payload
    machine = lstm_agent(task.input_dim, task.output, hidden=settings.hidden, seed=settings.seed)
    initial = _cpu_state(machine)
    generator = make_generator(settings.seed, device)
    return {
        "architecture": identity["architecture"],
        "task": identity["task"],
        "state_dict": initial,
        "snapshots": [{"step": 0, "state_dict": initial}],
        "training": {
            "settings": identity["settings"],
            "command": settings.command(task.name),
            "device_type": device.type,
            "step": 0,
            "finished": False,
            "episodes_seen": 0,
            "wall_seconds": 0.0,
            "cpu_seconds": 0.0,
            "history": {"step": [], "loss": [], "kl": [], "wall_seconds": [], "cpu_seconds": []},
        },
        "resume": {"optimizer": None, "generator": generator.get_state()},
    }


def _run(
    task: Task,
    settings: TrainSettings,
    out: Path,
    payload: dict,
    device: torch.device,
    show: bool,
    callback: Callable[[int, dict], None] | None,
) -> dict:
    info = payload["training"]
    machine = lstm_agent(task.input_dim, task.output, hidden=settings.hidden).to(device)
    machine.load_state_dict(payload["state_dict"])
    optimizer = torch.optim.Adam(machine.parameters(), lr=settings.lr)
    if payload["resume"]["optimizer"] is not None:
        optimizer.load_state_dict(payload["resume"]["optimizer"])
    generator = torch.Generator(device=device)
    generator.set_state(payload["resume"]["generator"])
    evaluator = _Evaluator(task, settings.eval_episodes, settings.seed, device)
    family, progress = task.output, Progress(f"train {task.name}", settings.steps, enabled=show)
    losses: list[float] = []
    if info["step"] == 0 and not info["history"]["step"]:
        _record(info, 0, float("nan"), evaluator.kl(machine))
    wall, cpu = time.perf_counter(), time.process_time()
    for step in range(info["step"] + 1, settings.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * warmup_cosine(step, settings.steps)
        theta = task.sample_theta(settings.batch, generator)
        observations = task.sample_observations(theta, task.horizon, generator)
        params = machine(task.encode(observations))
        flat = params.reshape(-1, params.shape[-1])
        loss = -family.log_prob(flat, observations.reshape(-1).to(flat.dtype)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        progress.update(step, loss=losses[-1], KL=info["history"]["kl"][-1])
        if step % settings.snapshot_every and step != settings.steps:
            continue
        info["wall_seconds"] += time.perf_counter() - wall
        info["cpu_seconds"] += time.process_time() - cpu
        kl = evaluator.kl(machine)
        _record(info, step, sum(losses) / len(losses), kl)
        wall, cpu = time.perf_counter(), time.process_time()
        losses = []
        state = _cpu_state(machine)
        payload["state_dict"] = state
        payload["snapshots"].append({"step": step, "state_dict": state})
        info["step"] = step
        info["episodes_seen"] = step * settings.batch
        info["finished"] = step == settings.steps
        if info["finished"]:
            payload.pop("resume", None)
        else:
            payload["resume"] = {"optimizer": optimizer.state_dict(), "generator": generator.get_state()}
        save_checkpoint(payload, out)
        progress.update(step, force=True, loss=info["history"]["loss"][-1], KL=kl)
        if callback is not None:
            callback(step, {"loss": info["history"]["loss"][-1], "kl": kl})
    progress.close()
    return payload


def _record(info: dict, step: int, loss: float, kl: float) -> None:
    """Append a snapshot's figures; times are training time so far (evaluations excluded)."""
    history = info["history"]
    for key, value in (("step", step), ("loss", loss), ("kl", kl)):
        history[key].append(value)
    history["wall_seconds"].append(info["wall_seconds"])
    history["cpu_seconds"].append(info["cpu_seconds"])
