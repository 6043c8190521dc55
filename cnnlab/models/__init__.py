"""Every network cnnlab registers: the chapter's, in the book's form and the standard
form, and cnnlab's own (``lenet_modern``, ``speednet``, the pre-activation and
small-input ResNets, ``notes_net``, ``anynetx`` for design sweeps).

Importing this package imports each family module, and each module registers its
builders with :func:`register_model`.
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
from cnnlab.models._base import Network
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
    "Network",
    "UnknownModelError",
    "get_model",
    "list_models",
    "model_info",
    "register_model",
]
