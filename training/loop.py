"""The resumable training loop shared by every meta-training objective.

An :class:`Objective` says how to compute one batch's loss and how to evaluate the agent; the
loop owns the rest: Adam with a warm-up/cosine schedule, snapshots, atomic checkpoints holding
the optimiser, generator and auxiliary-module state, exact resume, progress and timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor, nn

from simlib.device import resolve_device
from simlib.errors import SimlibError
from simlib.machines import read_checkpoint, save_checkpoint
from simlib.machines.adapter import RecurrentMachine
from simlib.random import make_generator
from simlib.task import Task
from simlib.tasks import current_config
from simlib.threads import torch_threads
from simlib.training.progress import Progress
from simlib.training.schedule import warmup_cosine


class Settings(Protocol):
    """What the loop reads from a run's settings (a frozen dataclass)."""

    steps: int
    batch: int
    lr: float
    seed: int
    hidden: int
    snapshot_every: int

    def command(self, task_name: str) -> str: ...

    @classmethod
    def from_record(cls, recorded: dict) -> "Settings": ...


class Objective(Protocol):
    """A training objective for ``agent``, with auxiliary modules (e.g. a critic; may be empty).

    ``max_gradient_norm`` clips the gradient norm of the agent and of the auxiliary modules,
    each on its own, before every step (None: no clipping), so a large critic gradient never
    shrinks the agent's.
    """

    agent: RecurrentMachine
    auxiliary: nn.Module
    metrics: tuple[str, ...]
    max_gradient_norm: float | None

    def loss(self, step: int, generator: torch.Generator) -> Tensor:
        """The scalar loss of one fresh batch at optimiser step ``step`` (from 1)."""
        ...

    def evaluate(self) -> dict[str, float]:
        """Figures recorded at every snapshot (keys: ``metrics``)."""
        ...


def cpu_state(module: nn.Module) -> dict:
    """A detached CPU copy of ``module``'s state dict."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def architecture_of(task: Task, hidden: int, layers: int = 1, skip_inputs: bool = False) -> dict:
    """The checkpoint's architecture record of the LSTM agent of width ``hidden`` for ``task``
    (``layers`` and ``skip_inputs`` are recorded only when the LSTM is stacked and its upper
    layers read the input, so one-layer records keep their form)."""
    record = {"kind": "lstm", "input_dim": task.input_dim, "hidden": hidden, "output": task.output.config()}
    if layers > 1:
        record["layers"] = layers
    return {**record, "skip_inputs": True} if skip_inputs else record


def run_training(
    task: Task,
    settings: Settings,
    out: str | Path,
    objective_for: Callable[[torch.device], Objective],
    *,
    device: str = "auto",
    threads: int | None = None,
    progress: bool = True,
    callback: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train (or resume, or return a finished) run of the LSTM agent and return its checkpoint.

    Args:
        out: checkpoint path, written atomically at every snapshot; an existing run there must
            have the same task, architecture and settings (it is resumed, or returned if finished).
        objective_for: builds the objective (with freshly initialised modules) on a device.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        threads: torch threads on the CPU (None: torch's default).
        progress: show a progress line on stderr.
        callback: called as ``callback(step, metrics)`` after every snapshot.
    """
    torch_device = resolve_device(device)
    architecture = architecture_of(task, settings.hidden, settings.layers, settings.skip_inputs)
    identity = {"task": task.config(), "architecture": architecture, "settings": asdict(settings)}
    objective = objective_for(torch_device)
    payload = _resume_or_start(Path(out), identity, torch_device, objective, settings, task.name)
    if payload["training"]["finished"]:
        return payload
    with torch_threads(threads if torch_device.type == "cpu" else None):
        return _loop(task, settings, Path(out), payload, objective, torch_device, progress, callback)


