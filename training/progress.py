"""A dependency-free progress line for long loops (stderr)."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import TextIO

NOT_MEASURED = "—"


class Progress:
    """Redraws ``label  step/total [####....] key value ...  elapsed`` in place on a terminal;
    on a pipe or file, prints a plain line at most every ``every_seconds``.

    Two kinds of figures: those passed to :meth:`update` are current (the loss of this step);
    ``measured`` names figures evaluated only now and then (at snapshots). Those show the last
    value given to :meth:`measure` with the step it was measured at (``kl@200 0.0123``), or
    ``kl —`` until the first measurement, so a stale number never reads as the current one.
    """

    def __init__(self, label: str, total: int, enabled: bool = True, stream: TextIO | None = None,
                 every_seconds: float = 0.5, measured: Iterable[str] = ()) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.every_seconds = every_seconds if self.stream.isatty() else 10.0
        self.start = time.perf_counter()
        self.last = -float("inf")
        self.measurements: dict[str, tuple[int, float] | None] = {key: None for key in measured}

    def measure(self, step: int, **metrics: float) -> None:
        """Record figures measured at ``step``; shown, labelled with it, until measured again."""
        for key, value in metrics.items():
            self.measurements[key] = (step, value)

    def update(self, step: int, force: bool = False, **metrics: float) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < self.every_seconds):
            return
        self.last = now
        line = f"{self.render(step, **metrics)}  {now - self.start:.0f}s"
        if self.stream.isatty():
            self.stream.write(f"\r{line}\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def render(self, step: int, **metrics: float) -> str:
        """The line without the elapsed time: current ``metrics``, then the measured figures."""
        filled = min(20, int(20 * step / max(1, self.total)))
        values = [f"{key} {_number(value)}" for key, value in metrics.items()]
        for key, measured in self.measurements.items():
            if key in metrics:
                continue
            values.append(f"{key} {NOT_MEASURED}" if measured is None else f"{key}@{measured[0]} {_number(measured[1])}")
        return f"{self.label}  {step}/{self.total} [{'#' * filled}{'.' * (20 - filled)}] {'  '.join(values)}"

    def close(self) -> None:
        if self.enabled and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()


def _number(value: float) -> str:
    return NOT_MEASURED if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"
