"""The report's device row names the hardware that ran it (the GPU for a GPU run, the CPU
and its threads for a CPU run, never the other's), and the figures' axes say which way
a confusion matrix reads."""

from __future__ import annotations

from test_report42_perfect_model import perfect_summary, words

from cnnlab.train.report import write_report
from cnnlab.train.report_figures import confusion_figure

ENVIRONMENT = {"gpu": "NVIDIA H100 80GB HBM3", "cpu_model": "AMD EPYC 9654",
               "torch_threads": 4}


def device_row(tmp_path, device: str, **environment) -> str:
    summary = {**perfect_summary(), "device": device, "environment": environment}
    text = words(write_report(tmp_path, summary).read_text(encoding="utf-8"))
    return text[text.index(" device ") + 1:text.index(" Class by class")]


def test_a_cpu_run_names_its_cpu_not_a_gpu_the_machine_had(tmp_path):
    assert device_row(tmp_path, "cpu", **ENVIRONMENT) == \
        "device cpu (AMD EPYC 9654, 4 torch threads)"


def test_a_gpu_run_names_its_gpu_and_not_the_cpu(tmp_path):
    assert device_row(tmp_path, "cuda:0", **ENVIRONMENT) == \
        "device cuda:0 (NVIDIA H100 80GB HBM3)"
    # No GPU name recorded: the device alone, not the CPU it did not train on.
    assert device_row(tmp_path, "cuda:0", cpu_model="AMD EPYC 9654", torch_threads=4) == \
        "device cuda:0"


def test_the_confusion_matrix_reads_true_class_by_row_predicted_by_column():
    fig = confusion_figure([[3, 1], [0, 4]], ["cat", "dog"], "", 2.0)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "true class" and ax.get_xlabel() == "predicted class"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]


def test_a_time_budget_of_a_summary_without_its_cut_says_possibly_mid_epoch(tmp_path):
    # Summaries written before cnnlab recorded cut_epoch cannot tell where it stopped.
    summary = {**perfect_summary(), "stopped": "max_time"}
    text = words(write_report(tmp_path, summary).read_text(encoding="utf-8"))
    assert "stopped at its time budget (max_time), possibly mid-epoch " in text


def test_a_table_of_no_rows_sets_no_column_as_numbers():
    from cnnlab.train.report import html_table

    assert "class=num" not in html_table(["class", "accuracy"], [])


class HalfDrawn:
    """A figure whose drawing stops halfway (a kill, a full disk): half a file written."""

    def savefig(self, path, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"\x89PNG half")
        raise OSError("stopped mid-draw")


def test_a_figure_stopped_mid_draw_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    import pytest

    from cnnlab.figures import FORMATS_VARIABLE, save_figure

    monkeypatch.delenv(FORMATS_VARIABLE, raising=False)
    out = tmp_path / "plots" / "curves.png"
    out.parent.mkdir()
    out.write_bytes(b"the previous figure")
    with pytest.raises(OSError, match="mid-draw"):
        save_figure(HalfDrawn(), out, layout=False)
    assert out.read_bytes() == b"the previous figure"
    assert [p.name for p in out.parent.iterdir()] == ["curves.png"]  # no temporary left


def test_the_accuracy_axis_is_cut_only_above_20_percent_a_step_below_the_lowest():
    from cnnlab.train.report_figures import accuracy_floor

    assert accuracy_floor([15.0, 90.0]) == 0.0  # low: the whole axis
    assert accuracy_floor([0.5, 60.0]) == 0.0  # not -10%
    assert accuracy_floor([30.0, 90.0]) == 20.0  # the lowest point not on the axis' edge
    assert accuracy_floor([87.3, 99.0]) == 80.0


def test_a_loss_over_many_decades_is_drawn_on_a_log_axis_labelled_so():
    from cnnlab.figures import subplots
    from cnnlab.train.report_figures import loss_axis

    _, (wide, narrow) = subplots(1, 2)
    loss_axis(wide, [2.3, 0.4, 1e-4], "loss")
    loss_axis(narrow, [2.3, 0.4], "loss")
    assert (wide.get_yscale(), wide.get_ylabel()) == ("log", "loss (log scale)")
    assert (narrow.get_yscale(), narrow.get_ylabel()) == ("linear", "loss")


