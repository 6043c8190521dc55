"""figures.image_grid: the image grid of `cnnlab data show`, drawn and saved as every
cnnlab figure is (figures.subplots, save_figure), not by a Figure of the CLI's own."""

from __future__ import annotations

import torch
from PIL import Image
from typer.testing import CliRunner

from cnnlab.cli import app
from cnnlab.figures import image_grid


def test_data_show_writes_a_square_grid_at_its_resolution(tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(app, ["data", "show", "synthetic", "--n", "4", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as png:  # 2 x 2 cells of 1.3 x 1.45 inches, a title, 100 dpi
        assert png.size == (260, 330)


def test_grey_and_colour_images_with_names_matplotlib_would_read_as_formulas(tmp_path):
    grey = torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8)
    colour = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    for images in (grey, colour):
        # Read as mathtext, r"$\foo$" is an unknown command and the draw fails.
        path = image_grid(images, ["$5 bill $10", r"$\foo$ a_b^c"], tmp_path / "g.svg",
                          title="$ signs $", cols=1)
        svg = path.read_text()
        assert "<svg" in svg and "<image" in svg
