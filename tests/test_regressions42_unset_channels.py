"""channels unset reads "the data's" for data that is no folder: channels decodes a
folder's images, and Fashion-MNIST (or synthetic data) keeps its one channel whatever
the model takes, but every such run's report read "channels the model's" (a 3 to the
reader of a resnet18 run), as did compare beside a run given --channels 3."""

from __future__ import annotations

from compare_helpers import FINISHED, make_run, three_epochs

from cnnlab.train import compare_runs
from cnnlab.train.compare_tables import differences_cells
from cnnlab.train.report import write_report


def test_a_fashion_mnist_report_reads_channels_as_the_datas(tmp_path):
    summary = {"model": "resnet18", "final": {"epoch": 1, "test_acc": 0.5},
               "config": {"data": "fashion-mnist", "channels": None, "threads": None}}
    page = write_report(tmp_path, summary, figures=[]).read_text(encoding="utf-8")
    assert "the data&#x27;s" in page or "the data's" in page
    assert "the model" not in page.split("Configuration")[1]
    folder = {**summary, "config": {"data": "folder:/photos", "channels": None}}
    page = write_report(tmp_path, folder, figures=[]).read_text(encoding="utf-8")
    assert "the model&#x27;s" in page or "the model's" in page


def test_compare_of_synthetic_runs_reads_unset_channels_as_the_datas(tmp_path):
    make_run(tmp_path, "a", three_epochs(0.5, 0.8, 0.7), FINISHED)
    make_run(tmp_path, "b", three_epochs(0.6, 0.6, 0.9), FINISHED, channels=3)
    comparison = compare_runs(tmp_path / "a", tmp_path / "b")
    assert comparison.labels() == ["channels=the data's", "channels=3"]
    assert differences_cells(comparison, by_run=False)[1] == [["channels", "the data's", "3"]]
    assert differences_cells(comparison, by_run=True)[1] == [["a", "the data's"], ["b", "3"]]
