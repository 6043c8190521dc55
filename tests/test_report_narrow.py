"""The HTML pages read on a phone as on a desktop: laid out at the screen's width, a table
too wide for it scrolling in its own box (not the whole page), its header cells naming
their columns to a screen reader, and no figure text cut off at the image's edge.

Seen in headless Chromium at 400 px: no viewport line (a phone lays such a page out
980 px wide and shrinks it), the layer table and the design report's tables widening the
page past the screen, and the error-vs-MACs figure's subtitle cut at both ends."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser

from design_helpers import kept_figures, shaped_spec
from matplotlib.backends.backend_agg import FigureCanvasAgg

from cnnlab.design.report import analyze
from cnnlab.design.store import TrialStore
from cnnlab.train.report import html_table, write_report


class _Page(HTMLParser):
    """What these tests ask of a page: its meta tags, and for each <table> the style of
    the element holding it and the attributes of its column headers."""

    def __init__(self, page: str):
        super().__init__()
        self.metas, self.tables, self._open = [], [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            self.metas.append(attrs)
        elif tag == "table":
            holder = self._open[-1] if self._open else ("", {})
            self.tables.append({"holder": holder, "col_headers": []})
        elif tag == "th" and "thead" in [t for t, _ in self._open]:
            self.tables[-1]["col_headers"].append(attrs)
        if tag not in ("meta", "img", "br"):  # void elements have no end tag
            self._open.append((tag, attrs))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass


def _viewport(page: _Page) -> str | None:
    return next((m.get("content") for m in page.metas if m.get("name") == "viewport"), None)


def _header_tables_scroll_and_name_their_columns(page: _Page) -> int:
    with_header = [t for t in page.tables if t["col_headers"]]
    for table in with_header:
        tag, attrs = table["holder"]
        assert tag == "div" and "overflow-x:auto" in attrs.get("style", ""), table
        assert attrs.get("tabindex") == "0", table  # scrolled from the keyboard too
        assert all(h.get("scope") == "col" for h in table["col_headers"]), table
    return len(with_header)


def test_a_tables_header_names_its_columns_and_the_table_scrolls_in_its_own_box():
    for inline in (False, True):  # a page's table, and a notebook's
        page = _Page(html_table(["layer", "params"], [["conv1", "156"]], inline_style=inline))
        assert _header_tables_scroll_and_name_their_columns(page) == 1


def test_a_run_report_lays_out_at_a_phones_width(tmp_path):
    summary = {"model": "lenet_modern", "classes": ["cat", "dog"],
               "final": {"epoch": 1, "test_acc": 0.8, "images_per_s": 1000.0},
               "best_test_acc": 0.8, "best_epoch": 1, "eval_images": 1000,
               "per_class_acc": {"cat": 0.7, "dog": 0.9}, "confusion": [[70, 30], [10, 90]],
               "config": {"data": "fashion-mnist", "epochs": 1}, "device": "cpu",
               "parameters": 62158, "environment": {"cnnlab_sources": "f3e7b851d43b" * 5}}
    (tmp_path / "class_metrics.jsonl").write_text(
        '{"epoch": 1, "per_class_acc": {"cat": 0.7, "dog": 0.9}, '
        '"confusion": [[70, 30], [10, 90]]}\n', encoding="utf-8")
    layers = {"rows": [{"name": "conv1", "type": "Conv2d", "output_shapes": [[1, 6, 28, 28]],
                        "params": 156, "macs": 117600}], "totals": {"Parameters": "156"}}
    written = write_report(tmp_path, summary, layers).read_text(encoding="utf-8")
    page = _Page(written)
    assert _viewport(page) == "width=device-width,initial-scale=1"
    # Printed, a table is whole: its scrolling box cut off its last columns on paper.
    assert re.search(r"@media print\{div\[style\]\{overflow:visible!important\}", written)
    # the per-class table and the layer table
    assert _header_tables_scroll_and_name_their_columns(page) == 2
    # 12 digits of the sources' digest, as cnnlab names code elsewhere: all 64, one
    # unbreakable word, widened the page past a phone's screen.
    assert ">f3e7b851d43b<" in written and "f3e7b851d43bf3e7" not in written


def _sweep(folder, errors):
    # `design run`'s defaults (10 epochs, the paper's) on a subset of Fashion-MNIST
    spec = replace(shaped_spec(), data="fashion-mnist", train_subset=10000,
                   train={"epochs": 10, "eval_subset": 2000})
    with TrialStore(folder, create=True) as store:
        store.init_sweep(spec, len(errors))
        for i, e in enumerate(errors):
            store.mark_running(i, "lab-pc:101")
            store.record(i, "done", error_pct=e, test_acc=1 - e / 100, train_time_s=1.0,
                         worker="lab-pc:101")
    return folder


def test_the_design_report_lays_out_at_a_phones_width_and_its_figures_keep_their_text(
        tmp_path, monkeypatch):
    figures = kept_figures(monkeypatch)
    sweeps = [_sweep(tmp_path / "a", [30.0, 31.0, 32.0, 40.0]),
              _sweep(tmp_path / "b", [20.0, 21.0, 22.0, 23.0])]
    analyze(sweeps, tmp_path / "r", resamples=50)
    page = _Page((tmp_path / "r" / "report.html").read_text(encoding="utf-8"))
    assert _viewport(page) == "width=device-width,initial-scale=1"
    assert _header_tables_scroll_and_name_their_columns(page) >= 4
    # Everything drawn, the subtitle saying what was swept included, lies on the figure
    # (its one line, "fashion-mnist (the first 10,000 of the training split); 10 epochs;
    # 100K-1M MACs at 1x28x28, 10 classes", was wider than the error-vs-MACs figure).
    for name, fig in figures.items():
        drawn = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())  # inches
        width, height = fig.get_size_inches()
        assert (drawn.x0 >= 0 and drawn.x1 <= width and drawn.y0 >= 0
                and drawn.y1 <= height), (name, drawn, width, height)
        assert "10,000" in fig.get_suptitle() and "MACs" in fig.get_suptitle()
