"""report.html says what its numbers are: which evaluation the class-by-class results
are (and that cnnlab eval / predict use the best checkpoint), the data and test-set size,
when and on what it ran; its tables read as tables."""

from __future__ import annotations

import html
import json
import re

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train
from cnnlab.train.report import write_report

CLASSES = ["cat", "dog"]


def matrix(right_cats: int, right_dogs: int) -> list[list[int]]:
    return [[right_cats, 500 - right_cats], [500 - right_dogs, right_dogs]]


def run_with_epochs(tmp_path, test_acc: list[float], cats: list[int]) -> dict:
    """A run folder with class_metrics.jsonl for each epoch, and its summary."""
    with open(tmp_path / "class_metrics.jsonl", "w", encoding="utf-8") as fh:
        for epoch, right in enumerate(cats, start=1):
            fh.write(json.dumps({"epoch": epoch,
                                 "per_class_acc": {"cat": right / 500, "dog": 0.9},
                                 "confusion": matrix(right, 450)}) + "\n")
    best = max(test_acc)
    return {
        "model": "lenet_modern", "classes": CLASSES,
        "final": {"epoch": len(test_acc), "test_acc": test_acc[-1], "images_per_s": 1000.0},
        "best_test_acc": best, "best_epoch": test_acc.index(best) + 1,
        "eval_images": 1000, "test_images": 1000, "train_images": 6000, "eval_scope": "",
        "per_class_acc": {"cat": cats[-1] / 500, "dog": 0.9},
        "confusion": matrix(cats[-1], 450),
        "config": {"data": "fashion-mnist", "preset": "fast", "epochs": len(test_acc),
                   "ema_decay": 0.999, "weights": None, "flip": False, "model_overrides": {}},
        "environment": {"date": "2026-12-05T08:08:04", "cpu_model": "Intel(R) Xeon(R) Gold",
                        "torch_threads": 2, "python": "3.11.7"},
        "commands": [{"command": "cnnlab train", "date": "2026-12-05T08:05:11"}],
        "device": "cpu", "parameters": 62158,
    }