def test_the_curves_say_what_the_train_loss_adds_and_plot_percents_and_lr_from_zero():
    from cnnlab.train.report_figures import curves_figure

    rows = [{"epoch": e, "train_loss": 1.0 / e, "test_loss": 1.1 / e, "train_acc": 0.8,
             "test_acc": acc, "lr": 0.1 * e} for e, acc in ((1, 0.9), (2, 0.95))]
    fig = curves_figure(rows, "label smoothing 0.1")
    loss, accuracy, lr = fig.axes[:3]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0].replace("\n", " ") == "train (the loss with label smoothing 0.1)"
    assert list(accuracy.lines[1].get_ydata()) == [90.0, 95.0]  # test, in percent
    assert accuracy.get_ylabel() == "accuracy (%)" and loss.get_xlabel() == "epoch"
    assert lr.get_ylim()[0] == 0  # a learning rate's fall read from zero


def test_the_accuracy_axis_ends_past_100_percent_so_a_perfect_score_is_seen():
    import pytest

    from cnnlab.figures import subplots
    from cnnlab.train.report_figures import accuracy_axis

    _, ax = subplots()
    accuracy_axis(ax, [50.0, 100.0], "Accuracy")
    assert ax.get_ylim() == pytest.approx((40.0, 101.8))
    assert ax.get_title() == "Accuracy (axis starts at 40%)"


class Recorded:
    """A figure that records the format each file is written in."""

    def __init__(self):
        self.formats = []

    def savefig(self, path, **kwargs):
        self.formats.append(kwargs["format"])
        with open(path, "wb") as fh:
            fh.write(b"drawn")


def test_a_figure_is_written_in_its_suffixs_format_and_each_extra_one(tmp_path, monkeypatch):
    from cnnlab.figures import FORMATS_VARIABLE, save_figure

    monkeypatch.setenv(FORMATS_VARIABLE, "pdf, svg")
    fig = Recorded()
    save_figure(fig, tmp_path / "chart.SVG", layout=False)
    assert fig.formats == ["svg", "pdf"]  # the svg asked for once, as the path's own
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.SVG", "chart.pdf"]


def test_a_grids_class_names_are_drawn_as_written_not_as_formulas(tmp_path, monkeypatch):
    import torch

    from cnnlab import figures

    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path, **kw: drawn.append(fig))
    figures.image_grid(torch.zeros(1, 1, 2, 2, dtype=torch.uint8), ["$5 bill $10"],
                       tmp_path / "grid.png", "first $ images")
    ax = drawn[0].axes[0]
    assert ax.get_title() == r"\$5 bill \$10"  # matplotlib reads \$ as a dollar sign
    assert drawn[0].get_suptitle() == r"first \$ images"
    # Grey as stored, black 0 and white 255: a dark image is not stretched to look bright.
    assert ax.images[0].get_clim() == (0, 255)


def png_of(width_px: int, dpi: int) -> bytes:
    """A PNG's header and pHYs chunk alone (what embed_png reads of its size)."""
    per_metre = round(dpi / 0.0254).to_bytes(4, "big")
    return (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + width_px.to_bytes(4, "big")
            + (1).to_bytes(4, "big") + b"\x08\x06\x00\x00\x00" + b"crc!"
            + b"\x00\x00\x00\x09pHYs" + per_metre + per_metre + b"\x01" + b"crc!")


def test_an_embedded_figure_is_shown_at_its_drawn_size_and_shrinks_to_three_quarters(
        tmp_path):
    from cnnlab.figures import embed_png

    path = tmp_path / "curves.png"
    path.write_bytes(png_of(300, 150))  # 2 inches: 192 CSS px
    page = embed_png(path)
    assert 'style="width:192px;min-width:144px"' in page
    assert 'alt="curves"' in page  # no name given: the file's
