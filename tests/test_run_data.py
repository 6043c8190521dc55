"""The data as a run feeds it: what is refused before anything is built."""

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig


def test_fewer_test_images_than_processes_are_refused_before_anything_is_built():
    # Under torchrun each process evaluates every world_size-th test image: with fewer
    # images than processes one had none, failed alone, and torchrun killed the others.
    from cnnlab.data.dataset import DataError
    from cnnlab.train.run_data import check_data

    data = make_synthetic(num_train=8, num_test=4)
    cfg = TrainConfig(data="synthetic", eval_subset=1)
    with pytest.raises(DataError, match=r"1 test image \(eval_subset\) for 2 processes.*"
                                        r"--eval-subset 2"):
        check_data(cfg, data, world_size=2)
    check_data(cfg, data, world_size=1)
    check_data(TrainConfig(data="synthetic", eval_subset=2), data, world_size=2)
    with pytest.raises(DataError, match=r"4 test images for 8 processes"):
        check_data(TrainConfig(data="synthetic"), data, world_size=8)
