"""Built-in machines: Bayes-optimal agents, bandit baselines, analytic toy machines, adapters, specs."""

from simlib.machines.adapter import RecurrentMachine
from simlib.machines.bandit_agents import BayesOptimalAgent, GittinsAgent, ThompsonAgent, UCBAgent
from simlib.machines.beta_bernoulli import (
    CountPredictor,
    ForgetfulPredictor,
    HistoryPredictor,
    logodds_predictor,
    posterior_predictor,
)
from simlib.machines.checkpoint import keep_final_snapshot, machine_from_checkpoint, read_checkpoint, save_checkpoint
from simlib.machines.conjugate import (
    ConjugatePredictor,
    DirichletCategoricalPredictor,
    GammaExponentialPredictor,
    GammaNormalPredictor,
    NormalGammaPredictor,
    NormalNormalPredictor,
)
from simlib.machines.gittins_index import gittins_bernoulli, gittins_normal
from simlib.machines.lstm import lstm_agent
from simlib.machines.registry import (
    bayes_optimal,
    kinds,
    load,
    register_builder,
    register_kind,
    require_bayes_optimal,
    specs,
)
from simlib.machines.reparametrise import Reparametrised, random_orthogonal, rotate

__all__ = [
    "BayesOptimalAgent",
    "GittinsAgent",
    "ThompsonAgent",
    "UCBAgent",
    "gittins_bernoulli",
    "gittins_normal",
    "ConjugatePredictor",
    "CountPredictor",
    "DirichletCategoricalPredictor",
    "GammaExponentialPredictor",
    "GammaNormalPredictor",
    "NormalGammaPredictor",
    "NormalNormalPredictor",
    "RecurrentMachine",
    "ForgetfulPredictor",
    "HistoryPredictor",
    "Reparametrised",
    "bayes_optimal",
    "keep_final_snapshot",
    "kinds",
    "register_builder",
    "register_kind",
    "load",
    "lstm_agent",
    "machine_from_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "logodds_predictor",
    "posterior_predictor",
    "random_orthogonal",
    "require_bayes_optimal",
    "rotate",
    "specs",
]
