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

``train`` stays in ``cnnlab.train``: re-exported here it would shadow the subpackage of
the same name (``import cnnlab.train.run`` would then fail).
"""

__version__ = "0.1.0"

from cnnlab.lazy_exports import lazy_exports  # noqa: E402

_EXPORTS = {"TrainConfig": "cnnlab.train", "get_model": "cnnlab.models",
            "list_models": "cnnlab.models", "load_dataset": "cnnlab.data",
            "summary": "cnnlab.inspect"}
# The subpackages (and ONNX export) a notebook reaches after `import cnnlab` alone.
_MODULES = ("bench", "data", "design", "export", "inspect", "models", "ops", "train")
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, _MODULES)
__all__ = [*sorted(_EXPORTS), "__version__"]
