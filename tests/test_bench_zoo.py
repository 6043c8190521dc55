"""`cnnlab bench zoo` stores each model as it finishes and resumes without retraining;
`cnnlab bench throughput` measures and halves the batch on out-of-memory."""

import json
import re

import pytest
import torch

from cnnlab.bench import throughput as tp
from cnnlab.bench import zoo
from cnnlab.train import run as run_module

MODELS = ["lenet_d2l", "lenet_bn_d2l"]


def small_zoo(tmp_path, **kw):
    return zoo.run_zoo(MODELS, preset="book", epochs=1, device="cpu", out_dir=tmp_path,
                       data_spec="synthetic", overrides={"eval_subset": 64}, **kw)


def test_rows_tables_and_plots(tmp_path):
    rows = small_zoo(tmp_path)
    assert [r["model"] for r in rows] == MODELS
    assert all(r["status"] == "done" for r in rows), rows
    assert int(rows[0]["params"]) == 61_706  # lenet_d2l at 28x28, 10 classes
    assert float(rows[0]["macs"]) > 0 and float(rows[0]["book_acc"]) == 0.728
    for name in ("zoo-book.csv", "zoo-book.md", "zoo-book-accuracy.png",
                 "zoo-book-acc-vs-macs.png", "zoo-book-acc-vs-params.png"):
        assert (tmp_path / name).exists(), name
    assert "lenet_bn_d2l" in (tmp_path / "zoo-book.md").read_text()
    stored = zoo.read_rows(tmp_path / "zoo-book.csv")
    # A CPU has no per-model peak: the process's only grew from model to model (802 ->
    # 886 -> 887 "MB"), so no number is stored rather than that one.
    assert [r["peak_memory_mib"] for r in stored] == ["", ""]
    assert "peak_memory_mb" not in stored[0]
    # The first model of the process pays its start-up: flagged, the second not.
    assert [r["first_in_process"] for r in stored] == ["True", "False"]
    assert stored[0]["input_size"] == "1x28x28" and stored[0]["book_epochs"] == "10"


def test_interrupted_bench_resumes_without_retraining(tmp_path, monkeypatch):
    calls = []
    real_train = run_module.train

    def train_then_interrupt(cfg, data=None, **kw):
        calls.append(cfg.model)
        if cfg.model == "lenet_bn_d2l":
            raise KeyboardInterrupt  # Ctrl-C while the second model trains
        return real_train(cfg, data=data, **kw)

    monkeypatch.setattr("cnnlab.train.train", train_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        small_zoo(tmp_path)
    stored = zoo.read_rows(tmp_path / "zoo-book.csv")
    assert [r["model"] for r in stored] == ["lenet_d2l"]  # stored the moment it finished

    calls.clear()
    monkeypatch.setattr("cnnlab.train.train", lambda cfg, data=None, **kw: (
        calls.append(cfg.model), real_train(cfg, data=data, **kw))[1])
    rows = small_zoo(tmp_path)
    assert calls == ["lenet_bn_d2l"]  # the finished model was not trained again
    assert [r["status"] for r in rows] == ["done", "done"]


def test_a_model_trained_but_not_stored_is_read_back_not_retrained(tmp_path, monkeypatch):
    # Killed after lenet_d2l's run finished, before its row reached the CSV.
    first = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                        out_dir=tmp_path, data_spec="synthetic")
    (tmp_path / "zoo-book.csv").unlink()
    summary = tmp_path / "zoo-book-runs" / "lenet_d2l" / "summary.json"
    before = summary.read_text()
    from cnnlab.train.trainer import Trainer

    def no_training(self, bar):
        raise AssertionError("trained again")

    monkeypatch.setattr(Trainer, "_train_epoch", no_training)
    rows = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu",
                       out_dir=tmp_path, data_spec="synthetic")
    assert rows[0]["status"] == "done", rows[0]["error"]
    assert summary.read_text() == before  # its report and confusion matrix untouched
    assert rows[0]["first_in_process"] == ""  # timed by another process: not known
    for key in ("test_acc", "best_test_acc", "epochs", "params"):
        assert float(rows[0][key]) == pytest.approx(float(first[0][key])), key


