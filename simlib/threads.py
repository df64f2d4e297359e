"""Thread-count control for the small-matrix torch work of fitting embeddings.

Fitting phi multiplies matrices of a few hundred to a few thousand rows by 64 columns. The
order of a multi-threaded reduction depends on the thread count, and L-BFGS carries such
float32 differences into the fitted phi, so D_s and D_o moved in the second or third digit
between one and two threads. Fits therefore run on :data:`FIT_THREADS` threads unless a caller
asks otherwise: a result does not depend on the machine's core count, and on the 2-core
reference machine one thread was also the cheaper (``simlib compare rnn:beta-bernoulli
opt:beta-bernoulli``: 5.7 s wall, 6.2 s CPU against 8.9 s, 11.0 s on two). Fits run under
:func:`torch_threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


FIT_THREADS = 1
"""Torch threads while fitting phi, unless a caller asks for others."""


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
