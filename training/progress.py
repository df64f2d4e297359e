"""A dependency-free progress line for long loops (stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws ``label  step/total [####....] key value ...  elapsed`` in place on a terminal;
    on a pipe or file, prints a plain line at most every ``every_seconds``."""

    def __init__(self, label: str, total: int, enabled: bool = True, stream: TextIO | None = None,
                 every_seconds: float = 0.5) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.every_seconds = every_seconds if self.stream.isatty() else 10.0
        self.start = time.perf_counter()
        self.last = -float("inf")

    def update(self, step: int, force: bool = False, **metrics: float) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last < self.every_seconds):
            return
        self.last = now
        filled = int(20 * step / max(1, self.total))
        values = "  ".join(f"{key} {value:.4g}" for key, value in metrics.items())
        line = f"{self.label}  {step}/{self.total} [{'#' * filled}{'.' * (20 - filled)}] {values}  {now - self.start:.0f}s"
        if self.stream.isatty():
            self.stream.write(f"\r{line}\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()
