"""Task distributions: priors, observation and reward models, episodes, the registry.

Gymnasium, both ways (the ``gym`` extra; imported only when used): ``GymTask`` plays any
Gymnasium environment with discrete actions as an interactive task (:mod:`simlib.tasks.gym_task`);
``TaskEnv`` and ``TaskVectorEnv`` are simlib's interactive tasks as Gymnasium environments, and
importing :mod:`simlib.tasks.gym_env` registers them as ``simlib/TASK``.
"""

from simlib.tasks.bandits import BanditTask, BernoulliBandit, GaussianBandit
from simlib.tasks.beta_bernoulli import BetaBernoulli
from simlib.tasks.dependent_bandits import DependentBandit
from simlib.tasks.dirichlet_categorical import DirichletCategorical
from simlib.tasks.gamma_exponential import GammaExponential
from simlib.tasks.gaussian import GammaNormal, NormalGamma, NormalNormal
from simlib.tasks.informative_arm import InformativeArmBandit
from simlib.tasks.restless import RestlessBandit
from simlib.tasks.harlow import HarlowTask
from simlib.tasks.maze import OneShotMaze
from simlib.tasks.mdp import MDPTask
from simlib.tasks.two_step import TwoStepTask
from simlib.tasks.registry import current_config, from_config, get, label, names, register, summary

__all__ = [
    "BanditTask",
    "BernoulliBandit",
    "GaussianBandit",
    "BetaBernoulli",
    "DependentBandit",
    "InformativeArmBandit",
    "RestlessBandit",
    "HarlowTask",
    "MDPTask",
    "OneShotMaze",
    "TwoStepTask",
    "DirichletCategorical",
    "GammaExponential",
    "GammaNormal",
    "NormalGamma",
    "NormalNormal",
    "current_config",
    "from_config",
    "get",
    "names",
    "label",
    "register",
    "summary",
    "GymTask",
    "TaskEnv",
    "TaskVectorEnv",
    "register_envs",
]

_GYMNASIUM = {"GymTask": "gym_task", "TaskEnv": "gym_env", "TaskVectorEnv": "gym_env", "register_envs": "gym_env"}


def __getattr__(name: str):
    """The Gymnasium adapters, imported on first use so that ``import simlib.tasks`` needs no gymnasium."""
    if name in _GYMNASIUM:
        from importlib import import_module

        return getattr(import_module(f"simlib.tasks.{_GYMNASIUM[name]}"), name)
    raise AttributeError(f"module 'simlib.tasks' has no attribute {name!r}")
