"""cnnlab's progress bars say nothing when hidden (a log, captured output)."""

from __future__ import annotations

import io

from rich.console import Console

from cnnlab.progress import ProgressBar


def test_a_hidden_bar_writes_nothing_to_a_console_that_is_not_a_terminal():
    # rich before 15 printed an empty line here when the bar stopped: a blank line in
    # every log of a folder's decoding, a download or a sweep.
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with ProgressBar(console=console, disable=True) as bar:
        bar.advance(bar.add_task("work", total=2), 2)
    assert out.getvalue() == ""


def test_a_shown_bar_still_ends_with_its_last_frame():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=60)
    with ProgressBar(console=console) as bar:
        bar.advance(bar.add_task("work", total=2), 2)
    assert "work" in out.getvalue()


def test_a_notebook_without_ipywidgets_gets_plain_lines_not_a_bar(monkeypatch):
    # rich draws its live display in Jupyter with ipywidgets; without them it warned
    # "install ipywidgets for Jupyter support" and drew no bar.
    import importlib.util

    import rich.console

    from cnnlab.progress import shows_live
    from cnnlab.train.train_progress import TrainProgress

    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    notebook = Console(file=io.StringIO())
    real_find_spec = importlib.util.find_spec

    def widgets(present):
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
            object() if present else None) if name == "ipywidgets" else real_find_spec(name, *a))

    widgets(False)
    assert not shows_live(notebook) and TrainProgress(2, 10, console=notebook).quiet
    widgets(True)
    assert shows_live(notebook) and not TrainProgress(2, 10, console=notebook).quiet


def test_an_epoch_cut_short_is_said_in_the_optimizer_steps_the_report_counts():
    # --accum-steps 2, a time budget at batch 12 of 60: the result table, summary.json's
    # cut_epoch and the report say "step 6 of 30"; this line said "step 12 of 60".
    import io

    from rich.console import Console

    from cnnlab.train.train_progress import TrainProgress

    row = {"epoch": 2, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.1, "test_acc": 0.4,
           "images_per_s": 1000.0, "epoch_time_s": 2.0}
    out = io.StringIO()
    TrainProgress(2, 60, quiet=True, console=Console(file=out, width=200),
                  accum_steps=2).end_epoch(row, steps_done=12)
    assert "epoch 2/2 (stopped at step 6 of 30)" in out.getvalue()
    odd = io.StringIO()  # 61 batches: the last optimizer step sums one batch
    TrainProgress(2, 61, quiet=True, console=Console(file=odd, width=200),
                  accum_steps=2).end_epoch(row, steps_done=12)
    assert "(stopped at step 6 of 31)" in odd.getvalue()


def test_a_long_folder_decode_says_one_line_in_a_log_unless_progress_is_off(
        data_env, monkeypatch, capsys):
    # A log got nothing while a large folder decoded (minutes for 100k images): the bar
    # is drawn only where someone watches it live.
    from PIL import Image

    from cnnlab.data import folder

    root = data_env / "pets"
    for i in range(4):
        (root / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        Image.new("L", (6, 6), 40 * i).save(root / f"c{i % 2}" / f"{i}.png")
    monkeypatch.setattr(folder, "DECODE_SAID_FROM", 4)
    folder.load_folder(root, image_size=8, channels=1, use_cache=False)
    said = capsys.readouterr().err
    assert f"decoding 4 images of {root} at 8x8" in " ".join(said.split())
    assert said.count("decoding") == 1
    folder.load_folder(root, image_size=8, channels=1, use_cache=False, progress=False)
    assert "decoding" not in capsys.readouterr().err  # asked for no progress: nothing
    monkeypatch.setattr(folder, "DECODE_SAID_FROM", 5)
    folder.load_folder(root, image_size=8, channels=1, use_cache=False)
    assert "decoding" not in capsys.readouterr().err  # a quick decode: nothing
