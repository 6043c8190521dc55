"""train() and resume() from Python, as a notebook uses them: what they return, what they
leave behind, and what they refuse."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from resume_helpers import signal_after_steps

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, load_run, train
from cnnlab.train import checkpoint as ckpt


@pytest.fixture(scope="module")
def data():
    return make_synthetic(num_train=64, num_test=32, seed=3)


def tiny_cfg(tmp_path, **fields) -> TrainConfig:
    values = dict(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                  device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r")
    return TrainConfig(**{**values, **fields})


@pytest.mark.filterwarnings("ignore:ema_decay .* is never reached")  # a tiny run, on purpose
def test_the_result_holds_the_trained_model_with_the_weights_last_evaluated(tmp_path, data):
    result = train(tiny_cfg(tmp_path, ema_decay=0.9), data=data)
    model = result.model
    assert isinstance(model, torch.nn.Module) and not model.training
    # The EMA's weights, as the "last" checkpoint's evaluation uses them, not the live ones.
    groups, _ = ckpt.load_checkpoint(result.run_dir / "checkpoints" / "last.safetensors")
    ours = model.state_dict()
    assert all(torch.equal(ours[k], v) for k, v in groups["ema"].items())
    assert any(not torch.equal(ours[k], v) for k, v in groups["model"].items()
               if v.is_floating_point())
    last = load_run(result.run_dir, which="last").model.state_dict()
    assert all(torch.equal(ours[k], v) for k, v in last.items())
    # With it and its preprocessing, the last epoch's test accuracy is reproduced.
    pp = result.preprocess
    x = data.test.images.float() / 255
    x = (x - torch.tensor(pp.mean).view(1, -1, 1, 1)) / torch.tensor(pp.std).view(1, -1, 1, 1) \
        if pp.mean is not None else x
    with torch.no_grad():
        acc = (model(x).argmax(1) == data.test.labels).float().mean().item()
    assert acc == pytest.approx(result.final["test_acc"])


def test_without_a_run_folder_the_model_is_still_returned(data):
    result = train(tiny_cfg("unused"), data=data, write_run_dir=False)
    assert result.run_dir is None and isinstance(result.model, torch.nn.Module)


def test_the_model_stays_out_of_repr_equality_and_asdict(tmp_path, data):
    result = train(tiny_cfg(tmp_path, epochs=2), data=data, write_run_dir=False)
    text = repr(result)
    assert text.startswith("TrainResult(run_dir=None, epochs_done=2, test_acc=")
    assert "best_test_acc=" in text and "train_time_s=" in text
    assert len(text) < 200 and "history" not in text and "Conv" not in text
    assert "model" not in dataclasses.asdict(result)
    assert dataclasses.replace(result, model=None) == result


def test_options_after_the_first_argument_are_keywords_only(tmp_path, data):
    from cnnlab.train import resume

    with pytest.raises(TypeError, match="positional"):
        train(tiny_cfg(tmp_path), data)
    with pytest.raises(TypeError, match="positional"):
        resume(tmp_path / "r", 2)  # bound to console before, silently


def test_an_interruption_says_where_to_resume_in_attributes(tmp_path, data, monkeypatch):
    from cnnlab.train import TrainingInterrupted

    signal_after_steps(monkeypatch, 3, "SIGTERM")  # 2 steps an epoch: epoch 2, step 1
    with pytest.raises(TrainingInterrupted) as caught:
        train(tiny_cfg(tmp_path, epochs=3, batch_size=32), data=data)
    exc = caught.value
    assert exc.run_dir == tmp_path / "r"
    assert (exc.signal_name, exc.epoch, exc.step_in_epoch) == ("SIGTERM", 2, 1)
    assert (exc.run_dir / "checkpoints" / "last.safetensors").exists()


def test_where_a_run_stopped_is_said_in_optimizer_steps_with_accumulation(tmp_path, data,
                                                                          monkeypatch):
    # 4 batches an epoch, 2 to a step: stopped after the first step, 2 batches in. The
    # message said "step 2" (batches) where the result table and report say step 1 of 2.
    from cnnlab.train import TrainingInterrupted, train_progress

    bars = []
    monkeypatch.setattr(train_progress.TrainProgress, "__init__", _spy(
        train_progress.TrainProgress.__init__, bars))
    signal_after_steps(monkeypatch, 1)
    with pytest.raises(TrainingInterrupted, match="at epoch 1, step 1 of 2;"):
        train(tiny_cfg(tmp_path, epochs=2, batch_size=16, accum_steps=2), data=data)
    assert [bar.accum_steps for bar in bars] == [2]  # its epoch lines count steps too


def _spy(init, made: list):
    def spied(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)
    return spied


def test_an_interruption_without_a_run_folder_has_nothing_to_resume(data, monkeypatch):
    from cnnlab.train import TrainingInterrupted

    signal_after_steps(monkeypatch, 1)
    with pytest.raises(TrainingInterrupted) as caught:
        train(tiny_cfg("unused", epochs=2), data=data, write_run_dir=False)
    assert caught.value.run_dir is None and caught.value.signal_name == "SIGINT"
    # Not "checkpoint saved": none was written
    assert str(caught.value).endswith("; nothing saved (write_run_dir=False: no run folder, "
                                      "nothing to resume)")


def test_a_signal_while_the_report_is_written_names_the_run_too(tmp_path, data, monkeypatch):
    from cnnlab.train import TrainingInterrupted
    from cnnlab.train.trainer import Trainer

    original = Trainer._evaluate

    def evaluate_then_signal(self):
        self._stop_signal = "SIGINT"  # heard too late to stop a step: after the last one
        return original(self)

    monkeypatch.setattr(Trainer, "_evaluate", evaluate_then_signal)
    with pytest.raises(TrainingInterrupted, match="after the run ended") as caught:
        train(tiny_cfg(tmp_path), data=data)
    assert caught.value.run_dir == tmp_path / "r" and caught.value.epoch is None
    assert caught.value.signal_name == "SIGINT"


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _process_settings():
    import warnings

    return (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
            torch.backends.cudnn.benchmark, list(warnings.filters))


def test_train_and_resume_leave_torchs_process_settings_as_they_were(tmp_path, data,
                                                                    two_threads, monkeypatch):
    import cnnlab.train.run as run_module
    from cnnlab.train import resume

    monkeypatch.setattr(run_module, "load_training_data", lambda cfg: data)

    before = _process_settings()
    # fp16 on a CPU: slow, but the path that muted a PyTorch warning for the whole process
    cfg = tiny_cfg(tmp_path, threads=1, deterministic=True, amp="fp16")
    train(cfg, data=data)
    assert _process_settings() == before
    resume(tmp_path / "r", extra_epochs=1, threads=1)
    assert _process_settings() == before


def test_settings_are_restored_when_training_fails(tmp_path, data, two_threads, monkeypatch):
    from cnnlab.train.trainer import Trainer

    def broken(self):
        raise RuntimeError("out of memory, say")

    monkeypatch.setattr(Trainer, "fit", broken)
    before = _process_settings()
    with pytest.raises(RuntimeError, match="out of memory"):
        train(tiny_cfg(tmp_path, threads=1, deterministic=True), data=data)
    assert _process_settings() == before


def test_train_refuses_a_plan_the_command_line_refuses(tmp_path, data):
    from cnnlab.train import ConfigError

    with pytest.raises(ConfigError, match="fewer than the 2 epochs"):
        train(tiny_cfg(tmp_path, warmup_epochs=5, epochs=2), data=data)
    assert not (tmp_path / "r").exists()  # before any folder is made


def test_console_false_prints_nothing_and_quiet_keeps_its_epoch_lines(tmp_path, data,
                                                                      capsys):
    train(tiny_cfg(tmp_path), data=data, console=False, write_run_dir=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    train(tiny_cfg(tmp_path), data=data, write_run_dir=False)  # quiet: as `--quiet` does
    assert "epoch 1/1  train loss" in capsys.readouterr().err


def test_a_loaded_run_shows_in_one_short_line(tmp_path, data):
    run = load_run(train(tiny_cfg(tmp_path), data=data).run_dir)
    text = repr(run)
    assert text == (f"LoadedRun(run_dir={str(tmp_path / 'r')!r}, model_name='lenet_modern', "
                    "checkpoint='best.safetensors', epoch=1, num_classes=10, "
                    "input_shape=(1, 28, 28))")


def test_every_history_key_is_documented(data):
    from cnnlab.train import Trainer, TrainResult
    from cnnlab.train.run import train as train_function

    result = train(tiny_cfg("unused"), data=data, write_run_dir=False)
    undocumented = [k for k in result.history[0] if f"``{k}``" not in TrainResult.__doc__]
    assert undocumented == []
    assert "cnnlab train --help" in TrainConfig.__doc__ and "resolve_config" in TrainConfig.__doc__
    assert Trainer.__doc__ and "fit()" in Trainer.__doc__
    for word in ("data:", "console:", "write_run_dir:", "Returns:", "Raises:", "False"):
        assert word in train_function.__doc__, word


def test_a_results_curves_come_as_a_figure_a_notebook_shows(tmp_path, data):
    from matplotlib.figure import Figure

    result = train(tiny_cfg(tmp_path, epochs=2), data=data, console=False)
    figure = result.curves()
    assert isinstance(figure, Figure)
    assert [ax.get_title() for ax in figure.axes][::2] == ["Loss", "Learning rate"]
    assert figure.get_suptitle() == "run r"
    loss_line = figure.axes[0].lines[0]
    assert list(loss_line.get_xdata()) == [1, 2]
    figure.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
    # A notebook shows it without %matplotlib inline: it renders itself to PNG (it was
    # shown as "<Figure size 1350x460 with 3 Axes>" until pyplot's backend was active).
    assert figure._repr_png_().startswith(b"\x89PNG")


def test_a_channel_that_never_changes_is_centred_not_divided_by_zero(tmp_path):
    # Colour images with no blue in them: --normalize failed with "std must be positive".
    rgb = make_synthetic(num_train=64, num_test=32, channels=3, seed=3)
    rgb.train.images[:, 2] = 0
    rgb.test.images[:, 2] = 0
    result = train(tiny_cfg(tmp_path, model="resnet18_small", normalize=True), data=rgb)
    assert result.preprocess.std[2] == 1.0 and result.preprocess.mean[2] == 0.0
    assert all(s != 1.0 for s in result.preprocess.std[:2])
    assert math.isfinite(result.final["train_loss"]) and math.isfinite(result.final["test_loss"])


def test_train_names_what_it_takes_and_takes_a_data_spec(tmp_path):
    # train("lenet_modern") and train(cfg, data="synthetic") failed deep inside with
    # AttributeErrors; evaluate_run already took a spec as data.
    with pytest.raises(TypeError, match=r"train\(\) takes a TrainConfig, not 'lenet_modern': "
                                        r"build one with resolve_config"):
        train("lenet_modern")
    with pytest.raises(TypeError, match="data is int: give the splits load_dataset"):
        train(tiny_cfg(tmp_path), data=42)
    result = train(tiny_cfg(tmp_path, data="fashion-mnist"), data="synthetic",
                   write_run_dir=False, console=False)
    assert len(result.history) == 1
