"""A run's checkpoint as the weights of another run: the weights that run evaluated, its
own input transform, and a run's folder given where its file is meant."""

from __future__ import annotations

import pytest
import torch

from cnnlab.models import get_model
from cnnlab.models.interop import read_weights_file
from cnnlab.train import checkpoint as ckpt


@pytest.mark.parametrize("remapped", [False, True])
def test_a_cnnlab_googlenet_checkpoint_keeps_its_runs_input_transform(tmp_path, remapped):
    # An RGB GoogLeNet trained by cnnlab with its auxiliary heads looks like torchvision's
    # release by its keys; its checkpoint says whether its run re-mapped the input, and
    # the new model follows that, not the keys (the release's rule turned it on always).
    trained = get_model("googlenet", num_classes=10, aux_logits=True)
    path = tmp_path / "best.safetensors"
    overrides = {"aux_logits": True, **({"transform_input": True} if remapped else {})}
    ckpt.save_checkpoint(path, trained.state_dict(),
                         {"epoch": 1, "config": {"model_overrides": overrides}})
    model = get_model("googlenet", num_classes=10, aux_logits=True, weights=path)
    assert model.transform_input == remapped
    assert model.pretrained_load.transform_input == remapped


def test_a_runs_checkpoint_starts_another_from_the_weights_it_evaluated(tmp_path):
    # The EMA's (or Lookahead's) weights, as `cnnlab eval` of that checkpoint measured
    # them, not the live ones the optimizer was moving.
    torch.manual_seed(0)
    live, ema = (get_model("lenet_modern", num_classes=10) for _ in range(2))
    for group in ("ema_state", "eval_state"):
        path = tmp_path / f"{group}.safetensors"
        ckpt.save_checkpoint(path, live.state_dict(), {"epoch": 1},
                             **{group: ema.state_dict()})
        read = read_weights_file(path)
        assert read.keys() == ema.state_dict().keys()
        assert all(torch.equal(read[k], v) for k, v in ema.state_dict().items()), group


def test_a_run_folder_given_as_weights_points_to_its_checkpoint(tmp_path):
    # It said "weights file not found" of a folder that exists.
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"is a folder, not a weights file$"):
        read_weights_file(run)
    ckpt.save_checkpoint(run / "checkpoints" / "best.safetensors",
                         get_model("lenet_modern").state_dict(), {"epoch": 1})
    with pytest.raises(FileNotFoundError, match=r"a run's weights are in .*best\.safetensors"):
        read_weights_file(run)
