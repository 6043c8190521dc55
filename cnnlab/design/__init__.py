"""Design-space exploration, the way RegNet was found (Radosavovic et al., CVPR 2020).

- :mod:`~cnnlab.design.spaces`: AnyNetX A..E and RegNet, seeded sampling under a
  complexity band, and analytic complexity; trials train the samples as the
  ``anynetx`` model (registered in :mod:`cnnlab.models.anynet`).
- :mod:`~cnnlab.design.sweep_spec`: what a sweep is (space, seed, band, data, recipe) and
  its trials as drawn; :mod:`~cnnlab.design.store`: a sweep on disk (SQLite), written as
  trials finish (what its SQLite errors mean to a user: :mod:`~cnnlab.design.store_errors`);
  :mod:`~cnnlab.design.folders`: what a folder holds before a design command writes into
  it.
- :mod:`~cnnlab.design.runner`: creating and running sweeps (the driver; its lock,
  one driver a sweep, in :mod:`~cnnlab.design.sweep_lock`; its line in a notebook in
  :mod:`~cnnlab.design.sweep_progress`);
  :mod:`~cnnlab.design.executors` runs their trials (:mod:`~cnnlab.design.trial`) in
  local processes or on Ray (where they fit: :mod:`~cnnlab.design.ray_nodes`), all on
  the same code (:mod:`~cnnlab.design.code_check`).
- :mod:`~cnnlab.design.edf`: EDFs, complexity-normalised EDFs, KS tests (the normalised
  one by permutation: ``compare_normalized``), bootstrap.
- :mod:`~cnnlab.design.regnet_fit`: the RegNet rule nearest a network's widths (e_fit).
- :mod:`~cnnlab.design.report`: plots, one HTML report, a Markdown table, the summary
  ``analyze`` returns (:mod:`~cnnlab.design.analysis`: a dict shown as tables; its words in
  :mod:`~cnnlab.design.report_text` and :mod:`~cnnlab.design.describe`, its figures in
  :mod:`~cnnlab.design.report_figures`, their MACs axis in
  :mod:`~cnnlab.design.macs_axis`).

The ``edf`` function is not re-exported here: the name would hide the module.
"""

from cnnlab.design.edf import (
    bootstrap_best,
    compare_normalized,
    complexity_bin_edges,
    complexity_weights,
    ks_test,
    normalized_edf,
)
from cnnlab.design.regnet_fit import RegNetFit, fit_regnet
from cnnlab.design.report import analyze
from cnnlab.design.runner import SweepInterrupted, create_sweep, run_sweep
from cnnlab.design.spaces import SPACES, DesignSpaceError, SpaceRanges, parse_band, sample
from cnnlab.design.store import StoreError, SweepError, TrialStore
from cnnlab.design.sweep_spec import SweepSpec

__all__ = [
    "SPACES",
    "DesignSpaceError",
    "RegNetFit",
    "SpaceRanges",
    "StoreError",
    "SweepError",
    "SweepInterrupted",
    "SweepSpec",
    "TrialStore",
    "analyze",
    "bootstrap_best",
    "compare_normalized",
    "complexity_bin_edges",
    "complexity_weights",
    "create_sweep",
    "fit_regnet",
    "ks_test",
    "normalized_edf",
    "parse_band",
    "run_sweep",
    "sample",
]
