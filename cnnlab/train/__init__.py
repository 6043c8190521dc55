"""Training, and everything done with a run's folder afterwards.

- settings: ``config`` (TrainConfig; what each field's annotation accepts:
  ``config_kinds``; its YAML: ``yaml_file``), ``presets``;
- the loop: ``trainer``, with ``optim`` and ``lr_plan`` (the optimiser, the learning
  rate's plan), ``device``, ``distributed``, ``model_setup`` and ``run_data`` (the model
  and the data as a run feeds them), ``epoch_record`` (an epoch's sums and metrics row),
  ``evaluated_weights`` (which weights are scored; the TrainResult), ``divergence``
  (when a run has diverged), ``resumable`` and ``checkpoint``;
- the run folder: ``run`` (train, resume, load_run; ``run_files``, ``run_names``,
  ``resume_checks``, ``loaded_run``), ``runlog``, ``tensorboard_log`` and
  ``train_progress`` (metrics.csv, TensorBoard, the terminal; ``log_appends``: a log's
  lines kept while another program holds it; ``class_metrics_file``: an epoch's line of
  class_metrics.jsonl read back), ``run_outputs`` (summary.json, written by
  ``summary_json``, plots, report.html:
  ``report``, ``report_figures``, ``report_evaluation``, ``report_examples``),
  ``outcome``, ``machine``;
- a finished run used: ``evaluate`` (``cnnlab eval``), ``predict``, ``compare``
  (``cnnlab compare``: ``compare_files`` read, ``compared_run`` per run,
  ``compare_tables`` and ``compare_figure`` show them).
"""

from typing import TYPE_CHECKING

from cnnlab.lazy_exports import lazy_exports

if TYPE_CHECKING:
    # The exports below as type checkers and IDEs see them (they cannot follow
    # __getattr__); never run. tests/test_api_types.py keeps this in step with _EXPORTS.
    from cnnlab.train.compare import compare_runs as compare_runs
    from cnnlab.train.config import ConfigError as ConfigError
    from cnnlab.train.config import TrainConfig as TrainConfig
    from cnnlab.train.evaluate import evaluate_run as evaluate_run
    from cnnlab.train.outcome import TrainingDiverged as TrainingDiverged
    from cnnlab.train.outcome import TrainingInterrupted as TrainingInterrupted
    from cnnlab.train.outcome import TrainResult as TrainResult
    from cnnlab.train.predict import predict_image as predict_image
    from cnnlab.train.predict import predict_images as predict_images
    from cnnlab.train.presets import resolve_config as resolve_config
    from cnnlab.train.run import LoadedRun as LoadedRun
    from cnnlab.train.run import load_run as load_run
    from cnnlab.train.run import read_result as read_result
    from cnnlab.train.run import resume as resume
    from cnnlab.train.run import train as train
    from cnnlab.train.trainer import Trainer as Trainer
del TYPE_CHECKING  # not an export: dir(cnnlab.train), tab completion, list it

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
del lazy_exports  # not this package's to offer (dir(cnnlab.train) listed it)
# Written out, as in cnnlab/__init__.py: mypy reads a literal list only.
__all__ = ["ConfigError", "LoadedRun", "TrainConfig", "TrainResult", "Trainer",
           "TrainingDiverged", "TrainingInterrupted", "compare_runs", "evaluate_run",
           "load_run", "predict_image", "predict_images", "read_result", "resolve_config",
           "resume", "train"]
