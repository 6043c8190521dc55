"""A sweep is extended only with trials drawn as its first ones were: RegNet's wa range
above 224x224 changed (cnnlab of 2026-12), and a 448x448 RegNet sweep drawn before took
its new trials from the other range without a word, one EDF of two distributions."""

import pytest

from cnnlab.design.spaces import SpaceRanges
from cnnlab.design.store import TrialStore
from cnnlab.design.sweep_spec import SweepError, SweepSpec

SPEC = dict(space="regnetx", data="synthetic", image_size=448, in_channels=1, num_classes=10)


def test_a_sweep_another_sampler_drew_is_not_extended_with_this_ones(tmp_path, monkeypatch):
    scale = (448 / 224) ** (2 / 3)  # the ranges as cnnlab drew them before: wa up to 406
    before = SpaceRanges(image_size=448, regnet_wa=(8.0 * scale, 256.0 * scale))
    with monkeypatch.context() as m:
        m.setattr(SpaceRanges, "for_input", classmethod(lambda cls, size: before))
        with TrialStore(tmp_path / "old", create=True) as store:
            store.init_sweep(SweepSpec(**SPEC), 2)
    with TrialStore(tmp_path / "old") as store:
        with pytest.raises(SweepError, match="otherwise than the one that drew its trials"):
            store.init_sweep(store.spec(), 3)
        assert store.count() == 2
        assert store.init_sweep(store.spec(), 2)["pending"] == 2  # its own trials: trained


def test_a_sweep_this_sampler_drew_is_extended(tmp_path):
    with TrialStore(tmp_path / "new", create=True) as store:
        store.init_sweep(SweepSpec(**SPEC), 2)
    with TrialStore(tmp_path / "new") as store:
        assert store.init_sweep(store.spec(), 3)["pending"] == 3