def test_model_interrupted_mid_training_is_resumed(tmp_path, monkeypatch):
    from cnnlab.train.trainer import Trainer, TrainingInterrupted

    original = Trainer._train_epoch

    def stop_after_first_epoch(self, bar):
        row = original(self, bar)
        if self.cfg.model == "lenet_d2l" and self.epoch == 1:
            raise TrainingInterrupted("simulated")
        return row

    monkeypatch.setattr(Trainer, "_train_epoch", stop_after_first_epoch)
    with pytest.raises(TrainingInterrupted):
        zoo.run_zoo(["lenet_d2l"], preset="book", epochs=2, device="cpu", out_dir=tmp_path,
                    data_spec="synthetic")
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    for other in (3, None):  # its plan was 2 epochs; None: the book's 10
        with pytest.raises(zoo.ZooSetupError, match=f"epochs 2 vs {other or 10}"):
            zoo.run_zoo(["lenet_d2l"], preset="book", epochs=other, device="cpu",
                        out_dir=tmp_path, data_spec="synthetic")
    resumed = []
    real_resume = run_module.resume
    monkeypatch.setattr("cnnlab.train.resume",
                        lambda d, **kw: (resumed.append(d), real_resume(d, **kw))[1])
    rows = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=2, device="cpu",
                       out_dir=tmp_path, data_spec="synthetic")
    assert resumed and rows[0]["status"] == "done" and int(rows[0]["epochs"]) == 2


def test_a_zoo_folder_holds_one_setup(tmp_path, monkeypatch):
    # Rows of a 1-epoch synthetic smoke test must never stand beside real ones.
    small_zoo(tmp_path)
    before = (tmp_path / "zoo-book.csv").read_text()
    monkeypatch.setattr("cnnlab.train.train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(zoo.ZooSetupError, match=r"lenet_d2l trained with other settings "
                       r"\(epochs 1 vs 3 asked\): give another --out"):
        zoo.run_zoo(MODELS, preset="book", epochs=3, device="cpu", out_dir=tmp_path,
                    data_spec="synthetic", overrides={"eval_subset": 64})
    assert (tmp_path / "zoo-book.csv").read_text() == before
    # The same setup said otherwise is the same: nothing to train, nothing refused.
    kept = []
    again = zoo.run_zoo(MODELS, preset="book", epochs=1, device="cpu", out_dir=tmp_path,
                        data_spec="synthetic", overrides={"eval_subset": 64},
                        on_checked=kept.append)
    assert [r["status"] for r in again] == ["done", "done"] and kept == [MODELS]
    # "kept" is said only once the setups match: a refused command said it first.
    kept.clear()
    with pytest.raises(zoo.ZooSetupError):
        zoo.run_zoo(MODELS, preset="book", epochs=3, device="cpu", out_dir=tmp_path,
                    data_spec="synthetic", overrides={"eval_subset": 64},
                    on_checked=kept.append)
    assert kept == []


def test_the_presets_epochs_asked_for_or_left_out_are_one_setup(tmp_path):
    # The book trains lenet_d2l 10 epochs: --epochs 10 and no --epochs are the same plan;
    # fashion_mnist and fashion-mnist the same data.
    from cnnlab.train.presets import resolve_config

    ten = resolve_config("lenet_d2l", preset="book", overrides={"data": "fashion_mnist"})
    assert ten.epochs == 10
    left_out = zoo.zoo_setup(ten, None)
    asked = zoo.zoo_setup(resolve_config("lenet_d2l", preset="book",
                                         overrides={"epochs": 10}), None)
    assert left_out == asked == {"data": "fashion-mnist", "batch_size": 128, "epochs": 10}


