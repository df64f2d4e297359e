"""Thread-count control for the small-matrix torch work of fitting embeddings.

Fitting phi multiplies matrices of a few hundred to a few thousand rows by 64 columns. The
order of a multi-threaded reduction depends on the thread count, and L-BFGS carries such
float32 differences into the fitted phi, so D_s and D_o moved in the second or third digit
between one and two threads. Fits therefore run on :data:`FIT_THREADS` threads unless a caller
asks otherwise: a result does not depend on the machine's core count, and on the 2-core
reference machine one thread was also the cheaper. Fits run under :func:`torch_threads`, and
whole comparisons under :func:`fit_threads`, which caps numpy's BLAS too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


FIT_THREADS = 1
"""Torch threads while fitting phi, unless a caller asks for others."""


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``n`` intra-op torch threads (unchanged when ``n`` is None), then restore."""
    if n is None:
        yield
        return
    import torch  # here, so that blas_threads' users need not import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def blas_threads(n: int | None = 1) -> Iterator[None]:
    """Run the body with at most ``n`` numpy/scipy BLAS threads (unchanged when None), then restore.

    For the closed-form statistics of a report (baselines, permutation tests): products of a few
    thousand rows by tens to hundreds of columns, where a second BLAS thread on a busy 2-core
    machine made them 10 to 40 times slower (4 s against 0.09 s for 512-wide states).
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    with threadpool_limits(limits=max(1, int(n)), user_api="blas"):
        yield


@contextmanager
def fit_threads(n: int | None) -> Iterator[None]:
    """:func:`torch_threads` and :func:`blas_threads` together: the whole of a comparison's fits
    and scores (torch for phi, numpy's BLAS for whitening and least squares) on ``n`` threads.
    An idle OpenBLAS thread spins, so on the 2-core reference machine a second BLAS thread added
    0.4 s of CPU to a 1 s ``compare`` and saved no wall time."""
    with torch_threads(n), blas_threads(n):
        yield
