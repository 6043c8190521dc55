"""Checkpoints: round trip, no pickle, and atomicity under kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import save_file

from cnnlab.train import checkpoint as ckpt


def _model_and_optimizer():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                torch.nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(16, 4)).sum().backward()
    opt.step()
    return model, opt


def test_round_trip_restores_weights_optimizer_and_rng(tmp_path):
    model, opt = _model_and_optimizer()
    path = tmp_path / "last.safetensors"
    torch.manual_seed(123)
    ckpt.save_checkpoint(path, model.state_dict(), {"epoch": 3}, opt.state_dict())
    expected_draw = torch.rand(3)
    groups, state = ckpt.load_checkpoint(path)
    assert state["epoch"] == 3
    for k, v in model.state_dict().items():
        assert torch.equal(groups["model"][k], v)
    restored = ckpt.join_optimizer_state(groups["optim"], state["optimizer"])
    fresh = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    fresh.load_state_dict(restored)
    assert fresh.param_groups[0]["lr"] == 0.1
    for p in model.parameters():
        assert torch.equal(fresh.state[p]["momentum_buffer"], opt.state[p]["momentum_buffer"])
    torch.manual_seed(999)
    ckpt.restore_rng_state(groups["rng"])
    assert torch.equal(torch.rand(3), expected_draw)
    # The readable copy beside it says the same.
    assert json.loads(path.with_suffix(".json").read_text())["epoch"] == 3


def test_a_checkpoint_keeps_the_rng_record_an_older_cnnlab_resumes_with(tmp_path):
    # Python's and NumPy's states are no longer restored, but cnnlab before 2026-12-06
    # refused a checkpoint without them ("damaged or hand-made"): still written, in its
    # form, and saving leaves the caller's own state as it was.
    import random

    import numpy as np

    model, opt = _model_and_optimizer()
    path = tmp_path / "last.safetensors"
    random.seed(7)
    before = random.getstate()
    ckpt.save_checkpoint(path, model.state_dict(), {"epoch": 1}, opt.state_dict())
    assert random.getstate() == before
    record = ckpt.load_checkpoint(path)[1]["rng"]
    assert "rng" not in json.loads(path.with_suffix(".json").read_text())  # none reads it
    version, internal, gauss = record["python"]
    random.setstate((version, tuple(internal), gauss))  # as the older version restores it
    kind, keys, *rest = record["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), *rest))


def test_an_mps_generator_is_saved_and_restored(tmp_path, monkeypatch):
    # Apple's GPU draws dropout masks from a generator of its own: without it in the
    # checkpoint, a resumed run on a Mac did not continue as the uninterrupted one.
    model, _ = _model_and_optimizer()  # first: the optimizer's import of dynamo reads mps
    generator = {"state": torch.arange(8, dtype=torch.uint8)}
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda: generator["state"].clone())
    monkeypatch.setattr(torch.mps, "set_rng_state",
                        lambda state: generator.update(state=state.clone()))
    ckpt.save_checkpoint(tmp_path / "last.safetensors", model.state_dict(), {"epoch": 1})
    generator["state"] = torch.zeros(8, dtype=torch.uint8)  # drawn on after the save
    groups, state = ckpt.load_checkpoint(tmp_path / "last.safetensors")
    ckpt.restore_rng_state(groups["rng"])
    assert torch.equal(generator["state"], torch.arange(8, dtype=torch.uint8))

    def another_size(state):  # torch 2.5 made the state 8 bytes longer
        raise RuntimeError("RNG state is wrong size")

    monkeypatch.setattr(torch.mps, "set_rng_state", another_size)
    expected = torch.rand(3)  # the first draw from the state the checkpoint saved
    torch.rand(3)
    with pytest.warns(UserWarning, match="saved by another version"):
        ckpt.restore_rng_state(groups["rng"])
    assert torch.equal(torch.rand(3), expected)  # the rest is restored all the same


def test_plain_weights_file_is_not_a_checkpoint(tmp_path):
    save_file({"w": torch.zeros(2)}, tmp_path / "w.safetensors")
    with pytest.raises(ckpt.CheckpointError, match="not a cnnlab training checkpoint"):
        ckpt.load_checkpoint(tmp_path / "w.safetensors")


def test_corrupt_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / "last.safetensors"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ckpt.CheckpointError, match="last.safetensors"):
        ckpt.load_checkpoint(bad)


WRITER = r"""
import sys, torch
from cnnlab.train import checkpoint as ckpt
path = sys.argv[1]
i = 0
while True:
    i += 1
    big = {"w": torch.full((2_000_000,), float(i))}
    ckpt.save_checkpoint(__import__("pathlib").Path(path), big, {"epoch": i})
    print(i, flush=True)
