"""cnnlab: classic and modern convolutional networks, built, inspected, trained fast.

Public API::

    from cnnlab import get_model, list_models, summary, load_dataset, train, TrainConfig
    model = get_model("resnet18_d2l", num_classes=10, in_channels=1)
    print(summary(model, (1, 96, 96)))
    result = train(TrainConfig(model="lenet_modern", preset="fast", epochs=3))
"""

__version__ = "0.1.0"

from cnnlab.data import load_dataset  # noqa: E402
from cnnlab.inspect import summary  # noqa: E402
from cnnlab.models import get_model, list_models  # noqa: E402
from cnnlab.train import TrainConfig, train  # noqa: E402

__all__ = ["TrainConfig", "get_model", "list_models", "load_dataset", "summary", "train",
           "__version__"]
