"""`cnnlab bench zoo` stores each model as it finishes and resumes without retraining.
(Its table and figures: test_bench_zoo_report.py; `bench throughput`: test_throughput.py.)"""

import json
import os

import pytest

from cnnlab.bench import zoo
from cnnlab.train import TrainConfig
from cnnlab.train import run as run_module

MODELS = ["lenet_d2l", "lenet_bn_d2l"]


def small_zoo(tmp_path, **kw):
    return zoo.run_zoo(MODELS, preset="book", epochs=1, device="cpu", out_dir=tmp_path,
                       data_spec="synthetic", overrides={"eval_subset": 64}, **kw)


# The tests that start from a finished small zoo share one: each zoo trains two models and
# draws their reports and the zoo's figures (~10 s of CPU, most of it matplotlib), and four
# tests ran one alike. One xdist group, so that one worker builds it once; the others read it
# (test_rows_tables_and_plots) or change a copy.
FINISHED_ZOO = pytest.mark.xdist_group("finished_zoo")


@pytest.fixture(scope="module")
def finished_zoo(tmp_path_factory):
    """(folder, rows, on_start calls) of small_zoo run once in a fresh folder."""
    folder, started = tmp_path_factory.mktemp("finished_zoo"), []
    rows = small_zoo(folder, on_start=lambda *a: started.append(a))
    return folder, rows, started


def copied_zoo(finished_zoo, tmp_path):
    """A copy of the finished zoo's folder, to change."""
    import shutil

    return shutil.copytree(finished_zoo[0], tmp_path / "zoo")


@FINISHED_ZOO
def test_rows_tables_and_plots(finished_zoo):
    tmp_path, rows, started = finished_zoo
    assert started == [("lenet_d2l", 1, 2, False), ("lenet_bn_d2l", 2, 2, False)]
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


@FINISHED_ZOO
def test_a_table_and_plots_left_behind_by_a_kill_are_redrawn_by_the_next_run(
        finished_zoo, tmp_path, monkeypatch):
    # Killed after the last row reached the CSV, before the table and plots were drawn:
    # they held one model of two. The same command again trains nothing, yet redraws them.
    tmp_path = copied_zoo(finished_zoo, tmp_path)
    table, plot = tmp_path / "zoo-book.md", tmp_path / "zoo-book-acc-vs-macs.png"
    table.write_text("| model |\n| lenet_d2l |\n", encoding="utf-8")
    plot.unlink()
    csv_time = (tmp_path / "zoo-book.csv").stat().st_mtime_ns
    os.utime(table, ns=(csv_time - 10**9, csv_time - 10**9))  # drawn before the last row
    monkeypatch.setattr("cnnlab.train.train", lambda *a, **k: pytest.fail("trained again"))
    small_zoo(tmp_path)
    assert "lenet_bn_d2l" in table.read_text(encoding="utf-8") and plot.is_file()
    # Up to date, they are left alone.
    drawn = table.stat().st_mtime_ns
    small_zoo(tmp_path)
    assert table.stat().st_mtime_ns == drawn


@FINISHED_ZOO
def test_a_model_whose_report_a_kill_cut_off_is_not_the_processs_first_trained(
        finished_zoo, tmp_path):
    # Killed after lenet_d2l's last checkpoint, before its summary, report and row: the
    # rerun's resume writes them, training nothing, so lenet_bn_d2l, trained next, is the
    # one that pays the process's start-up. (The finished zoo less lenet_bn_d2l's run is
    # what `run_zoo(["lenet_d2l"], ...)` with small_zoo's setup leaves: lenet_d2l trains
    # first there, alike.)
    import shutil

    tmp_path = copied_zoo(finished_zoo, tmp_path)
    shutil.rmtree(tmp_path / "zoo-book-runs" / "lenet_bn_d2l")
    (tmp_path / "zoo-book.csv").unlink()
    run = tmp_path / "zoo-book-runs" / "lenet_d2l"
    (run / "summary.json").unlink()
    (run / "report.html").unlink()
    with pytest.warns(UserWarning, match="writing them now"):
        rows = small_zoo(tmp_path)
    assert [(r["model"], str(r["first_in_process"])) for r in rows] == [
        ("lenet_d2l", ""), ("lenet_bn_d2l", "True")]
    assert (run / "report.html").is_file()


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
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
    from cnnlab.train import Trainer, TrainingInterrupted

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
    started = []  # said before it trains: the CLI prints "[1/1] lenet_d2l: resuming ..."
    rows = zoo.run_zoo(["lenet_d2l"], preset="book", epochs=2, device="cpu",
                       out_dir=tmp_path, data_spec="synthetic",
                       on_start=lambda *a: started.append(a))
    assert resumed and rows[0]["status"] == "done" and int(rows[0]["epochs"]) == 2
    assert started == [("lenet_d2l", 1, 1, True)]


