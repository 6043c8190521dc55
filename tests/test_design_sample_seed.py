"""design.sample given a seed, as a notebook writes it: the same draw as the generator
that seed makes (it failed on int.choice)."""

import numpy as np

from cnnlab.design import sample


def test_a_seed_draws_as_its_generator_does():
    by_seed = sample("anynetx_e", 0)
    by_generator = sample("anynetx_e", np.random.default_rng(0))
    assert by_seed.config == by_generator.config and by_seed.macs == by_generator.macs
