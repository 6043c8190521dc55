"""Training, and everything done with a run's folder afterwards.

- settings: ``config`` (TrainConfig, its YAML: ``yaml_file``), ``presets``;
- the loop: ``trainer``, with ``optim``, ``device``, ``distributed``, ``model_setup`` and
  ``run_data`` (the model and the data as a run feeds them), ``resumable`` and
  ``checkpoint``;
- the run folder: ``run`` (train, resume, load_run; ``run_files``, ``loaded_run``),
  ``runlog`` and ``train_progress`` (metrics.csv, TensorBoard, the terminal),
  ``run_outputs`` (summary.json, plots, report.html: ``report*``), ``outcome``, ``machine``;
- a finished run used: ``evaluate`` (``cnnlab eval``), ``predict``, ``compare*``
  (``cnnlab compare``).
"""

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
