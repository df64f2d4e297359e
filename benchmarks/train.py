"""Training cost: wall time, CPU time and episodes until each task's LSTM reaches its KL bar.

Retrains every prediction task (or ``--tasks ...``) from scratch on this machine with the settings
recorded in its shipped checkpoint -- the exact ``simlib train`` command -- into a temporary
folder, and reads off the first snapshot whose behavioural KL (eq. 2, 500 evaluation
episodes) is at or below the shipped agents' bar (``PREDICTION_KL_BAR``, 0.001 nats).

    python benchmarks/train.py [--tasks beta-bernoulli ...] [--device auto]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from simlib import tasks
from simlib.machines import read_checkpoint
from simlib.machines.zoo import PREDICTION_KL_BAR, zoo_path
from simlib.training import TrainSettings, train_predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=[n for n in tasks.names() if not tasks.get(n).closed_loop])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, device {args.device}, CPU threads 1")
    print(f"{'task':<26}{'bar':>7}{'reached at step':>17}{'episodes':>11}{'wall s':>8}{'CPU s':>8}"
          f"{'final KL':>10}{'total wall s':>14}")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.tasks:
            settings = TrainSettings(**read_checkpoint(zoo_path(name))["training"]["settings"])
            payload = train_predictor(
                tasks.get(name), settings, Path(folder) / f"{name}.pt", device=args.device, progress=False
            )
            history = payload["training"]["history"]
            hits = [i for i, kl in enumerate(history["kl"]) if kl <= PREDICTION_KL_BAR]
            if hits:
                i = hits[0]
                reached = (f"{history['step'][i]:>17}{history['step'][i] * settings.batch:>11,}"
                           f"{history['wall_seconds'][i]:>8.0f}{history['cpu_seconds'][i]:>8.0f}")
            else:
                reached = f"{'not reached':>17}{'':>11}{'':>8}{'':>8}"
            print(f"{name:<26}{PREDICTION_KL_BAR:>7.3g}{reached}{history['kl'][-1]:>10.2e}"
                  f"{payload['training']['wall_seconds']:>14.0f}", flush=True)


if __name__ == "__main__":
    main()
