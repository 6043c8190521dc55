"""A sweep folder whose name rich reads as markup ("sw [b]") is printed as it is named:
`cnnlab design run`'s first line read "sweep /tmp/sw : 1 trials" ("[b]" taken for bold)."""

from __future__ import annotations

from design_helpers import tiny_spec
from rich.console import Console

from cnnlab.cli.design_run import say_sweep_so_far
from cnnlab.design.store import TrialStore

SHAPE = {"image_size": 28, "in_channels": 1, "num_classes": 10}  # as create_sweep fills it


def test_the_sweep_line_names_a_bracketed_folder_whole(tmp_path):
    sweep = tmp_path / "sw eep [b] [exp]"
    with TrialStore(sweep, create=True) as store:
        store.init_sweep(tiny_spec("anynetx_a", seed=1, **SHAPE), 2)
    console = Console(record=True, width=400, color_system=None)
    counts, total, _ = say_sweep_so_far(sweep, False, "local", console)
    said = console.export_text()
    assert f"sweep {sweep}: 2 trials, 0 done, 0 failed, 2 to train (local)" in said, said
    assert (counts["done"], total) == (0, 2)
