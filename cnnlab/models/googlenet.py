"""GoogLeNet (Inception v1): the book's form and torchvision's.

Read top-down: the Inception channel table both forms share; the book's Inception
block and network (``googlenet_d2l``: biased convs with ReLU, no BN, 1x96x96 input);
torchvision's blocks and network (``googlenet``: conv-BN-ReLU everywhere, optional
auxiliary classifiers, module names equal to torchvision's so its state_dict loads
unchanged); the registered builders.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.models._base import Network, PooledFcNet, adaptive_pool, linear_head, xavier_init
from cnnlab.models._registry import BookRecipe, register_model

LayerFn = Callable[..., nn.Module]

# Szegedy et al. 2015, Table 1, per Inception block: input channels, #1x1,
# (#3x3 reduce, #3x3), (#5x5 reduce, #5x5), pool proj. The book and torchvision use
# these same numbers; outputs are 256, 480 | 512, 512, 512, 528, 832 | 832, 1024.
INCEPTION_CHANNELS = {
    "3a": (192, 64, (96, 128), (16, 32), 32),
    "3b": (256, 128, (128, 192), (32, 96), 64),
    "4a": (480, 192, (96, 208), (16, 48), 64),
    "4b": (512, 160, (112, 224), (24, 64), 64),
    "4c": (512, 128, (128, 256), (24, 64), 64),
    "4d": (512, 112, (144, 288), (32, 64), 64),
    "4e": (528, 256, (160, 320), (32, 128), 128),
    "5a": (832, 256, (160, 320), (32, 128), 128),
    "5b": (832, 384, (192, 384), (48, 128), 128),
}
NUM_FEATURES = 1024  # channels out of inception 5b


# ---------------------------------------------------------------------------
# The book's form (d2l 8.4).


class Inception(nn.Module):
    """The book's Inception block: four parallel paths, concatenated on channels.

    p1: 1x1 conv; p2: 1x1 then 3x3; p3: 1x1 then 5x5; p4: 3x3 max-pool then 1x1.
    Every conv is biased and followed by ReLU; padding keeps the spatial size.
    """

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int],
                 c4: int, act_layer: LayerFn = nn.ReLU):
        super().__init__()
        self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.act
        p1 = act(self.p1_1(x))
        p2 = act(self.p2_2(act(self.p2_1(x))))
        p3 = act(self.p3_2(act(self.p3_1(x))))
        p4 = act(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def _book_pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


class BookGoogLeNet(PooledFcNet):
    """The book's ``GoogleNet``: b1 (7x7/2 conv, pool), b2 (1x1 and 3x3 convs, pool),
    b3 (2 Inception, pool), b4 (5 Inception, pool), b5 (2 Inception), then global
    average pool and one linear layer. No auxiliary classifiers, no BN, no dropout.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1,
                 act_layer: LayerFn = nn.ReLU):
        super().__init__()

        def inception(name: str) -> Inception:
            return Inception(*INCEPTION_CHANNELS[name], act_layer=act_layer)

        self.b1 = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
                                act_layer(), _book_pool())
        self.b2 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=1), act_layer(),
                                nn.Conv2d(64, 192, kernel_size=3, padding=1), act_layer(),
                                _book_pool())
        self.b3 = nn.Sequential(*map(inception, ("3a", "3b")), _book_pool())
        self.b4 = nn.Sequential(*map(inception, ("4a", "4b", "4c", "4d", "4e")), _book_pool())
        self.b5 = nn.Sequential(*map(inception, ("5a", "5b")))
        self.num_features = NUM_FEATURES
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = linear_head(NUM_FEATURES, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.b5(self.b4(self.b3(self.b2(self.b1(x)))))



# ---------------------------------------------------------------------------
# torchvision's form: BN after every conv (eps 1e-3, as in the ported weights).

default_norm = partial(nn.BatchNorm2d, eps=0.001)
default_act = partial(nn.ReLU, inplace=True)


def torchvision_init(model: nn.Module) -> nn.Module:
    """torchvision's GoogLeNet init: N(0, 0.01) truncated at +-2 (i.e. +-200 std: in effect
    a plain normal) for conv and linear weights, BN 1/0; linear biases keep PyTorch's."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


class BasicConv2d(nn.Module):
    """Conv (no bias: BN supplies it) -> BN -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, norm_layer: LayerFn = default_norm,
                 act_layer: LayerFn = default_act, **conv_kw):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_kw)
        self.bn = norm_layer(out_channels)
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class InceptionBN(nn.Module):
    """torchvision's Inception block (branch1..branch4), built from ``conv_block``.

    The "5x5" branch uses a 3x3 kernel, as torchvision's does: its weights were ported
    from a model trained that way, so matching it is what makes them load. The paper
    (and the book) use 5x5 there.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: tuple[int, int],
                 ch5x5: tuple[int, int], pool_proj: int, conv_block: LayerFn = BasicConv2d):
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(conv_block(in_channels, ch3x3[0], kernel_size=1),
                                     conv_block(ch3x3[0], ch3x3[1], kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(conv_block(in_channels, ch5x5[0], kernel_size=1),
                                     conv_block(ch5x5[0], ch5x5[1], kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: average pool to 4x4 (adaptive, as torchvision's: the paper's
    5x5 stride-3 pool gives 4x4 at 224 pixels), 1x1 conv to 128, FC 1024, ReLU, dropout,
    FC."""

    def __init__(self, in_channels: int, num_classes: int, conv_block: LayerFn = BasicConv2d,
                 dropout: float = 0.7):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((4, 4))  # a layer, so scratch_ops swaps it too
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = adaptive_pool(self.pool, x, (4, 4))
        x = torch.flatten(self.conv(x), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


# Field order and names as torchvision's, so code written for it unpacks ours.
GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class GoogLeNet(Network):
    """torchvision's GoogLeNet (module names, init and forward match).

    ``forward`` returns logits, except in training mode with ``aux_logits=True``, where
    it returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)`` as torchvision
    does (the paper weights each auxiliary loss by 0.3). ``transform_input`` re-maps
    inputs normalised with ImageNet statistics to the [-1, 1] scaling the ported
    weights expect; it needs 3 channels.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 transform_input: bool = False, dropout: float = 0.2, dropout_aux: float = 0.7,
                 norm_layer: LayerFn = default_norm, act_layer: LayerFn = default_act):
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError("transform_input re-maps 3 ImageNet-normalised channels; use "
                             f"transform_input=False for in_channels={in_channels}")
        if aux_logits and num_classes == 0:
            raise ValueError("aux_logits adds two classifiers, which a headless GoogLeNet "
                             "(num_classes=0) has no classes for; use aux_logits=False")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        conv_block = partial(BasicConv2d, norm_layer=norm_layer, act_layer=act_layer)

        def inception(name: str) -> InceptionBN:
            return InceptionBN(*INCEPTION_CHANNELS[name], conv_block=conv_block)

        self.conv1 = conv_block(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a, self.inception3b = inception("3a"), inception("3b")
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a, self.inception4b = inception("4a"), inception("4b")
        self.inception4c, self.inception4d = inception("4c"), inception("4d")
        self.inception4e = inception("4e")
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a, self.inception5b = inception("5a"), inception("5b")
        if aux_logits:  # after 4a (512 channels) and 4d (528 channels)
            self.aux1 = InceptionAux(512, num_classes, conv_block, dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, conv_block, dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        # For loading pretrained weights (cnnlab.models.pretrained): torchvision's release
        # carries auxiliary heads that were never trained (torchvision warns they are "NOT
        # pretrained" when asked for them). A model without them leaves them out; a model
        # with them loads them as they are, to be trained, and renews their classifiers,
        # like the main one, for another class count.
        self.unused_weight_prefixes = () if aux_logits else ("aux1.", "aux2.")
        self.auxiliary_heads = ("aux1.fc2", "aux2.fc2") if aux_logits else ()
        self.num_features = NUM_FEATURES
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = linear_head(NUM_FEATURES, num_classes)
        self.initialise(torchvision_init)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        if not self.transform_input:
            return x
        # (an fx Proxy has no dtype to ask; under jit.trace the test is a TracerWarning)
        if isinstance(x, torch.Tensor) and not torch.jit.is_tracing() and not (
                x.is_floating_point() and x.dim() == 4 and x.shape[1] == 3):
            # Its broadcasts made floats of 0..255 pixels, three channels of one, a batch
            # of a lone image, and logits of them (torchvision's fails on each): refused,
            # so that forward names the input's fix (ModelInputError).
            raise ValueError("transform_input takes a float batch of 3 channels")
        # x_c * std_c / 0.5 + (mean_c - 0.5) / 0.5, per ImageNet channel statistics
        mean = x.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = x.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5

    def _body(self, x: torch.Tensor, with_aux: bool):
        x = self.maxpool1(self.conv1(self._transform(x)))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if with_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if with_aux else None
        x = self.maxpool4(self.inception4e(x))
        return self.inception5b(self.inception5a(x)), aux2, aux1

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._body(x, with_aux=False)[0]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.dropout(torch.flatten(self.avgpool(x), 1))
        return x if pre_logits else self.fc(x)

    def forward_unchecked(self, x: torch.Tensor):  # forward runs it, checking x if it fails
        with_aux = self.training and self.aux_logits
        features, aux2, aux1 = self._body(x, with_aux)
        logits = self.forward_head(features)
        return GoogLeNetOutputs(logits, aux2, aux1) if with_aux else logits

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier, and the auxiliary ones too so their classes agree (a
        headless model, ``num_classes=0``, keeps no auxiliary classifiers)."""
        self.fc = self.init_head(linear_head(self.num_features, num_classes))
        if num_classes == 0:
            self.aux1 = self.aux2 = None
            self.aux_logits = False
            self.unused_weight_prefixes, self.auxiliary_heads = ("aux1.", "aux2."), ()
        for aux in (self.aux1, self.aux2):
            if aux is not None:
                aux.fc2 = self.init_head(nn.Linear(aux.fc2.in_features, num_classes))


# ---------------------------------------------------------------------------
# Registered builders.

_PAPER = "Szegedy et al. 2015, Going Deeper with Convolutions"


@register_model(family="googlenet", paper=_PAPER, input_size=(1, 96, 96),
                variant="book", min_input_size=1,
                book_recipe=BookRecipe(lr=0.01, resize=96, book_accuracy=0.802))
def googlenet_d2l(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """The book's GoogLeNet: nine Inception blocks, no BN, no auxiliary heads."""
    # The book calls apply_init(..., init_cnn) for GoogLeNet: Xavier-uniform weights.
    return BookGoogLeNet(num_classes, in_channels, **overrides).initialise(xavier_init)


@register_model(family="googlenet", paper=_PAPER, input_size=(3, 224, 224), num_classes=1000,
                variant="standard", torchvision_name="googlenet", min_input_size=15)
def googlenet(num_classes: int, in_channels: int, **overrides) -> nn.Module:
    """torchvision's GoogLeNet: BN, and auxiliary heads with aux_logits=True (off by
    default here; torchvision's builds them unless given aux_logits=False or its weights)."""
    return GoogLeNet(num_classes, in_channels, **overrides)
