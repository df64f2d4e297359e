"""Thread-count control for the small-matrix torch work of fitting embeddings.

Fitting phi multiplies matrices of a few hundred to a few thousand rows by 64 columns. On the
2-core reference machine ``benchmarks/threads.py`` measured intra-op threading as neutral for
~400 rows and up to twice as fast from ~3 000 rows, so fits use torch's default (every core)
unless a caller asks for fewer -- e.g. one thread each when running several fits in parallel
processes. Fits run under :func:`torch_threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``n`` intra-op torch threads (unchanged when ``n`` is None), then restore."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
