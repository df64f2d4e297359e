"""Task distributions: priors, observation and reward models, episodes, the registry."""

from simlib.tasks.bandits import BanditTask, BernoulliBandit, GaussianBandit
from simlib.tasks.beta_bernoulli import BetaBernoulli
from simlib.tasks.dependent_bandits import DependentBandit
from simlib.tasks.dirichlet_categorical import DirichletCategorical
from simlib.tasks.gamma_exponential import GammaExponential
from simlib.tasks.gaussian import GammaNormal, NormalGamma, NormalNormal
from simlib.tasks.informative_arm import InformativeArmBandit
from simlib.tasks.restless import RestlessBandit
from simlib.tasks.registry import from_config, get, label, names, register, summary

__all__ = [
    "BanditTask",
    "BernoulliBandit",
    "GaussianBandit",
    "BetaBernoulli",
    "DependentBandit",
    "InformativeArmBandit",
    "RestlessBandit",
    "DirichletCategorical",
    "GammaExponential",
    "GammaNormal",
    "NormalGamma",
    "NormalNormal",
    "from_config",
    "get",
    "names",
    "label",
    "register",
    "summary",
]
