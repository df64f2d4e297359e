"""Device selection: ``auto`` uses a GPU when one is present, the CPU otherwise."""

from __future__ import annotations

import torch

from simlib.errors import SimlibError


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` -> a usable ``torch.device``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SimlibError(f"unknown device {name!r}; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SimlibError(f"device {name!r} asked for, but no CUDA GPU is available")
    if device.type not in ("cpu", "cuda"):
        raise SimlibError(f"unsupported device {name!r}; use auto, cpu or cuda[:N]")
    return device