def _resume_or_start(
    out: Path, identity: dict, device: torch.device, objective: Objective, settings: Settings, task_name: str
) -> dict:
    if out.exists():
        payload = read_checkpoint(out)
        settings_then = payload["training"].get("settings")
        recorded = {
            "task": current_config(payload["task"]),
            "architecture": payload["architecture"],
            "settings": None if settings_then is None else asdict(type(settings).from_record(settings_then)),
        }
        if recorded != identity:
            raise SimlibError(f"{out} holds a different run (task or settings differ); choose another --out")
        if not payload["training"]["finished"] and payload["training"]["device_type"] != device.type:
            raise SimlibError(f"{out} was started on {payload['training']['device_type']}; resume it there")
        return payload
    initial = cpu_state(objective.agent)
    history = {key: [] for key in ("step", "loss", *objective.metrics, "wall_seconds", "cpu_seconds")}
    return {
        "architecture": identity["architecture"],
        "task": identity["task"],
        "state_dict": initial,
        "snapshots": [{"step": 0, "state_dict": initial}],
        "training": {
            "settings": identity["settings"],
            "command": settings.command(task_name),
            "device_type": device.type,
            "step": 0,
            "finished": False,
            "episodes_seen": 0,
            "wall_seconds": 0.0,
            "cpu_seconds": 0.0,
            "history": history,
        },
        "resume": {
            "optimizer": None,
            "generator": make_generator(settings.seed, device).get_state(),
            "auxiliary": cpu_state(objective.auxiliary),
        },
    }


def _loop(
    task: Task,
    settings: Settings,
    out: Path,
    payload: dict,
    objective: Objective,
    device: torch.device,
    show: bool,
    callback: Callable[[int, dict], None] | None,
) -> dict:
    info, resume = payload["training"], payload["resume"]
    objective.agent.load_state_dict(payload["state_dict"])
    objective.auxiliary.load_state_dict(resume["auxiliary"])
    parameters = [*objective.agent.parameters(), *objective.auxiliary.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=settings.lr)
    if resume["optimizer"] is not None:
        optimizer.load_state_dict(resume["optimizer"])
    generator = torch.Generator(device=device)
    generator.set_state(resume["generator"])
    progress = Progress(f"train {task.name}", settings.steps, enabled=show, measured=objective.metrics)
    if info["step"] == 0 and not info["history"]["step"]:
        _record(info, 0, float("nan"), objective.evaluate())
    progress.measure(info["history"]["step"][-1], **_latest(info, objective.metrics))  # shown as kl@STEP
    losses: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()
    for step in range(info["step"] + 1, settings.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * warmup_cosine(step, settings.steps)
        loss = objective.loss(step, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if objective.max_gradient_norm is not None:
            for module in (objective.agent, objective.auxiliary):
                torch.nn.utils.clip_grad_norm_(list(module.parameters()), objective.max_gradient_norm)
        optimizer.step()
        losses.append(loss.item())
        progress.update(step, loss=losses[-1])
        if step % settings.snapshot_every and step != settings.steps:
            continue
        info["wall_seconds"] += time.perf_counter() - wall
        info["cpu_seconds"] += time.process_time() - cpu
        figures = objective.evaluate()
        _record(info, step, sum(losses) / len(losses), figures)
        wall, cpu = time.perf_counter(), time.process_time()
        losses = []
        state = cpu_state(objective.agent)
        payload["state_dict"] = state
        payload["snapshots"].append({"step": step, "state_dict": state})
        info["step"] = step
        info["episodes_seen"] = step * settings.batch
        info["finished"] = step == settings.steps
        if info["finished"]:
            payload.pop("resume", None)
        else:
            payload["resume"] = {
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "auxiliary": cpu_state(objective.auxiliary),
            }
        save_checkpoint(payload, out)
        progress.measure(step, **figures)
        progress.update(step, force=True, loss=info["history"]["loss"][-1])
        if callback is not None:
            callback(step, {"loss": info["history"]["loss"][-1], **figures})
    progress.close()
    return payload


def _latest(info: dict, metrics: tuple[str, ...]) -> dict[str, float]:
    return {key: info["history"][key][-1] for key in metrics}


def _record(info: dict, step: int, loss: float, figures: dict[str, float]) -> None:
    """Append a snapshot's figures; times are training time so far (evaluations excluded)."""
    history = info["history"]
    history["step"].append(step)
    history["loss"].append(loss)
    for key, value in figures.items():
        history[key].append(value)
    history["wall_seconds"].append(info["wall_seconds"])
    history["cpu_seconds"].append(info["cpu_seconds"])
