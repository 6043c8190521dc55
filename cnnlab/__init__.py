"""cnnlab: classic and modern convolutional networks, built, inspected, trained fast.

Public API::

    from cnnlab import get_model, list_models, summary, load_dataset, TrainConfig
    from cnnlab.train import train
    model = get_model("resnet18_d2l", num_classes=10, in_channels=1)
    print(summary(model, (1, 96, 96)))
    result = train(TrainConfig(model="lenet_modern", epochs=3))

``train`` stays in ``cnnlab.train``: re-exporting it here would shadow the
subpackage of the same name (``import cnnlab.train.run`` would then fail).
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
