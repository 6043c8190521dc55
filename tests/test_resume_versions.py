"""A checkpoint records the code, torch and device that wrote it; a resume by other ones
says, once, that the run goes on but may no longer be bit for bit the uninterrupted one
(cnnlab's version is 0.1.0 for every commit: its sources' digest tells commits apart)."""

import json
import re
import warnings
from pathlib import Path

import pytest
import torch
from resume_helpers import small_run
from safetensors import safe_open
from safetensors.torch import save_file

import cnnlab
from cnnlab.code_version import code_fingerprint
from cnnlab.train import checkpoint as ckpt
from cnnlab.train import resume
from cnnlab.train.loaded_run import CheckpointWarning

NOTICE = "bit for bit what it would have been uninterrupted"


@pytest.fixture
def one_epoch_run(tmp_path, monkeypatch):
    small_run(tmp_path, monkeypatch, epochs=1, run_name="one")
    return tmp_path / "one"


def _last(run: Path) -> Path:
    return run / "checkpoints" / "last.safetensors"


def _edit_state(path: Path, edit) -> None:
    """Rewrite the training state in checkpoint ``path``'s header, as ``edit`` changes it
    (a checkpoint as another cnnlab, torch or machine wrote it)."""
    with safe_open(path, "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        state = json.loads(f.metadata()[ckpt.STATE_KEY])
    edit(state)
    save_file(tensors, path, metadata={ckpt.STATE_KEY: json.dumps(state)})


def _resume_noticed(run: Path) -> list[str]:
    """Resume ``run`` for one more epoch; the notices about who wrote its checkpoint."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = resume(run, extra_epochs=1)
    assert [row["epoch"] for row in result.history] == [1, 2]  # it trained on regardless
    return [str(w.message) for w in caught
            if issubclass(w.category, CheckpointWarning) and NOTICE in str(w.message)]


def test_a_checkpoint_and_its_readable_copy_name_what_wrote_it(one_epoch_run):
    stamp = ckpt.read_state(_last(one_epoch_run))["written_by"]
    assert stamp == {"cnnlab": cnnlab.__version__, "sources": code_fingerprint()["sources"],
                     "torch": torch.__version__, "device": "cpu",
                     "torch_threads": torch.get_num_threads()}
    copy = json.loads(_last(one_epoch_run).with_suffix(".json").read_text(encoding="utf-8"))
    assert copy["written_by"] == stamp
    # The summary (and so the report) names the code too: its version alone does not.
    summary = json.loads((one_epoch_run / "summary.json").read_text(encoding="utf-8"))
    assert summary["environment"]["cnnlab_sources"] == stamp["sources"]


def test_a_resume_by_the_same_code_says_nothing(one_epoch_run):
    assert _resume_noticed(one_epoch_run) == []


def test_a_resume_by_another_torch_and_cnnlab_says_so_once_naming_both(one_epoch_run):
    def older(state):
        state["written_by"].update(torch="2.4.1+cpu", sources="0123456789abcdef" * 4)

    _edit_state(_last(one_epoch_run), older)
    [notice] = _resume_noticed(one_epoch_run)
    now = code_fingerprint()
    assert "torch 2.4.1+cpu" in notice and f"torch {torch.__version__}" in notice
    assert "sources 0123456789ab" in notice and f"sources {now['sources'][:12]}" in notice
    assert "cnnlab's source code and torch differ" in notice
    assert notice.endswith("resume it under the cnnlab and torch that wrote it")
    # The checkpoint the resume wrote is stamped with this process's code from then on.
    assert ckpt.read_state(_last(one_epoch_run))["written_by"]["torch"] == torch.__version__


def test_a_checkpoint_from_before_the_stamps_still_resumes_and_says_so(one_epoch_run):
    _edit_state(_last(one_epoch_run), lambda state: state.pop("written_by", None))
    [notice] = _resume_noticed(one_epoch_run)
    assert "older cnnlab, from before checkpoints recorded" in notice
    assert f"cnnlab {cnnlab.__version__}" in notice and f"torch {torch.__version__}" in notice


def test_another_cpu_thread_count_is_named_with_its_option(one_epoch_run):
    threads = torch.get_num_threads() + 3

    _edit_state(_last(one_epoch_run),
                lambda state: state["written_by"].update(torch_threads=threads))
    [notice] = _resume_noticed(one_epoch_run)
    assert f"on cpu with {threads} threads" in notice and "(the thread count differs)" in notice
    assert notice.endswith(f"resume it with --threads {threads}")


def test_a_resume_with_nothing_to_train_says_nothing(one_epoch_run):
    # Killed while its report was written: the resume writes the report, trains nothing.
    _edit_state(_last(one_epoch_run), lambda state: state.pop("written_by", None))
    (one_epoch_run / "report.html").unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resume(one_epoch_run)
    assert not [w for w in caught if NOTICE in str(w.message)]


GPU = {"cnnlab": "0.1.0", "sources": "ab" * 32, "torch": "2.5.1+cu121", "device": "cuda",
       "gpu": "NVIDIA A100-SXM4-40GB", "cudnn": 90100}


@pytest.mark.parametrize("changes, differ, fix", [
    ({"gpu": "NVIDIA H100 80GB HBM3"}, "the GPU differs",
     "on a NVIDIA A100-SXM4-40GB with cuDNN 90100"),
    # On another kind of device its thread count or GPU is not compared: the device is.
    ({"device": "cpu", "torch_threads": 8}, "the device differs", "with --device cuda"),
])
def test_the_device_and_its_settings_are_compared(changes, differ, fix):
    from cnnlab.train.resume_checks import other_code_notice

    notice = other_code_notice(Path("last.safetensors"), GPU, {**GPU, **changes})
    assert f"({differ})" in notice and notice.endswith(f"resume it {fix}")
    assert other_code_notice(Path("last.safetensors"), GPU, dict(GPU)) is None


def test_the_version_is_the_one_pyproject_installs():
    # cnnlab.__version__ is what a checkout run without installing (PYTHONPATH, a clean
    # clone) knows itself by; pyproject's is what pip records: they must agree.
    text = (Path(cnnlab.__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    project = text.partition("[project]")[2]
    assert re.search(r'^version = "([^"]+)"', project, re.M)[1] == cnnlab.__version__


def test_one_thing_that_differs_is_said_in_the_singular():
    # "(cnnlab's sources differs)": a plural name with a singular verb.
    from cnnlab.train.resume_checks import other_code_notice

    now = ckpt.written_by("cpu")
    notice = other_code_notice(Path("last.safetensors"), {**now, "sources": "0" * 64}, now)
    assert "(cnnlab's source code differs)" in notice, notice
