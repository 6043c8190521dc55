"""Fine-tuning a pretrained backbone: what --freeze-backbone and --backbone-lr-scale
train, and what they leave as the weights had it."""

from __future__ import annotations

import copy

import torch
import torchvision
from torch import nn

from cnnlab.models import get_model
from cnnlab.models.transfer import freeze_backbone, split_backbone_head

torch.set_num_threads(1)


def test_freeze_backbone_trains_the_renewed_auxiliary_classifiers_too(tmp_path):
    # torchvision's GoogLeNet release carries auxiliary heads for its 1000 classes; a
    # 10-class model with aux_logits gets new ones, random: frozen, they would add a
    # fixed random term to the training loss and never learn.
    torch.manual_seed(0)
    release = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    torch.save(release.state_dict(), tmp_path / "googlenet.pth")
    model = get_model("googlenet", num_classes=10, in_channels=3, aux_logits=True,
                      transform_input=False, weights=tmp_path / "googlenet.pth")
    freeze_backbone(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias", "aux1.fc2.weight", "aux1.fc2.bias",
                         "aux2.fc2.weight", "aux2.fc2.bias"}
    backbone, head = split_backbone_head(model)
    assert {id(p) for p in head} == {id(p) for n, p in model.named_parameters()
                                     if n in trainable}
    assert len(backbone) + len(head) == len(list(model.parameters()))


def test_a_frozen_backbone_keeps_its_weights_and_updates_its_norm_statistics(tmp_path):
    # As freeze_backbone's docstring says: parameters stay, running statistics follow
    # the new data in training mode (torchvision's fine-tuning tutorial does the same).
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "r18.pth")
    model = get_model("tv:resnet18", num_classes=3, weights=tmp_path / "r18.pth")
    freeze_backbone(model)
    before = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1,
                          momentum=0.9, weight_decay=5e-4)
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(model(torch.rand(4, 3, 32, 32)),
                                    torch.tensor([0, 1, 2, 0])).backward()
        opt.step()
    after = model.state_dict()
    params = dict(model.named_parameters())
    for key, value in after.items():
        changed = not torch.equal(value, before[key])
        if key.startswith("head."):
            assert changed, key
        elif key in params:
            assert not changed, key
        elif key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert changed, key
