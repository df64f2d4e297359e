"""The StateMachine protocol: a batched, pure Mealy machine (paper eq. 1).

    y_t = f(x_t, s_{t-1}),   s_t = g(x_t, s_{t-1})

``step(x, s)`` returns both at once. States are flat tensors ``[B, state_dim]`` (an LSTM's
state is ``concat(h, c)``), so a machine can be started from any state, which is what
simulation needs: feed machine M the state ``phi(s_N)``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from simlib.errors import SimlibError
from simlib.families import OutputFamily


@runtime_checkable
class StateMachine(Protocol):
    """Any object with these members is a machine; nothing needs to subclass it.

    ``output`` must be a simlib output family (:class:`simlib.families.OutputFamily`:
    ``Bernoulli()``, ``Categorical(k)``, ``Normal()``, ``Policy(k)``, ...): divergences, sampling
    the driver's actions and the figures all go through it, and ``y`` holds its parameters.

    Optional members used when present: ``spec`` (the string it was loaded from),
    ``state_names`` (labels of the ``state_dim`` coordinates).
    """

    input_dim: int
    state_dim: int
    output: OutputFamily

    def initial_state(self, batch: int) -> Tensor:
        """The start state repeated ``batch`` times: ``[batch, state_dim]``."""
        ...

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """``x [B, input_dim]``, ``s [B, state_dim]`` -> ``(y [B, output.n_params], s_next [B, state_dim])``.

        Pure: depends only on its arguments, accepts any floating dtype, never mutates them.
        """
        ...


def check_machine(machine: object, label: str | None = None) -> None:
    """Probe a machine handed to simlib and raise a :class:`SimlibError` naming it and the
    problem: missing members, ``initial_state`` or ``step`` giving something other than float
    tensors of the declared shapes, non-finite values at the start, or two steps from the same
    input and state that disagree (the machine is not pure)."""
    label = label or getattr(machine, "spec", None) or type(machine).__name__
    missing = [name for name in ("input_dim", "state_dim", "output", "initial_state", "step") if not hasattr(machine, name)]
    if missing:
        raise SimlibError(f"machine {label!r} lacks {', '.join(missing)} (see simlib.StateMachine)")
    batch, n_params = 3, machine.output.n_params
    s = _probed(machine.initial_state(batch), (batch, machine.state_dim), label, "initial_state(3)")
    x = torch.zeros(batch, machine.input_dim, dtype=torch.float64)
    with torch.no_grad():
        first = machine.step(x.clone(), s.clone())
        second = machine.step(x.clone(), s.clone())
    for run in (first, second):
        if not (isinstance(run, tuple) and len(run) == 2):
            raise SimlibError(f"machine {label!r}: step must return a pair (output, next state), got {type(run).__name__}")
    y = _probed(first[0], (batch, n_params), label, "step's output")
    s_next = _probed(first[1], (batch, machine.state_dim), label, "step's next state")
    if not (torch.allclose(y, second[0].to(y.dtype), rtol=1e-6, atol=1e-9, equal_nan=True)
            and torch.allclose(s_next, second[1].to(s_next.dtype), rtol=1e-6, atol=1e-9, equal_nan=True)):
        raise SimlibError(f"machine {label!r} is not pure: two steps from the same input and state disagree")


def _probed(value: object, shape: tuple[int, int], label: str, what: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise SimlibError(f"machine {label!r}: {what} must be a torch tensor, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        raise SimlibError(f"machine {label!r}: {what} has shape {tuple(value.shape)}, expected {shape}")
    if not value.is_floating_point():
        raise SimlibError(f"machine {label!r}: {what} must be a floating tensor, got {value.dtype}")
    if not torch.isfinite(value).all():
        raise SimlibError(f"machine {label!r}: {what} holds NaN or inf")
    return value


def describe(machine: StateMachine) -> dict:
    """Plain-data description of a machine (for trace and report attrs)."""
    return {
        "spec": getattr(machine, "spec", type(machine).__name__),
        "class": type(machine).__name__,
        "input_dim": int(machine.input_dim),
        "state_dim": int(machine.state_dim),
        "output": machine.output.config(),
        "state_names": list(state_names(machine)),
    }


def state_names(machine: StateMachine) -> tuple[str, ...]:
    """Labels for the state coordinates: the machine's own, or ``s0, s1, ...``."""
    names = getattr(machine, "state_names", None)
    if names is not None and len(names) == machine.state_dim:
        return tuple(str(n) for n in names)
    return tuple(f"s{i}" for i in range(machine.state_dim))


@torch.no_grad()
def unroll(machine: StateMachine, inputs: Tensor, s0: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Run a machine open-loop over a batch of input sequences.

    Args:
        inputs: ``[B, T, input_dim]``.
        s0: start states ``[B, state_dim]``; the machine's initial state if omitted.

    Returns:
        ``(outputs [B, T, n_params], states [B, T, state_dim])`` where ``states[:, t]`` is the
        state the machine is in when it receives ``inputs[:, t]`` (so ``outputs[:, t] =
        f(inputs[:, t], states[:, t])``), both float64.
    """
    batch, horizon = inputs.shape[0], inputs.shape[1]
    s = machine.initial_state(batch) if s0 is None else s0
    outputs, states = [], []
    for t in range(horizon):
        states.append(s.to(torch.float64))
        y, s = machine.step(inputs[:, t], s)
        outputs.append(y.to(torch.float64))
    return torch.stack(outputs, 1), torch.stack(states, 1)
