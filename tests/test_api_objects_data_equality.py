"""Splits compare by their pixels and labels: == said True or False, never raised."""

import pickle

from cnnlab.data.synthetic import make_synthetic


def test_splits_and_their_copies_compare_equal_and_others_not():
    splits = make_synthetic(num_train=12, num_test=6, num_classes=3, image_size=4)
    again = pickle.loads(pickle.dumps(splits))
    assert again == splits and again.train == splits.train
    other = make_synthetic(num_train=12, num_test=6, num_classes=3, image_size=4, seed=1)
    assert other != splits and other.test != splits.test
    fewer = make_synthetic(num_train=10, num_test=6, num_classes=3, image_size=4)
    assert fewer.train != splits.train  # another shape: False, not a broadcast error
    assert splits.train != "images"
