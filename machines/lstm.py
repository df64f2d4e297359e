"""The paper's LSTM meta-learner: encoder, one LSTM layer, decoder, linear readout."""

from __future__ import annotations

import torch
from torch import nn

from simlib.families import OutputFamily
from simlib.machines.adapter import RecurrentMachine


def lstm_agent(input_dim: int, output: OutputFamily, hidden: int = 32, seed: int = 0, layers: int = 1) -> RecurrentMachine:
    """Width-``hidden`` LSTM agent (paper §3.1): ``Linear+ReLU -> LSTM -> Linear+ReLU -> Linear``.

    The readout produces raw parameters of ``output``; the state is ``concat(h, c)`` of every
    layer (``2 * layers * hidden`` numbers). ``layers = 2`` stacks a second LSTM on the first
    (Wang et al.'s two-LSTM agent for Harlow's task). Weights are initialised from ``seed``
    without touching the global RNG.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return RecurrentMachine(
            core=nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True),
            output=output,
            encoder=nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU()),
            readout=nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, output.n_params)),
            input_dim=input_dim,
        )
