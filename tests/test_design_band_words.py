"""A complexity band and the MACs a space draws are written as every count of MACs is:
format_band reads 1.2e12 as "1.2T" (parse_band takes T since session 35; it wrote
"1200G"), and a band no network falls in says "1T-2T" and "380K", not "[1e+12, 2e+12]"
and "0.38M"."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnnlab.design import spaces as S


def test_format_band_writes_tera_and_reads_back():
    assert S.format_band((3e11, 1.2e12)) == "300G-1.2T"
    assert S.parse_band(S.format_band((3e11, 1.2e12))) == (3e11, 1.2e12)


def test_a_band_no_network_reaches_is_written_as_typed():
    with pytest.raises(S.DesignSpaceError) as caught:
        S.sample("anynetx_a", np.random.default_rng(0), macs=(1e12, 2e12), max_tries=50)
    words = str(caught.value)
    assert "MACs in 1T-2T among 50 networks" in words, words
    assert "e+" not in words, words
    # the space's spread in counts as a table writes them: three figures and a prefix
    spread = re.search(r"10% (\S+), median (\S+), 90% (\S+)$", words)
    assert spread, words
    assert all(re.fullmatch(r"\d[\d.]*[KMG]", v) and len(v.rstrip("KMG").replace(".", "")) == 3
               for v in spread.groups()), words
