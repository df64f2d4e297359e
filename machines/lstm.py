"""The paper's LSTM meta-learner: encoder, one LSTM layer (or a stack), decoder, linear readout."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from simlib.families import OutputFamily
from simlib.machines.adapter import RecurrentMachine


class SkipInputLSTM(nn.Module):
    """``layers`` stacked LSTM cells of width ``hidden`` whose upper layers read the layer below
    *and* the (encoded) input: Wang et al.'s two-LSTM agent, whose second LSTM gets the first's
    output together with the reward and the last action.

    The flat state ``[B, 2 * layers * hidden]`` is laid out as ``nn.LSTM``'s in
    :class:`~simlib.machines.adapter.RecurrentMachine`: every layer's h, then every layer's c.
    """

    def __init__(self, hidden: int, layers: int) -> None:
        super().__init__()
        if layers < 2:
            raise ValueError(f"a skip-input stack needs at least 2 layers, got {layers}")
        self.hidden, self.layers = hidden, layers
        self.cells = nn.ModuleList([nn.LSTMCell(hidden if k == 0 else 2 * hidden, hidden) for k in range(layers)])
        self.state_dim = 2 * layers * hidden

    def step(self, e: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """``e [B, hidden]`` encoded input, ``s [B, state_dim]`` -> ``(top layer's h [B, hidden], s_next)``."""
        size = self.layers * self.hidden
        h = s[:, :size].reshape(-1, self.layers, self.hidden)
        c = s[:, size:].reshape(-1, self.layers, self.hidden)
        below, hs, cs = e, [], []
        for k, cell in enumerate(self.cells):
            h_k, c_k = cell(below if k == 0 else torch.cat([below, e], dim=1), (h[:, k], c[:, k]))
            hs.append(h_k)
            cs.append(c_k)
            below = h_k
        return below, torch.cat([torch.stack(hs, 1).reshape(-1, size), torch.stack(cs, 1).reshape(-1, size)], dim=1)


def lstm_agent(
    input_dim: int, output: OutputFamily, hidden: int = 32, seed: int = 0, layers: int = 1, skip_inputs: bool = False
) -> RecurrentMachine:
    """Width-``hidden`` LSTM agent (paper §3.1): ``Linear+ReLU -> LSTM -> Linear+ReLU -> Linear``.

    The readout produces raw parameters of ``output``; the state is ``concat(h, c)`` of every
    layer (``2 * layers * hidden`` numbers). ``layers = 2`` stacks a second LSTM on the first;
    with ``skip_inputs`` every layer above the first also reads the encoded input
    (:class:`SkipInputLSTM`, Wang et al.'s two-LSTM agent). Weights are initialised from
    ``seed`` without touching the global RNG.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        core = SkipInputLSTM(hidden, layers) if skip_inputs else nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
        return RecurrentMachine(
            core=core,
            output=output,
            encoder=nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU()),
            readout=nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, output.n_params)),
            input_dim=input_dim,
        )
