"""A run's report: its figures draw user-given names as written, and a figure that cannot
be drawn never costs the report of a trained run."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cnnlab.data.synthetic import make_synthetic
from cnnlab.train import TrainConfig, train


def tiny_cfg(tmp_path, **kw) -> TrainConfig:
    values = dict(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                  device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r")
    return TrainConfig(**{**values, **kw})


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_class_names_with_dollar_signs_are_drawn_as_written(tmp_path, monkeypatch):
    from cnnlab.train import report_figures

    data = make_synthetic(num_train=64, num_test=32, num_classes=2)
    # Between two $ matplotlib reads a formula: this one does not parse, $5_bill$ would
    # be typeset with a subscript.
    data = dataclasses.replace(data, classes=["$5_bill$", r"price $\foo$"])
    drawn = []
    original = report_figures.plot_confusion

    def spy(matrix, classes, out, **kw):
        path = original(matrix, classes, out, **kw)
        drawn.append(out)
        return path

    monkeypatch.setattr("cnnlab.train.run_outputs.plot_confusion", spy)
    train(tiny_cfg(tmp_path), data=data)
    assert drawn and (tmp_path / "r" / "plots" / "confusion.png").exists()
    from cnnlab.figures import literal, subplots

    fig, _ = subplots()
    text = fig.text(0, 0, literal("$5_bill$"))
    assert text._preprocess_math(text.get_text()) == ("$5_bill$", False)  # drawn, not math
    assert "price $\\foo$" in (tmp_path / "r" / "report.html").read_text()


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_run_leaves_pyplot_and_the_callers_backend_as_they_were(tmp_path):
    # A notebook's inline backend stands in as svg: the run's figures are drawn without
    # switching it (they switched it to Agg, and the notebook's plt.show() went blank).
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        train(tiny_cfg(tmp_path), data=make_synthetic(num_train=64, num_test=32))
        assert matplotlib.get_backend() == "svg" and plt.get_fignums() == []
        assert (tmp_path / "r" / "plots" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    finally:
        matplotlib.use(before)


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_figure_that_fails_costs_only_that_figure(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("no such font")

    monkeypatch.setattr("cnnlab.train.run_outputs.plot_curves", broken)
    with pytest.warns(RuntimeWarning, match="could not draw .*curves.png .*no such font"):
        train(tiny_cfg(tmp_path), data=make_synthetic(num_train=64, num_test=32))
    run = tmp_path / "r"
    assert (run / "report.html").exists() and (run / "plots" / "confusion.png").exists()
    assert not (run / "plots" / "curves.png").exists()


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_the_train_loss_curve_says_what_it_adds_to_the_test_loss(tmp_path, monkeypatch):
    # With label smoothing the train loss cannot fall below ~0.5 on 10 classes while the
    # test loss (plain cross-entropy) can: the legend says so.
    from matplotlib.figure import Figure

    seen = []
    real = Figure.legend

    def legend(fig, *a, **k):
        seen.extend(h.get_label() for h in k.get("handles", []))
        return real(fig, *a, **k)

    monkeypatch.setattr(Figure, "legend", legend)
    train(tiny_cfg(tmp_path, label_smoothing=0.1), data=make_synthetic(num_train=64,
                                                                       num_test=32))
    assert any(t.startswith("train") and t.endswith("(the loss with label smoothing 0.1)")
               for t in seen) and any(t.startswith("test") for t in seen)
    seen.clear()
    train(tiny_cfg(tmp_path, run_name="plain"), data=make_synthetic(num_train=64, num_test=32))
    assert any(t.startswith("train") for t in seen)
    assert not any("label smoothing" in t for t in seen)


def test_the_report_says_why_training_stopped(tmp_path):
    data = make_synthetic(num_train=64, num_test=32)
    train(tiny_cfg(tmp_path, epochs=2, max_time=1e-6), data=data)
    page = (tmp_path / "r" / "report.html").read_text()
    # It said "epochs 1 of 2", "possibly mid-epoch": compare said 0.5 of the same run.
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["cut_epoch"] == {"steps": 1, "of": 2}
    assert "at its time budget (max_time), mid-epoch" in page
    assert "0.5 of 2 (epoch 1 stopped at step 1 of 2)" in page
    # its only epoch paid the start-up: said beside its speed
    assert "images/s (train, epoch 1: start-up included)" in page
    train(tiny_cfg(tmp_path, run_name="whole", epochs=2), data=data)
    page = (tmp_path / "whole" / "report.html").read_text()
    assert "after every planned epoch" in page and "images/s (train, last epoch)" in page


def test_a_figure_cut_short_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from cnnlab.figures import save_figure, subplots

    fig, ax = subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "curves.png")
    before = path.read_bytes()
    real = Figure.savefig

    def killed_mid_draw(self, fname, **kw):
        real(self, fname, **kw)
        with open(fname, "r+b") as fh:
            fh.truncate(100)  # half a file on disk ...
        raise KeyboardInterrupt  # ... when the kill comes

    monkeypatch.setattr(Figure, "savefig", killed_mid_draw)
    with pytest.raises(KeyboardInterrupt):
        save_figure(subplots()[0], path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_the_report_of_a_torchrun_run_gives_its_processes_and_their_batch(tmp_path):
    from cnnlab.train.report import write_report

    summary = {"model": "m", "world_size": 2, "config": {"batch_size": 64}}
    page = write_report(tmp_path, summary).read_text()
    assert "processes (torchrun)</th><td>2, batch 64 each (128 a step)" in page
    page = write_report(tmp_path, {**summary, "world_size": 1}).read_text()
    assert "processes (torchrun)" not in page


def test_the_report_shows_totals_in_words_and_a_missing_preset_as_none(tmp_path):
    data = make_synthetic(num_train=64, num_test=32)
    train(tiny_cfg(tmp_path), data=data)
    page = (tmp_path / "r" / "report.html").read_text()
    assert "<th scope=row>Parameters</th>" in page and "trainable)" in page
    assert "param_mb" not in page and "training_pass_mode" not in page
    assert "<th scope=row>preset</th><td>none</td>" in page


def test_a_long_runs_train_time_reads_in_minutes_or_hours():
    # A two-hour run read "7200.0 s"; compare gives minutes and hours past 10 minutes.
    from cnnlab.train.report import _headline

    def shown(seconds):
        return dict(_headline({"model": "lenet_modern", "train_time_s": seconds}))["train time"]

    assert [shown(s) for s in (37.04, 7200, 40_000)] == ["37.0 s", "120.0 min", "11.1 h"]
