"""The recurrent-module adapter: every supported core is a StateMachine whose stepwise run
matches its fused sequence run, and whose state can be set arbitrarily."""

import pytest
import torch
from torch import nn

from simlib import SimlibError, StateMachine, unroll
from simlib.families import Categorical, Normal
from simlib.machines import RecurrentMachine, lstm_agent


class Leaky(nn.Module):
    """A custom core: ``s' = 0.5 s + W x``; output = state."""

    state_dim = 3

    def __init__(self):
        super().__init__()
        self.w = nn.Linear(2, 3, bias=False)

    def step(self, x, s):
        s = 0.5 * s + self.w(x)
        return s, s


CORES = {
    "lstm": lambda: nn.LSTM(2, 4, batch_first=True),
    "lstm-2-layers-time-major": lambda: nn.LSTM(2, 4, num_layers=2),
    "gru": lambda: nn.GRU(2, 4, batch_first=True),
    "gru-2-layers": lambda: nn.GRU(2, 4, num_layers=2, batch_first=True),
    "rnn": lambda: nn.RNN(2, 4),
    "lstm-cell": lambda: nn.LSTMCell(2, 4),
    "gru-cell": lambda: nn.GRUCell(2, 4),
    "rnn-cell": lambda: nn.RNNCell(2, 4),
}
STATE_DIMS = {"lstm": 8, "lstm-2-layers-time-major": 16, "gru": 4, "gru-2-layers": 8, "rnn": 4,
              "lstm-cell": 8, "gru-cell": 4, "rnn-cell": 4}


@pytest.mark.parametrize("name", CORES)
def test_stepwise_run_equals_the_sequence_run(name):
    torch.manual_seed(0)
    machine = RecurrentMachine(CORES[name](), Normal(), readout=nn.Linear(4, 2))
    assert isinstance(machine, StateMachine)
    assert machine.state_dim == STATE_DIMS[name] and machine.input_dim == 2
    inputs = torch.randn(6, 9, 2)
    stepwise, states = unroll(machine, inputs)
    with torch.no_grad():
        fused = machine(inputs)
    torch.testing.assert_close(stepwise, fused.double(), rtol=1e-5, atol=1e-6)
    assert (stepwise[..., 1] > 0).all()  # the family's from_raw made scales positive
    resumed, _ = unroll(machine, inputs[:, 4:], s0=states[:, 4])
    torch.testing.assert_close(resumed, stepwise[:, 4:], rtol=1e-5, atol=1e-6)


def test_lstm_state_is_concat_h_c():
    torch.manual_seed(0)
    core = nn.LSTM(2, 3, batch_first=True)
    machine = RecurrentMachine(core, Normal(), readout=nn.Linear(3, 2))
    x = torch.randn(4, 5, 2)
    _, (h, c) = core(x)
    _, states = unroll(machine, torch.cat([x, torch.zeros(4, 1, 2)], 1))
    torch.testing.assert_close(states[:, -1].float(), torch.cat([h[0], c[0]], 1))


def test_custom_step_module_and_encoder():
    machine = RecurrentMachine(Leaky(), Categorical(3), input_dim=2)
    assert machine.state_dim == 3
    y, s = machine.step(torch.ones(2, 2), machine.initial_state(2))
    torch.testing.assert_close(y.sum(1), torch.ones(2))
    encoded = RecurrentMachine(
        nn.GRU(5, 4, batch_first=True), Normal(), encoder=nn.Linear(3, 5), readout=nn.Linear(4, 2), input_dim=3
    )
    assert encoded.input_dim == 3
    stepwise, _ = unroll(encoded, torch.randn(2, 4, 3))
    assert stepwise.shape == (2, 4, 2)


@pytest.mark.parametrize(
    "build",
    [
        lambda: RecurrentMachine(nn.LSTM(2, 4, bidirectional=True), Normal()),
        lambda: RecurrentMachine(nn.Linear(2, 2), Normal()),
        lambda: RecurrentMachine(nn.GRU(2, 4), Normal(), encoder=nn.Linear(3, 2)),
    ],
)
def test_unsupported_cores_are_user_errors(build):
    with pytest.raises(SimlibError):
        build()


def test_lstm_agent_is_the_papers_architecture():
    agent = lstm_agent(4, Categorical(3), hidden=32, seed=1)
    assert agent.state_dim == 64 and agent.input_dim == 4
    assert isinstance(agent.core, nn.LSTM) and agent.core.hidden_size == 32
    again = lstm_agent(4, Categorical(3), hidden=32, seed=1)
    for a, b in zip(agent.parameters(), again.parameters()):
        assert torch.equal(a, b)
