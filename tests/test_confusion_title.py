"""The confusion matrix's title is short enough for a slide, says which evaluation it is
on its own, and the report's caption gives the whole description the title left out."""

from __future__ import annotations

import pytest
from test_report_page import run_with_epochs, text

from cnnlab.train import report_figures
from cnnlab.train.report import write_report
from cnnlab.train.report_evaluation import ShownEvaluation, evaluation_words

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot"]
# What the lesson's run was: 1,000 of 10,000 test images, epoch 9 of 10, EMA 0.999.
SUMMARY = {"eval_images": 1000, "eval_scope": "first 1,000 of 10,000 test images",
           "config": {"epochs": 10, "ema_decay": 0.999}}
BEST = ShownEvaluation(epoch=9, per_class_acc={}, confusion=[], is_best=True)
MATRIX = [[90 if i == j else 1 for j in range(10)] for i in range(10)]


def title_lines(fig, points_at_least: float) -> int:
    """Lines of the figure's text drawn at ``points_at_least`` or larger above the matrix
    (the titles, not the class names, counts or colour bar)."""
    from matplotlib.text import Text

    wanted = {fig.get_suptitle(), fig.axes[0].get_title()} - {""}
    return sum(t.get_text().count("\n") + 1 for t in fig.findobj(Text)
               if t.get_text() in wanted and t.get_fontsize() >= points_at_least)


def test_a_runs_confusion_title_is_a_few_words_at_title_size():
    # The lesson's figure: "Confusion matrix: test set (first 1,000 of 10,000 test
    # images), after epoch 9 of 10, EMA weights (decay 0.999), the best checkpoint /
    # cells: ..." wrapped to six lines at 12 pt, a third of the figure on a projector.
    titles = report_figures.confusion_titles(SUMMARY, BEST)
    assert titles["heading"] == "best checkpoint (epoch 9), 1,000 test images"
    fig = report_figures.confusion_figure(MATRIX, FASHION, size=7.5, narrow=True, **titles)
    heading = fig.get_suptitle().replace("\n", " ")
    assert heading == "Confusion matrix: best checkpoint (epoch 9), 1,000 test images"
    assert title_lines(fig, 12) <= 2
    # Still said in the figure, smaller: which weights, and what the cells are.
    small = fig.axes[0].get_title().replace("\n", " ")
    assert "EMA weights" in small and "cells: image counts" in small
    assert fig.axes[0].title.get_fontsize() < 12


def test_the_whole_description_given_as_title_is_drawn_small_under_a_short_heading():
    # A caller that passes the whole description (as the run's outputs did) no longer
    # gets it at title size: six lines of 12 pt before.
    long = evaluation_words(SUMMARY, BEST)
    fig = report_figures.confusion_figure(MATRIX, FASHION, long, 7.5, narrow=True)
    assert title_lines(fig, 12) == 1
    assert long in fig.axes[0].get_title().replace("\n", " ")


def test_the_reports_caption_says_in_full_which_evaluation_the_matrix_is(tmp_path):
    summary = run_with_epochs(tmp_path, [0.80, 0.90, 0.85], [300, 450, 400])
    (tmp_path / "plots").mkdir()
    report_figures.plot_confusion([[450, 50], [50, 450]], ["cat", "dog"],
                                  tmp_path / "plots" / "confusion.png")
    words = text(write_report(tmp_path, summary).read_text(encoding="utf-8"))
    assert ("Confusion matrix of the test set (1,000 images), after epoch 2 of 3, EMA "
            "weights (decay 0.999), the best checkpoint: a row per true class") in words


@pytest.mark.usefixtures("figures_drawn")  # its runs draw their figures (conftest)
def test_a_runs_confusion_figure_gets_the_few_word_heading(tmp_path, monkeypatch):
    # run_outputs passed the whole description as the title: the heading never reached it.
    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.train import TrainConfig, run_outputs, train

    asked = []
    real = run_outputs.plot_confusion
    monkeypatch.setattr(run_outputs, "plot_confusion",
                        lambda *args, **kwargs: asked.append(kwargs) or real(*args, **kwargs))
    train(TrainConfig(model="lenet_modern", data="synthetic", epochs=1, batch_size=32,
                      device="cpu", quiet=True, out_dir=str(tmp_path), run_name="r"),
          data=make_synthetic(num_train=64, num_test=32, seed=3))
    [kwargs] = asked
    assert kwargs["heading"] == "best checkpoint (epoch 1), 32 test images"
    assert (tmp_path / "r" / "plots" / "confusion.png").is_file()
