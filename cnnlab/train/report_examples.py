"""Misclassified test images for a run's report: what the confusion matrix counts, seen.

The images are the run's own test split, already in memory where the report is written;
the predictions come from the weights the report's confusion matrix is of, with the same
test-time views as the run's evaluation, so every image shown is one of that matrix's
off-diagonal counts.
"""

from __future__ import annotations

from pathlib import Path

import torch

from cnnlab.figures import fitted, image_grid
from cnnlab.train.device import autocast_context
from cnnlab.train.evaluate import tta_logits, tta_views

# As many as a report shows legibly: four rows of COLUMNS (below).
EXAMPLES = 16


@torch.no_grad()
def first_misclassified(model, batches, *, device: torch.device, amp: str = "off",
                        tta: tuple[bool, int] = (False, 0), fill: list[float] | None = None,
                        limit: int = EXAMPLES) -> list[tuple[int, int, int]]:
    """``(position, true class, predicted class)`` of the first ``limit`` images that
    ``model`` gets wrong, in the order ``batches`` (an evaluation loader) yields them.
    Stops as soon as it has them: a good model is asked about a few batches only."""
    views = tta_views(*tta)
    border = torch.tensor(fill if fill is not None else [0.0], device=device).view(1, -1, 1, 1)
    was_training = model.training
    model.eval()
    found: list[tuple[int, int, int]] = []
    seen = 0
    try:
        for x, y in batches:
            with autocast_context(device, amp):
                pred = tta_logits(model, x, views, border).argmax(dim=1)
            # On the CPU: MPS before macOS 14 has no nonzero of its own (and warns).
            wrong = (pred != y).cpu().nonzero().flatten().tolist()
            if wrong:
                y_list, pred_list = y.tolist(), pred.tolist()
                found += [(seen + i, y_list[i], pred_list[i]) for i in wrong]
            seen += len(y)
            if len(found) >= limit:
                break
    finally:
        model.train(was_training)
    return found[:limit]


# The grid drawn for a phone's column: 4 images a row, 1.15 inches each (4.6 inches, as
# the report's compact confusion matrix), shown whole at 75% on a 390 px phone
# (figures.SMALLEST_SHOWN) and at its size on a laptop; titles at 9 pt, cnnlab's least.
# (8 a row at 1.65 inches and 8 pt made 13.2 inches: 8 px titles on a laptop, 2 px on a
# phone, and a long class name ran into its neighbours' titles.)
COLUMNS = 4
CELL_INCHES = 1.15


def plot_examples(images: torch.Tensor, found: list[tuple[int, int, int]],
                  classes: list[str], out: Path, title: str = "") -> Path:
    """A grid of uint8 images (N x C x H x W; ``found`` holds (index, true, predicted)),
    each titled with its true and predicted class, the names broken to the cell's width
    (each cell as tall as the longest title needs)."""
    room = CELL_INCHES - 0.12  # the gap between two neighbours' titles
    titles = [fitted(f"true: {classes[true]}", room) + "\n"
              + fitted(f"pred: {classes[pred]}", room) for _, true, pred in found]
    lines = max((t.count("\n") + 1 for t in titles), default=2)
    width = COLUMNS * CELL_INCHES
    heading = fitted(title, width - 0.2, points=10)
    return image_grid(images[[index for index, _, _ in found]], titles, out, heading,
                      cols=COLUMNS, cell=(CELL_INCHES, CELL_INCHES + 0.16 * lines),
                      min_width=width, title_inches=0.1 + 0.19 * (heading.count("\n") + 1))
