"""cnnlab: classic and modern convolutional networks, built, inspected, trained fast.

Public API::

    from cnnlab import get_model, list_models
    model = get_model("resnet18_d2l", num_classes=10, in_channels=1)
"""

from cnnlab.models import get_model, list_models

__version__ = "0.1.0"

__all__ = ["get_model", "list_models", "__version__"]
