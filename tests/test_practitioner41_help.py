"""`cnnlab data info` and `show` say how `cnnlab train` decodes a folder, whose options
(--image-size, --channels, --val-fraction) train does not take or takes otherwise: the
size, channels and hold-out to look at a run's images with were a guess."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cnnlab.cli import app


@pytest.mark.parametrize("command", ["info", "show"])
def test_folder_options_say_what_train_uses(command):
    result = CliRunner().invoke(app, ["data", command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "`cnnlab train` decodes at its --resize, else the model's input size" in text
    assert "`cnnlab train`: its --channels, else the model's" in text
    if command == "info":
        assert "0.2, the share `cnnlab train` holds out" in text
