"""Meta-training loops (log-loss BPTT; actor-critic), schedules and checkpoint writing."""

from simlib.training.actor_critic import ActorCriticSettings, train_bandit_agent
from simlib.training.predictor import TrainSettings, train_predictor
from simlib.training.schedule import warmup_cosine

__all__ = ["ActorCriticSettings", "TrainSettings", "train_bandit_agent", "train_predictor", "warmup_cosine"]
