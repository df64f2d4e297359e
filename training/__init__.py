"""Meta-training loops, schedules and checkpoint writing."""

from simlib.training.predictor import TrainSettings, train_predictor
from simlib.training.schedule import warmup_cosine

__all__ = ["TrainSettings", "train_predictor", "warmup_cosine"]
