"""Every network cnnlab registers: the chapter's, in the book's form and the standard
form, and cnnlab's own (``lenet_modern``, ``speednet``, the pre-activation and
small-input ResNets, ``notes_net``, ``anynetx`` for design sweeps).

Importing this package imports each family module, and each module registers its
builders with :func:`register_model`. In a notebook::

    from cnnlab.models import get_model, list_models, model_info
    list_models("resnet*", variant="book")      # ['resnet18_d2l']
    model = get_model("resnet18", num_classes=10, in_channels=1)   # torchvision's form
    model(torch.rand(8, 1, 64, 64)).shape       # a float (N, C, H, W) batch -> (8, 10)
    model_info("lenet_d2l").input_size          # (1, 28, 28)

- the families: ``lenet``, ``alexnet``, ``vgg``, ``nin``, ``googlenet``, ``resnet_d2l``
  (the book's ResNet and ResNeXt), ``resnet`` (torchvision's, and small-input forms),
  ``preact_resnet``, ``densenet``, ``anynet`` and ``regnet``, ``speednet``, ``notes_net``;
- the registry: ``_registry`` (names, builders, metadata), ``_errors`` (its errors for
  a name, filter or option it does not know), ``_names`` (the reading order), ``_base``
  (the interface every model shares, and ``ModelInputError`` for an input a model cannot
  take: uint8 pixels, channels last, no batch dim); a user's own networks:
  ``own_models``;
- weights: ``interop`` (torchvision's weights in and out, checked state_dict loading),
  ``pretrained`` and ``transfer`` (pretrained backbones, fine-tuning);
- first convolutions a run may swap in: ``whitened_stem``, ``padded_stem``.
"""

from cnnlab.models import (  # noqa: F401  (imported to register their models)
    alexnet,
    anynet,
    densenet,
    googlenet,
    lenet,
    nin,
    notes_net,
    preact_resnet,
    regnet,
    resnet,
    resnet_d2l,
    speednet,
    vgg,
)
from cnnlab.models._base import ModelInputError, Network
from cnnlab.models._registry import (
    VARIANTS,
    BookRecipe,
    ModelFilterError,
    ModelInfo,
    UnknownModelError,
    get_model,
    list_models,
    model_info,
    register_model,
)

__all__ = [
    "VARIANTS",
    "BookRecipe",
    "ModelFilterError",
    "ModelInfo",
    "ModelInputError",
    "Network",
    "UnknownModelError",
    "get_model",
    "list_models",
    "model_info",
    "register_model",
]
