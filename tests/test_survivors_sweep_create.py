"""`create_sweep` from Python refuses a sweep of no trials, leaving the folder as it was
(the CLI's --n has its own check, so only a Python caller reaches this one).

Mutation testing (session 38, mutant R25: `n < 1` made `n < 0`) found nothing that
called create_sweep with n = 0: an empty sweep was made, which `design run` then
reported finished with no trial.
"""

from __future__ import annotations

import pytest
from design_helpers import tiny_spec

from cnnlab.design.runner import create_sweep
from cnnlab.design.store import SweepError


@pytest.mark.parametrize("n", [0, -2])
def test_a_sweep_of_no_trials_is_refused_and_makes_no_file(tmp_path, n):
    folder = tmp_path / "sweep"
    with pytest.raises(SweepError, match=f"a sweep needs n >= 1 trials, got {n}"):
        create_sweep(folder, tiny_spec(), n)
    assert not folder.exists() or not any(folder.iterdir())
