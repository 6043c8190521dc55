"""evaluate() scores in eval mode and hands the model back in the mode it came in.

A user's own training loop calls evaluate() between epochs: a model left in eval mode
would train on with dropout off and batch norm frozen on its running statistics.
(test_eval_numbers' check of this ran after a helper that sets train mode itself, so it
held whatever evaluate() did.)
"""

import pytest
import torch

from cnnlab.data.loader import DeviceLoader
from cnnlab.train.evaluate import evaluate


def _model_and_loader():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.Dropout(0.5), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, 3))
    images = torch.randint(0, 256, (12, 1, 8, 8), dtype=torch.uint8)
    labels = torch.randint(0, 3, (12,))
    return model, DeviceLoader(images, labels, 8, device="cpu", shuffle=False)


@pytest.mark.parametrize("training", [True, False])
def test_the_model_comes_back_in_the_mode_it_was_given_in(training):
    model, loader = _model_and_loader()
    modes = []  # the mode each forward ran in
    model[2].register_forward_pre_hook(lambda module, args: modes.append(module.training))
    model.train(training)
    evaluate(model, loader, 3, torch.device("cpu"))
    assert modes == [False, False]  # both batches scored in eval mode
    assert model.training is training
    assert all(m.training is training for m in model.modules())  # every layer, too
