"""train() from Python prints the weights it started from as the path is written: its
console read ":ok:" in `weights="w:ok:.safetensors"` as an emoji code (w🆗.safetensors),
which the command's console no longer does."""

from __future__ import annotations

from cnnlab.train.model_setup import say_weights_loaded


def test_a_weights_path_with_colons_is_printed_as_written(capsys):
    say_weights_loaded({"source": "/data/w:ok:.safetensors", "tensors_loaded": 3})
    said = capsys.readouterr().err
    assert "weights: /data/w:ok:.safetensors, all 3 tensors loaded" in said, said