@FINISHED_ZOO
def test_a_zoo_folder_holds_one_setup(finished_zoo, tmp_path, monkeypatch):
    # Rows of a 1-epoch synthetic smoke test must never stand beside real ones.
    tmp_path = copied_zoo(finished_zoo, tmp_path)
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


def test_benches_sharing_a_folder_keep_each_others_rows(tmp_path, monkeypatch):
    """A second process stores a row while this one trains: both rows survive."""
    real_train = run_module.train

    def train_while_another_bench_stores(cfg, data=None, **kw):
        other = {"model": "lenet_bn", "status": "done", "test_acc": 0.5, "params": 1,
                 "macs": 1, "images_per_s": 1, "peak_memory_mib": 1, "train_time_s": 1,
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
        "--device", "cpu", "--data", "synthetic", "--out", str(tmp_path), "--threads", "1"])
    assert result.exit_code == 0, result.output
    rows = zoo.read_rows(tmp_path / "zoo-book.csv")
    assert [r["model"] for r in rows] == ["lenet_bn_d2l", "lenet_d2l"]
    # --threads trained each model (as the busy-CPU note advises), and like the device it
    # is no part of a row's setup: a later command on other threads goes on with the table.
    run = tmp_path / "zoo-book-runs" / "lenet_d2l"
    assert TrainConfig.load(run / "config.yaml").threads == 1
    assert "threads" not in json.loads(rows[0]["setup"])


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


@pytest.mark.filterwarnings("ignore:.*was designed for 224x224")
def test_a_library_model_at_an_overridden_size(tmp_path):
    # "tv:NAME" keeps its name in the table, but its run folder takes none of the
    # characters Windows refuses in a name; MACs are counted for the input it trained on.
    [row] = zoo.run_zoo(["tv:mobilenet_v3_small"], preset="fast", epochs=1, device="cpu",
                        out_dir=tmp_path, data_spec="synthetic",
                        overrides={"eval_subset": 64, "resize": 32})
    assert row["status"] == "done", row["error"]
    # As trained: at 32 pixels, its stem taking the data's one channel (not its own 3).
    assert row["model"] == "tv:mobilenet_v3_small" and row["input_size"] == "1x32x32"
    summary = json.loads((tmp_path / "zoo-fast-runs" / "tv_mobilenet_v3_small"
                          / "summary.json").read_text(encoding="utf-8"))
    assert int(row["params"]) == summary["parameters"] == 1_527_818
    assert int(row["macs"]) == 2_096_064  # 3x32x32: 2,169,792; 3x224x224: 55,496,640
    assert [p.name for p in (tmp_path / "zoo-fast-runs").iterdir()] == ["tv_mobilenet_v3_small"]


@pytest.mark.filterwarnings("ignore:.*was designed for 224x224")
def test_a_run_folder_named_as_before_is_taken_up_not_trained_again(tmp_path):
    # Before file_name_for, "tv:NAME" named its run folder as it is: a bench resumed after
    # the upgrade finds the run there rather than training the model from scratch.
    def bench():
        return zoo.run_zoo(["tv:mobilenet_v3_small"], preset="fast", epochs=1, device="cpu",
                           out_dir=tmp_path, data_spec="synthetic",
                           overrides={"eval_subset": 64, "resize": 32})

    bench()
    runs = tmp_path / "zoo-fast-runs"
    (runs / "tv_mobilenet_v3_small").rename(runs / "tv:mobilenet_v3_small")
    (tmp_path / "zoo-fast.csv").unlink()  # killed after training, before its row
    last = runs / "tv:mobilenet_v3_small" / "checkpoints" / "last.safetensors"
    trained = last.stat().st_mtime_ns
    [row] = bench()
    assert row["status"] == "done" and row["first_in_process"] == ""  # not trained here
    assert [p.name for p in runs.iterdir()] == ["tv_mobilenet_v3_small"]
    assert (runs / "tv_mobilenet_v3_small" / "checkpoints" / "last.safetensors"
            ).stat().st_mtime_ns == trained
