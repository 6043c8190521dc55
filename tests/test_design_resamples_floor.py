"""`design analyze --resamples` takes 20 or more: with N shuffles the least p is 1/(N + 1),
and at 19 that is 0.05, which no verdict calls significant (p < 0.05 is asked)."""

from typer.testing import CliRunner

from cnnlab.cli.design import app


def test_nineteen_resamples_are_refused_twenty_taken(tmp_path):
    refused = CliRunner().invoke(app, ["analyze", str(tmp_path), "--resamples", "19"])
    assert refused.exit_code == 2
    assert "Invalid value for '--resamples'" in refused.output
    taken = CliRunner().invoke(app, ["analyze", str(tmp_path), "--resamples", "20"])
    # Past the option's check (no sweep here: refused for that instead)
    assert "Invalid value for '--resamples'" not in taken.output
