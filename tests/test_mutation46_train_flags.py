"""`cnnlab train`'s flags as the command reads them before a run, pinned where hand-made
mutants went unnoticed (session 41, mutation46). No run trains: each case is refused, or
the part of the command is called alone."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app


def test_scratch_ops_takes_its_words_in_any_case():
    # "--scratch-ops ON" is on, not refused; the run is then refused for another flag,
    # so that none trains.
    result = CliRunner().invoke(app, ["train", "lenet_modern", "--data", "synthetic",
                                      "--scratch-ops", "ON", "--optimizer", "adam"])
    assert result.exit_code == 2, result.output
    assert "choose on, fft or off" not in result.output and "optimizer" in result.output


@pytest.mark.parametrize("set_before", [None, "1"])
@pytest.mark.parametrize("flag, during", [(None, "as before"), (False, "1"), (True, None)])
def test_the_figures_flags_set_the_variable_for_the_run_alone(set_before, flag, during,
                                                              monkeypatch):
    # Neither flag: the environment's choice (figures drawn where it sets none);
    # --no-figures skips them, --figures draws them where CNNLAB_NO_FIGURES=1 skipped them.
    from cnnlab.cli.train import _figures_as_chosen
    from cnnlab.figures import NO_FIGURES_VARIABLE

    if set_before is None:
        monkeypatch.delenv(NO_FIGURES_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(NO_FIGURES_VARIABLE, set_before)
    with _figures_as_chosen(flag):
        seen = os.environ.get(NO_FIGURES_VARIABLE)
    assert seen == (set_before if during == "as before" else during)
    assert os.environ.get(NO_FIGURES_VARIABLE) == set_before
