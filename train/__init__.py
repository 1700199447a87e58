"""Training (installed as ``eqpot.train``): configs, data preparation, losses, optimiser,
EMA, checkpoints, the training loop, evaluation and the quickstart.

    from eqpot.train import load_config, fit
    result = fit(load_config("train/configs/quickstart.yaml", ["max_num_epochs=5"]))
"""

from eqpot.train.checkpoint import load_potential
from eqpot.train.config import ConfigError, TrainConfig, load_config
from eqpot.train.evaluate import evaluate, evaluate_run
from eqpot.train.interrupt import TrainingInterruptedError
from eqpot.train.losses import weighted_loss
from eqpot.train.trainer import Result, TrainingDivergedError, fit

__all__ = [
    "ConfigError",
    "Result",
    "TrainConfig",
    "TrainingDivergedError",
    "TrainingInterruptedError",
    "evaluate",
    "evaluate_run",
    "fit",
    "load_config",
    "load_potential",
    "weighted_loss",
]
