"""Training: config and presets, the loop, checkpoints, run directories."""

from cnnlab.lazy_exports import lazy_exports

# Imported on first use: the loop and the run folders load torch; the config does not.
_EXPORTS = {
    "compare_runs": "cnnlab.train.compare",
    "ConfigError": "cnnlab.train.config",
    "TrainConfig": "cnnlab.train.config",
    "resolve_config": "cnnlab.train.presets",
    "LoadedRun": "cnnlab.train.run",
    "load_run": "cnnlab.train.run",
    "read_result": "cnnlab.train.run",
    "resume": "cnnlab.train.run",
    "train": "cnnlab.train.run",
    "Trainer": "cnnlab.train.trainer",
    "TrainingDiverged": "cnnlab.train.outcome",
    "TrainingInterrupted": "cnnlab.train.outcome",
    "TrainResult": "cnnlab.train.outcome",
    "evaluate_run": "cnnlab.train.evaluate",
    "predict_image": "cnnlab.train.predict",
    "predict_images": "cnnlab.train.predict",
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
