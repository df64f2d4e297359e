"""The Bayes-optimal coin-flip predictor and its analytic variants (the teaching machines).

All of them implement the same Beta(a, b) posterior predictive, or a deliberately broken one:

* :class:`CountPredictor` -- state (heads, flips): the minimal sufficient statistic;
* :func:`posterior_predictor`, :func:`logodds_predictor` -- the same agent in other coordinates;
* :class:`HistoryPredictor` -- keeps every observation in its own slot: a lossless, non-minimal
  sufficient statistic, like an RNN that has not learned exchangeability;
* :class:`ForgetfulPredictor` -- remembers only the last observation.

Inputs are ``[obs, seen]`` with ``seen = 0`` for the start token. Outputs are ``[p]``, the
probability that the next flip is 1. Everything runs in float64 and accepts any state, so the
machines can be driven from states an embedding phi produces.
"""

from __future__ import annotations

import torch
from torch import Tensor

from simlib.families import Bernoulli
from simlib.machines.conjugate import ConjugatePredictor
from simlib.machines.reparametrise import Reparametrised


class _CoinMachine:
    """Shared members: the prior, the output family, input handling."""

    input_dim = 2
    output = Bernoulli()

    def __init__(self, a: float = 1.0, b: float = 1.0) -> None:
        self.a, self.b = float(a), float(b)

    def _predict(self, heads: Tensor, flips: Tensor) -> Tensor:
        """Posterior predictive ``[B, 1]`` from (possibly fractional) counts."""
        p = (self.a + heads) / (self.a + self.b + flips)
        return p.clamp(1e-9, 1.0 - 1e-9)[:, None]

    @staticmethod
    def _split(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x, s = x.to(torch.float64), s.to(torch.float64)
        return x[:, 0] * x[:, 1], x[:, 1], s


class CountPredictor(_CoinMachine, ConjugatePredictor):
    """``opt:beta-bernoulli``: state ``[heads, flips]``."""

    state_names = ("heads", "flips")

    def __init__(self, a: float = 1.0, b: float = 1.0) -> None:
        _CoinMachine.__init__(self, a, b)
        ConjugatePredictor.__init__(self, 1)

    def statistics(self, observation: Tensor) -> Tensor:
        return torch.cat([observation, torch.ones_like(observation)], dim=1)

    def predictive(self, s: Tensor) -> Tensor:
        return self._predict(s[:, 0], s[:, 1])


class HistoryPredictor(_CoinMachine):
    """``history:beta-bernoulli``: state ``[flips, slot_0, ..., slot_{capacity-1}]``.

    Slot i holds flip i as +1 (heads) or -1 (tails), 0 while unseen. Writing uses a hat
    function of ``flips`` so the machine is defined (and continuous) on fractional states; on
    real histories it writes exactly one slot. The readout recovers the counts linearly:
    ``heads = (sum(slots) + flips) / 2``. Flips beyond ``capacity`` are counted but not stored.
    """

    def __init__(self, a: float = 1.0, b: float = 1.0, capacity: int = 20) -> None:
        super().__init__(a, b)
        self.capacity = int(capacity)
        self.state_dim = self.capacity + 1
        self.state_names = ("flips",) + tuple(f"slot{i}" for i in range(self.capacity))

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, self.state_dim, dtype=torch.float64)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        obs, seen, s = self._split(x, s)
        flips, slots = s[:, 0], s[:, 1:]
        positions = torch.arange(self.capacity, dtype=torch.float64, device=s.device)
        weight = (1.0 - (positions[None, :] - flips[:, None]).abs()).clamp_min(0.0)
        value = (2.0 * obs - 1.0) * seen
        slots_next = slots + weight * value[:, None]
        flips_next = flips + seen
        heads = 0.5 * (slots_next.sum(1) + flips_next)
        return self._predict(heads, flips_next), torch.cat([flips_next[:, None], slots_next], dim=1)


class ForgetfulPredictor(_CoinMachine):
    """``forgetful:beta-bernoulli``: state ``[last, any]``, the last flip and whether there was one.

    Predicts as if the last flip were the only one ever seen.
    """

    state_dim = 2
    state_names = ("last", "any")

    def initial_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, 2, dtype=torch.float64)

    def step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        obs, seen, s = self._split(x, s)
        last = seen * obs + (1.0 - seen) * s[:, 0]
        anything = seen + (1.0 - seen) * s[:, 1]
        return self._predict(last * anything, anything), torch.stack([last, anything], dim=1)


def posterior_predictor(a: float = 1.0, b: float = 1.0) -> Reparametrised:
    """``posterior:beta-bernoulli``: state ``[alpha, beta]``, the posterior Beta parameters."""
    prior = torch.tensor([a, b], dtype=torch.float64)

    def from_counts(s: Tensor) -> Tensor:
        heads, flips = s[:, 0], s[:, 1]
        return torch.stack([heads, flips - heads], dim=1) + prior.to(s.device)

    def to_counts(s: Tensor) -> Tensor:
        counts = s.to(torch.float64) - prior.to(s.device)
        return torch.stack([counts[:, 0], counts.sum(1)], dim=1)

    return Reparametrised(CountPredictor(a, b), to_counts, from_counts, ("alpha", "beta"))


def logodds_predictor(a: float = 1.0, b: float = 1.0) -> Reparametrised:
    """``logodds:beta-bernoulli``: state ``[log(alpha / beta), flips]``, a nonlinear recoding."""

    def from_counts(s: Tensor) -> Tensor:
        heads, flips = s[:, 0], s[:, 1]
        return torch.stack([torch.log(a + heads) - torch.log(b + flips - heads), flips], dim=1)

    def to_counts(s: Tensor) -> Tensor:
        s = s.to(torch.float64)
        flips = s[:, 1]
        heads = (a + b + flips) * torch.sigmoid(s[:, 0]) - a
        return torch.stack([heads, flips], dim=1)

    return Reparametrised(CountPredictor(a, b), to_counts, from_counts, ("log_odds", "flips"))
