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