def text(page: str) -> str:
    """The page's words, tags dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_class_results_are_the_best_checkpoints_and_say_which_evaluation(tmp_path):
    # Best at epoch 2 (cats 450 of 500 right), last at epoch 3 (cats 400): the per-class
    # table and confusion matrix showed epoch 3's beside epoch 2's headline, unnamed.
    summary = run_with_epochs(tmp_path, [0.80, 0.90, 0.85], [300, 450, 400])
    words = text(write_report(tmp_path, summary).read_text())
    assert ("Class by class: test set (1,000 images), after epoch 2 of 3, EMA weights "
            "(decay 0.999), the best checkpoint") in words
    assert "cat 450 500 90.0%" in words  # epoch 2's, not the last epoch's 80.0%
    assert "The last epoch (3) scored 85.0%" in words
    assert "the weights cnnlab eval and cnnlab predict use" in words
    assert "90.0% at epoch 2: the best checkpoint" in words


def test_without_the_best_epochs_line_the_last_evaluation_is_shown_as_such(tmp_path):
    summary = run_with_epochs(tmp_path, [0.80, 0.90, 0.85], [300, 450, 400])
    lines = (tmp_path / "class_metrics.jsonl").read_text().splitlines()
    (tmp_path / "class_metrics.jsonl").write_text(lines[0] + "\n" + lines[2] + "\n")
    words = text(write_report(tmp_path, summary).read_text())
    assert "after epoch 3 of 3, EMA weights (decay 0.999), the last epoch" in words
    assert "cat 400 500 80.0%" in words
    assert "The best checkpoint (epoch 2, 90.0%) is what cnnlab eval and cnnlab predict use" \
        in words


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
@pytest.mark.filterwarnings("ignore:ema_decay .* is never reached")  # a tiny run, on purpose
def test_a_runs_confusion_matrix_is_the_best_epochs_and_titled_so(tmp_path, monkeypatch):
    from cnnlab.train import run_outputs

    drawn = {}
    monkeypatch.setattr(run_outputs, "plot_confusion",
                        lambda matrix, classes, out, **kw: drawn.update(kw, matrix=matrix))
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=3, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r",
                      ema_decay=0.9)
    train(cfg, data=make_synthetic(num_train=64, num_test=64))
    run = tmp_path / "r"
    best = json.loads((run / "summary.json").read_text())["best_epoch"]
    lines = [json.loads(line) for line in (run / "class_metrics.jsonl").read_text()
             .splitlines()]
    assert drawn["matrix"] == next(r["confusion"] for r in lines if r["epoch"] == best)
    # Which evaluation, in a few words at the title's size; the weights under it.
    assert drawn["heading"] == f"best checkpoint (epoch {best}), 64 test images"
    assert drawn["title"] == "EMA weights (decay 0.9)"


def test_the_headline_names_the_data_the_test_set_the_machine_and_the_dates(tmp_path):
    summary = run_with_epochs(tmp_path, [0.8], [400])
    page = write_report(tmp_path, summary).read_text()
    words = text(page)
    assert "data fashion-mnist (6,000 training images, 1,000 test images, 2 classes)" in words
    assert "measured on the test set (1,000 images), EMA weights (decay 0.999)" in words
    assert "device cpu (Intel(R) Xeon(R) Gold, 2 torch threads)" in words
    assert "started 2026-12-05 08:05:11; report written 2026-12-05 08:08:04" in words
    assert f"<title>{tmp_path.name} (lenet_modern) - cnnlab report</title>" in page
    assert "<th></th>" not in page  # no empty header row above the headline


def test_the_headline_says_which_weights_a_run_started_from_and_what_fitting_changed(
        tmp_path):
    # It showed only the path given to --weights, in the configuration table.
    summary = run_with_epochs(tmp_path, [0.8], [400])
    assert "starting weights" not in text(write_report(tmp_path, summary).read_text())
    summary["weights_loaded"] = {"source": "/w/resnet18-f37072fd.pth", "new_head": True,
                                 "input_channels": [3, 1]}
    words = html.unescape(text(write_report(tmp_path, summary).read_text()))
    # A record from before the tensor counts: as the console words it (model_setup).
    assert ("starting weights /w/resnet18-f37072fd.pth; a new classifier (the weights' has "
            "another shape: left out); first conv's filters summed from 3 input channels "
            "to 1") in words


def test_a_run_from_weights_records_what_loading_did(tmp_path):
    from safetensors.torch import save_file

    from cnnlab.models import get_model

    weights = tmp_path / "start.safetensors"
    save_file(get_model("lenet_modern", num_classes=2).state_dict(), weights)
    cfg = TrainConfig(model="lenet_modern", epochs=1, batch_size=32, device="cpu",
                      quiet=True, out_dir=str(tmp_path), run_name="r", weights=str(weights))
    train(cfg, data=make_synthetic(num_train=64, num_test=32, num_classes=2, seed=0))
    from cnnlab.train import resume

    for session in range(2):  # trained, then resumed (which starts from the checkpoint)
        summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
        loaded = {k: summary["weights_loaded"][k] for k in ("source", "new_head",
                                                              "input_channels")}
        assert loaded == {"source": str(weights), "new_head": False,
                          "input_channels": None}, session
        assert (f"starting weights {weights}, all {len(get_model('lenet_modern').state_dict())}"
                " tensors loaded; its classifier kept (the class counts match; --new-head, "
                "new_head=True, renews it)") in html.unescape(text(
                    (tmp_path / "r" / "report.html").read_text(encoding="utf-8")))
        if session == 0:
            resume(tmp_path / "r", extra_epochs=1,
                   data=make_synthetic(num_train=64, num_test=32, num_classes=2, seed=0))


@pytest.mark.parametrize(("images", "shown"), [(128, "100.0%"), (10_000, "100.00%")])
def test_overall_accuracy_has_the_decimals_its_test_set_supports(tmp_path, images, shown):
    summary = {"model": "m", "final": {"epoch": 1, "test_acc": 1.0}, "best_test_acc": 1.0,
               "eval_images": images, "config": {}}
    words = text(write_report(tmp_path, summary).read_text())
    assert f"test accuracy, last epoch {shown}" in words


def test_tables_right_align_numbers_and_print_config_as_yaml_does_but_none_for_unset(tmp_path):
    summary = run_with_epochs(tmp_path, [0.8], [400])
    model_summary = {"rows": [{"name": "conv", "type": "Conv2d", "output_shapes": [[1, 6, 28, 28]],
                               "params": 156, "macs": 117600}],
                     "batch_size": 1,
                     "totals": {"training_pass_mode": "eval", "training_activation_bytes": 2048},
                     "totals_lines": [["Training activations", "2.05 KB (saved for backward, "
                                       "eval mode; train mode's BatchNorm needs a batch of 2 "
                                       "or more: --batch-size 2)"]]}
    page = write_report(tmp_path, summary, model_summary).read_text()
    assert "<td class=num>117,600</td>" in page and "<td>Conv2d</td>" in page
    assert "<td class=num>80.0%</td>" in page  # per-class accuracy
    # A setting not set reads "none", as the headline's preset: not config.yaml's null.
    assert "<th scope=row>weights</th><td>none</td>" in page and "null" not in text(page)
    assert "<th scope=row>flip</th><td>false</td>" in page
    assert "None" not in text(page) and "False" not in text(page)
    assert "<th scope=row>python</th><td>3.11.7</td>" in page and "<pre>" not in page
    # The terminal's advice for `cnnlab summary` is no fact about this run.
    assert "--batch-size" not in page and "measured with the model in eval mode" in page


def test_byte_sizes_in_binary_units_are_right_aligned_as_numbers():
    # format_bytes writes KiB/MiB/GiB: only "MB" (and "KB") cells were taken as numbers.
    from cnnlab.train.report import html_table

    sizes = ["999 B", "0.977 KiB", "45.3 KiB", "2.38 MiB", "3.00 GiB", "2.05 kB", "1.2 MB"]
    page = html_table(["layer", "size"], [["conv", size] for size in sizes])
    assert all(f"<td class=num>{size}</td>" in page for size in sizes)
    assert "<td>conv</td>" in page


def test_a_run_records_its_cpu_model_threads_and_training_images(tmp_path):
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r", threads=1)
    train(cfg, data=make_synthetic(num_train=64, num_test=32))
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    env = summary["environment"]
    assert env["torch_threads"] == 1 and summary["train_images"] == 64
    assert env["cpu_model"] and env["cpu_model"] != env["processor"]  # not just x86_64
    assert "1 torch thread)" in (tmp_path / "r" / "report.html").read_text()


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_run_shows_its_first_misclassified_test_images(tmp_path, monkeypatch):
    from cnnlab.train import run_outputs

    data = make_synthetic(num_train=64, num_test=64)
    seen = {}
    real = run_outputs.plot_examples

    def spy(images, found, classes, out, **kw):
        seen.update(found=found, title=kw.get("title"))
        return real(images, found, classes, out, **kw)

    monkeypatch.setattr(run_outputs, "plot_examples", spy)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r", lr=1e-4)
    train(cfg, data=data)
    run = tmp_path / "r"
    summary = json.loads((run / "summary.json").read_text())
    confusion = summary["confusion"]  # one epoch: the last evaluation is the best
    assert seen["found"] and len(seen["found"]) <= 16
    for index, true, pred in seen["found"]:
        assert int(data.test.labels[index]) == true and true != pred
        assert confusion[true][pred] > 0  # one of the matrix's own errors
    assert "after epoch 1 of 1" in seen["title"]
    assert 'id="figure-misclassified"' in (run / "report.html").read_text()


def test_the_misclassified_images_of_an_earlier_best_epoch_use_its_weights(tmp_path,
                                                                          monkeypatch):
    # Shown the best epoch's confusion matrix, the grid must come from the same weights,
    # the best checkpoint's, not the last epoch's that train() returns.
    import torch

    from cnnlab.train import run_outputs
    from cnnlab.train.checkpoint import load_checkpoint
    from cnnlab.train.report_evaluation import ShownEvaluation
    from cnnlab.train.run import train_with_trainer

    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=2, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r")
    trainer, result = train_with_trainer(cfg, data=make_synthetic(num_train=64, num_test=64))
    used = []
    monkeypatch.setattr(run_outputs, "first_misclassified",
                        lambda model, *a, **k: used.append(model) or [])
    shown = ShownEvaluation(1, {}, [], is_best=True)  # as if epoch 1 had been the best
    run_outputs._plot_misclassified(trainer, result, shown, "t", tmp_path / "m.png")
    best = load_checkpoint(tmp_path / "r" / "checkpoints" / "best.safetensors")[0]["model"]
    assert used[0] is not result.model
    for name, value in used[0].state_dict().items():
        assert torch.equal(value, best[name]), name


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_resumed_run_whose_figures_fail_shows_none_of_the_old_ones(tmp_path, monkeypatch):
    # The first call's curves and misclassified grid stayed in plots/ when the resumed
    # run could not draw them, and report.html embedded them as this run's.
    from cnnlab.notices import FigureWarning
    from cnnlab.train import resume, run_outputs

    data = make_synthetic(num_train=64, num_test=64)
    cfg = TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r", lr=1e-4)
    train(cfg, data=data)
    run = tmp_path / "r"
    assert (run / "plots" / "misclassified.png").exists()
    assert (run / "plots" / "curves.png").exists()

    def broken(*args, **kwargs):
        raise ValueError("no such font")

    monkeypatch.setattr(run_outputs, "first_misclassified", broken)
    monkeypatch.setattr(run_outputs, "plot_curves", broken)
    with pytest.warns(FigureWarning, match="the report is written without it"):
        resume(run, extra_epochs=1, data=data)
    page = (run / "report.html").read_text()
    assert not (run / "plots" / "misclassified.png").exists()
    assert not (run / "plots" / "curves.png").exists()
    assert 'id="figure-misclassified"' not in page and 'id="figure-curves"' not in page
    assert 'id="figure-confusion"' in page  # drawn again by this call


def test_the_report_embeds_only_the_figures_it_is_given(tmp_path):
    from cnnlab.figures import save_figure, subplots

    summary = run_with_epochs(tmp_path, [0.8], [400])
    for name in ("curves", "confusion", "misclassified"):
        save_figure(subplots()[0], tmp_path / "plots" / f"{name}.png")
    page = write_report(tmp_path, summary, figures=["confusion.png"]).read_text()
    assert re.findall(r'id="figure-(\w+)"', page) == ["confusion"]
    page = write_report(tmp_path, summary).read_text()  # not said: whatever plots/ holds
    assert re.findall(r'id="figure-(\w+)"', page) == ["curves", "confusion", "misclassified"]


def test_a_best_checkpoint_of_no_recorded_epoch_is_named_without_an_epoch(tmp_path):
    # Stopped by max_time mid-epoch at its best accuracy, then resumed: the resume trains
    # that epoch again and replaces its row, so no epoch of metrics.csv has the best
    # accuracy (best_epoch None). The note must not name one, nor blame the file.
    summary = run_with_epochs(tmp_path, [0.80, 0.70, 0.85], [300, 350, 400])
    summary.update(best_test_acc=0.95, best_epoch=None)
    words = text(write_report(tmp_path, summary).read_text())
    assert "after epoch 3 of 3, EMA weights (decay 0.999), the last epoch" in words
    assert ("These are the last evaluation's results (epoch 3, 85.0%). The best checkpoint "
            "(95.0%) is what cnnlab eval and cnnlab predict use; no row of the run's "
            "history (metrics.csv) is its evaluation") in words.replace("&#x27;", "'")
    assert "lacks" not in words and "95.0% at epoch" not in words


def test_the_best_epoch_is_the_one_the_best_checkpoint_records_not_a_tie(tmp_path):
    from cnnlab.train.report_evaluation import best_epoch

    history = [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.7},
               {"epoch": 3, "test_acc": 0.7}]
    assert best_epoch(history, 0.7) == 2  # no checkpoint to ask: the first to reach it
    (tmp_path / "checkpoints").mkdir()
    record = tmp_path / "checkpoints" / "best.json"
    record.write_text(json.dumps({"epoch": 3, "step_in_epoch": 0}))
    assert best_epoch(history, 0.7, tmp_path) == 3  # e.g. epoch 2's best row was replaced
    record.write_text(json.dumps({"epoch": 3, "step_in_epoch": 40}))  # mid-epoch, row gone
    assert best_epoch(history, 0.7, tmp_path) is None


def test_a_mid_epoch_best_is_not_named_by_the_row_a_resume_trained_again(tmp_path):
    # A budget stop evaluated epoch 3 at step 4 and saved that as the best; the resume
    # trained epoch 3 in full, whose row tied. Its weights are not the best checkpoint's.
    from cnnlab.train.report_evaluation import best_epoch

    history = [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.7},
               {"epoch": 3, "test_acc": 1.0}, {"epoch": 4, "test_acc": 1.0}]
    (tmp_path / "checkpoints").mkdir()
    for which, epoch, step in (("best", 2, 4), ("last", 4, 0)):
        (tmp_path / "checkpoints" / f"{which}.json").write_text(
            json.dumps({"epoch": epoch, "step_in_epoch": step}))
    assert best_epoch(history, 1.0, tmp_path) is None
    # Not resumed: the history's epoch-3 row is that partial evaluation's.
    (tmp_path / "checkpoints" / "last.json").write_text(
        json.dumps({"epoch": 2, "step_in_epoch": 4}))
    assert best_epoch(history[:3], 1.0, tmp_path) == 3
