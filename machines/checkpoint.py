"""Checkpoints: plain dicts of tensors and data, readable with ``torch.load(weights_only=True)``.

Layout (format ``simlib-checkpoint`` version 2, see :mod:`simlib.formats`)::

    format, version        "simlib-checkpoint", 2
    written_by             {"simlib": ..., "torch": ..., "numpy": ...} (version 2 on)
    architecture           {"kind": "lstm", "input_dim": int, "hidden": int, "output": family config,
                            "layers": int (stacked LSTMs; absent: 1),
                            "skip_inputs": true (upper layers also read the input; absent: false)}
    task                   the task's config (name and every parameter)
    state_dict             the current (final) weights
    snapshots              [{"step": int, "state_dict": {...}}, ...]; step 0 = the initial weights
                           (when absent, rebuilt from the recorded seed)
    training               settings, command, timings, finished flag, history of loss and KL
    resume                 optimiser and generator state (only while a run is unfinished)

No pickled code, ever: a file that is not such a dict gets a clear :class:`SimlibError`.
Version 1 files (the first shipped agents) are migrated on read by :func:`migrate`; a file from
a newer simlib is refused with a line saying so.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch

from simlib import formats
from simlib.errors import SimlibError
from simlib.families import family_from_config
from simlib.io import atomic_path
from simlib.parsing import natural_number
from simlib.machines.adapter import RecurrentMachine
from simlib.machines.lstm import lstm_agent
from simlib import tasks as task_registry

FORMAT = "simlib-checkpoint"
VERSION = formats.CURRENT["checkpoint"]
_REQUIRED = ("architecture", "task", "state_dict", "snapshots", "training")
MAX_WIDTH = 1 << 16
"""Largest input or hidden width a checkpoint may record."""
MAX_LAYERS = 8
"""Most stacked LSTM layers a checkpoint may record."""
MAX_INFLATED = 4 << 30
"""Largest uncompressed size of a checkpoint (bytes); a width-256 run with 20 snapshots is 50 MB."""


def save_checkpoint(payload: dict, path: str | os.PathLike) -> Path:
    """Write a checkpoint atomically (temporary file, then rename)."""
    with atomic_path(path) as temporary:
        stamped = {**payload, "format": FORMAT, "version": VERSION, "written_by": formats.written_by()}
        torch.save(stamped, temporary)
    return Path(path)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load and validate a checkpoint on the CPU; any unreadable or foreign file is a SimlibError."""
    path = Path(path)
    if not path.is_file():
        raise SimlibError(f"no checkpoint file {path}")
    _refuse_inflation(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt, truncated or pickled files
        raise SimlibError(f"{path} is not a readable simlib checkpoint ({_why(error)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SimlibError(f"{path} is not a simlib checkpoint")
    payload = migrate(payload, formats.require_readable("checkpoint", payload.get("version"), str(path)))
    missing = [key for key in _REQUIRED if key not in payload]
    if missing:
        raise SimlibError(f"{path} is an incomplete simlib checkpoint (missing {', '.join(missing)})")
    problem = schema_problem(payload)
    if problem:
        raise SimlibError(f"{path} is not a valid simlib checkpoint: {problem}")
    return payload


def migrate(payload: dict, version: int) -> dict:
    """A checkpoint of format ``version`` brought to the current layout (a new dict), the one
    place where old files are read differently: version 1 recorded no ``written_by``."""
    payload = dict(payload)
    if version < 2:
        payload["written_by"] = {"simlib": "before 0.1.0 (unrecorded)", "torch": "unrecorded", "numpy": "unrecorded"}
    payload["version"] = VERSION
    return payload


def schema_problem(payload: dict) -> str | None:
    """What is wrong with a checkpoint's content (None: nothing): every field simlib reads, with
    its type and range, and the task record against the network it describes."""
    architecture = payload["architecture"]
    if not isinstance(architecture, dict) or architecture.get("kind") != "lstm":
        return "architecture must be a dict with kind 'lstm'"
    for key in ("input_dim", "hidden"):
        value = architecture.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WIDTH:
            return f"architecture.{key} must be a whole number from 1 to {MAX_WIDTH}, got {value!r}"
    layers = architecture.get("layers", 1)
    if isinstance(layers, bool) or not isinstance(layers, int) or not 1 <= layers <= MAX_LAYERS:
        return f"architecture.layers must be a whole number from 1 to {MAX_LAYERS}, got {layers!r}"
    skip = architecture.get("skip_inputs", False)
    if not isinstance(skip, bool) or (skip and layers < 2):
        return f"architecture.skip_inputs must be true or false, and true only with layers of at least 2, got {skip!r}"
    if not isinstance(architecture.get("output"), dict):
        return "architecture.output must be an output family's config"
    snapshots = payload["snapshots"]
    if not isinstance(snapshots, list) or not all(isinstance(snap, dict) for snap in snapshots):
        return "snapshots must be a list of dicts"
    if any(not isinstance(snap.get("step"), int) or snap["step"] < 0 for snap in snapshots):
        return "every snapshot needs a whole-number step >= 0"
    for name, weights in (("state_dict", payload["state_dict"]),
                          *((f"snapshot {i}", snap.get("state_dict")) for i, snap in enumerate(snapshots))):
        if not isinstance(weights, dict) or not all(isinstance(t, torch.Tensor) for t in weights.values()):
            return f"{name} must map parameter names to tensors"
        recurrent = weights.get("core.cells.0.weight_hh" if skip else "core.weight_hh_l0")
        if recurrent is None or tuple(recurrent.shape) != (4 * architecture["hidden"], architecture["hidden"]):
            return f"{name}'s recurrent weights do not have the recorded width {architecture['hidden']}"
    training = payload["training"]
    expected = {"step": int, "finished": bool, "command": str, "history": dict}
    if not isinstance(training, dict):
        return "training must be a dict"
    for key, kind in expected.items():
        if key in training and not isinstance(training[key], kind):
            return f"training.{key} must be {kind.__name__}, got {type(training[key]).__name__}"
    if not isinstance(training.get("settings", {}), (dict, type(None))):
        return "training.settings must be a dict"
    return _task_problem(payload["task"], architecture)


def _task_problem(record, architecture: dict) -> str | None:
    if not isinstance(record, dict) or not isinstance(record.get("name"), str):
        return "task must be a task's config with its name"
    try:
        task = task_registry.from_config(record)
        output = family_from_config(architecture["output"])
    except SimlibError as error:
        return str(error)
    if task.input_dim != architecture["input_dim"] or task.output.config() != output.config():
        return f"the task record ({task.name}) does not match the network (inputs or output family differ)"
    return None


def _refuse_inflation(path: Path) -> None:
    """A torch file is a zip archive: refuse one whose entries would inflate past
    :data:`MAX_INFLATED` before anything is read from it."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # torch.load reports a corrupt file
    if total > MAX_INFLATED:
        raise SimlibError(f"{path} would inflate to {total / 2**30:.1f} GiB; simlib reads checkpoints up to "
                          f"{MAX_INFLATED / 2**30:.0f} GiB")


def keep_final_snapshot(payload: dict) -> dict:
    """A copy of a finished run's checkpoint holding only its final snapshot.

    The initial weights need no storage: ``@init`` rebuilds them from the recorded seed. The
    shipped bandit agents (width 256, 2.4 MB of weights) are stored this way; ``simlib train``
    rebuilds the intermediate snapshots.
    """
    if not payload["training"]["finished"]:
        raise SimlibError("only a finished run's snapshots can be pruned")
    final = payload["training"]["step"]
    command = payload["training"]["command"]
    training = {**payload["training"], "command": command if command.endswith(" --final-only") else f"{command} --final-only"}
    return {**payload, "training": training, "snapshots": [snap for snap in payload["snapshots"] if snap["step"] == final]}


def _why(error: Exception) -> str:
    """A short reason for a failed ``torch.load``."""
    message = str(error)
    if "zip" in message or "central directory" in message or isinstance(error, EOFError):
        return "truncated or corrupt file"
    if "Weights only load failed" in message or "pickle" in type(error).__name__.lower():
        return "not a torch file, or one holding pickled objects, which simlib never loads"
    return type(error).__name__


def build_machine(architecture: dict, seed: int = 0) -> RecurrentMachine:
    """An untrained machine of the recorded architecture, initialised from ``seed``."""
    if architecture.get("kind") != "lstm":
        raise SimlibError(f"unknown architecture {architecture.get('kind')!r} in checkpoint")
    output = family_from_config(architecture["output"])
    return lstm_agent(architecture["input_dim"], output, architecture["hidden"], seed, architecture.get("layers", 1),
                      architecture.get("skip_inputs", False))


def machine_from_checkpoint(payload: dict, stage: str = "final", source: str = "checkpoint") -> RecurrentMachine:
    """The machine at ``stage``: ``"final"``, ``"init"`` or a snapshot step (as a string).

    The machine carries ``task`` (rebuilt from the checkpoint) and is in evaluation mode.
    """
    machine = build_machine(payload["architecture"])
    if stage == "final":
        weights = payload["state_dict"]
    else:
        step = 0 if stage == "init" else _step(stage, source)
        matches = [snap["state_dict"] for snap in payload["snapshots"] if snap["step"] == step]
        if not matches and step == 0:
            matches = [build_machine(payload["architecture"], seed_of(payload)).state_dict()]
        if not matches:
            steps = ", ".join(str(snap["step"]) for snap in payload["snapshots"])
            raise SimlibError(f"{source} has no snapshot at step {step}; it has steps {steps}")
        weights = matches[0]
    try:
        machine.load_state_dict(weights)
    except (RuntimeError, KeyError) as error:
        raise SimlibError(f"{source}: weights do not fit the recorded architecture ({str(error)[:120]})") from None
    machine.eval()
    machine.task = task_registry.from_config(payload["task"])
    return machine


def snapshot_machines(payload: dict, source: str = "checkpoint") -> dict[int, RecurrentMachine]:
    """Every training stage of a run: step -> machine, sorted by step.

    The stored snapshots, step 0 rebuilt from the recorded seed when it was not stored, and the
    current weights at the run's last step (``training.step``); each as :func:`machine_from_checkpoint`.
    """
    steps = {0, *(int(snap["step"]) for snap in payload["snapshots"])}
    final = int(payload["training"].get("step", max(steps)))
    machines = {step: machine_from_checkpoint(payload, str(step), source) for step in sorted(steps - {final})}
    machines[final] = machine_from_checkpoint(payload, "final", source)
    return dict(sorted(machines.items()))


def seed_of(payload: dict) -> int:
    """The seed the run's initial weights were drawn from."""
    return int((payload["training"].get("settings") or {}).get("seed", 0))


def _step(stage: str, source: str) -> int:
    step = natural_number(stage)
    if step is None:
        raise SimlibError(f"bad stage {stage!r} for {source}: use init, final or a snapshot step")
    return step
