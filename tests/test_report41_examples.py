"""The misclassified images a report shows are the ones the model got wrong: their
places in the whole test split, across batches, the first ``limit`` of them."""

import torch
from torch import nn

from cnnlab.train.report_examples import first_misclassified


class AlwaysZero(nn.Module):
    def forward(self, x):
        return torch.stack([torch.ones(len(x)), torch.zeros(len(x))], dim=1)


def test_misclassified_places_count_across_batches_and_stop_at_the_limit():
    labels = [0, 1, 0, 0, 1, 1, 0, 1]  # wrong wherever the label is 1
    batches = [(torch.zeros(4, 1, 2, 2), torch.tensor(labels[i:i + 4])) for i in (0, 4)]
    model = AlwaysZero().train()
    found = first_misclassified(model, batches, device=torch.device("cpu"), limit=3)
    assert found == [(1, 1, 0), (4, 1, 0), (5, 1, 0)]
    assert model.training  # put back as it was
