"""`cnnlab design run --help`: --data-root's default with --resume is the sweep's own
folder (reopen_sweep keeps it unless one is given), as --device's help says of its own;
it read as $CNNLAB_DATA, the cache, then the system copy, whatever the sweep had."""

from typer.testing import CliRunner

from cnnlab.cli import app


def test_data_root_help_names_the_sweeps_own_on_resume():
    result = CliRunner().invoke(app, ["design", "run", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    data_root = text[text.index("--data-root"):text.index("--train-subset")]
    assert "with --resume, the sweep's)" in data_root
