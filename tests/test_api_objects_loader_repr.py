"""A DeviceLoader's repr names attributes it has, by those names."""

import re

import torch


def test_a_loaders_repr_shows_attributes_by_their_names():
    from cnnlab.data import DeviceLoader

    images = torch.zeros(10, 1, 8, 8, dtype=torch.uint8)
    loader = DeviceLoader(images, torch.zeros(10, dtype=torch.long), batch_size=4,
                          device="cpu", resize=12)
    text = repr(loader)
    assert text.startswith("DeviceLoader(3 batches of 1x12x12 float32: dataset_size=10, "), text
    names = re.findall(r"[(,:]\s*([A-Za-z_]\w*)=", text)
    assert names and all(hasattr(loader, name) for name in names), names
    assert "rank=0, world_size=1" in text
