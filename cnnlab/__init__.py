"""cnnlab: classic and modern convolutional networks, built, inspected, trained fast.

In a notebook::

    from cnnlab import get_model, list_models, summary, load_dataset, TrainConfig
    from cnnlab.train import train, resolve_config
    model = get_model("resnet18_d2l", num_classes=10, in_channels=1)
    summary(model, (1, 96, 96))    # a cell's last value: shown as a table
    result = train(resolve_config("lenet_modern", preset="fast", overrides={"epochs": 3}))
    result.curves()                # shown as a figure

Where the rest is (each reached after ``import cnnlab`` alone, as ``cnnlab.ops.conv2d``):

- ``cnnlab.train``: train, resume, resolve_config, read_result, load_run, evaluate_run,
  predict_image, predict_images, compare_runs
- ``cnnlab.data``: load_dataset, DatasetSplits, ImageData
- ``cnnlab.models``: get_model, list_models, model_info
- ``cnnlab.inspect``: summary, count_macs
- ``cnnlab.ops``: corr2d, conv2d, fft_conv2d, pool2d, batch_norm, conv_output_size
- ``cnnlab.design``: sample, parse_band, create_sweep, run_sweep, analyze
- ``cnnlab.export``: export_run (ONNX, checked with onnxruntime)

Shared by all of them, beside the subpackages (``cnnlab.cli`` is the command,
``cnnlab.bench`` the benchmarks behind ``cnnlab bench`` and ``cnnlab speedrun``):

- files: ``atomic`` (writes a crash cannot leave half done), ``file_lock`` (what must not
  run twice at once), ``code_version`` (which code wrote a result);
- the user: ``notices`` (warnings for people), ``progress`` (bars), ``interrupts``
  (Ctrl-C through code that catches it; ``whole_imports``: torch's compiler imported
  whole, a Ctrl-C held back to its end), ``formatting`` (numbers and tables as people
  read them; ``latex_tables``: those tables as LaTeX), ``figures`` and ``shown_figure``
  (figures for files, reports, notebooks);
- ``export``, ``export_files`` and ``onnx_run`` (ONNX out, and read back by predict);
- ``extras`` (optional dependencies), ``lazy_exports`` (names imported on first use),
  ``command_line`` (the program's entry point), ``dataset_names`` (a dataset's name as
  cnnlab spells it, read without loading torch), ``shell_words`` (paths as typed in a shell).

``train`` stays in ``cnnlab.train``: re-exported here it would shadow the subpackage of
the same name (``import cnnlab.train.run`` would then fail).
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING  # noqa: E402

from cnnlab.lazy_exports import lazy_exports  # noqa: E402

if TYPE_CHECKING:
    # What the lazy exports below are, for type checkers and IDEs, which cannot follow
    # __getattr__ (every name was Any to them); never run, so torch still loads on first
    # use. The `x as x` form marks a re-export (mypy --strict refuses a plain import).
    # tests/test_api_types.py keeps these in step with _EXPORTS and _MODULES.
    from cnnlab import bench as bench
    from cnnlab import data as data
    from cnnlab import design as design
    from cnnlab import export as export
    from cnnlab import inspect as inspect
    from cnnlab import models as models
    from cnnlab import ops as ops
    from cnnlab import train as train
    from cnnlab.data import load_dataset as load_dataset
    from cnnlab.inspect import summary as summary
    from cnnlab.models import get_model as get_model
    from cnnlab.models import list_models as list_models
    from cnnlab.train import TrainConfig as TrainConfig
del TYPE_CHECKING  # not a name of the package's: dir(cnnlab), tab completion, list it

_EXPORTS = {"TrainConfig": "cnnlab.train", "get_model": "cnnlab.models",
            "list_models": "cnnlab.models", "load_dataset": "cnnlab.data",
            "summary": "cnnlab.inspect"}
# The subpackages (and ONNX export) a notebook reaches after `import cnnlab` alone.
_MODULES = ("bench", "data", "design", "export", "inspect", "models", "ops", "train")
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, _MODULES)
# The function's name hid the module of the same name: `import cnnlab.lazy_exports as m`
# gave the function, and dir(cnnlab) offered it as if it were the package's. Without it
# __getattr__ finds the module, as it finds every other.
del lazy_exports
# Written out, not computed from _EXPORTS: mypy reads a literal list only, and took
# `from cnnlab import *` to bring __version__ alone (tests/test_api_types.py checks it).
__all__ = ["TrainConfig", "get_model", "list_models", "load_dataset", "summary",
           "__version__"]
