"""Training: config and presets, the loop, checkpoints, run directories."""

from cnnlab.train.config import ConfigError, TrainConfig
from cnnlab.train.presets import resolve_config
from cnnlab.train.run import LoadedRun, load_run, resume, train
from cnnlab.train.trainer import Trainer, TrainingDiverged, TrainingInterrupted, TrainResult

__all__ = [
    "ConfigError",
    "LoadedRun",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "load_run",
    "resolve_config",
    "resume",
    "train",
]
