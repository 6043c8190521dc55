"""`cnnlab compare`'s tables at the width of a terminal or a pipe: many runs, long run
names, narrow and wide consoles; nothing is lost and no line is wider than the console."""

from __future__ import annotations

import pytest
from compare_helpers import FINISHED, make_run, three_epochs

from cnnlab.formatting import rich_as_text
from cnnlab.train import compare_runs

# Nine runs as a README session leaves them: dated folder names, and recipes that differ
# in many settings (a book recipe beside cnnlab's modern one, a subset, a resize).
BOOK = {"batch_size": 128, "lr": 0.1}
MODERN = {"batch_size": 256, "lr": 0.1, "optimizer": "nesterov", "momentum": 0.9,
          "weight_decay": 5e-4, "schedule": "onecycle", "warmup_epochs": 0.3,
          "label_smoothing": 0.1, "ema_decay": 0.999, "crop_padding": 2, "flip": True,
          "normalize": True}
RUNS = [("lenet_bn_d2l", BOOK), ("resnet18_small", {**MODERN, "train_subset": 512}),
        ("vgg_d2l", {**BOOK, "lr": 0.01, "resize": 64}),
        ("lenet_modern", {"train_subset": 5000}),
        ("lenet_modern", {**MODERN, "train_subset": 5000}),
        ("resnet18_small", {"resize": 64}), ("lenet_bn", BOOK),
        ("lenet_modern", {**MODERN, "epochs": 2}), ("lenet_d2l", {**BOOK, "lr": 0.05})]


def nine_runs(root, count: int = 9):
    """``count`` runs, RUNS's recipes over again past 9 (told apart by their seeds)."""
    return compare_runs([make_run(root, f"20261206-05{i:02d}35-{RUNS[i % 9][0]}",
                                  three_epochs(0.5, 0.8, 0.7), FINISHED, model=RUNS[i % 9][0],
                                  seed=i // 9, **RUNS[i % 9][1])
                         for i in range(count)])


def lines_of(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.parametrize("width", [160, 80, 40])
def test_many_runs_keep_every_setting_name_at_any_width(tmp_path, width):
    # 9 runs at 160 columns (a pipe's width): rich shrank the settings table's columns
    # alike, and its first column, the setting names, went down to nothing.
    comparison = nine_runs(tmp_path)
    text = rich_as_text(*comparison.to_tables(width), width=width)
    settings = text[text.index("Settings that differ"):]
    words = set(settings.replace("│", " ").replace("┃", " ").split())
    missing = [key for key in comparison.differences if key not in words]
    assert not missing, text
    assert all(len(line) <= width for line in lines_of(text)), text
    if width >= 80:  # where a run's name fits a column, each is there whole
        assert all(name in settings for name in comparison.names()), text


def test_a_table_too_wide_comes_in_parts_each_saying_which(tmp_path):
    comparison = nine_runs(tmp_path)
    text = rich_as_text(*comparison.to_tables(160), width=160)
    titles = [line for line in lines_of(text) if line.startswith("Settings that differ")]
    count = len(comparison.differences)
    assert len(titles) == 2 and titles[0].endswith(f"of {count})"), text
    assert "settings 1-" in titles[0] and titles[1].endswith(f"-{count} of {count})"), text
    # Wide enough, one table as before: a row per setting, a column per run.
    wide = rich_as_text(*comparison.to_tables(320), width=320)
    assert wide.count("Settings that differ") == 1 and "Settings that differ (" not in wide
    assert "┃ setting " in wide


def test_two_runs_stay_side_by_side_with_their_long_names_folded(tmp_path):
    # 2 runs at 80 columns: their names (28 and 30 characters) beside the setting names
    # are 3 columns too many; folding the names keeps one table to read across.
    comparison = nine_runs(tmp_path, 2)
    text = rich_as_text(*comparison.to_tables(80), width=80)
    assert text.count("Settings that differ") == 1, text
    assert all(len(line) <= 80 for line in lines_of(text)), text
    assert "│ label_smoothing │ 0.0" in text, text


def test_the_results_table_keeps_its_run_names_and_accuracies_at_any_width(tmp_path):
    # At 40 columns rich shrank every column alike: "best test acc", a column never left
    # out, went down to nothing.
    comparison = nine_runs(tmp_path)
    for width in (40, 60):
        text = rich_as_text(comparison.to_tables(width)[0], width=width)
        assert all(len(line) <= width for line in lines_of(text)), text
        cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines_of(text)
                 if line.startswith("│")]
        assert "".join(row[0] for row in cells) == "".join(comparison.names()), text
        assert [row[-1] for row in cells if row[-1]] == ["80.00%"] * 9, text


def test_str_of_many_runs_lays_out_the_tables_at_its_own_width(tmp_path):
    # str() laid the tables out at no width and let rich squeeze them into 200 columns:
    # with 14 runs the setting names went down to nothing.
    comparison = nine_runs(tmp_path, 14)
    text = str(comparison)
    assert all(len(line) <= 200 for line in lines_of(text)), text
    settings = text[text.index("Settings that differ"):]
    assert all(key in settings for key in comparison.differences), text
    assert all(name in settings for name in comparison.names()), text
