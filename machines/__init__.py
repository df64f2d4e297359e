"""Built-in machines: Bayes-optimal agents, analytic toy machines, adapters, machine specs."""

from simlib.machines.beta_bernoulli import (
    CountPredictor,
    ForgetfulPredictor,
    HistoryPredictor,
    logodds_predictor,
    posterior_predictor,
)
from simlib.machines.registry import kinds, load, specs
from simlib.machines.reparametrise import Reparametrised, random_orthogonal, rotate

__all__ = [
    "CountPredictor",
    "ForgetfulPredictor",
    "HistoryPredictor",
    "Reparametrised",
    "kinds",
    "load",
    "logodds_predictor",
    "posterior_predictor",
    "random_orthogonal",
    "rotate",
    "specs",
]
