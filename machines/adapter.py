"""Any torch recurrent module as a StateMachine -- the public way to analyse your own agent.

``RecurrentMachine(core, output, encoder=..., readout=...)`` wraps

* ``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` (any number of layers, unidirectional, no projections),
* ``nn.LSTMCell``, ``nn.GRUCell``, ``nn.RNNCell``,
* or any module with ``step(x, state) -> (out, state_next)`` over flat states and a
  ``state_dim`` attribute (and optionally ``initial_state(batch)``),

with an optional ``encoder`` applied to each input and a ``readout`` mapping the core's output
to unconstrained parameters, which the output family turns into valid ones (``from_raw``).
The flat state is ``concat(h, c)`` for LSTMs (layer by layer: all h, then all c), ``h`` for the
others; the initial state is zeros unless the core defines ``initial_state``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from simlib.errors import SimlibError
from simlib.families import OutputFamily

_CELLS = (nn.LSTMCell, nn.GRUCell, nn.RNNCell)


class RecurrentMachine(nn.Module):
    """A StateMachine over a torch recurrent core (see the module docstring).

    Args:
        core: the recurrent module.
        output: the output family the readout parametrises.
        encoder: applied to each input ``[B, input_dim]`` before the core (default: none).
        readout: maps the core's output ``[B, hidden]`` to raw parameters ``[B, n_params]``
            (default: none, the core's output is used as is).
        input_dim: width of the inputs; inferred from the core when there is no encoder.
    """

    def __init__(
        self,
        core: nn.Module,
        output: OutputFamily,
        encoder: nn.Module | None = None,
        readout: nn.Module | None = None,
        input_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.core = core
        self.output = output
        self.encoder = encoder if encoder is not None else nn.Identity()
        self.readout = readout if readout is not None else nn.Identity()
        self.state_dim = _state_dim(core)
        if input_dim is None:
            if encoder is not None or not hasattr(core, "input_size"):
                raise SimlibError("RecurrentMachine needs input_dim when it cannot read it off the core")
            input_dim = core.input_size
        self.input_dim = int(input_dim)

    @property
    def _reference(self) -> Tensor:
        return next(self.parameters())

    def initial_state(self, batch: int) -> Tensor:
        if hasattr(self.core, "initial_state"):
            return self.core.initial_state(batch)
        reference = self._reference
        return torch.zeros(batch, self.state_dim, dtype=reference.dtype, device=reference.device)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """One step from flat states: ``x [B, input_dim]``, ``s [B, state_dim]``."""
        out, s_next = self.core_step(x, s)
        return self.head(out), s_next

    def core_step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """Encoder and core only: ``(core output [B, hidden], s_next [B, state_dim])``."""
        reference = self._reference
        x = x.to(dtype=reference.dtype, device=reference.device)
        s = s.to(dtype=reference.dtype, device=reference.device)
        return _core_step(self.core, self.encoder(x), s)

    def head(self, out: Tensor) -> Tensor:
        """Readout of core outputs ``[..., hidden]`` to family parameters ``[..., n_params]``."""
        return self._params(self.readout(out))

    def forward(self, inputs: Tensor) -> Tensor:
        """Output parameters for whole sequences from the initial state: ``[B, T, input_dim]`` -> ``[B, T, n_params]``.

        Uses the core's fused sequence kernel when it has one (``nn.LSTM`` and friends).
        """
        reference = self._reference
        inputs = inputs.to(dtype=reference.dtype, device=reference.device)
        if isinstance(self.core, nn.RNNBase):
            encoded = self.encoder(inputs)
            sequence = encoded if self.core.batch_first else encoded.transpose(0, 1)
            hidden, _ = self.core(sequence)
            hidden = hidden if self.core.batch_first else hidden.transpose(0, 1)
            return self.head(hidden)
        s = self.initial_state(inputs.shape[0])
        outputs = []
        for t in range(inputs.shape[1]):
            y, s = self.step(inputs[:, t], s)
            outputs.append(y)
        return torch.stack(outputs, 1)

    def _params(self, raw: Tensor) -> Tensor:
        """Family parameters from raw readouts ``[..., n_params]``."""
        flat = raw.reshape(-1, raw.shape[-1])
        return self.output.from_raw(flat).reshape(raw.shape)


def _state_dim(core: nn.Module) -> int:
    if isinstance(core, nn.RNNBase):
        if core.bidirectional or getattr(core, "proj_size", 0):
            raise SimlibError("RecurrentMachine supports unidirectional recurrent layers without projections")
        copies = 2 if isinstance(core, nn.LSTM) else 1
        return copies * core.num_layers * core.hidden_size
    if isinstance(core, _CELLS):
        return (2 if isinstance(core, nn.LSTMCell) else 1) * core.hidden_size
    if hasattr(core, "step") and hasattr(core, "state_dim"):
        return int(core.state_dim)
    raise SimlibError(
        f"cannot wrap {type(core).__name__}: use nn.LSTM/GRU/RNN, their cells, or a module with step() and state_dim"
    )


def _core_step(core: nn.Module, e: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    """Advance the core one step from a flat state: ``(output [B, hidden], flat next state)``."""
    batch = e.shape[0]
    if isinstance(core, nn.RNNBase):
        layers, size = core.num_layers, core.hidden_size
        sequence = e[:, None] if core.batch_first else e[None]
        if isinstance(core, nn.LSTM):
            h, c = s.reshape(batch, 2, layers, size).permute(1, 2, 0, 3).contiguous()
            out, (h, c) = core(sequence, (h, c))
            flat = torch.stack([h, c]).permute(2, 0, 1, 3).reshape(batch, -1)
        else:
            h = s.reshape(batch, layers, size).transpose(0, 1).contiguous()
            out, h = core(sequence, h)
            flat = h.transpose(0, 1).reshape(batch, -1)
        return out.reshape(batch, size), flat
    if isinstance(core, nn.LSTMCell):
        h, c = core(e, (s[:, : core.hidden_size], s[:, core.hidden_size :]))
        return h, torch.cat([h, c], 1)
    if isinstance(core, _CELLS):
        h = core(e, s)
        return h, h
    return core.step(e, s)