def test_zoo_on_missing_data_is_one_error_before_any_model(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    for data, words, code in (("synth", "unknown dataset 'synth'", 2),  # mistyped
                              ("fashion-mnist", "(given path): does not exist", 1)):
        result = CliRunner().invoke(app, [
            "bench", "zoo", "--models", "lenet_d2l,lenet_bn_d2l", "--epochs", "1",
            "--device", "cpu", "--data", data, "--data-root", str(tmp_path / "nowhere"),
            "--out", str(tmp_path / "z")])
        assert result.exit_code == code, result.output
        output = " ".join(result.output.split())
        assert words in output and "lenet_d2l failed" not in output
        assert not (tmp_path / "z").exists()


def test_throughput_rows():
    rows = tp.benchmark(["lenet_d2l"], batch_size=8, device="cpu", steps=2)
    assert rows[0]["train_samples_per_s"] > 0 and rows[0]["infer_samples_per_s"] > 0
    assert rows[0]["batch_size"] == 8


def test_throughput_pads_the_stem_where_it_can_and_says_where_not():
    rows = tp.benchmark(["lenet_d2l", "resnet18"], batch_size=2, image_size=32, device="cpu",
                        steps=1, pad_stem=4)
    assert rows[0]["pad_stem"] == 4 and rows[0]["note"] == ""
    # torchvision's ResNet-18 reads 3 channels: padded to 4 as well.
    assert rows[1]["pad_stem"] == 4
    rows = tp.benchmark(["resnet18"], batch_size=2, image_size=32, device="cpu", steps=1,
                        pad_stem=3)
    assert rows[0]["pad_stem"] == 0 and "stem not padded" in rows[0]["note"]


def test_throughput_halves_the_batch_on_out_of_memory(monkeypatch):
    real = tp.measure

    def fake(name, batch_size, image_size=None, **kw):
        if batch_size > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate ...")
        return real(name, batch_size, image_size, **kw)

    monkeypatch.setattr(tp, "measure", fake)
    rows = tp.benchmark(["lenet_d2l"], batch_size=8, device="cpu", steps=1)
    assert rows[0]["batch_size"] == 2 and "halved" in rows[0]["note"]


def test_benches_sharing_a_folder_keep_each_others_rows(tmp_path, monkeypatch):
    """A second process stores a row while this one trains: both rows survive."""
    real_train = run_module.train

    def train_while_another_bench_stores(cfg, data=None, **kw):
        other = {"model": "lenet_bn", "status": "done", "test_acc": 0.5, "params": 1,
                 "macs": 1, "images_per_s": 1, "peak_memory_mib": 1, "wall_time_s": 1,
                 "epochs": 1, "input_size": 28, "machine": "another process"}
        zoo.store_row(tmp_path, "book", other)
        return real_train(cfg, data=data, **kw)

    monkeypatch.setattr("cnnlab.train.train", train_while_another_bench_stores)
    zoo.run_zoo(["lenet_d2l"], preset="book", epochs=1, device="cpu", out_dir=tmp_path,
                data_spec="synthetic", overrides={"eval_subset": 64})
    stored = {r["model"]: r["status"] for r in zoo.read_rows(tmp_path / "zoo-book.csv")}
    assert stored == {"lenet_bn": "done", "lenet_d2l": "done"}
    assert "lenet_bn" in (tmp_path / "zoo-book.md").read_text()


def test_zoo_cli_takes_comma_separated_patterns(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    result = CliRunner().invoke(app, [
        "bench", "zoo", "--models", "lenet_bn_d2l,lenet_d2l", "--epochs", "1",
        "--device", "cpu", "--data", "synthetic", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [r["model"] for r in zoo.read_rows(tmp_path / "zoo-book.csv")] == [
        "lenet_bn_d2l", "lenet_d2l"]


def test_throughput_profile_names_where_the_step_time_goes(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.csv"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_modern",
                                      "--batch-size", "4", "--steps", "1", "--profile", "1",
                                      "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "tp-profile-lenet_modern.txt").read_text()
    assert "convolution" in table and "batch_norm" in table
    assert "profile" not in out.read_text().splitlines()[0]  # the CSV stays flat


def test_throughput_compares_optimizers_against_the_first(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_modern",
                                      "--batch-size", "4", "--steps", "1", "--device", "cpu",
                                      "--optimizer", "nesterov", "--optimizer", "muon",
                                      "--profile", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    assert [r["optimizer"] for r in rows] == ["nesterov", "muon"]
    assert rows[0]["note"] == ""
    assert re.fullmatch(r"time per image \d+\.\d\dx nesterov's", rows[1]["note"])
    # one profile per optimizer, neither overwriting the other
    assert "bmm" in (tmp_path / "tp-profile-lenet_modern-muon.txt").read_text()
    assert "bmm" not in (tmp_path / "tp-profile-lenet_modern-nesterov.txt").read_text()


def test_a_throughput_sweep_cut_short_keeps_every_measured_row(tmp_path, monkeypatch):
    # `timeout` on a rented GPU sends SIGTERM: the rows measured so far are in the file
    # (each stored as it came), and a model that fails is a row, not the end of the sweep.
    import os
    import signal

    from typer.testing import CliRunner

    from cnnlab.cli import app

    real, calls = tp.measure, []

    def measure(name, *args, **kw):
        calls.append(name)
        if name == "lenet_d2l":
            raise RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR\n(a second line)")
        if name == "lenet_modern":
            os.kill(os.getpid(), signal.SIGTERM)
        return real(name, *args, **kw)

    monkeypatch.setattr(tp, "measure", measure)
    out = tmp_path / "tp.csv"
    args = ["bench", "throughput", "--models", "lenet_bn,lenet_d2l,lenet_modern,nin_d2l",
            "--batch-size", "2", "--steps", "1", "--device", "cpu", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130, result.output
    assert calls == ["lenet_bn", "lenet_d2l", "lenet_modern"]  # stopped at the signal
    rows = out.read_text().splitlines()
    assert len(rows) == 3 and rows[1].startswith("lenet_bn,") and float(rows[1].split(",")[3])
    assert "failed: RuntimeError: cuDNN error: CUDNN_STATUS_INTERNAL_ERROR (a second line)" \
        in rows[2]
    assert "2 of 4 rows measured" in result.output
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back as it was


def test_throughput_measures_the_plain_step_as_its_baseline_in_the_same_run(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    args = ["bench", "throughput", "--models", "lenet_modern", "--batch-size", "4",
            "--steps", "1", "--device", "cpu", "--channels-last", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    base, row = json.loads(out.read_text())["rows"]
    assert base["baseline"] and not base["channels_last"] and base["amp"] == "off"
    assert not row["baseline"] and row["channels_last"]
    ratio = row["train_samples_per_s"] / base["train_samples_per_s"]
    assert row["note"] == f"train {ratio:.2f}x the baseline's img/s"
    assert base["note"] == "baseline: fp32, NCHW, eager"
    assert CliRunner().invoke(app, [*args, "--no-baseline"]).exit_code == 0
    assert len(json.loads(out.read_text())["rows"]) == 1


def test_throughput_times_a_model_with_its_options(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    args = ["bench", "throughput", "--models", "speednet_wide", "--batch-size", "2",
            "--steps", "1", "--device", "cpu", "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    plain = json.loads(out.read_text())["rows"][0]
    result = CliRunner().invoke(app, [*args, "--override", "convs_per_stage=[2, 2, 2]"])
    assert result.exit_code == 0, result.output
    deeper = json.loads(out.read_text())["rows"][0]
    assert json.loads(deeper["model_overrides"]) == {"convs_per_stage": [2, 2, 2]}
    assert deeper["train_tflops"] / deeper["train_samples_per_s"] > \
        plain["train_tflops"] / plain["train_samples_per_s"]  # more MACs per image
    typo = CliRunner().invoke(app, [*args, "--override", "conv_per_stage=[2, 2, 2]"])
    assert typo.exit_code == 2 and "Did you mean: convs_per_stage" in typo.output


def test_a_failed_baseline_leaves_no_nan_ratio_and_the_json_stays_strict(tmp_path,
                                                                          monkeypatch):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    real = tp.measure

    def measure(name, *args, **kw):
        if not kw.get("channels_last"):  # the baseline (plain) step fails
            raise RuntimeError("no kernel for this")
        return real(name, *args, **kw)

    monkeypatch.setattr(tp, "measure", measure)
    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, [
        "bench", "throughput", "--models", "speednet_wide", "--batch-size", "2", "--steps",
        "1", "--device", "cpu", "--channels-last", "--override", "widths=[8, 16, 32]",
        "--out", str(out)])
    assert result.exit_code == 1, result.output  # a failed row fails the command

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    base, row = json.loads(out.read_text(), parse_constant=refuse)["rows"]
    assert base["train_samples_per_s"] is None and base["note"].startswith("failed")
    assert json.loads(base["model_overrides"]) == {"widths": [8, 16, 32]}
    assert row["train_samples_per_s"] > 0 and "nan" not in row["note"]


def test_throughput_interrupted_before_any_row_exits_130(monkeypatch):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(tp, "measure", interrupted)
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_d2l",
                                      "--device", "cpu"])
    assert result.exit_code == 130 and "before the first model" in result.output


@pytest.mark.parametrize("content, words", [
    ("name,acc\nlenet_d2l,0.9\n", "has no model column: not a zoo table"),
    ('model,status,setup\nlenet_d2l,done,{"epochs": 1\n', "setup column is not JSON"),
])
def test_a_zoo_table_that_cannot_be_read_is_refused_and_kept(tmp_path, content, words):
    table = tmp_path / "zoo-book.csv"
    table.write_text(content)
    with pytest.raises(zoo.ZooSetupError, match=words):
        small_zoo(tmp_path)
    assert table.read_text() == content  # not rewritten


def test_zoo_cli_names_a_table_that_is_a_folder(tmp_path):
    from typer.testing import CliRunner

    from cnnlab.cli import app

    (tmp_path / "zoo-book.csv").mkdir()
    result = CliRunner().invoke(app, ["bench", "zoo", "--models", "lenet_d2l", "--epochs", "1",
                                      "--device", "cpu", "--data", "synthetic",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "cannot be read as a zoo table" in result.output


def test_throughput_can_time_training_alone(tmp_path):
    # A training-speed goal needs no inference: compiled, it is a second compilation.
    from typer.testing import CliRunner

    from cnnlab.cli import app

    out = tmp_path / "tp.json"
    result = CliRunner().invoke(app, ["bench", "throughput", "--models", "lenet_modern",
                                      "--batch-size", "4", "--steps", "1", "--device", "cpu",
                                      "--no-infer", "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    [row] = json.loads(out.read_text())["rows"]
    assert row["train_samples_per_s"] > 0 and row["infer_samples_per_s"] is None
    assert "infer - img/s" in result.output
