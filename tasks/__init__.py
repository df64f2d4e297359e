"""Task distributions: priors, observation and reward models, episodes, the registry."""

from simlib.tasks.beta_bernoulli import BetaBernoulli
from simlib.tasks.registry import from_config, get, names, summary

__all__ = ["BetaBernoulli", "from_config", "get", "names", "summary"]
