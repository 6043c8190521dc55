"""A run's checkpoint damaged or replaced: the refusal says what the file is instead."""

import shutil

import pytest
import torch

from cnnlab.train import checkpoint as ckpt


@pytest.fixture
def best(tiny_run, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    return run / "checkpoints" / "best.safetensors"


def test_an_empty_checkpoint_is_called_empty(best):
    best.write_bytes(b"")  # was "its header is longer than the file: truncated, or ..."
    for read in (ckpt.load_checkpoint, ckpt.read_state):
        with pytest.raises(ckpt.CheckpointError, match=r"it is empty \(0 bytes\); a write or "
                                                       r"copy was cut short: copy it again"):
            read(best)


def test_a_pth_file_under_a_checkpoint_s_name_is_called_a_pytorch_pickle(best, tmp_path):
    groups, _ = ckpt.load_checkpoint(best)
    torch.save(groups["model"], best)  # a .pth saved (or copied) under the name
    for read in (ckpt.load_checkpoint, ckpt.read_state):
        with pytest.raises(ckpt.CheckpointError, match=r"a PyTorch pickle \(torch\.save's "
                                                       r"\.pth\), not safetensors.*--weights"):
            read(best)


def test_a_checkpoint_cut_short_in_its_tensors_says_so(best):
    data = best.read_bytes()
    best.write_bytes(data[: len(data) // 2])
    # Was safetensors' "Error while deserializing: incomplete metadata, file not fully
    # covered".
    with pytest.raises(ckpt.CheckpointError, match=r"cut short: its tensors need more than "
                                                   r"the file's [\d,]+ bytes; a write or copy"):
        ckpt.load_checkpoint(best)


def test_a_file_where_the_checkpoints_folder_goes_is_named(tiny_run, tmp_path):
    from cnnlab.train import load_run

    run = shutil.copytree(tiny_run, tmp_path / "run")
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").write_text("not a folder")
    # Was "has no checkpoint yet: ... so it is still in that epoch".
    with pytest.raises(ckpt.CheckpointError, match=r"checkpoints is a file where the run "
                                                   r"keeps its checkpoints folder: move it"):
        load_run(run)


def test_resuming_after_config_yaml_names_another_model_says_how_to_set_it_back(tiny_run,
                                                                                tmp_path):
    from cnnlab.train import resume

    run = shutil.copytree(tiny_run, tmp_path / "run")
    config = run / "config.yaml"
    text = config.read_text(encoding="utf-8")
    model = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.startswith("model:"))
    config.write_text(text.replace(f"model: {model}", "model: lenet_d2l"), encoding="utf-8")
    with pytest.raises(ckpt.CheckpointError, match=rf"but config.yaml says 'lenet_d2l': "
                                                   rf"config.yaml was edited \(set model: "
                                                   rf"back to {model}\)"):
        resume(run, extra_epochs=1, console=False)


def test_a_checkpoint_cut_short_whose_header_length_starts_as_a_pickle_does_is_cut_short(
        tmp_path):
    # A 640-byte header's length begins with 0x80, as a pickle does: 1 in 256 checkpoints
    # cut short inside their header were called "a PyTorch pickle".
    header = b'{"__metadata__":{"a":"' + b"x" * (640 - 25) + b'"}}'
    assert len(header) == 640
    cut = tmp_path / "last.safetensors"
    cut.write_bytes(len(header).to_bytes(8, "little") + header[:100])
    for read in (ckpt.load_checkpoint, ckpt.read_state):
        with pytest.raises(ckpt.CheckpointError, match=r"header is longer than the file"):
            read(cut)
