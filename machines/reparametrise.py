"""The same machine in other state coordinates.

``Reparametrised(base, to_base, from_base)`` runs ``base`` underneath and stores its state as
``from_base(s)``; outputs are unchanged, so behaviour is identical and each simulates the
other exactly. Used for the posterior-parameter and log-odds coin machines and for
orthogonal copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from simlib.machine import StateMachine

StateMap = Callable[[Tensor], Tensor]


class Reparametrised:
    """``base`` with its state stored through an invertible map (``to_base`` undoes ``from_base``)."""

    def __init__(
        self,
        base: StateMachine,
        to_base: StateMap,
        from_base: StateMap,
        state_names: Sequence[str] | None = None,
    ) -> None:
        self.base = base
        self.to_base, self.from_base = to_base, from_base
        self.input_dim = base.input_dim
        self.state_dim = base.state_dim
        self.output = base.output
        if state_names is not None:
            self.state_names = tuple(state_names)

    def initial_state(self, batch: int) -> Tensor:
        return self.from_base(self.base.initial_state(batch))

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        y, s_next = self.base.step(x, self.to_base(s))
        return y, self.from_base(s_next)


def rotate(machine: StateMachine, matrix: Tensor) -> Reparametrised:
    """A copy whose state is ``matrix @ s`` for an orthogonal ``matrix [state_dim, state_dim]``.

    Reflections (determinant -1) are allowed: a sign flip is still the same machine.
    """
    q = torch.as_tensor(matrix, dtype=torch.float64)
    eye = torch.eye(q.shape[0], dtype=torch.float64)
    if q.shape != (machine.state_dim, machine.state_dim) or not torch.allclose(q @ q.T, eye, atol=1e-9):
        raise ValueError(f"rotate needs an orthogonal {machine.state_dim}x{machine.state_dim} matrix")
    return Reparametrised(
        machine,
        to_base=lambda s: s.to(torch.float64) @ q,
        from_base=lambda s: s.to(torch.float64) @ q.T,
    )


def random_orthogonal(dim: int, seed: int, reflect: bool = True) -> Tensor:
    """A seeded random orthogonal matrix; with ``reflect`` its determinant is -1."""
    generator = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))[None, :]
    if reflect == bool(torch.linalg.det(q) > 0):
        q[:, 0] = -q[:, 0]
    return q