"""


def test_kill_9_during_writes_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "last.safetensors"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline()  # at least one checkpoint completed
        for delay in (0.05, 0.13, 0.21):
            time.sleep(delay)
            groups, state = ckpt.load_checkpoint(path)  # readable while being rewritten
            assert torch.all(groups["model"]["w"] == float(state["epoch"]))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    groups, state = ckpt.load_checkpoint(path)
    assert torch.all(groups["model"]["w"] == float(state["epoch"]))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # A killed write may leave its temp file (of the weights or of their JSON copy, which
    # is written second), but never under the real name.
    assert all(name.startswith((".last.safetensors.", ".last.json.")) for name in leftovers)


def test_a_checkpoint_replaced_mid_read_is_read_whole(tmp_path, monkeypatch):
    """The state and the weights come from the same write, even when the next write
    replaces the file between the reader opening it and reading the tensors."""
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, {"w": torch.full((4,), 1.0)}, {"epoch": 1})
    newer = tmp_path / "newer.safetensors"
    ckpt.save_checkpoint(newer, {"w": torch.full((4,), 2.0)}, {"epoch": 2})
    real_open = ckpt._open_checkpoint

    def open_then_replace(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        os.replace(newer, path)  # the writer's os.replace lands right after the open
        return handle

    monkeypatch.setattr(ckpt, "_open_checkpoint", open_then_replace)
    groups, state = ckpt.load_checkpoint(path)
    assert state["epoch"] == 1
    assert torch.all(groups["model"]["w"] == 1.0)


def test_foreign_pth_loads_weights_only(tmp_path):
    from cnnlab.models.interop import read_weights_file

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"w": torch.ones(2), "evil": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="weights_only") as info:
        read_weights_file(tmp_path / "evil.pth")
    assert "holds more than tensors (" in str(info.value) and "GLOBAL" in str(info.value)
    # torch's own advice (weights_only=False: run the file's code) is never passed on.
    assert "weights_only` set to `False`" not in str(info.value)
    torch.save({"state_dict": {"w": torch.ones(2)}}, tmp_path / "ok.pth")
    assert torch.equal(read_weights_file(tmp_path / "ok.pth")["w"], torch.ones(2))
    (tmp_path / "config.pth").write_text("model: lenet_modern\nlr: 0.1\n")
    with pytest.raises(ValueError, match="it is not a PyTorch file"):
        read_weights_file(tmp_path / "config.pth")
    # Text beginning with "c" is pickle's GLOBAL opcode to torch.load ("GLOBAL lass ...").
    (tmp_path / "notes.pth").write_text("class Net: pass\n")
    with pytest.raises(ValueError, match="it is not a PyTorch file") as info:
        read_weights_file(tmp_path / "notes.pth")
    assert "b'clas'" in str(info.value) and "GLOBAL" not in str(info.value)
    # A file that cannot be opened is named as such (root reads any file: simulated).
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(tmp_path), "open", refuse)
        with pytest.raises(ValueError, match="notes.pth: cannot read as a weights file: "
                                             "Permission denied"):
            read_weights_file(tmp_path / "notes.pth")
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    assert torch.equal(read_weights_file(tmp_path / "legacy.pth")["w"], torch.ones(2))


def test_atomic_writes_have_the_mode_a_plain_write_gives(tmp_path):
    # mkstemp's temporary file is private (0600); the file it becomes must not be.
    from cnnlab.atomic import atomic_write_text

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic_write_text(tmp_path / "new.txt", "x")
    assert (tmp_path / "new.txt").stat().st_mode == plain.stat().st_mode
    os.chmod(plain, 0o640)  # a file replaced keeps its own mode
    atomic_write_text(plain, "y")
    assert plain.stat().st_mode & 0o777 == 0o640 and plain.read_text() == "y"


@pytest.mark.parametrize("state, tensors, words", [
    ("{not json", {"model.w": torch.ones(1)}, "not a cnnlab training checkpoint (Expecting"),
    ("[1]", {"model.w": torch.ones(1)}, "its training state is not a JSON object"),
    ("{}", {"weird": torch.ones(1)}, "a tensor named 'weird' is in none of its parts"),
    ("{}", {"foo.w": torch.ones(1)}, "a tensor named 'foo.w' is in none of its parts"),
])
def test_a_hand_made_or_damaged_checkpoint_is_named(tmp_path, state, tensors, words):
    path = tmp_path / "best.safetensors"
    save_file(tensors, str(path), metadata={ckpt.STATE_KEY: state})
    with pytest.raises(ckpt.CheckpointError) as info:
        ckpt.load_checkpoint(path)
    assert str(info.value).startswith(str(path)) and words in str(info.value)


def test_a_checkpoint_without_the_state_its_reader_needs_is_named(tmp_path):
    from cnnlab.train import load_run

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    from cnnlab.train import TrainConfig

    TrainConfig(model="lenet_d2l").save(run / "config.yaml")
    save_file({"model.w": torch.ones(1)}, str(run / "checkpoints" / "best.safetensors"),
              metadata={ckpt.STATE_KEY: json.dumps({"classes": ["a", "b"]})})
    with pytest.raises(ckpt.CheckpointError, match="best.safetensors: its training state "
                                                   "lacks preprocess"):
        load_run(run)
    (run / "checkpoints" / "best.safetensors").unlink()
    (run / "checkpoints" / "best.safetensors").mkdir()
    with pytest.raises(ckpt.CheckpointError, match="is a folder, not a checkpoint file"):
        ckpt.load_checkpoint(run / "checkpoints" / "best.safetensors")
    zip_file = tmp_path / "zip.safetensors"
    zip_file.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(ckpt.CheckpointError, match="a PyTorch pickle .* not safetensors"):
        ckpt.load_checkpoint(zip_file)


def test_resuming_a_checkpoint_whose_state_lacks_its_epoch_is_named(tmp_path):
    from cnnlab.train import TrainConfig, resume

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    TrainConfig(model="lenet_d2l").save(run / "config.yaml")
    save_file({"model.w": torch.ones(1)}, str(run / "checkpoints" / "last.safetensors"),
              metadata={ckpt.STATE_KEY: json.dumps({"classes": ["a"]})})
    with pytest.raises(ckpt.CheckpointError, match="last.safetensors: its training state "
                                                   "lacks epoch, train_time"):
        resume(run, extra_epochs=1)


def test_a_checkpoint_given_as_weights_is_read_once_by_load_checkpoint(tmp_path, monkeypatch):
    # models/interop.py read a run's checkpoint its own way, twice: the tensors with
    # safetensors.load_file, then the header with safe_open (for the run's
    # model_overrides). A run rewriting the file in between could pair one write's
    # weights with another's settings; load_checkpoint reads the file once.
    from cnnlab.models import get_model
    from cnnlab.models.interop import read_weights_and_overrides

    torch.manual_seed(0)
    live, ema = (get_model("lenet_modern") for _ in range(2))
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, live.state_dict(), {"epoch": 1, "config": {
        "model_overrides": {"dropout": 0.25}}}, ema_state=ema.state_dict())
    reads = []
    real = ckpt.load_checkpoint
    monkeypatch.setattr(ckpt, "load_checkpoint", lambda p: reads.append(p) or real(p))
    weights, overrides = read_weights_and_overrides(path)
    assert reads == [path] and overrides == {"dropout": 0.25}
    assert all(torch.equal(weights[k], v) for k, v in ema.state_dict().items())
    model = get_model("lenet_modern", weights=path)  # weights and settings: one read
    assert reads == [path, path]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in ema.state_dict().items())


def test_only_a_file_with_training_state_is_taken_for_a_checkpoint(tmp_path):
    from cnnlab.models.interop import read_weights_and_overrides

    # Keys alone do not make a checkpoint: a plain weights file of a model whose layers
    # are named model.* and rng.* is returned as it is, with no run's settings.
    save_file({"model.w": torch.ones(2), "rng.w": torch.zeros(1)}, tmp_path / "w.safetensors")
    assert not ckpt.is_checkpoint(tmp_path / "w.safetensors")
    weights, overrides = read_weights_and_overrides(tmp_path / "w.safetensors")
    assert set(weights) == {"model.w", "rng.w"} and overrides is None
    ckpt.save_checkpoint(tmp_path / "c.safetensors", {"w": torch.ones(2)}, {"epoch": 1})
    assert ckpt.is_checkpoint(tmp_path / "c.safetensors")
    assert read_weights_and_overrides(tmp_path / "c.safetensors")[1] == {}
    for content in (b"", b"\x08\x00\x00\x00\x00\x00\x00\x00{", b"\x02" + b"\x00" * 7 + b"[]"):
        (tmp_path / "bad.safetensors").write_bytes(content)
        assert not ckpt.is_checkpoint(tmp_path / "bad.safetensors")
    # A damaged checkpoint is named as one, not read as if it were another weights file.
    data = (tmp_path / "c.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-4])
    with pytest.raises(ckpt.CheckpointError, match="cut.safetensors: not a readable"):
        read_weights_and_overrides(tmp_path / "cut.safetensors")


@pytest.mark.parametrize("header", [{"__metadata__": 5}, [1, 2]])
def test_a_safetensors_header_of_the_wrong_shape_is_no_checkpoint_and_says_which_file(
        tmp_path, header):
    # A damaged or foreign file whose JSON header parses but is not safetensors' shape:
    # it was a bare TypeError naming no file.
    from cnnlab.train.checkpoint import CheckpointError, is_checkpoint, load_checkpoint

    path = tmp_path / "odd.safetensors"
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text)
    assert not is_checkpoint(path)
    with pytest.raises(CheckpointError, match="odd.safetensors: not a readable"):
        load_checkpoint(path)


def test_a_checkpoints_state_is_read_from_its_header_alone(tmp_path):
    # read_result and resume's first look read the state without the weights (a VGG's
    # checkpoint is half a gigabyte); a file that is no checkpoint is named as such.
    path = tmp_path / "last.safetensors"
    ckpt.save_checkpoint(path, {"w": torch.ones(3)}, {"epoch": 2, "train_time": 1.5})
    assert ckpt.read_state(path) == ckpt.load_checkpoint(path)[1]
    save_file({"w": torch.zeros(2)}, tmp_path / "weights.safetensors")
    with pytest.raises(ckpt.CheckpointError, match="weights.safetensors: a weights file, not"):
        ckpt.read_state(tmp_path / "weights.safetensors")
    (tmp_path / "cut.safetensors").write_bytes(path.read_bytes()[:20])
    with pytest.raises(ckpt.CheckpointError, match="cut.safetensors: not a readable cnnlab"):
        ckpt.read_state(tmp_path / "cut.safetensors")
    # Another file's first 8 bytes claiming a header of exabytes: refused, not read (it
    # was an OverflowError), as is_checkpoint refused it.
    (tmp_path / "odd.safetensors").write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(ckpt.CheckpointError, match="header is longer than the file"):
        ckpt.read_state(tmp_path / "odd.safetensors")
    assert not ckpt.is_checkpoint(tmp_path / "odd.safetensors")


@pytest.mark.parametrize("change, named", [
    ({"classes": 5}, "classes = 5"),
    ({"preprocess": None}, "preprocess = null"),
    ({"preprocess": {"channels": 1, "image_size": 100_000, "mean": None, "std": None}},
     "preprocess = {\"channels\": 1, \"image_size\": 100000"),  # terabytes had been asked
    ({"preprocess": {"channels": 1, "image_size": "28", "mean": None, "std": None}},
     "preprocess ="),
    ({"epoch": "one"}, "epoch = \"one\""),
])
def test_a_state_of_the_wrong_kind_is_named_not_a_traceback(tmp_path, change, named):
    # A crafted or damaged state had given a TypeError, or had eval allocate 4.8 TB.
    from cnnlab.train import TrainConfig, load_run

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    TrainConfig(model="lenet_d2l").save(run / "config.yaml")
    state = {"classes": ["a", "b"], "epoch": 1,
             "preprocess": {"channels": 1, "image_size": 28, "mean": None, "std": None},
             **change}
    save_file({"model.w": torch.ones(1)}, str(run / "checkpoints" / "best.safetensors"),
              metadata={ckpt.STATE_KEY: json.dumps(state)})
    with pytest.raises(ckpt.CheckpointError) as info:
        load_run(run)
    message = str(info.value)
    assert "best.safetensors: its training state holds what no training writes" in message
    assert named in message and "a damaged or hand-made checkpoint" in message
