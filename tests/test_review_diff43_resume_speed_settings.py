"""A resume may run without torch.compile where the run trained with it (a GPU run moved
to a CPU, or a machine, without a C++ compiler for it): config.yaml's compile: false was
refused as an edit of the run's settings, which compile does not change (it wraps the
training forward only). The settings a run trains under are still compared."""

import pytest

from cnnlab.train import checkpoint as ckpt
from cnnlab.train.config import TrainConfig
from cnnlab.train.resume_checks import check_same_settings


def _trained(**changes) -> dict:
    return {"config": TrainConfig(data="synthetic", **changes).to_dict()}


def test_compile_turned_off_for_a_resume_is_let_be(tmp_path):
    now = TrainConfig(data="synthetic", compile=False)
    trained = _trained(compile=True, compile_mode="max-autotune-no-cudagraphs")
    check_same_settings(now, trained, tmp_path / "last.safetensors", "config.yaml")


def test_a_setting_the_run_trains_under_is_still_refused(tmp_path):
    now = TrainConfig(data="synthetic", compile=False, lr=0.5)
    with pytest.raises(ckpt.CheckpointError, match=r"\(lr: 0.5 there; lr: 0.1 in the ch"):
        check_same_settings(now, _trained(compile=True), tmp_path / "last.safetensors",
                            "config.yaml")
